"""Tabular Q-learning: an epsilon-greedy choice with the exact probability of every
action, and the one-step update.

The state is ``q`` float64 ``(n_states, n_actions)`` (the action values) and ``visits``
int64 of the same shape (the updates per pair). The update of a transition
``(s, a, r, s')`` is ``q[s, a] += step * (r + gamma * max_b q[s', b] - q[s, a])``, with
no bootstrap term when ``s'`` is terminal, and ``step`` the constant ``alpha`` or, when
``alpha`` is 0, ``1 / visits[s, a]`` (the sample average, so a one-step problem's value
is the mean reward exactly). Kernels draw no random numbers: the caller passes uniforms.
Compiled without fastmath, so a batch of updates equals the same updates one by one.

References
----------
C. J. C. H. Watkins, P. Dayan, "Q-learning", Machine Learning 8, 1992.
R. S. Sutton, A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed., 2018,
section 6.5.
"""

from ._jit import exact_helper, exact_kernel

__all__ = ["q_choose", "q_update", "q_update_batch"]


@exact_kernel
def q_choose(q, state, epsilon, u_explore, u_action, out_prob):
    """Epsilon-greedy over the actions of ``state``: the greedy action (the first of the
    largest values) with probability ``1 - epsilon``, else an action drawn uniformly
    with ``u_action``. Writes each action's probability into ``out_prob`` and returns
    the action chosen."""
    k = q.shape[1]
    best = 0
    for a in range(1, k):
        if q[state, a] > q[state, best]:
            best = a
    share = epsilon / k
    for a in range(k):
        out_prob[a] = share
    out_prob[best] += 1.0 - epsilon
    if u_explore < epsilon:
        a = int(u_action * k)
        return a if a < k else k - 1
    return best


@exact_helper
def _update(q, visits, state, action, reward, next_state, terminal, alpha, gamma):
    visits[state, action] += 1
    target = reward
    if not terminal:
        m = q[next_state, 0]
        for b in range(1, q.shape[1]):
            if q[next_state, b] > m:
                m = q[next_state, b]
        target += gamma * m
    step = alpha if alpha > 0.0 else 1.0 / visits[state, action]
    delta = target - q[state, action]
    q[state, action] += step * delta
    return delta


@exact_kernel
def q_update(q, visits, state, action, reward, next_state, terminal, alpha, gamma):
    """Learn one transition; returns its temporal-difference error (before the step)."""
    return _update(q, visits, state, action, reward, next_state, terminal, alpha, gamma)


@exact_kernel
def q_update_batch(q, visits, states, actions, rewards, next_states, terminals, alpha, gamma):
    """:func:`q_update` for each transition in order; returns the sum of squared
    temporal-difference errors."""
    total = 0.0
    for i in range(states.shape[0]):
        d = _update(
            q, visits, states[i], actions[i], rewards[i], next_states[i], terminals[i],
            alpha, gamma,
        )  # fmt: skip
        total += d * d
    return total
