"""Multi-slot auctions: several positions of one placement sold in a single auction.

Candidates are ranked once, by priority tier, then by effective bid; position ``s`` goes
to the ``s``-th ranked. The mechanisms differ only in what each winner pays:

- ``FIRST_PRICE``: its own bid.
- ``SECOND_PRICE`` and ``GSP`` (generalised second price, Edelman, Ostrovsky & Schwarz
  2007): the bid of the candidate ranked just below it. With one position this is the
  classic second-price (Vickrey) auction.
- ``VCG`` (Vickrey-Clarke-Groves for position auctions, Varian 2007; Aggarwal, Goel &
  Motwani 2006): the externality it imposes on the others, per unit of its position's
  weight.

References
----------
B. Edelman, M. Ostrovsky, M. Schwarz, "Internet Advertising and the Generalized
Second-Price Auction", American Economic Review 97(1), 2007.
H. R. Varian, "Position auctions", International Journal of Industrial Organization
25(6), 2007.
G. Aggarwal, A. Goel, R. Motwani, "Truthful auctions for pricing search keywords",
ACM EC 2006.
"""

from ._jit import helper, kernel

# The same codes as adcore._kernels.auction (which imports this module, so they cannot be
# imported from there): one numbering of pricing rules across single slots, positions and pods.
FIRST_PRICE = 1
SECOND_PRICE = 2
GSP = 3
VCG = 4

__all__ = ["FIRST_PRICE", "GSP", "SECOND_PRICE", "VCG", "multislot_auction"]


@helper
def ranks_before(i, j, eff, priority, tiekey):
    """Whether candidate ``i`` ranks before candidate ``j``: higher ``priority``, then
    higher ``eff``, then lower ``tiekey``, then (equal keys, which callers avoid) lower
    index."""
    if priority[i] != priority[j]:
        return priority[i] > priority[j]
    if eff[i] != eff[j]:
        return eff[i] > eff[j]
    if tiekey[i] != tiekey[j]:
        return tiekey[i] < tiekey[j]
    return i < j


@kernel
def multislot_auction(win, price, eff, floor, priority, tiekey, weight, n, n_slots, mechanism, top):
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
        Each candidate's hard floor.
    priority : int64 array (>= n,)
        Priority tier; a higher tier ranks first whatever the bids.
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
        Scratch: receives the ``n_slots + 1`` best ranked candidates.

    Returns
    -------
    int
        The number of filled positions, ``min(n_slots, number of eligible candidates)``;
        they are the first ones.

    Notes
    -----
    Candidate ``i`` is eligible iff ``eff[i] > 0`` and ``eff[i] >= floor[i]`` (so a NaN bid
    or floor is not). Eligible candidates are ranked by (``priority`` desc, ``eff`` desc,
    ``tiekey`` asc, index asc) and position ``s`` goes to the ``s``-th ranked (0-based). Only
    the best ``n_slots + 1`` are kept, by insertion into ``top``: O(n * n_slots), no sort.

    With ``b(t)`` the bid of the ``t``-th ranked eligible candidate (``0.0`` when there are
    fewer than ``t + 1``) and ``w`` the winner of position ``s``, the price is

    - ``FIRST_PRICE``: ``eff[w]``;
    - ``SECOND_PRICE``, ``GSP``: ``min(max(floor[w], b(s + 1)), eff[w])``;
    - ``VCG``: ``min(max(floor[w], p), eff[w])`` with
      ``p = sum_{t=s}^{n_slots-1} (weight[t] - weight[t+1]) * b(t+1) / weight[s]`` and
      ``weight[n_slots] = 0``; when ``weight[s] <= 0``, ``min(floor[w], eff[w])``.

    ``weight[s] * p`` is the loss the winner of ``s`` imposes on the candidates below it
    (each moves up one position without it), so within one priority tier and without
    floors VCG prices make truthful bidding a dominant strategy (Varian 2007, sec. 5),
    while GSP prices with two or more positions do not (Edelman et al. 2007, sec. 3).
    The VCG sum is accumulated from the last position up, one term per position.
    """
    k = n_slots + 1
    cnt = 0
    for i in range(n):
        e = eff[i]
        if not (e > 0.0 and e >= floor[i]):
            continue
        if cnt == k:
            if not ranks_before(i, top[k - 1], eff, priority, tiekey):
                continue
            pos = k - 1
        else:
            pos = cnt
            cnt += 1
        while pos > 0 and ranks_before(i, top[pos - 1], eff, priority, tiekey):
            top[pos] = top[pos - 1]
            pos -= 1
        top[pos] = i
    filled = cnt if cnt < n_slots else n_slots
    tail = 0.0  # sum_{t=s}^{n_slots-1} (weight[t] - weight[t+1]) * b(t+1)
    for s in range(n_slots - 1, -1, -1):
        if s >= filled:  # then b(s + 1) = 0: the VCG sum gains nothing here
            win[s] = -1
            price[s] = 0.0
            continue
        w = top[s]
        bid = eff[w]
        next_bid = eff[top[s + 1]] if s + 1 < cnt else 0.0
        if mechanism == FIRST_PRICE:
            p = bid
        elif mechanism == VCG:
            next_weight = weight[s + 1] if s + 1 < n_slots else 0.0
            tail += (weight[s] - next_weight) * next_bid
            if weight[s] > 0.0:
                p = tail / weight[s]
                if p < floor[w]:
                    p = floor[w]
            else:
                p = floor[w]
        else:
            p = next_bid if next_bid > floor[w] else floor[w]
        if p > bid:
            p = bid
        win[s] = w
        price[s] = p
    return filled
