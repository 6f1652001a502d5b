"""Ad pods: the upper bounds that cut the pod search (:mod:`adcore._kernels.pod`).

Both bounds hold for the floating-point sums the search computes, and both look at no
more than :data:`NODE_SCAN` candidates, so a search node costs the same however many
candidates there are: where a scan stops early, every candidate past it is counted at
the value (or the value per second) of the first one not examined.
"""

import numpy as np

from ._jit import helper
from .pod_order import density

NODE_SCAN = 64
"""The most candidates one search node examines for each of its bounds."""

# Margins that keep the fractional-knapsack bound above every pod's float-computed value:
# float sums of a few durations and values are off by a few ulps (relative 1e-15).
_CAPACITY_SLACK = 1e-9  # seconds, plus 1e-12 of the cap
BOUND_MARGIN = 1.0 + 1e-12
"""The factor on a knapsack bound (with the slack of seconds) that covers rounding."""

__all__ = [
    "BOUND_MARGIN",
    "NODE_SCAN",
    "count_bound",
    "hits",
    "knapsack_gain",
    "subtree_bound",
]


@helper
def hits(masks, at, groups, c):
    """Whether candidate ``c`` shares a bit with the bitset ``masks[at:at + W]``."""
    for w in range(groups.shape[1]):
        if (masks[at + w] & groups[c, w]) != np.uint64(0):
            return True
    return False


@helper
def count_bound(
    work, count, depth, depth_cap, start, total, seconds, limit, value, duration, groups,
    separate, excluded, floats, masks, mask_at, counted_at,
):  # fmt: skip
    """Scan at most ``NODE_SCAN`` candidates from canonical position ``start`` on for the
    pod being explored (``depth`` members whose bitsets' union is ``masks[mask_at:]``,
    ``seconds`` long, worth ``total``). Return ``(nxt, bound, resume)``: the first
    position that can extend the pod (-1 if none was seen); the count bound on every pod
    extending it from ``start`` on; the first position not examined (``count`` when the
    scan reached the end).

    The bound: ``total`` plus the values of the first ``room`` candidates that each fit
    the remaining duration, conflict with no member and (with ``separate``) have a class
    not taken by an earlier one of them; where the scan ends early, the rest counted at
    the value of the first candidate not examined. ``room`` is ``depth_cap - depth``, or
    fewer when even that many of the shortest candidate from ``start`` on
    (``floats[3 * count + start]``) would not fit the remaining duration."""
    nxt = -1
    bound = total
    if depth >= depth_cap or start >= count:
        return nxt, bound, count
    room = depth_cap - depth
    shortest = floats[3 * count + start]
    cap = limit - seconds + _CAPACITY_SLACK + 1e-12 * abs(limit)
    if shortest * room > cap:  # fewer than `room` of the shortest fit
        room = int(cap / shortest)
        if room <= 0:
            return nxt, bound, count
    classes = 2 * count
    used = 0
    pos = start
    end = start + NODE_SCAN
    if end > count:
        end = count
    while pos < end:
        c = work[pos]
        pos += 1
        if c == excluded or not (seconds + duration[c] <= limit):
            continue
        if separate:
            if hits(masks, mask_at, groups, c):
                continue
            k = work[classes + pos - 1]
            if k >= 0:
                seen = False
                for u in range(used):
                    if work[counted_at + u] == k:
                        seen = True
                        break
                if seen:
                    continue
                work[counted_at + used] = k
                used += 1
        if nxt < 0:
            nxt = pos - 1
        bound += value[c]
        room -= 1
        if room == 0:
            return nxt, bound, pos
    if pos < count:
        # Later candidates are worth at most the next one (canonical order).
        v = value[work[pos]]
        for _ in range(room):
            bound += v
    return nxt, bound, pos


@helper
def knapsack_gain(
    work, count, start, seconds, limit, value, duration, groups, separate, excluded, masks,
    mask_at,
):  # fmt: skip
    """An upper bound on the value that candidates from canonical position ``start`` on
    can add to the pod being explored (``seconds`` long, its bitsets' union at
    ``masks[mask_at:]``): the fractional knapsack (Dantzig 1957) of those that each fit
    and conflict with no member, into the remaining duration plus a slack, by value per
    second. It examines at most ``NODE_SCAN`` entries of that order; past them, the
    remaining room is counted at the value per second of the next entry."""
    cap = limit - seconds + _CAPACITY_SLACK + 1e-12 * abs(limit)
    gain = 0.0
    for r in range(count):
        if r == NODE_SCAN:
            c = work[work[count + r]]
            gain += density(value[c], duration[c]) * cap
            break
        pos = work[count + r]
        if pos < start:
            continue
        c = work[pos]
        if c == excluded or not (seconds + duration[c] <= limit):
            continue
        if separate and hits(masks, mask_at, groups, c):
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
def subtree_bound(
    work, count, depth, depth_cap, start, total, seconds, limit, value, duration, groups,
    separate, excluded, masks, mask_at, counted_at,
):  # fmt: skip
    """An upper bound on the value of every pod that extends the first ``depth`` members
    of the pod being explored by candidates from ``start`` on (that pod included): the
    smaller of the count and knapsack bounds."""
    nxt, bound, resume = count_bound(
        work, count, depth, depth_cap, start, total, seconds, limit, value, duration,
        groups, separate, excluded, work.view(np.float64), masks, mask_at, counted_at,
    )  # fmt: skip
    if nxt < 0 and resume >= count:
        return total
    gain = knapsack_gain(
        work, count, start, seconds, limit, value, duration, groups, separate, excluded,
        masks, mask_at,
    )  # fmt: skip
    knap = (total + gain) * BOUND_MARGIN
    return knap if knap < bound else bound
