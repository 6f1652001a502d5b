"""Tabular Q-learning: held to value iteration, exact propensities, exact batches,
exact snapshots, and named errors."""

from __future__ import annotations

import pickle
from typing import Any

import msgspec
import numpy as np
import pytest

from adcore import InvalidInput
from adcore.learn import QLearning, QState

# A small MDP: 3 states, 2 actions. P[s, a] is the distribution of the next state, R[s, a]
# the mean reward.
P = np.array(
    [
        [[0.9, 0.1, 0.0], [0.1, 0.0, 0.9]],
        [[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]],
        [[0.2, 0.0, 0.8], [0.0, 0.7, 0.3]],
    ]
)
R = np.array([[0.0, -0.2], [0.3, 1.0], [0.6, 0.0]])
GAMMA = 0.8


def _value_iteration(p: np.ndarray, r: np.ndarray, gamma: float) -> np.ndarray:
    q = np.zeros_like(r)
    for _ in range(2000):
        q = r + gamma * p @ q.max(axis=1)
    return q


def test_a_deterministic_problem_converges_to_the_optimal_values() -> None:
    """With deterministic transitions and rewards every update moves toward the fixed
    point: constant steps converge to Q* geometrically."""
    nxt = np.array([[1, 2], [0, 2], [2, 0]])
    p = np.zeros((3, 2, 3))
    for s in range(3):
        for a in range(2):
            p[s, a, nxt[s, a]] = 1.0
    expected = _value_iteration(p, R, GAMMA)
    model = QLearning(3, 2, alpha=0.5, gamma=GAMMA, epsilon=1.0, seed=0)
    for _ in range(400):
        for s in range(3):
            for a in range(2):
                model.learn(s, a, float(R[s, a]), int(nxt[s, a]))
    np.testing.assert_allclose(model.values, expected, atol=1e-9)


def test_a_stochastic_problem_learns_the_optimal_policy() -> None:
    """Exploring with epsilon = 0.3 on the stochastic MDP (rewards: mean plus uniform
    noise of width 1), the greedy policy is optimal and every value within 0.1 of Q*
    after 150,000 steps (seeds 3 and 1003: the model's and the problem's generators
    must not share a stream)."""
    expected = _value_iteration(P, R, GAMMA)
    model = QLearning(3, 2, alpha=0.02, gamma=GAMMA, epsilon=0.3, seed=3)
    rng = np.random.default_rng(1003)
    s = 0
    for _ in range(150_000):
        a = model.choose(s).arm
        s2 = int(rng.choice(3, p=P[s, a]))
        model.learn(s, a, float(R[s, a] + rng.random() - 0.5), s2)
        s = s2
    np.testing.assert_array_equal(model.policy(), expected.argmax(axis=1))
    assert np.abs(model.values - expected).max() < 0.1


def test_without_discount_and_with_sample_average_steps_values_are_mean_rewards() -> None:
    model = QLearning(1, 3, alpha=0.0, gamma=0.0, epsilon=0.0)
    rewards = {0: [1.0, 2.0, 6.0], 2: [0.5]}
    for a, rs in rewards.items():
        for r in rs:
            model.learn(0, a, r, 0)
    assert model.values[0].tolist() == [3.0, 0.0, 0.5]
    assert model.visits[0].tolist() == [3, 0, 1]
    assert model.greedy(0) == 0


def test_reported_probabilities_are_the_choice_frequencies() -> None:
    model = QLearning(2, 4, epsilon=0.4, seed=11)
    model.learn(1, 2, 1.0, 0, terminal=True)
    choices = [model.choose(1) for _ in range(40_000)]
    probs = np.array(choices[0].probabilities)
    assert probs.tolist() == pytest.approx([0.1, 0.1, 0.7, 0.1])
    assert all(c.propensity == probs[c.arm] for c in choices)
    freq = np.bincount([c.arm for c in choices], minlength=4) / len(choices)
    sigma = np.sqrt(probs * (1 - probs) / len(choices))
    assert np.all(np.abs(freq - probs) < 4 * sigma)


def test_a_batch_equals_the_same_updates_one_by_one() -> None:
    rng = np.random.default_rng(5)
    n = 500
    s, a, s2 = rng.integers(0, 6, n), rng.integers(0, 3, n), rng.integers(0, 6, n)
    r, t = rng.normal(size=n), rng.random(n) < 0.1
    one = QLearning(6, 3, alpha=0.3, gamma=0.9)
    errors = [
        one.learn(int(s[i]), int(a[i]), float(r[i]), int(s2[i]), bool(t[i])) for i in range(n)
    ]
    batch = QLearning(6, 3, alpha=0.3, gamma=0.9)
    total = batch.learn_batch(s, a, r, s2, t)
    assert batch.values.tobytes() == one.values.tobytes()
    assert total == pytest.approx(sum(e * e for e in errors), rel=1e-12)


def test_a_snapshot_restores_values_and_future_choices() -> None:
    model = QLearning(4, 3, alpha=0.2, epsilon=0.5, initial=1.0, seed=9)
    for i in range(50):
        c = model.choose(i % 4)
        model.learn(i % 4, c.arm, float(i % 3), (i + 1) % 4)
    data = msgspec.msgpack.encode(model.state())
    copy = QLearning.from_state(msgspec.msgpack.decode(data, type=QState))
    pickled = pickle.loads(pickle.dumps(model))
    for other in (copy, pickled):
        assert other.values.tobytes() == model.values.tobytes()
        assert repr(other) == repr(model)
    ahead = [model.choose(i % 4) for i in range(20)]
    assert [copy.choose(i % 4) for i in range(20)] == ahead
    assert [pickled.choose(i % 4) for i in range(20)] == ahead


def test_a_bad_snapshot_is_refused() -> None:
    good = QLearning(2, 2).state()
    for changes, field in (
        ({"version": 9}, "state.version"),
        ({"q": b"\x00" * 8}, "state.q"),
        ({"q": np.full(4, np.nan).tobytes()}, "state.q"),
        ({"visits": np.full(4, -1, dtype=np.int64).tobytes()}, "state.visits"),
        ({"rng": (1, 2, 3)}, "state.rng"),
        ({"gamma": 1.0}, "gamma"),
    ):
        with pytest.raises(InvalidInput) as err:
            QLearning.from_state(msgspec.structs.replace(good, **changes))
        assert err.value.field == field
    with pytest.raises(InvalidInput):
        QLearning.from_state(b"not a state")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_states": 0}, "n_states"),
        ({"n_actions": 1.5}, "n_actions"),
        ({"alpha": 1.5}, "alpha"),
        ({"gamma": 1.0}, "gamma"),
        ({"epsilon": -0.1}, "epsilon"),
        ({"initial": float("nan")}, "initial"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"n_states": 2, "n_actions": 2, **kwargs}
    with pytest.raises(InvalidInput) as err:
        QLearning(**args)
    assert err.value.field == field


def test_bad_transitions_are_named_and_learn_nothing() -> None:
    model = QLearning(3, 2)
    for call, field in (
        (lambda: model.learn(3, 0, 1.0, 0), "state"),
        (lambda: model.learn(0, 2, 1.0, 0), "action"),
        (lambda: model.learn(0, 0, float("inf"), 0), "reward"),
        (lambda: model.learn(0, 0, 1.0, -1), "next_state"),
        (lambda: model.learn(0, 0, 1.0, 0, terminal=1), "terminal"),  # type: ignore[arg-type]
        (lambda: model.learn(True, 0, 1.0, 0), "state"),
        (lambda: model.choose(7), "state"),
        (lambda: model.learn_batch([0, 1], [0], [1.0, 1.0], [0, 0]), "actions"),
        (lambda: model.learn_batch([0, 1], [0, 1], [1.0, np.nan], [0, 0]), "rewards"),
        (lambda: model.learn_batch([0, 1], [0, 1], [1.0, 1.0], [0, 3]), "next_states"),
        (lambda: model.learn_batch([0, 1], [0, 1], [1.0, 1.0], [0, 0], [1, 0]), "terminals"),
        (lambda: model.learn_batch([0.5], [0], [1.0], [0]), "states"),
    ):
        with pytest.raises(InvalidInput) as err:
            call()
        assert err.value.field == field
    assert not model.visits.any() and not model.values.any()
    with pytest.raises(InvalidInput) as err:
        model.exploration = 2.0
    assert err.value.field == "epsilon" and model.exploration == 0.1
