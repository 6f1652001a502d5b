"""Auction mechanisms as plain functions over arrays, outside the engine.

The engine's auction agent uses the same kernels inside its own compiled call; these
thin wrappers validate shapes, dtypes and values, allocate the outputs and call the
kernel, for offline work: replaying logs, simulating exchanges, pricing pods, sizing
reserves. Each raises :class:`adcore.InvalidInput` naming the offending argument.
Arrays already of the kernel's dtype and C-contiguous go through as they are (one
compiled pass checks their values; for a few pod candidates, Python does); anything else
is converted first.

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

import operator
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._arrayargs import (
    _array,
    _finite,
    _floors,
    _groups,
    _length,
    _mechanism,
    _nonneg,
    _tiekeys,
)
from ._fastcall import (
    _BATCH,
    _CACHED,
    _CANDIDATES,
    _CONFORMS_1D,
    _CONFORMS_2D,
    _F64,
    _I64,
    _INDEX,
    _INDEX_KEYS,
    _INF,
    _MAX,
    _NO_FLOOR,
    _NO_GROUPS,
    _ONE_POSITION,
    _POD,
    _POD_SCRATCH,
    _POD_SCRATCH_KEPT,
    _POSITION,
    _UNIT_WEIGHT,
    _ZERO_INTS,
    _ZEROS,
    _empty,
    _fast_floors,
    _fast_keys,
    _fast_weights,
    _floor_array,
    _ndarray,
    _plain_number,
    _pod_scratch,
    _ready,
)
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
    STAT_FILL_BUDGETED,
    STAT_FILL_GAP,
    STAT_NODES,
    STAT_PRICE_BUDGETED,
    UNLIMITED,
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


_F32 = np.dtype(np.float32)
_SMALL_POD = 32  # up to this many pod candidates, Python lists are checked and read


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
        and type(bids) is _ndarray
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
            floor = _floor_array(floors, m)
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
    if (
        code is not None
        and type(bids) is _ndarray
        and bids.dtype is _F64
        and bids.ndim == 1
        and bids.flags.carray
        and _CONFORMS_1D.call(bids, NONNEGATIVE)
    ):
        n = bids.shape[0]
        zeros, no_tiers, index, index_keys = _CANDIDATES[n]
        floor = zeros if floors is _NO_FLOOR else _fast_floors(floors, n)
        w = _UNIT_WEIGHT if weights is _ONE_POSITION else _fast_weights(weights)
        prio = no_tiers if priority is None else priority
        owner = index if campaigns is None else campaigns
        tv = zeros if values is None else values
        keys = index_keys if tiekeys is None else _fast_keys(tiekeys, n)
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


_tuple_new = tuple.__new__  # PodFill(*fields) without the named tuple's Python __new__


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
    if (
        code is not None
        and budget is not None
        and type(values) is _ndarray
        and values.dtype is _F64
        and values.ndim == 1
        and values.flags.carray
    ):
        n = values.shape[0]
        floor = _ZEROS[n] if floors is _NO_FLOOR else _fast_floors(floors, n)
        if (
            floor is not None
            and _ready(durations, _F64, n)
            and ((type(poddur) is float and 0.0 <= poddur <= _MAX) or _plain_number(poddur))
            and type(maxseq) is int
            and maxseq >= 1
        ):
            # values and durations are checked with their eligibility
            if n <= _SMALL_POD:
                keep = _eligible_few(values, floor, durations, poddur, floors is _NO_FLOOR)
            elif _CONFORMS_1D.call(values, NONNEGATIVE) and _CONFORMS_1D.call(
                durations, NONNEGATIVE
            ):
                keep = _eligible(values, floor, durations, poddur)
            else:
                keep = False
            if keep is not False:
                if groups is None:
                    bits, separate, own_words = _NO_GROUPS[n], False, 0
                else:  # every argument before is valid: raise as the general path would
                    bits, separate, own_words = _groups(groups, n)
                keys = _INDEX_KEYS[n] if tiekeys is None else _fast_keys(tiekeys, n)
                if keys is not None:
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


def _eligible(
    val: NDArray[np.float64], floor: NDArray[np.float64], dur: NDArray[np.float64], poddur: Any
) -> NDArray[np.int64] | None:
    """The candidates that can enter the pod (value > 0, at least the floor, short
    enough), or None when all can."""
    keep = np.flatnonzero((val > 0) & (val >= floor) & (dur <= poddur))
    return None if keep.shape[0] == val.shape[0] else keep


def _eligible_few(
    val: NDArray[np.float64],
    floor: NDArray[np.float64],
    dur: NDArray[np.float64],
    poddur: Any,
    unfloored: bool,
) -> NDArray[np.int64] | None | Literal[False]:
    """:func:`_eligible` for a few candidates and a plain ``poddur`` (Python's float
    comparisons are NumPy's, without the cost of five array operations), checking the
    values and durations on the way: False unless all are finite and >= 0.
    ``unfloored``: ``floor`` is all zeros, which every such value clears."""
    v, d = val.tolist(), dur.tolist()
    if not v:
        return None
    least = min(v)
    # conforms(NONNEGATIVE) of both, in Python: a NaN or an infinity makes the sum NaN or
    # infinite, a negative value the least one negative. A sum that overflows turns
    # valid values down; the general path then checks them again.
    if not (0.0 <= least and sum(v) < _INF and 0.0 <= min(d) and sum(d) < _INF):
        return False
    f = None if unfloored else floor.tolist()
    if least > 0 and max(d) <= poddur and (f is None or all(map(operator.ge, v, f))):
        return None  # no NaN among the (checked) values, so min and max tell
    keep = [i for i in range(len(v)) if v[i] > 0 and (f is None or v[i] >= f[i]) and d[i] <= poddur]
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
    if m == 0:
        return _tuple_new(PodFill, (_empty(0, _I64), _empty(0, _F64), True, 0.0, 0, True))
    limit = maxseq if maxseq < m else m
    key = (m, limit, bits.shape[1])
    scratch = _POD_SCRATCH.pop(key, None) or _pod_scratch(key)  # no other call holds it
    sel, sel2, price, stats, work = scratch  # the kernel writes sel[:count], price[:count]
    run = _POD.call if direct else _pod_auction
    count = run(
        sel, price, val, dur, bits, keys, floor, m, float(poddur), limit, separate, own_words,
        code, budget, stats, sel2, work,
    )  # fmt: skip
    chosen = sel[:count].copy() if keep is None else keep[sel[:count]].astype(_I64, copy=False)
    prices = price[:count].copy()
    st = stats.tolist()
    if m <= _CACHED and len(_POD_SCRATCH) < _POD_SCRATCH_KEPT:
        _POD_SCRATCH[key] = scratch  # for the next call, now that nothing of it is read
    return _tuple_new(  # chosen, prices, exact, gap, nodes, exact_prices
        PodFill,
        (
            chosen,
            prices,
            st[STAT_FILL_BUDGETED] == 0.0,
            st[STAT_FILL_GAP],
            int(st[STAT_NODES]),
            st[STAT_PRICE_BUDGETED] == 0.0,
        ),
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
