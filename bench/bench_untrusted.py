"""The request edge's worst cases, in µs: the largest request the engine accepts, and
hostile payloads it rejects (nested a hundred thousand levels deep; over the size limit).

Each is timed beside the standard library's ``json.loads`` on the same bytes (what a
hand-written Python front end would do first, before any validation), so the ratio says
what adcore's checks cost over bare parsing. Worst cases of the other request-controlled
loops are timed where they live: pods in ``bench_auction.py``, consent strings in
``bench_consent.py``.

``pytest bench/bench_untrusted.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from adcore import Engine, EngineConfig, InvalidRequest
from adcore.demo import DEMO_START, sample_catalog, subset_sum_catalog

MAX_BYTES = 65_536  # EngineConfig.max_request_bytes's default


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(
        sample_catalog(n_ads=1000, dimension=32, seed=0),
        EngineConfig(latency_budget_us=float("inf")),
    )


def _largest_request() -> bytes:
    """An eight-impression request filled to just under the size limit with what
    exchanges really send in bulk and what costs the engine most per byte: long block
    lists and, for the rest, user segments (each looked up in the catalog's vocabulary)."""
    req: dict[str, Any] = {
        "id": "big",
        "imp": [
            {"id": str(k), "bidfloor": 0.5, "audio": {"mimes": ["audio/mpeg"], "maxduration": 30}}
            for k in range(8)
        ],
        "site": {"id": "s", "domain": "example.com", "cat": ["IAB1"]},
        "device": {"ua": "Mozilla/5.0", "ip": "203.0.113.7", "devicetype": 2},
        "badv": [f"blocked{i}.example" for i in range(500)],
        "bcat": [f"IAB{i % 26 + 1}-{i % 9 + 1}" for i in range(500)],
        "user": {
            "data": [
                {"id": f"p{d}", "segment": [{"id": f"s{d}-{i}"} for i in range(100)]}
                for d in range(5)
            ]
        },  # fmt: skip
    }
    raw = json.dumps(req).encode()
    segment = len(json.dumps({"id": "s99-99999"})) + 2
    extra = [{"id": f"s99-{i:05d}"} for i in range((MAX_BYTES - len(raw) - 200) // segment)]
    req["user"]["data"].append({"id": "p99", "segment": extra})
    raw = json.dumps(req).encode()
    assert MAX_BYTES - 1000 < len(raw) <= MAX_BYTES, len(raw)
    return raw


def _over_limit() -> bytes:
    raw = _largest_request()
    return raw + b" " * (MAX_BYTES - len(raw) + 100)


def _deep(n: int) -> bytes:
    return b'{"id":"r","imp":[{"id":"1"}],"ext":{"x":' + b"[" * n + b"]" * n + b"}}"


def _stdlib(raw: bytes) -> Callable[[], Any]:
    def parse() -> Any:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            return None

    return parse


def _rejects(engine: Engine, raw: bytes) -> Callable[[], None]:
    def call() -> None:
        try:
            engine.decide(raw, now=DEMO_START)
        except InvalidRequest:
            return
        raise AssertionError("accepted a payload it must reject")

    return call


def test_largest_request(timed: Callable[..., Any], engine: Engine) -> None:
    raw = _largest_request()
    decision = engine.decide(raw, now=DEMO_START)
    assert len(decision.slots) >= 8
    group = f"the largest request accepted ({len(raw):,} bytes, 8 impressions)"
    timed(group, "adcore", lambda: engine.decide(raw, now=DEMO_START))


def test_largest_request_stdlib(timed: Callable[..., Any]) -> None:
    raw = _largest_request()
    timed(f"the largest request accepted ({len(raw):,} bytes, 8 impressions)", "json.loads",
          _stdlib(raw))  # fmt: skip


@pytest.mark.parametrize("n", [1_000, 100_000])
def test_deep_nesting_rejected(timed: Callable[..., Any], engine: Engine, n: int) -> None:
    raw = _deep(n)
    timed(f"nesting {n:,} levels deep ({len(raw):,} bytes): rejected", "adcore",
          _rejects(engine, raw))  # fmt: skip


@pytest.mark.parametrize("n", [1_000, 100_000])
def test_deep_nesting_stdlib(timed: Callable[..., Any], n: int) -> None:
    raw = _deep(n)
    timed(f"nesting {n:,} levels deep ({len(raw):,} bytes): rejected", "json.loads",
          _stdlib(raw))  # fmt: skip


def test_oversized_rejected(timed: Callable[..., Any], engine: Engine) -> None:
    raw = _over_limit()
    timed("a request 100 bytes over the limit: rejected", "adcore", _rejects(engine, raw))


def test_oversized_stdlib(timed: Callable[..., Any]) -> None:
    timed("a request 100 bytes over the limit: rejected", "json.loads", _stdlib(_over_limit()))


def _everything_at_once() -> bytes:
    """The request that combines every request-controlled worst case within the limits:
    ``max_imps`` 240 s audio pods (on a subset-sum catalog, where every pod search runs
    out of budget), the longest TC string (16 KiB of vendor bit fields) and a GPP string
    with every US state section, padded to just under the size limit."""
    from bench_consent import gpp_every_us_section, tc_bit_fields

    tc = tc_bit_fields()
    req: dict[str, Any] = {
        "id": "worst",
        "imp": [
            {"id": str(k), "audio": {"mimes": ["audio/mpeg"], "poddur": 240}} for k in range(8)
        ],
        "device": {"ua": "Mozilla/5.0", "ip": "203.0.113.7", "devicetype": 2},
        "user": {"consent": tc},
        "regs": {"gdpr": 1, "gpp": "", "gpp_sid": [7]},
    }
    room = MAX_BYTES - len(json.dumps(req).encode()) - 16
    gpp = gpp_every_us_section()[:room]
    while "." in gpp and gpp.endswith("."):
        gpp = gpp[:-1]
    req["regs"]["gpp"] = gpp
    raw = json.dumps(req).encode()
    assert MAX_BYTES - 1000 < len(raw) <= MAX_BYTES, len(raw)
    return raw


# Vendor 1 has consent in the TC string: the request is served (contextually), so every
# stage runs, pods included.
WORST_CONFIG = EngineConfig(latency_budget_us=float("inf"), vendor_id=1)


@pytest.fixture(scope="module")
def pod_engine() -> Engine:
    return Engine(subset_sum_catalog(1000, 200, n_categories=7, seed=0), WORST_CONFIG)


GROUP_WORST = "every worst case in one request (8 hard pods, 16 KB TC, GPP, 64 KB)"


def test_everything_at_once(
    timed: Callable[..., Any], pod_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _everything_at_once()
    traced = pod_engine.decide(raw, now=DEMO_START, trace=True)
    assert traced.trace is not None
    pods = [p for p in traced.trace.pods if p is not None]
    assert len(pods) == 8 and any(p.method == "budgeted" for p in pods)
    nodes = sum(p.nodes for p in pods)
    with capsys.disabled():
        print(f"\n{GROUP_WORST}: {len(raw):,} bytes, {nodes} pod nodes, "
              f"{len(traced.winners)} ads sold")  # fmt: skip
    timed(GROUP_WORST, "adcore", lambda: pod_engine.decide(raw, now=DEMO_START))


def test_everything_at_once_stdlib(timed: Callable[..., Any]) -> None:
    timed(GROUP_WORST, "json.loads", _stdlib(_everything_at_once()))
