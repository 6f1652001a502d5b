"""Naive references for the contextual-bandit kernels in ``adcore._kernels.bandits`` and
``adcore._kernels.normal_max``.

Written from the kernels' docstrings, not their code. The design matrix ``A`` is kept
as it is defined (``ridge * I + sum x x^T``) and inverted with :func:`numpy.linalg.inv`
where the kernels keep ``A^-1`` by Sherman-Morrison updates; choices are ``argmax``
over Python lists. The probability that each of several independent normals is the
largest is integrated by a fixed composite Gauss-Legendre rule on uniform panels no
wider than half the smallest standard deviation (:func:`numpy.polynomial.legendre.leggauss`,
10 nodes a panel) over a window 12 standard deviations wide on either side, where the
kernel uses adaptive Gauss-Kronrod panels cut at each variable's own scale. (SciPy,
whose ``integrate.quad`` would be a third opinion, is not a dependency.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

SCALE_FLOOR = 1e-10
SCALE_MIN = 1e-200


def design(
    n_arms: int,
    d: int,
    ridge: float,
    arms: Sequence[int],
    xs: NDArray[np.float64],
    rewards: Sequence[float],
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]], list[int]]:
    """Each arm's ``A``, ``b`` and count after the observations ``(arms[i], xs[i], rewards[i])``."""
    big_a = [ridge * np.eye(d) for _ in range(n_arms)]
    b = [np.zeros(d) for _ in range(n_arms)]
    counts = [0] * n_arms
    for arm, x, r in zip(arms, xs, rewards, strict=True):
        big_a[arm] = big_a[arm] + np.outer(x, x)
        b[arm] = b[arm] + r * np.asarray(x)
        counts[arm] += 1
    return big_a, b, counts


def mean_and_variance(
    big_a: NDArray[np.float64], b: NDArray[np.float64], x: NDArray[np.float64]
) -> tuple[float, float]:
    """``(theta . x, x^T A^-1 x)`` with ``theta = A^-1 b``, by an explicit inverse."""
    inv = np.linalg.inv(big_a)
    theta = inv @ b
    return float(theta @ x), max(float(x @ inv @ x), 0.0)


def first_argmax(values: Sequence[float]) -> int:
    """The position of the largest value, the first among equal ones."""
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i
    return best


def linucb_scores(means: Sequence[float], variances: Sequence[float], alpha: float) -> list[float]:
    return [m + alpha * math.sqrt(v) for m, v in zip(means, variances, strict=True)]


def epsilon_greedy_probabilities(means: Sequence[float], epsilon: float) -> list[float]:
    """``epsilon / k`` each, plus ``1 - epsilon`` on the first largest estimate."""
    k = len(means)
    probs = [epsilon / k] * k
    probs[first_argmax(means)] += 1.0 - epsilon
    return probs


def epsilon_greedy_choice(
    means: Sequence[float], epsilon: float, u_explore: float, u_arm: float
) -> int:
    k = len(means)
    if u_explore < epsilon:
        return min(int(u_arm * k), k - 1)
    return first_argmax(means)


def effective_scale(mean: float, sd: float) -> float:
    """0 for a scale at most ``SCALE_FLOOR * |mean|`` or below ``SCALE_MIN``."""
    return 0.0 if sd <= SCALE_FLOOR * abs(mean) or sd < SCALE_MIN else sd


def thompson_choice(
    means: Sequence[float], scales: Sequence[float], normals: Sequence[float]
) -> int:
    return first_argmax(
        [m + s * z if s > 0 else m for m, s, z in zip(means, scales, normals, strict=True)]
    )


def _cdf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    erfc = np.frompyfunc(math.erfc, 1, 1)
    return np.asarray(erfc(-z / math.sqrt(2.0)), dtype=np.float64) / 2.0


def max_normal_probabilities(
    means: Sequence[float], sds: Sequence[float], order: int = 10
) -> list[float]:
    """P(variable ``a`` is the largest) for independent ``N(means[a], sds[a]^2)``.

    Scales are first passed through :func:`effective_scale`; point masses: only the
    first of the largest can win, when every continuous variable falls below it; the
    continuous ones integrate from there up.
    """
    m = np.asarray(means, dtype=np.float64)
    s = np.array([effective_scale(mu, sd) for mu, sd in zip(means, sds, strict=True)])
    k = m.shape[0]
    cont = s > 0
    out = [0.0] * k
    point = None
    if (~cont).any():
        top = max(m[~cont])
        point = next(a for a in range(k) if not cont[a] and m[a] == top)
        if not cont.any():
            out[point] = 1.0
            return out
        out[point] = float(np.prod(_cdf((top - m[cont]) / s[cont])))
    lo = float(np.min(m[cont] - 12 * s[cont]))
    hi = float(np.max(m[cont] + 12 * s[cont]))
    if point is not None:
        lo = max(lo, float(m[point]))
        if lo >= hi:
            return out
    panels = math.ceil((hi - lo) / (0.5 * float(np.min(s[cont]))))
    nodes, weights = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(lo, hi, panels + 1)
    half = (edges[1:] - edges[:-1])[:, None] / 2.0
    t = ((edges[1:] + edges[:-1])[:, None] / 2.0 + half * nodes).ravel()
    w = (half * weights).ravel()
    cdf = np.ones((k, t.shape[0]))
    pdf = np.zeros((k, t.shape[0]))
    for b in range(k):
        if cont[b]:
            z = (t - m[b]) / s[b]
            cdf[b] = _cdf(z)
            pdf[b] = np.exp(-0.5 * z * z) / (s[b] * math.sqrt(2.0 * math.pi))
    for a in range(k):
        if cont[a]:
            others = np.prod(np.delete(cdf, a, axis=0), axis=0)
            out[a] = float(np.sum(pdf[a] * others * w))
    return out
