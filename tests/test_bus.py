"""Tests of adcore.bus: delivery, errors, recording and replay, threads."""

from __future__ import annotations

import contextlib
import doctest
import logging
import struct
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import adcore.bus
from adcore.bus import Bus, NotSubscribed, RecordingError
from adcore.errors import AdcoreError
from adcore.events import (
    Click,
    Complete,
    Control,
    Conversion,
    Event,
    Impression,
    PauseCampaign,
    Skip,
    SpendCharged,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "bus.md"


def imp(i: str = "r1:1:0", t: float = 1.0) -> Impression:
    return Impression(impression_id=i, timestamp=t)


def clk(i: str = "r1:1:0", t: float = 2.0) -> Click:
    return Click(impression_id=i, timestamp=t)


class Untagged(msgspec.Struct, frozen=True):
    """A plain (untagged) Struct message, to check recording does not rely on tags."""

    name: str
    values: list[int]


class Opaque(msgspec.Struct):
    """A Struct msgspec cannot encode when ``payload`` holds an arbitrary object."""

    payload: Any


# ------------------------------------------------------------------------- delivery


def test_delivers_synchronously_in_subscription_order() -> None:
    bus = Bus()
    calls: list[tuple[str, object]] = []

    def handler(name: str) -> Callable[[Impression], None]:
        return lambda m: calls.append((name, m))

    for name in "abcde":
        bus.subscribe(Impression, handler(name))
    message = imp()
    bus.publish(message)
    # synchronous: everything happened before publish returned
    assert [name for name, _ in calls] == list("abcde")
    assert all(m is message for _, m in calls)


def test_handler_receives_the_very_same_object() -> None:
    bus = Bus()
    got: list[object] = []
    bus.subscribe(Click, got.append)
    bus.subscribe("raw", got.append)
    message = clk()
    payload = {"mutable": [1, 2]}
    bus.publish(message)
    bus.publish(payload, topic="raw")
    assert got[0] is message
    assert got[1] is payload


def test_topics_are_isolated() -> None:
    bus = Bus()
    impressions: list[object] = []
    clicks: list[object] = []
    spend: list[object] = []
    bus.subscribe(Impression, impressions.append)
    bus.subscribe(Click, clicks.append)
    bus.subscribe(SpendCharged, spend.append)
    i1, c1, i2 = imp("a"), clk("a"), imp("b")
    s1 = SpendCharged(campaign_id="c1", amount_micros=1500, timestamp=3.0)
    for m in (i1, c1, i2, s1):
        bus.publish(m)
    assert impressions == [i1, i2]
    assert clicks == [c1]
    assert spend == [s1]


def test_string_topics() -> None:
    bus = Bus()
    alerts: list[object] = []
    other: list[object] = []
    bus.subscribe("alerts", alerts.append)
    bus.subscribe("other", other.append)
    bus.publish("budget low", topic="alerts")
    bus.publish({"campaign": "c1"}, topic="alerts")
    bus.publish(clk(), topic="alerts")  # a Struct on a string topic goes to the name only
    bus.publish(1, topic="nobody listens")
    assert alerts == ["budget low", {"campaign": "c1"}, clk()]
    assert other == []
    assert bus.published_count == 4


def test_string_topic_and_struct_topic_do_not_mix() -> None:
    bus = Bus()
    by_name: list[object] = []
    by_type: list[object] = []
    bus.subscribe("Click", by_name.append)
    bus.subscribe(Click, by_type.append)
    bus.publish(clk())
    assert by_name == []
    assert by_type == [clk()]


def test_base_class_subscription_receives_subclasses() -> None:
    bus = Bus()
    events: list[object] = []
    controls: list[object] = []
    everything: list[object] = []
    bus.subscribe(Event, events.append)
    bus.subscribe(Control, controls.append)
    bus.subscribe(msgspec.Struct, everything.append)
    sent: list[msgspec.Struct] = [
        imp(),
        clk(),
        Skip(impression_id="x", timestamp=1.0, after=2.5),
        Complete(impression_id="x", timestamp=3.0),
        Conversion(impression_id="x", timestamp=4.0, value=9.5),
        PauseCampaign(by="ops", reason="test", timestamp=5.0, campaign_id="c1"),
        SpendCharged(campaign_id="c1", amount_micros=1, timestamp=6.0),
    ]
    for m in sent:
        bus.publish(m)
    assert events == sent[:5]
    assert controls == [sent[5]]
    assert everything == sent


def test_explicit_struct_topic_overrides_the_message_type() -> None:
    bus = Bus()
    events: list[object] = []
    impressions: list[object] = []
    bus.subscribe(Event, events.append)
    bus.subscribe(Impression, impressions.append)
    bus.publish(imp(), topic=Event)  # published on the base: exact-Impression handlers skip it
    assert events == [imp()]
    assert impressions == []


def test_order_is_subscription_order_across_base_and_exact_topics() -> None:
    bus = Bus()
    calls: list[str] = []
    bus.subscribe(Impression, lambda m: calls.append("impression-1"))
    bus.subscribe(Event, lambda m: calls.append("event"))
    bus.subscribe(Impression, lambda m: calls.append("impression-2"))
    bus.subscribe(msgspec.Struct, lambda m: calls.append("struct"))
    bus.publish(imp())
    assert calls == ["impression-1", "event", "impression-2", "struct"]
    calls.clear()
    bus.publish(clk())
    assert calls == ["event", "struct"]


def test_subscribe_after_publish_invalidates_the_cache() -> None:
    bus = Bus()
    first: list[object] = []
    late: list[object] = []
    bus.subscribe(Event, first.append)
    bus.publish(imp("1"))  # resolves and caches the Impression route
    bus.subscribe(Event, late.append)  # a base-class subscription must reach Impression
    bus.publish(imp("2"))
    assert [m.impression_id for m in first] == ["1", "2"]  # type: ignore[attr-defined]
    assert [m.impression_id for m in late] == ["2"]  # type: ignore[attr-defined]
    assert bus.subscribers(Impression) == (first.append, late.append)


def test_unsubscribe_after_publish_invalidates_the_cache() -> None:
    bus = Bus()
    kept: list[object] = []
    dropped: list[object] = []
    bus.subscribe(Event, kept.append)
    bus.subscribe(Event, dropped.append)
    bus.subscribe("s", dropped.append)
    bus.publish(imp("1"))
    bus.publish("x", topic="s")
    bus.unsubscribe(Event, dropped.append)
    bus.unsubscribe("s", dropped.append)
    bus.publish(imp("2"))
    bus.publish("y", topic="s")
    assert kept == [imp("1"), imp("2")]
    assert dropped == [imp("1"), "x"]
    assert bus.subscribers(Impression) == (kept.append,)
    assert bus.subscribers("s") == ()


def test_unsubscribe_removes_only_that_topic() -> None:
    bus = Bus()
    got: list[object] = []
    bus.subscribe(Event, got.append)
    bus.subscribe(Impression, got.append)
    bus.publish(imp())
    assert got == [imp(), imp()]  # once per subscription
    bus.unsubscribe(Impression, got.append)
    bus.publish(imp())
    assert got == [imp(), imp(), imp()]  # still reached through Event


def test_bound_methods_compare_equal_for_unsubscribe() -> None:
    class Counter_:
        def __init__(self) -> None:
            self.n = 0

        def on(self, m: object) -> None:
            self.n += 1

    c = Counter_()
    bus = Bus()
    bus.subscribe(Click, c.on)
    with pytest.raises(ValueError, match="already subscribed"):
        bus.subscribe(Click, c.on)  # a fresh bound method object, same subscription
    bus.publish(clk())
    bus.unsubscribe(Click, c.on)
    bus.publish(clk())
    assert c.n == 1


def test_unsubscribe_unknown_raises_not_subscribed() -> None:
    bus = Bus()
    bus.subscribe(Event, print)
    with pytest.raises(NotSubscribed, match="is not subscribed to adcore.events:Click"):
        bus.unsubscribe(Click, print)  # subscribed to the base, not to Click
    with pytest.raises(NotSubscribed, match="'nope'"):
        bus.unsubscribe("nope", print)
    bus.unsubscribe(Event, print)
    with pytest.raises(NotSubscribed):
        bus.unsubscribe(Event, print)
    assert issubclass(NotSubscribed, ValueError)
    assert issubclass(NotSubscribed, AdcoreError)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda b: b.subscribe(dict, print), TypeError, "builtins:dict is not a msgspec Struct"),
        (lambda b: b.subscribe(42, print), TypeError, "a msgspec Struct class or a str, not 42"),
        (lambda b: b.subscribe(Click, "not callable"), TypeError, "handler must be callable"),
        (lambda b: b.publish({"a": 1}), TypeError, "explicit string topic"),
        (lambda b: b.publish(clk(), topic=3.5), TypeError, "not 3.5"),
        (lambda b: b.subscribers(int), TypeError, "builtins:int is not a msgspec Struct"),
    ],
)
def test_bad_topics_and_handlers(call: Any, exc: type[Exception], pattern: str) -> None:
    bus = Bus()
    with pytest.raises(exc, match=pattern):
        call(bus)
    assert bus.published_count == 0


def test_introspection() -> None:
    bus = Bus()
    assert bus.subscribers(Click) == ()
    assert bus.published_count == 0 and bus.error_count == 0
    assert bus.error_counts == {}

    def a(m: object) -> None:
        pass

    def b(m: object) -> None:
        pass

    bus.subscribe(Event, a)
    bus.subscribe(Click, b)
    assert bus.subscribers(Click) == (a, b)
    assert bus.subscribers(Impression) == (a,)
    assert bus.subscribers(Event) == (a,)
    assert bus.subscribers(SpendCharged) == ()
    for _ in range(7):
        bus.publish(clk())
    assert bus.published_count == 7
    assert "2 subscriptions on 2 topics, 7 published, 0 errors" in repr(bus)


def test_publish_from_a_handler_is_depth_first() -> None:
    bus = Bus()
    calls: list[str] = []

    def on_impression(m: Impression) -> None:
        calls.append("impression")
        bus.publish(clk(m.impression_id))
        calls.append("impression done")

    bus.subscribe(Impression, on_impression)
    bus.subscribe(Click, lambda m: calls.append("click"))
    bus.subscribe(Impression, lambda m: calls.append("impression 2"))
    bus.publish(imp())
    assert calls == ["impression", "click", "impression done", "impression 2"]


def test_unsubscribing_during_delivery_applies_from_the_next_publish() -> None:
    bus = Bus()
    calls: list[str] = []

    def once(m: object) -> None:
        calls.append("once")
        bus.unsubscribe(Click, once)
        bus.unsubscribe(Click, later)  # already snapshotted: still called this time

    def later(m: object) -> None:
        calls.append("later")

    bus.subscribe(Click, once)
    bus.subscribe(Click, later)
    bus.publish(clk())
    bus.publish(clk())
    assert calls == ["once", "later"]


# --------------------------------------------------------------------------- errors


def test_raising_handler_does_not_stop_delivery(caplog: pytest.LogCaptureFixture) -> None:
    bus = Bus()
    before: list[object] = []
    after: list[object] = []

    def broken(m: object) -> None:
        raise RuntimeError("boom")

    bus.subscribe(Click, before.append)
    bus.subscribe(Click, broken)
    bus.subscribe(Click, after.append)
    bus.subscribe("s", broken)
    message = clk()
    with caplog.at_level(logging.ERROR, logger="adcore.bus"):
        bus.publish(message)
        bus.publish(message)
        bus.publish("x", topic="s")
    assert before == [message, message]
    assert after == [message, message]
    assert bus.error_count == 3
    assert bus.error_counts == {Click: 2, "s": 1}
    assert bus.published_count == 3

    records = [r for r in caplog.records if r.name == "adcore.bus"]
    assert len(records) == 3
    first = records[0]
    assert first.levelno == logging.ERROR
    text = first.getMessage()
    assert "broken" in text and "adcore.events:Click" in text and "boom" in text
    assert first.exc_info is not None and isinstance(first.exc_info[1], RuntimeError)
    assert "'s'" in records[2].getMessage()


def test_error_counts_is_a_snapshot() -> None:
    bus = Bus()
    bus.subscribe(Click, lambda m: 1 / 0)
    logging.getLogger("adcore.bus").disabled = True
    try:
        bus.publish(clk())
        snapshot = bus.error_counts
        bus.publish(clk())
    finally:
        logging.getLogger("adcore.bus").disabled = False
    assert snapshot == {Click: 1}
    assert bus.error_counts == {Click: 2}


def test_base_exceptions_propagate() -> None:
    bus = Bus()
    after: list[object] = []

    def interrupt(m: object) -> None:
        raise KeyboardInterrupt

    bus.subscribe(Click, interrupt)
    bus.subscribe(Click, after.append)
    with pytest.raises(KeyboardInterrupt):
        bus.publish(clk())
    assert bus.error_count == 0


# ------------------------------------------------------------------ recording/replay

ids = st.text(min_size=0, max_size=12)
times = st.floats(allow_nan=False)  # any float but NaN (NaN != NaN), infinities included
values = st.floats(-1e9, 1e9)
events = st.one_of(
    st.builds(Impression, impression_id=ids, timestamp=times),
    st.builds(Click, impression_id=ids, timestamp=times),
    st.builds(Skip, impression_id=ids, timestamp=times, after=st.none() | times),
    st.builds(Conversion, impression_id=ids, timestamp=times, value=values),
)


class CountsPerImpression:
    """A state built by a subscriber: how many events of each kind per impression id."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.value = 0.0

    def on_event(self, m: Event) -> None:
        self.counts[(m.impression_id, type(m).__name__)] += 1
        if isinstance(m, Conversion):
            self.value += m.value


def wire(bus: Bus) -> tuple[list[object], list[object], CountsPerImpression]:
    everything: list[object] = []
    clicks: list[object] = []
    state = CountsPerImpression()
    bus.subscribe(Event, everything.append)
    bus.subscribe(Click, clicks.append)
    bus.subscribe(Event, state.on_event)
    return everything, clicks, state


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=40))
def test_replay_rebuilds_the_run(sent: list[Event]) -> None:
    source = Bus(record=True)
    everything, clicks, state = wire(source)
    for m in sent:
        source.publish(m)
    log = source.recording()

    target = Bus()
    everything2, clicks2, state2 = wire(target)
    assert target.replay(log) == len(sent)

    assert everything2 == everything == sent
    assert [type(m) for m in everything2] == [type(m) for m in sent]
    assert clicks2 == clicks
    assert state2.counts == state.counts
    assert state2.value == state.value
    assert target.published_count == source.published_count == len(sent)


plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "ç/€"]), plain_values), max_size=20))
def test_replay_of_plain_values_on_string_topics(sent: list[tuple[str, object]]) -> None:
    source = Bus(record=True)
    for topic, value in sent:
        source.publish(value, topic=topic)
    target = Bus()
    got: list[tuple[str, object]] = []
    for name in ("a", "b", "ç/€"):
        target.subscribe(name, lambda m, name=name: got.append((name, m)))
    target.replay(source.recording())
    assert got == sent


def test_struct_types_come_back_exactly() -> None:
    source = Bus(record=True)
    u = Untagged(name="n", values=[1, 2, 3])
    source.publish(u)
    source.publish(u, topic="named")
    source.publish(imp(), topic=Event)
    source.publish(PauseCampaign(by="ops", reason="r", timestamp=1.0, campaign_id="c"))

    target = Bus()
    got: list[tuple[str, object]] = []
    target.subscribe(Untagged, lambda m: got.append(("Untagged", m)))
    target.subscribe("named", lambda m: got.append(("named", m)))
    target.subscribe(Event, lambda m: got.append(("Event", m)))
    target.subscribe(Impression, lambda m: got.append(("Impression", m)))
    target.subscribe(Control, lambda m: got.append(("Control", m)))
    assert target.replay(source.recording()) == 4
    assert got == [
        ("Untagged", u),
        ("named", u),
        ("Event", imp()),  # recorded on the Event topic, so not delivered to Impression
        ("Control", PauseCampaign(by="ops", reason="r", timestamp=1.0, campaign_id="c")),
    ]
    assert type(got[1][1]) is Untagged


def make_local_struct() -> type[msgspec.Struct]:
    class Local(msgspec.Struct, frozen=True):
        x: int

    return Local


def test_replay_finds_loaded_classes_and_needs_ambiguous_ones_listed() -> None:
    first, second = make_local_struct(), make_local_struct()  # same module:qualname
    source = Bus(record=True)
    source.publish(first(x=1), topic="local")
    source.publish(Untagged(name="n", values=[]), topic="named")
    log = source.recording()

    target = Bus()
    got: list[object] = []
    target.subscribe("local", got.append)
    target.subscribe("named", got.append)
    with pytest.raises(
        RecordingError, match=r"make_local_struct.<locals>.Local .*several .*types="
    ):
        target.replay(log)
    assert got == [] and target.published_count == 0

    assert target.replay(log, types=[second]) == 2  # listing a class settles the name
    assert type(got[0]) is second and got[0] == second(x=1)
    assert type(got[1]) is Untagged  # found among the loaded Struct classes

    got.clear()
    typed = Bus()
    typed.subscribe(first, got.append)  # a subscribed topic also settles it
    typed.subscribe("local", got.append)
    typed.replay(log, types=[Untagged])
    assert [type(m) for m in got] == [first]

    with pytest.raises(TypeError, match="Struct classes"):
        target.replay(log, types=[dict])  # type: ignore[list-item]


def test_recording_an_unencodable_message_raises() -> None:
    bus = Bus(record=True)
    got: list[object] = []
    bus.subscribe("x", got.append)
    bus.subscribe(Opaque, got.append)
    bus.publish("fine", topic="x")
    with pytest.raises(RecordingError, match="cannot record object message on topic 'x'"):
        bus.publish(object(), topic="x")
    with pytest.raises(RecordingError, match="Opaque") as info:
        bus.publish(Opaque(payload=object()))  # Opaque first seen here: declaration undone
    assert isinstance(info.value.__cause__, TypeError)
    assert issubclass(RecordingError, ValueError)
    # not delivered, not counted, and the recording is still whole
    assert got == ["fine"]
    assert bus.published_count == 1
    bus.publish(Opaque(payload=[1, "two"]))
    target = Bus()
    again: list[object] = []
    target.subscribe("x", again.append)
    target.subscribe(Opaque, again.append)
    assert target.replay(bus.recording()) == 2
    assert again == ["fine", Opaque(payload=[1, "two"])]


def test_start_stop_recording() -> None:
    bus = Bus()
    assert not bus.is_recording
    bus.publish(clk("before"))
    bus.start_recording()
    assert bus.is_recording
    bus.publish(clk("during"))
    bus.stop_recording()
    assert not bus.is_recording
    bus.publish(clk("after"))
    log = bus.recording()

    got: list[object] = []
    target = Bus()
    target.subscribe(Click, got.append)
    target.replay(log)
    assert got == [clk("during")]

    bus.start_recording()  # a fresh recording
    bus.publish(imp("new"))
    got.clear()
    target2 = Bus()
    target2.subscribe(Event, got.append)
    target2.replay(bus.recording())
    assert got == [imp("new")]


def test_replay_into_a_recording_bus_records_again() -> None:
    source = Bus(record=True)
    for i in range(5):
        source.publish(imp(str(i)))
    middle = Bus(record=True)
    middle.replay(source.recording())
    target = Bus()
    got: list[object] = []
    target.subscribe(Impression, got.append)
    target.replay(middle.recording())
    assert got == [imp(str(i)) for i in range(5)]


def test_nothing_recorded_replays_nothing() -> None:
    log = Bus(record=True).recording()
    assert Bus().replay(log) == 0


def _frame(payload: bytes) -> bytes:
    return struct.pack("<I", len(payload)) + payload


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda log: b"garbage!" + log[8:], "not an adcore bus recording"),
        (lambda log: log[:-3], "truncated recording"),
        (lambda log: log + b"\x01\x00", "truncated recording: frame header"),
        (lambda log: log + _frame(b"\xc1"), "corrupt recording"),
        (lambda log: log + _frame(msgspec.msgpack.encode([7, 1, 2])), "corrupt recording"),
        (lambda log: log + _frame(msgspec.msgpack.encode([1, 99, None, 1])), "corrupt"),
        (lambda log: log + _frame(msgspec.msgpack.encode([1, "t", 42, 1])), "corrupt"),
        (lambda log: log + _frame(msgspec.msgpack.encode([0, 5, "nowhere:Nothing"])), "types="),
    ],
)
def test_corrupt_recordings_publish_nothing(mutate: Any, pattern: str) -> None:
    source = Bus(record=True)
    source.publish(imp())
    source.publish(clk())
    log = mutate(source.recording())
    target = Bus()
    got: list[object] = []
    target.subscribe(Event, got.append)
    with pytest.raises(RecordingError, match=pattern):
        target.replay(log)
    assert got == [] and target.published_count == 0


def test_recorded_payload_is_validated_on_replay() -> None:
    header = Bus(record=True).recording()
    declare = msgspec.msgpack.encode([0, 0, "adcore.events:Impression"])
    wrong = {"type": "Impression", "impression_id": 5, "timestamp": 1.0}
    log = header + _frame(declare) + _frame(msgspec.msgpack.encode([1, 0, 0, wrong]))
    target = Bus()
    got: list[object] = []
    target.subscribe(Event, got.append)
    with pytest.raises(RecordingError, match=r"Expected `str`, got `int` - at `\$.impression_id`"):
        target.replay(log)
    right = dict(wrong, impression_id="a")
    log = header + _frame(declare) + _frame(msgspec.msgpack.encode([1, 0, 0, right]))
    assert target.replay(log) == 1
    assert got == [imp("a")]


# -------------------------------------------------------------------------- threads


@contextlib.contextmanager
def fast_thread_switching() -> Iterator[None]:
    """Make CPython switch threads every 10 us instead of 5 ms, so that threads interleave
    thousands of times within a test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_threads_publish_while_others_subscribe() -> None:
    n_publishers, per_thread = 4, 20000
    bus = Bus()
    stable: list[object] = []  # list.append is atomic under the GIL
    bus.subscribe(Event, stable.append)
    transient: list[list[object]] = [[], []]
    errors: list[BaseException] = []
    stop = threading.Event()

    def publisher(k: int) -> None:
        try:
            for i in range(per_thread):
                bus.publish(clk(f"{k}:{i}") if i % 2 else imp(f"{k}:{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def churn(handler: Any) -> None:
        try:
            while not stop.is_set():
                bus.subscribe(Event, handler)
                bus.subscribe("side", handler)
                bus.unsubscribe(Event, handler)
                bus.unsubscribe("side", handler)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    churners = [threading.Thread(target=churn, args=(t.append,)) for t in transient]
    publishers = [threading.Thread(target=publisher, args=(k,)) for k in range(n_publishers)]
    with fast_thread_switching():
        for t in churners + publishers:
            t.start()
        for t in publishers:
            t.join()
        stop.set()
        for t in churners:
            t.join()

    total = n_publishers * per_thread
    assert errors == []
    assert bus.error_count == 0
    assert bus.published_count == total
    assert len(stable) == total
    # each thread's own messages arrive in the order it published them
    for k in range(n_publishers):
        mine = [m.impression_id for m in stable if m.impression_id.startswith(f"{k}:")]  # type: ignore[attr-defined]
        assert mine == [f"{k}:{i}" for i in range(per_thread)]
    assert all(len(t) <= total for t in transient)
    assert sum(len(t) for t in transient) > 0  # the churn really overlapped the publishing
    assert bus.subscribers(Impression) == (stable.append,)
    assert bus.subscribers("side") == ()


def test_threads_recording_keeps_every_message_whole() -> None:
    n_publishers, per_thread = 4, 5000
    bus = Bus(record=True)
    barrier = threading.Barrier(n_publishers)

    def publisher(k: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            bus.publish(Conversion(impression_id=f"{k}:{i}", timestamp=float(i), value=1.0))

    threads = [threading.Thread(target=publisher, args=(k,)) for k in range(n_publishers)]
    with fast_thread_switching():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    target = Bus()
    got: list[Conversion] = []
    target.subscribe(Conversion, got.append)
    assert target.replay(bus.recording()) == n_publishers * per_thread
    assert sorted(m.impression_id for m in got) == sorted(
        f"{k}:{i}" for k in range(n_publishers) for i in range(per_thread)
    )


# ---------------------------------------------------------------------- docs/doctest


def test_docstring_examples() -> None:
    result = doctest.testmod(adcore.bus, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0


def test_user_doc_examples() -> None:
    result = doctest.testfile(str(DOCS), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0
