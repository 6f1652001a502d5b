"""Invalid traffic through the engine: data-center addresses raise the fraud score (and
are vetoed at the block threshold), and invalid clicks are counted and never learned
from."""

from __future__ import annotations

import math

import msgspec
import pytest

from adcore import Engine, EngineConfig, InvalidConfig
from adcore import openrtb as rtb
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.events import Click, Impression, Outcome

CATALOG = sample_catalog(n_ads=80, seed=2)
CONFIG = EngineConfig(
    latency_budget_us=math.inf, trace=True, warmup=False, datacenter_cidrs=("198.51.100.0/24",)
)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    Engine(CATALOG, msgspec.structs.replace(CONFIG, warmup=True))


def _from(ip: str, i: int = 0) -> rtb.BidRequest:
    request = sample_requests(1, seed=40 + i, bot_share=0.0, gdpr_share=0.0)[0]
    assert request.device is not None
    return msgspec.structs.replace(request, device=msgspec.structs.replace(request.device, ip=ip))


def test_datacenter_addresses_raise_the_fraud_score() -> None:
    engine = Engine(CATALOG, CONFIG)
    inside = engine.decide(_from("198.51.100.77"), now=DEMO_START)
    outside = engine.decide(_from("203.0.113.9"), now=DEMO_START + 1)
    assert inside.trace is not None and outside.trace is not None
    fraud_in, fraud_out = inside.trace.agents[1].notes, outside.trace.agents[1].notes
    assert fraud_in["fraud_score"] == 0.7 and "datacenter_ip" in str(fraud_in["signals"])
    assert fraud_out["fraud_score"] == 0.0 and fraud_out["signals"] == "-"
    # 0.7 is below the block threshold: not vetoed, but every bid is discounted to 30 %
    # (here below the floor); a deployment that raises the discount threshold serves it.
    assert not any(a.notes.get("vetoed") for a in inside.trace.agents[1:2])
    lenient = Engine(CATALOG, msgspec.structs.replace(CONFIG, fraud_discount_threshold=0.8))
    assert lenient.decide(_from("198.51.100.77"), now=DEMO_START).winners


def test_datacenter_traffic_is_blocked_at_the_threshold() -> None:
    cfg = msgspec.structs.replace(CONFIG, fraud_datacenter_score=0.95)
    engine = Engine(CATALOG, cfg)
    assert not engine.decide(_from("198.51.100.77"), now=DEMO_START).winners
    assert engine.decide(_from("203.0.113.9"), now=DEMO_START + 1).winners
    off = Engine(CATALOG, msgspec.structs.replace(CONFIG, fraud_datacenter_score=0.0))
    assert off.decide(_from("198.51.100.77"), now=DEMO_START).winners


def test_the_default_list_knows_public_clouds() -> None:
    from adcore.ivt import IpRanges

    ranges = IpRanges.default()
    assert len(ranges) > 10
    assert not ranges.contains("192.0.2.1")  # TEST-NET-1


def test_bad_datacenter_ranges_are_a_config_error() -> None:
    with pytest.raises(InvalidConfig) as err:
        Engine(CATALOG, msgspec.structs.replace(CONFIG, datacenter_cidrs=("10.0.0.0/33",)))
    assert err.value.field == "datacenter_cidrs"


def test_invalid_clicks_are_counted_and_not_learned_from() -> None:
    engine = Engine(CATALOG, CONFIG)
    learned: list[Outcome] = []
    engine.bus.subscribe(Outcome, learned.append)
    slots = []
    for i in range(6):
        slots += engine.decide(_from("203.0.113.9", i), now=DEMO_START + 100 * i).winners
    assert len(slots) >= 3
    a, b, c = slots[:3]
    t = DEMO_START + 1000
    # No impression reported before the click.
    engine.feedback(Click(impression_id=a.impression_id, timestamp=t))
    # A click 0.2 s after the impression: faster than a person.
    engine.feedback(Impression(impression_id=b.impression_id, timestamp=t))
    engine.feedback(Click(impression_id=b.impression_id, timestamp=t + 0.2))
    # A click 8 s after the impression: valid.
    engine.feedback(Impression(impression_id=c.impression_id, timestamp=t))
    engine.feedback(Click(impression_id=c.impression_id, timestamp=t + 8.0))
    assert engine.stats().invalid_clicks == {
        "click_without_impression": 1,
        "click_too_fast": 1,
    }
    clicks = [o.impression_id for o in learned if o.kind == "click"]
    assert clicks == [c.impression_id]
    assert sum(o.kind == "impression" for o in learned) == 2
    # Clicks never charge: spend is the two impressions' prices.
    assert engine.stats().spend_micros == b.price_micros + c.price_micros


def test_suspicious_requests_bid_less() -> None:
    """A score between the discount and block thresholds multiplies every bid by
    ``1 - score``: the same request from a data-center address (score 0.8) wins with a
    fifth of the bid it makes from elsewhere."""
    cfg = msgspec.structs.replace(CONFIG, fraud_datacenter_score=0.8)
    engine = Engine(CATALOG, cfg)
    request = _from("203.0.113.9")
    request = msgspec.structs.replace(
        request, imp=tuple(msgspec.structs.replace(i, bidfloor=0.0) for i in request.imp)
    )
    clean = engine.decide(request, now=DEMO_START).winners
    suspicious = Engine(CATALOG, cfg).decide(
        msgspec.structs.replace(request, device=msgspec.structs.replace(
            request.device, ip="198.51.100.5")),  # type: ignore[arg-type]
        now=DEMO_START,
    ).winners  # fmt: skip
    assert clean and suspicious
    assert suspicious[0].bid == pytest.approx(0.2 * clean[0].bid, rel=1e-9)


def test_title_keywords_keep_campaigns_away() -> None:
    from adcore import Ad, Campaign, Catalog

    campaigns = [
        Campaign(id="air", advertiser="Air", daily_budget=10**9, bid=5.0,
                 excluded_keywords=("Crash", "disaster")),
        Campaign(id="tea", advertiser="Tea", daily_budget=10**9, bid=1.0),
    ]  # fmt: skip
    ads = [
        Ad(id=f"a-{c.id}", campaign=c.id, format="display", sizes=((300, 250),), embedding=(0.1,))
        for c in campaigns
    ]
    engine = Engine(Catalog(campaigns, ads), msgspec.structs.replace(CONFIG, trace=True))
    imp = rtb.Imp(id="1", banner=rtb.Banner(w=300, h=250))

    def winner(title: str) -> str | None:
        site = rtb.Site(id="news", content=rtb.Content(title=title))
        d = engine.decide(rtb.BidRequest(id=title, imp=(imp,), site=site), now=DEMO_START)
        return d.slots[0].campaign_id

    assert winner("Markets rally on Tuesday") == "air"
    assert winner("Plane CRASH near the coast") == "tea"
    assert winner("A disaster, averted") == "tea"
    assert winner("Crashing waves") == "air"  # whole words only


def test_request_rates_count_per_device_and_per_ip() -> None:
    """Many devices behind one address: each device is under the limit, the address is
    not, so the request-rate signal fires (and one busy device fires it alone)."""
    cfg = msgspec.structs.replace(CONFIG, fraud_rate_limit=20, fraud_rate_window=60.0)
    engine = Engine(CATALOG, cfg)
    base = _from("203.0.113.50")
    assert base.device is not None
    signals = []
    for i in range(30):
        device = msgspec.structs.replace(base.device, ifa=f"device-{i}")
        d = engine.decide(msgspec.structs.replace(base, device=device), now=DEMO_START + i)
        assert d.trace is not None
        signals.append(str(d.trace.agents[1].notes["signals"]))
    assert "request_rate" not in signals[0]
    assert "request_rate" in signals[-1]


def test_bapp_blocks_ads_of_the_app() -> None:
    from adcore import Ad, Campaign, Catalog, Reason

    campaigns = [
        Campaign(id="game", advertiser="Game", daily_budget=10**9, bid=5.0),
        Campaign(id="tea", advertiser="Tea", daily_budget=10**9, bid=1.0),
    ]
    ads = [
        Ad(id="a-game", campaign="game", format="display", sizes=((300, 250),),
           embedding=(0.1,), bundle="com.example.game"),
        Ad(id="a-tea", campaign="tea", format="display", sizes=((300, 250),), embedding=(0.1,)),
    ]  # fmt: skip
    engine = Engine(Catalog(campaigns, ads), CONFIG)
    imp = rtb.Imp(id="1", banner=rtb.Banner(w=300, h=250))
    free = engine.decide(rtb.BidRequest(id="r1", imp=(imp,)), now=DEMO_START)
    assert free.slots[0].ad_id == "a-game"
    blocked = engine.decide(
        rtb.BidRequest(id="r2", imp=(imp,), bapp=("com.example.game",)), now=DEMO_START
    )
    assert blocked.slots[0].ad_id == "a-tea"
    assert blocked.trace is not None
    safety = next(a for a in blocked.trace.agents if a.agent == "safety")
    assert safety.filtered.get(Reason.BLOCKED_ADVERTISER.name.lower()) == 1


@pytest.mark.parametrize("ip", ["not-an-ip", "127.0.0.1", "0.0.0.0", "169.254.3.4", "224.0.0.9"])
def test_impossible_addresses_are_invalid_traffic(ip: str) -> None:
    engine = Engine(CATALOG, CONFIG)
    d = engine.decide(_from(ip), now=DEMO_START)
    assert d.trace is not None
    notes = d.trace.agents[1].notes
    assert "impossible_ip" in str(notes["signals"]) and notes["fraud_score"] == 0.9
    assert not d.winners  # at the default block threshold
