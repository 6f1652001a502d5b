"""``Engine.feedback_batch`` has exactly the effect of calling ``feedback`` on each event
in order (budgets, counters, what the learners saw, every bus message), and a bad event
anywhere in a batch changes nothing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from adcore import Engine, EngineConfig, InvalidEvent
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.events import (
    Click,
    Complete,
    Conversion,
    Event,
    Impression,
    Outcome,
    Skip,
    SpendCharged,
)

CONFIG = EngineConfig(latency_budget_us=math.inf, explore=0.05, seed=2, warmup=False)


def _engine() -> tuple[Engine, list[Any]]:
    engine = Engine(sample_catalog(n_ads=60, seed=3), CONFIG)
    seen: list[Any] = []
    for topic in (Outcome, SpendCharged, Impression, Click, Skip, Complete, Conversion):
        engine.bus.subscribe(topic, seen.append)
    return engine, seen


def _events(winners: list[Any], t: float) -> list[Event]:
    """Impressions (some twice), clicks (some too fast to be valid), skips,
    completions, conversions and events for unknown impressions."""
    rng = np.random.default_rng(4)
    out: list[Event] = []
    for k, s in enumerate(winners):
        iid = s.impression_id
        out.append(Impression(impression_id=iid, timestamp=t + k))
        if k % 7 == 0:
            out.append(Impression(impression_id=iid, timestamp=t + k + 0.5))  # duplicate
        r = rng.random()
        if r < 0.2:
            out.append(Click(impression_id=iid, timestamp=t + k + (0.01 if k % 2 else 3.0)))
        elif r < 0.5:
            out.append(Complete(impression_id=iid, timestamp=t + k + 2.0))
        elif r < 0.7:
            out.append(Skip(impression_id=iid, timestamp=t + k + 1.0, after=4.0))
        if k % 11 == 0:
            out.append(Conversion(impression_id=iid, timestamp=t + k + 9.0, value=12.5))
        if k % 13 == 0:
            out.append(Complete(impression_id=f"unknown-{k}", timestamp=t + k))
    return out


def _decided(engine: Engine) -> list[Any]:
    winners = []
    for i, r in enumerate(sample_requests(150, seed=5)):
        winners += engine.decide(r, now=DEMO_START + i).winners
    return winners


def test_a_batch_equals_the_loop() -> None:
    (loop, seen_loop), (batch, seen_batch) = _engine(), _engine()
    winners = _decided(loop)
    assert [s.impression_id for s in _decided(batch)] == [s.impression_id for s in winners]
    assert len(winners) > 40
    events = _events(winners, DEMO_START + 200.0)
    for e in events:
        loop.feedback(e)
    batch.feedback_batch(iter(events))  # any iterable
    assert seen_batch == seen_loop
    assert sum(isinstance(m, Outcome) for m in seen_loop) > len(winners)
    assert batch.stats() == loop.stats()
    assert batch.stats().duplicate_impressions > 0 and batch.stats().orphan_events > 0
    assert batch.ledger.balances() == loop.ledger.balances()
    for name in ("relevance", "safety"):
        a, b = loop.agent_state(name), batch.agent_state(name)
        for attr in ("learned", "shows", "actions", "counts"):
            if hasattr(a, attr):
                np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    # the same next decisions
    later = sample_requests(40, seed=9)
    assert [loop.decide(r, now=DEMO_START + 900).slots for r in later] == [
        batch.decide(r, now=DEMO_START + 900).slots for r in later
    ]


@pytest.mark.parametrize(
    ("events", "pattern", "field"),
    [
        (42, "iterable", "events"),
        (None, "iterable", "events"),
        ("ok", "events\\[0\\]", None),
    ],
    ids=["int", "none", "string"],
)
def test_a_non_iterable_or_non_event_is_refused(events: Any, pattern: str, field: Any) -> None:
    engine, _ = _engine()
    with pytest.raises(InvalidEvent, match=pattern) as err:
        engine.feedback_batch(events)
    if field is not None:
        assert err.value.field == field


@pytest.mark.parametrize(
    "bad",
    [
        Impression(impression_id=123, timestamp=DEMO_START),  # type: ignore[arg-type]
        Impression(impression_id="x", timestamp=float("nan")),
        Conversion(impression_id="x", timestamp=DEMO_START, value="lots"),  # type: ignore[arg-type]
        "impression",
    ],
    ids=["id-type", "nan-time", "value-type", "not-an-event"],
)
def test_one_bad_event_changes_nothing(bad: Any) -> None:
    engine, seen = _engine()
    winners = _decided(engine)
    before = (engine.stats(), engine.ledger.balances(), len(seen))
    good = _events(winners, DEMO_START + 200.0)
    with pytest.raises(InvalidEvent, match=f"events\\[{len(good) // 2}\\]"):
        engine.feedback_batch([*good[: len(good) // 2], bad, *good[len(good) // 2 :]])
    assert (engine.stats(), engine.ledger.balances(), len(seen)) == before
