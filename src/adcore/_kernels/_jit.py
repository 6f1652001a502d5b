"""The one place that sets Numba JIT options for adcore's kernels.

- ``cache=True``: compiled machine code is written next to the sources and loaded on the
  next start, so a process pays compilation once per kernel signature, not per start.
- ``nogil=True``: kernels release the GIL, so decisions on several threads overlap.
- A limited fastmath set: contractions, reassociation and signed zeros, but never
  ``nnan``/``ninf`` (NaN and infinity keep their IEEE meaning) and not ``arcp`` (which
  turns ``x / 1000.0`` into ``x * 0.001``, one ulp off, and money caps must be exact).
- ``boundscheck=False`` (the wrappers and the engine guarantee shapes).

Kernels are decorated with :func:`kernel`; nothing else in adcore calls ``numba.njit``.
Numba's cache is keyed by each kernel's source and signature, not by these options:
after changing them, delete the ``*.nbi``/``*.nbc`` files under ``_kernels/__pycache__``.
Importing this module compiles nothing: compilation happens on first call or in
``adcore.Engine.warmup()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

FASTMATH = frozenset({"contract", "reassoc", "nsz"})

_OPTIONS: dict[str, Any] = {
    "cache": True,
    "nogil": True,
    "fastmath": set(FASTMATH),
    "boundscheck": False,
    "error_model": "numpy",
}


def kernel(fn: F) -> F:
    """Compile ``fn`` lazily with adcore's JIT options."""
    return numba.njit(**_OPTIONS)(fn)  # type: ignore[no-any-return]


HELPERS: set[str] = set()
"""Qualified names of kernels only ever called from other kernels (compiled into them,
so they never get a signature of their own)."""


def helper(fn: F) -> F:
    """A kernel called only from other kernels (LLVM inlines it where it pays)."""
    HELPERS.add(f"{fn.__module__}.{fn.__qualname__}")
    return numba.njit(**_OPTIONS)(fn)  # type: ignore[no-any-return]
