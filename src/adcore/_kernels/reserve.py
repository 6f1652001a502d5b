"""Learned dynamic reserve prices: empirical revenue maximisation over a grid of prices.

For each slot (a placement, hashed by the caller into one of ``S`` rows) the seller keeps,
for every candidate reserve ``grid[j]``, the exponentially decayed total revenue that a
second-price auction with reserve ``grid[j]`` would have earned on the bids observed so
far, and the decayed number of auctions observed. The learned reserve is the grid price
with the largest total.

Why this is the right target: for bidders with independent values drawn from a regular
distribution ``F`` (density ``f``), the revenue-optimal auction is a second-price auction
with the reserve ``r*`` that solves ``r* - (1 - F(r*)) / f(r*) = 0``, the same for every
number of bidders (Myerson 1981). ``F`` is unknown, so the reserve is chosen to maximise
revenue on the observed bids instead (empirical revenue maximisation, ERM), which is
consistent as the number of auctions grows and is the approach analysed by Mohri and
Medina (2014) and used at scale by Paes Leme, Pal and Vassilvitskii (2016).

The method assumes bidders do not react to the reserve: bids observed under one reserve
are taken to be the bids that would have been made under any other. Bidders that learn
the reserve and shade towards it break this (the reserve then feeds back into the data),
so the reserve should be learned on bids the reserve did not shape (e.g. the bids before
the reserve was applied, or a small held-out share of traffic run without a reserve).

References
----------
R. B. Myerson, "Optimal auction design", Mathematics of Operations Research 6(1), 1981.
M. Mohri and A. Muñoz Medina, "Learning theory and algorithms for revenue optimization in
second-price auctions with reserve", ICML 2014.
R. Paes Leme, M. Pál and S. Vassilvitskii, "A field guide to personalized reserve prices",
WWW 2016.
"""

import numpy as np

from ._jit import kernel


def price_grid(b: int, low: float, high: float) -> np.ndarray:
    """A grid of ``b`` prices (CPM): ``0.0`` then ``b - 1`` log-spaced prices from ``low``
    to ``high`` inclusive.

    Plain NumPy (not a kernel): the grid is built once and passed to the kernels.

    Parameters
    ----------
    b : int
        Number of prices, at least 2.
    low, high : float
        The smallest and largest positive prices, ``0 < low < high`` (``low`` alone when
        ``b == 2``).

    Returns
    -------
    numpy.ndarray
        ``float64`` of shape ``(b,)``, strictly ascending, ``grid[0] == 0.0``.

    Examples
    --------
    >>> price_grid(5, 0.1, 100.0).tolist()
    [0.0, 0.1, 1.0, 10.0, 100.0]
    """
    if b < 2:
        raise ValueError(f"a price grid needs at least 2 prices, got b={b}")
    if not (0.0 < low < high) or not np.isfinite(high):
        raise ValueError(f"need 0 < low < high < inf, got low={low}, high={high}")
    grid = np.empty(b, dtype=np.float64)
    grid[0] = 0.0
    grid[1:] = np.geomspace(low, high, b - 1) if b > 2 else low
    return grid


@kernel
def reserve_observe(revenue, weight, slot, first, second, grid, decay):
    """Record one auction of ``slot`` in the reserve learner's decayed statistics.

    First decays the slot: ``revenue[slot, :] *= decay`` and ``weight[slot] *= decay``.
    Then, for every ``j``, adds the revenue a second-price auction with reserve ``grid[j]``
    would have earned on these bids::

        revenue[slot, j] += max(second, grid[j]) if first >= grid[j] else 0.0

    and ``weight[slot] += 1``. ``revenue[slot, j] / weight[slot]`` is then the decayed
    average revenue per auction at reserve ``grid[j]``.

    Parameters
    ----------
    revenue : float64 (S, B)
        Decayed revenue totals per slot and grid price; updated in place.
    weight : float64 (S,)
        Decayed number of auctions per slot; updated in place.
    slot : int
        The row to update, ``0 <= slot < S``.
    first, second : float
        The highest and second-highest bids of the auction (CPM); ``second`` is 0 when
        there was a single bidder.
    grid : float64 (B,)
        Candidate reserves, ascending, ``grid[0] == 0``.
    decay : float
        Factor in ``(0, 1]`` applied to the slot's past before adding this auction
        (``1`` keeps everything; the effective memory is about ``1 / (1 - decay)``
        auctions).
    """
    for j in range(grid.shape[0]):
        r = grid[j]
        add = 0.0
        if first >= r:
            add = second if second > r else r
        revenue[slot, j] = revenue[slot, j] * decay + add
    weight[slot] = weight[slot] * decay + 1.0


@kernel
def reserve_price(revenue, weight, slot, grid, min_weight):
    """The learned reserve of ``slot``: the grid price with the largest recorded revenue.

    Returns ``0.0`` (no reserve) while ``weight[slot] < min_weight``. Otherwise returns
    ``grid[j*]`` with ``j* = argmax_j revenue[slot, j]``; ties go to the lower reserve (the
    smallest such ``j``), which sells more impressions for the same revenue.

    Parameters
    ----------
    revenue : float64 (S, B)
        As kept by :func:`reserve_observe`.
    weight : float64 (S,)
        As kept by :func:`reserve_observe`.
    slot : int
        The row to read.
    grid : float64 (B,)
        The grid used by :func:`reserve_observe`.
    min_weight : float
        Decayed number of observed auctions needed before a reserve is set.

    Returns
    -------
    float
        The reserve (CPM).
    """
    if weight[slot] < min_weight:
        return 0.0
    best = 0
    best_revenue = revenue[slot, 0]
    for j in range(1, grid.shape[0]):
        if revenue[slot, j] > best_revenue:
            best_revenue = revenue[slot, j]
            best = j
    return grid[best]
