"""Invariants of the auction kernel ``adcore._kernels.auction.run_auctions``, as
hypothesis properties over thousands of requests, and its agreement with the naive
reference auction in ``tests/reference/kernels.py``.

Inputs have the engine's dtypes (``adcore.context.Context``): ``reason uint8 (max_imps,
n_ads)``, ``floor float64 (max_imps, n_ads)``, ``avail int64`` micro-units per campaign,
``ad_key uint64``, ``priority int64``, ``draws float64 (max_imps, 2)``. Bids, multipliers,
floors and budgets are drawn mostly from small sets of values, so that ties (broken by
``splitmix64(ad_key ^ request_key)``), floors met exactly and budgets capping bids are
common.

Every comparison of bids, prices and charges is exact: the kernel's arithmetic is a
multiplication, a division of the budget by 1000, a minimum and a rounding, which Python
reproduces bit for bit (the JIT's fastmath set excludes ``arcp``, under which
``avail / 1000.0`` compiled to ``avail * 0.001``, one ulp high for some budgets:
``test_budget_cap_is_avail_over_1000``). Propensities, ``explore / n``, to 1e-15.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from adcore._kernels.auction import FIRST_PRICE, GSP, SECOND_PRICE, VCG, run_auctions
from adcore._kernels.pod import POD_STATS, UNLIMITED, pod_work_size

try:
    from tests.reference import kernels as ref
    from tests.reference import mechanisms as ref_mech
except ImportError:  # pytest run without the project root on sys.path
    from reference import kernels as ref  # type: ignore[no-redef]
    from reference import mechanisms as ref_mech  # type: ignore[no-redef]

JIT_DISABLED = bool(numba.config.DISABLE_JIT)

pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in scalar:RuntimeWarning")


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (a tenth without the JIT)."""
    return settings(
        max_examples=max(10, n // 10) if JIT_DISABLED else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


# --------------------------------------------------------------------------- inputs

BIDS = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]), st.floats(0.0, 10.0))
MULTS = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 1.0]), st.floats(0.0, 1.0))
FLOORS = st.sampled_from([0.0, 0.0, 0.5, 1.0, 1.5, 2.0])
AVAILS = st.one_of(
    st.sampled_from([0, 250, 500, 1000, 1500, 2000, 3000, 10**9]), st.integers(0, 5000)
)
REASONS = st.sampled_from([0, 0, 0, 0, 0, 8, 15])
PRIORITIES = st.sampled_from([0, 0, 0, 1, 2])
SOFT_FLOORS = st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.5, 5.0])
DEAL_BITS = st.sampled_from([0, 0, 0, 1, 2, 3])
VALUES = st.sampled_from([0.0, 1.0, 2.0, 2.0, 5.0])  # expected values: ties are common
DRAWS = st.one_of(st.sampled_from([0.0, 0.5, 0.999, 1.0]), st.floats(0.0, 1.0))


@st.composite
def requests(draw: st.DrawFn, explore: bool | None = False, max_ads: int = 8) -> dict[str, Any]:
    """One request's auction inputs. ``explore``: False for 0, True for a rate in (0, 1),
    None for either. A third of the requests carry their own candidate list (any ascending
    subset of the ads); the others get the inventory stage's (:func:`listed`)."""
    n = draw(st.integers(0, max_ads))
    nc = draw(st.integers(1, 4))
    max_imps = draw(st.integers(1, 4))

    def col(strategy: st.SearchStrategy[Any], size: int, dtype: Any) -> np.ndarray:
        return np.array(draw(st.lists(strategy, min_size=size, max_size=size)), dtype=dtype)

    if explore is None:
        explore = draw(st.booleans())
    n_imp = draw(st.integers(0, max_imps))
    reason = col(REASONS, max_imps * n, np.uint8).reshape(max_imps, n)
    return dict(
        n_imp=n_imp,
        reason=reason,
        bid=col(BIDS, n, np.float64),
        value=col(VALUES, n, np.float64),
        mult=col(MULTS, nc, np.float64),
        ad_campaign=col(st.integers(0, nc - 1), n, np.int32),
        floor=col(FLOORS, max_imps * n, np.float64).reshape(max_imps, n),
        avail=col(AVAILS, nc, np.int64),
        ad_key=np.array(
            draw(st.lists(st.integers(1, 2**64 - 1), min_size=n, max_size=n, unique=True)),
            dtype=np.uint64,
        ),
        priority=col(PRIORITIES, n, np.int64),
        request_key=np.uint64(draw(st.integers(0, 2**64 - 1))),
        imp_mech=col(st.sampled_from([FIRST_PRICE, SECOND_PRICE]), max_imps, np.int64),
        imp_soft=col(SOFT_FLOORS, max_imps, np.float64),
        camp_deals=col(DEAL_BITS, nc, np.uint64).reshape(nc, 1),
        imp_deals=col(DEAL_BITS, max_imps, np.uint64).reshape(max_imps, 1),
        explore=draw(st.floats(0.01, 0.99)) if explore else 0.0,
        draws=col(DRAWS, max_imps * 2, np.float64).reshape(max_imps, 2),
        cand=draw(
            st.one_of(
                st.none(),
                st.none(),
                st.sets(st.integers(0, max(n - 1, 0)), max_size=n).map(
                    lambda ads: np.array(sorted(ads), dtype=np.int64)
                ),
            )
        ),
    )


OUTPUTS = (
    "win_ad",
    "win_bid",
    "win_price",
    "win_micros",
    "win_propensity",
    "win_second",
    "effective",
    "won",
)
INPUTS = (
    "n_imp",
    "reason",
    "bid",
    "value",
    "mult",
    "ad_campaign",
    "floor",
    "avail",
    "ad_key",
    "priority",
    "camp_deals",
    "imp_deals",
    "request_key",
    "imp_mech",
    "imp_soft",
    "explore",
    "draws",
    "cand",
    "n_cand",
)
NO_DEALS = dict(camp_deals=np.zeros((4, 1), np.uint64), imp_deals=np.zeros((4, 1), np.uint64))


def call_kernel(
    out: dict[str, Any],
    a: dict[str, Any],
    *,
    multislot: int = 0,
    pod: tuple[float, int] | None = None,
    durations: np.ndarray | None = None,
    forced: float = 0.0,
    caps: np.ndarray | None = None,
    pod_budget: int = UNLIMITED,
    request_budget: int = UNLIMITED,
) -> None:
    """Call ``run_auctions`` with ``a``'s inputs: single slots by default; a position
    auction (``multislot``), or the first impression as a pod of ``pod = (poddur,
    maxseq)`` with ad ``i``'s creative lasting ``durations[i]``; a forced floor and bid
    caps. No bid shading (tested through the engine). Pod outputs land in ``out``."""
    m, n = a["reason"].shape
    nc = len(a["mult"])
    cands = max(n, m + 1, 2)
    slots = 4
    out.setdefault("pod_ad", np.full((m, slots), -1, np.int64))
    out.setdefault("pod_bid", np.zeros((m, slots)))
    out.setdefault("pod_price", np.zeros((m, slots)))
    out.setdefault("pod_micros", np.zeros((m, slots), np.int64))
    out.setdefault("pod_n", np.zeros(m, np.int64))
    out.setdefault("pod_nodes", np.zeros(m, np.int64))
    out.setdefault("pod_gap", np.zeros(m))
    out.setdefault("pod_budgeted", np.zeros(m, np.uint8))
    imp_pod = np.zeros(m, np.uint8)
    poddur = np.zeros(m)
    maxseq = np.zeros(m, np.int64)
    creative = np.full((m, n), -1, np.int32)
    var_duration = np.zeros(max(n, 1))
    if pod is not None:
        imp_pod[0], poddur[0], maxseq[0] = 1, pod[0], pod[1]
        creative[0, :] = np.arange(n, dtype=np.int32)
        if durations is not None:
            var_duration[:n] = durations
    group_words = (nc + 63) // 64 + 2
    run_auctions(
        *(out[name] for name in OUTPUTS),
        out["pod_ad"],
        out["pod_bid"],
        out["pod_price"],
        out["pod_micros"],
        out["pod_n"],
        out["pod_nodes"],
        out["pod_gap"],
        out["pod_budgeted"],
        a["reason"],
        a["bid"],
        a.get("value", np.zeros(n)),  # expected values (ties); none given: all equal
        a["mult"],
        a["ad_campaign"],
        a["floor"],
        a["avail"],
        np.full(nc, np.inf) if caps is None else caps,
        np.full(1, forced),
        np.ones(1),  # no fraud discount
        a["ad_key"],
        a["priority"],
        a["camp_deals"][:nc],
        a["imp_deals"][:m],
        a["imp_mech"],
        a["imp_soft"],
        a["draws"],
        a["cand"],
        np.ones(m),  # slot_weight
        imp_pod,
        poddur,
        maxseq,
        np.zeros(m),  # imp_cpmps
        np.zeros(m, np.uint8),  # imp_dedupe
        pod_budget,  # nodes per pod search (by default unlimited: exact pods)
        request_budget,  # nodes all of the request's pod searches share
        creative,
        var_duration,
        np.zeros((n, 1), np.uint64),  # ad_domains
        np.zeros((n, 1), np.uint64),  # ad_categories
        False,  # shade
        np.zeros((1, 4)),  # shading tries
        np.zeros((1, 4)),  # shading wins
        np.array([0.0, 1.0, 2.0, 4.0]),  # shading grid
        np.zeros(m, np.int64),  # imp_slot
        2.0,  # shading prior
        0.0,  # shading min tries
        np.zeros(12),  # shading work
        np.zeros(cands, np.int64),  # g_idx
        np.zeros(cands),  # g_eff
        np.zeros(cands),  # g_floor
        np.zeros(cands, np.int64),  # g_prio
        np.zeros(cands, np.uint64),  # g_key
        np.zeros(cands),  # g_dur
        np.zeros((cands, group_words), np.uint64),  # g_groups
        np.zeros(cands, np.int64),  # g_sel
        np.zeros(cands, np.int64),  # g_sel2
        np.zeros(cands),  # g_price
        np.zeros(max(pod_work_size(cands, slots, group_words), cands), np.int64),  # g_work
        np.zeros(POD_STATS),  # g_stats
        a["n_imp"],
        a["n_cand"],
        a["request_key"],
        a["explore"],
        multislot,
    )


def listed(a: dict[str, Any]) -> list[int]:
    """The candidate list of the request: ``a["cand"]`` if it has one (all of it, or its
    first ``n_cand``), else what the inventory stage lists (the ads eligible for some
    impression, ascending)."""
    if a.get("cand") is not None:
        return [int(i) for i in a["cand"][: a.get("n_cand", len(a["cand"]))]]
    return ref.candidates(a["reason"], a["n_imp"])


def with_candidates(a: dict[str, Any]) -> dict[str, Any]:
    """``a`` with its candidate list as the kernel takes it: int64, garbage past n_cand."""
    ads = listed(a)
    n = len(a["bid"])
    cand = np.full(n, -1, dtype=np.int64)
    cand[: len(ads)] = ads
    # no expected values or action rates given: all equal (ties go by the tie key)
    ties = {} if "value" in a else {"value": np.zeros(n)}
    return {**a, **ties, "cand": cand, "n_cand": len(ads)}


def run(a: dict[str, Any]) -> dict[str, Any]:
    """Run the kernel on copies of ``a``'s arrays, outputs pre-filled with garbage."""
    m, n = a["reason"].shape
    out = dict(
        win_ad=np.full(m, 77, dtype=np.int32),
        win_bid=np.full(m, np.nan),
        win_price=np.full(m, np.nan),
        win_micros=np.full(m, -5, dtype=np.int64),
        win_propensity=np.full(m, np.nan),
        win_second=np.full(m, np.nan),
        effective=np.full(n, np.nan),
        won=np.full(n, 9, dtype=np.uint8),
    )
    a = with_candidates(a)
    args = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in a.items()}
    call_kernel(out, args)
    out["avail"] = args["avail"]
    for name in INPUTS:  # nothing but avail (and the outputs) is written
        if name != "avail" and isinstance(a[name], np.ndarray):
            assert_array_equal(args[name], a[name], err_msg=f"run_auctions wrote {name}")
    return out


def effective_bid(a: dict[str, Any], i: int, left: list[int]) -> float:
    c = int(a["ad_campaign"][i])
    return min(float(a["bid"][i]) * float(a["mult"][c]), left[c] / 1000.0)


def candidates(a: dict[str, Any], k: int, won: set[int], left: list[int]) -> dict[int, float]:
    """The eligible ads of impression ``k`` that clear their floor, with effective bids,
    given the ads that won earlier impressions and the budgets left."""
    out = {}
    for i in listed(a):
        if a["reason"][k, i] != 0 or i in won:
            continue
        e = effective_bid(a, i, left)
        if e > 0.0 and e >= a["floor"][k, i]:
            out[i] = e
    return out


def tie_key(a: dict[str, Any], i: int) -> int:
    return ref.splitmix64(int(a["ad_key"][i]) ^ int(a["request_key"]))


def rank(a: dict[str, Any], k: int, i: int) -> int:
    """Priority, then a private deal on impression ``k`` held by the ad's campaign."""
    c = int(a["ad_campaign"][i])
    deal = int(a["camp_deals"][c, 0]) & int(a["imp_deals"][k, 0]) != 0
    return 2 * int(a["priority"][i]) + int(deal)


def best_of(a: dict[str, Any], cands: dict[int, float], k: int = 0) -> int:
    """The greedy winner: highest priority, then a deal, then highest effective bid, then
    highest expected value, then lowest tie key."""
    top = max(rank(a, k, i) for i in cands)
    tier = {i: e for i, e in cands.items() if rank(a, k, i) == top}
    high = max(tier.values())
    return min(
        (i for i, e in tier.items() if e == high),
        key=lambda i: (-float(a["value"][i]), tie_key(a, i)),
    )


def replay(a: dict[str, Any], out: dict[str, Any]):  # type: ignore[no-untyped-def]
    """For each impression: (k, candidates, winner, budget left before it), rebuilding the
    state from the kernel's own earlier winners and charges."""
    left = [int(x) for x in a["avail"]]
    won: set[int] = set()
    for k in range(a["n_imp"]):
        cands = candidates(a, k, won, left)
        w = int(out["win_ad"][k])
        yield k, cands, w, list(left)
        if w >= 0:
            won.add(w)
            left[int(a["ad_campaign"][w])] -= int(out["win_micros"][k])


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Compile (or load from cache) the kernel's signature once, before timed examples."""
    a = dict(
        n_imp=1,
        reason=np.zeros((1, 1), np.uint8),
        bid=np.ones(1),
        value=np.ones(1),
        mult=np.ones(1),
        ad_campaign=np.zeros(1, np.int32),
        floor=np.zeros((1, 1)),
        avail=np.array([1000], np.int64),
        ad_key=np.array([3], np.uint64),
        priority=np.zeros(1, np.int64),
        request_key=np.uint64(1),
        imp_mech=np.full(1, SECOND_PRICE, np.int64),
        imp_soft=np.zeros(1),
        explore=0.0,
        draws=np.zeros((1, 2)),
        **NO_DEALS,
    )
    assert run(a)["win_ad"][0] == 0


# --------------------------------------------------------------------------- properties


@cases(1500)
@given(requests(explore=None))
def test_kernel_agrees_with_reference_auction(a: dict[str, Any]) -> None:
    """On everything, with the inventory stage's candidate list or any ascending list."""
    out = run(a)
    want = ref.run_auctions(*(with_candidates(a)[name] for name in INPUTS))
    n_imp = a["n_imp"]
    assert out["win_ad"][:n_imp].tolist() == want["win_ad"]
    assert out["win_micros"][:n_imp].tolist() == want["win_micros"]
    assert out["avail"].tolist() == want["avail"]
    assert out["won"].tolist() == want["won"]
    assert out["effective"].tolist() == want["effective"]
    for name in ("win_bid", "win_price", "win_second"):
        assert out[name][:n_imp].tolist() == want[name], name
    # 1 - explore + explore / n: reassociation may change the last bit.
    assert_allclose(out["win_propensity"][:n_imp], want["win_propensity"], rtol=1e-15, atol=0)


@cases(1500)
@given(requests())
def test_auction_invariants(a: dict[str, Any]) -> None:
    out = run(a)
    initial = [int(x) for x in a["avail"]]
    winners = []
    for k, cands, w, left in replay(a, out):
        if not cands:
            assert w == -1
            assert (
                out["win_bid"][k],
                out["win_price"][k],
                out["win_micros"][k],
                out["win_propensity"][k],
            ) == (0.0, 0.0, 0, 0.0)
            continue
        # No ineligible ad wins: reason 0, not a winner already, effective > 0 and >= floor.
        assert w in cands, (k, w, cands)
        winners.append(w)
        bid, price, floor = out["win_bid"][k], out["win_price"][k], a["floor"][k, w]
        assert bid == cands[w]
        # The winner is the greedy choice: top priority present, then highest bid, ties to
        # the higher expected value, then the lower splitmix64(ad_key ^ request_key).
        assert w == best_of(a, cands, k)
        assert out["win_propensity"][k] == 1.0
        # Price: within [floor, bid]; first price = bid; second price = the larger of the
        # best bid of another campaign, the floor and the soft floor, capped at the bid; a winner
        # bidding under the soft floor pays its bid.
        assert floor <= price <= bid
        # the best bid of another campaign: a campaign never sets its own price
        camp = a["ad_campaign"]
        runner_up = max((e for i, e in cands.items() if camp[i] != camp[w]), default=0.0)
        assert out["win_second"][k] == runner_up
        soft = a["imp_soft"][k]
        if a["imp_mech"][k] == FIRST_PRICE or bid < soft:
            assert price == bid
        else:
            assert price == min(max(runner_up, floor, soft), bid)
            assert price >= min(soft, bid)
        # Money: round(price * 1000) micro-units, never more than the campaign has left.
        c = int(a["ad_campaign"][w])
        assert out["win_micros"][k] == min(math.floor(price * 1000.0 + 0.5), left[c])
        assert 0 <= out["win_micros"][k] <= left[c]
    # An ad wins at most one impression per request.
    assert len(winners) == len(set(winners))
    assert out["won"].tolist() == [int(i in winners) for i in range(len(a["bid"]))]
    # Budgets never go negative and fall by exactly what was charged.
    charged = [0] * len(initial)
    for k in range(a["n_imp"]):
        if out["win_ad"][k] >= 0:
            charged[int(a["ad_campaign"][out["win_ad"][k]])] += int(out["win_micros"][k])
    assert (out["avail"] >= 0).all()
    assert out["avail"].tolist() == [x - y for x, y in zip(initial, charged, strict=True)]


@cases(1000)
@given(requests(), st.data())
def test_result_does_not_depend_on_candidate_order(a: dict[str, Any], data: st.DataObject) -> None:
    """Permute the ads (every per-ad array, ad keys included) and renumber the campaigns:
    the same ad, by key, wins each impression at the same price and charge."""
    n, nc = len(a["bid"]), len(a["mult"])
    perm = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)
    cperm = np.array(data.draw(st.permutations(range(nc))), dtype=np.int64)
    b = dict(a)
    b.update(
        reason=a["reason"][:, perm].copy(),
        floor=a["floor"][:, perm].copy(),
        bid=a["bid"][perm],
        value=a["value"][perm],
        ad_key=a["ad_key"][perm],
        priority=a["priority"][perm],
        ad_campaign=cperm[a["ad_campaign"][perm]].astype(np.int32),
    )
    b["camp_deals"] = np.empty_like(a["camp_deals"])
    b["camp_deals"][cperm] = a["camp_deals"]
    b["mult"], b["avail"] = np.empty_like(a["mult"]), np.empty_like(a["avail"])
    b["mult"][cperm], b["avail"][cperm] = a["mult"], a["avail"]
    if a["cand"] is not None:  # the same ads, at their new places, ascending
        b["cand"] = np.sort(np.argsort(perm)[a["cand"]])
    one, two = run(a), run(b)
    n_imp = a["n_imp"]

    def keys(out: dict[str, Any], ad_key: np.ndarray) -> list[int]:
        return [int(ad_key[w]) if w >= 0 else -1 for w in out["win_ad"][:n_imp]]

    assert keys(one, a["ad_key"]) == keys(two, b["ad_key"])
    for name in ("win_price", "win_bid", "win_micros", "win_propensity"):
        assert one[name][:n_imp].tolist() == two[name][:n_imp].tolist(), name
    assert one["avail"].tolist() == two["avail"][cperm].tolist()


@cases(1000)
@given(requests().filter(lambda a: len(a["bid"]) >= 2), st.sampled_from([0.0, 1.0, 2.5]), st.data())
def test_ties_go_to_expected_value_then_the_tie_key(
    a: dict[str, Any], bid: float, data: st.DataObject
) -> None:
    """Give the first ``n_tied`` ads one campaign, one priority and one bid: when only they
    compete, the winner has the highest expected value, then the lowest
    splitmix64(ad_key ^ request_key). Its own siblings never set its
    price: with second price it pays the larger of its floor (0) and the soft floor."""
    n_tied = data.draw(st.integers(2, len(a["bid"])))
    a["n_imp"] = max(a["n_imp"], 1)
    a["cand"] = None  # the inventory stage's list: every ad eligible somewhere
    a["reason"][0, :] = 15
    a["reason"][0, :n_tied] = 0
    a["floor"][0, :] = 0.0
    a["bid"][:n_tied] = bid + 1.0
    a["ad_campaign"][:n_tied] = 0
    a["mult"][0] = 1.0
    a["avail"][0] = 10**9
    a["priority"][:n_tied] = 0
    a["imp_deals"][0] = 0
    out = run(a)
    want = min(
        range(n_tied),
        key=lambda i: (-float(a["value"][i]), tie_key(a, i)),
    )
    assert out["win_ad"][0] == want
    if a["imp_mech"][0] == SECOND_PRICE:
        soft = float(a["imp_soft"][0])
        assert out["win_price"][0] == (bid + 1.0 if bid + 1.0 < soft else soft)
        assert out["win_second"][0] == 0.0


@cases(1000)
@given(requests(explore=True))
def test_exploration_propensities(a: dict[str, Any]) -> None:
    out = run(a)
    eps = a["explore"]
    for k, cands, w, _ in replay(a, out):
        if not cands:
            assert w == -1
            continue
        assert w in cands
        n = len(cands)
        p = out["win_propensity"][k]
        assert 0.0 < p <= 1.0
        greedy = best_of(a, cands, k)
        if n == 1:
            assert p == 1.0
        elif w == greedy:
            assert p == pytest.approx(1 - eps + eps / n, rel=1e-15)
        else:
            assert p == pytest.approx(eps / n, rel=1e-15)
            assert out["win_price"][k] == a["floor"][k, w]  # an explored winner pays its floor
        if a["draws"][k, 0] >= eps:  # no exploration drawn: the greedy winner
            assert w == greedy
        elif n > 1:  # the drawn bidder, counted in candidate-list order
            ordered = [i for i in listed(a) if i in cands]
            assert w == ordered[min(int(a["draws"][k, 1] * n), n - 1)]


@cases(1000)
@given(requests(explore=True))
def test_exploration_with_one_impression_keeps_the_greedy_argmax(a: dict[str, Any]) -> None:
    """With a single impression, the argmax is what the same request wins without
    exploration; its propensity is 1 - eps + eps / n, every other winner's eps / n."""
    a["n_imp"] = 1
    greedy = run({**a, "explore": 0.0})
    out = run(a)
    if greedy["win_ad"][0] < 0:
        assert out["win_ad"][0] == -1
        return
    cands = candidates(a, 0, set(), [int(x) for x in a["avail"]])
    n, eps = len(cands), a["explore"]
    if out["win_ad"][0] == greedy["win_ad"][0]:
        assert out["win_propensity"][0] == pytest.approx(1 - eps + eps / n if n > 1 else 1.0)
        assert out["win_price"][0] == greedy["win_price"][0]
    else:
        assert out["win_propensity"][0] == pytest.approx(eps / n)


def test_exploration_frequencies_match_propensities() -> None:
    """Over N requests with fresh draws (fixed seed), each candidate wins with the
    propensity the kernel reports. Hoeffding: a frequency strays more than t = 0.02 from its
    probability with chance at most 2 exp(-2 N t^2) = 2e-7 for N = 20000."""
    rng = np.random.default_rng(20240601)
    n_runs, eps = 20_000 if not JIT_DISABLED else 2_000, 0.3
    t = 0.02 if not JIT_DISABLED else 0.06
    a = dict(
        n_imp=1,
        reason=np.zeros((1, 4), np.uint8),
        bid=np.array([1.0, 2.0, 3.0, 4.0]),
        mult=np.ones(1),
        ad_campaign=np.zeros(4, np.int32),
        floor=np.zeros((1, 4)),
        avail=np.array([10**9], np.int64),
        ad_key=np.array([5, 6, 7, 8], np.uint64),
        priority=np.zeros(4, np.int64),
        request_key=np.uint64(99),
        imp_mech=np.full(1, SECOND_PRICE, np.int64),
        imp_soft=np.zeros(1),
        explore=eps,
        draws=np.zeros((1, 2)),
        **NO_DEALS,
    )
    out = run(a)  # allocates the outputs, checks the inputs are left alone
    wins = np.zeros(4)
    propensity = np.zeros(4)
    for draws in rng.random((n_runs, 1, 2)):
        call_kernel(
            out,
            {
                **a,
                "avail": a["avail"].copy(),
                "draws": draws,
                "cand": np.arange(4, dtype=np.int64),
                "n_cand": 4,
            },
        )
        wins[out["win_ad"][0]] += 1
        propensity[out["win_ad"][0]] = out["win_propensity"][0]
    want = np.array([eps / 4] * 3 + [1 - eps + eps / 4])
    assert_allclose(propensity, want, rtol=1e-15)
    assert (np.abs(wins / n_runs - want) < t).all(), wins / n_runs


def test_budget_cap_is_avail_over_1000() -> None:
    """Regression: under fastmath 'arcp' the kernel computed the cap of avail = 36
    micro-units as 36 * 0.001 = 0.036000000000000004, so an ad capped by its budget beat an
    exact tie at 0.036 whatever the tie keys said."""
    a = dict(
        n_imp=1,
        reason=np.zeros((1, 2), np.uint8),
        bid=np.array([5.0, 0.036]),
        mult=np.ones(2),
        ad_campaign=np.array([0, 1], np.int32),
        floor=np.zeros((1, 2)),
        avail=np.array([36, 10**9], np.int64),
        ad_key=np.array([2, 1], np.uint64),
        priority=np.zeros(2, np.int64),
        request_key=np.uint64(0),
        imp_mech=np.full(1, SECOND_PRICE, np.int64),
        imp_soft=np.zeros(1),
        explore=0.0,
        draws=np.zeros((1, 2)),
        **NO_DEALS,
    )
    assert tie_key(a, 1) < tie_key(a, 0)  # so the tie goes to ad 1
    out = run(a)
    assert out["win_ad"][0] == 1
    assert out["effective"][0] == 36 / 1000.0


@cases(800)
@given(requests(), st.sampled_from([GSP, VCG]))
def test_position_auction_path_matches_the_mechanism_reference(
    a: dict[str, Any], mechanism: int
) -> None:
    """With ``multislot`` the request's impressions are positions: the candidates are
    the ads eligible for every impression, at their highest floor, ranked by tier (no
    deals here, so twice the priority), and priced by the position-auction reference."""
    a = with_candidates({**a, "imp_deals": np.zeros_like(a["imp_deals"])})
    m = a["n_imp"]
    out: dict[str, Any] = {
        name: np.zeros(a["reason"].shape[0], np.int32 if name == "win_ad" else np.float64)
        for name in OUTPUTS
    }
    out["win_micros"] = np.zeros(a["reason"].shape[0], np.int64)
    out["effective"], out["won"] = np.zeros(len(a["bid"])), np.zeros(len(a["bid"]), np.uint8)
    avail = a["avail"].copy()
    call_kernel(out, {**a, "avail": avail}, multislot=mechanism)
    if m == 0:
        return
    idx, eff, floor, prio = [], [], [], []
    for i in [int(x) for x in a["cand"][: a["n_cand"]]]:
        if all(a["reason"][k, i] == 0 for k in range(m)):
            idx.append(i)
            eff.append(effective_bid(a, i, [int(x) for x in a["avail"]]))
            floor.append(max(float(a["floor"][k, i]) for k in range(m)))
            prio.append(2 * int(a["priority"][i]))
    keys = [tie_key(a, i) for i in idx]
    owners = [int(a["ad_campaign"][i]) for i in idx]
    values = [float(a["value"][i]) for i in idx]
    want = ref_mech.multislot_auction(
        eff, floor, prio, keys, [1.0] * m, len(idx), m, mechanism, owners, values
    )
    got = [int(w) for w in out["win_ad"][:m]]
    assert got == [idx[w] if w >= 0 else -1 for w in want["win"]]
    for k in range(m):
        if got[k] >= 0:
            assert out["win_price"][k] == pytest.approx(want["price"][k], rel=1e-12)
            assert float(floor[idx.index(got[k])]) <= out["win_price"][k] <= out["win_bid"][k]


@cases(600)
@given(
    requests(max_ads=7),
    st.sampled_from([15.0, 30.0, 45.0, 60.0]),
    st.integers(1, 4),
    st.lists(st.sampled_from([0.0, 10.0, 15.0, 30.0]), min_size=7, max_size=7),
    st.sampled_from([0.0, 0.0, 1.0, 2.5]),
)
def test_pod_path_fills_the_best_pod(
    a: dict[str, Any], poddur: float, maxseq: int, durations: list[float], forced: float
) -> None:
    """The first impression as a pod: its total bid equals the brute-force best pod of
    the eligible candidates (one ad per campaign), within duration and count, and every
    price clears the (forced) floor and stays under the bid."""
    a = with_candidates({**a, "n_imp": max(a["n_imp"], 1)})
    n = len(a["bid"])
    out: dict[str, Any] = {
        name: np.zeros(a["reason"].shape[0], np.int32 if name == "win_ad" else np.float64)
        for name in OUTPUTS
    }
    out["win_micros"] = np.zeros(a["reason"].shape[0], np.int64)
    out["effective"], out["won"] = np.zeros(n), np.zeros(n, np.uint8)
    dur = np.array(durations[:n])
    floors0 = a["floor"][0].copy()
    call_kernel(out, {**a, "avail": a["avail"].copy()}, pod=(poddur, maxseq), durations=dur,
                forced=forced)  # fmt: skip
    left = [int(x) for x in a["avail"]]
    cands = []
    for i in [int(x) for x in a["cand"][: a["n_cand"]]]:
        e = effective_bid(a, i, left)
        f = max(float(floors0[i]), forced)
        if a["reason"][0, i] == 0 and e > 0.0 and e >= f and dur[i] <= poddur:
            cands.append((i, e, f))
    count = int(out["pod_n"][0])
    chosen = [int(x) for x in out["pod_ad"][0, :count]]
    assert len(chosen) <= maxseq and sum(dur[i] for i in chosen) <= poddur + 1e-9
    assert len({int(a["ad_campaign"][i]) for i in chosen}) == len(chosen)
    groups = np.zeros((len(cands), 1), np.uint64)
    for j, (i, _, _) in enumerate(cands):
        groups[j, 0] = np.uint64(1) << np.uint64(int(a["ad_campaign"][i]))
    best = ref_mech.brute_force_pod(
        [e for _, e, _ in cands], [float(dur[i]) for i, _, _ in cands], groups, len(cands),
        poddur, maxseq, True,
    )  # fmt: skip
    by_ad = {i: (e, f) for i, e, f in cands}
    assert sum(by_ad[i][0] for i in chosen) == pytest.approx(best, abs=1e-9)
    for t, i in enumerate(chosen):
        assert by_ad[i][1] - 1e-12 <= out["pod_price"][0, t] <= by_ad[i][0] + 1e-12


@cases(600)
@given(
    requests(max_ads=7),
    st.sampled_from([15.0, 30.0, 45.0, 60.0]),
    st.integers(1, 4),
    st.lists(st.sampled_from([0.0, 10.0, 15.0, 30.0]), min_size=7, max_size=7),
    st.sampled_from([1, 2, 3, UNLIMITED]),
)
def test_pod_path_reports_its_search(
    a: dict[str, Any], poddur: float, maxseq: int, durations: list[float], budget: int
) -> None:
    """With a node budget, the pod impression's nodes stay within ``(count + 1) *
    budget`` (a search per winner with second price), its flags say which searches ran
    out, and its value plus the reported gap reaches the brute-force optimum (exactly
    it when the fill did not run out); the other impressions report nothing."""
    a = with_candidates({**a, "n_imp": max(a["n_imp"], 1)})
    n = len(a["bid"])
    m = a["reason"].shape[0]
    out: dict[str, Any] = {
        name: np.zeros(m, np.int32 if name == "win_ad" else np.float64) for name in OUTPUTS
    }
    out["win_micros"] = np.zeros(m, np.int64)
    out["effective"], out["won"] = np.zeros(n), np.zeros(n, np.uint8)
    out["pod_nodes"] = np.full(m, 99, np.int64)
    out["pod_gap"] = np.full(m, 99.0)
    out["pod_budgeted"] = np.full(m, 99, np.uint8)
    dur = np.array(durations[:n])
    floors0 = a["floor"][0].copy()
    call_kernel(out, {**a, "avail": a["avail"].copy()}, pod=(poddur, maxseq), durations=dur,
                pod_budget=budget)  # fmt: skip
    left = [int(x) for x in a["avail"]]
    cands = []
    for i in [int(x) for x in a["cand"][: a["n_cand"]]]:
        e = effective_bid(a, i, left)
        if a["reason"][0, i] == 0 and e > 0.0 and e >= float(floors0[i]) and dur[i] <= poddur:
            cands.append((i, e))
    count = int(out["pod_n"][0])
    nodes, gap, flags = int(out["pod_nodes"][0]), float(out["pod_gap"][0]), out["pod_budgeted"][0]
    searches = count + 1 if a["imp_mech"][0] == 2 else 1
    assert (nodes == 0) == (not cands)
    assert nodes <= searches * budget and gap >= 0.0 and flags in (0, 1, 2, 3)
    if budget == UNLIMITED:
        assert flags == 0
    if a["imp_mech"][0] != 2:
        assert flags & 2 == 0
    groups = np.zeros((len(cands), 1), np.uint64)
    for j, (i, _) in enumerate(cands):
        groups[j, 0] = np.uint64(1) << np.uint64(int(a["ad_campaign"][i]))
    best = ref_mech.brute_force_pod(
        [e for _, e in cands], [float(dur[i]) for i, _ in cands], groups, len(cands), poddur,
        maxseq, True,
    )  # fmt: skip
    got = sum(dict(cands)[int(i)] for i in out["pod_ad"][0, :count])
    assert got + gap >= best - 1e-9 * max(1.0, best)
    if not flags & 1:
        assert gap == 0.0 and got == pytest.approx(best, abs=1e-9)
    for k in range(1, a["n_imp"]):
        assert (out["pod_nodes"][k], out["pod_gap"][k], out["pod_budgeted"][k]) == (0, 0.0, 0)


@cases(600)
@given(
    st.integers(2, 8),
    st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0]), min_size=8, max_size=8),
    st.lists(st.integers(1, 2**64 - 1), min_size=8, max_size=8, unique=True),
    st.integers(0, 2**64 - 1),
    st.integers(1, 4),  # call_kernel's pods hold 4 ads
    st.sampled_from([FIRST_PRICE, SECOND_PRICE]),
)
def test_pod_ties_go_to_expected_value_then_the_tie_key(
    n: int, values: list[float], keys: list[int], request_key: int, maxseq: int, mech: int
) -> None:
    """A pod of ``maxseq`` equal spots, ``n`` ads of ``n`` campaigns all bidding the
    same: every pod of ``min(n, maxseq)`` ads has the same total bid, and the one chosen
    holds the ads first in the order expected value desc, then
    splitmix64(ad_key ^ request_key) asc."""
    a: dict[str, Any] = dict(
        n_imp=1,
        reason=np.zeros((1, n), np.uint8),
        bid=np.full(n, 3.0),
        value=np.array(values[:n]),
        mult=np.ones(n),
        ad_campaign=np.arange(n, dtype=np.int32),
        floor=np.zeros((1, n)),
        avail=np.full(n, 10**9, np.int64),
        ad_key=np.array(keys[:n], np.uint64),
        priority=np.zeros(n, np.int64),
        camp_deals=np.zeros((n, 1), np.uint64),
        imp_deals=np.zeros((1, 1), np.uint64),
        request_key=np.uint64(request_key),
        imp_mech=np.array([mech], np.int64),
        imp_soft=np.zeros(1),
        explore=0.0,
        draws=np.zeros((1, 2)),
        cand=None,
    )
    a = with_candidates(a)
    out: dict[str, Any] = {
        name: np.zeros(1, np.int32 if name == "win_ad" else np.float64) for name in OUTPUTS
    }
    out["win_micros"] = np.zeros(1, np.int64)
    out["effective"], out["won"] = np.zeros(n), np.zeros(n, np.uint8)
    call_kernel(out, a, pod=(30.0 * maxseq, maxseq), durations=np.full(n, 30.0))
    count = int(out["pod_n"][0])
    order = sorted(range(n), key=lambda i: (-values[i], tie_key(a, i)))
    assert count == min(n, maxseq)
    assert sorted(int(i) for i in out["pod_ad"][0, :count]) == sorted(order[:count])
