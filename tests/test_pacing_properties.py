"""The pacing controllers of ``adcore._kernels.pacing_control``: each kernel against its
naive reference (``tests/reference/pacing.py``), their invariants as hypothesis
properties, and closed-loop simulations of days of second-price auctions.

Inputs have the engine's dtypes: strategy codes ``int8``, money ``int64`` micro-units
(budgets, spend, holds; below 2**53, so int-to-float conversion is exact), controller
state and multipliers ``float64``, keys ``uint64``. Hypothesis draws the scalars (gains,
planned shares, times, request counts) and, for the per-campaign arrays, the number of
campaigns and a seed: the arrays come from ``numpy.random.default_rng(seed)`` (one draw
per array instead of one per element keeps thousands of examples per test fast), each
element half the time from a set of special values (no budget, exactly the budget spent,
overspent, p = 0 or 1, ...) and otherwise from a range.

Float outputs are compared with ``rtol=1e-12`` and an ``atol`` of 1e-12 times the size
of the terms summed (the JIT's fastmath set allows contraction and reassociation, a few
ulps; the absolute part covers results that cancel to near 0). Multipliers and money are
compared exactly.

The market simulations use fixed seeds; each bound is derived in a comment next to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from adcore._kernels.pacing_control import (
    ASAP,
    DUAL,
    PID,
    THROTTLE,
    catch_up_ceiling,
    clamp_to_ceiling,
    dual_floor,
    dual_update,
    forecast_update,
    pid_update,
    planned_share,
    remaining_requests,
    strategy_multipliers,
    throttle_update,
)

try:
    from tests.reference import pacing as ref
except ImportError:  # pytest run without the project root on sys.path
    from reference import pacing as ref  # type: ignore[no-redef]

JIT_DISABLED = bool(numba.config.DISABLE_JIT)

# Under NUMBA_DISABLE_JIT the splitmix64 hash runs on NumPy uint64 scalars, whose
# wrapping multiplication (intended) warns.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in scalar:RuntimeWarning")

DAY = 86400.0
STRATEGIES = (ASAP, DUAL, PID, THROTTLE)


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (a tenth without the JIT)."""
    return settings(
        max_examples=max(10, n // 10) if JIT_DISABLED else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def close(actual: Any, desired: Any, scale: float = 1.0) -> None:
    """Equal to 1e-12 relative, or 1e-12 of ``scale`` (the size of the terms) absolute."""
    assert_allclose(actual, desired, rtol=1e-12, atol=1e-12 * scale)


# --------------------------------------------------------------------------- inputs

SEEDS = st.integers(0, 2**63 - 1)
SIZES = st.integers(1, 40)
PLANNED = st.one_of(st.sampled_from([0.0, 0.0, 0.5, 0.99, 1.0]), st.floats(0.0, 1.0))
UNIT = st.one_of(st.sampled_from([0.0, 0.0, 0.5, 1.0, 1.0]), st.floats(0.0, 1.0))
UNIT_SPECIALS = (0.0, 0.5, 1.0, 1e-300)


def mixed(
    rng: np.random.Generator, n: int, specials: Sequence[float], low: float, high: float
) -> np.ndarray:
    """``n`` floats, each from ``specials`` with probability 1/2, else U(low, high)."""
    free = rng.uniform(low, high, n)
    special = rng.choice(np.array(specials, dtype=np.float64), n)
    return np.where(rng.random(n) < 0.5, special, free)


def campaigns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Strategy codes and money per campaign. ``spent_today``, ``held`` and
    ``last_spent`` are shares of the daily budget: 0, exactly it, over it, or any."""
    specials = np.array([0, 0, 1, 1000, 10**6, 5 * 10**6, 10**9, -1], dtype=np.int64)
    daily = np.where(
        rng.random(n) < 0.5, rng.choice(specials, n), rng.integers(0, 10**12, n)
    ).astype(np.int64)
    base = np.maximum(daily, 0).astype(np.float64)

    def money(share: np.ndarray) -> np.ndarray:
        return (base * share).astype(np.int64)

    spent_today = money(mixed(rng, n, (0.0, 0.25, 0.5, 0.999, 1.0, 1.2), 0.0, 1.5))
    last_spent = (spent_today * rng.uniform(0.0, 1.0, n)).astype(np.int64)
    refund = rng.random(n) < 0.1  # last_spent above spent_today
    last_spent[refund] = money(rng.uniform(0.0, 1.5, n))[refund]
    return {
        "strategy": rng.choice(np.array(STRATEGIES, dtype=np.int8), n),
        "daily": daily,
        "spent_today": spent_today,
        "held": money(rng.choice([0.0, 0.0, 0.01, 0.1, 0.5, 1.0], n)),
        "last_spent": last_spent,
    }


def ceilings(rng: np.random.Generator, n: int) -> np.ndarray:
    """Multiplier ceilings (>= 1): 1 (no catch-up) half the time, else up to 10."""
    return mixed(rng, n, (1.0, 1.0, 2.0, 10.0), 1.0, 10.0)


def untouched(strategy: np.ndarray, code: int, after: np.ndarray, before: np.ndarray) -> None:
    """Campaigns on another strategy keep their state bit for bit."""
    other = strategy != code
    assert_array_equal(after[other], before[other])


# --------------------------------------------------------------------------- dual


@cases(2000)
@given(
    seed=SEEDS,
    n=SIZES,
    planned=st.tuples(PLANNED, PLANNED),
    ordered=st.booleans(),
    step=st.one_of(st.sampled_from([0.0, 0.05, 0.5]), st.floats(0.0, 2.0)),
    mu_max=st.sampled_from([0.5, 1.0, 10.0, 100.0]),
)
def test_dual_update_matches_reference(
    seed: int,
    n: int,
    planned: tuple[float, float],
    ordered: bool,
    step: float,
    mu_max: float,
) -> None:
    rng = np.random.default_rng(seed)
    camp = campaigns(rng, n)
    ceiling = ceilings(rng, n)
    mu0 = mixed(rng, n, (0.0, mu_max), 0.0, mu_max)
    # a third catching up: a multiplier between 1 and the ceiling
    behind = rng.random(n) < 0.3
    mu0[behind] = (1.0 / rng.uniform(1.0, ceiling) - 1.0)[behind]
    planned_prev, planned_now = sorted(planned) if ordered else planned
    mu, last = mu0.copy(), camp["last_spent"].copy()
    money = (camp["strategy"], camp["daily"], camp["spent_today"])
    dual_update(mu, *money, last, ceiling, planned_prev, planned_now, step, mu_max)
    want_mu, want_last = ref.dual_update(
        mu0, *money, camp["last_spent"], planned_prev, planned_now, step, mu_max, ceiling
    )
    close(mu, want_mu, scale=mu_max)
    assert_array_equal(last, want_last)
    # Properties: the projection keeps mu in [floor, mu_max], so the multiplier
    # 1 / (1 + mu) is at most the ceiling, exactly; other strategies untouched; a DUAL
    # campaign's last_spent becomes its spend today.
    dual = camp["strategy"] == DUAL
    floors = np.array([dual_floor(c) for c in ceiling])
    assert np.all((mu[dual] >= floors[dual]) & (mu[dual] <= mu_max))
    assert np.all(1.0 / (1.0 + mu[dual]) <= ceiling[dual])
    untouched(camp["strategy"], DUAL, mu, mu0)
    untouched(camp["strategy"], DUAL, last, camp["last_spent"])
    assert_array_equal(last[dual], camp["spent_today"][dual])


@cases(1000)
@given(seed=SEEDS, n=SIZES, planned=st.tuples(PLANNED, PLANNED))
def test_dual_update_moves_mu_with_the_sign_of_overspend(
    seed: int, n: int, planned: tuple[float, float]
) -> None:
    """Spending more than the interval's target never lowers mu; less never raises it."""
    camp = campaigns(np.random.default_rng(seed), n)
    planned_prev, planned_now = sorted(planned)
    mu, last = np.full(n, 1.0), camp["last_spent"].copy()
    money = (camp["strategy"], camp["daily"], camp["spent_today"])
    dual_update(mu, *money, last, np.full(n, 3.0), planned_prev, planned_now, 0.1, 10.0)
    share = 0.0 if planned_prev >= 1 else (planned_now - planned_prev) / (1 - planned_prev)
    for c in range(n):
        if camp["strategy"][c] != DUAL or camp["daily"][c] <= 0:
            continue
        spent = int(camp["spent_today"][c]) - int(camp["last_spent"][c])
        target = max(int(camp["daily"][c]) - int(camp["last_spent"][c]), 0) * share
        if spent > target * (1 + 1e-9):
            assert mu[c] >= 1.0
        if spent < target * (1 - 1e-9):
            assert mu[c] <= 1.0


# --------------------------------------------------------------------------- PID

GAIN = st.one_of(st.sampled_from([0.0, 1.0, 10.0, 20.0]), st.floats(0.0, 50.0))
KI = st.one_of(st.sampled_from([0.0, 0.0, 0.5, 2.0, 10.0]), st.floats(0.0, 20.0))
# Positive kd and dt_hours from 1e-6 (3.6 ms) up: below that the derivative term overflows,
# and where it does the JIT's reassociation of kd * (de / dt) changes inf to a number.
KD = st.one_of(st.sampled_from([0.0, 0.0, 0.01, 0.1]), st.floats(1e-6, 1.0))
DT = st.one_of(st.sampled_from([0.0, 1 / 60, 0.25, 1.0]), st.floats(1e-6, 2.0))


@cases(2000)
@given(
    seed=SEEDS,
    n=SIZES,
    planned_now=PLANNED,
    dt_hours=DT,
    kp=GAIN,
    ki=KI,
    kd=KD,
    min_multiplier=UNIT,
)
def test_pid_update_matches_reference(
    seed: int,
    n: int,
    planned_now: float,
    dt_hours: float,
    kp: float,
    ki: float,
    kd: float,
    min_multiplier: float,
) -> None:
    rng = np.random.default_rng(seed)
    camp = campaigns(rng, n)
    ceiling = ceilings(rng, n)
    # Plan anchors: midnight (0, 0) half the time, else anywhere up to 0.99 (or 1).
    plan0 = mixed(rng, n, (0.0, 0.0, 0.5, 1.0), 0.0, 0.99)
    share0 = np.where(plan0 == 0.0, 0.0, mixed(rng, n, (0.0, 0.25), 0.0, 1.2))
    u0 = mixed(rng, n, UNIT_SPECIALS, 0.0, 1.0) * ceiling
    bound = min(1.0 / ki, 5.0) if ki > 0 else 5.0  # within the clamp
    i0 = mixed(rng, n, (0.0, -bound, bound), -bound, bound)
    e0 = mixed(rng, n, (0.0, planned_now), -1.5, 1.5)
    u, integral, prev = u0.copy(), i0.copy(), e0.copy()
    money = (camp["strategy"], camp["daily"], camp["spent_today"], camp["held"])
    gains = (dt_hours, kp, ki, kd, min_multiplier)
    pid_update(u, integral, prev, *money, plan0, share0, ceiling, planned_now, *gains)
    want_u, want_i, want_e = ref.pid_update(
        u0, i0, e0, *money, planned_now, *gains, plan0, share0, ceiling
    )
    # Errors are up to about 100 in size (an anchor at 0.99: the plan's slope is 100),
    # the integral at most 5 plus that times dt, the derivative term kd * 2 * that / dt
    # (an output with a larger term is clipped to the ceiling or min_multiplier,
    # exactly, in both).
    e_size = max(3.0, float(np.max(np.abs(want_e))))
    d_size = min(kd * 2.0 * e_size / dt_hours, 1e6) if dt_hours > 0 else 0.0
    close(u, want_u, scale=1.0 + kp * e_size + ki * 5.0 + d_size)
    close(integral, want_i, scale=5.0 + e_size * dt_hours)
    close(prev, want_e, scale=e_size)
    # Properties: the multiplier is in [min_multiplier, ceiling]; the integral term is in
    # [-1, max(1, ceiling - 1)] when ki > 0; other strategies untouched.
    pid = camp["strategy"] == PID
    assert np.all((u[pid] >= min_multiplier) & (u[pid] <= ceiling[pid]))
    if ki > 0:
        high = np.array([max(1.0, float(c) - 1.0) / ki for c in ceiling])  # inf: tiny ki
        assert np.all((integral[pid] >= -1.0 / ki) & (integral[pid] <= high[pid]))
    for after, before in ((u, u0), (integral, i0), (prev, e0)):
        untouched(camp["strategy"], PID, after, before)


@cases(2000)
@given(
    seed=SEEDS,
    n=SIZES,
    planned_now=PLANNED,
    dt_hours=st.one_of(DT, st.sampled_from([5e-324, 1e-300]), st.floats(0.0, 1.0)),
    kp=GAIN,
    min_multiplier=UNIT,
)
def test_pid_without_integral_or_derivative_is_the_proportional_controller(
    seed: int, n: int, planned_now: float, dt_hours: float, kp: float, min_multiplier: float
) -> None:
    """With ki = kd = 0 the PID output is the proportional pacing rule
    ``clip(1 - kp * (committed - planned), min, 1)`` (the engine's rule before these
    controllers, kept in the reference), whatever the integral and previous error hold,
    for every campaign with budget left, and however short the interval (no derivative
    term at all when kd = 0, not 0 * inf)."""
    rng = np.random.default_rng(seed)
    camp = campaigns(rng, n)
    strategy = np.full(n, PID, dtype=np.int8)
    u = mixed(rng, n, UNIT_SPECIALS, 0.0, 1.0)
    integral = mixed(rng, n, (0.0,), -100.0, 100.0)
    prev = mixed(rng, n, (0.0,), -1.5, 1.5)
    daily, spent, held = camp["daily"], camp["spent_today"], camp["held"]
    gains = (dt_hours, kp, 0.0, 0.0, min_multiplier)
    zeros, ones = np.zeros(n), np.ones(n)
    money = (strategy, daily, spent, held)
    pid_update(u, integral, prev, *money, zeros, zeros, ones, planned_now, *gains)
    mult = np.array(
        ref.proportional_multipliers(daily, spent, held, planned_now, kp, min_multiplier)
    )
    left = (daily > 0) & (spent + held < daily)
    close(u[left], mult[left], scale=1.0 + kp * 2.0)


# --------------------------------------------------------------------------- throttle


@cases(2000)
@given(
    seed=SEEDS,
    n=SIZES,
    requests=st.one_of(st.sampled_from([0, 1, 200]), st.integers(0, 10**6)),
    remaining=st.one_of(st.sampled_from([1.0, 200.0]), st.floats(1.0, 1e8)),
    smoothing=st.one_of(st.sampled_from([0.1, 1.0]), st.floats(0.01, 1.0)),
    p_min=st.one_of(st.sampled_from([0.0, 0.01]), st.floats(0.0, 0.5)),
)
def test_throttle_update_matches_reference(
    seed: int,
    n: int,
    requests: int,
    remaining: float,
    smoothing: float,
    p_min: float,
) -> None:
    rng = np.random.default_rng(seed)
    camp = campaigns(rng, n)
    p0 = mixed(rng, n, UNIT_SPECIALS, 0.0, 1.0)
    s0 = mixed(rng, n, (0.0, 0.0, 1.0, 300.0), 0.0, 1e5)
    p, spr, last = p0.copy(), s0.copy(), camp["last_spent"].copy()
    money = (camp["strategy"], camp["daily"], camp["spent_today"], camp["held"])
    throttle_update(p, spr, *money, last, requests, remaining, smoothing, p_min)
    want_p, want_s, want_last = ref.throttle_update(
        p0, s0, *money, camp["last_spent"], requests, remaining, smoothing, p_min
    )
    close(p, want_p)
    finite = np.abs(np.array(want_s))[np.isfinite(want_s)]
    close(spr, want_s, scale=float(np.max(finite, initial=1.0)))
    assert_array_equal(last, want_last)
    # Properties: p is 0 exactly when no budget is left, else in [p_min, 1]; other
    # strategies untouched.
    thr = camp["strategy"] == THROTTLE
    left = camp["daily"] - camp["spent_today"] - camp["held"]
    assert np.all(p[thr & (left <= 0)] == 0.0)
    live = p[thr & (left > 0)]
    assert np.all((live >= min(p_min, 1.0)) & (live <= 1.0))
    for after, before in ((p, p0), (spr, s0), (last, camp["last_spent"])):
        untouched(camp["strategy"], THROTTLE, after, before)


# --------------------------------------------------------------------------- ceilings


@cases(1000)
@given(seed=SEEDS, n=SIZES, max_multiplier=st.sampled_from([1.0, 2.0, 10.0, 1000.0]))
def test_ceilings_match_reference_and_clamp_state(seed: int, n: int, max_multiplier: float) -> None:
    """``catch_up_ceiling`` against its reference (exactly; the max-bid property itself
    is in test_pacing_catchup.py), and ``clamp_to_ceiling`` bringing PID and dual state
    within the ceilings while leaving everything else alone."""
    rng = np.random.default_rng(seed)
    strategy = rng.integers(0, 4, n).astype(np.int8)
    amount = mixed(rng, n, (0.0, 1.0, 0.002), 1e-6, 100.0)
    max_bid = mixed(rng, n, (1.0, 5.0), 1e-3, 1e3)
    ceiling = np.full(n, np.nan)
    catch_up_ceiling(ceiling, strategy, amount, max_bid, max_multiplier)
    want = ref.catch_up_ceiling(strategy, amount, max_bid, max_multiplier)
    assert_array_equal(ceiling, np.array(want))
    assert np.all((ceiling >= 1.0) & (ceiling <= max_multiplier))
    pacing = rng.choice(np.array(STRATEGIES, dtype=np.int8), n)
    mu0, u0 = rng.uniform(-0.99, 5.0, n), rng.uniform(0.0, 20.0, n)
    mu, u = mu0.copy(), u0.copy()
    clamp_to_ceiling(mu, u, pacing, ceiling)
    pid, dual = pacing == PID, pacing == DUAL
    assert_array_equal(u[pid], np.minimum(u0, ceiling)[pid])
    floors = np.array([ref.dual_floor(c) for c in ceiling])
    assert_array_equal(mu[dual], np.maximum(mu0, floors)[dual])
    assert np.all(1.0 / (1.0 + mu[dual]) <= ceiling[dual])
    assert_array_equal(u[~pid], u0[~pid])
    assert_array_equal(mu[~dual], mu0[~dual])


# --------------------------------------------------------------------------- multipliers

KEYS = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**63, 2**64 - 1]))


def keys_for(rng: np.random.Generator, n: int) -> np.ndarray:
    """``uint64`` keys: any, or one of 0, 1, 2**63, 2**64 - 1."""
    special = np.array([0, 1, 2**63, 2**64 - 1], dtype=np.uint64)
    free = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
    return np.where(rng.random(n) < 0.2, rng.choice(special, n), free)


@cases(2000)
@given(seed=SEEDS, n=SIZES, request_key=KEYS)
def test_strategy_multipliers_match_reference(seed: int, n: int, request_key: int) -> None:
    rng = np.random.default_rng(seed)
    strategy = rng.choice(np.array(STRATEGIES, dtype=np.int8), n)
    mu = mixed(rng, n, (0.0, 1.0), 0.0, 100.0)
    u = mixed(rng, n, UNIT_SPECIALS, 0.0, 1.0)
    p = mixed(rng, n, UNIT_SPECIALS, 0.0, 1.0)
    keys = keys_for(rng, n)
    # Some p exactly at the campaign's draw (it sits out: draw < p fails) or one ulp
    # above it (it takes part), pinning the draw bit for bit.
    draws = [ref.unit_uniform(ref.splitmix64(int(k) ^ request_key)) for k in keys]
    at_draw = rng.random(n) < 0.3
    p = np.where(at_draw, np.array(draws), p)
    p = np.where(at_draw & (rng.random(n) < 0.5), np.nextafter(p, 2.0), p)
    mult = np.full(n, np.nan)
    strategy_multipliers(mult, strategy, mu, u, p, keys, np.uint64(request_key))
    assert_array_equal(mult, ref.strategy_multipliers(strategy, mu, u, p, keys, request_key))
    # Properties: every multiplier is in [0, 1] (u is drawn in [0, 1]); throttled
    # campaigns bid in full or not at all, and surely take part when p = 1.
    assert np.all((mult >= 0.0) & (mult <= 1.0))
    thr = strategy == THROTTLE
    assert np.all((mult[thr] == 0.0) | (mult[thr] == 1.0))
    assert np.all(mult[thr & (p == 1.0)] == 1.0)
    assert np.all(mult[thr & (p == 0.0)] == 0.0)
    assert np.all(mult[strategy == ASAP] == 1.0)


@cases(1000)
@given(
    seed=SEEDS,
    n=SIZES,
    planned=st.tuples(PLANNED, PLANNED, PLANNED),
    kp=GAIN,
    ki=KI,
    kd=KD,
    min_multiplier=UNIT,
    request_key=KEYS,
)
def test_multipliers_after_updates_are_in_range(
    seed: int,
    n: int,
    planned: tuple[float, float, float],
    kp: float,
    ki: float,
    kd: float,
    min_multiplier: float,
    request_key: int,
) -> None:
    """Run every controller on a mixed set of campaigns for a few intervals, then take
    multipliers: THROTTLE and ASAP in [0, 1], DUAL in [0, ceiling], PID in
    [min_multiplier, ceiling], mu in [dual_floor(ceiling), mu_max]."""
    rng = np.random.default_rng(seed)
    camp = campaigns(rng, n)
    s, d, spent, held = camp["strategy"], camp["daily"], camp["spent_today"], camp["held"]
    ceiling = ceilings(rng, n)
    zeros = np.zeros(n)
    mu = mixed(rng, n, (0.0,), 0.0, 10.0)
    u, integral, prev = np.ones(n), np.zeros(n), np.zeros(n)
    p, spr = mixed(rng, n, UNIT_SPECIALS, 0.0, 1.0), mixed(rng, n, (0.0,), 0.0, 1e4)
    last_d, last_t = camp["last_spent"].copy(), camp["last_spent"].copy()
    previous = 0.0
    for now in sorted(planned):
        dual_update(mu, s, d, spent, last_d, ceiling, previous, now, 0.5, 10.0)
        pid_update(
            u, integral, prev, s, d, spent, held, zeros, zeros, ceiling, now, 0.25, kp, ki,
            kd, min_multiplier,
        )  # fmt: skip
        throttle_update(p, spr, s, d, spent, held, last_t, 200, 1e4, 0.2, 0.01)
        previous = now
        spent = spent + (d * rng.uniform(0.0, 0.2, n)).astype(np.int64).clip(0)
    mult = np.full(n, np.nan)
    strategy_multipliers(mult, s, mu, u, p, keys_for(rng, n), np.uint64(request_key))
    floors = np.array([dual_floor(c) for c in ceiling])
    assert np.all((mu >= floors) & (mu <= 10.0))
    assert np.all((mult >= 0.0) & (mult <= ceiling))
    assert np.all(mult[(s == ASAP) | (s == THROTTLE)] <= 1.0)
    assert np.all(mult[s == PID] >= min_multiplier)


def test_throttle_participation_frequency_is_binomial() -> None:
    """Over 20,000 request keys a campaign with probability p takes part in a share of
    requests within 5 binomial standard deviations, 5 * sqrt(p (1 - p) / 20000), of p
    (at most 0.0177; a deviation that large has probability below 6e-7 per check), and
    two campaigns' draws are independent: both take part in p1 * p2 of the requests,
    within the same bound."""
    n_req = 20_000
    p = np.array([0.0, 0.01, 0.05, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0])
    k = p.shape[0]
    strategy = np.full(k, THROTTLE, dtype=np.int8)
    keys = np.random.default_rng(11).integers(0, 2**63, size=k, dtype=np.uint64)
    request_keys = np.random.default_rng(12).integers(0, 2**63, size=n_req, dtype=np.uint64)
    zeros = np.zeros(k)
    mult = np.empty(k)
    taken = np.zeros((n_req, k))
    for r in range(n_req):
        strategy_multipliers(mult, strategy, zeros, zeros, p, keys, request_keys[r])
        taken[r] = mult
    freq = taken.mean(axis=0)
    bound = 5.0 * np.sqrt(p * (1.0 - p) / n_req)
    assert np.all(np.abs(freq - p) <= bound)
    both = (taken[:, 5] * taken[:, 6]).mean()  # p = 0.5 and 0.7
    q = 0.5 * 0.7
    assert abs(both - q) <= 5.0 * math.sqrt(q * (1 - q) / n_req)


# --------------------------------------------------------------------------- forecast

BIN_COUNTS = st.sampled_from([1, 2, 3, 7, 24, 96])
COUNT_SPECIALS = (0.0, 0.0, 1.0, 1000.0)
SECOND_SPECIALS = (0.0, 1.0, 3599.999, 3600.0, 43200.0, 86399.0, DAY, -5.0, DAY + 10)
SECONDS = st.one_of(st.sampled_from(SECOND_SPECIALS), st.floats(0.0, DAY))


@cases(2000)
@given(
    seed=SEEDS,
    bins=BIN_COUNTS,
    alpha=st.one_of(st.sampled_from([0.1, 0.5, 1.0]), st.floats(0.0, 1.0)),
    days_seen=st.sampled_from([0, 0, 1, 5]),
)
def test_forecast_update_matches_reference(
    seed: int, bins: int, alpha: float, days_seen: int
) -> None:
    rng = np.random.default_rng(seed)
    f0 = mixed(rng, bins, COUNT_SPECIALS, 0.0, 1e7)
    counts = mixed(rng, bins, COUNT_SPECIALS, 0.0, 1e7).astype(np.int64)
    forecast = f0.copy()
    forecast_update(forecast, counts, alpha, days_seen)
    close(forecast, ref.forecast_update(f0, counts, alpha, days_seen), scale=1e7)
    if days_seen == 0:
        assert_array_equal(forecast, counts)
    else:  # a weighted mean of yesterday's forecast and today's counts is between them
        lo, hi = np.minimum(f0, counts), np.maximum(f0, counts)
        assert np.all((forecast >= lo * (1 - 1e-12)) & (forecast <= hi * (1 + 1e-12)))


@cases(2000)
@given(seed=SEEDS, bins=BIN_COUNTS, seconds=SECONDS)
def test_planned_share_and_remaining_requests_match_reference(
    seed: int, bins: int, seconds: float
) -> None:
    forecast = mixed(np.random.default_rng(seed), bins, COUNT_SPECIALS, 0.0, 1e7)
    total = float(forecast.sum())
    share = planned_share(forecast, seconds)
    left = remaining_requests(forecast, seconds)
    close(share, ref.planned_share(forecast, seconds))
    close(left, ref.remaining_requests(forecast, seconds), scale=max(total, 1.0))
    # Consistency: the requests still to come are the rest of the forecast day.
    assert 0.0 <= share <= 1.0
    assert_allclose(left, max(1.0, total * (1.0 - share)), rtol=1e-9, atol=1e-6)


@cases(2000)
@given(seed=SEEDS, bins=BIN_COUNTS, k=st.integers(2, 60))
def test_planned_share_is_a_cumulative_share_of_the_day(seed: int, bins: int, k: int) -> None:
    """Non-decreasing in time (exactly, not to a tolerance), 0 at midnight, 1 at the end
    of the day, for any forecast of non-negative counts (all zeros: the flat curve).
    Times bunch within bins and on bin edges half the time."""
    rng = np.random.default_rng(seed)
    forecast = mixed(rng, bins, COUNT_SPECIALS, 0.0, 1e7)
    edges = np.arange(bins + 1) * (DAY / bins)
    near_edges = rng.choice(edges, k) + rng.choice([-1e-6, 0.0, 1e-6], k)
    times = np.sort(
        np.where(rng.random(k) < 0.5, near_edges, mixed(rng, k, SECOND_SPECIALS, 0, DAY))
    )
    shares = [planned_share(forecast, t) for t in times]
    assert all(a <= b for a, b in zip(shares[:-1], shares[1:], strict=True))
    assert planned_share(forecast, 0.0) == 0.0
    assert planned_share(forecast, DAY) == 1.0
    if forecast.sum() <= 0.0:
        assert_allclose(shares, np.clip(times, 0.0, DAY) / DAY, rtol=1e-15)


# --------------------------------------------------------------------------- market
#
# A stationary market: each request is one second-price auction for the campaign.
# Its value is v ~ U(0, VMAX) micro-units and the highest competing bid d ~ U(0, VMAX);
# bidding b the campaign wins when b > d and pays floor(d). Spend per request at bid b is
# E[d; d < b] = b**2 / (2 VMAX), so unthrottled (b = v) it is VMAX / 6, shading the bid
# to v / (1 + mu) gives VMAX / (6 (1 + mu)**2), a multiplier u gives u**2 VMAX / 6, and
# taking part with probability p gives p VMAX / 6. With a budget of 40 % of the
# unthrottled spend the controllers should settle at mu* = sqrt(2.5) - 1 = 0.581,
# u* = sqrt(0.4) = 0.632 and p* = 0.4.

VMAX = 2000.0
PER_MINUTE = 200
MINUTES = 1440
BUDGET_SHARE = 0.4
MU_STAR = math.sqrt(1.0 / BUDGET_SHARE) - 1.0
U_STAR = math.sqrt(BUDGET_SHARE)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def participation(p: float, camp_key: np.uint64, request_keys: np.ndarray) -> np.ndarray:
    """The THROTTLE multiplier of ``strategy_multipliers`` for many requests at once
    (vectorised splitmix64; checked against the kernel below)."""
    z = (camp_key ^ request_keys) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) * 2.0**-53 < p).astype(np.float64)


def test_vectorised_participation_is_the_kernel() -> None:
    keys = np.arange(5000, dtype=np.uint64) * np.uint64(2654435761)
    for p in (0.0, 0.3, 0.77, 1.0):
        one = np.empty(1)
        camp = np.array([987654321], dtype=np.uint64)
        z = np.zeros(1)
        kernel = []
        for k in keys[:500]:
            strategy_multipliers(one, np.array([THROTTLE], np.int8), z, z, np.array([p]), camp, k)
            kernel.append(one[0])
        assert_array_equal(participation(p, camp[0], keys[:500]), kernel)


def auction_spend(rng: np.random.Generator, n: int, mult: float | np.ndarray, left: int) -> int:
    """Spend of ``n`` auctions bidding ``value * mult``, capped at the ``left`` budget: a
    win the budget cannot pay is lost (the engine caps every bid at what is left)."""
    v = rng.uniform(0.0, VMAX, n)
    d = rng.uniform(0.0, VMAX, n)
    costs = np.floor(d[v * mult > d]).astype(np.int64)
    if int(costs.sum()) <= left:
        return int(costs.sum())
    spent = 0
    for cost in costs:
        if spent + int(cost) <= left:
            spent += int(cost)
    return spent


def simulate_day(code: int, seed: int) -> dict[str, np.ndarray]:
    """One campaign pacing a day of 1,440 one-minute intervals of PER_MINUTE auctions
    with strategy ``code``; returns per-interval controller state, spend and plan."""
    rng = np.random.default_rng(seed)
    budget = int(BUDGET_SHARE * VMAX / 6 * PER_MINUTE * MINUTES)
    strategy = np.array([code], np.int8)
    daily = np.array([budget], np.int64)
    spent, held = np.zeros(1, np.int64), np.zeros(1, np.int64)
    last = np.zeros(1, np.int64)
    mu, u, integral, prev = np.zeros(1), np.ones(1), np.zeros(1), np.zeros(1)
    p, spr, mult = np.ones(1), np.zeros(1), np.empty(1)
    camp_key = np.array([12345], np.uint64)
    zero, one = np.zeros(1), np.ones(1)  # plan from midnight; no catch-up (ceiling 1)
    flat = np.full(24, PER_MINUTE * 60.0)  # the true (flat) traffic, known here
    state, spend, plan = [], [], []
    for i in range(MINUTES):
        if code == THROTTLE:
            request_keys = np.arange(i * PER_MINUTE, (i + 1) * PER_MINUTE, dtype=np.uint64)
            m: float | np.ndarray = participation(p[0], camp_key[0], request_keys)
        else:
            strategy_multipliers(mult, strategy, mu, u, p, camp_key, np.uint64(i))
            m = mult[0]
        spent[0] += auction_spend(rng, PER_MINUTE, m, int(daily[0] - spent[0]))
        before, now = planned_share(flat, i * 60.0), planned_share(flat, (i + 1) * 60.0)
        if code == DUAL:
            dual_update(mu, strategy, daily, spent, last, one, before, now, 0.05, 10.0)
            state.append(mu[0])
        elif code == PID:
            pid_update(
                u, integral, prev, strategy, daily, spent, held, zero, zero, one, now, 1 / 60,
                10.0, 2.0, 0.0, 0.0,
            )  # fmt: skip
            state.append(u[0])
        else:
            left_requests = remaining_requests(flat, (i + 1) * 60.0)
            throttle_update(
                p, spr, strategy, daily, spent, held, last, PER_MINUTE, left_requests, 0.1, 0.01
            )
            state.append(p[0])
        spend.append(spent[0])
        plan.append(now)
    return {
        "budget": np.array(budget),
        "state": np.array(state),
        "spend": np.array(spend),
        "plan": np.array(plan),
    }


def check_day(day: dict[str, np.ndarray], end_tolerance: float, plan_tolerance: float) -> None:
    budget = int(day["budget"])
    assert np.all(day["spend"] <= budget)  # spend never exceeds the budget
    assert day["spend"][-1] >= (1.0 - end_tolerance) * budget
    assert np.max(np.abs(day["spend"] / budget - day["plan"])) <= plan_tolerance


def test_dual_pacing_converges_on_a_stationary_market() -> None:
    day = simulate_day(DUAL, seed=7)
    # mu is an AR(1) around mu*: a relative overspend x moves it by 0.05 x, and spend
    # falls by 2 / (1 + mu*) = 1.26 per unit of mu, so it reverts by 6.3 % a minute.
    # A minute's spend, the sum of 200 draws of X = d [d < b] with b = v / (1 + mu*),
    # has a relative noise of sd(X) / (E[X] sqrt(200)) = 258 / (133 * 14.1) = 0.14, so
    # mu's stationary standard deviation is 0.05 * 0.14 / sqrt(1 - 0.937**2) = 0.020,
    # 3.4 % of mu*. Over the last half of the day: spread (std / mean) under 8 % (over
    # twice that), mean within 0.03 of mu*.
    half = day["state"][MINUTES // 2 :]
    assert half.std() / half.mean() <= 0.08
    assert abs(half.mean() - MU_STAR) <= 0.03
    # Starting from mu = 0 the campaign overspends 2.5x for the ~10 minutes mu takes to
    # rise (<= 1 % of the budget); after that it re-targets what is left over what is
    # to come. End within 2 % of the budget, and within 2 % of plan all day.
    check_day(day, end_tolerance=0.02, plan_tolerance=0.02)


def test_pid_pacing_converges_on_a_stationary_market() -> None:
    day = simulate_day(PID, seed=8)
    # Whenever the campaign is ahead of plan by more than (1 - u*) / kp = 0.037, the
    # proportional term alone (the integral is <= 0 while ahead) holds u below u*, so
    # spend falls behind the plan's rate: the gap stays under 0.037 plus a minute's
    # noise. Bound 0.05. The integral removes the steady offset: u settles at u*.
    check_day(day, end_tolerance=0.05, plan_tolerance=0.05)
    half = day["state"][MINUTES // 2 :]
    assert abs(half.mean() - U_STAR) <= 0.03


def test_throttling_converges_on_a_stationary_market() -> None:
    day = simulate_day(THROTTLE, seed=9)
    # The first minute runs at p = 1 (2.5x the planned rate, 0.2 % of the budget); from
    # then on p re-targets the remaining budget over the remaining requests every minute.
    check_day(day, end_tolerance=0.05, plan_tolerance=0.01)
    half = day["state"][MINUTES // 2 : -60]  # the last hour re-targets a small remainder
    assert abs(half.mean() - BUDGET_SHARE) <= 0.03


# --------------------------------------------------------------------------- diurnal
#
# The same market, with requests per minute ~ Poisson(PER_MINUTE * shape(t)) where
# shape(t) = 1 + 0.8 cos(2 pi (t - 20 h) / 24 h) peaks at 20:00 UTC (1.8x the mean) and
# bottoms out at 08:00 (0.2x). The campaign paces with DUAL against the planned share of
# the forecast learned so far (none on the first day: the flat curve).

BINS = 24
AMPLITUDE = 0.8
PEAK_HOUR = 20.0


def traffic_shape(hours: float) -> float:
    return 1.0 + AMPLITUDE * math.cos(2.0 * math.pi * (hours - PEAK_HOUR) / 24.0)


def true_share(seconds: float) -> float:
    """The integral of traffic_shape from midnight, over its integral over the day."""
    w = 2.0 * math.pi / 24.0
    h = seconds / 3600.0
    swing = AMPLITUDE / w * (math.sin(w * (h - PEAK_HOUR)) - math.sin(w * -PEAK_HOUR))
    return (h + swing) / 24.0


def test_learned_forecast_tracks_a_diurnal_curve_and_paces_to_it() -> None:
    rng = np.random.default_rng(21)
    budget = int(BUDGET_SHARE * VMAX / 6 * PER_MINUTE * MINUTES)
    strategy, daily = np.array([DUAL], np.int8), np.array([budget], np.int64)
    mu, forecast = np.zeros(1), np.zeros(BINS)
    spreads, days = [], []
    for day in range(3):
        spent, last = np.zeros(1, np.int64), np.zeros(1, np.int64)
        counts = np.zeros(BINS, np.int64)
        mus, spend, plan = [], [], []
        for i in range(MINUTES):
            start = i * 60.0
            n = int(rng.poisson(PER_MINUTE * traffic_shape((start + 30.0) / 3600.0)))
            counts[int(start * BINS / DAY)] += n
            spent[0] += auction_spend(rng, n, 1.0 / (1.0 + mu[0]), int(budget - spent[0]))
            before = planned_share(forecast, start)
            now = planned_share(forecast, start + 60.0)
            dual_update(mu, strategy, daily, spent, last, np.ones(1), before, now, 0.05, 10.0)
            mus.append(mu[0])
            spend.append(spent[0])
            plan.append(now)
        forecast_update(forecast, counts, 0.5, day)
        half = np.array(mus[MINUTES // 2 :])
        spreads.append(half.std() / half.mean())
        days.append({"budget": np.array(budget), "spend": np.array(spend), "plan": np.array(plan)})

    # After 3 days (weights 0.25, 0.25, 0.5 on the days' counts) the learned share is
    # within 0.004 of the true one over the whole day:
    # - linear interpolation in 1-hour bins: at most h**2 / 8 * max|rate'| / daily total
    #   = 1 / 8 * (0.8 * 2 pi / 24 * 12,000) / 288,000 = 0.0011;
    # - counting noise: the share of N = 288,000 requests a day, averaged with those
    #   weights (effective N / 0.375 = 768,000), has standard deviation at most
    #   sqrt(0.25 / 768,000) = 0.00057; its largest deviation over the day is that of a
    #   Brownian bridge, over 5 of those (0.0029) with probability 2 exp(-2 * 2.54**2)
    #   < 1e-5. 0.0011 + 0.0029 = 0.004.
    grid = np.linspace(0.0, DAY, 1441)
    error = max(abs(planned_share(forecast, t) - true_share(t)) for t in grid)
    assert error <= 0.004
    assert abs(remaining_requests(forecast, 0.0) - PER_MINUTE * MINUTES) <= 0.01 * (
        PER_MINUTE * MINUTES
    )  # the day's volume: within 1 % (its standard deviation is 0.2 %)

    # Pacing to the learned curve on the last day: on plan and on budget, with mu as
    # steady as on a flat market (bounds of test_dual_pacing_converges_...), while on
    # the first day the flat plan fights the traffic curve and mu swings far more.
    check_day(days[2], end_tolerance=0.02, plan_tolerance=0.02)
    assert spreads[2] <= 0.08
    assert spreads[0] >= 3 * spreads[2]
