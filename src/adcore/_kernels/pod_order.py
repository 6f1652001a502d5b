"""Ad pods: the orders and classes the pod search walks (:mod:`adcore._kernels.pod`).

The candidates are sorted twice, in O(count log count) whatever the input: in canonical
order (value desc, tie key asc, index asc), the order in which pods are visited; and
their canonical positions by value per second, the order of the fractional-knapsack
bound and of one greedy pod. Each candidate also gets a separation class: one bit of
its bitsets, shared by every candidate of the class, so that two candidates of one
class always conflict (the count bound takes at most one per class).
"""

import numpy as np

from ._jit import helper

# Orders of the sorts: candidates in canonical order; canonical positions by value per
# second. Runs of _RUN are insertion-sorted before merging.
CANONICAL = 0
DENSITY = 1
_RUN = 16
# Values per second above 1e300 count as infinite (so no quotient overflows).
_DENSEST = 1e-300

__all__ = ["CANONICAL", "DENSITY", "density", "position_of", "prepare"]


@helper
def precedes(a, b, mode, value, tiekey, keys, keys_at):
    """Whether ``a`` comes before ``b``. ``CANONICAL``: candidates, by ``value`` desc,
    ``tiekey`` asc, index asc. ``DENSITY``: canonical positions, by
    ``keys[keys_at + position]`` (value per second) desc, position asc."""
    if mode == CANONICAL:
        if value[a] != value[b]:
            return value[a] > value[b]
        if tiekey[a] != tiekey[b]:
            return tiekey[a] < tiekey[b]
        return a < b
    ka = keys[keys_at + a]
    kb = keys[keys_at + b]
    if ka != kb:
        return ka > kb
    return a < b


@helper
def merge_sort(work, lo, tmp, size, mode, value, tiekey, keys, keys_at):
    """Sort ``work[lo:lo + size]`` by ``mode`` (see :func:`precedes`) using
    ``work[tmp:tmp + size]`` as a buffer: insertion-sorted runs of ``_RUN``, then
    bottom-up merges, O(size log size) comparisons whatever the input."""
    for s in range(0, size, _RUN):
        e = s + _RUN if s + _RUN < size else size
        for i in range(s + 1, e):
            x = work[lo + i]
            j = i
            while j > s and precedes(x, work[lo + j - 1], mode, value, tiekey, keys, keys_at):
                work[lo + j] = work[lo + j - 1]
                j -= 1
            work[lo + j] = x
    src = lo
    dst = tmp
    width = _RUN
    while width < size:
        for s in range(0, size, 2 * width):
            mid = s + width if s + width < size else size
            e = s + 2 * width if s + 2 * width < size else size
            i = s
            j = mid
            k = s
            while i < mid and j < e:
                if precedes(work[src + j], work[src + i], mode, value, tiekey, keys, keys_at):
                    work[dst + k] = work[src + j]
                    j += 1
                else:
                    work[dst + k] = work[src + i]
                    i += 1
                k += 1
            while i < mid:
                work[dst + k] = work[src + i]
                i += 1
                k += 1
            while j < e:
                work[dst + k] = work[src + j]
                j += 1
                k += 1
        src, dst = dst, src
        width *= 2
    if src != lo:
        for i in range(size):
            work[lo + i] = work[src + i]


@helper
def density(v, d):
    """Value per second, ``v / d``; infinite when ``d`` is 0 or so small that the
    quotient would pass 1e300 (no float overflow)."""
    return v / d if d > v * _DENSEST else np.inf


@helper
def bit_index(low):
    """The index of the one bit set in the uint64 ``low``."""
    b = 0
    if (low & np.uint64(0xFFFFFFFF)) == np.uint64(0):
        b += 32
        low = low >> np.uint64(32)
    if (low & np.uint64(0xFFFF)) == np.uint64(0):
        b += 16
        low = low >> np.uint64(16)
    if (low & np.uint64(0xFF)) == np.uint64(0):
        b += 8
        low = low >> np.uint64(8)
    if (low & np.uint64(0xF)) == np.uint64(0):
        b += 4
        low = low >> np.uint64(4)
    if (low & np.uint64(0x3)) == np.uint64(0):
        b += 2
        low = low >> np.uint64(2)
    if (low & np.uint64(0x1)) == np.uint64(0):
        b += 1
    return b


@helper
def prepare(work, value, duration, groups, tiekey, n, limit, separate):
    """Sort and annotate the candidates whose own duration is at most ``limit``; return
    their number, ``count``.

    ``work[:count]``: the candidates in canonical order (``value`` desc, ``tiekey`` asc,
    index asc). ``work[count:2 * count]``: their positions in that order by value per
    second (``value / duration``, infinite for a zero duration) desc, then position asc.
    ``work[2 * count:3 * count]``: the separation class of each position (-1 without
    ``separate`` or without a bit set): of the bits set in the candidate's bitsets, the
    one set for the most candidates (the lowest of those). Candidates of one class share
    that bit, so they conflict. ``work[3 * count:4 * count]`` (float64): the least
    duration from each position on. ``work[4 * n:4 * n + 64 * W]`` counts the
    candidates with each bit while the classes are chosen. Merge sorts, O(count log
    count); classes, O(count * W)."""
    count = 0
    for i in range(n):
        if duration[i] <= limit:
            work[count] = i
            count += 1
    keys = work.view(np.float64)
    merge_sort(work, 0, count, count, CANONICAL, value, tiekey, keys, 0)
    for r in range(count):
        c = work[r]
        work[count + r] = r
        keys[3 * count + r] = density(value[c], duration[c])
    merge_sort(work, count, 2 * count, count, DENSITY, value, tiekey, keys, 3 * count)
    shortest = np.inf
    for r in range(count - 1, -1, -1):
        d = duration[work[r]]
        if d < shortest:
            shortest = d
        keys[3 * count + r] = shortest
    width = groups.shape[1]
    tally = 4 * n
    if separate:
        for b in range(64 * width):
            work[tally + b] = 0
        for r in range(count):
            c = work[r]
            for w in range(width):
                x = groups[c, w]
                while x != np.uint64(0):
                    low = x & (~x + np.uint64(1))
                    work[tally + 64 * w + bit_index(low)] += 1
                    x = x ^ low
    for r in range(count):
        k = -1
        if separate:
            c = work[r]
            most = 0
            for w in range(width):
                x = groups[c, w]
                while x != np.uint64(0):
                    low = x & (~x + np.uint64(1))
                    b = 64 * w + bit_index(low)
                    if work[tally + b] > most:
                        most = work[tally + b]
                        k = b
                    x = x ^ low
        work[2 * count + r] = k
    return count


@helper
def position_of(work, count, c, value, tiekey):
    """Candidate ``c``'s position in the canonical order ``work[:count]`` (a binary
    search; ``c`` must be there)."""
    lo = 0
    hi = count
    while lo < hi:
        mid = (lo + hi) // 2
        if precedes(work[mid], c, CANONICAL, value, tiekey, value, 0):
            lo = mid + 1
        else:
            hi = mid
    return lo
