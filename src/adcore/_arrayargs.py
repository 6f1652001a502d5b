"""The general path of :mod:`adcore.auctions`: convert and check the wrappers' arguments.

Whatever the fast path (:mod:`adcore._fastcall`) does not take as it is comes here: each
argument is converted to what the kernel takes (dtype, number of dimensions,
C-contiguous), checked in the documented order, and a bad one raises
:class:`~adcore.errors.InvalidInput` naming it.

Examples
--------
>>> _array([1, 2], "bids", np.dtype(np.float64), 1).dtype
dtype('float64')
>>> _floors(0.5, 2).tolist()
[0.5, 0.5]
>>> _floors([1.0, -1.0], 2)
Traceback (most recent call last):
...
adcore.errors.InvalidInput: floors must be >= 0
>>> bits, separate, own_words = _groups(["shoes", "cars", "cars"], 3)
>>> bits[:, 0].tolist(), separate, own_words
([1, 2, 2], True, 1)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._fastcall import _F64, _INDEX_KEYS, _NO_GROUPS, _U64
from ._kernels.mechanisms import FINITE, NONNEGATIVE
from ._kernels.mechanisms import conforms as _conforms
from .errors import InvalidInput

__all__ = [
    "_array",
    "_finite",
    "_floors",
    "_groups",
    "_length",
    "_mechanism",
    "_nonneg",
    "_tiekeys",
]


def _mechanism(name: str, allowed: dict[str, int]) -> int:
    code = allowed.get(name) if isinstance(name, str) else None
    if code is None:
        raise InvalidInput(
            f"mechanism must be one of {', '.join(allowed)}; got {name!r}", "mechanism"
        )
    return code


def _array(x: Any, name: str, dtype: np.dtype[Any], ndim: int, *, finite: bool = True) -> Any:
    if type(x) is np.ndarray and x.dtype is dtype and x.ndim == ndim and x.flags.c_contiguous:
        a = x
    else:
        try:
            a = np.ascontiguousarray(x, dtype=dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInput(f"{name}: {exc}", name) from None
        if a.ndim != ndim:
            raise InvalidInput(f"{name} must have {ndim} dimension(s), got {a.ndim}", name)
    if finite and a.dtype.kind == "f" and not _conforms(a, FINITE):
        raise InvalidInput(f"{name} must be finite", name)
    return a


def _nonneg(a: NDArray[Any], name: str) -> None:
    """Raise unless every value of ``a`` (finite already) is >= 0."""
    if not _conforms(a, NONNEGATIVE):
        raise InvalidInput(f"{name} must be >= 0", name)


def _length(a: NDArray[Any], n: int, name: str) -> None:
    if a.shape[0] != n:
        raise InvalidInput(f"{name} must have length {n}, got {a.shape[0]}", name)


def _floors(floors: Any, n: int) -> NDArray[np.float64]:
    """``floors``, one number for all ``n`` candidates or one each, checked."""
    try:
        if np.ndim(floors) == 0:
            floors = np.full(n, floors, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"floors: {exc}", "floors") from None
    floor = _array(floors, "floors", _F64, 1)
    _length(floor, n, "floors")
    _nonneg(floor, "floors")
    return floor  # type: ignore[no-any-return]


def _tiekeys(tiekeys: ArrayLike | None, n: int) -> NDArray[np.uint64]:
    if tiekeys is None:
        return _INDEX_KEYS[n]
    keys = _array(tiekeys, "tiekeys", _U64, 1)
    _length(keys, n, "tiekeys")
    return keys  # type: ignore[no-any-return]


def _finite(x: Any) -> bool:
    return math.isfinite(x) if type(x) is float else bool(np.isfinite(x))


def _groups(groups: Any, n: int) -> tuple[NDArray[np.uint64], bool, int]:
    """The separation bitsets of :func:`fill_pod`'s ``groups`` (checked), whether to
    separate, and how many leading words of a bitset name its owner."""
    if groups is None:
        return _NO_GROUPS[n], False, 0
    try:
        g = np.asarray(groups)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"groups: {exc}", "groups") from None
    if g.ndim == 1:
        if g.shape[0] != n:
            raise InvalidInput(f"groups must have length {n}, got {g.shape[0]}", "groups")
        index: dict[Any, int] = {}
        label = [index.setdefault(x, len(index)) for x in g.tolist()]
        bits = np.zeros((n, max(len(index), 1) // 64 + 1), dtype=np.uint64)
        for i, j in enumerate(label):
            bits[i, j // 64] = np.uint64(1) << np.uint64(j % 64)
        return bits, True, bits.shape[1]  # labels name owners: price against other owners
    bits = _array(g, "groups", _U64, 2)
    _length(bits, n, "groups")
    return bits, True, 0  # bitsets: each winner's price leaves out only itself
