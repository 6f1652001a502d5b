"""Budget ledgers: what sharing budgets through Redis costs on the decision path.

``RedisLedger`` holds and settles against its lease in local memory, so a hold + settle
should cost about what it costs in ``InProcessLedger`` (the competitor here): no network
per charge, charges reach Redis in background batches. Each round holds and settles
``N_IMPRESSIONS`` impressions; divide the medians by it for the time per impression.

The second group times one lease refill (flush one charge, top the lease up: two
pipelined round trips to a local ``redis-server``) against a bare ``PING`` round trip;
this is the latency the background thread absorbs, never a decision.

Needs ``redis-server`` on PATH; the benchmark starts its own on a free port.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adcore import Ad, Campaign, Catalog
from adcore.ledger import InProcessLedger
from adcore.ledger.redis import RedisLedger

try:
    from tests.redis_server import RedisServer
except ImportError:  # run from the tests directory
    from redis_server import RedisServer

N_IMPRESSIONS = 1000
PRICE = 1000
BUDGET = 10**15

CATALOG = Catalog(
    [Campaign(id="c1", advertiser="Acme", daily_budget=BUDGET)],
    [
        Ad(
            id="a1",
            campaign="c1",
            format="audio",
            duration=30.0,
            mimes=("audio/mpeg",),
            embedding=(0.1, 0.2, 0.3, 0.4),
        )
    ],
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    srv = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop(kill=True)


def hold_settle_round(ledger: Any) -> Callable[[], None]:
    counter = itertools.count()
    hold, settle = ledger.hold, ledger.settle
    redis_ledger = isinstance(ledger, RedisLedger)

    def run() -> None:
        base = next(counter) * N_IMPRESSIONS
        for k in range(N_IMPRESSIONS):
            if not hold("c1", PRICE):
                raise AssertionError("lease ran dry during the benchmark")
            if redis_ledger:
                settle("c1", PRICE, PRICE, impression_id=f"b{base + k}")
            else:
                settle("c1", PRICE, PRICE)

    return run


def test_hold_settle_in_process(timed: Callable[..., Any]) -> None:
    ledger = InProcessLedger()
    ledger.bind(CATALOG.snapshot)
    timed("ledger hold+settle x1000", "in_process", hold_settle_round(ledger))


def test_hold_settle_redis_lease(timed: Callable[..., Any], server: RedisServer) -> None:
    ledger = RedisLedger(server.url, namespace="bench", lease_micros=BUDGET // 10)
    try:
        ledger.bind(CATALOG.snapshot)
        timed("ledger hold+settle x1000", "adcore", hold_settle_round(ledger))
    finally:
        assert ledger.close() == 0


def test_lease_refill_round_trip(timed: Callable[..., Any], server: RedisServer) -> None:
    lease = 10 * PRICE
    ledger = RedisLedger(server.url, namespace="refill", lease_micros=lease)
    counter = itertools.count()
    try:
        ledger.bind(CATALOG.snapshot)

        def refill() -> None:
            # Spend the whole lease in one charge, then flush it and take a new lease.
            if not ledger.hold("c1", lease):
                raise AssertionError("no lease")
            ledger.settle("c1", lease, lease, impression_id=f"r{next(counter)}")
            if not ledger.sync():
                raise AssertionError("redis did not answer")

        timed("ledger lease refill", "adcore", refill)
    finally:
        assert ledger.close() == 0


def test_ping_round_trip(timed: Callable[..., Any], server: RedisServer) -> None:
    import redis

    client = redis.Redis.from_url(server.url)
    try:
        timed("ledger lease refill", "redis_ping", client.ping)
    finally:
        client.close()
