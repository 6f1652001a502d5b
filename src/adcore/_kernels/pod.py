"""Ad pods: the most valuable set of ads for one pod impression, and what each winner pays.

A dynamic pod (OpenRTB 2.6 ``Imp.video.poddur`` / ``maxseq``) is filled with at most
``maxseq`` ads whose durations add up to at most ``poddur`` seconds, no two of them
sharing an advertiser domain, IAB category or creative when the request asks for pod
deduplication (AdCOM 1.0 list "Pod Deduplication": 1 = adomain, 2 = IAB category,
3 = creative id). The caller turns the requested deduplication into one bitset per
candidate (the union of its domain, category and creative bits) and passes only the
candidates eligible for the pod.

The pod is found by depth-first branch and bound with a node budget (:func:`fill_pod`):
exactly when the search ends within the budget, as it does whenever its bounds cut
well; otherwise it is the best pod the search found or a greedy pod, whichever is more
valuable, with a bound on the gap to the optimum. A winner's second price is its VCG
payment (:func:`pod_prices`), which needs the best pod without it: one more budgeted
search per winner. :func:`pod_auction` does both, sorting the candidates once.

Work is bounded whatever the input: a node examines at most :data:`NODE_SCAN`
candidates for each of its two bounds, so it costs ``O(NODE_SCAN * (W + maxseq))``
operations (``W`` words of the separation bitsets) however many candidates there are;
a search explores at most ``budget`` nodes; one that runs out closes with at most
``maxseq + 1`` bounds and greedy passes of ``O(count * (W + maxseq))`` (three for the
fill, one for a price); sorting the ``count`` candidates costs ``O(count log count)``.
A pod with ``k`` winners priced by VCG runs ``k + 1`` searches. The orders the search
walks are in :mod:`adcore._kernels.pod_order`, its bounds in
:mod:`adcore._kernels.pod_bounds`.

References
----------
IAB Tech Lab, OpenRTB 2.6 (``Imp.video``: ``poddur``, ``maxseq``, ``poddedupe``) and
AdCOM 1.0 (list: Pod Deduplication).
W. Vickrey 1961, E. Clarke 1971, T. Groves 1973 (the VCG payment).
G. B. Dantzig, "Discrete-variable extremum problems", Operations Research 5(2), 1957
(the fractional knapsack bound).
N. Nisan, A. Ronen, "Computationally feasible VCG mechanisms", Journal of Artificial
Intelligence Research 29, 2007 (VCG payments over an inexact allocation).
"""

import numpy as np

from ._jit import helper, kernel
from .mechanisms import FIRST_PRICE
from .pod_bounds import BOUND_MARGIN, NODE_SCAN, count_bound, hits, knapsack_gain, subtree_bound
from .pod_order import position_of, prepare

DURATION_SLACK = 1e-9
"""Seconds by which the durations of a pod may exceed ``poddur`` (float rounding)."""

UNLIMITED = 1 << 62
"""A node budget no search reaches: the exact search, however long it takes."""

# The entries of the ``stats`` output of fill_pod, pod_prices and pod_auction.
STAT_NODES = 0
STAT_FILL_BUDGETED = 1
STAT_FILL_GAP = 2
STAT_PRICE_BUDGETED = 3
STAT_PRICE_GAP = 4
POD_STATS = 5
"""Length of the ``stats`` output."""

# A running sum of durations more than this over the cap is over it in any order.
_SURELY_OVER = 1e-6

__all__ = [
    "DURATION_SLACK",
    "NODE_SCAN",
    "POD_STATS",
    "STAT_FILL_BUDGETED",
    "STAT_FILL_GAP",
    "STAT_NODES",
    "STAT_PRICE_BUDGETED",
    "STAT_PRICE_GAP",
    "UNLIMITED",
    "fill_pod",
    "pod_auction",
    "pod_prices",
    "pod_work_size",
]


def pod_work_size(n: int, maxseq: int, words: int) -> int:
    """Minimum length of the ``work`` scratch of :func:`fill_pod`, :func:`pod_prices`
    and :func:`pod_auction` for ``n`` candidates with separation bitsets of ``words``
    words.

    ``4 * n + 6 * d + (d + 66) * words`` with ``d = min(maxseq, n)``: the candidates in
    canonical order; their positions in that order sorted by value per second; each
    one's separation class; the least duration from each on; then, ``d`` entries each,
    the positions of the members of the pod being explored, those of the best pod found
    so far, the classes counted by a bound, a pod built greedily, and (as float64 bit
    patterns) the value and the duration of each prefix of the pod being explored; then
    (as uint64) the union of the bitsets of each prefix and of the greedy pod. While
    sorting, ``work[4 * n:4 * n + 64 * words]`` holds a count per bit.
    """
    depth = max(min(maxseq, n), 0)
    return 4 * n + 6 * depth + (depth + 66) * words


@helper
def greedy(
    work, count, at, size, by_density, depth_cap, limit, value, duration, groups, separate,
    excluded, masks, union_at, root_at,
):  # fmt: skip
    """Extend the pod ``work[at:at + size]`` (canonical positions, ascending) with each
    candidate in turn, in canonical order or (``by_density``) by value per second, that
    keeps it a pod: not a member nor ``excluded``, the durations summed in canonical
    order within ``limit``, no conflict, at most ``depth_cap`` members. Return its
    size. ``masks[union_at:]`` holds the union of its bitsets, starting from the search's
    root mask ``masks[root_at:]`` (the excluded candidate's campaign, see :func:`search`)."""
    width = groups.shape[1]
    for w in range(width):
        masks[union_at + w] = masks[root_at + w]
    seconds = 0.0
    for d in range(size):
        c = work[work[at + d]]
        seconds += duration[c]
        for w in range(width):
            masks[union_at + w] |= groups[c, w]
    for r in range(count):
        if size >= depth_cap:
            break
        pos = work[count + r] if by_density else r
        c = work[pos]
        if c == excluded or seconds + duration[c] > limit + _SURELY_OVER:
            continue
        if separate and hits(masks, union_at, groups, c):
            continue
        # The pod's duration with c, summed in canonical order (c at its place).
        member = False
        total = 0.0
        placed = False
        for d in range(size):
            p = work[at + d]
            if p == pos:
                member = True
                break
            if not placed and pos < p:
                total += duration[c]
                placed = True
            total += duration[work[p]]
        if not placed:
            total += duration[c]
        if member or not (total <= limit):
            continue
        d = size
        while d > 0 and work[at + d - 1] > pos:
            work[at + d] = work[at + d - 1]
            d -= 1
        work[at + d] = pos
        size += 1
        seconds += duration[c]
        for w in range(width):
            masks[union_at + w] |= groups[c, w]
    return size


@helper
def search(
    sel, value, duration, groups, count, limit, maxseq, separate, excluded, own_words, m0,
    seed, budget, fresh_greedy, work,
):  # fmt: skip
    """The budgeted branch and bound of :func:`fill_pod` over the candidates prepared in
    ``work`` (see :func:`adcore._kernels.pod_order.prepare`), starting from the best pod
    of ``m0`` positions at ``work[best_at:]`` (see below), worth ``seed``. If the budget
    runs out, the best pod is completed greedily and, with ``fresh_greedy``, compared
    with the two greedy pods. Writes the best pod into ``sel``; returns ``(m, value,
    nodes, budgeted, gap)``.

    ``excluded`` (a candidate, or -1) is left out; with ``separate``, so is every
    candidate sharing a bit with it in the first ``own_words`` words of ``groups`` (its
    campaign): those words of its bitset are the root of every explored pod's mask."""
    depth_cap = maxseq if maxseq < count else count
    if depth_cap <= 0:
        return 0, seed, 0, False, 0.0
    width = groups.shape[1]
    # work: order [count] | by value per second [count] | classes [count] | (buffer of
    # the sorts) [count] | positions
    # of the pod explored [depth_cap] | positions of the best pod [depth_cap] | classes
    # counted by a bound [depth_cap] | a greedy pod [depth_cap] | value and duration of
    # the explored pod's first d members [depth_cap each, float64] | union of the
    # bitsets of its first d members [(depth_cap + 1) * width, uint64] | union of the
    # greedy pod's [width]. The prefixes are stored rather than summed again on the way
    # back: under the `reassoc` fastmath flag a summing loop may be reassociated, and a
    # pod must have one value whichever way it is reached.
    order = work
    base = 4 * count
    best_at = base + depth_cap
    counted_at = base + 2 * depth_cap
    greedy_at = base + 3 * depth_cap
    prefix = work.view(np.float64)
    values_at = base + 4 * depth_cap
    seconds_at = values_at + depth_cap
    masks = work.view(np.uint64)
    masks_at = seconds_at + depth_cap
    union_at = masks_at + (depth_cap + 1) * width
    for w in range(width):
        masks[masks_at + w] = np.uint64(0)
    if excluded >= 0:
        for w in range(own_words):
            masks[masks_at + w] = groups[excluded, w]
    m = m0
    best = seed
    depth = 0
    total = 0.0  # value of the pod order[work[base:base + depth]], in canonical order
    seconds = 0.0  # its duration, summed the same way
    start = 0  # first position that may extend it
    fresh = True
    nodes = 0
    budgeted = False
    while True:
        if nodes >= budget:
            budgeted = True
            break
        nodes += 1
        mask_at = masks_at + depth * width
        # The first candidate in the window that can extend the pod, and the count
        # bound on the value of every pod extending it from `start` on (see fill_pod).
        nxt, bound, resume = count_bound(
            work, count, depth, depth_cap, start, total, seconds, limit, value, duration,
            groups, separate, excluded, prefix, masks, mask_at, counted_at,
        )  # fmt: skip
        grow = bound > best and (nxt >= 0 or resume < count)
        if grow and fresh and depth + 1 < depth_cap:
            # On entering a pod that two or more members may extend, the knapsack bound
            # (at the last level the count bound is already the best extension).
            gain = knapsack_gain(
                work, count, start, seconds, limit, value, duration, groups, separate,
                excluded, masks, mask_at,
            )  # fmt: skip
            grow = (total + gain) * BOUND_MARGIN > best
        if grow and nxt < 0:
            # Nothing in the window extends the pod: the next node scans on.
            start = resume
            fresh = False
        elif grow:
            c = order[nxt]
            work[base + depth] = nxt
            prefix[values_at + depth] = total
            prefix[seconds_at + depth] = seconds
            for w in range(width):
                masks[mask_at + width + w] = masks[mask_at + w] | groups[c, w]
            depth += 1
            total += value[c]
            seconds += duration[c]
            if total > best:
                best = total
                m = depth
                for d in range(depth):
                    work[best_at + d] = work[base + d]
            start = nxt + 1
            fresh = True
        else:
            fresh = False
            if depth == 0:
                break
            depth -= 1
            start = work[base + depth] + 1
            total = prefix[values_at + depth]
            seconds = prefix[seconds_at + depth]
    gap = 0.0
    if budgeted:
        # Every pod not visited extends the explored pod from `start` on, or its first
        # d members past its (d+1)-th: the largest bound on those bounds the optimum.
        upper = best
        u = subtree_bound(
            work, count, depth, depth_cap, start, total, seconds, limit, value, duration,
            groups, separate, excluded, masks, masks_at + depth * width, counted_at,
        )  # fmt: skip
        if u > upper:
            upper = u
        for d in range(depth):
            u = subtree_bound(
                work, count, d, depth_cap, work[base + d] + 1, prefix[values_at + d],
                prefix[seconds_at + d], limit, value, duration, groups, separate, excluded,
                masks, masks_at + d * width, counted_at,
            )  # fmt: skip
            if u > upper:
                upper = u
        # The greedy completion: the best pod found, extended in canonical order; the
        # greedy pods by value and by value per second. The most valuable is kept.
        for attempt in range(3 if fresh_greedy else 1):
            size = 0
            if attempt == 0:
                size = m
                for d in range(m):
                    work[greedy_at + d] = work[best_at + d]
            size = greedy(
                work, count, greedy_at, size, attempt == 2, depth_cap, limit, value,
                duration, groups, separate, excluded, masks, union_at, masks_at,
            )  # fmt: skip
            v = 0.0
            for d in range(size):
                v += value[order[work[greedy_at + d]]]
            if v > best:
                best = v
                m = size
                for d in range(size):
                    work[best_at + d] = work[greedy_at + d]
        if upper > best:
            gap = upper - best
    for d in range(m):
        sel[d] = order[work[best_at + d]]
    return m, best, nodes, budgeted, gap


@helper
def vcg_prices(
    price, sel, m, value, duration, groups, tiekey, floor, count, limit, maxseq, separate,
    own_words, mechanism, budget, sel2, work,
):  # fmt: skip
    """The prices of :func:`pod_prices` over the candidates prepared in ``work``; returns
    ``(nodes, searches that ran out, their largest gap)``."""
    if mechanism == FIRST_PRICE:
        for j in range(m):
            price[j] = value[sel[j]]
        return 0, 0, 0.0
    total = 0.0
    for j in range(m):
        total += value[sel[j]]
    depth_cap = maxseq if maxseq < count else count
    best_at = 4 * count + depth_cap
    nodes = 0
    short = 0
    worst = 0.0
    for j in range(m):
        i = sel[j]
        # Start from the pod less i (a pod, its value summed in canonical order).
        m0 = 0
        seed = 0.0
        for t in range(m):
            if t != j:
                work[best_at + m0] = position_of(work, count, sel[t], value, tiekey)
                seed += value[sel[t]]
                m0 += 1
        _, without, spent, budgeted, gap = search(
            sel2, value, duration, groups, count, limit, maxseq, separate, i, own_words, m0,
            seed, budget, False, work,
        )  # fmt: skip
        nodes += spent
        if budgeted:
            short += 1
            if gap > worst:
                worst = gap
        p = without - (total - value[i])
        if p < floor[i]:
            p = floor[i]
        if p > value[i]:
            p = value[i]
        price[j] = p
    return nodes, short, worst


@kernel
def fill_pod(
    sel, value, duration, groups, tiekey, n, poddur, maxseq, separate, excluded, budget,
    stats, work,
):  # fmt: skip
    """Choose the most valuable pod among ``n`` candidates; return its size ``m``.

    Parameters
    ----------
    sel : int64 array (>= min(maxseq, n),)
        Output: ``sel[:m]`` receives the chosen candidates in canonical order (their
        positions in the pod).
    value : float64 array (>= n,)
        Each candidate's value (> 0), e.g. its effective bid.
    duration : float64 array (>= n,)
        Each candidate's duration in seconds (>= 0).
    groups : uint64 array (>= n, W)
        Deduplication bitsets: with ``separate``, candidates ``i`` and ``j`` conflict iff
        ``groups[i, w] & groups[j, w] != 0`` for some ``w``.
    tiekey : uint64 array (>= n,)
        Tie-break key, distinct per candidate.
    n : int
        Number of candidates.
    poddur : float
        Total duration cap, seconds.
    maxseq : int
        Maximum number of ads (positive).
    separate : bool
        Whether conflicting candidates are kept apart.
    excluded : int
        A candidate to leave out, ``-1`` for none (for VCG prices).
    budget : int
        The most search nodes to explore (>= 1); :data:`UNLIMITED` for the exact search
        whatever it costs.
    stats : float64 array (>= POD_STATS,)
        Output: ``stats[STAT_NODES]`` the nodes explored, ``stats[STAT_FILL_BUDGETED]``
        1.0 if the budget ran out (else 0.0), ``stats[STAT_FILL_GAP]`` an upper bound on
        how much more valuable the optimum is than the pod chosen (0.0 when the search
        ended); the price entries 0.0.
    work : int64 array (>= pod_work_size(n, maxseq, W),), C-contiguous
        Scratch (see :func:`pod_work_size`); parts of it are used through float64 and
        uint64 views.

    Returns
    -------
    int
        ``m``, the number of ads in the pod (0 when no candidate fits).

    Notes
    -----
    A pod has a total duration of at most ``poddur + DURATION_SLACK``, at most ``maxseq``
    ads, no two conflicting when ``separate``, and not ``excluded``; its value is the
    sum of its members' values, which the search maximises.

    Candidates are taken in canonical order: ``value`` desc, then ``tiekey`` asc (then
    index asc, for equal keys). Pods are visited depth first: as increasing sequences of
    canonical positions, in lexicographic order, a pod before its extensions (``{0}``,
    ``{0, 1}``, ``{0, 1, 2}``, ``{0, 1, 3}``, ..., ``{0, 2}``, ...). The best pod is
    replaced only by a strictly more valuable one, so among equally valuable optimal
    pods the first visited wins. The result depends on the candidates only through
    their canonical order, so permuting them (all per-candidate arrays together)
    permutes ``sel`` accordingly.

    A pod's value and duration are summed in canonical order, left to right. The search
    leaves out a subtree when an upper bound on the value of every pod in it is at most
    the best value found, so no pod in it could replace the best: the cut never changes
    the result, which is that of the full enumeration. Two bounds, both valid for the
    floating-point sums:

    - count bound (at every node): the pod's value plus the values of the first
      ``room`` later candidates that each fit the remaining duration, conflict with no
      member and (with ``separate``) have a separation class not taken by an earlier
      one of them. ``room`` is ``maxseq - size``, or less when that many of the
      shortest later candidate would overrun the remaining duration (plus the slack
      below): no extension has more members. A candidate's class is the bit of its
      bitsets set for the most candidates, so two candidates of one class conflict and
      an extension takes at most one per class: on this partition matroid, truncated
      to ``room``, the greedy choice by value has its ``j``-th member worth at least
      the ``j``-th new member of any extension, and float addition is monotone, so no
      extension sums to more.
    - knapsack bound (on entering a pod that two or more members may extend): the pod's
      value plus the fractional knapsack (Dantzig 1957) of the later candidates that
      each fit and conflict with no member, by value per second, into the remaining
      duration plus ``1e-9 + 1e-12 * (poddur + DURATION_SLACK)`` seconds, the whole
      times ``1 + 1e-12`` (margins far above the rounding of sums of up to thousands of
      terms).

    **Nodes.** Each step of the search is a node: it scans at most :data:`NODE_SCAN`
    candidates from where the pod may be extended, for the first that extends it and
    for the count bound, and as many entries of the value-per-second order for the
    knapsack bound; where a scan stops early, every candidate past it is counted at the
    value (or the value per second) of the first one not examined, which keeps both
    bounds valid. The node then extends the pod by that candidate, moves the scan on
    (none in its window), or steps back. So a node costs ``O(NODE_SCAN * (W +
    maxseq))`` whatever the number of candidates.

    **Budget.** When the search ends within ``budget`` nodes, the pod is the optimum (the
    very pod the full enumeration picks). Otherwise it stops, and the pod is the most
    valuable of: the best pod found; that pod extended greedily in canonical order;
    the greedy pod by value (each candidate in canonical order that keeps it a pod);
    the greedy pod by value per second (ties by canonical order). So it is at least as
    valuable as both greedy pods. Every pod not visited extends the pod being explored,
    or a prefix of it, by candidates past a known position: the largest of their bounds
    (the smaller of the count and knapsack bounds, for each) bounds the optimum, and
    ``stats[STAT_FILL_GAP]`` is that bound less the value chosen, or 0.

    Cost: ``O(count log count + count * W)`` to sort and classify the ``count``
    candidates that fit ``poddur``; at most ``budget`` nodes; when the budget runs out,
    at most ``maxseq + 1`` more bounds (each within one node's cost) and three greedy
    passes of ``O(count * (W + maxseq))``.
    """
    limit = poddur + DURATION_SLACK
    count = prepare(work, value, duration, groups, tiekey, n, limit, separate)
    m, _, nodes, budgeted, gap = search(
        sel, value, duration, groups, count, limit, maxseq, separate, excluded, 0, 0, 0.0,
        budget, True, work,
    )  # fmt: skip
    stats[STAT_NODES] = nodes
    stats[STAT_FILL_BUDGETED] = 1.0 if budgeted else 0.0
    stats[STAT_FILL_GAP] = gap
    stats[STAT_PRICE_BUDGETED] = 0.0
    stats[STAT_PRICE_GAP] = 0.0
    return m


@kernel
def pod_prices(
    price, sel, m, value, duration, groups, tiekey, floor, n, poddur, maxseq, separate,
    own_words, mechanism, budget, stats, sel2, work,
):  # fmt: skip
    """Write the price of each ad of a pod: ``price[j]`` for ``sel[j]``, ``j < m``.

    Parameters
    ----------
    price : float64 array (>= m,)
        Output.
    sel : int64 array (>= m,)
        The pod, as :func:`fill_pod` wrote it for the same inputs (``excluded = -1``,
        any budget).
    m : int
        Its size.
    value, duration, groups, tiekey, n, poddur, maxseq, separate
        As for :func:`fill_pod`.
    own_words : int
        With ``separate``, the first ``own_words`` words of each bitset name its
        campaign (0: each candidate is its own): a winner's price search leaves out its
        whole campaign, so a campaign pays only for what it takes from the others.
    floor : float64 array (>= n,)
        Each candidate's floor (the caller passes candidates with ``value >= floor``).
    mechanism : int
        ``FIRST_PRICE`` (1): each ad pays its value. Any other value (``SECOND_PRICE``,
        2): the VCG payment, floored.
    budget : int
        The most nodes of each winner's search (as for :func:`fill_pod`).
    stats : float64 array (>= POD_STATS,)
        Output: ``stats[STAT_NODES]`` the nodes of all ``m`` searches,
        ``stats[STAT_PRICE_BUDGETED]`` how many of them ran out of budget,
        ``stats[STAT_PRICE_GAP]`` the largest gap one of those reported; the fill
        entries 0.0.
    sel2 : int64 array (>= min(maxseq, n),)
        Scratch: each pod without one winner.
    work : int64 array (>= pod_work_size(n, maxseq, W),), C-contiguous
        Scratch, as for :func:`fill_pod`.

    Notes
    -----
    VCG (the second price of a pod): for winner ``i = sel[j]``, ``without`` is the value
    of the best pod with ``i`` and its campaign (``own_words``) excluded, found by the
    search of :func:`fill_pod` started from the pod less ``i`` (a pod; its value summed
    in canonical order), ``others = total - value[i]`` with ``total`` the pod's value
    summed over ``sel[:m]`` in order, and ``price[j] = min(max(floor[i], without -
    others), value[i])``: what the other campaigns lose by ``i`` taking part. The price
    lies in ``[floor[i], value[i]]`` and each winner's utility ``value - price`` is at
    least 0 and at most ``value[i] - floor[i]``, whatever the budget. Cost: ``m``
    further searches.

    When a search ends within its budget, ``without`` is the optimum and the price the
    VCG payment. When it runs out, ``without`` is the best value found, the starting
    pod completed greedily in canonical order included (at least ``others``, and at
    most the reported gap below the optimum), so the price is at most that gap below
    the VCG payment and never below the floor. VCG's truthfulness rests on
    exact optima: with a search that runs out, a bidder may gain by misreporting
    (Nisan and Ronen 2007); the prices stay individually rational.
    """
    stats[STAT_NODES] = 0.0
    stats[STAT_FILL_BUDGETED] = 0.0
    stats[STAT_FILL_GAP] = 0.0
    stats[STAT_PRICE_BUDGETED] = 0.0
    stats[STAT_PRICE_GAP] = 0.0
    if mechanism == FIRST_PRICE:
        for j in range(m):
            price[j] = value[sel[j]]
        return
    limit = poddur + DURATION_SLACK
    count = prepare(work, value, duration, groups, tiekey, n, limit, separate)
    nodes, short, worst = vcg_prices(
        price, sel, m, value, duration, groups, tiekey, floor, count, limit, maxseq,
        separate, own_words, mechanism, budget, sel2, work,
    )  # fmt: skip
    stats[STAT_NODES] = nodes
    stats[STAT_PRICE_BUDGETED] = short
    stats[STAT_PRICE_GAP] = worst


@kernel
def pod_auction(
    sel, price, value, duration, groups, tiekey, floor, n, poddur, maxseq, separate,
    own_words, mechanism, budget, stats, sel2, work,
):  # fmt: skip
    """:func:`fill_pod` (``excluded = -1``) then :func:`pod_prices`, sorting the
    candidates once; return the pod's size ``m``.

    ``sel[:m]`` receives the pod and ``price[:m]`` its prices; ``stats`` (>=
    ``POD_STATS``): ``STAT_NODES`` the nodes of all ``m + 1`` searches (at most ``(m +
    1) * budget``), the fill entries as :func:`fill_pod` writes them and the price
    entries as :func:`pod_prices` does.
    """
    limit = poddur + DURATION_SLACK
    count = prepare(work, value, duration, groups, tiekey, n, limit, separate)
    m, _, nodes, budgeted, gap = search(
        sel, value, duration, groups, count, limit, maxseq, separate, -1, 0, 0, 0.0, budget,
        True, work,
    )  # fmt: skip
    more, short, worst = vcg_prices(
        price, sel, m, value, duration, groups, tiekey, floor, count, limit, maxseq,
        separate, own_words, mechanism, budget, sel2, work,
    )  # fmt: skip
    stats[STAT_NODES] = nodes + more
    stats[STAT_FILL_BUDGETED] = 1.0 if budgeted else 0.0
    stats[STAT_FILL_GAP] = gap
    stats[STAT_PRICE_BUDGETED] = short
    stats[STAT_PRICE_GAP] = worst
    return m
