"""Ad pods: the most valuable set of ads for one pod impression, and what each winner pays.

A dynamic pod (OpenRTB 2.6 ``Imp.video.poddur`` / ``maxseq``) is filled with at most
``maxseq`` ads whose durations add up to at most ``poddur`` seconds, no two of them
sharing an advertiser domain, IAB category or creative when the request asks for pod
deduplication (AdCOM 1.0 list "Pod Deduplication": 1 = adomain, 2 = IAB category,
3 = creative id). The caller turns the requested deduplication into one bitset per
candidate (the union of its domain, category and creative bits) and passes only the
candidates eligible for the pod.

The pod is found exactly, by depth-first branch and bound (:func:`fill_pod`); a winner's
second price is its VCG payment (:func:`pod_prices`), which needs the best pod without it.

References
----------
IAB Tech Lab, OpenRTB 2.6 (``Imp.video``: ``poddur``, ``maxseq``, ``poddedupe``) and
AdCOM 1.0 (list: Pod Deduplication).
W. Vickrey 1961, E. Clarke 1971, T. Groves 1973 (the VCG payment).
"""

import numpy as np

from ._jit import helper, kernel
from .mechanisms import FIRST_PRICE

DURATION_SLACK = 1e-9
"""Seconds by which the durations of a pod may exceed ``poddur`` (float rounding)."""

# Margins that keep the fractional-knapsack bound above every pod's float-computed value:
# float sums of a few durations and values are off by a few ulps (relative 1e-15).
_CAPACITY_SLACK = 1e-9  # seconds, plus 1e-12 of the cap
_BOUND_MARGIN = 1.0 + 1e-12

__all__ = ["DURATION_SLACK", "fill_pod", "pod_prices", "pod_work_size"]


def pod_work_size(n: int, maxseq: int) -> int:
    """Minimum length of the ``work`` scratch of :func:`fill_pod` and :func:`pod_prices`.

    ``2 * n + 4 * min(maxseq, n)`` (at least ``2 * n``): the candidates in canonical
    order; their positions in that order sorted by value per second; then, ``min(maxseq,
    n)`` entries each, the positions of the members of the pod being explored, those of
    the best pod found so far, and (as float64 bit patterns) the value and the duration
    of each prefix of the pod being explored.
    """
    depth = min(maxseq, n)
    return 2 * n + 4 * (depth if depth > 0 else 0)


@helper
def prepare(work, value, duration, tiekey, n, limit):
    """Write into ``work[:count]`` the candidates whose own duration is at most ``limit``,
    in canonical order (``value`` desc, ``tiekey`` asc, index asc), and into
    ``work[count:2 * count]`` their positions in that order by value per second, desc
    (zero durations first); insertion sorts. Return ``count``."""
    count = 0
    for i in range(n):
        if not (duration[i] <= limit):
            continue
        pos = count
        while pos > 0:
            j = work[pos - 1]
            if value[i] > value[j] or (
                value[i] == value[j]
                and (tiekey[i] < tiekey[j] or (tiekey[i] == tiekey[j] and i < j))
            ):
                work[pos] = j
                pos -= 1
            else:
                break
        work[pos] = i
        count += 1
    for r in range(count):
        i = work[r]
        pos = r
        while pos > 0:
            j = work[work[count + pos - 1]]
            if value[i] * duration[j] > value[j] * duration[i]:
                work[count + pos] = work[count + pos - 1]
                pos -= 1
            else:
                break
        work[count + pos] = r
    return count


@helper
def conflicts(c, work, base, depth, groups):
    """Whether candidate ``c`` shares a group bit with a member of the pod being explored,
    ``work[work[base:base + depth]]`` (positions in the canonical order ``work``)."""
    for d in range(depth):
        other = work[work[base + d]]
        for w in range(groups.shape[1]):
            if (groups[c, w] & groups[other, w]) != 0:
                return True
    return False


@helper
def knapsack_gain(
    work, count, base, depth, start, seconds, limit, value, duration, groups, separate, excluded
):
    """An upper bound on the value that candidates from canonical position ``start`` on
    can add to the pod being explored (``depth`` members, ``seconds`` long): the
    fractional knapsack (Dantzig 1957) of those that each fit and conflict with no member,
    into the remaining duration plus a slack, by value per second."""
    cap = limit - seconds + _CAPACITY_SLACK + 1e-12 * abs(limit)
    gain = 0.0
    for r in range(count):
        pos = work[count + r]
        if pos < start:
            continue
        c = work[pos]
        if c == excluded or not (seconds + duration[c] <= limit):
            continue
        if separate and conflicts(c, work, base, depth, groups):
            continue
        d = duration[c]
        if d <= cap:
            gain += value[c]
            cap -= d
        else:
            gain += value[c] * (cap / d)
            break
    return gain


@helper
def best_pod(sel, value, duration, groups, count, limit, maxseq, separate, excluded, work):
    """The branch and bound of :func:`fill_pod` over the candidates prepared in ``work``
    (see :func:`prepare`). Writes the pod into ``sel`` and returns its size."""
    depth_cap = maxseq if maxseq < count else count
    if depth_cap <= 0:
        return 0
    # work: order[:count] | by value per second [count] | positions of the pod explored
    # [depth_cap] | positions of the best pod [depth_cap] | value and duration of its
    # first d members [depth_cap each, float64]. The prefixes are stored rather than
    # summed again on the way back: under the `reassoc` fastmath flag a summing loop may
    # be reassociated, and a pod must have one value whichever way it is reached.
    order = work
    base = 2 * count
    prefix = work.view(np.float64)
    values_at = base + 2 * depth_cap
    seconds_at = values_at + depth_cap
    m = 0
    best = 0.0
    depth = 0
    total = 0.0  # value of the pod order[work[base:base + depth]], in canonical order
    seconds = 0.0  # its duration, summed the same way
    start = 0  # first position that may extend it
    fresh = True
    while True:
        # The first candidate that can extend the pod, and the count bound on the value
        # of every pod extending it by candidates from `start` on (see fill_pod).
        nxt = -1
        bound = total
        if depth < depth_cap:
            room = depth_cap - depth
            for pos in range(start, count):
                c = order[pos]
                if c == excluded or not (seconds + duration[c] <= limit):
                    continue
                if separate and conflicts(c, work, base, depth, groups):
                    continue
                if nxt < 0:
                    nxt = pos
                bound += value[c]
                room -= 1
                if room == 0:
                    break
        grow = nxt >= 0 and bound > best
        if grow and fresh and depth + 1 < depth_cap:
            # On entering a pod that two or more members may extend, the knapsack bound
            # (at the last level the count bound is already the best extension).
            gain = knapsack_gain(
                work,
                count,
                base,
                depth,
                start,
                seconds,
                limit,
                value,
                duration,
                groups,
                separate,
                excluded,
            )
            grow = (total + gain) * _BOUND_MARGIN > best
        if grow:
            c = order[nxt]
            work[base + depth] = nxt
            prefix[values_at + depth] = total
            prefix[seconds_at + depth] = seconds
            depth += 1
            total += value[c]
            seconds += duration[c]
            if total > best:
                best = total
                m = depth
                for d in range(depth):
                    work[base + depth_cap + d] = work[base + d]
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
    for d in range(m):
        sel[d] = order[work[base + depth_cap + d]]
    return m


@kernel
def fill_pod(sel, value, duration, groups, tiekey, n, poddur, maxseq, separate, excluded, work):
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
    work : int64 array (>= pod_work_size(n, maxseq),), C-contiguous
        Scratch (see :func:`pod_work_size`); part of it is used through a float64 view.

    Returns
    -------
    int
        ``m``, the number of ads in the pod (0 when no candidate fits).

    Notes
    -----
    The pod maximises the total value subject to: total duration <= ``poddur +
    DURATION_SLACK``, at most ``maxseq`` ads, no two conflicting when ``separate``, and not
    ``excluded``. The optimum is exact.

    Candidates are taken in canonical order: ``value`` desc, then ``tiekey`` asc (then
    index asc, for equal keys). Pods are visited depth first: as increasing sequences of
    canonical positions, in lexicographic order, a pod before its extensions (``{0}``,
    ``{0, 1}``, ``{0, 1, 2}``, ``{0, 1, 3}``, ..., ``{0, 2}``, ...). The best pod is
    replaced only by a strictly more valuable one, so among equally valuable optimal pods
    the first visited wins. The result
    depends on the candidates only through their canonical order, so permuting them
    (all per-candidate arrays together) permutes ``sel`` accordingly.

    A pod's value and duration are summed in canonical order, left to right. The search
    leaves out a subtree when an upper bound on the value of every pod in it is at most
    the best value found, so no pod in it could replace the best: the cut never changes
    the result, which is that of the full enumeration. Two bounds, both valid for the
    floating-point sums:

    - count bound (at every step): the pod's value plus the values of the first
      ``maxseq - size`` later candidates that each fit the remaining duration and
      conflict with no member. An extension's ``j``-th new member comes at or after the
      ``j``-th of those (values descend) and float addition is monotone, so no extension
      sums to more.
    - knapsack bound (on entering a pod that two or more members may extend): the pod's
      value plus the fractional knapsack (Dantzig 1957) of the same later candidates, by
      value per second, into the remaining duration plus ``1e-9 + 1e-12 * (poddur +
      DURATION_SLACK)`` seconds, the whole times ``1 + 1e-12`` (margins far above the
      rounding of sums of up to thousands of terms).

    A pod of 50 candidates, ``maxseq = 4`` and standard lengths (6 to 60 s) takes a few
    microseconds. Continuous durations with values proportional to them make the
    problem a subset sum that no value bound cuts well (100 to 200 microseconds for
    ``poddur`` of 90 to 120 s). Preparing the orders is two insertion sorts, O(n^2) in
    the worst case.
    """
    limit = poddur + DURATION_SLACK
    count = prepare(work, value, duration, tiekey, n, limit)
    return best_pod(sel, value, duration, groups, count, limit, maxseq, separate, excluded, work)


@kernel
def pod_prices(
    price,
    sel,
    m,
    value,
    duration,
    groups,
    tiekey,
    floor,
    n,
    poddur,
    maxseq,
    separate,
    mechanism,
    sel2,
    work,
):
    """Write the price of each ad of a pod: ``price[j]`` for ``sel[j]``, ``j < m``.

    Parameters
    ----------
    price : float64 array (>= m,)
        Output.
    sel : int64 array (>= m,)
        The pod, as :func:`fill_pod` wrote it for the same inputs (``excluded = -1``).
    m : int
        Its size.
    value, duration, groups, tiekey, n, poddur, maxseq, separate
        As for :func:`fill_pod`.
    floor : float64 array (>= n,)
        Each candidate's floor (the caller passes candidates with ``value >= floor``).
    mechanism : int
        ``FIRST_PRICE`` (1): each ad pays its value. Any other value (``SECOND_PRICE``,
        2): the VCG payment, floored.
    sel2 : int64 array (>= min(maxseq, n),)
        Scratch: each pod without one winner.
    work : int64 array (>= pod_work_size(n, maxseq),), C-contiguous
        Scratch, as for :func:`fill_pod`.

    Notes
    -----
    VCG (the second price of a pod): for winner ``i = sel[j]``, ``without`` is the value
    of the best pod with ``i`` excluded (by :func:`fill_pod`, summed in its canonical
    order), ``others = total - value[i]`` with ``total`` the pod's value summed over
    ``sel[:m]`` in order, and ``price[j] = min(max(floor[i], without - others),
    value[i])``: what the other candidates lose by ``i`` taking part. ``without >= others``
    (the pod less ``i`` remains feasible), so the price lies in ``[floor[i], value[i]]``
    and each winner's utility ``value - price`` is at least 0 and at most ``value[i] -
    floor[i]``. Cost: ``m`` further pod searches.
    """
    if mechanism == FIRST_PRICE:
        for j in range(m):
            price[j] = value[sel[j]]
        return
    total = 0.0
    for j in range(m):
        total += value[sel[j]]
    limit = poddur + DURATION_SLACK
    count = prepare(work, value, duration, tiekey, n, limit)
    for j in range(m):
        i = sel[j]
        m2 = best_pod(sel2, value, duration, groups, count, limit, maxseq, separate, i, work)
        without = 0.0
        for t in range(m2):
            without += value[sel2[t]]
        p = without - (total - value[i])
        if p < floor[i]:
            p = floor[i]
        if p > value[i]:
            p = value[i]
        price[j] = p
