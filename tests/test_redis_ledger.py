"""RedisLedger and the feedback streams against real ``redis-server`` processes.

Every test starts its own server (append-only file on, fsync always) in a temporary
directory; processes run with the spawn start method, as separate interpreters would.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from adcore import Ad, Campaign, Catalog, Engine, EngineConfig, InvalidConfig
from adcore.demo import sample_catalog
from adcore.events import Click, Conversion, Impression, Outcome, SpendCharged
from adcore.ledger import InProcessLedger
from adcore.ledger.base import Ledger
from adcore.ledger.redis import RedisLedger
from adcore.ledger.streams import FeedbackConsumer, FeedbackPublisher

try:
    from redis_server import RedisServer
except ImportError:  # run as part of the tests package
    from tests.redis_server import RedisServer

CID = "c1"
TTL = 1.5  # lease TTL of the tests, seconds
TICK = 0.1  # background sync interval of the tests, seconds


def catalog(daily: int, total: int | None = None, cid: str = CID) -> Catalog:
    c = Campaign(id=cid, advertiser="Acme", daily_budget=daily, total_budget=total)
    a = Ad(
        id=f"a-{cid}",
        campaign=cid,
        format="audio",
        duration=30.0,
        mimes=("audio/mpeg",),
        embedding=(0.1, 0.2, 0.3, 0.4),
    )
    return Catalog([c], [a])


def amount(k: int) -> int:
    return 1000 + (k * 7919) % 5000


def charge(led: RedisLedger, iid: str, micros: int, tries: int = 200) -> None:
    """Hold then settle one impression, syncing with Redis while the lease is dry."""
    for _ in range(tries):
        if led.hold(CID, micros):
            assert led.settle(CID, micros, micros, impression_id=iid) == micros
            return
        led.sync()
    raise AssertionError(f"no lease for {iid} after {tries} syncs")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path / "redis")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop(kill=True)


@pytest.fixture
def client(server: RedisServer) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(server.url, socket_timeout=2.0)
    try:
        yield c
    finally:
        c.close()


def ledger(url: str, **kw: Any) -> RedisLedger:
    kw.setdefault("lease_ttl", TTL)
    kw.setdefault("sync_interval", TICK)
    kw.setdefault("socket_timeout", 0.3)
    return RedisLedger(url, **kw)


# ---------------------------------------------------------------------- worker processes
def _charge_worker(args: tuple[str, int, list[int]]) -> int:
    url, daily, ks = args
    led = ledger(url, lease_micros=20_000)
    led.bind(catalog(daily).snapshot)
    for k in ks:
        charge(led, f"imp-{k}", amount(k))
    assert led.close() == 0
    return led.total_spent()


def _spend_until_dry(args: tuple[str, int, int]) -> int:
    url, daily, p = args
    led = ledger(url, lease_micros=20_000)
    led.bind(catalog(daily).snapshot)
    n, dry = 0, 0
    while dry < 3:
        if led.hold(CID, 1000):
            led.settle(CID, 1000, 1000, impression_id=f"p{p}-{n}")
            n += 1
            dry = 0
        else:
            led.sync()
            dry += led.lease(CID) < 1000
    assert led.close() == 0
    return led.total_spent()


def _killed_worker(url: str, daily: int, conn: Any) -> None:
    led = ledger(url, lease_micros=100_000, sync_interval=0.5)
    led.bind(catalog(daily).snapshot)
    for k in range(10):
        charge(led, f"k-{k}", 1000)
    assert led.sync() and led.pending_charges() == 0
    confirmed = led.total_spent()
    for k in range(10, 15):
        charge(led, f"k-{k}", 1000)
    assert led.hold(CID, 20_000)  # held when killed: must come back
    conn.send(confirmed)
    time.sleep(60)


# ---------------------------------------------------------------------- tests
def test_both_ledgers_follow_the_interface(server: RedisServer) -> None:
    led = ledger(server.url)
    try:
        assert isinstance(led, Ledger)
        assert isinstance(InProcessLedger(), Ledger)
        # The engine uses a ledger through the interface only: the fleet ledger is not
        # a kind of in-process ledger, and anything else is refused naming the field.
        assert not isinstance(led, InProcessLedger)
        engine = Engine(sample_catalog(n_ads=10), EngineConfig(warmup=False), ledger=led)
        assert engine.ledger is led
        with pytest.raises(InvalidConfig, match="adcore.ledger.Ledger") as err:
            Engine(sample_catalog(n_ads=10), EngineConfig(warmup=False), ledger=object())  # type: ignore[arg-type]
        assert err.value.field == "ledger"
    finally:
        led.close()


def test_concurrent_processes_charge_each_impression_once(server: RedisServer) -> None:
    """4 processes charge overlapping sets of impressions: the fleet's spend is the sum
    over unique impressions exactly, and what each process kept locally adds up to it."""
    import random

    rng = random.Random(7)
    n = 300
    parts = [sorted(rng.sample(range(n), 180)) for _ in range(4)]  # ~87% seen twice or more
    unique = set().union(*parts)
    daily = 10**12
    with mp.get_context("spawn").Pool(4) as pool:
        local = pool.map(_charge_worker, [(server.url, daily, ks) for ks in parts])
    led = ledger(server.url)
    try:
        fb = led.fleet_balance(CID)
    finally:
        led.close()
    expected = sum(amount(k) for k in unique)
    assert sum(len(p) for p in parts) > len(unique)  # there were duplicates
    assert fb.spent_total == expected
    assert fb.spent_today == expected
    assert sum(local) == expected
    assert fb.leased == 0 and fb.leases == 0 and fb.uncovered == 0


def test_spend_never_exceeds_budget(server: RedisServer) -> None:
    """Charges equal holds and leases never expire: 4 processes spending as fast as they
    can never take the fleet past the budget, and leave at most their leases unspent."""
    daily, lease = 200_000, 20_000
    with mp.get_context("spawn").Pool(4) as pool:
        local = pool.map(_spend_until_dry, [(server.url, daily, p) for p in range(4)])
    led = ledger(server.url)
    try:
        fb = led.fleet_balance(CID)
    finally:
        led.close()
    assert fb.spent_today == sum(local)
    assert fb.spent_today <= daily
    assert fb.spent_today >= daily - 4 * lease
    assert fb.leased == 0 and fb.uncovered == 0


def test_killed_process_lease_comes_back(server: RedisServer) -> None:
    """SIGKILL a process holding a lease: after the TTL its unspent lease is back in the
    campaign, and every charge it had confirmed is still there."""
    daily = 1_000_000
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_killed_worker, args=(server.url, daily, send))
    proc.start()
    try:
        assert recv.poll(60), "worker did not report"
        confirmed = recv.recv()
    finally:
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        recv.close()
        send.close()
    assert confirmed == 10_000
    led = ledger(server.url)
    try:
        before = led.fleet_balance(CID)
        assert before.leases == 1 and before.leased > 0
        time.sleep(TTL + 0.3)
        after = led.fleet_balance(CID)
        assert after.leases == 0 and after.leased == 0
        assert after.reclaimed == before.leased
        assert after.spent_total >= confirmed
        assert after.spent_total in range(confirmed, 15_001, 1000)
        # The money is spendable again: a fresh ledger may lease all of the rest.
        fresh = ledger(server.url, lease_micros=daily)
        try:
            fresh.bind(catalog(daily).snapshot)
            assert fresh.lease(CID) == daily - after.spent_today
        finally:
            fresh.close()
    finally:
        led.close()


def test_restart_from_append_only_file_keeps_balances_and_dedup(server: RedisServer) -> None:
    daily = 1_000_000
    led = ledger(server.url, lease_micros=50_000)
    led.bind(catalog(daily).snapshot)
    for k in range(20):
        charge(led, f"r-{k}", amount(k))
    assert led.close() == 0
    probe = ledger(server.url)
    before = probe.fleet_balance(CID)
    probe.close()
    server.restart(kill=True)
    led2 = ledger(server.url, lease_micros=50_000)
    try:
        assert led2.fleet_balance(CID) == before
        led2.bind(catalog(daily).snapshot)
        for k in range(20):
            charge(led2, f"r-{k}", amount(k))
        assert led2.sync() and led2.pending_charges() == 0
        assert led2.duplicates == 20 and led2.total_spent() == 0
        after = led2.fleet_balance(CID)
        assert after.spent_total == before.spent_total == sum(amount(k) for k in range(20))
    finally:
        led2.close()


def test_restart_under_the_same_process_id_issues_new_tokens(server: RedisServer) -> None:
    """A ledger restarted under the same process id that charges the same impressions
    again sees duplicates (its tokens differ from the first life's), so its own books
    stay right, not only Redis's totals."""
    daily = 1_000_000
    first = ledger(server.url, lease_micros=50_000, process_id="bidder-1")
    first.bind(catalog(daily).snapshot)
    for k in range(10):
        charge(first, f"s-{k}", amount(k))
    assert first.close() == 0
    assert first.total_spent() == sum(amount(k) for k in range(10))
    second = ledger(server.url, lease_micros=50_000, process_id="bidder-1")
    try:
        second.bind(catalog(daily).snapshot)
        for k in range(10):
            charge(second, f"s-{k}", amount(k))
        assert second.sync() and second.pending_charges() == 0
        assert second.duplicates == 10
        assert second.total_spent() == 0
        assert second.fleet_balance(CID).spent_total == sum(amount(k) for k in range(10))
    finally:
        second.close()


@pytest.mark.parametrize("fail_closed", [True, False])
def test_outage_holds_on_the_lease_then_reconciles_once(
    server: RedisServer, fail_closed: bool
) -> None:
    """Redis stops: holds go on within the lease; fail closed, they stop when the lease
    expires, else when it is spent. When Redis returns the queued charges land once."""
    daily, lease = 1_000_000, 10_000
    led = ledger(server.url, lease_micros=lease, fail_closed=fail_closed)
    try:
        led.bind(catalog(daily).snapshot)
        assert led.lease(CID) == lease
        server.stop(kill=True)
        for k in range(5):
            assert led.hold(CID, 1000)
            led.settle(CID, 1000, 1000, impression_id=f"o-{k}")
        assert not led.sync()
        time.sleep(TTL + 0.2)
        n = 5
        if fail_closed:
            assert led.lease(CID) == 0 and not led.hold(CID, 1000)
        else:
            while led.hold(CID, 1000):
                led.settle(CID, 1000, 1000, impression_id=f"o-{n}")
                n += 1
            assert n == lease // 1000
        assert led.pending_charges() == n
        server.start()
        assert led.sync() and led.pending_charges() == 0
        assert led.sync()
        fb = led.fleet_balance(CID)
        assert fb.spent_total == fb.spent_today == n * 1000 == led.total_spent()
        # The lease expired while Redis was down: what it covered is counted, and the
        # overspend bound holds (spend <= budget + one lease per cut-off process).
        assert fb.spent_today <= daily + lease
        assert fb.leased == led.lease(CID) == lease  # a fresh lease after reconnecting
        assert led.hold(CID, 1000)
    finally:
        led.close()


def test_two_days_and_total_budget(server: RedisServer) -> None:
    """Spend today resets at the UTC day change; the lifetime cap still binds."""
    led = ledger(server.url, lease_micros=4000)
    try:
        led.roll(0.0)
        led.bind(catalog(5000, total=7000).snapshot)
        for k in range(5):
            charge(led, f"d0-{k}", 1000)
        led.sync()
        assert not led.hold(CID, 1000) and led.lease(CID) == 0  # daily budget spent
        led.roll(86400.0)
        for k in range(2):
            charge(led, f"d1-{k}", 1000)
        led.sync()
        assert not led.hold(CID, 1000)  # total budget spent
        fb = led.fleet_balance(CID)
        assert (fb.day, fb.spent_today, fb.spent_total) == (1, 2000, 7000)
        assert led.balance(CID).spent_today == 2000
    finally:
        led.close()


def test_feedback_stream_round_trip(client: redis.Redis, server: RedisServer) -> None:
    events = [
        Impression(impression_id="i1", timestamp=1.0),
        Click(impression_id="i1", timestamp=2.0),
        Conversion(impression_id="i1", timestamp=3.0, value=4.5),
        SpendCharged(campaign_id=CID, amount_micros=1200, timestamp=1.0),
        Outcome(
            kind="click",
            impression_id="i1",
            ad_id="a1",
            campaign_id=CID,
            creative_id="a1",
            timestamp=2.0,
        ),
    ]
    pub = FeedbackPublisher(client, stream="fb")
    ids = [pub.publish(events[0])] + pub.publish_many(events[1:])
    a = FeedbackConsumer(client, stream="fb", group="g", consumer="a")
    got = a.read(count=3)
    assert [m for m, _ in got] == ids[:3]
    assert [e for _, e in got] == events[:3]
    assert a.ack([ids[0]]) == 1
    # A restarted consumer of the same name sees its unacknowledged messages first.
    again = FeedbackConsumer(client, stream="fb", group="g", consumer="a")
    assert [e for _, e in again.read()] == events[1:3]
    assert again.ack(ids[1:3]) == 2
    assert [e for _, e in again.read()] == events[3:]  # backlog done: new messages
    assert again.read(block_ms=10) == []
    # Another consumer of the group gets nothing already delivered.
    b = FeedbackConsumer(server.url, stream="fb", group="g", consumer="b")
    try:
        assert b.read(block_ms=10) == []
    finally:
        b.close()


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"lease_ttl": 0.0}, "lease_ttl"),
        ({"lease_ttl": 1.0, "sync_interval": 0.5}, "sync_interval"),
        ({"lease_micros": 0}, "lease_micros"),
        ({"dedup_retention": 0.0}, "dedup_retention"),
    ],
)
def test_bad_configuration(server: RedisServer, kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        RedisLedger(server.url, **kwargs)
