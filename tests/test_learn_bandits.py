"""Contextual bandits: the kernels of ``adcore._kernels.bandits`` and
``adcore._kernels.normal_max`` against the naive references in
``tests/reference/bandits.py``, and the policies of :mod:`adcore.learn` (LinUCB, linear
Thompson sampling, epsilon-greedy) through their public API.

Tolerances: a Sherman-Morrison inverse matches ``numpy.linalg.inv`` of the design
matrix to 1e-8 of its largest entry (draws keep ``A`` well conditioned: ridge >= 0.5,
contexts of norm at most 4, at most 25 updates, so its condition number is below 1000);
means and confidence bounds computed from either state agree to 1e-8. Probabilities of
Thompson sampling agree with the reference quadrature to 1e-9 absolute and sum to 1
within 1e-9; epsilon-greedy's are exact sums of ``epsilon / k`` and ``1 - epsilon``
(1e-15). Choices are compared exactly on the kernel's own scores; against the
reference only up to near ties (the chosen candidate's reference score within 1e-8 of
the best).

Statistical tests use fixed seeds; each states its bound.
"""

from __future__ import annotations

import math
import pickle
import re
from collections.abc import Callable
from typing import Any

import msgspec
import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal

from adcore._kernels.bandits import (
    bandit_init,
    bandit_update,
    bandit_update_batch,
    epsilon_greedy_choose,
    linucb_choose,
    thompson_choose,
    thompson_work_size,
)
from adcore._kernels.normal_max import (
    GAUSS,
    KRONROD,
    NODES,
    max_normal_probabilities,
    max_normal_work_size,
)
from adcore.errors import InvalidInput
from adcore.learn import BanditState, Choice, EpsilonGreedy, LinearThompsonSampling, LinUCB

try:
    from tests.reference import bandits as ref
except ImportError:  # pytest run without the project root on sys.path
    from reference import bandits as ref  # type: ignore[no-redef]

JIT_DISABLED = bool(numba.config.DISABLE_JIT)

POLICIES: list[Callable[..., Any]] = [
    lambda **kw: LinUCB(alpha=0.8, **kw),
    lambda **kw: LinearThompsonSampling(v=0.4, **kw),
    lambda **kw: EpsilonGreedy(epsilon=0.2, **kw),
]
POLICY_IDS = ["linucb", "thompson", "epsilon_greedy"]


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (a tenth without the JIT)."""
    return settings(
        max_examples=max(10, n // 10) if JIT_DISABLED else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


# --------------------------------------------------------------------------- inputs

COORD = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 0.5]), st.floats(-2.0, 2.0))


@st.composite
def histories(draw: st.DrawFn, max_obs: int = 25) -> dict[str, Any]:
    """A model's shape and ridge, and observations ``(arm, x, reward)`` to learn."""
    n_arms = draw(st.integers(1, 4))
    d = draw(st.integers(1, 4))
    m = draw(st.integers(0, max_obs))
    return {
        "n_arms": n_arms,
        "d": d,
        "ridge": draw(st.one_of(st.sampled_from([0.5, 1.0, 2.0]), st.floats(0.5, 5.0))),
        "arms": np.array(draw(st.lists(st.integers(0, n_arms - 1), min_size=m, max_size=m))),
        "xs": draw(arrays(np.float64, (m, d), elements=COORD)),
        "rewards": np.array(
            draw(st.lists(st.floats(-5.0, 5.0), min_size=m, max_size=m)), dtype=np.float64
        ),
    }


def kernel_state(h: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a_inv, b, counts)`` after learning ``h`` one observation at a time."""
    a_inv = np.full((h["n_arms"], h["d"], h["d"]), np.nan)
    b = np.full((h["n_arms"], h["d"]), np.nan)
    counts = np.full(h["n_arms"], -7, dtype=np.int64)
    bandit_init(a_inv, b, counts, h["ridge"])
    work = np.full(h["d"], np.nan)
    for arm, x, r in zip(h["arms"], h["xs"], h["rewards"], strict=True):
        bandit_update(a_inv, b, counts, int(arm), x, float(r), work)
    return a_inv, b, counts


@st.composite
def decisions(draw: st.DrawFn) -> dict[str, Any]:
    """A history, then candidates (a subset of the arms in any order) with one context
    row each (of norm in [0.5, 1.5], so no scale is far below the others)."""
    h = draw(histories(max_obs=12))
    k = draw(st.integers(1, h["n_arms"]))
    arms = draw(st.permutations(range(h["n_arms"])))[:k]
    directions = draw(arrays(np.float64, (k, h["d"]), elements=st.floats(-1.0, 1.0)))
    norms = draw(arrays(np.float64, (k,), elements=st.floats(0.5, 1.5)))
    x = np.ones((k, h["d"]))
    for i in range(k):
        size = np.linalg.norm(directions[i])
        if size > 1e-3:
            x[i] = directions[i] / size
        else:
            x[i] /= math.sqrt(h["d"])
        x[i] *= norms[i]
    if draw(st.booleans()):  # the same context for every candidate
        x[:] = x[0]
    h["candidates"] = np.array(arms, dtype=np.int64)
    h["x"] = x
    return h


def reference_moments(h: dict[str, Any]) -> tuple[list[float], list[float]]:
    big_a, b, _ = ref.design(h["n_arms"], h["d"], h["ridge"], h["arms"], h["xs"], h["rewards"])
    moments = [
        ref.mean_and_variance(big_a[arm], b[arm], h["x"][i])
        for i, arm in enumerate(h["candidates"])
    ]
    return [m for m, _ in moments], [v for _, v in moments]


# --------------------------------------------------------------------------- updates


@cases(200)
@given(histories())
def test_sherman_morrison_matches_the_explicit_inverse(h: dict[str, Any]) -> None:
    a_inv, b, counts = kernel_state(h)
    big_a, b_ref, counts_ref = ref.design(
        h["n_arms"], h["d"], h["ridge"], h["arms"], h["xs"], h["rewards"]
    )
    for arm in range(h["n_arms"]):
        inv = np.linalg.inv(big_a[arm])
        assert_allclose(a_inv[arm], inv, rtol=0, atol=1e-8 * np.abs(inv).max())
        assert_array_equal(a_inv[arm], a_inv[arm].T)  # symmetric by construction
        assert_allclose(b[arm], b_ref[arm], rtol=1e-12, atol=1e-12)
    assert counts.tolist() == counts_ref


@cases(150)
@given(histories())
def test_batch_update_equals_single_updates(h: dict[str, Any]) -> None:
    a_inv, b, counts = kernel_state(h)
    a2 = np.full_like(a_inv, np.nan)
    b2 = np.full_like(b, np.nan)
    c2 = np.full_like(counts, -7)
    bandit_init(a2, b2, c2, h["ridge"])
    bandit_update_batch(
        a2, b2, c2, h["arms"].astype(np.int64), h["xs"], h["rewards"], np.full(h["d"], np.nan)
    )
    assert_array_equal(a2, a_inv)
    assert_array_equal(b2, b)
    assert_array_equal(c2, counts)


def test_init_resets_every_arm() -> None:
    a_inv = np.full((3, 2, 2), 5.0)
    b = np.full((3, 2), 5.0)
    counts = np.full(3, 5, dtype=np.int64)
    bandit_init(a_inv, b, counts, 4.0)
    assert_array_equal(a_inv, np.broadcast_to(np.eye(2) / 4.0, (3, 2, 2)))
    assert not b.any() and not counts.any()


# --------------------------------------------------------------------------- choosers


@cases(200)
@given(decisions(), st.one_of(st.just(0.0), st.floats(0.0, 3.0)))
def test_linucb_matches_reference(h: dict[str, Any], alpha: float) -> None:
    a_inv, b, _ = kernel_state(h)
    k = h["candidates"].shape[0]
    scores = np.full(k, np.nan)
    got = linucb_choose(h["candidates"], h["x"], a_inv, b, alpha, scores)
    means, variances = reference_moments(h)
    want = ref.linucb_scores(means, variances, alpha)
    assert_allclose(scores, want, rtol=1e-8, atol=1e-8)
    assert got == ref.first_argmax(list(scores))
    assert want[got] >= max(want) - 1e-8


@cases(200)
@given(
    decisions(),
    st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)),
    st.floats(0.0, 1.0, exclude_max=True),
    st.floats(0.0, 1.0, exclude_max=True),
)
def test_epsilon_greedy_matches_reference(
    h: dict[str, Any], epsilon: float, u_explore: float, u_arm: float
) -> None:
    a_inv, b, _ = kernel_state(h)
    k = h["candidates"].shape[0]
    probs = np.full(k, np.nan)
    got = epsilon_greedy_choose(h["candidates"], h["x"], a_inv, b, epsilon, u_explore, u_arm, probs)
    # The greedy candidate on the kernel's own estimates (exact), then the reference's
    # (up to near ties).
    own = [float(theta_x) for theta_x in _kernel_means(h, a_inv, b)]
    assert_allclose(probs, ref.epsilon_greedy_probabilities(own, epsilon), rtol=0, atol=1e-15)
    assert got == ref.epsilon_greedy_choice(own, epsilon, u_explore, u_arm)
    means, _ = reference_moments(h)
    assert_allclose(own, means, rtol=1e-8, atol=1e-8)
    assert abs(math.fsum(probs) - 1.0) <= 1e-12


def _kernel_means(h: dict[str, Any], a_inv: np.ndarray, b: np.ndarray) -> list[float]:
    """``theta . x`` per candidate from the kernel's state (LinUCB's score at alpha 0)."""
    scores = np.full(h["candidates"].shape[0], np.nan)
    linucb_choose(h["candidates"], h["x"], a_inv, b, 0.0, scores)
    return scores.tolist()


@cases(120)
@given(
    decisions(),
    st.one_of(st.just(0.0), st.floats(0.05, 2.0)),
    arrays(np.float64, (4,), elements=st.floats(-4.0, 4.0)),
)
def test_thompson_matches_reference(h: dict[str, Any], v: float, normals: np.ndarray) -> None:
    a_inv, b, _ = kernel_state(h)
    k = h["candidates"].shape[0]
    probs = np.full(k, np.nan)
    work = np.full(thompson_work_size(k), np.nan)
    got = thompson_choose(h["candidates"], h["x"], a_inv, b, v, normals, probs, work)
    means, variances = reference_moments(h)
    scales = [
        ref.effective_scale(m, v * math.sqrt(var)) for m, var in zip(means, variances, strict=True)
    ]
    assert_allclose(probs, ref.max_normal_probabilities(means, scales), rtol=0, atol=1e-9)
    assert abs(math.fsum(probs) - 1.0) <= 1e-9
    want = ref.thompson_choice(means, scales, list(normals[:k]))
    sampled = [m + s * z for m, s, z in zip(means, scales, normals[:k], strict=True)]
    assert got == want or sampled[got] >= sampled[want] - 1e-8


def test_ties_go_to_the_first_candidate() -> None:
    """Untouched arms all look the same: LinUCB, the greedy choice and Thompson sampling
    without noise (v = 0: every candidate a point mass at 0) pick position 0."""
    a_inv = np.empty((4, 2, 2))
    b = np.empty((4, 2))
    counts = np.empty(4, dtype=np.int64)
    bandit_init(a_inv, b, counts, 1.0)
    arms = np.array([3, 1, 2], dtype=np.int64)
    x = np.ones((3, 2))
    scores = np.empty(3)
    assert linucb_choose(arms, x, a_inv, b, 1.0, scores) == 0
    assert_array_equal(scores, np.full(3, math.sqrt(2.0)))
    probs = np.empty(3)
    assert epsilon_greedy_choose(arms, x, a_inv, b, 0.3, 0.5, 0.9, probs) == 0
    assert_allclose(probs, [0.8, 0.1, 0.1], rtol=0, atol=1e-15)
    work = np.full(thompson_work_size(3), np.nan)
    assert thompson_choose(arms, x, a_inv, b, 0.0, np.array([0.0, 3.0, -1.0]), probs, work) == 0
    assert probs.tolist() == [1.0, 0.0, 0.0]


# --------------------------------------------------------------------------- max of normals


def kernel_max_normal(means: Any, sds: Any) -> tuple[np.ndarray, float]:
    m = np.asarray(means, dtype=np.float64)
    s = np.asarray(sds, dtype=np.float64)
    k = m.shape[0]
    out = np.full(k, np.nan)
    err = max_normal_probabilities(m, s, k, out, np.full(max_normal_work_size(k), np.nan))
    return out, float(err)


def test_gauss_kronrod_rule_is_exact_on_polynomials() -> None:
    """On [0, 1] the 15-point Kronrod rule integrates degree 22, the embedded 7-point
    Gauss rule degree 13, exactly (the standard nodes and weights, mistyped digits
    would break this)."""
    for degree in range(23):
        assert abs(np.sum(KRONROD * NODES**degree) - 1 / (degree + 1)) < 1e-15, degree
    for degree in range(14):
        assert abs(np.sum(GAUSS * NODES**degree) - 1 / (degree + 1)) < 1e-15, degree
    assert abs(np.sum(GAUSS * NODES**14) - 1 / 15) > 1e-9  # and no more


MEANS = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(-3.0, 3.0))
SDS = st.one_of(st.sampled_from([0.0, 0.1, 1.0]), st.floats(0.1, 2.0))


@cases(150)
@given(st.lists(st.tuples(MEANS, SDS), min_size=1, max_size=6))
def test_max_normal_probabilities_match_reference(pairs: list[tuple[float, float]]) -> None:
    means = [m for m, _ in pairs]
    sds = [s for _, s in pairs]
    got, err = kernel_max_normal(means, sds)
    assert_allclose(got, ref.max_normal_probabilities(means, sds), rtol=0, atol=1e-9)
    assert abs(math.fsum(got) - 1.0) <= 1e-9
    assert 0.0 <= err <= 1e-9
    assert (got >= 0).all()


NEEDLES = st.one_of(st.sampled_from([1e-6, 1e-4, 1e-2]), st.floats(0.01, 3.0))


@cases(300)
@given(MEANS, MEANS, NEEDLES, NEEDLES)
def test_two_normals_closed_form(m1: float, m2: float, s1: float, s2: float) -> None:
    """P(X1 > X2) = Phi((m1 - m2) / sqrt(s1^2 + s2^2)), also for a needle (a standard
    deviation up to a million times smaller than the other's) anywhere in the window."""
    got, _ = kernel_max_normal([m1, m2], [s1, s2])
    want = 0.5 * math.erfc(-(m1 - m2) / math.hypot(s1, s2) / math.sqrt(2.0))
    assert_allclose(got, [want, 1.0 - want], rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 7, 64])
def test_equal_normals_are_equally_likely(k: int) -> None:
    got, _ = kernel_max_normal(np.full(k, 0.3), np.full(k, 0.7))
    assert_allclose(got, np.full(k, 1.0 / k), rtol=0, atol=1e-12)


def test_sixty_four_normals_of_different_scales() -> None:
    """64 candidates, standard deviations spread over two orders of magnitude, three
    point masses (two of them equal: the first wins)."""
    rng = np.random.default_rng(64)
    means = rng.normal(0.0, 0.5, 64)
    sds = np.exp(rng.uniform(math.log(0.02), math.log(2.0), 64))
    sds[[5, 17, 40]] = 0.0
    means[[17, 40]] = means.max() - 0.3  # below the best continuous mean: both can lose
    means[5] = means[17]
    got, err = kernel_max_normal(means, sds)
    want = ref.max_normal_probabilities(list(means), list(sds))
    assert_allclose(got, want, rtol=0, atol=1e-9)
    assert abs(math.fsum(got) - 1.0) <= 1e-9 and err <= 1e-9
    assert got[5] > 1e-6 and got[17] == 0.0 and got[40] == 0.0


def test_a_point_mass_above_every_window_wins() -> None:
    """A point mass 10 standard deviations above the only continuous candidate wins
    (the continuous one's chance, Phi(-10), is below 1e-23), and among equal point
    masses the first."""
    got, err = kernel_max_normal([10.0, 0.0, 10.0], [0.0, 1.0, 0.0])
    assert got.tolist() == [1.0, 0.0, 0.0]
    assert err < 1e-17
    got, _ = kernel_max_normal([2.0, 2.0], [0.0, 0.0])
    assert got.tolist() == [1.0, 0.0]


@cases(100)
@given(
    st.lists(st.tuples(st.integers(-64, 64), st.integers(1, 64)), min_size=2, max_size=6),
    st.integers(-20, 20),
    st.integers(-(2**20), 2**20),
)
def test_max_normal_depends_only_on_standardised_gaps(
    pairs: list[tuple[int, int]], power: int, shift: int
) -> None:
    """Scaling every mean and standard deviation by a power of two changes nothing
    (exact in binary floating point); shifting every mean by a constant (exactly
    representable here) changes nothing either, up to rounding of the panels' edges."""
    means = np.array([m / 16 for m, _ in pairs])
    sds = np.array([s / 32 for _, s in pairs])
    base, _ = kernel_max_normal(means, sds)
    scaled, _ = kernel_max_normal(means * 2.0**power, sds * 2.0**power)
    assert_allclose(scaled, base, rtol=0, atol=1e-15)
    shifted, _ = kernel_max_normal(means + shift, sds)
    assert_allclose(shifted, base, rtol=0, atol=1e-11)


# --------------------------------------------------------------------------- policies: API


def _learned(make: Callable[..., Any], seed: int = 0) -> Any:
    """A model of 5 arms and 3 features that learned 60 observations."""
    model = make(n_arms=5, dimension=3, seed=seed)
    rng = np.random.default_rng(1000 + seed)
    arms = rng.integers(0, 5, 60)
    xs = rng.normal(size=(60, 3))
    model.learn_batch(arms, xs, rng.normal(size=60) + xs[:, 0] * arms / 4)
    return model


@pytest.mark.parametrize("make", POLICIES, ids=POLICY_IDS)
def test_choice_reports_its_candidates(make: Callable[..., Any]) -> None:
    model = _learned(make)
    x = np.array([[0.2, 1.0, -0.5], [1.0, 0.0, 0.3]])
    choice = model.choose(x, arms=[4, 1])
    assert isinstance(choice, Choice)
    assert choice.arm in (4, 1)
    assert len(choice.probabilities) == 2
    assert choice.propensity == choice.probabilities[[4, 1].index(choice.arm)]
    assert choice.propensity > 0.0
    assert abs(math.fsum(choice.probabilities) - 1.0) <= 1e-9
    every = model.choose(x[0])
    assert len(every.probabilities) == 5
    with pytest.raises(AttributeError):
        choice.arm = 0  # frozen
    with pytest.raises(TypeError):
        Choice(1, 1.0, (1.0,))  # type: ignore[misc]  # keyword-only


@pytest.mark.parametrize("make", POLICIES, ids=POLICY_IDS)
def test_learn_batch_equals_a_loop_of_learn(make: Callable[..., Any]) -> None:
    rng = np.random.default_rng(3)
    arms = rng.integers(0, 4, 40)
    xs = rng.normal(size=(40, 3))
    rewards = rng.normal(size=40)
    one = make(n_arms=4, dimension=3, seed=1)
    for arm, x, r in zip(arms, xs, rewards, strict=True):
        one.learn(int(arm), x, float(r))
    batch = make(n_arms=4, dimension=3, seed=1)
    batch.learn_batch(arms, xs, rewards)
    assert batch.state() == one.state()
    assert batch.counts == one.counts == tuple(np.bincount(arms, minlength=4).tolist())
    batch.learn_batch([], np.empty((0, 3)), [])  # nothing to learn
    assert batch.state() == one.state()


@pytest.mark.parametrize("make", POLICIES, ids=POLICY_IDS)
def test_same_seed_same_choices(make: Callable[..., Any]) -> None:
    def run(seed: int) -> list[Choice]:
        model = make(n_arms=4, dimension=2, seed=seed)
        rng = np.random.default_rng(9)
        out = []
        for _ in range(60):
            x = rng.normal(size=2)
            choice = model.choose(x)
            out.append(choice)
            model.learn(choice.arm, x, float(x[0] * choice.arm))
        return out

    first = run(5)
    assert run(5) == first
    if make is not POLICIES[0]:  # LinUCB draws nothing: the seed cannot matter
        assert [c.arm for c in run(6)] != [c.arm for c in first]


@pytest.mark.parametrize("make", POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("how", ["json", "msgpack", "pickle"])
def test_round_trip_gives_the_same_choices(make: Callable[..., Any], how: str) -> None:
    model = _learned(make, seed=4)
    model.choose(np.ones(3))  # advance the generator
    if how == "json":
        state = msgspec.json.decode(msgspec.json.encode(model.state()), type=BanditState)
        copy = type(model).from_state(state)
    elif how == "msgpack":
        state = msgspec.msgpack.decode(msgspec.msgpack.encode(model.state()), type=BanditState)
        copy = type(model).from_state(state)
    else:
        copy = pickle.loads(pickle.dumps(model))
    assert type(copy) is type(model) and repr(copy) == repr(model)
    assert copy.state() == model.state()
    rng = np.random.default_rng(2)
    for _ in range(30):
        x = rng.normal(size=(5, 3))
        a, b = model.choose(x), copy.choose(x)
        assert a == b
        model.learn(a.arm, x[a.arm], 1.0)
        copy.learn(b.arm, x[b.arm], 1.0)
    assert copy.state() == model.state()


@pytest.mark.parametrize("make", POLICIES, ids=POLICY_IDS)
def test_inputs_are_not_mutated(make: Callable[..., Any]) -> None:
    model = _learned(make)
    x = np.array([[0.2, 1.0, -0.5], [1.0, 0.0, 0.3]])
    arms = np.array([2, 0])
    xs = np.arange(6.0).reshape(2, 3)
    rewards = np.array([1.0, -1.0])
    copies = [a.copy() for a in (x, arms, xs, rewards)]
    model.choose(x, arms)
    model.learn(1, x[0], 1.0)
    model.learn_batch(arms, xs, rewards)
    for before, after in zip(copies, (x, arms, xs, rewards), strict=True):
        assert_array_equal(before, after)


@pytest.mark.parametrize("cls", [LinUCB, LinearThompsonSampling, EpsilonGreedy])
def test_arguments_are_stored_under_their_own_names(cls: type[Any]) -> None:
    name = {LinUCB: "alpha", LinearThompsonSampling: "v", EpsilonGreedy: "epsilon"}[cls]
    model = cls(n_arms=3, dimension=2, ridge=2.5, seed=8, **{name: 0.25})
    assert (model.n_arms, model.dimension, model.ridge, model.seed) == (3, 2, 2.5, 8)
    assert getattr(model, name) == 0.25
    assert cls.__doc__ and "References" in cls.__doc__
    assert model.counts == (0, 0, 0)
    policy = {LinUCB: "linucb", LinearThompsonSampling: "linear_thompson"}.get(cls)
    assert model.state().policy == (policy or "epsilon_greedy")


# --------------------------------------------------------------------------- bad input

BAD_CONSTRUCTORS = [
    (lambda: LinUCB(0, 2), "n_arms must be >= 1"),
    (lambda: LinUCB(2.0, 2), "n_arms must be an integer"),
    (lambda: LinUCB(True, 2), "n_arms must be an integer"),
    (lambda: LinUCB(2, 0), "dimension must be >= 1"),
    (lambda: LinUCB(2, 2, alpha=-1.0), "alpha must be >= 0"),
    (lambda: LinUCB(2, 2, alpha=math.nan), "alpha must be finite"),
    (lambda: LinearThompsonSampling(2, 2, v=math.inf), "v must be finite"),
    (lambda: LinearThompsonSampling(2, 2, v="1"), "v must be a real number"),
    (lambda: EpsilonGreedy(2, 2, epsilon=1.5), r"epsilon must be in \[0, 1\]"),
    (lambda: EpsilonGreedy(2, 2, epsilon=-0.1), r"epsilon must be in \[0, 1\]"),
    (lambda: LinUCB(2, 2, ridge=0.0), "ridge must be > 0"),
    (lambda: LinUCB(2, 2, ridge=10**400), "ridge must be finite"),
    (lambda: LinUCB(2, 2, seed=-1), "seed must be >= 0"),
    (lambda: LinUCB(2, 2, seed=1.5), "seed must be an integer"),
]


@pytest.mark.parametrize(("build", "pattern"), BAD_CONSTRUCTORS)
def test_bad_constructor_arguments(build: Callable[[], Any], pattern: str) -> None:
    with pytest.raises(InvalidInput, match=pattern) as info:
        build()
    assert info.value.field is not None and info.value.field in str(info.value)


GOOD_X = [0.5, -0.5]
BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("choose", {"x": [1.0, 2.0, 3.0]}, r"x must have shape \(2,\) or \(3, 2\)"),
    ("choose", {"x": np.ones((2, 2))}, r"x must have shape \(2,\) or \(3, 2\), got \(2, 2\)"),
    ("choose", {"x": [math.nan, 0.0]}, "x must be finite"),
    ("choose", {"x": [math.inf, 0.0]}, "x must be finite"),
    ("choose", {"x": ["a", "b"]}, "x must hold real numbers, got dtype <U1"),
    ("choose", {"x": [1.0 + 2.0j, 0.0]}, "x must hold real numbers, got dtype complex128"),
    ("choose", {"x": [10**400, 0]}, "x: int too large to convert to float"),
    ("choose", {"x": [[1.0, 2.0], [3.0]]}, "x: "),
    ("choose", {"x": GOOD_X, "arms": [3]}, r"arms must be in \[0, 3\)"),
    ("choose", {"x": GOOD_X, "arms": [-1, 0]}, r"arms must be in \[0, 3\)"),
    ("choose", {"x": GOOD_X, "arms": []}, "arms must not be empty"),
    ("choose", {"x": GOOD_X, "arms": [1, 1]}, "arms must be distinct"),
    ("choose", {"x": GOOD_X, "arms": [0.5]}, "arms must hold integers"),
    ("choose", {"x": GOOD_X, "arms": [True]}, "arms must hold integers"),
    ("choose", {"x": GOOD_X, "arms": [[0]]}, "arms must have 1 dimension"),
    ("choose", {"x": GOOD_X, "arms": [[0], [1, 2]]}, "arms: "),
    ("choose", {"x": np.ones((2, 2)), "arms": [0, 1, 2]}, r"x must have shape .* \(3, 2\)"),
    ("learn", {"arm": 3, "x": GOOD_X, "reward": 1.0}, "arm must be < n_arms = 3"),
    ("learn", {"arm": -1, "x": GOOD_X, "reward": 1.0}, "arm must be >= 0"),
    ("learn", {"arm": 1.0, "x": GOOD_X, "reward": 1.0}, "arm must be an integer"),
    ("learn", {"arm": 1, "x": [1.0], "reward": 1.0}, r"x must have shape \(2,\)"),
    ("learn", {"arm": 1, "x": [[1.0, 2.0]], "reward": 1.0}, r"x must have shape \(2,\)"),
    ("learn", {"arm": 1, "x": [math.nan, 0.0], "reward": 1.0}, "x must be finite"),
    ("learn", {"arm": 1, "x": GOOD_X, "reward": math.nan}, "reward must be finite"),
    ("learn", {"arm": 1, "x": GOOD_X, "reward": 10**400}, "reward must be finite"),
    ("learn", {"arm": 1, "x": GOOD_X, "reward": "1"}, "reward must be a real number"),
    (
        "learn_batch",
        {"arms": [0, 1], "xs": np.ones((3, 2)), "rewards": [1.0, 2.0]},
        r"xs must have shape \(2, 2\)",
    ),
    (
        "learn_batch",
        {"arms": [0, 1], "xs": np.ones((2, 2)), "rewards": [1.0]},
        r"rewards must have shape \(2,\)",
    ),
    (
        "learn_batch",
        {"arms": [0, 3], "xs": np.ones((2, 2)), "rewards": [1.0, 2.0]},
        r"arms must be in \[0, 3\)",
    ),
    (
        "learn_batch",
        {"arms": [0, 1], "xs": [[1.0, math.inf], [0.0, 0.0]], "rewards": [1.0, 2.0]},
        "xs must be finite",
    ),
    (
        "learn_batch",
        {"arms": [0, 1], "xs": np.ones((2, 2)), "rewards": [1.0, math.nan]},
        "rewards must be finite",
    ),
]


@pytest.mark.parametrize("make", POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize(("method", "kwargs", "pattern"), BAD_CALLS)
def test_bad_calls_raise_and_change_nothing(
    make: Callable[..., Any], method: str, kwargs: dict[str, Any], pattern: str
) -> None:
    model = make(n_arms=3, dimension=2, seed=3)
    model.learn(1, GOOD_X, 1.0)
    before = model.state()
    with pytest.raises(InvalidInput, match=pattern) as info:
        getattr(model, method)(**kwargs)
    assert info.value.field is not None and re.match(r"\w+", info.value.field)
    assert model.state() == before


def _state_with(**changes: Any) -> BanditState:
    return msgspec.structs.replace(LinearThompsonSampling(3, 2, seed=1).state(), **changes)


BAD_STATES: list[tuple[Any, str]] = [
    ("not a state", "state must be a BanditState"),
    (_state_with(policy="linucb"), "state.policy must be 'linear_thompson'"),
    (_state_with(n_arms=0), "n_arms must be >= 1"),
    (_state_with(exploration=-1.0), "v must be >= 0"),
    (_state_with(a_inv=b"\x00" * 8), r"state.a_inv must be 96 bytes \(shape \(3, 2, 2\)\)"),
    (_state_with(b=np.full(6, np.nan).tobytes()), "state.b must be finite"),
    (_state_with(counts=np.array([0, -1, 0], dtype="<i8").tobytes()), "state.counts must be >= 0"),
    (_state_with(rng=(0, 0, 0, 0, 2, 0)), "state.rng must be six integers"),
    (_state_with(rng=(0, 0, 0)), "state.rng must be six integers"),
]


@pytest.mark.parametrize(("state", "pattern"), BAD_STATES)
def test_bad_states_are_rejected(state: Any, pattern: str) -> None:
    with pytest.raises(InvalidInput, match=pattern):
        LinearThompsonSampling.from_state(state)


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("make", POLICIES, ids=POLICY_IDS)
def test_monte_carlo_frequencies_match_propensities(make: Callable[..., Any]) -> None:
    """Over N = 20,000 choices from one fixed state, each candidate's frequency is within
    5 binomial standard errors, ``5 sqrt(p (1 - p) / N)``, of the probability every
    Choice reported (exactly equal where that probability is 0 or 1). For a correct
    policy a deviation of 5 standard errors has probability below 6e-7 per candidate."""
    n = 2_000 if JIT_DISABLED else 20_000
    model = make(n_arms=5, dimension=3, seed=0)
    rng = np.random.default_rng(1)  # 20 noisy observations: no candidate stands out
    model.learn_batch(rng.integers(0, 5, 20), rng.normal(size=(20, 3)), 0.3 * rng.normal(size=20))
    arms = [4, 0, 2, 1]
    x = np.array([[0.4, -0.2, 0.1], [0.1, 0.3, 0.2], [-0.3, 0.2, 0.2], [0.2, 0.0, -0.3]])
    first = model.choose(x, arms)
    counts = dict.fromkeys(arms, 0)
    for _ in range(n):
        choice = model.choose(x, arms)
        assert choice.probabilities == first.probabilities  # the state does not move
        counts[choice.arm] += 1
    if make is POLICIES[1]:  # Thompson: a state where every candidate has a real chance
        assert min(first.probabilities) > 0.05
    for arm, p in zip(arms, first.probabilities, strict=True):
        freq = counts[arm] / n
        if p in (0.0, 1.0):
            assert freq == p, arm
        else:
            assert abs(freq - p) <= 5.0 * math.sqrt(p * (1.0 - p) / n), (arm, freq, p)


def _regret(model: Any, rounds: int = 3_000, seed: int = 100) -> np.ndarray:
    """Per-round regret on a fixed synthetic problem: 5 arms, 5 features, true
    parameters of norm 1, contexts uniform on the unit sphere (the same for every arm),
    rewards ``theta_a . x + N(0, 0.2^2)``; the regret of a round is the best arm's
    expected reward minus the chosen one's."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(5, 5))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    xs = rng.normal(size=(rounds, 5))
    xs /= np.linalg.norm(xs, axis=1, keepdims=True)
    noise = rng.normal(0.0, 0.2, rounds)
    regret = np.empty(rounds)
    for t in range(rounds):
        means = theta @ xs[t]
        arm = model.choose(xs[t]).arm
        regret[t] = means.max() - means[arm]
        model.learn(arm, xs[t], means[arm] + noise[t])
    return regret


def test_regret_of_linucb_and_thompson_is_low_and_sublinear() -> None:
    """Over 3,000 rounds LinUCB (alpha = 1) and linear Thompson sampling (v = 0.3) lose
    less than epsilon-greedy (epsilon = 0.1), whose exploration costs a fixed share of
    every round; their regret flattens (the last third of the rounds costs less than a
    quarter of the first third) while epsilon-greedy's does not (more than 0.4: its
    exploration alone costs the same in every third)."""
    ucb = _regret(LinUCB(5, 5, alpha=1.0))
    ts = _regret(LinearThompsonSampling(5, 5, v=0.3, seed=1))
    eg = _regret(EpsilonGreedy(5, 5, epsilon=0.1, seed=1))
    assert ucb.sum() < eg.sum() and ts.sum() < eg.sum(), (ucb.sum(), ts.sum(), eg.sum())
    for regret in (ucb, ts):
        assert regret[2000:].sum() < 0.25 * regret[:1000].sum()
    assert eg[2000:].sum() > 0.4 * eg[:1000].sum()
