"""Two engines (two ad servers) sharing campaign budgets through a RedisLedger on a real
``redis-server``: the engine's holds, charges and duplicates go through the fleet
ledger, and the fleet never spends more than a budget."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adcore import Ad, Campaign, Catalog, Engine, EngineConfig, InvalidConfig
from adcore import openrtb as rtb
from adcore.events import Impression
from adcore.ledger import RedisLedger

try:
    from redis_server import RedisServer
except ImportError:  # run as part of the tests package
    from tests.redis_server import RedisServer

T0 = 1_780_000_000.0
BUDGET = 200_000  # micro-units: 100 impressions at 2.0 CPM


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    s = RedisServer(tmp_path)
    s.start()
    yield s
    s.stop()


def _catalog() -> Catalog:
    campaigns = [
        Campaign(id="c1", advertiser="A", daily_budget=BUDGET, bid=2.0, pacing="asap"),
        Campaign(id="c2", advertiser="B", daily_budget=10 * BUDGET, bid=1.0, pacing="asap"),
    ]
    ads = [
        Ad(id=f"a-{c.id}", campaign=c.id, format="display", sizes=((300, 250),), embedding=(0.1,))
        for c in campaigns
    ]
    return Catalog(campaigns, ads)


def test_two_engines_share_a_budget(server: RedisServer) -> None:
    """Both engines decide and report every impression (some twice, some to the other
    engine too): campaign c1's fleet spend reaches its budget and never exceeds it, and
    the fleet total equals what the engines' decisions charged, once per impression."""
    config = EngineConfig(latency_budget_us=math.inf, hold_ttl=5.0)
    ledgers = [
        RedisLedger(server.url, process_id=f"p{i}", lease_ttl=3.0, sync_interval=0.05)
        for i in range(2)
    ]
    engines = [Engine(_catalog(), config, ledger=ledger) for ledger in ledgers]
    imp = rtb.Imp(id="1", banner=rtb.Banner(w=300, h=250), bidfloor=0.1)
    charged: dict[str, int] = {}
    t = T0
    for i in range(600):
        t += 1.0
        engine = engines[i % 2]
        for slot in engine.decide(rtb.BidRequest(id=f"r{i}", imp=(imp,)), now=t).winners:
            assert slot.impression_id is not None
            event = Impression(impression_id=slot.impression_id, timestamp=t)
            engine.feedback(event)
            engine.feedback(event)  # a duplicate report: charged once
            charged[slot.impression_id] = slot.price_micros
        if i % 50 == 49:
            for ledger in ledgers:
                ledger.sync()
            time.sleep(0.01)
    for ledger in ledgers:
        assert ledger.sync()
    fleet = ledgers[0].fleet_balance("c1")
    assert fleet.spent_today <= BUDGET
    assert fleet.spent_today >= BUDGET - 2 * 2_000  # at most one impression short per lease
    total = sum(ledgers[0].fleet_balance(c).spent_today for c in ("c1", "c2"))
    assert total == sum(charged.values())
    local = sum(ledger.balance("c1").spent_today for ledger in ledgers)
    assert local == fleet.spent_today
    # Pacing controllers see the whole budget and the fleet's spend, not one lease.
    for ledger in ledgers:
        ledger.sync()
        daily, spent, _ = ledger.pacing_view()
        assert daily.tolist() == [BUDGET, 10 * BUDGET]
        assert spent[0] == fleet.spent_today > ledger.balance("c1").spent_today
    for ledger in ledgers:
        ledger.close()


def test_the_ledger_must_be_one_the_kernels_can_read() -> None:
    with pytest.raises(InvalidConfig) as err:
        Engine(_catalog(), ledger=object())  # type: ignore[arg-type]
    assert err.value.field == "ledger"
