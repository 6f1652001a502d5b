"""Human overrides through the engine: whatever the traffic, a paused campaign, a blocked
advertiser domain or a blocked IAB category never serves, every price clears a forced
floor, a capped campaign never bids above its cap; overrides show in traces and in the
audit log, and bad ones are rejected without changing anything."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adcore import Engine, EngineConfig, InvalidEvent, Reason
from adcore.catalog import category_closure
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.events import (
    BlockCategory,
    BlockDomain,
    CapBid,
    ForceFloor,
    PauseCampaign,
    UnblockCategory,
    UnblockDomain,
)

CATALOG = sample_catalog(n_ads=150, seed=11)
CONFIG = EngineConfig(latency_budget_us=math.inf, warmup=False)
DOMAINS = sorted({d for ad in CATALOG.ads for d in ad.adomain})
CATEGORIES = sorted({c for ad in CATALOG.ads for c in category_closure(ad.categories)})
CAMPAIGNS = [c.id for c in CATALOG.campaigns]
WHO = dict(by="ops@example", reason="test", timestamp=DEMO_START)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    Engine(CATALOG, msgspec.structs.replace(CONFIG, warmup=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(DOMAINS), max_size=4),
    st.lists(st.sampled_from(CATEGORIES), max_size=4),
    st.lists(st.sampled_from(CAMPAIGNS), max_size=3),
    st.sampled_from([0.0, 0.5, 2.0, 6.0]),
    st.dictionaries(st.sampled_from(CAMPAIGNS), st.sampled_from([0.5, 1.0, 3.0]), max_size=3),
    st.integers(0, 1000),
    st.booleans(),
    st.lists(st.sampled_from(CATEGORIES), max_size=3),
)
def test_overrides_always_win(
    domains: list[str],
    categories: list[str],
    paused: list[str],
    floor: float,
    caps: dict[str, float],
    seed: int,
    traced: bool,
    bcat: list[str],
) -> None:
    engine = Engine(CATALOG, CONFIG)
    for d in domains:
        engine.control(BlockDomain(domain=d, **WHO))
    for c in categories:
        engine.control(BlockCategory(category=c, **WHO))
    for cid in paused:
        engine.control(PauseCampaign(campaign_id=cid, **WHO))
    engine.control(ForceFloor(floor=floor, **WHO))
    for cid, cap in caps.items():
        engine.control(CapBid(campaign_id=cid, max_bid=cap, **WHO))
    for i, request in enumerate(sample_requests(30, seed=seed)):
        request = msgspec.structs.replace(request, bcat=tuple(bcat))  # and the request's
        for s in engine.decide(request, now=DEMO_START + i, trace=traced).winners:
            assert not set(category_closure(s.categories)) & set(bcat)
            assert not set(s.adomain) & set(domains)
            assert not set(category_closure(s.categories)) & set(categories)
            assert s.campaign_id not in paused
            assert s.price >= floor
            if s.campaign_id in caps:
                assert s.bid <= caps[s.campaign_id]
    assert len(engine.audit_log) == len(domains) + len(categories) + len(paused) + 1 + len(caps)


def test_blocks_show_in_traces_and_can_be_lifted() -> None:
    engine = Engine(CATALOG, CONFIG)
    request = next(
        r for r in sample_requests(50, seed=2) if engine.decide(r, now=DEMO_START).winners
    )
    winner = engine.decide(request, now=DEMO_START + 1).winners[0]
    domain = winner.adomain[0]
    engine.control(BlockDomain(domain=domain, **WHO))
    d = engine.decide(request, now=DEMO_START + 2, trace=True)
    assert all(domain not in s.adomain for s in d.winners)
    assert d.trace is not None
    safety = next(a for a in d.trace.agents if a.agent == "safety")
    assert safety.filtered.get(Reason.OVERRIDE.name.lower(), 0) > 0
    assert safety.notes["blocked_domains"] == 1
    engine.control(UnblockDomain(domain=domain, **WHO))
    engine.control(BlockCategory(category="IAB1", **WHO))
    engine.control(UnblockCategory(category="IAB1", **WHO))
    assert engine.decide(request, now=DEMO_START + 3).winners[0].ad_id == winner.ad_id
    kinds = [type(m).__name__ for m in engine.audit_log]
    assert kinds == ["BlockDomain", "UnblockDomain", "BlockCategory", "UnblockCategory"]
    assert all(m.by == "ops@example" and m.reason == "test" for m in engine.audit_log)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (ForceFloor(floor=-1.0, **WHO), "floor"),
        (ForceFloor(floor=math.nan, **WHO), "floor"),
        (CapBid(campaign_id="c0", max_bid=math.inf, **WHO), "max_bid"),
        (CapBid(campaign_id="", max_bid=1.0, **WHO), "campaign_id"),
        (BlockDomain(domain="", **WHO), "domain"),
        (BlockCategory(category=3, **WHO), "category"),  # type: ignore[arg-type]
        (BlockDomain(domain="x.example", by="", reason="r", timestamp=0.0), "by"),
        (BlockDomain(domain="x.example", by="me", reason="r", timestamp=math.inf), "timestamp"),
    ],
)
def test_bad_overrides_are_rejected(message: object, field: str) -> None:
    engine = Engine(CATALOG, CONFIG)
    with pytest.raises(InvalidEvent) as err:
        engine.control(message)  # type: ignore[arg-type]
    assert err.value.field == field
    assert engine.audit_log == ()
