"""First-price bid shading learned from the observed win-rate curve.

In a first-price auction the bidder pays its bid, so bidding its value ``v`` earns nothing
when it wins. Bidding ``b < v`` earns ``v - b`` per win and wins with probability
``w(b)``, the chance that ``b`` beats the highest competing bid (and the floor). The
shaded bid maximises the expected surplus ``(v - b) * w(b)`` (Zhang, Yuan and Wang 2014;
Gligorijevic et al. 2020 fit ``w`` from the bidder's own win/loss log in the same way).

For each slot (a placement, hashed by the caller into one of ``S`` rows) the bidder keeps,
on a fixed ascending grid of prices (CPM, ``grid[0] == 0``), the exponentially decayed
number of bids submitted in each price bucket and the number of those that won. Bucket
``j`` holds the bids ``b`` with ``grid[j] <= b < grid[j + 1]``; the last bucket is open
ended. The win rate of a bucket is a Beta-smoothed ratio, made non-decreasing in price by
isotonic regression (a higher bid never wins less often), and the shaded bid is the grid
price in ``[floor, v]`` (or ``v`` itself) with the largest estimated surplus.

Win rates are estimated from the bids actually submitted: a bucket only has evidence if
the bidder bid there, so the estimate is only as good as the spread of past bids (the
caller explores, e.g. by sometimes bidding unshaded or at random prices), and buckets
without tries fall back to the prior ``0.5`` pooled with their neighbours.

References
----------
W. Zhang, S. Yuan and J. Wang, "Optimal real-time bidding for display advertising",
KDD 2014.
D. Gligorijevic, T. Zhou, B. Shetty, B. Kitts, S. Pan, J. Pan and A. Flores, "Bid shading
in the brave new world of first-price auctions", CIKM 2020.
R. E. Barlow, D. J. Bartholomew, J. M. Bremner and H. D. Brunk, "Statistical Inference
under Order Restrictions", Wiley 1972 (pool-adjacent-violators).
"""

from ._jit import helper, kernel
from .reserve import price_grid as price_grid  # the same grid serves both learners


@kernel
def price_bucket(grid, price):
    """The bucket of ``price`` on ``grid``: the largest ``j`` with ``grid[j] <= price``
    (binary search), so bucket ``j`` holds ``grid[j] <= price < grid[j + 1]`` and the last
    bucket is open ended. Prices below ``grid[0]`` go to bucket 0.

    Parameters
    ----------
    grid : float64 (B,)
        Strictly ascending prices (CPM).
    price : float
        A bid (CPM).

    Returns
    -------
    int
        The bucket index in ``[0, B - 1]``.
    """
    lo = 0
    hi = grid.shape[0] - 1
    # Invariant: grid[lo] <= price (or lo == 0), and every j > hi has grid[j] > price.
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if grid[mid] <= price:
            lo = mid
        else:
            hi = mid - 1
    return lo


@kernel
def shading_record(tries, wins, slot, bucket, won, decay):
    """Record one submitted bid of ``slot`` in price bucket ``bucket``.

    Decays the slot's rows, ``tries[slot, :] *= decay`` and ``wins[slot, :] *= decay``,
    then adds ``tries[slot, bucket] += 1`` and ``wins[slot, bucket] += won``.

    Parameters
    ----------
    tries, wins : float64 (S, B)
        Decayed bids submitted and bids won per slot and bucket; updated in place.
    slot : int
        The row to update.
    bucket : int
        The bid's bucket, from :func:`price_bucket`.
    won : int or float
        1 if the bid won, 0 if it lost or the outcome is not known yet (add the win later
        with :func:`shading_record_win`).
    decay : float
        Factor in ``(0, 1]`` applied to the slot's past before adding this bid.
    """
    for j in range(tries.shape[1]):
        tries[slot, j] *= decay
        wins[slot, j] *= decay
    tries[slot, bucket] += 1.0
    wins[slot, bucket] += won


@kernel
def shading_record_win(wins, slot, bucket):
    """Add one win, ``wins[slot, bucket] += 1``, for a bid recorded earlier by
    :func:`shading_record` with ``won=0`` (no decay: the try already applied it).

    Parameters
    ----------
    wins : float64 (S, B)
        Updated in place.
    slot : int
        The row to update.
    bucket : int
        The bucket the bid was recorded in.
    """
    wins[slot, bucket] += 1.0


@helper
def win_rate_curve(tries, wins, slot, prior, work):
    """Fit the slot's win-rate curve into ``work[:B]``.

    The raw estimate of bucket ``j`` is ``y_j = (wins_j + prior / 2) / (tries_j + prior)``
    (the posterior mean under a Beta(prior / 2, prior / 2) prior); the curve is the
    weighted isotonic (non-decreasing) regression of ``y`` with weights
    ``tries_j + prior``, by pool-adjacent-violators, then capped at 1 (a win recorded
    after its try was decayed can push a bucket's ratio a little above 1).

    ``work`` is float64 scratch of length ``>= 3 * B``: on return ``work[:B]`` is the
    curve; ``work[B:3 * B]`` holds the block weights and block ends of the fit. Requires
    ``prior > 0`` so every weight is positive.
    """
    n = tries.shape[1]
    # Blocks on a stack: value work[k], weight work[n + k], last bucket work[2n + k].
    top = -1
    for j in range(n):
        wt = tries[slot, j] + prior
        val = (wins[slot, j] + 0.5 * prior) / wt
        # Merge while the new block violates the order with the block below it.
        while top >= 0 and work[top] > val:
            w_below = work[n + top]
            val = (work[top] * w_below + val * wt) / (w_below + wt)
            wt = w_below + wt
            top -= 1
        top += 1
        work[top] = val
        work[n + top] = wt
        work[2 * n + top] = j
    # Expand the blocks into the curve, from the last block down. Block k starts at
    # bucket >= k, so writing bucket j >= k never overwrites a block value still to be
    # read (those are at indices < k).
    j = n - 1
    for k in range(top, -1, -1):
        start = int(work[2 * n + k - 1]) + 1 if k > 0 else 0
        val = work[k]
        if val > 1.0:
            val = 1.0
        while j >= start:
            work[j] = val
            j -= 1


@kernel
def shade_bid(value, floor, tries, wins, slot, grid, prior, min_tries, work):
    """The first-price bid for an impression worth ``value`` to the bidder (CPM).

    Returns ``value`` unshaded when ``value < floor`` or ``value <= 0`` (nothing to
    shade), or when the slot's total tries ``sum(tries[slot, :]) < min_tries`` (no
    evidence yet). Otherwise fits the win-rate curve ``w`` (see :func:`win_rate_curve`:
    Beta-smoothed bucket win rates made non-decreasing by weighted pool-adjacent-violators)
    and returns the candidate bid ``b`` with the largest estimated surplus
    ``(value - b) * w(b)``, the candidates being the grid prices with
    ``floor <= grid[j] <= value`` (``w(grid[j])`` is bucket ``j``'s rate) and ``value``
    itself (surplus 0). Ties go to the higher bid (more delivery), so the result is
    ``value`` when no grid price has a positive estimated surplus. The result is never
    below ``floor`` nor above ``value``, and for a fixed state it is non-decreasing in
    ``value`` (the surplus has increasing differences in ``(value, b)`` because ``w`` is
    non-decreasing; in floating point this needs surpluses that do not underflow to 0,
    which only subnormal-sized values and win rates produce).

    Parameters
    ----------
    value : float
        What an impression is worth to the bidder (CPM).
    floor : float
        The seller's floor (CPM); 0 if none.
    tries, wins : float64 (S, B)
        As kept by :func:`shading_record` and :func:`shading_record_win`.
    slot : int
        The row to read.
    grid : float64 (B,)
        Strictly ascending bucket edges, ``grid[0] == 0``.
    prior : float
        Pseudo-count of the Beta(prior / 2, prior / 2) prior on each bucket's win rate;
        must be ``> 0``.
    min_tries : float
        Decayed number of recorded bids needed before shading.
    work : float64 (>= 3 * B,)
        Scratch. After a call that fitted the curve, ``work[:B]`` holds it.

    Returns
    -------
    float
        The bid, ``floor <= bid <= value`` whenever ``value >= floor``.
    """
    if value < floor or value <= 0.0:
        return value
    total = 0.0
    for j in range(tries.shape[1]):
        total += tries[slot, j]
    if total < min_tries:
        return value
    win_rate_curve(tries, wins, slot, prior, work)
    best = value
    best_surplus = 0.0  # the surplus of bidding ``value``, the highest candidate
    # Scan from the highest grid price down and keep a strictly better one: ties go to
    # the higher bid.
    for j in range(grid.shape[0] - 1, -1, -1):
        b = grid[j]
        if b > value:
            continue
        if b < floor:
            break
        surplus = (value - b) * work[j]
        if surplus > best_surplus:
            best_surplus = surplus
            best = b
    return best
