"""Hashing helpers inlined into other kernels (scalars only: a helper that takes arrays
pays reference counting on every call)."""

import numpy as np

from ._jit import helper

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@helper
def splitmix64(x):
    """The splitmix64 finaliser: a fast, well-mixed 64-bit hash of ``x``."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))
