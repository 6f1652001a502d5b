"""The competitors of ``bench_auction.py``: the computations of
``adcore._kernels.batch`` and a pod fill written plainly with NumPy (vectorised array
operations, no Numba, no Python loop over candidates or auctions except where stated).

Same semantics as the kernels: a bid is eligible when positive and at least the floor;
the highest bid wins, equal bids going to the lower tie key (then the lower index); first
price pays the bid, second price ``min(max(second bid, floor), bid)`` with the second bid
0 when there is none.
"""

from __future__ import annotations

import numpy as np

FIRST_PRICE = 1
_NO_KEY = np.iinfo(np.uint64).max


def single_auction(
    bid: np.ndarray, floor: float, tiekey: np.ndarray, mechanism: int
) -> tuple[int, float]:
    """One auction over the bids: ``(winner, price)``, ``(-1, 0.0)`` when unfilled."""
    cand = np.flatnonzero((bid > 0.0) & (bid >= floor))
    if cand.size == 0:
        return -1, 0.0
    cb = bid[cand]
    k = int(np.argmax(cb))
    top = float(cb[k])
    tied = cand[cb == top]
    winner = int(tied[np.argmin(tiekey[tied])]) if tied.size > 1 else int(cand[k])
    if mechanism == FIRST_PRICE:
        return winner, top
    if cb.size == 1:
        second = 0.0
    else:
        second = float(np.partition(cb, cb.size - 2)[cb.size - 2])
    return winner, min(max(second, floor), top)


def score_auction(
    embeddings: np.ndarray,
    interest: np.ndarray,
    base_logit: np.ndarray,
    value: np.ndarray,
    scale: float,
    floor: float,
    tiekey: np.ndarray,
    mechanism: int,
) -> tuple[int, float]:
    """``bid = value * sigmoid(base_logit + scale * (embeddings @ interest))`` (a float32
    BLAS matrix-vector product, the rest in float64, the stable sigmoid), then
    :func:`single_auction`."""
    z = base_logit + scale * (embeddings @ interest).astype(np.float64)
    e = np.exp(-np.abs(z))
    score = np.where(z >= 0.0, 1.0, e) / (1.0 + e)
    return single_auction(value * score, floor, tiekey, mechanism)


def batch_auctions(
    eff: np.ndarray, floor: np.ndarray, tiekey: np.ndarray, mechanism: int
) -> tuple[np.ndarray, np.ndarray]:
    """One auction per row of ``eff`` (floor ``floor[r]``): ``(win, price)``.

    ``argmax`` finds the best bid of every row, a masked ``argmin`` over the tie keys of
    the bids equal to it the winner, and ``max`` over the row with the winner masked out
    the second bid (the ``partition`` form, ``np.partition(..., n - 2, axis=1)``, is
    slower at 200 candidates)."""
    m, n = eff.shape
    rows = np.arange(m)
    ok = (eff > 0.0) & (eff >= floor[:, None])
    e = np.where(ok, eff, -np.inf)
    first = np.argmax(e, axis=1)
    top = e[rows, first]
    filled = ok[rows, first]
    keyed = np.where(e == top[:, None], tiekey[None, :], _NO_KEY)
    win = np.argmin(keyed, axis=1)
    if mechanism == FIRST_PRICE:
        price = top
    else:
        e[rows, win] = -np.inf
        second = np.maximum(e.max(axis=1), 0.0) if n > 1 else np.zeros(m)
        price = np.minimum(np.maximum(second, floor), top)
    return np.where(filled, win, -1), np.where(filled, price, 0.0)


def greedy_pod(
    value: np.ndarray,
    duration: np.ndarray,
    groups: np.ndarray,
    tiekey: np.ndarray,
    poddur: float,
    maxseq: int,
    separate: bool,
) -> list[int]:
    """A greedy pod: candidates by value (desc; ties to the lower key), each taken when it
    fits the remaining duration and shares no deduplication bit with those taken, until
    ``maxseq`` are taken. NumPy sorts; the walk down the sorted list is a Python loop
    that stops at ``maxseq`` ads. Not optimal: context, not a competitor of equal
    quality."""
    order = np.lexsort((tiekey, -value))
    taken: list[int] = []
    used = np.zeros(groups.shape[1], dtype=np.uint64)
    left = poddur
    for i in order.tolist():
        if duration[i] > left:
            continue
        if separate and (groups[i] & used).any():
            continue
        taken.append(i)
        used |= groups[i]
        left -= duration[i]
        if len(taken) == maxseq:
            break
    return taken
