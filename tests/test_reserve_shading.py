"""The learners of ``adcore._kernels.reserve`` (dynamic reserve prices by empirical revenue
maximisation) and ``adcore._kernels.shading`` (first-price bid shading from the win-rate
curve): each kernel against its naive reference in ``tests/reference/learning.py``,
their invariants as hypothesis properties, and what they learn on simulated markets with
known optima.

State has the engine's dtypes: ``float64 (S, B)`` statistics per slot and grid price,
``float64 (S,)`` weights, ``float64`` grids with ``grid[0] == 0``. Bids and grid prices
are drawn partly from one small set of values, so that bids equal to grid prices (bucket
edges, reserves met exactly) are common.

Tolerances: decayed sums are compared to 1e-12 relative (the JIT may fuse ``x * decay +
add`` into one rounding); the fitted win-rate curve to 1e-9 (pool-adjacent-violators pools
in a different order from the reference's min-max formula). Choices made on one given
state (reserve, shaded bid) are compared exactly, except that the shaded bid may differ
from the reference's on a near tie, where both bids' surpluses must agree to 1e-9.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from adcore._kernels.reserve import price_grid, reserve_observe, reserve_price
from adcore._kernels.shading import (
    price_bucket,
    shade_bid,
    shading_record,
    shading_record_win,
)

try:
    from tests.reference import learning as ref
except ImportError:  # pytest run without the project root on sys.path
    from reference import learning as ref  # type: ignore[no-redef]

JIT_DISABLED = bool(numba.config.DISABLE_JIT)


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (a tenth without the JIT)."""
    return settings(
        max_examples=max(10, n // 10) if JIT_DISABLED else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


# --------------------------------------------------------------------------- inputs

PRICES = [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0]
BIDS = st.one_of(st.sampled_from([0.0, *PRICES]), st.floats(0.0, 10.0))
DECAYS = st.sampled_from([1.0, 1.0, 0.99, 0.9, 0.5])
GRID = price_grid(64, 0.05, 50.0)  # the grid of the market simulations


@st.composite
def grids(draw: st.DrawFn, max_size: int = 10) -> np.ndarray:
    """``0.0`` then up to ``max_size - 1`` distinct ascending positive prices."""
    pool = st.one_of(st.sampled_from(PRICES), st.floats(0.01, 20.0))
    prices = draw(st.sets(pool, min_size=1, max_size=max_size - 1))
    return np.array([0.0, *sorted(prices)], dtype=np.float64)


@st.composite
def shading_states(draw: st.DrawFn) -> dict[str, Any]:
    """A grid, ``tries``/``wins`` of 1-3 slots (other slots hold noise), a slot, a prior
    and ``min_tries``. Wins are mostly a fraction of tries, sometimes a little more (a
    win recorded after its try was decayed)."""
    grid = draw(grids())
    b = grid.shape[0]
    s = draw(st.integers(1, 3))
    counts = st.one_of(st.sampled_from([0.0, 0.0, 1.0, 2.0, 5.0, 40.0]), st.floats(0.0, 50.0))
    tries = np.full((s, b), 7.0)
    wins = np.full((s, b), 3.0)
    slot = draw(st.integers(0, s - 1))
    fracs = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0))
    extras = st.sampled_from([0.0, 0.0, 0.0, 0.0, 0.3])
    buckets = draw(st.lists(st.tuples(counts, fracs, extras), min_size=b, max_size=b))
    for j, (t, frac, extra) in enumerate(buckets):
        tries[slot, j] = t
        wins[slot, j] = t * frac + extra
    return {
        "grid": grid,
        "tries": tries,
        "wins": wins,
        "slot": slot,
        "prior": draw(st.sampled_from([0.1, 0.5, 1.0, 2.0])),
        "min_tries": draw(st.sampled_from([0.0, 0.0, 1.0, 5.0, 60.0])),
    }


def shade(state: dict[str, Any], value: float, floor: float) -> float:
    """The kernel's shaded bid, with fresh NaN-filled scratch (the kernel must not read
    it before writing)."""
    work = np.full(3 * state["grid"].shape[0], np.nan)
    return float(
        shade_bid(
            value,
            floor,
            state["tries"],
            state["wins"],
            state["slot"],
            state["grid"],
            state["prior"],
            state["min_tries"],
            work,
        )
    )


def ref_shade(state: dict[str, Any], value: float, floor: float) -> float:
    s = state["slot"]
    return ref.shade_bid(
        value,
        floor,
        list(state["tries"][s]),
        list(state["wins"][s]),
        list(state["grid"]),
        state["prior"],
        state["min_tries"],
    )


def index_of(grid: np.ndarray, price: float) -> int:
    (hits,) = np.nonzero(grid == price)
    assert hits.size == 1, f"{price} is not a grid price"
    return int(hits[0])


# --------------------------------------------------------------------------- price grid


def test_price_grid_is_zero_then_log_spaced() -> None:
    grid = price_grid(64, 0.05, 50.0)
    assert grid.dtype == np.float64 and grid.shape == (64,)
    assert grid[0] == 0.0
    assert_allclose(grid[[1, -1]], [0.05, 50.0], rtol=1e-12)
    assert np.all(np.diff(grid) > 0)
    ratios = grid[2:] / grid[1:-1]
    assert_allclose(ratios, np.full(62, 1000.0 ** (1 / 62)), rtol=1e-9)
    assert price_grid(2, 0.5, 9.0).tolist() == [0.0, 0.5]


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        ((1, 0.05, 50.0), "at least 2 prices"),
        ((8, 0.0, 50.0), "0 < low < high"),
        ((8, 5.0, 5.0), "0 < low < high"),
        ((8, 5.0, 1.0), "0 < low < high"),
        ((8, 0.05, math.inf), "0 < low < high"),
        ((8, math.nan, 1.0), "0 < low < high"),
    ],
)
def test_price_grid_rejects_bad_arguments(args: tuple[int, float, float], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        price_grid(*args)


# --------------------------------------------------------------------------- reserve: reference


@cases(600)
@given(
    grids(),
    st.integers(1, 3),
    st.lists(st.tuples(st.integers(0, 2), BIDS, BIDS, DECAYS), min_size=1, max_size=12),
    st.sampled_from([0.0, 1.0, 2.5, 5.0]),
)
def test_reserve_kernels_match_reference(
    grid: np.ndarray,
    s: int,
    auctions: list[tuple[int, float, float, float]],
    min_weight: float,
) -> None:
    b = grid.shape[0]
    revenue = np.zeros((s, b))
    weight = np.zeros(s)
    rows = [[0.0] * b for _ in range(s)]
    weights = [0.0] * s
    for slot, x, y, decay in auctions:
        slot %= s
        first, second = max(x, y), min(x, y)
        reserve_observe(revenue, weight, slot, first, second, grid, decay)
        rows[slot], weights[slot] = ref.reserve_observe(
            rows[slot], weights[slot], first, second, list(grid), decay
        )
    assert_allclose(revenue, rows, rtol=1e-12, atol=0)
    assert_allclose(weight, weights, rtol=1e-12, atol=0)
    for slot in range(s):  # the choice, on the kernel's own state, is exact
        got = reserve_price(revenue, weight, slot, grid, min_weight)
        want = ref.reserve_price(list(revenue[slot]), weight[slot], list(grid), min_weight)
        assert got == want


@cases(1000)
@given(
    grids(),
    st.lists(st.floats(0.0, 100.0), min_size=2, max_size=10),
    st.sampled_from([0.0, 1.0, 3.0]),
    st.floats(0.0, 5.0),
)
def test_reserve_price_is_the_lowest_best_grid_price(
    grid: np.ndarray, values: list[float], weight: float, min_weight: float
) -> None:
    b = grid.shape[0]
    row = np.resize(np.array(values), b)
    revenue = np.vstack([np.zeros(b), row])  # slot 1; slot 0 is never read
    r = reserve_price(revenue, np.array([9.0, weight]), 1, grid, min_weight)
    if weight < min_weight:
        assert r == 0.0
        return
    j = index_of(grid, r)
    assert row[j] == row.max()
    assert np.all(row[:j] < row[j])  # ties go to the lower reserve
    assert r == ref.reserve_price(list(row), weight, list(grid), min_weight)


# --------------------------------------------------------------------------- reserve: markets


def two_uniform_revenue(r: float) -> float:
    """Expected second-price revenue with reserve ``r`` in [0, 1] and two bidders with iid
    Uniform(0, 1) values: ``E[max(second, r); first >= r] = 1/3 + r^2 - 4 r^3 / 3``."""
    return 1.0 / 3.0 + r * r - 4.0 * r**3 / 3.0


def observe_uniform(
    revenue: np.ndarray,
    weight: np.ndarray,
    rng: np.random.Generator,
    n: int,
    high: float,
    decay: float,
) -> None:
    """``n`` auctions of slot 0 with two bidders bidding iid Uniform(0, high)."""
    bids = np.sort(rng.uniform(0.0, high, size=(n, 2)), axis=1)
    for k in range(n):
        reserve_observe(revenue, weight, 0, bids[k, 1], bids[k, 0], GRID, decay)


def test_two_uniform_revenue_formula_matches_simulation() -> None:
    # The formula the next tests rely on, checked against 10^6 simulated auctions
    # (per-auction revenue has sd < 0.3, so the mean's sd is < 3e-4; bound 2e-3).
    rng = np.random.default_rng(11)
    bids = np.sort(rng.uniform(size=(1_000_000, 2)), axis=1)
    for r in (0.0, 0.3, 0.5, 0.8):
        paid = np.where(bids[:, 1] >= r, np.maximum(bids[:, 0], r), 0.0)
        assert abs(paid.mean() - two_uniform_revenue(r)) < 2e-3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learned_reserve_is_near_myerson_optimum(seed: int) -> None:
    # Two bidders, values iid Uniform(0, 1): the virtual value 2v - 1 is zero at v = 1/2,
    # Myerson's optimal reserve, and expected revenue is 1/3 + r^2 - 4r^3/3 (5/12 at 1/2).
    # Near 0.5 the grid steps by ~0.055 (..., 0.415, 0.464, 0.519, 0.580, 0.648, ...), so
    # the best grid reserve is 0.519. The learner picks a grid price j only if its empirical
    # revenue beats 0.519's, i.e. the mean of X_k = paid_k(0.519) - paid_k(j) over the N
    # auctions falls to 0 from its expectation gap_j = R(0.519) - R(grid[j]). The nearest
    # prices more than two steps away are 0.371 (gap 0.0133, sd(X) 0.166) and 0.648 (gap
    # 0.026, sd(X) 0.218), and |X| <= 0.65, so by Bernstein's inequality with N = 20000,
    # P(mean X <= 0) <= exp(-N gap^2 / (2 sd^2 + 2/3 * 0.65 * gap)) < e^-58 for each, and
    # farther prices have larger gaps: the learned reserve is within two grid steps of the
    # grid price nearest 0.5.
    n = 20_000
    rng = np.random.default_rng(seed)
    revenue = np.zeros((1, GRID.shape[0]))
    weight = np.zeros(1)
    observe_uniform(revenue, weight, rng, n, 1.0, 1.0)
    r = reserve_price(revenue, weight, 0, GRID, 100.0)
    nearest = int(np.argmin(np.abs(GRID - 0.5)))
    assert abs(index_of(GRID, r) - nearest) <= 2, r
    # Expected revenue at the learned reserve beats no reserve (R(r) >= R(0) for every
    # r <= 3/4) and is within 0.01 of the optimum 5/12 (R(0.415) = 0.4104).
    assert two_uniform_revenue(r) >= two_uniform_revenue(0.0)
    assert two_uniform_revenue(r) >= two_uniform_revenue(0.5) - 0.01


def test_no_reserve_before_min_weight() -> None:
    rng = np.random.default_rng(3)
    revenue = np.zeros((2, GRID.shape[0]))
    weight = np.zeros(2)
    observe_uniform(revenue, weight, rng, 99, 1.0, 1.0)
    assert weight[0] == 99.0 and weight[1] == 0.0
    assert reserve_price(revenue, weight, 0, GRID, 100.0) == 0.0
    assert reserve_price(revenue, weight, 0, GRID, 99.0) > 0.0
    assert reserve_price(revenue, weight, 1, GRID, 1.0) == 0.0  # an unseen slot


def test_decayed_reserve_tracks_a_shift_in_bids() -> None:
    # 20000 auctions with bids Uniform(0, 1), then N = 25000 with bids Uniform(0, 2), whose
    # Myerson reserve is 1.0 (grid: ..., 0.810, 0.906, 1.013, 1.132, 1.265, ...).
    # With decay d = 0.9998 the old regime keeps d^25000 = e^-5 < 0.7 % of the weight, and
    # the decayed average is worth (1 + d) / (1 - d) ~ 10^4 independent auctions: the
    # argument of the stationary test (gap / sd scales as sqrt(sample size), and both the
    # gap and the per-auction revenue double with the bids) leaves about 11 * sqrt(1/2) = 8
    # sd between the best grid reserve and any price three steps from it. The old regime
    # can move a difference of average revenues by < 0.007 (its share of the weight times
    # its revenue per auction, <= 1), a quarter of the smallest such gap (2 * 0.0133).
    # Without decay the same stream leaves the reserve at the optimum of the mixture
    # (4/9) R(r) + (5/9) 2 R(r/2), near 0.65 on the grid, too low: decay is what tracks.
    d = 0.9998
    tracked = None
    for decay in (d, 1.0):
        rng = np.random.default_rng(5)
        revenue = np.zeros((1, GRID.shape[0]))
        weight = np.zeros(1)
        observe_uniform(revenue, weight, rng, 20_000, 1.0, decay)
        assert abs(reserve_price(revenue, weight, 0, GRID, 100.0) - 0.5) < 0.15
        observe_uniform(revenue, weight, rng, 25_000, 2.0, decay)
        r = reserve_price(revenue, weight, 0, GRID, 100.0)
        if decay < 1.0:
            tracked = r
            nearest = int(np.argmin(np.abs(GRID - 1.0)))
            assert abs(index_of(GRID, r) - nearest) <= 2, r
        else:
            mixture = [
                4 / 9 * (two_uniform_revenue(g) if g <= 1 else 0.0)
                + 5 / 9 * 2 * (two_uniform_revenue(g / 2) if g <= 2 else 0.0)
                for g in GRID
            ]
            assert abs(index_of(GRID, r) - int(np.argmax(mixture))) <= 2, r
            assert tracked is not None and r < tracked - 0.2


# --------------------------------------------------------------------------- shading: reference


@cases(1000)
@given(grids(), st.one_of(BIDS, st.floats(-5.0, 1e9), st.sampled_from([-1.0, 1e300])))
def test_price_bucket_matches_reference_and_numpy(grid: np.ndarray, price: float) -> None:
    got = price_bucket(grid, price)
    assert got == ref.price_bucket(list(grid), price)
    assert got == max(0, int(np.searchsorted(grid, price, side="right")) - 1)


@cases(600)
@given(
    grids(),
    st.integers(1, 3),
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 2), BIDS, st.booleans(), DECAYS),
        min_size=1,
        max_size=15,
    ),
)
def test_shading_record_matches_reference(
    grid: np.ndarray,
    s: int,
    events: list[tuple[bool, int, float, bool, float]],
) -> None:
    b = grid.shape[0]
    tries = np.zeros((s, b))
    wins = np.zeros((s, b))
    ref_tries = [[0.0] * b for _ in range(s)]
    ref_wins = [[0.0] * b for _ in range(s)]
    for is_try, slot, bid, won, decay in events:
        slot %= s
        bucket = price_bucket(grid, bid)
        if is_try:
            shading_record(tries, wins, slot, bucket, float(won), decay)
            ref_tries[slot], ref_wins[slot] = ref.shading_record(
                ref_tries[slot], ref_wins[slot], bucket, float(won), decay
            )
        else:
            shading_record_win(wins, slot, bucket)
            ref_wins[slot][bucket] += 1.0
    assert_allclose(tries, ref_tries, rtol=1e-12, atol=0)
    assert_allclose(wins, ref_wins, rtol=1e-12, atol=0)


@cases(600)
@given(shading_states())
def test_fitted_win_rate_curve_matches_isotonic_reference(state: dict[str, Any]) -> None:
    b = state["grid"].shape[0]
    work = np.full(3 * b, np.nan)
    s = state["slot"]
    shade_bid(1.0, 0.0, state["tries"], state["wins"], s, state["grid"], state["prior"], 0.0, work)
    curve = work[:b]
    want = ref.win_rate_curve(list(state["tries"][s]), list(state["wins"][s]), state["prior"])
    assert_allclose(curve, want, rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(curve) >= 0) and np.all((curve > 0) & (curve <= 1))


@cases(1000)
@given(shading_states(), BIDS, st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0]))
def test_shade_bid_matches_reference(state: dict[str, Any], value: float, floor: float) -> None:
    got = shade(state, value, floor)
    want = ref_shade(state, value, floor)
    if got == want:
        return
    # A near tie: both must be candidates with the same estimated surplus to 1e-9.
    s = state["slot"]
    curve = ref.win_rate_curve(list(state["tries"][s]), list(state["wins"][s]), state["prior"])
    grid = state["grid"]

    def surplus(bid: float) -> float:
        return 0.0 if bid == value else (value - bid) * curve[index_of(grid, bid)]

    assert floor <= got <= value
    assert abs(surplus(got) - surplus(want)) <= 1e-9 * max(1.0, value), (got, want)


# --------------------------------------------------------------------------- shading: properties


# Each example checks several values on one state: 500 states x 8 values. Values are 0 or
# at least 1e-9 CPM: for subnormal values the surplus (value - b) * w underflows to 0 and
# ties with bidding the value (the property holds in exact arithmetic, not there).
VALUE = st.one_of(st.sampled_from([0.0, *PRICES]), st.floats(1e-9, 10.0))
VALUES = st.lists(VALUE, min_size=8, max_size=8)
FLOORS = st.one_of(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0]), BIDS)


@cases(500)
@given(shading_states(), VALUES, FLOORS)
def test_shaded_bid_is_between_floor_and_value(
    state: dict[str, Any], values: list[float], floor: float
) -> None:
    for value in values:
        bid = shade(state, value, floor)
        if value < floor or value <= 0.0:
            assert bid == value
            continue
        assert floor <= bid <= value
        assert bid == value or bid in state["grid"]


@cases(500)
@given(shading_states(), VALUES, FLOORS)
def test_shaded_bid_is_monotone_in_value(
    state: dict[str, Any], values: list[float], floor: float
) -> None:
    values = sorted(values)
    bids = [shade(state, value, floor) for value in values]
    assert bids == sorted(bids), (values, bids)


@cases(300)
@given(shading_states(), st.floats(0.01, 10.0))
def test_no_shading_before_min_tries(state: dict[str, Any], value: float) -> None:
    # Just above the total (whose last bits depend on the order of summation).
    total = math.fsum(state["tries"][state["slot"]])
    state["min_tries"] = max(total * (1 + 1e-12), math.nextafter(total, math.inf))
    assert shade(state, value, 0.0) == value


def test_shade_bid_on_hand_made_states() -> None:
    # Without wins every bucket's rate is the same tiny 0.05 / 10.1 (prior 0.1), so the
    # largest surplus is at the lowest grid price; with evidence that 2.0 wins half the
    # time (surplus 0.5 * 0.5 against 2.5 * 0.005 at 0.0) the bid moves up to it.
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    tries = np.array([[10.0, 10.0, 10.0, 10.0]])
    work = np.empty(12)
    wins = np.zeros((1, 4))
    assert shade_bid(2.5, 0.0, tries, wins, 0, grid, 0.1, 1.0, work) == 0.0
    wins[0] = [0.0, 0.0, 5.0, 10.0]  # 2.0 wins half the time: surplus 0.5 * 0.5 beats
    assert shade_bid(2.5, 0.0, tries, wins, 0, grid, 0.1, 1.0, work) == 2.0
    assert shade_bid(2.5, 2.1, tries, wins, 0, grid, 0.1, 1.0, work) == 2.5  # floor > 2.0
    assert shade_bid(1.5, 0.0, tries, wins, 0, grid, 0.1, 1.0, work) == 0.0
    assert shade_bid(2.5, 0.0, tries, wins, 0, grid, 0.1, 41.0, work) == 2.5  # min_tries


# --------------------------------------------------------------------------- shading: market


def lognormal_cdf(x: float, mu: float, sigma: float) -> float:
    return 0.0 if x <= 0 else 0.5 * (1.0 + math.erf((math.log(x) - mu) / (sigma * math.sqrt(2))))


@pytest.mark.parametrize("seed", [0, 1])
def test_shading_learns_near_optimal_bids_in_a_lognormal_market(seed: int) -> None:
    # The highest competing bid is LogNormal(mu=0, sigma=0.5) (median 1 CPM); a bid b wins
    # when it is higher, with probability F(b). The bidder explores by bidding grid prices
    # drawn uniformly from the K = 30 grid prices in [0.2, 6], so every bucket it may pick
    # for the test values has n = N / K = 4000 tries (N = 120000) and its estimate is
    # unbiased for F at the grid price (the prior adds < 20 * 0.5 / 4000 = 0.0025).
    #
    # Bound: for value v let b* be the best grid bid, S* = (v - b*) F(b*). The learner ends
    # with surplus < 0.9 S* only if it prefers some b with S(b) < 0.9 S*, which needs the
    # estimation errors to satisfy (v - b) e(b) - (v - b*) e(b*) >= S* - S(b) > 0.1 S*. The
    # left side has sd sqrt(((v - b)^2 F(b)(1 - F(b)) + (v - b*)^2 F(b*)(1 - F(b*))) / n);
    # over all such b, the smallest ratio gap / sd is 5.6 (v = 1.5, b = 1.13 vs b* = 0.906),
    # 8.2 (v = 2.5) and 10.1 (v = 4), so each wrong choice has probability < 1e-8 (normal
    # approximation, n = 4000) before the isotonic fit, which only averages neighbouring
    # errors. v = 1.0 is left out: its best surplus is 0.07, too flat to resolve at this N.
    mu, sigma = 0.0, 0.5
    n_obs = 120_000
    rng = np.random.default_rng(seed)
    explore = GRID[(GRID >= 0.2) & (GRID <= 6.0)]
    assert explore.shape[0] == 30
    bids = rng.choice(explore, size=n_obs)
    competitor = rng.lognormal(mu, sigma, size=n_obs)
    b = GRID.shape[0]
    tries = np.zeros((2, b))
    wins = np.zeros((2, b))
    for k in range(n_obs):
        bucket = price_bucket(GRID, bids[k])
        shading_record(tries, wins, 1, bucket, 1.0 if bids[k] > competitor[k] else 0.0, 1.0)
    assert tries[0].sum() == 0.0 and tries[1].sum() == n_obs
    work = np.empty(3 * b)
    for value in (1.5, 2.5, 4.0):
        bid = shade_bid(value, 0.0, tries, wins, 1, GRID, 1.0, 1000.0, work)
        best = max((value - g) * lognormal_cdf(g, mu, sigma) for g in GRID if g <= value)
        got = (value - bid) * lognormal_cdf(bid, mu, sigma)
        assert got >= 0.9 * best, (value, bid, got / best)
        assert bid < 0.8 * value  # it does shade: the unshaded bid earns nothing
    # With a floor above the best bid, the bid is the lowest grid price at the floor.
    bid = shade_bid(2.5, 1.5, tries, wins, 1, GRID, 1.0, 1000.0, work)
    assert bid == GRID[GRID >= 1.5][0]
