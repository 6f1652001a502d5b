"""Plain-Python references for ``adcore._kernels.batch``: ``batch_auctions`` and
``score_auction``, written from their docstrings.

Loops over Python floats and ints; nothing is pruned and nothing is vectorised. Inputs
may be NumPy arrays or nested lists; outputs are plain Python values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

FIRST_PRICE, SECOND_PRICE = 1, 2


def single_auction(
    bids: Sequence[float], floor: float, tiekey: Sequence[int], mechanism: int
) -> tuple[int, float]:
    """One single-slot auction: ``(winner, price)``, ``(-1, 0.0)`` when no bid is
    eligible (positive and at least the floor).

    The winner has the highest bid; among equal bids the lower tie key, then the lower
    index. First price: the winner's bid. Otherwise: the larger of the floor and the
    highest bid among the other eligible candidates (0 when there is none), at most the
    winner's bid.
    """
    floor = float(floor)
    eligible = [i for i in range(len(bids)) if float(bids[i]) > 0.0 and float(bids[i]) >= floor]
    if not eligible:
        return -1, 0.0
    winner = min(eligible, key=lambda i: (-float(bids[i]), int(tiekey[i]), i))
    top = float(bids[winner])
    if mechanism == FIRST_PRICE:
        return winner, top
    others = [float(bids[i]) for i in eligible if i != winner]
    second = max(others) if others else 0.0
    return winner, min(max(second, floor), top)


def batch_auctions(
    eff: Sequence[Sequence[float]], floor: Sequence[float], tiekey: Sequence[int], mechanism: int
) -> tuple[list[int], list[float]]:
    """Row ``r`` of ``eff`` is one auction with floor ``floor[r]``: the winners and the
    prices of all rows."""
    wins, prices = [], []
    for r in range(len(eff)):
        w, p = single_auction(list(eff[r]), floor[r], tiekey, mechanism)
        wins.append(w)
        prices.append(p)
    return wins, prices


def sigmoid(z: float) -> float:
    """The logistic function, in the form that neither overflows nor cancels."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def score_bids(
    embeddings: Any,
    interest: Sequence[float],
    base_logit: Sequence[float],
    value: Sequence[float],
    scale: float,
) -> list[float]:
    """``value[i] * sigmoid(base_logit[i] + scale * <embeddings[i], interest>)`` for every
    candidate, in float64. The dot product sums float64 products of the float32 inputs:
    each product is exact, so this is the float32 dot product without its rounding."""
    bids = []
    for i in range(len(value)):
        dot = 0.0
        for j in range(len(interest)):
            dot += float(embeddings[i][j]) * float(interest[j])
        z = float(base_logit[i]) + float(scale) * dot
        bids.append(float(value[i]) * sigmoid(z))
    return bids


def score_auction(
    embeddings: Any,
    interest: Sequence[float],
    base_logit: Sequence[float],
    value: Sequence[float],
    scale: float,
    floor: float,
    tiekey: Sequence[int],
    mechanism: int,
) -> tuple[int, float, list[float]]:
    """Scoring then one auction: ``(winner, price, bids)``."""
    bids = score_bids(embeddings, interest, base_logit, value, scale)
    winner, price = single_auction(bids, floor, tiekey, mechanism)
    return winner, price, bids
