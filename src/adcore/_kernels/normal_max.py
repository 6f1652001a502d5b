"""The probability that each of ``k`` independent normal variables is the largest.

Linear Thompson sampling with disjoint arms (:mod:`adcore._kernels.bandits`) samples one
score per candidate, independent normals ``N(m_a, s_a^2)``, and shows the candidate
with the largest. The probability of showing ``a`` is

    ``P(a) = integral f_a(t) prod_{b != a} F_b(t) dt``

with ``f_b`` and ``F_b`` the density and distribution function of ``N(m_b, s_b^2)``: a
one-dimensional integral, computed here by adaptive Gauss-Kronrod quadrature
(:func:`max_normal_probabilities`).

The integral runs over a window outside which every integrand is negligible: from
``max_b (m_b - TAIL s_b)`` (below it some ``F_b`` is at most ``Phi(-TAIL)``, about
1e-19, so all ``k`` integrands together hold at most that) to ``max_b (m_b + TAIL s_b)``
(above it ``f_a`` holds at most ``Phi(-TAIL)`` of its mass). The window is cut at
``m_b + c s_b`` for every ``b`` and every ``c`` in :data:`OFFSETS`, so that every
density and every step of a distribution function, however narrow, falls on panels
scaled to it; cuts closer than ``MERGE`` times the smallest scale are merged. Each panel
is integrated by the 15-point Kronrod rule and the 7-point Gauss rule embedded in it,
for all ``k`` integrands at once (one evaluation of every ``f_b`` and ``F_b`` per
node); a panel whose Kronrod and Gauss sums differ by more than its share of
:data:`TOLERANCE` (by width) is halved, up to :data:`MAX_DEPTH` times and within a
budget of panels. Node positions are taken relative to their panel's lower edge and
each ``F_b`` is evaluated at ``(edge - m_b) + offset``, so the result does not depend on
where the means lie (no loss of precision when all of them are large and the scales
small; see ``_panel``).

Scales at most ``SCALE_FLOOR * |m|`` (or below ``SCALE_MIN``) count as 0: such a variable
is a point mass at its mean (:func:`effective_scale`; callers sampling the variables
apply the same rule). Among point masses the largest mean, at the lowest position among
equal means, is the only one that can win; it wins when every continuous variable falls
below it.

References
----------
R. Piessens, E. de Doncker-Kapenga, C. W. Ueberhuber, D. K. Kahaner, *QUADPACK: a
subroutine package for automatic integration*, Springer, 1983 (the Gauss-Kronrod 7-15
pair and adaptive bisection).
A. S. Kronrod, *Nodes and weights of quadrature formulas*, Consultants Bureau, 1965.
"""

import math

import numpy as np

from ._jit import helper, kernel

TAIL = 9.0
"""Half-width of the integration window, in standard deviations."""

OFFSETS = np.array([-9.0, -6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 9.0])
"""Where the window is cut, in standard deviations from each mean."""

MERGE = 1.0
"""Cuts closer than this many of the smallest standard deviation are merged."""

TOLERANCE = 1e-11
"""Target absolute error, summed over all probabilities (a panel's share is by width)."""

MAX_DEPTH = 40
"""The most times a panel is halved."""

BASE_BUDGET = 256
"""Panels evaluated beyond four per initial panel before every further panel is
accepted as it is."""

SCALE_FLOOR = 1e-10
"""A standard deviation at most this fraction of its mean's magnitude counts as 0."""

SCALE_MIN = 1e-200
"""A standard deviation below this counts as 0 (its density would overflow)."""

# Gauss-Kronrod 7-15 on [-1, 1] (QUADPACK's qk15): the nonnegative Kronrod nodes, their
# weights, and the Gauss weights of the nodes xgk[1], xgk[3], xgk[5], xgk[7].
_XGK = np.array(
    [
        0.991455371120812639206854697526329,
        0.949107912342758524526189684047851,
        0.864864423359769072789712788640926,
        0.741531185599394439863864773280788,
        0.586087235467691130294144845693013,
        0.405845151377397166906606412076961,
        0.207784955007898467600689403773245,
        0.000000000000000000000000000000000,
    ]
)
_WGK = np.array(
    [
        0.022935322010529224963732008058970,
        0.063092092629978553290700663189204,
        0.104790010322250183839876322541518,
        0.140653259715525918745189590510238,
        0.169004726639267902826583426598550,
        0.190350578064785409913256402421014,
        0.204432940075298892414161999234649,
        0.209482141084727828012999174891714,
    ]
)
_WG = np.array(
    [
        0.129484966168869693270611432679082,
        0.279705391489276667901467771423780,
        0.381830050505118944950369775488975,
        0.417959183673469387755102040816327,
    ]
)

# The same rule on [0, 1], all 15 nodes ascending: positions, Kronrod weights, Gauss
# weights (0 at the nodes that are Kronrod's only).
NODES = np.concatenate(((1.0 - _XGK) / 2.0, ((1.0 + _XGK[-2::-1]) / 2.0)))
KRONROD = np.concatenate((_WGK, _WGK[-2::-1])) / 2.0
_G8 = np.zeros(8)
_G8[1::2] = _WG
GAUSS = np.concatenate((_G8, _G8[-2::-1])) / 2.0

_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327

__all__ = [
    "BASE_BUDGET",
    "GAUSS",
    "KRONROD",
    "MAX_DEPTH",
    "MERGE",
    "NODES",
    "OFFSETS",
    "SCALE_FLOOR",
    "SCALE_MIN",
    "TAIL",
    "TOLERANCE",
    "effective_scale",
    "max_normal_probabilities",
    "max_normal_work_size",
]


def max_normal_work_size(k: int) -> int:
    """Minimum length of the ``work`` scratch of :func:`max_normal_probabilities` for
    ``k`` variables.

    ``(7 + len(OFFSETS)) * k + 3 * (MAX_DEPTH + 2)``: per variable its effective
    scale, the offset of the current panel's edge from its mean, its density and
    distribution function at a node, the product of the distribution functions before
    it, its Kronrod and Gauss sums over the current panel; then the cuts of the window
    (at most ``len(OFFSETS)`` per variable); then a stack of panels
    (lower edge, upper edge, depth).
    """
    return (7 + OFFSETS.shape[0]) * k + 3 * (MAX_DEPTH + 2)


@helper
def effective_scale(mean, sd):
    """``sd``, or 0.0 when it is too small to tell from a point mass in float64:
    ``sd <= SCALE_FLOOR * |mean|`` or ``sd < SCALE_MIN``."""
    if sd <= SCALE_FLOOR * abs(mean) or sd < SCALE_MIN:
        return 0.0
    return sd


@helper
def _panel(start, end, mean, scale, k, offset, pdf, cdf, pre, kron, gauss):
    """Kronrod and Gauss sums of every integrand over ``[start, end]`` into ``kron[:k]``
    and ``gauss[:k]``; returns the sum of their absolute differences.

    A node is ``start + width * NODES[j]``, and ``F_b`` is evaluated there as
    ``((start - m_b) + width * NODES[j]) / s_b``: ``start - m_b`` is exact where it
    matters (``start`` within a few ``s_b`` of ``m_b``, Sterbenz's lemma), and so is
    ``width = end - start`` for a panel narrow against its position, so adjacent panels
    tile the window exactly. A variable whose mean lies ``TAIL`` standard deviations or
    more below the panel counts as passed (``F_b = 1``, ``f_b = 0``; off by at most
    ``Phi(-TAIL)``)."""
    width = end - start
    for b in range(k):
        offset[b] = start - mean[b]
        kron[b] = 0.0
        gauss[b] = 0.0
    for j in range(NODES.shape[0]):
        step = width * NODES[j]
        for b in range(k):
            s = scale[b]
            if s > 0.0 and offset[b] < TAIL * s:
                z = (offset[b] + step) / s
                cdf[b] = 0.5 * math.erfc(-z * _SQRT_HALF)
                pdf[b] = _INV_SQRT_2PI * math.exp(-0.5 * z * z) / s
            else:  # a point mass (below the window), or TAIL sds below the panel
                cdf[b] = 1.0
                pdf[b] = 0.0
        product = 1.0
        for b in range(k):
            pre[b] = product
            product *= cdf[b]
        after = 1.0  # product of the distribution functions after b
        for b in range(k - 1, -1, -1):
            value = pdf[b] * pre[b] * after
            kron[b] += KRONROD[j] * value
            gauss[b] += GAUSS[j] * value
            after *= cdf[b]
    err = 0.0
    for b in range(k):
        kron[b] *= width
        gauss[b] *= width
        err += abs(kron[b] - gauss[b])
    return err


@kernel
def max_normal_probabilities(mean, sd, k, out, work):
    """The probability that each of ``k`` independent normals is the largest.

    Parameters
    ----------
    mean : float64 array (>= k,)
        The means ``m_a`` (finite).
    sd : float64 array (>= k,)
        The standard deviations ``s_a`` (finite, >= 0); see :func:`effective_scale` for
        those that count as 0.
    k : int
        Number of variables (>= 1).
    out : float64 array (>= k,)
        Output: ``out[a]`` the probability that variable ``a`` is the largest; ties
        between point masses go to the lowest position (continuous variables tie with
        probability 0).
    work : float64 array (>= max_normal_work_size(k),)
        Scratch.

    Returns
    -------
    float
        The quadrature's error estimate: the sum over accepted panels of the absolute
        differences between the Kronrod and Gauss sums (a bound in practice, the
        Kronrod sums being far more accurate than the Gauss sums), plus the mass the
        window leaves out (at most ``(k + 1) * Phi(-TAIL)``).

    Notes
    -----
    The probabilities sum to 1 up to the quadrature error. Work is bounded: at most
    ``len(OFFSETS) * k + 1`` initial panels, at most ``BASE_BUDGET + 4 *`` (initial
    panels) evaluations before every further panel is accepted as it is (the stack of
    one panel's halves holds at most ``MAX_DEPTH + 1``), each of ``15 * k`` evaluations
    of ``exp`` and ``erfc``.
    """
    n_cuts = OFFSETS.shape[0] * k
    scale = work[0:k]
    offset = work[k : 2 * k]
    pdf = work[2 * k : 3 * k]
    cdf = work[3 * k : 4 * k]
    pre = work[4 * k : 5 * k]
    kron = work[5 * k : 6 * k]
    gauss = work[6 * k : 6 * k + k]
    cuts = work[7 * k : 7 * k + n_cuts]
    stack = work[7 * k + n_cuts : 7 * k + n_cuts + 3 * (MAX_DEPTH + 2)]

    for a in range(k):
        out[a] = 0.0
    winner = -1  # the point mass that can win
    top = -math.inf
    smallest = math.inf
    continuous = 0
    for a in range(k):
        s = effective_scale(mean[a], sd[a])
        scale[a] = s
        if s > 0.0:
            continuous += 1
            smallest = min(smallest, s)
        elif winner < 0 or mean[a] > top:
            winner = a
            top = mean[a]
    if continuous == 0:
        out[winner] = 1.0
        return 0.0

    lo = -math.inf
    hi = -math.inf
    for a in range(k):
        if scale[a] > 0.0:
            lo = max(lo, mean[a] - TAIL * scale[a])
            hi = max(hi, mean[a] + TAIL * scale[a])
    left_out = (continuous + 1) * 0.5 * math.erfc(TAIL * _SQRT_HALF)
    if winner >= 0:
        mass = 1.0
        for a in range(k):
            if scale[a] > 0.0:
                mass *= 0.5 * math.erfc(-((top - mean[a]) / scale[a]) * _SQRT_HALF)
        out[winner] = mass
        lo = max(lo, top)
    if not lo < hi:
        return left_out

    n = 0
    for a in range(k):
        if scale[a] > 0.0:
            for c in range(OFFSETS.shape[0]):
                t = mean[a] + OFFSETS[c] * scale[a]
                if lo < t < hi:
                    cuts[n] = t
                    n += 1
    cuts[:n].sort()
    gap = MERGE * smallest
    kept = 0
    last = lo
    for i in range(n):
        if cuts[i] - last >= gap and hi - cuts[i] >= gap:
            cuts[kept] = cuts[i]
            kept += 1
            last = cuts[i]
    # cuts[:kept] ascending, strictly inside (lo, hi); the panels run lo, cuts..., hi.
    total = hi - lo
    budget = BASE_BUDGET + 4 * (kept + 1)
    evaluated = 0
    err_total = 0.0
    for p in range(kept + 1):
        stack[0] = lo if p == 0 else cuts[p - 1]
        stack[1] = hi if p == kept else cuts[p]
        stack[2] = 0.0
        size = 1
        while size > 0:
            size -= 1
            start = stack[3 * size]
            end = stack[3 * size + 1]
            depth = stack[3 * size + 2]
            err = _panel(start, end, mean, scale, k, offset, pdf, cdf, pre, kron, gauss)
            evaluated += 1
            mass = 0.0
            for a in range(k):
                mass += kron[a]
            mid = start + 0.5 * (end - start)
            if (
                err <= TOLERANCE * ((end - start) / total)
                or err <= 64.0 * 2.220446049250313e-16 * mass
                or depth >= MAX_DEPTH
                or evaluated >= budget
                or not start < mid < end
            ):
                for a in range(k):
                    out[a] += kron[a]
                err_total += err
            else:
                stack[3 * size] = mid  # the upper half, taken second
                stack[3 * size + 1] = end
                stack[3 * size + 2] = depth + 1.0
                stack[3 * size + 3] = start
                stack[3 * size + 4] = mid
                stack[3 * size + 5] = depth + 1.0
                size += 2
    return err_total + left_out
