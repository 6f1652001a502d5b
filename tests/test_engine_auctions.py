"""Auction mechanisms and pacing through the public engine API: pods, position auctions,
private deals, soft floors, learned reserves, bid shading, and the budget invariant
(spend never exceeds a budget) under random traffic, feedback and pacing strategies.

The kernels' own properties (optimality against brute force, truthfulness, VCG
externalities, permutation invariance) are in test_mechanism_properties.py and
test_auction_properties.py; here the engine must wire them up faithfully."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adcore import (
    Ad,
    BidStrategy,
    Campaign,
    Catalog,
    Engine,
    EngineConfig,
    InvalidConfig,
    InvalidRequest,
    Pacing,
)
from adcore import openrtb as rtb
from adcore.events import Impression

T0 = 1_780_000_000.0
E = (0.1, 0.2)
EXACT = EngineConfig(latency_budget_us=math.inf, warmup=False)
BANNER = rtb.Banner(w=300, h=250)


def _catalog(bids: list[float], *, video: list[float] | None = None, **camp: Any) -> Catalog:
    """One campaign per bid, each with a 300x250 banner and, when ``video`` gives its
    duration, a video ad; advertiser domains and categories distinct unless shared."""
    campaigns = [
        Campaign(
            id=f"c{i}",
            advertiser=f"A{i}",
            daily_budget=camp.get("daily_budget", 10**9),
            bid=b,
            max_bid=100.0,
            pacing=camp.get("pacing", Pacing.PID),
            deals=camp.get("deals", {}).get(i, ()),
        )
        for i, b in enumerate(bids)
    ]
    domains = camp.get("domains", [f"d{i}.example" for i in range(len(bids))])
    ads = [
        Ad(
            id=f"b{i}",
            campaign=f"c{i}",
            format="display",
            sizes=((300, 250),),
            embedding=E,
            adomain=(domains[i],),
        )
        for i in range(len(bids))
    ]
    for i, d in enumerate(video or []):
        ads.append(
            Ad(
                id=f"v{i}",
                campaign=f"c{i}",
                format="video",
                duration=d,
                embedding=E,
                adomain=(domains[i],),
                categories=(camp.get("categories", [f"IAB{i + 1}" for i in range(len(bids))])[i],),
            )
        )
    return Catalog(campaigns, ads)


def _engine(catalog: Catalog, **config: Any) -> Engine:
    return Engine(catalog, msgspec.structs.replace(EXACT, **config))


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    """Compile (or load) every kernel once; the tests' engines then skip warm-up."""
    Engine(_catalog([1.0, 2.0], video=[15.0, 30.0]))


# --------------------------------------------------------------------------- pods


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([1.0, 2.0, 3.0, 4.5, 6.0]), min_size=2, max_size=8),
    st.lists(st.sampled_from([6.0, 15.0, 15.0, 30.0, 45.0]), min_size=8, max_size=8),
    st.sampled_from([15, 30, 45, 60, 90]),
    st.integers(1, 5),
    st.sampled_from([(), (1,), (2,), (1, 2)]),
    st.sampled_from([1, 2]),
    st.lists(st.integers(0, 2), min_size=8, max_size=8),
)
def test_pods_respect_duration_count_and_separation(
    bids: list[float],
    durations: list[float],
    poddur: int,
    maxseq: int,
    dedupe: tuple[int, ...],
    at: int,
    shared: list[int],
) -> None:
    n = len(bids)
    domains = [f"d{shared[i]}.example" for i in range(n)]  # some advertisers share a domain
    categories = [f"IAB{shared[(i + 3) % 8] + 1}" for i in range(n)]
    cat = _catalog(bids, video=durations[:n], domains=domains, categories=categories)
    engine = _engine(cat)
    imp = rtb.Imp(
        id="p", video=rtb.Video(poddur=poddur, maxseq=maxseq, poddedupe=dedupe), bidfloor=0.5
    )
    d = engine.decide(rtb.BidRequest(id="r", imp=(imp,), at=at), now=T0)
    won = d.winners
    assert sum(s.duration for s in won) <= poddur + 1e-9
    assert len(won) <= maxseq
    assert [s.slot_in_pod for s in won] == list(range(1, len(won) + 1))
    assert len({s.campaign_id for s in won}) == len(won)  # one ad per campaign per pod
    if 1 in dedupe:
        assert len({s.adomain for s in won}) == len(won)
    if 2 in dedupe:
        assert len({s.categories for s in won}) == len(won)
    for s in won:
        assert 0.5 <= s.price <= s.bid
        if at == 1:
            assert s.price == s.bid
    assert len({s.impression_id for s in won}) == len(won)
    # Nothing fits: one unfilled slot for the impression.
    if not won:
        assert [s.imp_id for s in d.slots] == ["p"]
    # Each ad of the pod is charged once, at its own price.
    for s in won:
        engine.feedback(Impression(impression_id=s.impression_id, timestamp=T0 + 1))
        engine.feedback(Impression(impression_id=s.impression_id, timestamp=T0 + 2))
    spent = sum(engine.balance(f"c{i}").spent_today for i in range(n))
    assert spent == sum(s.price_micros for s in won)


def test_pod_value_is_the_best_fit() -> None:
    """Shoes 30 s at 4, Cars 15 s at 3, Tea 15 s at 2 and 45 s to fill: Shoes and Cars
    (7) beat Cars and Tea (5); VCG prices are what each displaces (5 - 3 and 6 - 4)."""
    cat = _catalog([4.0, 3.0, 2.0], video=[30.0, 15.0, 15.0])
    pod = rtb.Imp(id="p", video=rtb.Video(poddur=45, maxseq=3), bidfloor=0.1)
    d = _engine(cat).decide(rtb.BidRequest(id="r", imp=(pod,)), now=T0)
    assert [(s.ad_id, s.price) for s in d.slots] == [("v0", 2.0), ("v1", 2.0)]


def test_mincpmpersec_raises_each_pod_ads_floor() -> None:
    cat = _catalog([4.0, 3.0], video=[30.0, 15.0])
    video = rtb.Video(poddur=60, maxseq=2, mincpmpersec=0.12)  # 30 s: 3.6, 15 s: 1.8
    d = _engine(cat).decide(rtb.BidRequest(id="r", imp=(rtb.Imp(id="p", video=video),)), now=T0)
    prices = {s.ad_id: s.price for s in d.winners}
    assert prices["v0"] >= 3.6 - 1e-12 and prices["v1"] >= 1.8 - 1e-12


# --------------------------------------------------------------------------- positions


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([0.5, 1.0, 2.0, 2.0, 3.5, 5.0]), min_size=1, max_size=6),
    st.integers(1, 4),
    st.lists(st.sampled_from([1.0, 0.8, 0.5, 0.3, 0.1]), min_size=4, max_size=4),
)
def test_position_auctions(bids: list[float], n_pos: int, weights: list[float]) -> None:
    """GSP and VCG over a request's impressions: the top bids take the positions in order
    of bid, GSP prices fall with position, VCG never charges more than GSP (Edelman,
    Ostrovsky and Schwarz 2007), and every price is within [floor, bid]."""
    w = tuple(sorted(weights, reverse=True))
    engine = _engine(_catalog(bids), slot_weights=w)
    imps = tuple(rtb.Imp(id=f"i{k}", banner=BANNER, bidfloor=0.25) for k in range(n_pos))
    out = {}
    for mech in ("gsp", "vcg"):
        req = rtb.BidRequest(id=f"r-{mech}", imp=imps, ext={"adcore": {"auction": mech}})
        slots = engine.decide(req, now=T0).slots
        assert [s.imp_id for s in slots] == [i.id for i in imps]
        won = [s for s in slots if s.filled]
        assert len(won) == min(n_pos, len(bids))
        assert [s.bid for s in won] == sorted(bids, reverse=True)[: len(won)]
        for s in won:
            assert 0.25 <= s.price <= s.bid
        out[mech] = [s.price for s in won]
    gsp, vcg = out["gsp"], out["vcg"]
    assert all(a >= b for a, b in zip(gsp, gsp[1:], strict=False))
    assert all(v <= g + 1e-12 for v, g in zip(vcg, gsp, strict=True))


def test_multislot_config_and_bad_names() -> None:
    cat = _catalog([3.0, 2.0, 1.0])
    imps = (rtb.Imp(id="a", banner=BANNER), rtb.Imp(id="b", banner=BANNER))
    gsp = _engine(cat, multislot="gsp").decide(rtb.BidRequest(id="r", imp=imps), now=T0)
    assert [s.price for s in gsp.slots] == [2.0, 1.0]
    seq = _engine(cat).decide(rtb.BidRequest(id="r", imp=imps), now=T0)
    assert [s.price for s in seq.slots] == [2.0, 1.0]  # one auction each, in order
    with pytest.raises(InvalidRequest) as err:
        _engine(cat).decide(
            rtb.BidRequest(id="r", imp=imps, ext={"adcore": {"auction": "english"}}), now=T0
        )
    assert err.value.field == "ext.adcore.auction"
    with pytest.raises(InvalidRequest) as err:
        bad = rtb.Imp(id="a", banner=BANNER, ext={"adcore": {"soft_floor": -1}})
        _engine(cat).decide(rtb.BidRequest(id="r", imp=(bad,)), now=T0)
    assert err.value.field == "imp[0].ext.adcore.soft_floor"
    for field, value in (
        ("multislot", "dutch"),
        ("slot_weights", (0.5, 1.0)),
        ("reserve", "sometimes"),
        ("max_pod", 0),
        ("pacing_interval", 0.0),
    ):
        with pytest.raises(InvalidConfig) as cfg_err:
            Engine(cat, msgspec.structs.replace(EXACT, **{field: value}))
        assert cfg_err.value.field == field


# --------------------------------------------------------------------------- deals, floors


@pytest.mark.parametrize("deal_floor", [0.5, 1.5, 2.5])
def test_deal_bids_that_meet_their_floor_outrank_the_open_auction(deal_floor: float) -> None:
    cat = _catalog([2.0, 4.0], deals={0: ("d1",)})
    imp = rtb.Imp(
        id="1",
        banner=BANNER,
        bidfloor=0.1,
        pmp=rtb.Pmp(deals=(rtb.Deal(id="d1", bidfloor=deal_floor),)),
    )
    s = _engine(cat).decide(rtb.BidRequest(id="r", imp=(imp,)), now=T0).slots[0]
    if deal_floor <= 2.0:
        assert s.campaign_id == "c0"  # the deal bid 2.0 beats the open 4.0
        assert deal_floor <= s.price <= 2.0
    else:
        assert s.campaign_id == "c1"  # the deal floor is not met: open auction


@pytest.mark.parametrize(("soft", "price"), [(0.0, 2.0), (2.5, 2.5), (3.0, 3.0), (3.5, 3.0)])
def test_soft_floors(soft: float, price: float) -> None:
    """Bid 3 against 2: second price 2, lifted to a soft floor under the bid; a soft
    floor above the bid charges the bid."""
    imp = rtb.Imp(id="1", banner=BANNER, bidfloor=0.5, ext={"adcore": {"soft_floor": soft}})
    s = _engine(_catalog([3.0, 2.0])).decide(rtb.BidRequest(id="r", imp=(imp,)), now=T0)
    assert s.slots[0].price == price


def test_an_impression_can_choose_its_own_mechanism() -> None:
    imps = (
        rtb.Imp(id="a", banner=BANNER, ext={"adcore": {"auction": "first_price"}}),
        rtb.Imp(id="b", banner=BANNER),
    )
    d = _engine(_catalog([3.0, 2.0, 1.0])).decide(rtb.BidRequest(id="r", imp=imps), now=T0)
    assert [s.price for s in d.slots] == [3.0, 1.0]


# --------------------------------------------------------------------------- learners


def test_learned_soft_reserve_raises_revenue_on_a_thin_placement() -> None:
    """One placement, two bidders: campaign 0 bids 4 and campaign 1 bids 1. Second price
    earns 1 an auction; the learned reserve (soft) charges close to 4, never above it."""
    cat = _catalog([4.0, 1.0])
    imp = rtb.Imp(id="1", banner=BANNER, tagid="top")
    site = rtb.Site(id="news")
    plain = _engine(cat)
    learned = _engine(cat, reserve="soft", reserve_min_auctions=50.0)
    got = {"plain": [], "learned": []}
    for i in range(400):
        req = rtb.BidRequest(id=f"r{i}", imp=(imp,), site=site)
        for name, engine in (("plain", plain), ("learned", learned)):
            got[name].append(engine.decide(req, now=T0 + i).slots[0].price)
    assert got["plain"][-1] == 1.0
    late = got["learned"][-100:]
    assert all(3.5 <= p <= 4.0 for p in late), late  # the grid step under 4 is within 10 %
    assert sum(got["learned"]) > 2.5 * sum(got["plain"])
    # Another placement has not learned anything.
    other = rtb.BidRequest(id="x", imp=(rtb.Imp(id="1", banner=BANNER, tagid="side"),), site=site)
    assert learned.decide(other, now=T0 + 500).slots[0].price == 1.0


def test_hard_reserve_is_a_floor() -> None:
    cat = _catalog([4.0, 1.0])
    engine = _engine(cat, reserve="hard", reserve_min_auctions=50.0)
    imp = rtb.Imp(id="1", banner=BANNER, tagid="top")
    prices = [
        engine.decide(rtb.BidRequest(id=f"r{i}", imp=(imp,)), now=T0 + i).slots[0].price
        for i in range(300)
    ]
    assert 3.5 <= prices[-1] <= 4.0


def test_bid_shading_learns_to_bid_under_value() -> None:
    """A first-price exchange where the best competing bid is uniform on [0, 4] CPM and
    our value is 4: the surplus (4 - b) * b / 4 of a bid b peaks at b = 2 (1.0 per
    auction); bidding the value earns nothing. The engine bids, the exchange compares,
    and wins come back as impressions: shaded bids settle well under the value and the
    realised surplus over the last 1,000 auctions is most of the optimum (fixed seed)."""
    rng = np.random.default_rng(7)
    engine = _engine(_catalog([4.0]), bid_shading=True, shading_min_bids=200.0)
    imp = rtb.Imp(id="1", banner=BANNER, tagid="top")
    surplus, prices = 0.0, []
    for i in range(4000):
        slot = engine.decide(rtb.BidRequest(id=f"r{i}", imp=(imp,), at=1), now=T0 + i).slots[0]
        assert slot.impression_id is not None
        assert slot.price <= slot.bid == 4.0
        if slot.price >= rng.uniform(0.0, 4.0):  # won at our (first) price
            engine.feedback(Impression(impression_id=slot.impression_id, timestamp=T0 + i))
            if i >= 3000:
                surplus += 4.0 - slot.price
        if i >= 3000:
            prices.append(slot.price)
    assert 1.0 <= float(np.median(prices)) <= 3.0
    assert surplus / 1000 > 0.7


def test_without_shading_first_price_pays_the_bid() -> None:
    engine = _engine(_catalog([4.0]))
    imp = rtb.Imp(id="1", banner=BANNER, tagid="top")
    for i in range(300):
        slot = engine.decide(rtb.BidRequest(id=f"r{i}", imp=(imp,), at=1), now=T0 + i).slots[0]
        assert slot.price == 4.0


# --------------------------------------------------------------------------- budgets


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(list(Pacing)), min_size=3, max_size=3),
    st.lists(st.integers(1_000, 40_000), min_size=3, max_size=3),
    st.lists(
        st.tuples(
            st.integers(1, 3),  # impressions in the request
            st.sampled_from([1, 2]),  # at
            st.floats(0.0, 120.0),  # seconds since the previous request
            st.sampled_from(["none", "once", "twice", "late"]),  # feedback
        ),
        min_size=20,
        max_size=60,
    ),
)
def test_spend_never_exceeds_a_budget(
    pacing: list[Pacing], budgets: list[int], steps: list[tuple[int, int, float, str]]
) -> None:
    """Random traffic and feedback (duplicated, late after the hold expired), every
    pacing strategy: after every step, each campaign's spend and holds stay within its
    daily budget, exactly."""
    campaigns = [
        Campaign(
            id=f"c{i}",
            advertiser=f"A{i}",
            daily_budget=budgets[i],
            bid=5.0 + i,
            max_bid=20.0,
            pacing=pacing[i],
        )
        for i in range(3)
    ]
    ads = [
        Ad(id=f"b{i}", campaign=f"c{i}", format="display", sizes=((300, 250),), embedding=E)
        for i in range(3)
    ]
    engine = _engine(Catalog(campaigns, ads), hold_ttl=30.0, pacing_interval=10.0)
    t = T0
    late: list[str] = []
    for n_imp, at, gap, feedback in steps:
        t += gap
        imps = tuple(rtb.Imp(id=str(k), banner=BANNER) for k in range(n_imp))
        d = engine.decide(rtb.BidRequest(id=f"r{t}", imp=imps, at=at), now=t)
        for s in d.winners:
            assert s.impression_id is not None
            if feedback in ("once", "twice"):
                engine.feedback(Impression(impression_id=s.impression_id, timestamp=t))
            if feedback == "twice":
                engine.feedback(Impression(impression_id=s.impression_id, timestamp=t + 1))
            if feedback == "late":
                late.append(s.impression_id)
        if len(late) > 3:
            for iid in late:
                engine.feedback(Impression(impression_id=iid, timestamp=t))
            late.clear()
        for c in campaigns:
            b = engine.balance(c.id)
            assert 0 <= b.spent_today <= c.daily_budget
            assert b.spent_today + b.held <= c.daily_budget
            assert b.available >= 0


def _cpc_catalog(rates: dict[str, list[float]], max_bid: float = 100.0) -> Catalog:
    """One target-CPC campaign (1.0 per click) per key, with one banner per action rate:
    with no interest signal in the request, an ad's bid is 1000 x its rate (CPM), capped
    at ``max_bid``."""
    campaigns = [
        Campaign(
            id=c,
            advertiser=c,
            daily_budget=10**9,
            bid=1.0,
            max_bid=max_bid,
            strategy=BidStrategy.TARGET_CPC,
            pacing=Pacing.ASAP,
        )
        for c in rates
    ]
    ads = [
        Ad(
            id=f"{c}{j}",
            campaign=c,
            format="display",
            sizes=((300, 250),),
            base_rate=r,
            embedding=(0.0, 0.0),
        )
        for c, rs in rates.items()
        for j, r in enumerate(rs)
    ]
    return Catalog(campaigns, ads)


@pytest.mark.parametrize("trace", [False, True])
def test_a_campaign_never_sets_its_own_second_price(trace: bool) -> None:
    """Campaign A bids 4.0 and 3.9 with two ads, B 3.0: A wins with its 4.0 ad and pays
    B's 3.0, not its own sibling's 3.9. Alone, A pays its floor (0)."""
    engine = Engine(_cpc_catalog({"A": [0.004, 0.0039], "B": [0.003]}), EXACT)
    request = rtb.BidRequest(id="r", imp=(rtb.Imp(id="1", banner=BANNER),))
    (slot,) = engine.decide(request, now=T0, trace=trace).slots
    assert slot.ad_id == "A0"
    assert slot.bid == pytest.approx(4.0)
    assert slot.price == pytest.approx(3.0)
    alone = Engine(_cpc_catalog({"A": [0.004, 0.0039]}), EXACT)
    (slot,) = alone.decide(request, now=T0, trace=trace).slots
    assert slot.ad_id == "A0" and slot.price == 0.0


def test_capped_ties_go_to_the_higher_expected_value() -> None:
    """Two campaigns whose target-CPC bids (3.0 and 5.0 CPM) are both capped at a
    max_bid of 2.0 tie on the bid: the ad worth more to its advertiser wins every
    request, whatever the seeded hash of each request would have chosen; it pays the
    other's capped bid."""
    engine = Engine(_cpc_catalog({"A": [0.003], "B": [0.005]}, max_bid=2.0), EXACT)
    winners = set()
    for r in range(40):
        request = rtb.BidRequest(id=f"r{r}", imp=(rtb.Imp(id="1", banner=BANNER),))
        (slot,) = engine.decide(request, now=T0 + r).slots
        winners.add(slot.ad_id)
        assert slot.price == pytest.approx(2.0)
    assert winners == {"B0"}


def test_position_auctions_give_one_position_per_campaign() -> None:
    """GSP over two banner positions: campaign A's two ads (4.0 and 3.9) take one position,
    at B's 3.0; B takes the second at its floor (none here: 0)."""
    engine = Engine(
        _cpc_catalog({"A": [0.004, 0.0039], "B": [0.003]}),
        msgspec.structs.replace(EXACT, multislot="gsp", slot_weights=(1.0, 0.5)),
    )
    two = (rtb.Imp(id="1", banner=BANNER), rtb.Imp(id="2", banner=BANNER))
    slots = engine.decide(rtb.BidRequest(id="r", imp=two), now=T0).slots
    assert [s.ad_id for s in slots] == ["A0", "B0"]
    assert [s.price for s in slots] == pytest.approx([3.0, 0.0])


def test_missing_slot_weights_repeat_the_last_one() -> None:
    """VCG with weights (1, 0.5) over three positions: the third weighs 0.5 too (not 1),
    so prices follow from weights (1, 0.5, 0.5) and bids 4, 3, 2, 1: the third pays the
    next bid 1.0, the second (0 x 2 + 0.5 x 1) / 0.5 = 1.0, the first
    (0.5 x 3 + 0 x 2 + 0.5 x 1) / 1 = 2.0."""
    engine = Engine(
        _catalog([4.0, 3.0, 2.0, 1.0]),
        msgspec.structs.replace(EXACT, multislot="vcg", slot_weights=(1.0, 0.5)),
    )
    three = tuple(rtb.Imp(id=str(k), banner=BANNER) for k in range(3))
    slots = engine.decide(rtb.BidRequest(id="r", imp=three), now=T0).slots
    assert [s.ad_id for s in slots] == ["b0", "b1", "b2"]
    assert [s.price for s in slots] == pytest.approx([2.0, 1.0, 1.0])


def test_pod_prices_charge_only_for_other_campaigns() -> None:
    """A 30 s video pod with room for one ad: campaign A has two 30 s ads bidding 5 and
    4.5, B one at 3. A wins with its 5 and pays B's 3 (what it displaces from another
    campaign), not its own 4.5."""
    camps = [
        Campaign(id=c, advertiser=c, daily_budget=10**9, bid=1.0, max_bid=100.0,
                 strategy=BidStrategy.TARGET_CPC, pacing=Pacing.ASAP)
        for c in ("A", "B")
    ]  # fmt: skip
    ads = [
        Ad(id=a, campaign=c, format="video", duration=30.0, base_rate=r, embedding=(0.0, 0.0))
        for a, c, r in (("A0", "A", 0.005), ("A1", "A", 0.0045), ("B0", "B", 0.003))
    ]
    engine = Engine(Catalog(camps, ads), EXACT)
    pod = rtb.Imp(id="p", video=rtb.Video(poddur=30, maxseq=2))
    slots = engine.decide(rtb.BidRequest(id="r", imp=(pod,)), now=T0).slots
    assert [s.ad_id for s in slots] == ["A0"]
    assert slots[0].price == pytest.approx(3.0)
