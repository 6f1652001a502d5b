"""Plain-Python references for the learning kernels in ``adcore._kernels.reserve`` (dynamic
reserve prices) and ``adcore._kernels.shading`` (first-price bid shading).

Written from the kernels' docstrings, not their code: loops over Python floats, new lists
returned instead of arrays written in place. The win-rate curve is computed with the
min-max formula of isotonic regression rather than pool-adjacent-violators, so the two
agree only if both are right.
"""

from __future__ import annotations

from collections.abc import Sequence

Row = Sequence[float]


# --------------------------------------------------------------------------- reserve


def reserve_observe(
    revenue_row: Row, weight: float, first: float, second: float, grid: Row, decay: float
) -> tuple[list[float], float]:
    """One slot's ``(revenue row, weight)`` after observing an auction."""
    new_row = []
    for j, r in enumerate(grid):
        total = revenue_row[j] * decay
        if first >= r:
            total += max(second, r)
        new_row.append(total)
    return new_row, weight * decay + 1.0


def reserve_price(revenue_row: Row, weight: float, grid: Row, min_weight: float) -> float:
    """0 below ``min_weight``; else the lowest grid price with the largest revenue."""
    if weight < min_weight:
        return 0.0
    best = max(revenue_row)
    for j, r in enumerate(grid):
        if revenue_row[j] == best:
            return float(r)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- shading


def price_bucket(grid: Row, price: float) -> int:
    """The last ``j`` with ``grid[j] <= price`` (0 below the grid), by a linear scan."""
    bucket = 0
    for j, g in enumerate(grid):
        if g <= price:
            bucket = j
    return bucket


def shading_record(
    tries_row: Row, wins_row: Row, bucket: int, won: float, decay: float
) -> tuple[list[float], list[float]]:
    """One slot's ``(tries row, wins row)`` after recording a bid."""
    tries = [t * decay for t in tries_row]
    wins = [w * decay for w in wins_row]
    tries[bucket] += 1.0
    wins[bucket] += won
    return tries, wins


def win_rate_curve(tries_row: Row, wins_row: Row, prior: float) -> list[float]:
    """Weighted isotonic regression of the smoothed bucket win rates, capped at 1.

    Uses the min-max characterisation of isotonic regression (Barlow et al. 1972):
    ``fit_i = max over s <= i of min over t >= i of avg(s..t)``, where ``avg(s..t)`` is
    the weighted mean of the raw rates of buckets ``s..t``.
    """
    n = len(tries_row)
    weights = [tries_row[j] + prior for j in range(n)]
    sums = [wins_row[j] + 0.5 * prior for j in range(n)]  # weight * raw rate
    curve = []
    for i in range(n):
        best = -float("inf")
        for s in range(i + 1):
            worst = float("inf")
            total = weight = 0.0
            for t in range(s, n):
                total += sums[t]
                weight += weights[t]
                if t >= i:
                    worst = min(worst, total / weight)
            best = max(best, worst)
        curve.append(min(best, 1.0))
    return curve


def shading_candidates(value: float, floor: float, grid: Row) -> list[int]:
    """Indices of the grid prices a shaded bid may take: ``floor <= grid[j] <= value``."""
    return [j for j, g in enumerate(grid) if floor <= g <= value]


def shade_bid(
    value: float,
    floor: float,
    tries_row: Row,
    wins_row: Row,
    grid: Row,
    prior: float,
    min_tries: float,
) -> float:
    """The shaded first-price bid, from the kernel's docstring."""
    if value < floor or value <= 0.0:
        return value
    if sum(tries_row) < min_tries:
        return value
    curve = win_rate_curve(tries_row, wins_row, prior)
    options = [(0.0, value)]  # (surplus, bid): bidding the value earns nothing
    for j in shading_candidates(value, floor, grid):
        options.append(((value - grid[j]) * curve[j], float(grid[j])))
    best = max(surplus for surplus, _ in options)
    return max(bid for surplus, bid in options if surplus == best)
