"""Single-slot auctions in bulk: many auctions in one call, and scoring fused with one
auction over a large candidate set.

Both kernels run the same auction on a row of bids (``FIRST_PRICE`` = 1 and
``SECOND_PRICE`` = 2, the codes of :mod:`adcore._kernels.mechanisms`): a candidate is
eligible when its bid is positive and at least the floor; the winner has the highest bid,
ties going to the lower tie key (then to the lower index); the price is the winner's bid
under first price, and under second price the larger of the floor and the highest other
eligible bid (0 when there is none), never more than the winner's bid. An auction nobody
clears has winner -1 and price 0. This is ``run_auctions`` for one impression without
priorities, budgets or exploration, with the tie key given per candidate instead of
hashed.
"""

import numpy as np

from ._jit import helper, kernel
from .logistic import sigmoid
from .mechanisms import FIRST_PRICE

__all__ = ["batch_auctions", "score_auction"]

# Pruning margin of ``score_auction``: a candidate is skipped only when its bid bound is
# below the threshold by more than this relative amount, far more than the few ulps of
# rounding in the bound, the sigmoid and the product.
_PRUNE_MARGIN = 1.0 - 1e-9


@helper
def offer(state, i, bid, key):
    """One eligible bid ``bid`` of candidate ``i`` (tie key ``key``) into the running
    auction ``state = (best, best_key, b1, b2)``: the winner so far ``best`` (-1 for
    none) with its tie key and bid ``b1``, and ``b2`` the highest bid of the other
    eligible candidates (0 if none). Returns the new state. Tie keys are compared only on
    exact ties; equal keys keep the earlier candidate."""
    best, best_key, b1, b2 = state
    if best < 0:
        return i, key, bid, b2
    if bid > b1:
        return i, key, bid, b1
    if bid == b1:
        if key < best_key:
            return i, key, bid, b1
        return best, best_key, b1, bid
    if bid > b2:
        return best, best_key, b1, bid
    return state


@helper
def clearing_price(state, floor, mechanism):
    """The price the winner of ``state`` (see :func:`offer`) pays: its bid ``b1`` under
    first price, else ``min(max(b2, floor), b1)``; 0 when there is no winner."""
    best, _, b1, b2 = state
    if best < 0:
        return 0.0
    if mechanism == FIRST_PRICE:
        return b1
    p = b2 if b2 > floor else floor
    if p > b1:
        p = b1
    return p


@kernel
def batch_auctions(win, price, eff, floor, tiekey, mechanism):
    """Run ``m`` independent single-slot auctions over the same ``n`` candidates.

    Parameters
    ----------
    win : int64 array (m,)
        Written: ``win[r]`` is the winning column of row ``r``, or -1 when no candidate
        is eligible.
    price : float64 array (m,)
        Written: the price the winner of row ``r`` pays (CPM), 0 when unfilled.
    eff : float64 array (m, n), C-contiguous
        Effective bids (CPM), one row per auction, one column per candidate.
    floor : float64 array (m,)
        The floor of each auction.
    tiekey : uint64 array (n,)
        Tie-break key of each candidate: among equal highest bids the lower key wins
        (then the lower column).
    mechanism : int
        1 (``FIRST_PRICE``): the winner pays its bid; any other value (2,
        ``SECOND_PRICE``): the larger of the row's floor and the highest other eligible
        bid, at most the winner's bid.

    Notes
    -----
    In row ``r`` candidate ``i`` is eligible when ``eff[r, i] > 0`` and
    ``eff[r, i] >= floor[r]`` (a NaN bid or floor is never eligible). One pass per row
    keeps the winner and the second-highest eligible bid; a bid below the running second
    bid is dismissed with one comparison, and tie keys are read only on exact ties.

    Examples
    --------
    >>> import numpy as np
    >>> eff = np.array([[1.0, 3.0, 2.0], [0.5, 0.0, 0.7]])
    >>> win, price = np.empty(2, np.int64), np.empty(2)
    >>> batch_auctions(win, price, eff, np.array([0.0, 1.0]), np.zeros(3, np.uint64), 2)
    >>> win.tolist(), price.tolist()
    ([1, -1], [2.0, 0.0])
    """
    m, n = eff.shape
    for r in range(m):
        f = floor[r]
        state = (-1, np.uint64(0), 0.0, 0.0)
        for i in range(n):
            e = eff[r, i]
            # Only a bid at least the running second bid can change the state (a tie with
            # the winner included, as b1 >= b2).
            if e >= state[3] and e > 0.0 and e >= f:
                state = offer(state, i, e, tiekey[i])
        win[r] = state[0]
        price[r] = clearing_price(state, f, mechanism)


@helper
def sigmoid_bid_bound(z, threshold):
    """A value below which a candidate with logit ``z`` bids less than ``threshold``:
    ``threshold * (1 + T7(-z))`` shrunk by a margin of 1e-9, where ``T7(a) =
    sum_{k=0..7} a^k / k!``.

    For ``a = -z > 0``, ``exp(a) >= T7(a)``, so ``sigmoid(z) = 1 / (1 + exp(a)) <=
    1 / (1 + T7(a))``, and ``value * sigmoid(z) < threshold`` whenever ``value`` is below
    the returned number (the margin covers rounding). ``T7`` costs seven multiply-adds,
    the exponential several times that. For ``z >= 0`` (or NaN) only ``sigmoid(z) <= 1``
    is used: returns ``threshold``."""
    a = -z
    if not a > 0.0:
        return threshold
    t = a * (1.0 / 5040.0) + 1.0 / 720.0
    t = t * a + 1.0 / 120.0
    t = t * a + 1.0 / 24.0
    t = t * a + 1.0 / 6.0
    t = t * a + 0.5
    t = t * a + 1.0
    t = t * a + 1.0
    return threshold * (1.0 + t) * _PRUNE_MARGIN


@helper
def score_row(state, i, embeddings, interest, base_logit, value, scale, floor, tiekey):
    """Score row ``i`` alone and offer its bid (see :func:`score_offer`), unless its
    ``value`` alone shows the bid cannot reach the floor or the second bid."""
    v = value[i]
    b2 = state[3]
    if not (v > 0.0 and v >= b2 and v >= floor):
        return state
    a = np.float32(0.0)
    for j in range(embeddings.shape[1]):
        a += embeddings[i, j] * interest[j]
    return score_offer(state, i, base_logit[i] + scale * np.float64(a), v, floor, tiekey[i])


@helper
def score_offer(state, i, z, value, floor, key):
    """Offer candidate ``i``'s bid ``value * sigmoid(z)`` to the auction ``state`` (see
    :func:`offer`). The exponential is skipped when :func:`sigmoid_bid_bound` shows the
    bid is below the floor or below the second bid so far."""
    b2 = state[3]
    threshold = b2 if b2 > floor else floor
    if value < sigmoid_bid_bound(z, threshold):
        return state
    bid = value * sigmoid(z)
    if bid > 0.0 and bid >= floor:
        return offer(state, i, bid, key)
    return state


@kernel
def score_auction(
    win_price, embeddings, interest, base_logit, value, scale, floor, tiekey, mechanism
):
    """Score ``n`` candidates against an interest vector and run one single-slot
    auction on their bids.

    ``score_i = sigmoid(base_logit[i] + scale * <embeddings[i], interest>)``, the dot
    product accumulated in float32 and the rest in float64 (as ``action_probability`` in
    :mod:`adcore._kernels.scoring`, without a learned term), ``bid_i = value[i] *
    score_i``, then the auction of :func:`batch_auctions` on that one row of bids.

    Parameters
    ----------
    win_price : float64 array (>= 1,)
        Written: ``win_price[0]`` is the price the winner pays (CPM), 0 when unfilled.
    embeddings : float32 array (n, d), C-contiguous
        One embedding per candidate.
    interest : float32 array (d,)
        The listener's interest vector.
    base_logit : float64 array (n,)
        Prior logit of each candidate's action probability.
    value : float64 array (n,)
        What each candidate pays per action, as CPM: its bid is ``value * score``.
    scale : float
        Weight of the embedding match in the logit.
    floor : float
        The auction's floor.
    tiekey : uint64 array (n,)
        Tie-break key per candidate: among equal highest bids the lower key wins (then
        the lower index).
    mechanism : int
        1 (``FIRST_PRICE``) or 2 (``SECOND_PRICE``), as in :func:`batch_auctions`.

    Returns
    -------
    int
        The winning candidate, -1 when no bid is positive and at least the floor.

    Notes
    -----
    One pass over the candidates, keeping the winner and the second-highest bid, four
    rows at a time. Work is skipped only where it provably cannot change the result
    (exact pruning), against the threshold ``max(second bid so far, floor)``:

    - since ``score <= 1``, rows whose ``value`` is below the threshold are skipped
      before their embedding is read;
    - the four dot products of a block share each load of ``interest`` and vectorise
      together (float32 accumulation under ``reassoc`` fastmath: about 1e-7 relative
      from a float64 sum);
    - a block is dismissed without any exponential when its largest ``value`` times the
      sigmoid bound of its largest logit (:func:`sigmoid_bid_bound`, a degree-7
      polynomial) is below the threshold; otherwise each row gets the same test on its
      own before its sigmoid (:func:`adcore._kernels.logistic.sigmoid`) is computed.

    A stale (lower) threshold only prunes less, so the result is the unpruned one. The
    float32 summation order of a row's dot product may differ between the four-row and
    the one-row path (by rounding only); each row's logit is computed once and used for
    both its bound and its bid.

    Examples
    --------
    >>> import numpy as np
    >>> emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], np.float32)
    >>> interest = np.array([0.0, 1.0], np.float32)
    >>> price = np.zeros(1)
    >>> score_auction(
    ...     price, emb, interest, np.zeros(3), np.array([10.0, 10.0, 10.0]), 2.0, 1.0,
    ...     np.arange(3, dtype=np.uint64), 2)
    1
    >>> round(float(price[0]), 4)  # 10 * sigmoid(2 * 0.8), candidate 2's bid
    8.3202
    """
    n, d = embeddings.shape
    state = (-1, np.uint64(0), 0.0, 0.0)
    i = 0
    while i + 4 <= n:
        threshold = state[3] if state[3] > floor else floor
        v0 = value[i]
        v1 = value[i + 1]
        v2 = value[i + 2]
        v3 = value[i + 3]
        if not (
            v0 >= threshold
            and v1 >= threshold
            and v2 >= threshold
            and v3 >= threshold
            and v0 > 0.0
            and v1 > 0.0
            and v2 > 0.0
            and v3 > 0.0
        ):
            # Some value too small to matter: the block's rows one at a time.
            stop = i + 4
            while i < stop:
                state = score_row(
                    state, i, embeddings, interest, base_logit, value, scale, floor, tiekey
                )
                i += 1
            continue
        a0 = np.float32(0.0)
        a1 = np.float32(0.0)
        a2 = np.float32(0.0)
        a3 = np.float32(0.0)
        for j in range(d):
            x = interest[j]
            a0 += embeddings[i, j] * x
            a1 += embeddings[i + 1, j] * x
            a2 += embeddings[i + 2, j] * x
            a3 += embeddings[i + 3, j] * x
        z0 = base_logit[i] + scale * np.float64(a0)
        z1 = base_logit[i + 1] + scale * np.float64(a1)
        z2 = base_logit[i + 2] + scale * np.float64(a2)
        z3 = base_logit[i + 3] + scale * np.float64(a3)
        vmax = max(max(v0, v1), max(v2, v3))
        zmax = max(max(z0, z1), max(z2, z3))
        # Every bid of the block is at most vmax * sigmoid(zmax).
        if not vmax < sigmoid_bid_bound(zmax, threshold):
            state = score_offer(state, i, z0, v0, floor, tiekey[i])
            state = score_offer(state, i + 1, z1, v1, floor, tiekey[i + 1])
            state = score_offer(state, i + 2, z2, v2, floor, tiekey[i + 2])
            state = score_offer(state, i + 3, z3, v3, floor, tiekey[i + 3])
        i += 4
    while i < n:
        state = score_row(state, i, embeddings, interest, base_logit, value, scale, floor, tiekey)
        i += 1
    win_price[0] = clearing_price(state, floor, mechanism)
    return state[0]
