"""Auction mechanisms as plain functions over arrays, outside the engine.

The engine's auction agent uses the same kernels inside its own compiled call; these
thin wrappers validate shapes, dtypes and values, allocate the outputs and call the
kernel, for offline work: replaying logs, simulating exchanges, pricing pods, sizing
reserves. Each raises :class:`adcore.InvalidInput` naming the offending argument.
Arrays already of the kernel's dtype and C-contiguous go through as they are (one
compiled pass checks their values); anything else is converted first.

Mechanism names: ``"first_price"``, ``"second_price"``, and for several positions
``"gsp"`` and ``"vcg"``. Ties go to the lower ``tiekeys`` value (by default the
candidate's index), so results never depend on the order of equal bids.

Examples
--------
>>> import numpy as np
>>> from adcore.auctions import batch_auctions, best_pod, fill_pod, position_auction
>>> win, price = batch_auctions(np.array([[1.0, 3.0, 2.0], [0.5, 0.2, 0.1]]), floors=[0.5, 1.0])
>>> win.tolist(), price.tolist()
([1, -1], [2.0, 0.0])
>>> win, price = position_auction([3.0, 1.0, 2.0], weights=[1.0, 0.5], mechanism="vcg")
>>> win.tolist(), price.tolist()
([0, 2], [1.5, 1.0])
>>> chosen, price = best_pod([4.0, 3.0, 2.0], durations=[30, 15, 15], poddur=45, maxseq=3)
>>> chosen.tolist(), price.tolist()
([0, 1], [2.0, 2.0])
>>> pod = fill_pod([4.0, 3.0, 2.0], durations=[30, 15, 15], poddur=45, maxseq=3)
>>> pod.exact, pod.gap, pod.nodes
(True, 0.0, 15)
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeGuard

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._kernels.batch import batch_auctions as _batch_auctions
from ._kernels.batch import score_auction as _score_auction
from ._kernels.mechanisms import (
    FINITE,
    FIRST_PRICE,
    GSP,
    NONNEGATIVE,
    SECOND_PRICE,
    VCG,
    WEIGHTS,
)
from ._kernels.mechanisms import conforms as _conforms
from ._kernels.mechanisms import multislot_auction as _multislot_auction
from ._kernels.pod import (
    POD_STATS,
    STAT_FILL_BUDGETED,
    STAT_FILL_GAP,
    STAT_NODES,
    STAT_PRICE_BUDGETED,
    UNLIMITED,
    pod_work_size,
)
from ._kernels.pod import pod_auction as _pod_auction
from .errors import InvalidInput

__all__ = [
    "PodFill",
    "batch_auctions",
    "best_pod",
    "fill_pod",
    "position_auction",
    "score_auction",
]

_POD_NODE_BUDGET = 64  # EngineConfig's default pod_node_budget

_SINGLE = {"first_price": FIRST_PRICE, "second_price": SECOND_PRICE}
_POSITIONS = {"first_price": FIRST_PRICE, "second_price": SECOND_PRICE, "gsp": GSP, "vcg": VCG}

_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)
_U64 = np.dtype(np.uint64)
_F32 = np.dtype(np.float32)
_MAX = float(np.finfo(np.float64).max)
_EXACT = 2**53  # integers of smaller magnitude convert to float64 exactly
_CACHED = 128  # default per-candidate arrays are kept for up to this many candidates
_SMALL_POD = 32  # up to this many pod candidates, eligibility is read from Python lists
_NO_FLOOR = 0.0  # the default floors (its identity marks a default call)
_ONE_POSITION = (1.0,)  # position_auction's default weights
_empty = np.empty


# --------------------------------------------------------------------------- fast calls
#
# Each wrapper has a fast path for the common call: arrays that are already what the
# kernel takes (checked with ``type(x) is np.ndarray``, the dtype, the number of
# dimensions and ``flags.carray``: C-contiguous, aligned, writeable), Python scalars,
# default arguments. It checks values in one compiled pass per array (``conforms``),
# takes the default per-candidate arrays from a cache, and calls the kernel's compiled
# code directly. Anything else (lists, views, other dtypes, read-only arrays, any value
# that fails a check) goes to the general path, which converts, checks in the
# documented order and raises ``InvalidInput``; the fast path never raises, so both
# give the same results and the same errors.


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


class _Defaults(dict[int, NDArray[Any]]):
    """``defaults[n]``: ``make(n)``, kept for ``n <= _CACHED``. The arrays go only to
    kernels, which never write their inputs, so one array serves every call and thread."""

    def __init__(self, make: Callable[[int], NDArray[Any]]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, n: int) -> NDArray[Any]:
        a = self._make(n)
        if n <= _CACHED:
            self[n] = a
        return a


_ZEROS = _Defaults(lambda n: np.zeros(n, _F64))
_ZERO_INTS = _Defaults(lambda n: np.zeros(n, _I64))
_INDEX = _Defaults(lambda n: np.arange(n, dtype=_I64))
_INDEX_KEYS = _Defaults(lambda n: np.arange(n, dtype=_U64))
_NO_GROUPS = _Defaults(lambda n: np.zeros((n, 1), _U64))
_UNIT_WEIGHT = np.ones(1, _F64)


def _ready(x: Any, dtype: np.dtype[Any], n: int) -> TypeGuard[NDArray[Any]]:
    """``x`` goes to a kernel as it is: a 1-d ndarray of ``dtype`` and length ``n``,
    C-contiguous, aligned and writeable."""
    return (
        type(x) is np.ndarray
        and x.dtype is dtype
        and x.ndim == 1
        and x.shape[0] == n
        and x.flags.carray
    )


def _ready_values(x: Any) -> TypeGuard[NDArray[np.float64]]:
    """``x`` is a 1-d C-contiguous float64 ndarray of finite values >= 0 (bids or
    values the kernel can take as they are)."""
    return (
        type(x) is np.ndarray
        and x.dtype is _F64
        and x.ndim == 1
        and x.flags.carray
        and bool(_CONFORMS_1D.call(x, NONNEGATIVE))
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
        floor = _empty(n, _F64)
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
    if kind is list or kind is tuple:
        try:
            w = np.array(weights, dtype=_F64)
        except (TypeError, ValueError, OverflowError):
            return None
    elif kind is np.ndarray and weights.dtype is _F64 and weights.flags.carray:
        w = weights
    else:
        return None
    if w.ndim == 1 and w.shape[0] > 0 and _CONFORMS_1D.call(w, WEIGHTS):
        return w
    return None


# --------------------------------------------------------------------------- checks
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


def batch_auctions(
    bids: ArrayLike,
    floors: ArrayLike | float = _NO_FLOOR,
    tiekeys: ArrayLike | None = None,
    *,
    mechanism: str = "second_price",
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Many single-slot auctions at once, one per row of ``bids``.

    Parameters
    ----------
    bids : array (m, n)
        Bids (CPM) of ``n`` candidates in each of ``m`` auctions; finite, >= 0.
    floors : float or array (m,)
        Each auction's floor. A candidate bids when its bid is > 0 and >= the floor.
    tiekeys : array (n,) of uint64, optional
        Equal bids go to the lower key (default: the lower index).
    mechanism : str
        ``"second_price"``: the winner pays the best other bid or the floor, whichever
        is higher, never more than its bid; ``"first_price"``: its bid.

    Returns
    -------
    winners : int64 array (m,)
        The winning candidate of each auction, -1 when nobody cleared the floor.
    prices : float64 array (m,)
        What each winner pays (0 when unfilled).

    Notes
    -----
    A call is cheapest when ``bids`` is a C-contiguous float64 ndarray, ``floors`` a
    number or such an array and ``tiekeys`` None or a C-contiguous uint64 ndarray: one
    compiled pass checks the values, then the kernel runs. Other inputs are converted
    first (see ``docs/auctions.md``, "Outside the engine").
    """
    code = _SINGLE.get(mechanism) if type(mechanism) is str else None
    if (
        code is not None
        and type(bids) is np.ndarray
        and bids.dtype is _F64
        and bids.ndim == 2
        and bids.flags.carray
    ):
        m, n = bids.shape
        # _fast_floors and _fast_keys, their commonest cases inline
        floor: NDArray[np.float64] | None
        if floors is _NO_FLOOR:
            floor = _ZEROS[m]
        elif type(floors) is float and 0.0 < floors <= _MAX:
            floor = _empty(m, _F64)
            floor.fill(floors)
        else:
            floor = _fast_floors(floors, m)
        keys = _INDEX_KEYS[n] if tiekeys is None else _fast_keys(tiekeys, n)
        if floor is not None and keys is not None and _CONFORMS_2D.call(bids, NONNEGATIVE):
            win = _empty(m, _I64)
            price = _empty(m, _F64)
            _BATCH.call(win, price, bids, floor, keys, code)
            return win, price
    code = _mechanism(mechanism, _SINGLE)
    eff = _array(bids, "bids", _F64, 2)
    _nonneg(eff, "bids")
    m, n = eff.shape
    floor = _floors(floors, m)
    win = _empty(m, dtype=np.int64)
    price = _empty(m, dtype=np.float64)
    _batch_auctions(win, price, eff, floor, _tiekeys(tiekeys, n), code)
    return win, price


def score_auction(
    embeddings: ArrayLike,
    interest: ArrayLike,
    base_logit: ArrayLike,
    value: ArrayLike,
    *,
    scale: float = 2.0,
    floor: float = 0.0,
    tiekeys: ArrayLike | None = None,
    mechanism: str = "second_price",
) -> tuple[int, float]:
    """Score candidates against an interest vector and run one auction on their bids.

    ``bid_i = value_i * sigmoid(base_logit_i + scale * <embeddings_i, interest>)``
    (float32 dot products, as the relevance agent computes them), then the auction of
    :func:`batch_auctions` on that one row.

    Returns
    -------
    (winner, price) : (int, float)
        The winning candidate (-1 when none cleared ``floor``) and its price (CPM).
    """
    code = _mechanism(mechanism, _SINGLE)
    emb = _array(embeddings, "embeddings", _F32, 2)
    n, d = emb.shape
    vec = _array(interest, "interest", _F32, 1)
    _length(vec, d, "interest")
    base = _array(base_logit, "base_logit", _F64, 1)
    _length(base, n, "base_logit")
    val = _array(value, "value", _F64, 1)
    _length(val, n, "value")
    _nonneg(val, "value")
    for name, x in (("scale", scale), ("floor", floor)):
        if not _finite(x) or (name == "floor" and x < 0):
            raise InvalidInput(f"{name} must be finite{' and >= 0' * (name == 'floor')}", name)
    out = np.zeros(1, dtype=np.float64)
    winner = _score_auction(
        out, emb, vec, base, val, float(scale), float(floor), _tiekeys(tiekeys, n), code
    )
    return int(winner), float(out[0])


def position_auction(
    bids: ArrayLike,
    floors: ArrayLike | float = _NO_FLOOR,
    weights: Sequence[float] | ArrayLike = _ONE_POSITION,
    *,
    mechanism: str = "gsp",
    priority: ArrayLike | None = None,
    tiekeys: ArrayLike | None = None,
    campaigns: ArrayLike | None = None,
    values: ArrayLike | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Sell ``len(weights)`` positions of one placement to ``n`` candidates.

    Parameters
    ----------
    bids : array (n,)
        Bids per impression (CPM); finite, >= 0.
    floors : float or array (n,)
        Each candidate's floor.
    weights : sequence of float
        The value of each position relative to the others, non-increasing, > 0 (e.g.
        click-through rates by position).
    mechanism : str
        ``"gsp"`` (or ``"second_price"``): each winner pays the next bid down (Edelman,
        Ostrovsky and Schwarz 2007); ``"vcg"``: its externality per unit of position
        weight, ``sum_{t>=s} (w_t - w_{t+1}) b_{t+1} / w_s``; ``"first_price"``: its
        bid. Prices are at least the winner's floor and at most its bid; under VCG the
        winner's floor acts as a phantom bid in every lower position (``b_{t+1}`` is
        at least it), which keeps truthful bidding dominant with floors.
    priority : array (n,) of int, optional
        Higher tiers take positions before lower ones whatever the bids.
    tiekeys : array (n,) of uint64, optional
        Among equal bids and values the lower key ranks first (by default the index).
    campaigns : array (n,) of int, optional
        Each candidate's campaign: a campaign takes at most one position (its best
        candidate's) and its other candidates never set its price. By default every
        candidate is its own campaign.
    values : array (n,) of float, optional
        Expected values: among equal bids the higher ranks first.

    Returns
    -------
    winners : int64 array (positions,)
        The candidate in each position, -1 where unfilled.
    prices : float64 array (positions,)
    """
    code = _POSITIONS.get(mechanism) if type(mechanism) is str else None
    if code is not None and _ready_values(bids):
        n = bids.shape[0]
        floor = _ZEROS[n] if floors is _NO_FLOOR else _fast_floors(floors, n)
        w = _UNIT_WEIGHT if weights is _ONE_POSITION else _fast_weights(weights)
        prio = _ZERO_INTS[n] if priority is None else priority
        owner = _INDEX[n] if campaigns is None else campaigns
        tv = _ZEROS[n] if values is None else values
        keys = _INDEX_KEYS[n] if tiekeys is None else _fast_keys(tiekeys, n)
        if (
            floor is not None
            and w is not None
            and keys is not None
            and (priority is None or _ready(prio, _I64, n))
            and (campaigns is None or _ready(owner, _I64, n))
            and (values is None or (_ready(tv, _F64, n) and _CONFORMS_1D.call(tv, FINITE)))
        ):
            k = w.shape[0]
            win = _empty(k, _I64)
            price = _empty(k, _F64)
            top = _empty(k + 1, _I64)
            _POSITION.call(win, price, bids, floor, prio, owner, tv, keys, w, n, k, code, top)
            return win, price
    code = _mechanism(mechanism, _POSITIONS)
    eff = _array(bids, "bids", _F64, 1)
    _nonneg(eff, "bids")
    n = eff.shape[0]
    floor = _floors(floors, n)
    w = _array(weights, "weights", _F64, 1)
    if w.shape[0] == 0 or not _conforms(w, WEIGHTS):
        raise InvalidInput("weights must be > 0 and non-increasing", "weights")
    prio = _ZERO_INTS[n] if priority is None else priority
    prio = _array(prio, "priority", _I64, 1)
    _length(prio, n, "priority")
    owner = _INDEX[n] if campaigns is None else campaigns
    owner = _array(owner, "campaigns", _I64, 1)
    _length(owner, n, "campaigns")
    tv = _ZEROS[n] if values is None else values
    tv = _array(tv, "values", _F64, 1)
    _length(tv, n, "values")
    k = w.shape[0]
    win = _empty(k, dtype=np.int64)
    price = _empty(k, dtype=np.float64)
    top = _empty(k + 1, dtype=np.int64)
    _multislot_auction(
        win, price, eff, floor, prio, owner, tv, _tiekeys(tiekeys, n), w, n, k, code, top
    )
    return win, price


class PodFill(NamedTuple):
    """An ad pod and its prices (:func:`fill_pod`), with how they were searched."""

    chosen: NDArray[np.int64]
    """The candidates in the pod, in pod order (value, then tie key)."""
    prices: NDArray[np.float64]
    """Their prices."""
    exact: bool
    """Whether the search for the pod ended within its node budget (the pod is then
    the optimum)."""
    gap: float
    """An upper bound on how much more the optimal pod is worth (0.0 when exact)."""
    nodes: int
    """Nodes explored by all the searches: the fill and, with second prices, one per
    winner."""
    exact_prices: bool
    """Whether every price search ended within its budget (always with first price)."""


def fill_pod(
    values: ArrayLike,
    durations: ArrayLike,
    poddur: float,
    maxseq: int,
    *,
    floors: ArrayLike | float = _NO_FLOOR,
    groups: ArrayLike | None = None,
    tiekeys: ArrayLike | None = None,
    mechanism: str = "second_price",
    node_budget: int | None = _POD_NODE_BUDGET,
) -> PodFill:
    """Fill an ad pod: the set of candidates of highest total value whose durations fit
    ``poddur``, at most ``maxseq`` of them, no two sharing a group; and its prices.

    Parameters
    ----------
    values : array (n,)
        Each candidate's bid for its spot (CPM); candidates below their floor or with
        value 0 are left out.
    durations : array (n,)
        Seconds, >= 0.
    poddur : float
        The pod's total duration.
    maxseq : int
        The most ads in the pod (>= 1).
    floors : float or array (n,)
    groups : sequence (n,) of labels, or array (n, w) of uint64 bitsets, optional
        Competitive separation: with labels (campaigns, advertisers), candidates with
        the same label never share the pod, and a winner's price counts only what it
        displaces from other labels (never its own label's other candidates); with
        bitsets, candidates whose bitsets intersect never share the pod.
    mechanism : str
        ``"second_price"``: VCG prices within the pod (what each winner displaces, at
        least its floor); ``"first_price"``: the bids.
    node_budget : int or None
        The most nodes each search explores (the fill, and each winner's price search),
        >= 1 (by default the engine's, ``EngineConfig.pod_node_budget``); None for the
        exact search however long it takes. Past the budget the pod
        is the best found or a greedy one, whichever is worth more, and a price may lie
        below the VCG payment by up to its search's gap (never below the floor); see
        ``docs/auctions.md``, "Pod search bounds".

    Returns
    -------
    PodFill
    """
    code = _SINGLE.get(mechanism) if type(mechanism) is str else None
    if node_budget is None:
        budget: int | None = UNLIMITED
    elif type(node_budget) is int and 1 <= node_budget <= UNLIMITED:
        budget = node_budget
    else:
        budget = None
    if code is not None and budget is not None and _ready_values(values):
        n = values.shape[0]
        floor = _ZEROS[n] if floors is _NO_FLOOR else _fast_floors(floors, n)
        if (
            _ready(durations, _F64, n)
            and _CONFORMS_1D.call(durations, NONNEGATIVE)
            and floor is not None
            and ((type(poddur) is float and 0.0 <= poddur <= _MAX) or _plain_number(poddur))
            and type(maxseq) is int
            and maxseq >= 1
        ):
            if groups is None:
                bits, separate, own_words = _NO_GROUPS[n], False, 0
            else:  # every argument before is valid: raise as the general path would
                bits, separate, own_words = _groups(groups, n)
            keys = _INDEX_KEYS[n] if tiekeys is None else _fast_keys(tiekeys, n)
            if keys is not None:
                if n <= _SMALL_POD:
                    keep = _eligible_few(values, floor, durations, poddur)
                else:
                    keep = _eligible(values, floor, durations, poddur)
                return _fill(
                    values, durations, floor, bits, keys, poddur, maxseq, separate,
                    own_words, code, budget, keep, direct=bool(bits.flags.carray),
                )  # fmt: skip
    code = _mechanism(mechanism, _SINGLE)
    if node_budget is None:
        budget = UNLIMITED
    elif (
        isinstance(node_budget, bool)
        or not isinstance(node_budget, (int, np.integer))
        or not 1 <= node_budget <= UNLIMITED
    ):
        raise InvalidInput(
            f"node_budget must be an integer from 1 to 2**62, or None; got {node_budget!r}",
            "node_budget",
        )
    else:
        budget = int(node_budget)
    val = _array(values, "values", _F64, 1)
    _nonneg(val, "values")
    n = val.shape[0]
    dur = _array(durations, "durations", _F64, 1)
    _length(dur, n, "durations")
    _nonneg(dur, "durations")
    floor = _floors(floors, n)
    if not (_finite(poddur) and poddur >= 0):
        raise InvalidInput("poddur must be finite and >= 0", "poddur")
    if isinstance(maxseq, bool) or not isinstance(maxseq, (int, np.integer)) or maxseq < 1:
        raise InvalidInput("maxseq must be an integer >= 1", "maxseq")
    bits, separate, own_words = _groups(groups, n)
    keys = _tiekeys(tiekeys, n)
    keep = _eligible(val, floor, dur, poddur)
    return _fill(
        val, dur, floor, bits, keys, poddur, int(maxseq), separate, own_words, code, budget,
        keep, direct=False,
    )  # fmt: skip


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


def _eligible(
    val: NDArray[np.float64], floor: NDArray[np.float64], dur: NDArray[np.float64], poddur: Any
) -> NDArray[np.int64] | None:
    """The candidates that can enter the pod (value > 0, at least the floor, short
    enough), or None when all can."""
    keep = np.flatnonzero((val > 0) & (val >= floor) & (dur <= poddur))
    return None if keep.shape[0] == val.shape[0] else keep


def _eligible_few(
    val: NDArray[np.float64], floor: NDArray[np.float64], dur: NDArray[np.float64], poddur: Any
) -> NDArray[np.int64] | None:
    """:func:`_eligible` for a few candidates and a plain ``poddur``: Python's float
    comparisons are NumPy's, without the cost of five array operations."""
    v, f, d = val.tolist(), floor.tolist(), dur.tolist()
    if not v or (min(v) > 0 and max(d) <= poddur and all(map(operator.ge, v, f))):
        return None  # no NaN among the (checked) values, so min and max tell
    keep = [i for i in range(len(v)) if v[i] > 0 and v[i] >= f[i] and d[i] <= poddur]
    return np.array(keep, dtype=_I64)


def _fill(
    val: NDArray[np.float64],
    dur: NDArray[np.float64],
    floor: NDArray[np.float64],
    bits: NDArray[np.uint64],
    keys: NDArray[np.uint64],
    poddur: Any,
    maxseq: int,
    separate: bool,
    own_words: int,
    code: int,
    budget: int,
    keep: NDArray[np.int64] | None,
    *,
    direct: bool,
) -> PodFill:
    """Run the pod auction on the checked arguments of :func:`fill_pod`, over the
    candidates ``keep`` (None: all). ``direct``: the arrays are ready for the compiled
    code (C-contiguous, aligned, writeable); copies of the kept candidates always are."""
    if keep is not None:
        val, dur, bits, keys, floor = val[keep], dur[keep], bits[keep], keys[keep], floor[keep]
        direct = True
    m = val.shape[0]
    size = m if m > 1 else 1
    limit = maxseq if maxseq < size else size
    sel = _empty(size, _I64)  # the kernel writes sel[:count] and price[:count]
    sel2 = _empty(size, _I64)
    price = _empty(size, _F64)
    stats = np.zeros(POD_STATS, _F64)  # read even when no candidate is kept
    work = np.zeros(pod_work_size(size, limit, bits.shape[1]), _I64)
    count = 0
    if m:
        run = _POD.call if direct else _pod_auction
        count = int(
            run(
                sel, price, val, dur, bits, keys, floor, m, float(poddur), limit, separate,
                own_words, code, budget, stats, sel2, work,
            )
        )  # fmt: skip
    chosen = sel[:count].copy() if keep is None else keep[sel[:count]].astype(_I64, copy=False)
    st = stats.tolist()
    return PodFill(  # chosen, prices, exact, gap, nodes, exact_prices
        chosen,
        price[:count].copy(),
        st[STAT_FILL_BUDGETED] == 0.0,
        st[STAT_FILL_GAP],
        int(st[STAT_NODES]),
        st[STAT_PRICE_BUDGETED] == 0.0,
    )


def best_pod(
    values: ArrayLike,
    durations: ArrayLike,
    poddur: float,
    maxseq: int,
    *,
    floors: ArrayLike | float = _NO_FLOOR,
    groups: ArrayLike | None = None,
    tiekeys: ArrayLike | None = None,
    mechanism: str = "second_price",
    node_budget: int | None = _POD_NODE_BUDGET,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The pod and prices of :func:`fill_pod` (same arguments), without how they were
    searched.

    Returns
    -------
    chosen : int64 array
        The candidates in the pod, in pod order (value, then tie key).
    prices : float64 array
        Their prices.
    """
    pod = fill_pod(
        values, durations, poddur, maxseq, floors=floors, groups=groups, tiekeys=tiekeys,
        mechanism=mechanism, node_budget=node_budget,
    )  # fmt: skip
    return pod.chosen, pod.prices
