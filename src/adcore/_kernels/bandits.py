"""Disjoint linear contextual bandits: LinUCB, linear Thompson sampling, epsilon-greedy.

Each arm ``a`` has its own linear model of the reward of a context ``x`` (``d``
features): ``E[r | x, a] = theta_a . x``, estimated by ridge regression. The state of a
model covers all its arms, so one state can serve every arm of a catalog while each
decision looks at a few candidates:

- ``a_inv`` float64 ``(n_arms, d, d)``: ``A_a^-1``, the inverse of
  ``A_a = ridge * I + sum x x^T`` over the contexts the arm was shown in, kept by
  Sherman-Morrison updates (symmetric by construction: only one triangle is computed);
- ``b`` float64 ``(n_arms, d)``: ``sum reward * x``;
- ``counts`` int64 ``(n_arms,)``: the updates per arm.

The estimate is ``theta_a = A_a^-1 b_a`` and its spread for a context is
``sqrt(x^T A_a^-1 x)``. A decision passes the candidates' arm indices ``arms`` (k,) and
one context row per candidate, ``x`` (k, d), so features may differ between candidates.
Ties go to the lowest position. Kernels draw no random numbers: the caller passes
standard normals or uniforms drawn from its seeded generator. Each chooser also writes
the probability with which it picks every candidate given the state, which off-policy
evaluation needs.

References
----------
L. Li, W. Chu, J. Langford, R. E. Schapire, "A contextual-bandit approach to
personalized news article recommendation", WWW 2010 (disjoint LinUCB, Algorithm 1).
S. Agrawal, N. Goyal, "Thompson sampling for contextual bandits with linear payoffs",
ICML 2013.
R. S. Sutton, A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed., 2018,
section 2.2 (epsilon-greedy).
J. Sherman, W. J. Morrison, "Adjustment of an inverse matrix corresponding to a change
in one element of a given matrix", Annals of Mathematical Statistics 21(1), 1950.
"""

import math

from ._jit import helper, kernel
from .normal_max import effective_scale, max_normal_probabilities, max_normal_work_size

__all__ = [
    "bandit_init",
    "bandit_update",
    "bandit_update_batch",
    "epsilon_greedy_choose",
    "linucb_choose",
    "thompson_choose",
    "thompson_work_size",
]


def thompson_work_size(k: int) -> int:
    """Minimum length of the ``work`` scratch of :func:`thompson_choose` for ``k``
    candidates: their means and scales, then the scratch of
    :func:`~adcore._kernels.normal_max.max_normal_probabilities`."""
    return 2 * k + max_normal_work_size(k)


@kernel
def bandit_init(a_inv, b, counts, ridge):
    """Reset every arm: ``a_inv[a] = I / ridge``, ``b[a] = 0``, ``counts[a] = 0``.

    Parameters
    ----------
    a_inv : float64 array (n_arms, d, d)
    b : float64 array (n_arms, d)
    counts : int64 array (n_arms,)
    ridge : float
        The ridge penalty ``lambda`` (> 0): ``A = lambda * I`` before any update.
    """
    n, d = b.shape
    inv = 1.0 / ridge
    for a in range(n):
        for i in range(d):
            for j in range(d):
                a_inv[a, i, j] = 0.0
            a_inv[a, i, i] = inv
            b[a, i] = 0.0
        counts[a] = 0


@helper
def _sherman_morrison(a_inv, b, counts, arm, x, reward, work):
    """One observation of ``reward`` for ``arm`` in context ``x`` (d,): with
    ``u = A^-1 x`` (in ``work``), ``A^-1 -= u u^T / (1 + x^T u)``."""
    d = x.shape[0]
    quad = 0.0
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += a_inv[arm, i, j] * x[j]
        work[i] = acc
        quad += x[i] * acc
    # 1 + x^T A^-1 x >= 1 for positive definite A^-1; max() guards rounding.
    root = 1.0 / math.sqrt(max(1.0 + quad, 1.0))
    for i in range(d):
        work[i] *= root
    for i in range(d):
        for j in range(i, d):
            value = a_inv[arm, i, j] - work[i] * work[j]
            a_inv[arm, i, j] = value
            a_inv[arm, j, i] = value
        b[arm, i] += reward * x[i]
    counts[arm] += 1


@kernel
def bandit_update(a_inv, b, counts, arm, x, reward, work):
    """Learn one observation: ``reward`` for ``arm`` shown in context ``x``.

    Parameters
    ----------
    a_inv, b, counts : arrays
        The state (module docstring), updated in place for ``arm`` only.
    arm : int
        The arm shown (``0 <= arm < n_arms``).
    x : float64 array (d,)
        Its context.
    reward : float
        The reward observed.
    work : float64 array (>= d,)
        Scratch.

    Notes
    -----
    ``A + x x^T`` has inverse ``A^-1 - (A^-1 x)(A^-1 x)^T / (1 + x^T A^-1 x)`` (Sherman
    and Morrison 1950), so each update costs ``O(d^2)`` instead of a new inverse.
    """
    _sherman_morrison(a_inv, b, counts, arm, x, reward, work)


@kernel
def bandit_update_batch(a_inv, b, counts, arms, xs, rewards, work):
    """Learn ``m`` observations in order: the same as :func:`bandit_update` for row
    ``i = 0 .. m - 1`` of ``arms`` (m,) int64, ``xs`` (m, d) and ``rewards`` (m,)."""
    for i in range(arms.shape[0]):
        _sherman_morrison(a_inv, b, counts, arms[i], xs[i], rewards[i], work)


@helper
def _mean_and_variance(a_inv, b, arm, x, row):
    """``(theta . x, x^T A^-1 x)`` for ``arm`` and context ``x[row]``, with
    ``theta = A^-1 b``; the variance is clipped at 0 (rounding)."""
    d = x.shape[1]
    mean = 0.0
    var = 0.0
    for i in range(d):
        theta = 0.0
        spread = 0.0
        for j in range(d):
            theta += a_inv[arm, i, j] * b[arm, j]
            spread += a_inv[arm, i, j] * x[row, j]
        mean += theta * x[row, i]
        var += spread * x[row, i]
    return mean, max(var, 0.0)


@kernel
def linucb_choose(arms, x, a_inv, b, alpha, out_score):
    """LinUCB: the candidate with the largest upper confidence bound.

    Parameters
    ----------
    arms : int64 array (k,)
        The candidates' arms (k >= 1).
    x : float64 array (k, d)
        One context row per candidate.
    a_inv, b : arrays
        The state (module docstring).
    alpha : float
        Width of the confidence bound (>= 0).
    out_score : float64 array (>= k,)
        Output: ``theta_a . x + alpha * sqrt(x^T A_a^-1 x)`` per candidate.

    Returns
    -------
    int
        The position in ``arms`` of the largest score (the lowest among equal ones).
        The policy is deterministic: that candidate has probability 1.
    """
    best = 0
    for i in range(arms.shape[0]):
        mean, var = _mean_and_variance(a_inv, b, arms[i], x, i)
        out_score[i] = mean + alpha * math.sqrt(var)
        if out_score[i] > out_score[best]:
            best = i
    return best


@kernel
def thompson_choose(arms, x, a_inv, b, v, normals, out_prob, work):
    """Linear Thompson sampling: the candidate with the largest sampled score, and the
    probability of every candidate being chosen.

    Parameters
    ----------
    arms : int64 array (k,)
        The candidates' arms (k >= 1).
    x : float64 array (k, d)
        One context row per candidate.
    a_inv, b : arrays
        The state (module docstring).
    v : float
        Scale of the posterior (>= 0).
    normals : float64 array (>= k,)
        Standard normal draws, one per candidate.
    out_prob : float64 array (>= k,)
        Output: the probability that each candidate is chosen, given the state.
    work : float64 array (>= thompson_work_size(k),)
        Scratch.

    Returns
    -------
    int
        The position in ``arms`` of the largest sampled score
        ``m_a + s_a * normals[a]`` (the lowest among equal ones), with
        ``m_a = theta_a . x_a`` and ``s_a = v * sqrt(x_a^T A_a^-1 x_a)``.

    Notes
    -----
    With disjoint arms, ``x_a . theta~_a`` for ``theta~_a ~ N(theta_a, v^2 A_a^-1)``
    (Agrawal and Goyal 2013) is exactly ``N(m_a, s_a^2)``, which is what is sampled:
    one normal per candidate instead of one ``d``-variate draw per arm. The candidates'
    scores are independent, so the probability that ``a`` has the largest is a
    one-dimensional integral (:func:`~adcore._kernels.normal_max.max_normal_probabilities`,
    accurate to about 1e-12). A scale too small to tell from 0 in float64
    (:func:`~adcore._kernels.normal_max.effective_scale`; exactly 0 when ``v = 0`` or
    ``x_a = 0``) is taken as 0 both in the draw and in the probabilities: such a
    candidate scores its mean exactly, and among equal scores the lowest position wins.
    """
    k = arms.shape[0]
    mean = work[0:k]
    scale = work[k : 2 * k]
    best = 0
    best_score = -math.inf
    for i in range(k):
        m, var = _mean_and_variance(a_inv, b, arms[i], x, i)
        s = effective_scale(m, v * math.sqrt(var))
        mean[i] = m
        scale[i] = s
        score = m + s * normals[i] if s > 0.0 else m
        if i == 0 or score > best_score:
            best = i
            best_score = score
    max_normal_probabilities(mean, scale, k, out_prob, work[2 * k :])
    return best


@kernel
def epsilon_greedy_choose(arms, x, a_inv, b, epsilon, u_explore, u_arm, out_prob):
    """Epsilon-greedy: the candidate with the largest estimate ``theta_a . x_a``, or,
    with probability ``epsilon``, a candidate drawn uniformly.

    Parameters
    ----------
    arms : int64 array (k,)
        The candidates' arms (k >= 1).
    x : float64 array (k, d)
        One context row per candidate.
    a_inv, b : arrays
        The state (module docstring).
    epsilon : float
        Probability of exploring (``0 <= epsilon <= 1``).
    u_explore, u_arm : float
        Uniform draws on ``[0, 1)``: the policy explores iff ``u_explore < epsilon``,
        then picks position ``floor(u_arm * k)``.
    out_prob : float64 array (>= k,)
        Output: ``1 - epsilon + epsilon / k`` for the greedy candidate (the lowest
        position among equal estimates), ``epsilon / k`` for the others.

    Returns
    -------
    int
        The position chosen in ``arms``.
    """
    k = arms.shape[0]
    greedy = 0
    best = -math.inf
    for i in range(k):
        m, _ = _mean_and_variance(a_inv, b, arms[i], x, i)
        if i == 0 or m > best:
            greedy = i
            best = m
    share = epsilon / k
    for i in range(k):
        out_prob[i] = share
    out_prob[greedy] = 1.0 - epsilon + share
    if u_explore < epsilon:
        return min(int(u_arm * k), k - 1)
    return greedy
