"""The fuzz harness in the default suite: a few thousand requests, a few hundred feedback
events and the whole table of bad catalog and configuration values (``fuzzing.py``).

Every input either keeps the contract or the test fails naming it: ``Engine.decide``
returns a Decision or raises InvalidRequest naming the field, and a rejected request
changes nothing (stats, balances and the decision of a probe request on a twin engine
that never saw it); ``Engine.feedback`` raises only InvalidEvent for bad events, and
changes nothing; accepted inputs keep the money and format invariants; bad catalogs and
configurations raise only InvalidCatalog / InvalidConfig naming the field.

``bench/fuzz_requests.py`` runs the same harness on a million cases.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from typing import Any

import fuzzing as fz
import msgspec
import pytest

from adcore import Catalog, Engine, EngineConfig
from adcore import openrtb as rtb
from adcore.demo import sample_requests
from adcore.events import Click, Conversion, Impression

SEED = 0
CASES = {"spec": 700, "sample": 700, "generated": 800, "raw": 400, "struct": 400, "other": 40}
"""Request cases per family (3,040 in all)."""
EVENTS = 400
MAX_PODDUR = 60
"""Generated pods last at most a minute here: longer ones are the work-bound tests' and
the million-case run's (``bench/``)."""
BUDGET_S = 150.0
"""A family whose cases take longer than this stops and fails: some input made the
engine do unbounded work (each case takes about a millisecond)."""


@pytest.fixture(scope="module")
def harness(catalog: Catalog) -> fz.Harness:
    return fz.Harness(catalog)


def report(violations: list[fz.Violation], limit: int = 12) -> str:
    """Violations grouped by kind, exception and place, with a count and one example."""
    groups: dict[tuple[Any, ...], list[fz.Violation]] = defaultdict(list)
    for v in violations:
        key = (v.kind, v.exc_type, v.where) if v.kind == "exception" else (v.kind, v.detail[:48])
        groups[key].append(v)
    lines = [f"{len(violations)} violations in {len(groups)} groups:"]
    for vs in sorted(groups.values(), key=len, reverse=True)[:limit]:
        lines.append(f"  {len(vs)} x {vs[0].summary()[:400]}")
    return "\n".join(lines)


# ------------------------------------------------------------------ the fuzz runs


@pytest.mark.parametrize("kind", list(CASES))
def test_fuzzed_requests_keep_the_contract(harness: fz.Harness, kind: str) -> None:
    violations = harness.restart()
    slow: list[tuple[float, str]] = []
    outcomes: dict[str, int] = defaultdict(int)
    start = time.monotonic()
    for case in fz.request_cases(SEED, CASES[kind], kind, max_poddur=MAX_PODDUR):
        result = harness.request(case)
        outcomes[result.outcome] += 1
        violations += result.violations
        slow.append((result.elapsed, case.label))
        if time.monotonic() - start > BUDGET_S:
            worst = "\n".join(f"  {t:.2f} s: {label[:200]}" for t, label in sorted(slow)[-5:])
            pytest.fail(f"over {BUDGET_S} s after {case.index + 1} cases; the slowest:\n{worst}")
    if violations:
        pytest.fail(report(violations))
    # The family reaches both sides of the contract (a fuzzer that only produced garbage,
    # or only valid requests, would test little).
    if kind in ("spec", "sample", "generated"):
        assert outcomes["decided"] >= CASES[kind] // 10, dict(outcomes)
        assert outcomes["invalid"] >= CASES[kind] // 10, dict(outcomes)


def test_fuzzed_events_keep_the_contract(harness: fz.Harness) -> None:
    violations = harness.restart(60)
    assert len(harness.known) >= 20
    outcomes: dict[str, int] = defaultdict(int)
    for case in fz.event_cases(SEED, EVENTS):
        result = harness.event(case)
        outcomes[result.outcome] += 1
        violations += result.violations
    if violations:
        pytest.fail(report(violations))
    assert outcomes["accepted"] >= EVENTS // 5 and outcomes["invalid"] >= EVENTS // 5, dict(
        outcomes
    )


# ------------------------------------------------------------------ the issue's examples

BANNER = {"id": "1", "banner": {"w": 300, "h": 250}}


def _nested_ext(depth: int) -> bytes:
    head = b'{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}],"ext":{"x":'
    return head + b"[" * depth + b"]" * depth + b"}}"


ACCEPT = ("accept", "")
"""The request must be decided."""


def either(pattern: str) -> tuple[str, str]:
    """Decided, or rejected with InvalidRequest whose field matches ``pattern``."""
    return ("either", pattern)


ISSUE_REQUESTS: list[tuple[str, Any, str, tuple[str, str]]] = [
    ("ext with 1,000 nested arrays", _nested_ext(1000), "json", either(r"None|ext(\..*)?")),
    ("ext with 100,000 nested arrays", _nested_ext(100_000), "json", either(r"None|ext(\..*)?")),
    (
        "msgpack ext with 1,000 nested arrays",
        fz.encode_msgpack({"id": "r", "imp": [BANNER], "ext": {"x": fz.nested(1000)}}),
        "msgpack",
        either(r"None|ext(\..*)?"),
    ),
    (
        "banner w = 2**31",
        fz.encode_json({"id": "r", "imp": [{"id": "1", "banner": {"w": 2**31, "h": 250}}]}),
        "json",
        either(r"imp\[0\]\.banner\.w"),
    ),
    (
        "banner format h = 2**63",
        fz.encode_json(
            {"id": "r", "imp": [{"id": "1", "banner": {"format": [{"w": 1, "h": 2**63}]}}]}
        ),
        "json",
        either(r"imp\[0\]\.banner\.format\[0\]\.h"),
    ),
    (
        "audio pod maxseq = 2**63",
        fz.encode_json({"id": "r", "imp": [{"id": "1", "audio": {"poddur": 60, "maxseq": 2**63}}]}),
        "json",
        either(r"imp\[0\]\.audio\.maxseq"),
    ),
    (
        "video pod maxseq = 2**63",
        fz.encode_json({"id": "r", "imp": [{"id": "1", "video": {"poddur": 60, "maxseq": 2**63}}]}),
        "json",
        either(r"imp\[0\]\.video\.maxseq"),
    ),
    (
        "str request with a lone surrogate",
        '{"id":"r\ud800","imp":[{"id":"1","banner":{"w":300,"h":250}}]}',
        "json",
        either(r"None|id"),
    ),
    (
        "msgpack regs.ext.gdpr = inf",
        fz.encode_msgpack({"id": "r", "imp": [BANNER], "regs": {"ext": {"gdpr": math.inf}}}),
        "msgpack",
        either(r"regs\.(ext\.)?gdpr"),
    ),
    (
        "msgpack regs.ext.gdpr = nan",
        fz.encode_msgpack({"id": "r", "imp": [BANNER], "regs": {"ext": {"gdpr": math.nan}}}),
        "msgpack",
        either(r"regs\.(ext\.)?gdpr"),
    ),
    (
        "Prebid Server's device-sua sample (lat 123.456)",
        fz.encode_json(fz.PREBID_DEVICE_SUA),
        "json",
        ACCEPT,
    ),
    (
        "latitude 123.456 alone",
        fz.encode_json(
            {"id": "r", "imp": [BANNER], "device": {"geo": {"lat": 123.456, "lon": 10.0}}}
        ),
        "json",
        ACCEPT,
    ),
]


@pytest.mark.parametrize(
    ("payload", "format", "expected"),
    [pytest.param(p, f, e, id=name) for name, p, f, e in ISSUE_REQUESTS],
)
def test_issue_examples_of_bad_requests(
    harness: fz.Harness, payload: Any, format: str, expected: tuple[str, str]
) -> None:
    assert not harness.restart()
    # A day and a half after the last request: a rejected request that moved the clock
    # would roll the budget day and expire the warm-up's holds on the fuzzed engine only.
    result = harness.request(fz.Case(0, "issue example", payload, format, jump=True))
    if result.violations:
        pytest.fail(report(result.violations))
    how, pattern = expected
    if how == "accept":
        assert result.outcome == "decided", (result.outcome, result.field)
    else:
        assert result.outcome in ("decided", "invalid")
        if result.outcome == "invalid":
            assert re.fullmatch(pattern, str(result.field)), result.field


@pytest.mark.parametrize(
    ("cls", "fields", "bad"),
    [
        pytest.param(
            Impression, {"timestamp": 10**400}, "timestamp", id="Impression(timestamp=10**400)"
        ),
        pytest.param(
            Impression, {"timestamp": -(10**400)}, "timestamp", id="Impression(timestamp=-10**400)"
        ),
        pytest.param(Conversion, {"value": 10**400}, "value", id="Conversion(value=10**400)"),
        pytest.param(Conversion, {"value": math.nan}, "value", id="Conversion(value=nan)"),
        pytest.param(
            Impression, {"timestamp": math.inf}, "timestamp", id="Impression(timestamp=inf)"
        ),
        pytest.param(
            Impression, {"impression_id": 5}, "impression_id", id="Impression(impression_id=5)"
        ),
    ],
)
def test_issue_examples_of_bad_events(
    harness: fz.Harness, cls: Any, fields: dict[str, Any], bad: str
) -> None:
    assert not harness.restart()
    base = {"impression_id": fz.KNOWN_ID, "timestamp": fz.NOW}
    case = fz.EventCase(0, f"{cls.__name__}({fields})", cls, {**base, **fields}, (bad,))
    result = harness.event(case)
    assert result.outcome == "invalid" and result.field == bad, (
        result.outcome,
        result.exc_type,
        result.where,
    )
    if result.violations:
        pytest.fail(report(result.violations))


def test_feedback_before_any_decision_is_an_orphan(harness: fz.Harness) -> None:
    """An engine that has decided nothing yet takes feedback like any other: an event
    for an impression id it does not know is counted and ignored."""
    harness.restart(0)
    case = fz.EventCase(
        0, "Click before any decision", Click, {"impression_id": "r:1:0", "timestamp": fz.NOW}, ()
    )
    result = harness.event(case)
    if result.violations:
        pytest.fail(report(result.violations))
    assert result.outcome == "accepted"
    assert harness.engine.stats().orphan_events == 1


# ------------------------------------------------------------------ catalogs and configurations


@pytest.mark.parametrize(
    ("build", "expected", "pattern"),
    [pytest.param(b, e, p, id=name) for name, b, e, p in fz.CATALOG_TABLE],
)
def test_bad_catalog_values_raise_invalid_catalog(
    build: Any, expected: type[Exception], pattern: str
) -> None:
    problem = fz.judge_raise(fz.raised(build), expected, pattern)
    assert problem is None, problem


@pytest.mark.parametrize(
    ("kwargs", "expected", "pattern"),
    [pytest.param(k, e, p, id=name) for name, k, e, p in fz.CONFIG_TABLE],
)
def test_bad_config_values_raise_invalid_config(
    catalog: Catalog, kwargs: dict[str, Any], expected: type[Exception], pattern: str
) -> None:
    problem = fz.judge_raise(
        fz.raised(lambda: Engine(catalog, EngineConfig(**kwargs))), expected, pattern
    )
    assert problem is None, problem


def test_the_catalog_and_config_tables_cover_the_issue() -> None:
    names = {n for n, *_ in fz.CATALOG_TABLE} | {n for n, *_ in fz.CONFIG_TABLE}
    for name in [
        "campaign daily_budget=2**63",
        "campaign total_budget=2**63",
        "campaign priority=2**63",
        "campaign cap impressions=2**63",
        "catalog signal vector of strings",
        "catalog currency=5",
        "catalog currency='XYZ'",
        "seed=-1",
        "counter_slots=2**40",
        "bot_patterns=('',)",
    ]:
        assert name in names


# ------------------------------------------------------------------ the harness itself


def test_the_harness_sees_a_changed_random_stream(catalog: Catalog) -> None:
    """Two engines alike but for the seed of their random draws: same stats, same
    balances, and yet the probe tells them apart."""
    h = fz.Harness(catalog)
    h.engine = Engine(catalog, msgspec.structs.replace(h.config, seed=h.config.seed + 1))
    assert h.differences() == [
        "the probe request is decided differently (random stream, clock or learned state)"
    ]


def test_the_harness_sees_a_moved_clock(catalog: Catalog) -> None:
    h = fz.Harness(catalog)
    assert not h.restart()
    assert not h.differences()
    request = rtb.encode_request(sample_requests(1, seed=3)[0])
    # The same request on both, but decided two days later on one: the budget day rolls.
    h.engine.decide(request, now=h.t + 2 * 86400.0)
    h.twin.decide(request, now=h.t)
    assert any(d.startswith("balance") for d in h.differences())


def test_the_fuzzer_is_deterministic() -> None:
    for i in range(300):
        a, b = fz.request_case(7, i), fz.request_case(7, i)
        assert a.label == b.label and a.format == b.format and a.jump == b.jump
        if isinstance(a.payload, bytes | str):
            assert a.payload == b.payload
    assert [c.label for c in fz.event_cases(7, 100)] == [c.label for c in fz.event_cases(7, 100)]
    assert fz.request_case(7, 1).label != fz.request_case(8, 1).label


def test_the_fuzzer_reaches_every_mutation() -> None:
    labels = " | ".join(fz.request_case(SEED, i).label for i in range(1500))
    for what in [
        "delete ",
        "duplicate element ",
        "duplicate key ",
        "copy ",
        "retype ",
        "number ",
        "= 10**400",
        "= Infinity",
        "= NaN",
        "deep ",
        "[]*1000 ",
        "[]*100000",
        "*1000001",
        "long string ",
        "invalid utf-8 ",
        "lone surrogate",
        "insert ",
        "swap ",
        "truncate at",
        "flip bytes",
        "splice ",
        "[json]",
        "[json str]",
        "[msgpack]",
        "[json bytearray]",
        "[json memoryview]",
        "struct: ",
        "generated generated: unmutated",
        "spec request_6_2_4_video",
    ]:
        assert what in labels, what
    big = " | ".join(fz.request_case(SEED, i, "spec", big=True).label for i in range(1500))
    assert "*999000" in big


def test_the_encoders_write_what_json_and_msgpack_cannot_say_directly() -> None:
    doc = {"a": [1, fz.BadStr(b"\xff")], "b": math.inf, "c": fz.TOKENS[0], "d": 2**64}
    assert (
        fz.encode_json(doc) == b'{"a":[1,"\xff"],"b":1e999,"c":Infinity,"d":18446744073709551616}'
    )
    assert fz.encode_json_str({"s": "\ud800"}) == '{"s":"\ud800"}'
    assert msgspec.msgpack.decode(fz.encode_msgpack({"x": [1.5, -1, 2**64 - 1, "é"]})) == {
        "x": [1.5, -1, 2**64 - 1, "é"]
    }
    assert fz.encode_msgpack(fz.Pairs([("a", 1), ("a", 2)])) == b"\x82\xa1a\x01\xa1a\x02"
    deep = fz.nested(5)
    assert msgspec.json.decode(deep.json) == msgspec.msgpack.decode(deep.msgpack) == [[[[[]]]]]
