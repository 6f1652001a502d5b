"""Change detection on a stream of numbers: the Page-Hinkley test and ADWIN.

**Page-Hinkley** (Page 1954), as surveyed by Gama et al. (2014): with the running mean
``mean_t`` of the values seen, an upward change is signalled when the cumulative sum
``m_t = sum_{i <= t} (x_i - mean_i - delta)`` has risen more than ``threshold`` above its
lowest value so far; a downward change, symmetrically, with ``sum (mean_i - x_i - delta)``.
``delta`` is the size of change tolerated, ``threshold`` trades detection delay against
false alarms. After a signal (and before ``min_samples`` values) nothing is signalled,
and a signal resets the test. State, a float64 array of 6: count, mean, the two sums
and their minima.

**ADWIN** (Bifet and Gavaldà 2007, the ADWIN2 variant with an exponential histogram):
keeps a window of the most recent values, summarised by buckets of ``2**level`` values
(at most ``max_buckets`` per level, merged two by two as they fill up), and drops the
oldest part of the window whenever some split into an older part ``W0`` and a newer
part ``W1`` (at bucket boundaries) has means differing by more than

``eps = sqrt(2 / m * var * ln(2 / d)) + 2 / (3 m) * ln(2 / d)``,

``m = 1 / (1 / n0 + 1 / n1)``, ``var`` the window's variance and ``d = delta / ln(n)``
for a window of ``n`` values: with probability at least ``1 - delta`` no drop happens
while the stream's mean is constant. Splits are checked every ``clock`` values and only
with at least ``min_side`` values on each side. The window's size and mean are the
estimate of the current mean.

References
----------
E. S. Page, "Continuous inspection schemes", Biometrika 41(1/2), 1954.
J. Gama, I. Žliobaitė, A. Bifet, M. Pechenizkiy, A. Bouchachia, "A survey on concept drift
adaptation", ACM Computing Surveys 46(4), 2014.
A. Bifet, R. Gavaldà, "Learning from time-changing data with adaptive windowing", SIAM
International Conference on Data Mining, 2007.
"""

import math

from ._jit import kernel

__all__ = [
    "ADWIN_BUCKET",
    "ADWIN_LEVELS",
    "adwin_update",
    "page_hinkley_update",
]

# Page-Hinkley state entries.
_PH_N = 0
_PH_MEAN = 1
_PH_UP = 2
_PH_UP_MIN = 3
_PH_DOWN = 4
_PH_DOWN_MIN = 5

ADWIN_LEVELS = 48
"""Levels of the exponential histogram: windows of up to about 2**48 values."""

ADWIN_BUCKET = 3
"""Columns of an ADWIN bucket: count, total, variance (sum of squared deviations)."""


@kernel
def page_hinkley_update(state, x, delta, threshold, min_samples, direction):
    """Add ``x`` to the Page-Hinkley test in ``state`` (see the module docstring).

    ``direction``: 1 upward changes only, -1 downward only, 0 both. Returns 1 for an
    upward change, -1 for a downward one (the state is then reset), else 0.
    """
    n = state[_PH_N] + 1.0
    mean = state[_PH_MEAN] + (x - state[_PH_MEAN]) / n
    state[_PH_N] = n
    state[_PH_MEAN] = mean
    up = state[_PH_UP] + x - mean - delta
    down = state[_PH_DOWN] + mean - x - delta
    state[_PH_UP] = up
    state[_PH_DOWN] = down
    if up < state[_PH_UP_MIN]:
        state[_PH_UP_MIN] = up
    if down < state[_PH_DOWN_MIN]:
        state[_PH_DOWN_MIN] = down
    if n < min_samples:
        return 0
    signal = 0
    if direction >= 0 and up - state[_PH_UP_MIN] > threshold:
        signal = 1
    elif direction <= 0 and down - state[_PH_DOWN_MIN] > threshold:
        signal = -1
    if signal != 0:
        for i in range(6):
            state[i] = 0.0
    return signal


@kernel
def adwin_update(buckets, counts, totals, x, delta, max_buckets, clock, min_side):
    """Add ``x`` to the ADWIN window and drop its outdated part (module docstring).

    Parameters
    ----------
    buckets : float64 array (ADWIN_LEVELS, max_buckets + 1, ADWIN_BUCKET)
        Per level, its buckets oldest first: count, total, variance.
    counts : int64 array (ADWIN_LEVELS,)
        Buckets in use per level.
    totals : float64 array (4,)
        The window's count, total and variance, and the values added so far.
    x : float
        The new value.
    delta : float
        Confidence, in (0, 1).
    max_buckets : int
        Buckets per level before two merge (at least 2).
    clock : int
        Check for a change every ``clock`` values.
    min_side : int
        The fewest values on each side of a split.

    Returns
    -------
    int
        1 when part of the window was dropped (a change), else 0.
    """
    # Insert a bucket of one value at level 0.
    n_total = totals[0]
    if n_total > 0.0:
        mean = totals[1] / n_total
        totals[2] += n_total / (n_total + 1.0) * (x - mean) * (x - mean)
    totals[0] = n_total + 1.0
    totals[1] += x
    totals[3] += 1.0
    c = counts[0]
    buckets[0, c, 0] = 1.0
    buckets[0, c, 1] = x
    buckets[0, c, 2] = 0.0
    counts[0] = c + 1
    # Merge the two oldest buckets of any full level into one of the next level.
    for level in range(ADWIN_LEVELS - 1):
        if counts[level] <= max_buckets:
            break
        n1, t1, v1 = buckets[level, 0, 0], buckets[level, 0, 1], buckets[level, 0, 2]
        n2, t2, v2 = buckets[level, 1, 0], buckets[level, 1, 1], buckets[level, 1, 2]
        diff = t1 / n1 - t2 / n2
        merged_v = v1 + v2 + n1 * n2 / (n1 + n2) * diff * diff
        for b in range(2, counts[level]):
            for k in range(ADWIN_BUCKET):
                buckets[level, b - 2, k] = buckets[level, b, k]
        counts[level] -= 2
        nxt = level + 1
        cn = counts[nxt]
        buckets[nxt, cn, 0] = n1 + n2
        buckets[nxt, cn, 1] = t1 + t2
        buckets[nxt, cn, 2] = merged_v
        counts[nxt] = cn + 1
    if int(totals[3]) % clock != 0:
        return 0
    changed = 0
    dropped = True
    while dropped and totals[0] > 2.0 * min_side:
        dropped = False
        n = totals[0]
        total = totals[1]
        var = totals[2] / n
        d = delta / math.log(n)
        ln = math.log(2.0 / d)
        # Splits from the oldest bucket on: W0 is everything up to the bucket.
        n0 = 0.0
        t0 = 0.0
        top = ADWIN_LEVELS - 1
        while top > 0 and counts[top] == 0:
            top -= 1
        level = top
        done = False
        while level >= 0 and not done:
            for b in range(counts[level]):
                n0 += buckets[level, b, 0]
                t0 += buckets[level, b, 1]
                n1 = n - n0
                if n1 < min_side:  # every later split has a smaller W1
                    done = True
                    break
                if n0 < min_side:
                    continue
                m = 1.0 / (1.0 / n0 + 1.0 / n1)
                eps = math.sqrt(2.0 / m * var * ln) + 2.0 / (3.0 * m) * ln
                if abs(t0 / n0 - (total - t0) / n1) > eps:
                    dropped = True
                    done = True
                    break
            level -= 1
        if dropped:  # drop the oldest bucket and look again
            changed = 1
            lvl = top
            while lvl > 0 and counts[lvl] == 0:
                lvl -= 1
            nb, tb, vb = buckets[lvl, 0, 0], buckets[lvl, 0, 1], buckets[lvl, 0, 2]
            for b in range(1, counts[lvl]):
                for k in range(ADWIN_BUCKET):
                    buckets[lvl, b - 1, k] = buckets[lvl, b, k]
            counts[lvl] -= 1
            rest = totals[0] - nb
            if rest > 0.0:
                mean_b = tb / nb
                mean_rest = (totals[1] - tb) / rest
                diff = mean_b - mean_rest
                totals[2] -= vb + nb * rest / (nb + rest) * diff * diff
                if totals[2] < 0.0:
                    totals[2] = 0.0
            else:
                totals[2] = 0.0
            totals[0] = rest
            totals[1] -= tb
    return changed
