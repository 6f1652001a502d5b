"""Auction mechanisms as plain functions over arrays, outside the engine.

The engine's auction agent uses the same kernels inside its own compiled call; these
thin wrappers validate shapes, dtypes and values, allocate the outputs and call the
kernel, for offline work: replaying logs, simulating exchanges, pricing pods, sizing
reserves. Each raises :class:`adcore.InvalidInput` naming the offending argument.

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

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._kernels.batch import batch_auctions as _batch_auctions
from ._kernels.batch import score_auction as _score_auction
from ._kernels.mechanisms import FIRST_PRICE, GSP, SECOND_PRICE, VCG
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


def _mechanism(name: str, allowed: dict[str, int]) -> int:
    code = allowed.get(name) if isinstance(name, str) else None
    if code is None:
        raise InvalidInput(
            f"mechanism must be one of {', '.join(allowed)}; got {name!r}", "mechanism"
        )
    return code


def _array(x: Any, name: str, dtype: Any, ndim: int, *, finite: bool = True) -> NDArray[Any]:
    try:
        a = np.ascontiguousarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name}: {exc}", name) from None
    if a.ndim != ndim:
        raise InvalidInput(f"{name} must have {ndim} dimension(s), got {a.ndim}", name)
    if finite and a.dtype.kind == "f" and not np.isfinite(a).all():
        raise InvalidInput(f"{name} must be finite", name)
    return a


def _nonneg(a: NDArray[Any], name: str) -> None:
    if (a < 0).any():
        raise InvalidInput(f"{name} must be >= 0", name)


def _length(a: NDArray[Any], n: int, name: str) -> None:
    if a.shape[0] != n:
        raise InvalidInput(f"{name} must have length {n}, got {a.shape[0]}", name)


def _tiekeys(tiekeys: ArrayLike | None, n: int) -> NDArray[np.uint64]:
    if tiekeys is None:
        return np.arange(n, dtype=np.uint64)
    keys = _array(tiekeys, "tiekeys", np.uint64, 1)
    _length(keys, n, "tiekeys")
    return keys


def batch_auctions(
    bids: ArrayLike,
    floors: ArrayLike | float = 0.0,
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
    """
    code = _mechanism(mechanism, _SINGLE)
    eff = _array(bids, "bids", np.float64, 2)
    _nonneg(eff, "bids")
    m, n = eff.shape
    floor = np.full(m, floors, dtype=np.float64) if np.ndim(floors) == 0 else floors
    floor = _array(floor, "floors", np.float64, 1)
    _length(floor, m, "floors")
    _nonneg(floor, "floors")
    win = np.empty(m, dtype=np.int64)
    price = np.empty(m, dtype=np.float64)
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
    emb = _array(embeddings, "embeddings", np.float32, 2)
    n, d = emb.shape
    vec = _array(interest, "interest", np.float32, 1)
    _length(vec, d, "interest")
    base = _array(base_logit, "base_logit", np.float64, 1)
    _length(base, n, "base_logit")
    val = _array(value, "value", np.float64, 1)
    _length(val, n, "value")
    _nonneg(val, "value")
    for name, x in (("scale", scale), ("floor", floor)):
        if not np.isfinite(x) or (name == "floor" and x < 0):
            raise InvalidInput(f"{name} must be finite{' and >= 0' * (name == 'floor')}", name)
    out = np.zeros(1, dtype=np.float64)
    winner = _score_auction(
        out, emb, vec, base, val, float(scale), float(floor), _tiekeys(tiekeys, n), code
    )
    return int(winner), float(out[0])


def position_auction(
    bids: ArrayLike,
    floors: ArrayLike | float = 0.0,
    weights: Sequence[float] | ArrayLike = (1.0,),
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
    code = _mechanism(mechanism, _POSITIONS)
    eff = _array(bids, "bids", np.float64, 1)
    _nonneg(eff, "bids")
    n = eff.shape[0]
    floor = np.full(n, floors, dtype=np.float64) if np.ndim(floors) == 0 else floors
    floor = _array(floor, "floors", np.float64, 1)
    _length(floor, n, "floors")
    _nonneg(floor, "floors")
    w = _array(weights, "weights", np.float64, 1)
    if w.shape[0] == 0 or (w <= 0).any() or (np.diff(w) > 0).any():
        raise InvalidInput("weights must be > 0 and non-increasing", "weights")
    prio = np.zeros(n, dtype=np.int64) if priority is None else priority
    prio = _array(prio, "priority", np.int64, 1)
    _length(prio, n, "priority")
    owner = np.arange(n, dtype=np.int64) if campaigns is None else campaigns
    owner = _array(owner, "campaigns", np.int64, 1)
    _length(owner, n, "campaigns")
    tv = np.zeros(n, dtype=np.float64) if values is None else values
    tv = _array(tv, "values", np.float64, 1)
    _length(tv, n, "values")
    k = w.shape[0]
    win = np.empty(k, dtype=np.int64)
    price = np.empty(k, dtype=np.float64)
    top = np.empty(k + 1, dtype=np.int64)
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
    floors: ArrayLike | float = 0.0,
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
    val = _array(values, "values", np.float64, 1)
    _nonneg(val, "values")
    n = val.shape[0]
    dur = _array(durations, "durations", np.float64, 1)
    _length(dur, n, "durations")
    _nonneg(dur, "durations")
    floor = np.full(n, floors, dtype=np.float64) if np.ndim(floors) == 0 else floors
    floor = _array(floor, "floors", np.float64, 1)
    _length(floor, n, "floors")
    _nonneg(floor, "floors")
    if not (np.isfinite(poddur) and poddur >= 0):
        raise InvalidInput("poddur must be finite and >= 0", "poddur")
    if isinstance(maxseq, bool) or not isinstance(maxseq, (int, np.integer)) or maxseq < 1:
        raise InvalidInput("maxseq must be an integer >= 1", "maxseq")
    own_words = 0  # bitsets: each winner's price leaves out only itself
    if groups is None:
        bits = np.zeros((n, 1), dtype=np.uint64)
        separate = False
    else:
        g = np.asarray(groups)
        if g.ndim == 1:
            if g.shape[0] != n:
                raise InvalidInput(f"groups must have length {n}, got {g.shape[0]}", "groups")
            index: dict[Any, int] = {}
            label = [index.setdefault(x, len(index)) for x in g.tolist()]
            bits = np.zeros((n, max(len(index), 1) // 64 + 1), dtype=np.uint64)
            for i, j in enumerate(label):
                bits[i, j // 64] = np.uint64(1) << np.uint64(j % 64)
            own_words = bits.shape[1]  # labels name owners: price against other owners
        else:
            bits = _array(g, "groups", np.uint64, 2)
            _length(bits, n, "groups")
        separate = True
    keys = _tiekeys(tiekeys, n)
    keep = np.flatnonzero((val > 0) & (val >= floor) & (dur <= poddur))
    m = keep.shape[0]
    limit = int(min(maxseq, max(m, 1)))
    sel = np.full(max(m, 1), -1, dtype=np.int64)
    sel2 = np.full(max(m, 1), -1, dtype=np.int64)
    price = np.zeros(max(m, 1), dtype=np.float64)
    stats = np.zeros(POD_STATS, dtype=np.float64)
    work = np.zeros(pod_work_size(max(m, 1), limit, bits.shape[1]), dtype=np.int64)
    count = 0
    if m:
        count = int(
            _pod_auction(
                sel, price, np.ascontiguousarray(val[keep]), np.ascontiguousarray(dur[keep]),
                np.ascontiguousarray(bits[keep]), np.ascontiguousarray(keys[keep]),
                np.ascontiguousarray(floor[keep]), m, float(poddur), limit, separate,
                own_words, code, budget, stats, sel2, work,
            )
        )  # fmt: skip
    return PodFill(
        chosen=keep[sel[:count]].astype(np.int64),
        prices=price[:count].copy(),
        exact=bool(stats[STAT_FILL_BUDGETED] == 0.0),
        gap=float(stats[STAT_FILL_GAP]),
        nodes=int(stats[STAT_NODES]),
        exact_prices=bool(stats[STAT_PRICE_BUDGETED] == 0.0),
    )


def best_pod(
    values: ArrayLike,
    durations: ArrayLike,
    poddur: float,
    maxseq: int,
    *,
    floors: ArrayLike | float = 0.0,
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
