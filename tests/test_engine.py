"""The engine end to end: decisions, batches, bad input, plans, budgets, overrides."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import numpy as np
import pytest

from adcore import (
    Catalog,
    Decision,
    Engine,
    EngineConfig,
    InvalidCatalog,
    InvalidConfig,
    InvalidEvent,
    InvalidRequest,
    PlanError,
    openrtb,
)
from adcore.agents import Agent, default_agents
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.events import Click, Complete, Impression, PauseCampaign, ResumeCampaign
from adcore.money import cpm_to_micros

try:
    from tests.conftest import mechanism_variants
except ImportError:  # pytest run without the project root on sys.path
    from conftest import mechanism_variants  # type: ignore[no-redef]

DATA = Path(__file__).parent / "data" / "openrtb"


def state_of(engine: Engine) -> tuple[Any, ...]:
    """Everything a bad request must leave unchanged."""
    stats = engine.stats()
    return (
        msgspec.to_builtins(engine.ledger.balances()),
        stats.decisions,
        stats.filled_impressions,
        stats.impressions,
        engine.agent_state("fraud").counts.copy().tolist(),
    )


def test_decide_returns_a_slot_per_impression(engine: Engine, requests_: list, now: float) -> None:
    filled = 0
    for i, request in enumerate(requests_[:50]):
        decision = engine.decide(request, now=now + i)
        assert [s.imp_id for s in decision.slots] == [imp.id for imp in request.imp]
        for slot in decision.winners:
            filled += 1
            assert slot.impression_id is not None
            assert 0 < slot.price <= slot.bid + 1e-12
            assert slot.price >= request.imp[0].bidfloor - 1e-12
            assert slot.price_micros == cpm_to_micros(slot.price)  # the one conversion rule
            assert slot.propensity == 1.0
    assert filled > 10


def test_decision_converts_to_a_valid_bid_response(
    engine: Engine, requests_: list, now: float
) -> None:
    decision = next(d for d in (engine.decide(r, now=now) for r in requests_) if d.winners)
    response = decision.to_bid_response(seat="adcore")
    decoded = openrtb.decode_response(openrtb.encode_response(response))
    bid = decoded.seatbid[0].bid[0]
    slot = decision.winners[0]
    assert (bid.id, bid.impid, bid.price, bid.adid, bid.crid) == (
        slot.impression_id,
        slot.imp_id,
        slot.price,
        slot.ad_id,
        slot.creative_id,
    )
    assert bid.mtype in (1, 2, 3)
    assert decoded.seatbid[0].seat == "adcore"


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("request_*.json")))
def test_specification_examples_are_decided(engine: Engine, name: str, now: float) -> None:
    raw = (DATA / name).read_bytes()
    decision = engine.decide(raw, now=now)
    assert len(decision.slots) == len(json.loads(raw)["imp"])


def test_decide_batch_equals_decide_each(catalog: Catalog) -> None:
    # No latency budget: a stalled machine must not make the two runs skip differently.
    cfg = EngineConfig(explore=0.2, seed=5, latency_budget_us=math.inf)
    requests = sample_requests(150, seed=9)
    times = [DEMO_START + 3.0 * i for i in range(len(requests))]
    one = Engine(catalog, cfg)
    many = Engine(catalog, cfg)
    expected = [one.decide(r, now=t) for r, t in zip(requests, times, strict=True)]
    got = many.decide_batch(requests, now=times)
    assert got == expected
    assert sum(len(d.winners) for d in got) > 50
    assert one.ledger.balances() == many.ledger.balances()


def test_decide_accepts_json_and_msgpack_bytes(engine: Engine, requests_: list, now: float) -> None:
    request = requests_[3]
    cfg = EngineConfig(latency_budget_us=math.inf)
    a = Engine(engine.catalog, cfg).decide(request, now=now)
    b = Engine(engine.catalog, cfg).decide(openrtb.encode_request(request), now=now)
    c = Engine(engine.catalog, cfg).decide(
        openrtb.encode_request(request, "msgpack"), now=now, format="msgpack"
    )
    assert a == b == c


def _raw(**changes: Any) -> bytes:
    base: dict[str, Any] = {"id": "r", "imp": [{"id": "1", "audio": {"mimes": ["audio/mpeg"]}}]}
    base.update(changes)
    return json.dumps(base).encode()


BAD = [
    (b"{not json", None, "malformed|JSON"),
    (b"[]", None, "object|Expected"),
    (_raw(imp=[{"id": "1", "bidfloor": "abc"}]), "imp[0].bidfloor", "float|number"),
    (_raw(imp=[{"id": "1", "bidfloor": -1}]), "imp[0].bidfloor", ">= 0|>="),
    (_raw(imp=[]), "imp", "length|at least"),
    (_raw(imp=[{"bidfloor": 1}]), "imp[0].id", "required"),
    (_raw(device={"devicetype": 99}), "device.devicetype", ""),
    (_raw(at=7), "at", ""),
    (_raw(imp=[{"id": "1"}, {"id": "1"}]), "imp[1].id", "duplicate|unique"),
    (_raw(imp=[{"id": str(i)} for i in range(9)]), "imp", "at most"),
    (
        b'{"id": "r", "imp": [{"id": "1"}], "ext": {"pad": "' + b"x" * 1_100_000 + b'"}}',
        None,
        "large|bytes",
    ),
    (12345, None, "BidRequest"),
]


@pytest.mark.parametrize(("payload", "field", "pattern"), BAD)
def test_bad_requests_raise_and_change_nothing(
    engine: Engine, requests_: list, now: float, payload: Any, field: str | None, pattern: str
) -> None:
    for i, r in enumerate(requests_[:20]):
        engine.decide(r, now=now + i)
    before = state_of(engine)
    with pytest.raises(InvalidRequest, match=pattern or None) as info:
        engine.decide(payload, now=now + 100)
    assert info.value.field == field
    assert state_of(engine) == before
    assert engine.stats().invalid_requests == 1


def test_a_bad_request_in_a_batch_changes_nothing(
    engine: Engine, requests_: list, now: float
) -> None:
    before = state_of(engine)
    with pytest.raises(InvalidRequest, match=r"requests\[2\]"):
        engine.decide_batch([requests_[0], requests_[1], _raw(at=7)], now=now)
    assert state_of(engine) == before


def test_struct_requests_are_checked_too(engine: Engine, now: float) -> None:
    bad = openrtb.BidRequest(id="r", imp=(openrtb.Imp(id="1", bidfloor=float("nan")),))
    with pytest.raises(InvalidRequest) as info:
        engine.decide(bad, now=now)
    assert info.value.field == "imp[0].bidfloor"


def test_default_plan_order(engine: Engine) -> None:
    assert engine.plan == (
        "privacy",
        "fraud",
        "audience",
        "inventory",
        "safety",
        "relevance",
        "bidding",
        "pacing",
        "creative",
        "auction",
    )
    shuffled = default_agents()
    np.random.default_rng(1).shuffle(shuffled)  # type: ignore[arg-type]
    assert Engine(engine.catalog, EngineConfig(warmup=False), agents=shuffled).plan == engine.plan


class _Custom(Agent):
    name: ClassVar[str] = "custom"
    reads: ClassVar[frozenset[str]] = frozenset()
    writes: ClassVar[frozenset[str]] = frozenset()

    def run(self, ctx: Any, state: Any) -> None:
        pass


def _agent(name: str, reads: set[str], writes: set[str]) -> Agent:
    cls = type(
        name.title(),
        (_Custom,),
        {"name": name, "reads": frozenset(reads), "writes": frozenset(writes)},
    )
    return cls()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("agents", "pattern"),
    [
        ([_agent("a", {"score"}, {"bid"})], "no other agent writes"),
        ([_agent("a", {"score"}, {"bid"}), _agent("b", {"bid"}, {"score"})], "cycle"),
        ([_agent("a", set(), set()), _agent("a", set(), set())], "two agents"),
        ([_agent("a", {"nonsense"}, set())], "unknown fields"),
        ([_agent("a", set(), {"request"})], "only the engine"),
    ],
)
def test_plan_errors_are_raised_at_construction(
    catalog: Catalog, agents: list[Agent], pattern: str
) -> None:
    with pytest.raises(PlanError, match=pattern):
        Engine(catalog, EngineConfig(warmup=False), agents=agents)


def test_latency_budget_skips_optional_agents_and_still_decides(
    catalog: Catalog, requests_: list
) -> None:
    engine = Engine(catalog, EngineConfig(latency_budget_us=0.0))
    decisions = [
        engine.decide(r, now=DEMO_START + i, trace=True) for i, r in enumerate(requests_[:40])
    ]
    assert all(len(d.slots) == 1 for d in decisions)
    assert sum(len(d.winners) for d in decisions) > 10
    skipped = {a.agent for d in decisions for a in d.trace.agents if a.skipped}  # type: ignore[union-attr]
    assert skipped == {"relevance", "creative"}
    assert engine.stats().skipped_agents == {"relevance": 40, "creative": 40}


def test_trace_and_explain_cover_every_agent(engine: Engine, requests_: list, now: float) -> None:
    decision = next(
        d for d in (engine.decide(r, now=now, trace=True) for r in requests_) if d.winners
    )
    assert decision.trace is not None
    assert tuple(a.agent for a in decision.trace.agents) == engine.plan
    winner = decision.trace.winners[0]
    assert winner is not None and winner.ad_id == decision.winners[0].ad_id
    assert winner.effective >= winner.floor
    text = engine.explain(decision)
    for name in engine.plan:
        assert name in text
    assert decision.winners[0].ad_id in text


def test_invalid_config_names_the_field(catalog: Catalog) -> None:
    with pytest.raises(InvalidConfig) as info:
        Engine(catalog, EngineConfig(explore=1.5))
    assert info.value.field == "explore"
    with pytest.raises(InvalidConfig) as info:
        Engine(catalog, EngineConfig(max_imps="many"))  # type: ignore[arg-type]
    assert info.value.field == "max_imps"


# ---------------------------------------------------------------- feedback and budgets
def test_impressions_charge_once_and_orphans_are_counted(
    engine: Engine, requests_: list, now: float
) -> None:
    slots = [s for i, r in enumerate(requests_[:60]) for s in engine.decide(r, now=now + i).winners]
    assert len(slots) > 10
    for s in slots:
        engine.feedback(Impression(impression_id=s.impression_id, timestamp=now + 100))
        engine.feedback(Impression(impression_id=s.impression_id, timestamp=now + 101))
    engine.feedback(Impression(impression_id="never-decided", timestamp=now + 102))
    engine.feedback(Click(impression_id="never-decided", timestamp=now + 102))
    stats = engine.stats()
    assert stats.impressions == len(slots)
    assert stats.duplicate_impressions == len(slots)
    assert stats.orphan_events == 2
    assert stats.spend_micros == sum(s.price_micros for s in slots)
    by_campaign: dict[str, int] = {}
    for s in slots:
        by_campaign[s.campaign_id] = by_campaign.get(s.campaign_id, 0) + s.price_micros
    for cid, spent in by_campaign.items():
        b = engine.balance(cid)
        assert b.spent_today == spent and b.held == 0


def test_holds_count_against_budget_until_shown_or_expired(
    catalog: Catalog, requests_: list
) -> None:
    engine = Engine(catalog, EngineConfig(hold_ttl=60.0))
    d = next(d for d in (engine.decide(r, now=DEMO_START) for r in requests_) if d.winners)
    slot = d.winners[0]
    assert engine.balance(slot.campaign_id).held == slot.price_micros
    later = engine.decide(requests_[0], now=DEMO_START + 61)  # expiry runs on decisions
    again = sum(s.price_micros for s in later.winners if s.campaign_id == slot.campaign_id)
    assert engine.balance(slot.campaign_id).held == again
    assert engine.stats().expired_holds >= 1
    # A late impression is still charged: no money is lost.
    engine.feedback(Impression(impression_id=slot.impression_id, timestamp=DEMO_START + 62))
    assert engine.balance(slot.campaign_id).spent_today == slot.price_micros


def test_spend_never_exceeds_budget(requests_: list) -> None:
    catalog = sample_catalog(n_ads=30, dimension=8, seed=4, n_campaigns=4)
    tiny = [msgspec.structs.replace(c, daily_budget=20_000) for c in catalog.campaigns]
    engine = Engine(Catalog(tiny, catalog.ads, signals=catalog.signals))
    for i, r in enumerate(sample_requests(600, seed=3)):
        for s in engine.decide(r, now=DEMO_START + i).winners:
            engine.feedback(Impression(impression_id=s.impression_id, timestamp=DEMO_START + i))
    for b in engine.ledger.balances().values():
        assert 0 <= b.spent_today <= b.daily_budget
        assert b.available >= 0
    assert engine.stats().overdelivered_micros == 0
    assert any(b.spent_today > b.daily_budget * 0.5 for b in engine.ledger.balances().values())


def test_a_far_future_event_does_not_roll_the_budget_day(
    engine: Engine, requests_: list, now: float
) -> None:
    slots = [s for r in requests_[:40] for s in engine.decide(r, now=now).winners]
    first, second = slots[0], slots[1]
    engine.feedback(Impression(impression_id=first.impression_id, timestamp=now))
    spent = engine.balance(first.campaign_id).spent_today
    assert spent > 0
    held = engine.balance(second.campaign_id).held
    engine.feedback(Impression(impression_id=second.impression_id, timestamp=now + 10 * 86400))
    assert engine.balance(first.campaign_id).spent_today >= spent  # the day did not roll
    assert engine.balance(second.campaign_id).held == held - second.price_micros
    assert engine.stats().expired_holds == 0  # no other hold was expired by it


def test_bad_events_raise(engine: Engine) -> None:
    with pytest.raises(InvalidEvent):
        engine.feedback("click")  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent):
        engine.feedback(Click(impression_id=1, timestamp=0.0))  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent):
        engine.feedback(Click(impression_id="x", timestamp=float("nan")))


def test_learning_from_feedback_and_bus_replay(catalog: Catalog, requests_: list) -> None:
    engine = Engine(catalog)
    engine.bus.start_recording()
    rng = np.random.default_rng(0)
    for i, r in enumerate(requests_):
        for s in engine.decide(r, now=DEMO_START + i).winners:
            engine.feedback(Impression(impression_id=s.impression_id, timestamp=DEMO_START + i))
            if rng.random() < 0.5:
                engine.feedback(
                    Complete(impression_id=s.impression_id, timestamp=DEMO_START + i + 1)
                )
            if rng.random() < 0.1:
                engine.feedback(Click(impression_id=s.impression_id, timestamp=DEMO_START + i))
    engine.control(PauseCampaign(campaign_id="c3", by="ops", reason="test", timestamp=0.0))
    log = engine.bus.recording()
    learned = engine.agent_state("relevance")
    assert learned.shows.sum() > 50 and np.abs(learned.learned).max() > 0

    rebuilt = Engine(catalog)
    rebuilt.bus.replay(log)
    again = rebuilt.agent_state("relevance")
    np.testing.assert_array_equal(again.shows, learned.shows)
    np.testing.assert_array_equal(again.actions, learned.actions)
    np.testing.assert_array_equal(again.learned, learned.learned)
    safety, safety2 = engine.agent_state("safety"), rebuilt.agent_state("safety")
    np.testing.assert_array_equal(safety.counts, safety2.counts)
    np.testing.assert_array_equal(safety.paused, safety2.paused)


# ---------------------------------------------------------------- overrides, privacy, fraud
def test_pause_override_wins_and_is_audited(engine: Engine, requests_: list, now: float) -> None:
    counts: dict[str, int] = {}
    for r in requests_:
        for s in engine.decide(r, now=now).winners:
            counts[s.campaign_id] = counts.get(s.campaign_id, 0) + 1
    top = max(counts, key=counts.__getitem__)
    engine.control(
        PauseCampaign(campaign_id=top, by="ops@example", reason="brand complaint", timestamp=now)
    )
    for r in requests_:
        d = engine.decide(r, now=now, trace=True)
        assert all(s.campaign_id != top for s in d.winners)
    assert engine.audit_log[-1].by == "ops@example"
    engine.control(
        ResumeCampaign(campaign_id=top, by="ops@example", reason="resolved", timestamp=now)
    )
    assert any(s.campaign_id == top for r in requests_ for s in engine.decide(r, now=now).winners)
    with pytest.raises(InvalidEvent):
        engine.control(PauseCampaign(campaign_id=top, by="", reason="x", timestamp=now))


def test_no_personal_targeting_without_consent(engine: Engine, requests_: list, now: float) -> None:
    personal = {c.id for c in engine.catalog.campaigns if c.targeting.segments}
    assert personal
    for r in requests_:
        gdpr = msgspec.structs.replace(r, regs=openrtb.Regs(gdpr=1))
        d = engine.decide(gdpr, now=now, trace=True)
        assert all(s.campaign_id not in personal for s in d.winners)
        assert d.trace is not None and d.trace.agents[0].notes["personalise"] == 0


def test_bots_get_no_bid(engine: Engine, requests_: list, now: float) -> None:
    for r in requests_[:30]:
        device = msgspec.structs.replace(r.device, ua="Googlebot/2.1 (+http://www.google.com/bot)")
        d = engine.decide(msgspec.structs.replace(r, device=device), now=now, trace=True)
        assert d.winners == ()
        assert d.trace is not None
        assert d.trace.agents[1].notes["signals"] == "bot_user_agent"


# ---------------------------------------------------------------- catalog swaps and threads
def test_update_catalog_swaps_atomically(catalog: Catalog, requests_: list) -> None:
    """A swap made while a decision is in flight (here: by an agent, between bidding and
    the auction) does not affect that decision; the next one uses the new catalog."""
    new = sample_catalog(n_ads=60, dimension=16, seed=11)
    old_ids = {a.id for a in catalog.ads}
    holder: list[Engine] = []

    class Swapper(_Custom):
        name: ClassVar[str] = "swapper"
        reads: ClassVar[frozenset[str]] = frozenset({"bid"})

        def run(self, ctx: Any, state: Any) -> None:
            if holder and holder[0].catalog is catalog:
                holder[0].update_catalog(new)

    engine = Engine(catalog, agents=[*default_agents(), Swapper()])
    holder.append(engine)
    d = next(d for d in (engine.decide(r, now=DEMO_START) for r in requests_) if d.winners)
    assert d.winners[0].ad_id in old_ids
    assert engine.catalog is new
    later = [s.ad_id for r in requests_ for s in engine.decide(r, now=DEMO_START).winners]
    assert later and set(later) <= {a.id for a in new.ads}


def test_invalid_catalog_update_keeps_the_old_one(engine: Engine, catalog: Catalog) -> None:
    with pytest.raises(InvalidCatalog):
        engine.update_catalog(sample_catalog(n_ads=10, dimension=8))
    with pytest.raises(InvalidCatalog):
        engine.update_catalog("catalog.json")  # type: ignore[arg-type]
    assert engine.catalog is catalog


def test_spend_carries_over_a_catalog_update(
    engine: Engine, catalog: Catalog, requests_: list, now: float
) -> None:
    for r in requests_:
        for s in engine.decide(r, now=now).winners:
            engine.feedback(Impression(impression_id=s.impression_id, timestamp=now))
    before = engine.ledger.balances()
    engine.update_catalog(Catalog(catalog.campaigns[::-1], catalog.ads, signals=catalog.signals))
    after = engine.ledger.balances()
    assert {k: v.spent_today for k, v in before.items()} == {
        k: v.spent_today for k, v in after.items()
    }


def test_decide_from_threads(catalog: Catalog) -> None:
    engine = Engine(catalog)
    requests = sample_requests(400, seed=21)
    results: list[Decision] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(part: list) -> None:
        try:
            for i, r in enumerate(part):
                d = engine.decide(r, now=DEMO_START + i)
                with lock:
                    results.append(d)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(requests[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 400
    held = sum(b.held for b in engine.ledger.balances().values())
    assert held == sum(s.price_micros for d in results for s in d.winners)
    assert engine.stats().decisions == 400


@pytest.mark.parametrize(
    "learners",
    [{}, {"reserve": "soft", "bid_shading": True, "shading_min_bids": 20.0}],
    ids=["default", "learners"],
)
def test_fast_path_decides_like_the_agent_by_agent_path(
    catalog: Catalog, learners: dict[str, Any]
) -> None:
    """Untraced decisions of the default plan take the fused fast path; traced ones run
    agent by agent. On the same traffic, sold by every mechanism (first and second
    price, soft floors, pods, GSP and VCG), with feedback, both must decide alike."""
    cfg = EngineConfig(
        latency_budget_us=math.inf, explore=0.1, seed=3, max_imps=4, reserve_min_auctions=20.0
    )
    cfg = msgspec.structs.replace(cfg, **learners)
    fast, slow = Engine(catalog, cfg), Engine(catalog, cfg)
    rng = np.random.default_rng(2)
    requests = [v for r in sample_requests(100, seed=13) for v in mechanism_variants(r)]
    for i, r in enumerate(requests):
        t = DEMO_START + 7.0 * i
        a = fast.decide(r, now=t)
        b = slow.decide(r, now=t, trace=True)
        assert a.slots == b.slots
        for s in a.winners:
            for engine in (fast, slow):
                engine.feedback(Impression(impression_id=s.impression_id, timestamp=t))
            if rng.random() < 0.4:
                for engine in (fast, slow):
                    engine.feedback(Complete(impression_id=s.impression_id, timestamp=t + 1))
    assert fast.ledger.balances() == slow.ledger.balances()
    assert sum(len(d.winners) for d in [fast.decide(r, now=DEMO_START) for r in requests]) > 50
