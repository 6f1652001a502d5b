"""Publish -> deliver: adcore's Bus against a bare Python callback loop and blinker.

Each benchmark round publishes ``N_MESSAGES`` messages, so the timer's own overhead is
negligible; divide the printed medians by ``N_MESSAGES`` for the time per publish. The
handlers do the least a real handler does (append to a list, cleared each round), the
same for every contender. The plain loop is the floor: what any bus costs on top of
calling the handlers. Handlers are subscribed to ``Event``, the base class, while
``Impression`` messages are published, so the bus also pays for base-class routing
(resolved once and cached).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import blinker
import pytest

from adcore.bus import Bus
from adcore.events import Event, Impression

N_MESSAGES = 1000

MESSAGES = [Impression(impression_id=f"r{i}:1:0", timestamp=float(i)) for i in range(N_MESSAGES)]


def make_handlers(n: int) -> tuple[list[list[object]], list[Callable[[object], None]]]:
    sinks: list[list[object]] = [[] for _ in range(n)]
    return sinks, [sink.append for sink in sinks]


def adcore_publisher(handlers: list[Callable[[object], None]]) -> Callable[[], None]:
    bus = Bus()
    for h in handlers:
        bus.subscribe(Event, h)
    publish = bus.publish

    def run() -> None:
        for m in MESSAGES:
            publish(m)

    return run


def plain_loop_publisher(handlers: list[Callable[[object], None]]) -> Callable[[], None]:
    """The floor: a tuple of callbacks, called in a loop; no routing at all."""
    fixed = tuple(handlers)

    def run() -> None:
        for m in MESSAGES:
            for h in fixed:
                h(m)

    return run


def dict_dispatch_publisher(handlers: list[Callable[[object], None]]) -> Callable[[], None]:
    """The simplest typed bus: one dict lookup by exact type, then the loop."""
    registry = {Impression: tuple(handlers)}

    def run() -> None:
        for m in MESSAGES:
            for h in registry[type(m)]:
                h(m)

    return run


def blinker_publisher(handlers: list[Callable[[object], None]]) -> Callable[[], None]:
    signal = blinker.Signal()
    receivers = [lambda sender, h=h: h(sender) for h in handlers]  # blinker passes sender
    for r in receivers:
        signal.connect(r, weak=False)
    send = signal.send

    def run() -> None:
        for m in MESSAGES:
            send(m)

    return run


CONTENDERS = {
    "adcore": adcore_publisher,
    "plain-loop": plain_loop_publisher,
    "plain-dict-dispatch": dict_dispatch_publisher,
    "blinker": blinker_publisher,
}


@pytest.mark.parametrize("n_subscribers", [1, 10])
@pytest.mark.parametrize("name", list(CONTENDERS))
def test_publish(timed: Any, name: str, n_subscribers: int) -> None:
    sinks, handlers = make_handlers(n_subscribers)
    publish_all = CONTENDERS[name](handlers)

    def round_() -> None:
        for sink in sinks:
            sink.clear()
        publish_all()

    round_()  # warm up: route caches, specialisation
    assert all(sink == MESSAGES for sink in sinks)  # every contender delivers everything
    label = "1 subscriber" if n_subscribers == 1 else f"{n_subscribers} subscribers"
    timed(f"bus publish {label} (x{N_MESSAGES})", name, round_)
    assert all(len(sink) == N_MESSAGES for sink in sinks)


@pytest.mark.parametrize("recording", [True, False], ids=["adcore", "not-recording"])
def test_publish_while_recording(timed: Any, recording: bool) -> None:
    """The cost of recording (one msgpack encode into the shared buffer per publish),
    reported against the same bus not recording: a ratio below 1 is that cost."""
    sink: list[object] = []
    bus = Bus()
    bus.subscribe(Event, sink.append)
    publish = bus.publish

    def round_() -> None:
        sink.clear()
        if recording:
            bus.start_recording()  # a fresh log each round: the buffer must not grow forever
        for m in MESSAGES:
            publish(m)

    round_()
    if recording:
        assert Bus().replay(bus.recording()) == N_MESSAGES
    name = "adcore" if recording else "not-recording"
    timed(f"bus publish 1 subscriber recording (x{N_MESSAGES})", name, round_)
