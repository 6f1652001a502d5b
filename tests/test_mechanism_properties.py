"""Properties of the multi-slot auction (``adcore._kernels.mechanisms``) and of the ad-pod
kernels (``adcore._kernels.pod``), over thousands of drawn cases, and their agreement
with the plain-Python references in ``tests/reference/mechanisms.py``.

Inputs have the dtypes the engine passes: ``float64`` bids, floors, weights, values and
durations, ``int64`` priorities, ``uint64`` tie keys and group bitsets ``(n, W)``. Every
per-candidate array may run up to two entries past ``n``, with garbage there that would
win if it were read; outputs and scratch are filled with garbage and followed by a guard
that must stay untouched. Bids, floors, weights, values and durations are drawn mostly
from small sets, so ties, floors met exactly and pods filled to the second are common.

Tolerances: positions, pods and first or second prices are compared exactly (the kernel
does the same float operations as the definition). VCG prices are sums of products
accumulated in another order than the reference's (last position first), so they agree
to 1e-12 relative; against externalities computed by brute force as differences of
welfares, to 1e-9 relative (plus 1e-12 of the welfare, for externalities near 0).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from adcore._kernels.mechanisms import (
    FIRST_PRICE,
    GSP,
    SECOND_PRICE,
    VCG,
    multislot_auction,
)
from adcore._kernels.pod import (
    DURATION_SLACK,
    NODE_SCAN,
    POD_STATS,
    STAT_FILL_BUDGETED,
    STAT_FILL_GAP,
    STAT_NODES,
    STAT_PRICE_BUDGETED,
    STAT_PRICE_GAP,
    UNLIMITED,
    fill_pod,
    pod_auction,
    pod_prices,
    pod_work_size,
)

try:
    from tests.reference import mechanisms as ref
    from tests.reference.kernels import splitmix64
except ImportError:  # pytest run without the project root on sys.path
    from reference import mechanisms as ref  # type: ignore[no-redef]
    from reference.kernels import splitmix64  # type: ignore[no-redef]

JIT_DISABLED = bool(numba.config.DISABLE_JIT)
GUARD = 3  # entries past each output and scratch array that must stay untouched


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (a tenth without the JIT)."""
    return settings(
        max_examples=max(10, n // 10) if JIT_DISABLED else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def draw_column(draw: st.DrawFn, strategy: st.SearchStrategy[Any], size: int) -> list[Any]:
    return draw(st.lists(strategy, min_size=size, max_size=size))


def tie_keys(draw: st.DrawFn, size: int) -> np.ndarray:
    """``size`` distinct keys in one draw: splitmix64 (a bijection of 64-bit words) of
    ``seed ^ i``."""
    seed = draw(st.integers(0, 2**64 - 1))
    return np.array([splitmix64(seed ^ i) for i in range(size)], dtype=np.uint64)


# --------------------------------------------------------------------------- positions

BIDS = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]), st.floats(0.0, 10.0))
FLOORS = st.sampled_from([0.0, 0.0, 0.5, 1.0, 1.5, 2.0])
PRIORITIES = st.sampled_from([0, 0, 0, 1, 2])
WEIGHTS = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.5, 1.0]), st.floats(0.0, 1.0))
MECHANISMS = st.sampled_from([FIRST_PRICE, SECOND_PRICE, GSP, VCG])
OWNERS = st.integers(0, 3)
TIE_VALUES = st.sampled_from([0.0, 1.0, 1.0, 4.0])


@st.composite
def auctions(
    draw: st.DrawFn,
    max_n: int = 8,
    slots: tuple[int, int] = (0, 4),
    one_tier: bool = False,
    zero_floors: bool = False,
    mechanisms: st.SearchStrategy[int] = MECHANISMS,
    own_campaigns: bool = False,
) -> dict[str, Any]:
    """One placement's auction. Past ``n``: candidates that would win if read. Owners
    (campaigns) are drawn from four, so several candidates often share one; with
    ``own_campaigns`` each candidate is its own."""
    n = draw(st.integers(0, max_n))
    n_slots = draw(st.integers(*slots))
    pad = draw(st.integers(0, 2))
    tier = draw(PRIORITIES)
    weight = sorted(draw_column(draw, WEIGHTS, n_slots), reverse=True)
    return dict(
        eff=np.array(draw_column(draw, BIDS, n) + [99.0] * pad),
        floor=np.array(
            [0.0] * (n + pad) if zero_floors else draw_column(draw, FLOORS, n) + [0.0] * pad
        ),
        priority=np.array(
            ([tier] * n if one_tier else draw_column(draw, PRIORITIES, n)) + [9] * pad,
            dtype=np.int64,
        ),
        tiekey=tie_keys(draw, n + pad),
        owner=np.array(
            (list(range(n)) if own_campaigns else draw_column(draw, OWNERS, n)) + [99] * pad,
            dtype=np.int64,
        ),
        tievalue=np.array(draw_column(draw, TIE_VALUES, n) + [99.0] * pad),
        weight=np.array(weight + [1.0] * pad),
        n=n,
        n_slots=n_slots,
        mechanism=draw(mechanisms),
    )


def run_multislot(a: dict[str, Any]) -> tuple[int, list[int], list[float]]:
    """Run the kernel on copies of ``a``'s arrays; return (filled, win, price)."""
    k = a["n_slots"]
    win = np.full(k + GUARD, 77, dtype=np.int64)
    price = np.full(k + GUARD, np.nan)
    top = np.full(k + 1 + GUARD, -9, dtype=np.int64)
    args = {name: (v.copy() if isinstance(v, np.ndarray) else v) for name, v in a.items()}
    filled = multislot_auction(
        win,
        price,
        args["eff"],
        args["floor"],
        args["priority"],
        args["owner"],
        args["tievalue"],
        args["tiekey"],
        args["weight"],
        args["n"],
        k,
        args["mechanism"],
        top,
    )
    unchanged(a, args, "multislot_auction")
    assert win[k:].tolist() == [77] * GUARD
    assert np.isnan(price[k:]).all()
    assert top[k + 1 :].tolist() == [-9] * GUARD
    return int(filled), win[:k].tolist(), price[:k].tolist()


def unchanged(a: dict[str, Any], args: dict[str, Any], kernel: str) -> None:
    """The kernel wrote none of its inputs (``args``: the copies it was given)."""
    for name, v in a.items():
        if isinstance(v, np.ndarray):
            assert np.array_equal(args[name], v), f"{kernel} wrote {name}"


def reference(a: dict[str, Any]) -> dict[str, Any]:
    return ref.multislot_auction(
        a["eff"], a["floor"], a["priority"], a["tiekey"], a["weight"], a["n"], a["n_slots"],
        a["mechanism"], a["owner"], a["tievalue"],
    )  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Compile (or load from cache) each kernel's signature once, before the examples."""
    one = np.ones(1)
    win, price, top = np.zeros(1, np.int64), np.zeros(1), np.zeros(2, np.int64)
    key, prio = np.zeros(1, np.uint64), np.zeros(1, np.int64)
    assert (
        multislot_auction(win, price, one, one * 0.0, prio, prio, one, key, one, 1, 1, VCG, top)
        == 1
    )
    sel, sel2 = np.zeros(1, np.int64), np.zeros(1, np.int64)
    work = np.zeros(pod_work_size(1, 1, 1), np.int64)
    groups = np.zeros((1, 1), np.uint64)
    stats = np.zeros(POD_STATS)
    m = fill_pod(sel, one, one, groups, key, 1, 1.0, 1, True, -1, UNLIMITED, stats, work)
    assert m == 1
    zero = one * 0.0
    pod_prices(
        price, sel, m, one, one, groups, key, zero, 1, 1.0, 1, True, 1, SECOND_PRICE,
        UNLIMITED, stats, sel2, work,
    )  # fmt: skip
    assert pod_auction(
        sel, price, one, one, groups, key, zero, 1, 1.0, 1, True, 1, SECOND_PRICE, 1, stats,
        sel2, work,
    ) == 1  # fmt: skip


def test_mechanism_codes_match_the_single_slot_auction() -> None:
    from adcore._kernels import auction

    assert (auction.FIRST_PRICE, auction.SECOND_PRICE) == (FIRST_PRICE, SECOND_PRICE)
    assert len({FIRST_PRICE, SECOND_PRICE, GSP, VCG}) == 4


@cases(2000)
@given(auctions())
def test_multislot_auction(a: dict[str, Any]) -> None:
    """The kernel equals the reference, and the auction's invariants hold."""
    filled, win, price = run_multislot(a)
    want = reference(a)
    assert filled == want["filled"]
    assert win == want["win"]
    # VCG sums run in another order than the reference's; other prices are exact.
    assert_allclose(price, want["price"], rtol=1e-12, atol=0)
    if a["mechanism"] != VCG:
        assert price == want["price"]

    eff, floor, prio, n, k = a["eff"], a["floor"], a["priority"], a["n"], a["n_slots"]
    owner, tv = a["owner"], a["tievalue"]
    ok = [i for i in range(n) if eff[i] > 0.0 and eff[i] >= floor[i]]
    # The winners are exactly the top of the ranking (priority desc, bid desc, tie value
    # desc, key asc) of each campaign's best candidate: one position per campaign.
    ranking = sorted(ok, key=lambda i: (-int(prio[i]), -eff[i], -tv[i], int(a["tiekey"][i])))
    best = [i for j, i in enumerate(ranking) if owner[i] not in {owner[h] for h in ranking[:j]}]
    assert filled == min(k, len(best))
    assert len({int(owner[w]) for w in win[:filled]}) == filled
    assert win[:filled] == best[:filled]
    assert win[filled:] == [-1] * (k - filled)
    assert price[filled:] == [0.0] * (k - filled)
    # No ineligible candidate wins, none wins twice.
    assert set(win[:filled]) <= set(ok)
    assert len(set(win[:filled])) == filled

    def b(t: int) -> float:  # the t-th ranked bid, 0 past the last
        return float(eff[best[t]]) if t < len(best) else 0.0

    for s in range(filled):
        w = win[s]
        assert floor[w] <= price[s] <= eff[w], (s, w)
        if a["mechanism"] == FIRST_PRICE:
            assert price[s] == eff[w]
        elif a["mechanism"] in (SECOND_PRICE, GSP):
            assert price[s] == min(max(floor[w], b(s + 1)), eff[w])
            # Within a priority tier, prices weakly fall down the positions.
            if s + 1 < filled and prio[win[s + 1]] == prio[w]:
                assert price[s] >= price[s + 1]
        else:
            assert 0.0 <= price[s] <= eff[w]


def welfare(weight: Any, eff: Any, assignment: tuple[int, ...]) -> float:
    """Sum over positions of weight * bid of the candidate placed there."""
    return sum(float(weight[s]) * float(eff[i]) for s, i in enumerate(assignment))


def optimal_welfare(weight: Any, eff: Any, bidders: list[int], n_slots: int) -> float:
    """The best welfare over every assignment of ``bidders`` to positions, by brute force."""
    size = min(n_slots, len(bidders))
    return max(
        (welfare(weight, eff, p) for p in itertools.permutations(bidders, size)), default=0.0
    )


@cases(2000)
@given(
    auctions(
        max_n=6,
        slots=(1, 3),
        one_tier=True,
        zero_floors=True,
        mechanisms=st.just(VCG),
        own_campaigns=True,
    )
)
def test_vcg_payment_is_the_externality(a: dict[str, Any]) -> None:
    """Without floors, in one priority tier, ``weight[s] * price[s]`` is what the winner
    of ``s`` costs the others: their best welfare without it, less their welfare in the
    (optimal) assignment with it, both by brute force over assignments."""
    filled, win, price = run_multislot(a)
    eff, weight, k = a["eff"], a["weight"], a["n_slots"]
    bidders = [i for i in range(a["n"]) if eff[i] > 0.0]
    opt = optimal_welfare(weight, eff, bidders, k)
    scale = max(1.0, opt)
    # The assignment is efficient.
    assert math.isclose(welfare(weight, eff, tuple(win[:filled])), opt, rel_tol=1e-12)
    for s in range(filled):
        w = win[s]
        others_with = opt - float(weight[s]) * float(eff[w])
        others_without = optimal_welfare(weight, eff, [i for i in bidders if i != w], k)
        externality = others_without - others_with
        assert math.isclose(
            float(weight[s]) * price[s], externality, rel_tol=1e-9, abs_tol=1e-12 * scale
        ), (s, w, price[s], externality)


def utility(a: dict[str, Any], i: int, value: float) -> float:
    """Bidder ``i``'s utility at ``value`` per impression: weight * (value - price) at the
    position it wins, 0 if none."""
    filled, win, price = run_multislot(a)
    for s in range(filled):
        if win[s] == i:
            return float(a["weight"][s]) * (value - price[s])
    return 0.0


@st.composite
def deviations(draw: st.DrawFn, auctions_: st.SearchStrategy[dict[str, Any]]) -> Any:
    a = draw(auctions_.filter(lambda a: a["n"] >= 1))
    return a, draw(st.integers(0, a["n"] - 1)), draw(BIDS)


@cases(2000)
@given(
    deviations(
        auctions(
            slots=(1, 1),
            one_tier=True,
            mechanisms=st.sampled_from([SECOND_PRICE, GSP]),
            own_campaigns=True,
        )
    )
)
def test_truthful_bidding_is_dominant_in_single_slot_second_price(case: Any) -> None:
    """One position, one priority tier, any floors: bidding one's value is never worse
    than bidding anything else. Exact: a winner pays max(floor, best other bid) however
    it bid, and that is at least its value whenever the truthful bid loses."""
    a, i, bid = case
    value = float(a["eff"][i])
    truthful = utility(a, i, value)
    deviated = dict(a, eff=a["eff"].copy())
    deviated["eff"][i] = bid
    assert utility(deviated, i, value) <= truthful


@cases(2000)
@given(
    deviations(auctions(slots=(1, 4), one_tier=True, mechanisms=st.just(VCG), own_campaigns=True))
)
def test_truthful_bidding_is_dominant_in_vcg(case: Any) -> None:
    """Several positions, one priority tier, any floors (each bidder's reserve a phantom
    bidder): bidding one's value is never worse than bidding anything else (Varian 2007;
    Varian and Harris 2014). Tolerance: utilities are computed from prices accurate to a
    few ulps, so 1e-9 of the first position's weight times the value (or 1)."""
    a, i, bid = case
    value = float(a["eff"][i])
    truthful = utility(a, i, value)
    deviated = dict(a, eff=a["eff"].copy())
    deviated["eff"][i] = bid
    tol = 1e-9 * float(a["weight"][0]) * max(1.0, value)
    assert utility(deviated, i, value) <= truthful + tol


def test_gsp_with_two_positions_is_not_truthful() -> None:
    """The classic counterexample (Edelman et al. 2007): value 10 against bids 9 and 1,
    position weights 1 and 0.9. Truthful, the bidder takes position 0 and pays 9 (utility
    1); bidding 5, it takes position 1 and pays 1 (utility 0.9 * 9 = 8.1). VCG charges
    (0.1 * 9 + 0.9 * 1) / 1 = 1.8 for position 0 (utility 8.2), which beats 8.1."""
    a = dict(
        eff=np.array([10.0, 9.0, 1.0]),
        floor=np.zeros(3),
        priority=np.zeros(3, dtype=np.int64),
        owner=np.arange(3, dtype=np.int64),
        tievalue=np.zeros(3),
        tiekey=np.array([1, 2, 3], dtype=np.uint64),
        weight=np.array([1.0, 0.9]),
        n=3,
        n_slots=2,
        mechanism=GSP,
    )
    lying = dict(a, eff=np.array([5.0, 9.0, 1.0]))
    assert utility(a, 0, 10.0) == pytest.approx(1.0)
    assert utility(lying, 0, 10.0) == pytest.approx(8.1)
    vcg = dict(a, mechanism=VCG)
    assert utility(vcg, 0, 10.0) == pytest.approx(8.2)
    assert utility(dict(lying, mechanism=VCG), 0, 10.0) == pytest.approx(8.1)


def test_vcg_with_a_floor_is_truthful_on_the_textbook_example() -> None:
    """Weights 1 and 0.5, floor 2, another bid of 3.5, the bidder's value 3. Truthful, it
    takes position 1 and pays its floor 2 (utility 0.5 x 1 = 0.5). Bidding 4 it takes
    position 0 at the phantom-bidder price (0.5 x 3.5 + 0.5 x 2) / 1 = 2.75 (utility
    0.25): lying no longer pays. Without the phantom the price was 2 (utility 1.0)."""
    a = dict(
        eff=np.array([3.0, 3.5]),
        floor=np.array([2.0, 2.0]),
        priority=np.zeros(2, dtype=np.int64),
        owner=np.arange(2, dtype=np.int64),
        tievalue=np.zeros(2),
        tiekey=np.array([1, 2], dtype=np.uint64),
        weight=np.array([1.0, 0.5]),
        n=2,
        n_slots=2,
        mechanism=VCG,
    )
    assert run_multislot(a)[1:] == ([1, 0], [2.5, 2.0])  # 0.5 x 3 + 0.5 x 2
    assert utility(a, 0, 3.0) == pytest.approx(0.5)
    lying = dict(a, eff=np.array([4.0, 3.5]))
    assert run_multislot(lying)[1:] == ([0, 1], [2.75, 2.0])
    assert utility(lying, 0, 3.0) == pytest.approx(0.25)


def test_one_position_per_campaign_priced_by_others() -> None:
    """Campaign 0 bids 5 and 4 with two ads, campaign 1 bids 3: campaign 0 takes position
    0 only (its 5) and pays campaign 1's 3 under GSP, not its own 4; campaign 1 takes
    position 1 at its floor."""
    a = dict(
        eff=np.array([5.0, 4.0, 3.0]),
        floor=np.full(3, 0.5),
        priority=np.zeros(3, dtype=np.int64),
        owner=np.array([0, 0, 1], dtype=np.int64),
        tievalue=np.zeros(3),
        tiekey=np.array([1, 2, 3], dtype=np.uint64),
        weight=np.array([1.0, 0.5, 0.25]),
        n=3,
        n_slots=3,
        mechanism=GSP,
    )
    assert run_multislot(a)[:3] == (2, [0, 2, -1], [3.0, 0.5, 0.0])


def test_equal_tie_keys_go_to_the_lower_index() -> None:
    """Tie keys are distinct in practice; when two are equal (and so are priority and bid,
    or value), the lower index ranks first, as documented."""
    a = dict(
        eff=np.array([2.0, 3.0, 3.0, 3.0]),
        floor=np.zeros(4),
        priority=np.zeros(4, dtype=np.int64),
        owner=np.arange(4, dtype=np.int64),
        tievalue=np.zeros(4),
        tiekey=np.array([0, 7, 5, 5], dtype=np.uint64),
        weight=np.array([1.0, 1.0, 1.0]),
        n=4,
        n_slots=3,
        mechanism=SECOND_PRICE,
    )
    assert run_multislot(a)[1] == [2, 3, 1]
    pod = dict(
        value=np.array([3.0, 3.0, 3.0, 1.0]),
        duration=np.full(4, 10.0),
        groups=np.zeros((4, 1), dtype=np.uint64),
        tiekey=np.array([9, 4, 4, 0], dtype=np.uint64),
        floor=np.zeros(4),
        n=4,
        poddur=25.0,
        maxseq=4,
        separate=False,
        excluded=-1,
    )
    assert run_fill(pod) == [1, 2]


@cases(1000)
@given(auctions(), st.data())
def test_multislot_does_not_depend_on_candidate_order(a: dict[str, Any], data: Any) -> None:
    """Permute the candidates (every per-candidate array): the same candidates win the
    same positions at the same prices."""
    n = a["n"]
    perm = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)
    b = dict(a)
    for name in ("eff", "floor", "priority", "owner", "tievalue", "tiekey"):
        b[name] = a[name].copy()
        b[name][:n] = a[name][perm]
    filled, win, price = run_multislot(a)
    filled2, win2, price2 = run_multislot(b)
    assert filled2 == filled
    assert [int(perm[w]) if w >= 0 else -1 for w in win2] == win
    assert price2 == price


# --------------------------------------------------------------------------- pods

VALUES = st.one_of(
    st.sampled_from([1.0, 2.0, 2.0, 3.0, 5.0]),
    st.sampled_from([10.0, 10.001, 10.002]),  # near ties: bounds within 0.1% of the best
    st.floats(0.01, 10.0),
)
DURATIONS = st.one_of(
    st.sampled_from([0.0, 5.0, 10.0, 15.0, 15.0, 30.0, 30.0, 60.0]), st.floats(0.0, 60.0)
)
PODDURS = st.one_of(
    st.sampled_from([0.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0]), st.floats(0.0, 150.0)
)
GROUP_WORDS = [0, 0, 1, 2, 4, 1 | 2, 2 | 8, 2**63, 2**63 | 1]
# Rows of one or two words, drawn in one step each (bit 63 checks the uint64 words).
GROUP_ROWS = {
    1: st.sampled_from([(w,) for w in GROUP_WORDS]),
    2: st.sampled_from(list(itertools.product(GROUP_WORDS[1:], repeat=2))),
}
FLOOR_SHARES = st.sampled_from([0.0, 0.0, 0.5, 1.0])  # of the candidate's value


@st.composite
def pods(draw: st.DrawFn, max_n: int = 10, max_seq: int = 5, min_n: int = 0) -> dict[str, Any]:
    """One pod impression's candidates. Past ``n``: candidates that would win if read."""
    n = draw(st.integers(min_n, max_n))
    pad = draw(st.integers(0, 2))
    words = draw(st.integers(1, 2))
    value = draw_column(draw, VALUES, n)
    groups = draw_column(draw, GROUP_ROWS[words], n)
    shares = draw_column(draw, FLOOR_SHARES, n)
    return dict(
        value=np.array(value + [1e6] * pad),
        duration=np.array(draw_column(draw, DURATIONS, n) + [0.0] * pad),
        groups=np.array(groups + [(0,) * words] * pad, dtype=np.uint64).reshape(n + pad, words),
        tiekey=tie_keys(draw, n + pad),
        floor=np.array([v * s for v, s in zip(value, shares, strict=True)] + [0.0] * pad),
        n=n,
        poddur=draw(PODDURS),
        maxseq=draw(st.integers(1, max_seq)),
        separate=draw(st.booleans()),
        excluded=draw(st.sampled_from([-1, -1, *range(n)])),
        # The leading words that name a candidate's campaign, for the price searches.
        own_words=draw(st.sampled_from([0, 0, 1, words])),
    )


POD_INPUTS = ("value", "duration", "groups", "tiekey", "n", "poddur", "maxseq", "separate")


def scratch(a: dict[str, Any]) -> np.ndarray:
    """``pod_work_size`` entries of garbage, then a guard."""
    size = pod_work_size(a["n"], a["maxseq"], a["groups"].shape[1])
    return np.full(size + GUARD, -5, dtype=np.int64)


def check_guard(work: np.ndarray) -> None:
    assert work[-GUARD:].tolist() == [-5] * GUARD, "wrote past pod_work_size"


def run_fill_stats(a: dict[str, Any], budget: int = UNLIMITED) -> tuple[list[int], np.ndarray]:
    """Run ``fill_pod`` with ``budget`` on copies of ``a``'s arrays; return the pod and
    the stats."""
    size = min(a["maxseq"], a["n"])
    sel = np.full(size + GUARD, 77, dtype=np.int64)
    stats = np.full(POD_STATS + GUARD, np.nan)
    work = scratch(a)
    args = {name: (v.copy() if isinstance(v, np.ndarray) else v) for name, v in a.items()}
    m = fill_pod(sel, *(args[name] for name in POD_INPUTS), a["excluded"], budget, stats, work)
    unchanged(a, args, "fill_pod")
    assert 0 <= m <= size
    assert sel[m:].tolist() == [77] * (size + GUARD - m)
    assert np.isnan(stats[POD_STATS:]).all()
    check_guard(work)
    return sel[:m].tolist(), stats[:POD_STATS]


def run_fill(a: dict[str, Any]) -> list[int]:
    """Run ``fill_pod`` (exact) on copies of ``a``'s arrays; return the pod."""
    sel, stats = run_fill_stats(a)
    assert stats[STAT_FILL_BUDGETED] == 0.0 and stats[STAT_FILL_GAP] == 0.0
    return sel


def run_prices_stats(
    a: dict[str, Any], sel: list[int], mechanism: int, budget: int = UNLIMITED
) -> tuple[list[float], np.ndarray]:
    """Run ``pod_prices`` with ``budget`` for the pod ``sel``; return the prices and the
    stats."""
    m = len(sel)
    size = min(a["maxseq"], a["n"])
    price = np.full(m + GUARD, np.nan)
    sel2 = np.full(size + GUARD, 77, dtype=np.int64)
    stats = np.full(POD_STATS + GUARD, np.nan)
    work = scratch(a)
    pod = np.array(sel + [-1] * GUARD, dtype=np.int64)
    args = {name: (v.copy() if isinstance(v, np.ndarray) else v) for name, v in a.items()}
    pod_prices(
        price, pod, m, *(args[name] for name in POD_INPUTS[:4]), args["floor"],
        *(args[name] for name in POD_INPUTS[4:]), a["own_words"], mechanism, budget, stats,
        sel2, work,
    )  # fmt: skip
    unchanged(a, args, "pod_prices")
    assert pod[:m].tolist() == sel
    assert np.isnan(price[m:]).all()
    assert sel2[size:].tolist() == [77] * GUARD
    assert np.isnan(stats[POD_STATS:]).all()
    check_guard(work)
    return price[:m].tolist(), stats[:POD_STATS]


def run_prices(a: dict[str, Any], sel: list[int], mechanism: int) -> list[float]:
    """Run ``pod_prices`` (exact searches) for the pod ``sel``; return the prices."""
    price, stats = run_prices_stats(a, sel, mechanism)
    assert stats[STAT_PRICE_BUDGETED] == 0.0 and stats[STAT_PRICE_GAP] == 0.0
    return price


def without(a: dict[str, Any], gone: int, campaign: bool = False) -> dict[str, Any]:
    """The instance with candidate ``gone`` removed (the first ``n`` entries only), and
    with ``campaign`` (when pods are separated) every candidate sharing a bit with it in
    the first ``own_words`` words of ``groups``."""
    g = a["groups"]

    def same_campaign(i: int) -> bool:
        if not (campaign and a["separate"] and gone >= 0):
            return False
        return any(int(g[i][w]) & int(g[gone][w]) for w in range(a.get("own_words", 0)))

    keep = [i for i in range(a["n"]) if i != gone and not same_campaign(i)]
    out = {name: a[name][keep] for name in ("value", "duration", "groups", "tiekey", "floor")}
    return dict(a, **out, n=len(keep), excluded=-1)


def brute_force(a: dict[str, Any], campaign: bool = False) -> float:
    b = without(a, a["excluded"], campaign)
    return ref.brute_force_pod(
        b["value"], b["duration"], b["groups"], b["n"], b["poddur"], b["maxseq"], b["separate"]
    )


@cases(2000)
@given(pods())
def test_fill_pod(a: dict[str, Any]) -> None:
    """The pod is feasible, as valuable as the best of every subset, and the very pod the
    enumeration of every feasible pod without pruning picks (the bounds never change the
    result)."""
    sel = run_fill(a)
    assert sel == ref.fill_pod(*(a[name] for name in POD_INPUTS), a["excluded"])
    value, duration, groups = a["value"], a["duration"], a["groups"]
    # Feasible: duration within the cap, count within maxseq, distinct, separated.
    assert sum(float(duration[i]) for i in sel) <= a["poddur"] + DURATION_SLACK
    assert len(sel) <= a["maxseq"]
    assert len(set(sel)) == len(sel)
    assert all(0 <= i < a["n"] and i != a["excluded"] for i in sel)
    if a["separate"]:
        for i, j in itertools.combinations(sel, 2):
            assert not (groups[i] & groups[j]).any(), (i, j)
    # Ordered by value desc, then tie key asc.
    keys = [(-float(value[i]), int(a["tiekey"][i])) for i in sel]
    assert keys == sorted(keys)
    # Optimal: as valuable as the best of every subset (1e-9: sums in another order).
    got = sum(float(value[i]) for i in sel)
    assert math.isclose(got, brute_force(a), rel_tol=1e-9, abs_tol=0.0)


@cases(1000)
@given(pods(max_n=20, max_seq=4), st.data())
def test_pod_does_not_depend_on_candidate_order(a: dict[str, Any], data: Any) -> None:
    """Permute the candidates (every per-candidate array): the same candidates, by tie
    key, fill the same positions."""
    n = a["n"]
    perm = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)
    b = dict(a, excluded=int(np.argsort(perm)[a["excluded"]]) if a["excluded"] >= 0 else -1)
    for name in ("value", "duration", "groups", "tiekey", "floor"):
        b[name] = a[name].copy()
        b[name][:n] = a[name][perm]
    assert [int(perm[i]) for i in run_fill(b)] == run_fill(a)


@cases(2000)
@given(pods(max_n=8), st.sampled_from([FIRST_PRICE, SECOND_PRICE]))
def test_pod_prices(a: dict[str, Any], mechanism: int) -> None:
    a["excluded"] = -1
    sel = run_fill(a)
    price = run_prices(a, sel, mechanism)
    value, floor = a["value"], a["floor"]
    want = ref.pod_prices(
        sel, *(a[name] for name in POD_INPUTS[:4]), floor, *(a[name] for name in POD_INPUTS[4:]),
        mechanism, a["own_words"],
    )  # fmt: skip
    total = sum(float(value[i]) for i in sel)
    # The same operations as the reference, up to reassociation of one subtraction.
    assert_allclose(price, want, rtol=1e-12, atol=1e-12 * max(1.0, total))
    for j, i in enumerate(sel):
        assert floor[i] <= price[j] <= value[i]
        if mechanism == FIRST_PRICE:
            assert price[j] == value[i]
        else:
            assert price[j] >= 0.0
            # The VCG payment: the others' best pod without i, by brute force, less their
            # value with i; floored, capped at i's value.
            externality = brute_force(dict(a, excluded=i), campaign=True) - (
                total - float(value[i])
            )
            expected = min(max(float(floor[i]), externality), float(value[i]))
            assert math.isclose(price[j], expected, rel_tol=1e-9, abs_tol=1e-9 * total)
    # Winners' utilities add up to at most the pod's value.
    assert sum(float(value[i]) - p for i, p in zip(sel, price, strict=True)) <= total


# --------------------------------------------------------------------------- pod budgets

BUDGETS = st.sampled_from([1, 1, 2, 3, 5, 8, 13, 40])
"""Node budgets, mostly too small for the searches of ``pods()`` to end."""


def pod_value(a: dict[str, Any], sel: list[int]) -> float:
    """The pod's value, summed in pod (canonical) order as the kernel sums it."""
    return ref.pod_value(a["value"], sel)


def assert_feasible(a: dict[str, Any], sel: list[int]) -> None:
    """A pod: durations within the cap (summed in pod order), at most ``maxseq`` distinct
    candidates, none excluded, separated, in canonical order."""
    value, duration, groups = a["value"], a["duration"], a["groups"]
    seconds = 0.0
    for i in sel:
        seconds += float(duration[i])
    assert seconds <= a["poddur"] + DURATION_SLACK
    assert len(sel) <= a["maxseq"]
    assert len(set(sel)) == len(sel)
    assert all(0 <= i < a["n"] and i != a["excluded"] for i in sel)
    if a["separate"]:
        for i, j in itertools.combinations(sel, 2):
            assert not (groups[i] & groups[j]).any(), (i, j)
    keys = [(-float(value[i]), int(a["tiekey"][i])) for i in sel]
    assert keys == sorted(keys)


def greedy_values(a: dict[str, Any]) -> list[float]:
    """The values of the two greedy pods (by value, by value per second)."""
    args = (*(a[name] for name in POD_INPUTS), a["excluded"])
    return [pod_value(a, ref.greedy_pod(*args, by_density)) for by_density in (False, True)]


@cases(800)
@given(pods(max_n=12), BUDGETS)
def test_budgeted_fill_pod(a: dict[str, Any], budget: int) -> None:
    """Whatever the budget: a feasible pod, worth at least both greedy pods, within the
    reported gap of the optimum (brute force), after at most ``budget`` nodes. A search
    that ends within its budget is the exact one (the reference enumeration's pod)."""
    check_budgeted_fill(a, budget)


WIDE = dict(min_n=NODE_SCAN + 1, max_n=2 * NODE_SCAN + 8)
"""More candidates than one node scans, so the scans stop early and resume."""


@cases(100)
@given(pods(**WIDE, max_seq=2))
def test_wide_fill_pod(a: dict[str, Any]) -> None:
    """With more candidates than a node examines (the bounds' scans cut short, the search
    moving its window on), the exact search is still the reference enumeration's pod
    and as valuable as the brute force."""
    sel = run_fill(a)
    assert sel == ref.fill_pod(*(a[name] for name in POD_INPUTS), a["excluded"])
    best = brute_force(a)
    assert math.isclose(pod_value(a, sel), best, rel_tol=1e-9, abs_tol=0.0)


@cases(30)
@given(pods(min_n=NODE_SCAN + 1, max_n=NODE_SCAN + 6, max_seq=3))
def test_wide_fill_pod_of_three(a: dict[str, Any]) -> None:
    assert run_fill(a) == ref.fill_pod(*(a[name] for name in POD_INPUTS), a["excluded"])


@cases(100)
@given(pods(**WIDE, max_seq=2), st.sampled_from([1, 2, 3, 5, 8, 40, 200]))
def test_wide_budgeted_fill_pod(a: dict[str, Any], budget: int) -> None:
    check_budgeted_fill(a, budget)


def check_budgeted_fill(a: dict[str, Any], budget: int) -> None:
    """The properties of :func:`test_budgeted_fill_pod` for ``a`` and ``budget``."""
    sel, stats = run_fill_stats(a, budget)
    nodes, budgeted, gap = stats[STAT_NODES], stats[STAT_FILL_BUDGETED], stats[STAT_FILL_GAP]
    assert 0 <= nodes <= budget and nodes == int(nodes)
    assert budgeted in (0.0, 1.0) and gap >= 0.0
    assert stats[STAT_PRICE_BUDGETED] == stats[STAT_PRICE_GAP] == 0.0
    assert_feasible(a, sel)
    got = pod_value(a, sel)
    assert got >= max(greedy_values(a))
    best = brute_force(a)
    # 1e-9: the brute force sums in another order than the kernel.
    assert got + gap >= best - 1e-9 * max(1.0, best)
    if budgeted:
        assert nodes == budget
    else:
        assert gap == 0.0
        assert sel == ref.fill_pod(*(a[name] for name in POD_INPUTS), a["excluded"])


@cases(500)
@given(pods(max_n=20, max_seq=4), BUDGETS, st.data())
def test_budgeted_pod_does_not_depend_on_candidate_order(
    a: dict[str, Any], budget: int, data: Any
) -> None:
    """The budgeted search, too, depends on the candidates only through their order:
    permuted candidates give the permuted pod, the same nodes and the same gap."""
    n = a["n"]
    perm = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)
    b = dict(a, excluded=int(np.argsort(perm)[a["excluded"]]) if a["excluded"] >= 0 else -1)
    for name in ("value", "duration", "groups", "tiekey", "floor"):
        b[name] = a[name].copy()
        b[name][:n] = a[name][perm]
    sel_b, stats_b = run_fill_stats(b, budget)
    sel_a, stats_a = run_fill_stats(a, budget)
    assert [int(perm[i]) for i in sel_b] == sel_a
    assert stats_b.tolist() == stats_a.tolist()


@cases(600)
@given(pods(max_n=8), st.sampled_from([FIRST_PRICE, SECOND_PRICE]), BUDGETS)
def test_budgeted_pod_prices(a: dict[str, Any], mechanism: int, budget: int) -> None:
    """With budgeted searches each winner's price stays within [floor, bid]; it is at
    most the VCG payment for the pod chosen (brute force) and at least that less the
    largest gap reported; equal to it when no price search ran out. At most ``budget``
    nodes per winner."""
    a["excluded"] = -1
    sel, _ = run_fill_stats(a, budget)  # the pod a budgeted fill chose
    price, stats = run_prices_stats(a, sel, mechanism, budget)
    nodes, short, worst = stats[STAT_NODES], stats[STAT_PRICE_BUDGETED], stats[STAT_PRICE_GAP]
    assert 0 <= nodes <= len(sel) * budget
    assert 0 <= short <= len(sel) and worst >= 0.0
    assert stats[STAT_FILL_BUDGETED] == stats[STAT_FILL_GAP] == 0.0
    value, floor = a["value"], a["floor"]
    total = pod_value(a, sel)
    tol = 1e-9 * max(1.0, total)
    for j, i in enumerate(sel):
        assert floor[i] <= price[j] <= value[i]
        if mechanism == FIRST_PRICE:
            assert price[j] == value[i]
            continue
        externality = brute_force(dict(a, excluded=i), campaign=True) - (total - float(value[i]))
        vcg = min(max(float(floor[i]), externality), float(value[i]))
        assert vcg - worst - tol <= price[j] <= vcg + tol
        if short == 0:
            assert math.isclose(price[j], vcg, rel_tol=1e-9, abs_tol=tol)
    if mechanism == FIRST_PRICE or not sel:
        assert nodes == short == worst == 0.0


@cases(500)
@given(pods(max_n=10), st.sampled_from([FIRST_PRICE, SECOND_PRICE]), BUDGETS)
def test_pod_auction_is_fill_then_prices(a: dict[str, Any], mechanism: int, budget: int) -> None:
    """``pod_auction`` chooses the pod ``fill_pod`` chooses and prices it as ``pod_prices``
    does, with their nodes added up: at most ``(m + 1) * budget``."""
    a["excluded"] = -1
    sel, fill_stats = run_fill_stats(a, budget)
    price, price_stats = run_prices_stats(a, sel, mechanism, budget)
    size = min(a["maxseq"], a["n"])
    out = np.full(size + GUARD, 77, dtype=np.int64)
    out_price = np.full(size + GUARD, np.nan)
    sel2 = np.full(size + GUARD, 77, dtype=np.int64)
    stats = np.full(POD_STATS + GUARD, np.nan)
    work = scratch(a)
    args = {name: (v.copy() if isinstance(v, np.ndarray) else v) for name, v in a.items()}
    m = pod_auction(
        out, out_price, *(args[name] for name in POD_INPUTS[:4]), args["floor"],
        *(args[name] for name in POD_INPUTS[4:]), a["own_words"], mechanism, budget, stats,
        sel2, work,
    )  # fmt: skip
    unchanged(a, args, "pod_auction")
    check_guard(work)
    assert out[:m].tolist() == sel and out[m:].tolist() == [77] * (size + GUARD - m)
    assert_allclose(out_price[:m], price, rtol=1e-12, atol=1e-12 * max(1.0, pod_value(a, sel)))
    assert np.isnan(out_price[m:]).all() and np.isnan(stats[POD_STATS:]).all()
    assert stats[STAT_NODES] == fill_stats[STAT_NODES] + price_stats[STAT_NODES]
    assert stats[STAT_NODES] <= (m + 1) * budget
    for k in (STAT_FILL_BUDGETED, STAT_FILL_GAP):
        assert stats[k] == fill_stats[k]
    for k in (STAT_PRICE_BUDGETED, STAT_PRICE_GAP):
        assert stats[k] == price_stats[k]


def test_budget_runs_out_on_a_subset_sum() -> None:
    """Durations that nearly tile the pod and values proportional to them (a subset
    sum that no value bound cuts well): one node leaves a gap, a large budget ends the
    search with none, and the greedy completion keeps the pod close to the optimum."""
    rng = np.random.default_rng(3)
    n = 30
    duration = rng.uniform(5.0, 40.0, n)
    a = dict(
        value=duration * rng.uniform(0.999, 1.001, n),
        duration=duration,
        groups=np.zeros((n, 1), dtype=np.uint64),
        tiekey=np.arange(n, dtype=np.uint64),
        floor=np.zeros(n),
        n=n,
        poddur=120.0,
        maxseq=6,
        separate=False,
        excluded=-1,
    )
    sel, stats = run_fill_stats(a, 1)
    assert stats[STAT_NODES] == 1 and stats[STAT_FILL_BUDGETED] == 1.0
    assert stats[STAT_FILL_GAP] > 0.0
    exact, exact_stats = run_fill_stats(a)
    assert exact_stats[STAT_FILL_BUDGETED] == 0.0 and exact_stats[STAT_NODES] > 1
    assert pod_value(a, sel) + stats[STAT_FILL_GAP] >= pod_value(a, exact)
    assert pod_value(a, sel) >= 0.95 * pod_value(a, exact)


def test_a_node_scans_on_past_its_window() -> None:
    """The best candidate conflicts with the next ``NODE_SCAN + 36``: the node that
    extends it finds nothing in its window, counts the rest at the next value and scans
    on (another node) to the candidates that fit; budgeted, it stops in between."""
    n = NODE_SCAN + 60
    blocked = NODE_SCAN + 36
    groups = np.zeros((n, 1), dtype=np.uint64)
    groups[: 1 + blocked, 0] = 1  # one advertiser: never two of them in a pod
    a = dict(
        value=np.linspace(10.0, 1.0, n),
        duration=np.full(n, 10.0),
        groups=groups,
        tiekey=np.arange(n, dtype=np.uint64),
        floor=np.zeros(n),
        n=n,
        poddur=30.0,
        maxseq=3,
        separate=True,
        excluded=-1,
    )
    sel, stats = run_fill_stats(a)
    assert sel == [0, 1 + blocked, 2 + blocked]
    assert sel == ref.fill_pod(*(a[name] for name in POD_INPUTS), a["excluded"])
    assert stats[STAT_FILL_BUDGETED] == 0.0
    short, short_stats = run_fill_stats(a, 2)
    assert short_stats[STAT_NODES] == 2 and short_stats[STAT_FILL_BUDGETED] == 1.0
    assert short == sel  # the greedy completion finds it
    assert short_stats[STAT_FILL_GAP] >= 0.0
