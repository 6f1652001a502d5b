"""``adcore._kernels.batch``: ``batch_auctions`` and ``score_auction`` against the naive
references in ``tests/reference/batch.py``, and the auction invariants as properties.

``batch_auctions`` is compared exactly (winners) and to 1e-12 relative (prices; the
kernel only compares and copies bids, so they agree bit for bit in practice). Bids and
floors come mostly from small sets, so that exact ties (broken by the tie key, then the
index), bids exactly at the floor, zeros, negative bids and NaN are common.

``score_auction`` sums its dot products in float32 (in an order that may vary); the
reference sums the float64 products of the same float32 inputs, which is the exact dot
product rounded once per addition in float64. Two input families:

- *grid* inputs: embedding and interest components are multiples of 1/8 in [-1, 1] and
  ``d <= 16``, so every product is a multiple of 1/64 and every partial sum a multiple of
  1/64 of magnitude at most 16: exact in float32 (at most 11 significant bits), so
  the kernel's dot products are exact whatever the order. Logits then agree to a few ulps
  and bids, winners and prices are compared to 1e-12 relative;
- *float* inputs: unit-norm (or shorter) float32 vectors, ``d <= 32``, ``|scale| <= 2``.
  The float32 sum's error is at most ``d * 2**-24 * sum_j |e_j x_j| <= 32 * 2**-24 <=
  1.9e-6`` (Cauchy-Schwarz with norms <= 1), so logits differ by at most 3.8e-6 and, as
  ``|d log(sigmoid(z)) / dz| <= 1``, bids by at most 3.8e-6 relative: the kernel's winner
  must have a reference bid within 1e-5 relative of the reference's best bid.

Many candidates with spread-out bids make the kernel's pruning (skipping rows whose bid
provably cannot matter) do most of the work, so these comparisons also check that the
pruning is exact.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from adcore._kernels.batch import batch_auctions, score_auction
from adcore._kernels.mechanisms import FIRST_PRICE, SECOND_PRICE

try:
    from tests.reference import batch as ref
except ImportError:  # pytest run without the project root on sys.path
    from reference import batch as ref  # type: ignore[no-redef]

JIT_DISABLED = bool(numba.config.DISABLE_JIT)


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (a tenth without the JIT)."""
    return settings(
        max_examples=max(10, n // 10) if JIT_DISABLED else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


MECHANISMS = st.sampled_from([FIRST_PRICE, SECOND_PRICE])

# --------------------------------------------------------------------------- batch_auctions

BID_SET = [0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 3.0, -1.0, math.nan, math.inf]
FLOOR_SET = [0.0, 0.0, 0.5, 1.0, 1.5, 2.0, -1.0, math.nan]


def mixed(
    rng: np.random.Generator, shape: Any, values: list[float], lo: float, hi: float
) -> np.ndarray:
    """Entries from ``values`` (so that ties and special values are common) or, for about
    a third of them, uniform on [lo, hi)."""
    out = rng.choice(np.array(values), size=shape)
    fresh = rng.random(shape) < 1.0 / 3.0
    out[fresh] = rng.uniform(lo, hi, shape)[fresh]
    return out


def distinct_keys_for(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct keys spread over the uint64 range (an odd multiplier is a bijection
    modulo 2**64)."""
    return rng.permutation(n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)


@st.composite
def batches(draw: st.DrawFn, distinct_keys: bool = False) -> dict[str, Any]:
    """Shapes and options drawn by hypothesis, entries by a seeded generator (cheap to
    draw in the thousands)."""
    m = draw(st.integers(0, 6))
    n = draw(st.integers(0, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    eff = mixed(rng, (m, n), BID_SET, 0.0, 10.0)
    floor = mixed(rng, m, FLOOR_SET, 0.0, 5.0)
    if distinct_keys:
        tiekey = distinct_keys_for(rng, n)
    else:
        # Few distinct keys: equal keys (left to the lower index) are common.
        tiekey = rng.integers(0, draw(st.sampled_from([1, 3, 2**63])), n).astype(np.uint64)
    return {"eff": eff, "floor": floor, "tiekey": tiekey, "mechanism": draw(MECHANISMS)}


def run_batch(eff: np.ndarray, floor: np.ndarray, tiekey: np.ndarray, mechanism: int) -> Any:
    m = eff.shape[0]
    win = np.full(m, -7, np.int64)
    price = np.full(m, -7.0)
    batch_auctions(win, price, np.ascontiguousarray(eff), floor, tiekey, mechanism)
    return win, price


@cases(2000)
@given(batches())
def test_batch_auctions_match_reference(case: dict[str, Any]) -> None:
    win, price = run_batch(**case)
    ref_win, ref_price = ref.batch_auctions(
        case["eff"].tolist(), case["floor"].tolist(), case["tiekey"].tolist(), case["mechanism"]
    )
    assert_array_equal(win, ref_win)
    assert_allclose(price, ref_price, rtol=1e-12, atol=0.0)


@cases(2000)
@given(batches())
def test_batch_auction_invariants(case: dict[str, Any]) -> None:
    """Eligible winner with the highest bid; floor <= price <= winner's bid (price = bid
    under first price); unfilled rows have no eligible bid and price 0."""
    eff, floor, mechanism = case["eff"], case["floor"], case["mechanism"]
    win, price = run_batch(**case)
    for r in range(eff.shape[0]):
        row, f = eff[r], floor[r]
        eligible = (row > 0.0) & (row >= f)
        if win[r] < 0:
            assert win[r] == -1
            assert not eligible.any()
            assert price[r] == 0.0
            continue
        bid = row[win[r]]
        assert eligible[win[r]]
        assert bid == row[eligible].max()
        assert f <= price[r] <= bid
        if mechanism == FIRST_PRICE:
            assert price[r] == bid
        else:
            others = row[eligible].copy()
            others[np.flatnonzero(np.flatnonzero(eligible) == win[r])] = 0.0
            assert price[r] == min(max(others.max(), f), bid)


@cases(1000)
@given(batches())
def test_batch_rows_are_independent(case: dict[str, Any]) -> None:
    """The batch equals one call per row (no state leaks from one row to the next)."""
    win, price = run_batch(**case)
    for r in range(case["eff"].shape[0]):
        w1, p1 = run_batch(
            case["eff"][r : r + 1], case["floor"][r : r + 1], case["tiekey"], case["mechanism"]
        )
        assert w1[0] == win[r]
        assert p1[0] == price[r]


@cases(1000)
@given(batches(distinct_keys=True), st.integers(0, 2**32 - 1))
def test_batch_auctions_permutation_invariant(case: dict[str, Any], seed: int) -> None:
    """Permuting the candidates together with their (distinct) tie keys permutes the
    winners and leaves the prices unchanged."""
    n = case["eff"].shape[1]
    p = np.random.default_rng(seed).permutation(n)
    win, price = run_batch(**case)
    win2, price2 = run_batch(case["eff"][:, p], case["floor"], case["tiekey"][p], case["mechanism"])
    assert [int(p[w]) if w >= 0 else -1 for w in win2] == win.tolist()
    assert_array_equal(price2, price)


def test_batch_auctions_tie_goes_to_lower_key_then_lower_index() -> None:
    eff = np.array([[2.0, 3.0, 3.0, 3.0, 1.0]] * 2)
    floor = np.array([0.0, 3.0])
    win, price = run_batch(eff, floor, np.array([0, 9, 4, 4, 0], np.uint64), SECOND_PRICE)
    assert win.tolist() == [2, 2]
    assert price.tolist() == [3.0, 3.0]


# --------------------------------------------------------------------------- score_auction

LOGIT_SET = [-8.0, -5.0, -4.0, -2.0, 0.0, 1.0, 3.0]
VALUE_SET = [0.0, 1.0, 2.5, 10.0, 100.0, 1000.0, -1.0]
SCALES = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0, -1.0]), st.floats(-2.0, 2.0))
SCORE_FLOORS = st.one_of(
    st.sampled_from([0.0, 0.0, 0.001, 0.1, 1.0, 5.0, 50.0]), st.floats(0.0, 100.0)
)


@st.composite
def grid_cases(draw: st.DrawFn, distinct_keys: bool = False) -> dict[str, Any]:
    """Candidates drawn from a small pool of (embedding, logit, value) rows, so that
    duplicates (exact ties) are common; every vector component on the 1/8 grid."""
    d = draw(st.integers(1, 16))
    n = draw(st.integers(0, 48))
    k = draw(st.integers(1, max(1, n)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pool_emb = (rng.integers(-8, 9, (k, d)) / 8.0).astype(np.float32)
    pool_logit = mixed(rng, k, LOGIT_SET, -10.0, 10.0)
    pool_value = mixed(rng, k, VALUE_SET, 0.0, 2000.0)
    pick = rng.integers(0, k, n)
    if distinct_keys:
        tiekey = distinct_keys_for(rng, n)
    else:
        tiekey = rng.integers(0, 6, n).astype(np.uint64)
    return {
        "embeddings": np.ascontiguousarray(pool_emb[pick]).reshape(n, d),
        "interest": (rng.integers(-8, 9, d) / 8.0).astype(np.float32),
        "base_logit": pool_logit[pick],
        "value": pool_value[pick],
        "scale": draw(SCALES),
        "floor": draw(SCORE_FLOORS),
        "tiekey": tiekey,
        "mechanism": draw(MECHANISMS),
    }


@st.composite
def float_cases(draw: st.DrawFn) -> dict[str, Any]:
    """Realistic candidates: unit-norm (or shorter) float32 embeddings and interest,
    action probabilities of 0.1 % to 50 %, values spread over two decades."""
    d = draw(st.integers(1, 32))
    n = draw(st.integers(0, 200))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    emb = rng.standard_normal((n, d))
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-300)
    emb *= rng.uniform(0.0, 1.0, (n, 1)) if draw(st.booleans()) else 1.0
    interest = rng.standard_normal(d)
    interest /= max(float(np.linalg.norm(interest)), 1e-300)
    p = rng.uniform(0.001, 0.5, n)
    value = np.exp(rng.uniform(0.0, math.log(100.0), n)) * draw(st.sampled_from([1.0, 1000.0]))
    return {
        "embeddings": emb.astype(np.float32),
        "interest": interest.astype(np.float32),
        "base_logit": np.log(p / (1.0 - p)),
        "value": value,
        "scale": draw(st.floats(-2.0, 2.0)),
        "floor": draw(st.sampled_from([0.0, 0.5, 5.0])) * float(np.median(value)) / 100.0
        if n
        else 0.0,
        "tiekey": rng.integers(0, 4, n).astype(np.uint64),
        "mechanism": draw(MECHANISMS),
    }


def run_score(case: dict[str, Any]) -> tuple[int, float]:
    win_price = np.full(1, -7.0)
    win = score_auction(
        win_price,
        case["embeddings"],
        case["interest"],
        case["base_logit"],
        case["value"],
        case["scale"],
        case["floor"],
        case["tiekey"],
        case["mechanism"],
    )
    return int(win), float(win_price[0])


def reference(case: dict[str, Any]) -> tuple[int, float, list[float]]:
    return ref.score_auction(
        case["embeddings"].tolist(),
        case["interest"].tolist(),
        case["base_logit"].tolist(),
        case["value"].tolist(),
        case["scale"],
        case["floor"],
        case["tiekey"].tolist(),
        case["mechanism"],
    )


def check_against_reference(case: dict[str, Any], rtol: float) -> None:
    """The kernel's result is the reference's up to bids that differ by ``rtol`` relative:
    its winner's reference bid is within ``rtol`` of the best reference bid; an empty
    auction only when no reference bid clears the floor by more than ``rtol``; the price
    as the reference computes it for the kernel's winner, to ``rtol``; and (exactly)
    ``floor <= price``."""
    floor, mechanism = case["floor"], case["mechanism"]
    win, price = run_score(case)
    ref_win, ref_price, bids = reference(case)
    eligible = [i for i, b in enumerate(bids) if b > 0.0 and b >= floor]
    if win < 0:
        assert price == 0.0
        assert all(bids[i] <= floor * (1.0 + rtol) for i in eligible), (ref_win, bids)
        return
    assert win < len(bids)
    bid = bids[win]
    assert bid > 0.0 and bid >= floor * (1.0 - rtol)
    best = max([bid] + [bids[i] for i in eligible])
    assert bid >= best * (1.0 - rtol), (win, ref_win, bids)
    assert price >= floor
    if mechanism == FIRST_PRICE:
        assert math.isclose(price, bid, rel_tol=rtol)
    else:
        second = max([0.0] + [bids[i] for i in eligible if i != win])
        expected = min(max(second, floor), bid)
        assert abs(price - expected) <= rtol * max(bid, floor), (price, expected)
        assert price <= bid * (1.0 + rtol)
    if rtol <= 1e-12 and ref_win >= 0 and bid != bids[ref_win]:
        # A different winner only on a tie within rounding.
        assert math.isclose(bid, bids[ref_win], rel_tol=rtol), (win, ref_win, bids)


@cases(2000)
@given(grid_cases())
def test_score_auction_matches_reference_on_exact_dot_products(case: dict[str, Any]) -> None:
    check_against_reference(case, rtol=1e-12)


@cases(2000)
@given(float_cases())
def test_score_auction_matches_reference_within_float32_rounding(case: dict[str, Any]) -> None:
    check_against_reference(case, rtol=1e-5)


@cases(1000)
@given(grid_cases(distinct_keys=True), st.integers(0, 2**32 - 1))
def test_score_auction_permutation_invariant(case: dict[str, Any], seed: int) -> None:
    """Permuting candidates with their distinct tie keys permutes the winner; the price
    is unchanged (grid inputs: every dot product is exact, wherever the row lands)."""
    n = case["value"].shape[0]
    p = np.random.default_rng(seed).permutation(n)
    win, price = run_score(case)
    permuted = dict(case)
    for name in ("base_logit", "value", "tiekey"):
        permuted[name] = case[name][p]
    permuted["embeddings"] = np.ascontiguousarray(case["embeddings"][p])
    win2, price2 = run_score(permuted)
    assert (int(p[win2]) if win2 >= 0 else -1) == win
    assert price2 == price


@cases(1000)
@given(st.one_of(grid_cases(), float_cases()))
def test_score_auction_price_between_floor_and_bid(case: dict[str, Any]) -> None:
    """Run first price (price = the winner's own bid) and second price on the same
    candidates: the same winner, and floor <= second price <= first price."""
    win1, bid = run_score(dict(case, mechanism=FIRST_PRICE))
    win2, price = run_score(dict(case, mechanism=SECOND_PRICE))
    assert win1 == win2
    if win1 < 0:
        assert bid == price == 0.0
    else:
        assert case["floor"] <= price <= bid
        assert bid > 0.0


def test_score_auction_identical_candidates_go_to_the_lowest_key() -> None:
    """Every candidate the same: all bids are equal, across the four-row blocks and the
    tail, and the lowest tie key wins at the common bid (second price)."""
    rng = np.random.default_rng(3)
    n, d = 23, 16
    row = (rng.integers(-8, 9, d) / 8.0).astype(np.float32)
    keys = rng.permutation(n).astype(np.uint64) + np.uint64(10)
    case = {
        "embeddings": np.tile(row, (n, 1)),
        "interest": (rng.integers(-8, 9, d) / 8.0).astype(np.float32),
        "base_logit": np.full(n, -3.0),
        "value": np.full(n, 400.0),
        "scale": 1.5,
        "floor": 0.0,
        "tiekey": keys,
        "mechanism": FIRST_PRICE,
    }
    win, bid = run_score(case)
    assert win == int(np.argmin(keys))
    win2, price = run_score(dict(case, mechanism=SECOND_PRICE))
    assert win2 == win
    assert price == bid
    assert math.isclose(bid, reference(case)[2][0], rel_tol=1e-12)
