"""Multi-slot auctions: several positions of one placement sold in a single auction.

Candidates are ranked once, by priority tier, then by effective bid, then by expected
value; each campaign takes at most one position, and position ``s`` goes to the
``s``-th ranked campaign. The mechanisms differ only in what each winner pays:

- ``FIRST_PRICE``: its own bid.
- ``SECOND_PRICE`` and ``GSP`` (generalised second price, Edelman, Ostrovsky & Schwarz
  2007): the bid of the candidate ranked just below it. With one position this is the
  classic second-price (Vickrey) auction.
- ``VCG`` (Vickrey-Clarke-Groves for position auctions, Varian 2007; Aggarwal, Goel &
  Motwani 2006): the externality it imposes on the others, per unit of its position's
  weight, its reserve price acting as a phantom bidder.

References
----------
B. Edelman, M. Ostrovsky, M. Schwarz, "Internet Advertising and the Generalized
Second-Price Auction", American Economic Review 97(1), 2007.
H. R. Varian, "Position auctions", International Journal of Industrial Organization
25(6), 2007.
G. Aggarwal, A. Goel, R. Motwani, "Truthful auctions for pricing search keywords",
ACM EC 2006.
H. R. Varian, C. Harris, "The VCG auction in theory and practice", American Economic
Review 104(5), 2014.
"""

import numpy as np

from ._jit import helper, kernel

# The same codes as adcore._kernels.auction (which imports this module, so they cannot be
# imported from there): one numbering of pricing rules across single slots, positions and pods.
FIRST_PRICE = 1
SECOND_PRICE = 2
GSP = 3
VCG = 4

# The rules of :func:`conforms`: what the public wrappers (``adcore.auctions``) ask of the
# values of an argument.
FINITE = 0
NONNEGATIVE = 1
WEIGHTS = 2

__all__ = [
    "FINITE",
    "FIRST_PRICE",
    "GSP",
    "NONNEGATIVE",
    "SECOND_PRICE",
    "VCG",
    "WEIGHTS",
    "conforms",
    "multislot_auction",
]


@kernel
def conforms(a, rule):
    """Whether every value of ``a`` follows ``rule``: the value checks of the public
    wrappers in one compiled pass, without temporaries.

    Parameters
    ----------
    a : float array of any shape, C-contiguous
        The values, read in C order.
    rule : int
        ``FINITE`` (0): every value is finite; ``NONNEGATIVE`` (1): finite and >= 0
        (``-0.0`` included); ``WEIGHTS`` (2): finite, > 0, and none greater than the one
        before it. Any other value reads as ``WEIGHTS``.

    Returns
    -------
    bool
        True for an empty array. A NaN follows no rule.

    Notes
    -----
    Each rule is one pass with no early exit and no branch on the values; the first two
    vectorise (about 0.3 ns a value on large float64 arrays, against two temporary
    arrays and two reductions in NumPy).
    """
    flat = a.ravel()
    ok = True
    if rule == FINITE:
        for i in range(flat.size):
            ok &= abs(flat[i]) < np.inf
    elif rule == NONNEGATIVE:
        for i in range(flat.size):
            x = flat[i]
            ok &= (x >= 0.0) & (x < np.inf)
    else:
        previous = np.inf
        for i in range(flat.size):
            x = flat[i]
            ok &= (x > 0.0) & (x < np.inf) & (x <= previous)
            previous = x
    return ok


@helper
def outranks(prio, eff, value, key, other_prio, other_eff, other_value, other_key):
    """Whether a candidate strictly ranks before another in every auction here: higher
    priority tier, then higher effective bid, then higher expected value, then lower
    seeded tie key (scalars, so hot loops keep the best so far in registers)."""
    if prio != other_prio:
        return prio > other_prio
    if eff != other_eff:
        return eff > other_eff
    if value != other_value:
        return value > other_value
    return key < other_key


@helper
def ranks_before(i, j, eff, priority, tievalue, tiekey):
    """Whether candidate ``i`` ranks before candidate ``j`` (:func:`outranks`), and on
    a complete tie (equal keys, which callers avoid) whether ``i`` has the lower index."""
    if tiekey[i] == tiekey[j] and priority[i] == priority[j]:
        if eff[i] == eff[j] and tievalue[i] == tievalue[j]:
            return i < j
    return outranks(
        priority[i], eff[i], tievalue[i], tiekey[i], priority[j], eff[j], tievalue[j], tiekey[j]
    )


@kernel
def multislot_auction(
    win, price, eff, floor, priority, owner, tievalue, tiekey, weight, n, n_slots, mechanism, top
):
    """Sell ``n_slots`` ranked positions to ``n`` candidates; return the number filled.

    Parameters
    ----------
    win : int64 array (>= n_slots,)
        Output: the candidate in each position, ``-1`` where unfilled.
    price : float64 array (>= n_slots,)
        Output: the price per impression (CPM) of each position, ``0.0`` where unfilled.
    eff : float64 array (>= n,)
        Effective bids (CPM).
    floor : float64 array (>= n,)
        Each candidate's hard floor (its reserve price).
    priority : int64 array (>= n,)
        Priority tier; a higher tier ranks first whatever the bids.
    owner : int64 array (>= n,)
        Each candidate's campaign: one position per campaign, its best-ranked candidate.
    tievalue : float64 array (>= n,)
        Expected value of each candidate: among equal bids the higher ranks first.
    tiekey : uint64 array (>= n,)
        Tie-break key, distinct per candidate (the lower ranks first).
    weight : float64 array (>= n_slots,)
        Non-increasing, non-negative value of each position relative to the first
        (position click-through weights). Only ``VCG`` reads it.
    n, n_slots : int
        Number of candidates and of positions.
    mechanism : int
        ``FIRST_PRICE`` (1), ``SECOND_PRICE`` (2), ``GSP`` (3) or ``VCG`` (4); any other
        value prices as ``SECOND_PRICE``.
    top : int64 array (>= n_slots + 1,)
        Scratch: receives the ``n_slots + 1`` best ranked campaigns' candidates.

    Returns
    -------
    int
        The number of filled positions, ``min(n_slots, number of campaigns with an
        eligible candidate)``; they are the first ones.

    Notes
    -----
    Candidate ``i`` is eligible iff ``eff[i] > 0`` and ``eff[i] >= floor[i]`` (so a NaN bid
    or floor is not). Each campaign is represented by its best eligible candidate in the
    ranking (``priority`` desc, ``eff`` desc, ``tievalue`` desc, ``tiekey`` asc, index
    asc); the representatives are ranked the same way and position ``s`` goes to the
    ``s``-th (0-based). Only the best ``n_slots + 1`` are kept, by insertion into ``top``
    (a candidate replaces a worse one of its own campaign): O(n * n_slots), no sort.
    Every price below is therefore set by other campaigns' bids.

    With ``b(t)`` the bid of the ``t``-th ranked representative (``0.0`` when there are
    fewer than ``t + 1``) and ``w`` the winner of position ``s``, the price is

    - ``FIRST_PRICE``: ``eff[w]``;
    - ``SECOND_PRICE``, ``GSP``: ``min(max(floor[w], b(s + 1)), eff[w])``;
    - ``VCG``: ``min(p, eff[w])`` with
      ``p = sum_{t=s}^{n_slots-1} (weight[t] - weight[t+1]) * max(b(t+1), floor[w]) /
      weight[s]`` and ``weight[n_slots] = 0``; when ``weight[s] <= 0``,
      ``min(floor[w], eff[w])``.

    ``weight[s] * p`` is the loss the winner of ``s`` imposes on the others below it
    (each moves up one position without it), with the winner's reserve acting as a
    phantom bidder at ``floor[w]`` in every position below (Varian and Harris 2014): so
    ``p >= floor[w]``, and within one priority tier VCG prices make truthful bidding a
    dominant strategy with floors too, while GSP prices with two or more positions do
    not (Edelman et al. 2007, sec. 3).
    """
    k = n_slots + 1
    cnt = 0
    for i in range(n):
        e = eff[i]
        if not (e > 0.0 and e >= floor[i]):
            continue
        # A candidate of a campaign already kept: the better of the two stays.
        same = -1
        for q in range(cnt):
            if owner[top[q]] == owner[i]:
                same = q
                break
        if same >= 0:
            if not ranks_before(i, top[same], eff, priority, tievalue, tiekey):
                continue
            for q in range(same, cnt - 1):
                top[q] = top[q + 1]
            cnt -= 1
        if cnt == k:
            if not ranks_before(i, top[k - 1], eff, priority, tievalue, tiekey):
                continue
            pos = k - 1
        else:
            pos = cnt
            cnt += 1
        while pos > 0 and ranks_before(i, top[pos - 1], eff, priority, tievalue, tiekey):
            top[pos] = top[pos - 1]
            pos -= 1
        top[pos] = i
    filled = cnt if cnt < n_slots else n_slots
    for s in range(n_slots):
        if s >= filled:
            win[s] = -1
            price[s] = 0.0
            continue
        w = top[s]
        bid = eff[w]
        reserve = floor[w]
        next_bid = eff[top[s + 1]] if s + 1 < cnt else 0.0
        if mechanism == FIRST_PRICE:
            p = bid
        elif mechanism == VCG:
            if weight[s] > 0.0:
                total = 0.0  # from the last position up, one term per position
                for t in range(n_slots - 1, s - 1, -1):
                    below = eff[top[t + 1]] if t + 1 < cnt else 0.0
                    if below < reserve:
                        below = reserve
                    next_weight = weight[t + 1] if t + 1 < n_slots else 0.0
                    total += (weight[t] - next_weight) * below
                p = total / weight[s]
                if p < reserve:
                    p = reserve
            else:
                p = reserve
        else:
            p = next_bid if next_bid > reserve else reserve
        if p > bid:
            p = bid
        win[s] = w
        price[s] = p
    return filled
