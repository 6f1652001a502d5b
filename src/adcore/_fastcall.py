"""The fast path of :mod:`adcore.auctions`: what makes its wrappers cheap.

Each wrapper has a fast path for the common call: arrays that are already what the
kernel takes (checked with ``type(x) is np.ndarray``, the dtype, the number of
dimensions and ``flags.carray``: C-contiguous, aligned, writeable), Python scalars,
default arguments. It checks values in one compiled pass per array (``conforms``; the
values and durations of a few pod candidates in Python, on the lists their eligibility
is read from), takes the default per-candidate arrays, arrays of a scalar floor and the
pod kernel's work arrays from caches, and calls the kernel's compiled code directly.
Anything else (lists, views, other dtypes, read-only arrays, any value that fails a
check) goes to the general path (:mod:`adcore._arrayargs`), which converts, checks in
the documented order and raises ``InvalidInput``; the fast path never raises, so both
give the same results and the same errors.

Examples
--------
>>> import numpy as np
>>> _ready(np.array([1.0, 2.0]), _F64, 2), _ready(np.array([1.0, 2.0]), _F64, 3)
(True, False)
>>> _ready([1.0, 2.0], _F64, 2), _ready(np.array([[1.0, 2.0]]), _F64, 1)
(False, False)
>>> _fast_floors(0.5, 3).tolist(), _fast_floors(-1.0, 3), _fast_floors("0.5", 3)
([0.5, 0.5, 0.5], None, None)
>>> _ZEROS[3] is _ZEROS[3], _fast_keys(None, 3).tolist()
(True, [0, 1, 2])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeGuard, TypeVar

import numpy as np
from numpy.typing import NDArray

from ._kernels.batch import batch_auctions as _batch_auctions
from ._kernels.mechanisms import NONNEGATIVE, WEIGHTS
from ._kernels.mechanisms import conforms as _conforms
from ._kernels.mechanisms import multislot_auction as _multislot_auction
from ._kernels.pod import POD_STATS, pod_work_size
from ._kernels.pod import pod_auction as _pod_auction

_T = TypeVar("_T")

__all__ = [
    "_BATCH",
    "_CACHED",
    "_CANDIDATES",
    "_CONFORMS_1D",
    "_CONFORMS_2D",
    "_F64",
    "_I64",
    "_INDEX",
    "_INDEX_KEYS",
    "_INF",
    "_MAX",
    "_NO_FLOOR",
    "_NO_GROUPS",
    "_ONE_POSITION",
    "_POD",
    "_POD_SCRATCH",
    "_POD_SCRATCH_KEPT",
    "_POSITION",
    "_U64",
    "_UNIT_WEIGHT",
    "_ZEROS",
    "_ZERO_INTS",
    "_empty",
    "_fast_floors",
    "_fast_keys",
    "_fast_weights",
    "_floor_array",
    "_ndarray",
    "_plain_number",
    "_pod_scratch",
    "_ready",
]

_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)
_U64 = np.dtype(np.uint64)
_MAX = float(np.finfo(np.float64).max)
_EXACT = 2**53  # integers of smaller magnitude convert to float64 exactly
_CACHED = 128  # default per-candidate arrays are kept for up to this many candidates
_NO_FLOOR = 0.0  # the default floors (its identity marks a default call)
_ONE_POSITION = (1.0,)  # position_auction's default weights
_INF = math.inf
_empty = np.empty
_ndarray = np.ndarray


class _Direct:
    """A kernel called straight into its compiled code, without Numba's dispatcher.

    The dispatcher finds the type of every argument on every call: about a third of
    the cost of a small ``batch_auctions`` kernel call, more with many arguments (the
    pod kernel takes seventeen). A fast path has already checked what
    fixes those types (ndarrays of one dtype and number of dimensions, C-contiguous,
    aligned and writeable; Python ints, floats and bools), so each fast-path call site
    has its own instance, keyed by the one set of argument types it can pass: the first
    call goes through the dispatcher (compiling the kernel or loading it from the
    cache) and keeps the compiled function for those types.
    """

    __slots__ = ("_kernel", "call")

    def __init__(self, kernel: Callable[..., Any]) -> None:
        self._kernel = kernel
        self.call: Callable[..., Any] = self._first

    def _first(self, *args: Any) -> Any:
        result = self._kernel(*args)
        self.call = _entry_point(self._kernel, args)
        return result


def _entry_point(kernel: Any, args: tuple[Any, ...]) -> Callable[..., Any]:
    """The compiled function of ``kernel`` for ``args``' types; the kernel itself (which
    dispatches) when Numba does not expose it, or runs without compiling."""
    try:
        signature = tuple(kernel.typeof_pyval(a) for a in args)
        return kernel.overloads[signature].entry_point  # type: ignore[no-any-return]
    except (AttributeError, KeyError):  # pragma: no cover - depends on Numba internals
        return kernel  # type: ignore[no-any-return]


_CONFORMS_1D = _Direct(_conforms)  # float64, one dimension
_CONFORMS_2D = _Direct(_conforms)  # float64, two dimensions
_BATCH = _Direct(_batch_auctions)
_POSITION = _Direct(_multislot_auction)
_POD = _Direct(_pod_auction)


class _Defaults(dict[int, _T]):
    """``defaults[n]``: ``make(n)``, kept for ``n <= _CACHED``. The arrays go only to
    kernels, which never write their inputs, so one array serves every call and thread."""

    def __init__(self, make: Callable[[int], _T]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, n: int) -> _T:
        a = self._make(n)
        if n <= _CACHED:
            self[n] = a
        return a


_ZEROS: _Defaults[NDArray[np.float64]] = _Defaults(lambda n: np.zeros(n, _F64))
_ZERO_INTS: _Defaults[NDArray[np.int64]] = _Defaults(lambda n: np.zeros(n, _I64))
_INDEX: _Defaults[NDArray[np.int64]] = _Defaults(lambda n: np.arange(n, dtype=_I64))
_INDEX_KEYS: _Defaults[NDArray[np.uint64]] = _Defaults(lambda n: np.arange(n, dtype=_U64))
_NO_GROUPS: _Defaults[NDArray[np.uint64]] = _Defaults(lambda n: np.zeros((n, 1), _U64))
_CANDIDATES: _Defaults[
    tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.uint64]]
] = _Defaults(lambda n: (_ZEROS[n], _ZERO_INTS[n], _INDEX[n], _INDEX_KEYS[n]))
"""``position_auction``'s defaults for ``n`` candidates in one look-up: zeros (for the
floors and the values), priorities (zeros), campaigns and tie keys (the index)."""
_UNIT_WEIGHT = np.ones(1, _F64)

_PodScratch = tuple[
    NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
    NDArray[np.int64],
]  # fmt: skip
_POD_SCRATCH: dict[tuple[int, int, int], _PodScratch] = {}
_POD_SCRATCH_KEPT = 64  # at most this many sets of the pod kernel's work arrays are kept


def _pod_scratch(key: tuple[int, int, int]) -> _PodScratch:
    """New work arrays of the pod kernel for ``key = (m, limit, words)`` (``m >= 1``
    candidates, at most ``limit`` in the pod, bitsets of ``words`` words): ``(sel, sel2,
    price, stats, work)``, all of which the kernel writes before it reads them.

    A call takes a kept set out of ``_POD_SCRATCH`` (``pop``, so no other call, on this
    thread or another, can use it meanwhile) or makes one here, and puts it back once it
    has read what it needs, for up to ``_CACHED`` candidates and ``_POD_SCRATCH_KEPT``
    sets."""
    m, limit, words = key
    return (
        _empty(m, _I64),
        _empty(m, _I64),
        _empty(m, _F64),
        _empty(POD_STATS, _F64),
        _empty(pod_work_size(m, limit, words), _I64),
    )


_FLOOR_ARRAYS: dict[tuple[float, int], NDArray[np.float64]] = {}
_FLOOR_ARRAYS_KEPT = 256  # at most this many floor arrays are kept


def _floor_array(floor: float, n: int) -> NDArray[np.float64]:
    """``n`` copies of ``floor`` (a number > 0, finite), kept for ``n <= _CACHED`` (like
    the defaults, for kernels only, which never write their inputs)."""
    key = (floor, n)
    a = _FLOOR_ARRAYS.get(key)
    if a is None:
        a = _empty(n, _F64)
        a.fill(floor)
        if n <= _CACHED and len(_FLOOR_ARRAYS) < _FLOOR_ARRAYS_KEPT:
            _FLOOR_ARRAYS[key] = a
    return a


def _ready(x: Any, dtype: np.dtype[Any], n: int) -> TypeGuard[NDArray[Any]]:
    """``x`` goes to a kernel as it is: a 1-d ndarray of ``dtype`` and length ``n``,
    C-contiguous, aligned and writeable."""
    return (
        type(x) is _ndarray
        and x.dtype is dtype
        and x.ndim == 1
        and x.shape[0] == n
        and x.flags.carray
    )


def _plain_number(x: Any) -> bool:
    """``x`` is a float (or an int that converts exactly), finite and >= 0."""
    kind = type(x)
    if kind is float or kind is np.float64 or (kind is int and -_EXACT < x < _EXACT):
        number: float = x
        return 0.0 <= number <= _MAX
    return False


def _fast_floors(floors: Any, n: int) -> NDArray[np.float64] | None:
    """The array :func:`_floors` returns, when it surely returns one: for a plain number
    (see :func:`_plain_number`) or a ready array of valid floors; else None."""
    if _plain_number(floors):
        if floors == 0.0 and math.copysign(1.0, floors) > 0.0:
            return _ZEROS[n]
        if floors > 0.0:
            return _floor_array(floors, n)
        floor = _empty(n, _F64)  # -0.0, which a kept array of 0.0 would stand for
        floor.fill(floors)
        return floor
    if _ready(floors, _F64, n) and _CONFORMS_1D.call(floors, NONNEGATIVE):
        return floors
    return None


def _fast_keys(tiekeys: Any, n: int) -> NDArray[np.uint64] | None:
    """The tie keys :func:`_tiekeys` returns, when ``tiekeys`` is None or ready."""
    if tiekeys is None:
        return _INDEX_KEYS[n]
    return tiekeys if _ready(tiekeys, _U64, n) else None


def _fast_weights(weights: Any) -> NDArray[np.float64] | None:
    """Valid position weights as an array (the default, a ready array, or a list or
    tuple of numbers); None for anything else."""
    if weights is _ONE_POSITION:
        return _UNIT_WEIGHT
    kind = type(weights)
    w: NDArray[np.float64]
    if kind is _ndarray:
        if weights.dtype is not _F64 or not weights.flags.carray:
            return None
        w = weights
    elif kind is list or kind is tuple:
        try:
            w = np.array(weights, dtype=_F64)
        except (TypeError, ValueError, OverflowError):
            return None
    else:
        return None
    if w.ndim == 1 and w.shape[0] > 0 and _CONFORMS_1D.call(w, WEIGHTS):
        return w
    return None
