"""The in-process publish/subscribe bus the agents talk through.

A :class:`Bus` delivers each published message synchronously, by reference, to the
handlers subscribed to its topic, in the order they subscribed. A topic is either a
msgspec Struct class (the message's type, the default) or a string. A handler subscribed
to a Struct base class, such as :class:`adcore.events.Event`, receives every message of a
subclass. _Handler lists are resolved once per topic and cached as tuples, so a publish is
one dict lookup and a loop: no copy, no serialisation, no lock.

A bus can record every message it publishes (msgpack, into one growing buffer) and replay
such a recording into another bus, so a run can be rebuilt exactly.

Examples
--------
>>> from adcore.bus import Bus
>>> from adcore.events import Click, Event, Impression
>>> bus = Bus()
>>> seen = []
>>> bus.subscribe(Event, seen.append)
>>> bus.publish(Impression(impression_id="r1:1:0", timestamp=1.0))
>>> bus.publish(Click(impression_id="r1:1:0", timestamp=2.0))
>>> [type(m).__name__ for m in seen]
['Impression', 'Click']
"""

from __future__ import annotations

import itertools
import logging
import struct
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar, cast, overload

import msgspec

from adcore.errors import AdcoreError

__all__ = ["Bus", "NotSubscribed", "RecordingError"]

_log = logging.getLogger("adcore.bus")

_S = TypeVar("_S", bound=msgspec.Struct)

_Topic = type[msgspec.Struct] | str
"""What a handler subscribes to: a Struct class (its subclasses included) or a name."""

_Handler = Callable[[Any], object]
"""A callable that takes one message; its return value is ignored."""

_MAGIC: Final = b"adcbus\x00\x01"
"""First bytes of every recording: format name and version."""

_LENGTH = struct.Struct("<I")
"""Each frame of a recording is a little-endian uint32 length, then that many bytes."""

_DECLARE: Final = 0
_MESSAGE: Final = 1


class NotSubscribed(AdcoreError, ValueError):
    """:meth:`Bus.unsubscribe` was asked to remove a handler that is not subscribed to
    that topic."""


class RecordingError(AdcoreError, ValueError):
    """A message cannot be recorded (msgspec cannot encode it), or a recording cannot be
    replayed (it is not a recording, is corrupt, or names a Struct class that cannot be
    found)."""


class _Declare(msgspec.Struct, frozen=True, array_like=True, tag=_DECLARE):
    """Recording frame: from here on, ``type_id`` stands for the Struct class ``name``."""

    type_id: int
    name: str


class _Message(msgspec.Struct, frozen=True, array_like=True, tag=_MESSAGE):
    """Recording frame: ``payload`` was published on ``topic`` (a name, or the type id of
    a Struct topic); ``type_id`` is the message's Struct type, ``None`` for a plain value."""

    topic: int | str
    type_id: int | None
    payload: msgspec.Raw


_frame_decoder: Final = msgspec.msgpack.Decoder(_Declare | _Message)
_value_decoder: Final = msgspec.msgpack.Decoder()


def _type_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _topic_name(topic: object) -> str:
    return _type_name(topic) if isinstance(topic, type) else repr(topic)


def _check_topic(topic: object) -> None:
    if isinstance(topic, str):
        return
    if isinstance(topic, type) and issubclass(topic, msgspec.Struct):
        return
    if isinstance(topic, type):
        raise TypeError(
            f"topic {_type_name(topic)} is not a msgspec Struct class; publish values of "
            "other types with an explicit string topic: bus.publish(value, topic='name')"
        )
    raise TypeError(f"a topic is a msgspec Struct class or a str, not {topic!r}")


def _subclasses(cls: type) -> Iterable[type]:
    stack = [cls]
    while stack:
        c = stack.pop()
        yield c
        stack.extend(c.__subclasses__())


def _unrecordable(message: object, topic: object, exc: Exception) -> RecordingError:
    return RecordingError(
        f"cannot record {type(message).__name__} message on topic {_topic_name(topic)}: "
        f"{exc} (only msgspec-encodable messages can be recorded)"
    )


class _Recorder:
    """One recording: the log being written and the Struct classes declared in it."""

    __slots__ = ("buffer", "encoder", "lock", "type_ids")

    def __init__(self) -> None:
        self.buffer = bytearray(_MAGIC)
        self.encoder = msgspec.msgpack.Encoder()
        # class -> its type id in this log; None for a class that is not a Struct
        self.type_ids: dict[object, int | None] = {}
        # keeps each frame whole when several threads publish; acquire/release is cheaper
        # than `with` on this path
        self.lock = threading.Lock()

    def record(self, message: object, topic: object) -> None:
        """Append one message frame (after the declarations of classes first seen)."""
        lock = self.lock
        lock.acquire()
        try:
            ids = self.type_ids
            topic_code = topic if topic.__class__ is str else ids.get(topic, -1)
            type_code = ids.get(message.__class__, -1)
            if topic_code == -1 or type_code == -1:
                self._record_declaring(message, topic)
                return
            buf = self.buffer
            start = len(buf)
            buf += b"\0\0\0\0"
            try:
                self.encoder.encode_into((_MESSAGE, topic_code, type_code, message), buf, -1)
            except Exception as exc:
                del buf[start:]
                raise _unrecordable(message, topic, exc) from exc
            _LENGTH.pack_into(buf, start, len(buf) - start - 4)
        finally:
            lock.release()

    def _record_declaring(self, message: object, topic: object) -> None:
        """:meth:`record` for a message whose class or topic class is new (lock held)."""
        ids = self.type_ids
        buf = self.buffer
        start = len(buf)
        new: list[type] = []
        topic_code = topic if isinstance(topic, str) else self._declare(cast(type, topic), new)
        type_code = self._declare(type(message), new)
        frame = len(buf)
        buf += b"\0\0\0\0"
        try:
            self.encoder.encode_into((_MESSAGE, topic_code, type_code, message), buf, -1)
        except Exception as exc:
            del buf[start:]  # with the declarations of the classes first seen here
            for cls in new:
                del ids[cls]
            raise _unrecordable(message, topic, exc) from exc
        _LENGTH.pack_into(buf, frame, len(buf) - frame - 4)

    def _declare(self, cls: type, new: list[type]) -> int | None:
        """The type id of ``cls``, declared in the log on first sight (lock held)."""
        ids = self.type_ids
        if cls in ids:
            return ids[cls]
        # len(ids) is unique: entries are only ever removed newest-first (see record)
        code = ids[cls] = len(ids) if issubclass(cls, msgspec.Struct) else None
        new.append(cls)
        if code is not None:
            buf = self.buffer
            start = len(buf)
            buf += b"\0\0\0\0"
            self.encoder.encode_into((_DECLARE, code, _type_name(cls)), buf, -1)
            _LENGTH.pack_into(buf, start, len(buf) - start - 4)
        return code

    def log(self) -> bytes:
        self.lock.acquire()
        try:
            return bytes(self.buffer)
        finally:
            self.lock.release()


class Bus:
    """An in-process, synchronous publish/subscribe bus.

    Parameters
    ----------
    record : bool, default False
        Start recording at once (see :meth:`start_recording`).

    Notes
    -----
    *Delivery.* :meth:`publish` calls each handler of the message's topic in the calling
    thread, in subscription order, with the very object that was published (handlers must
    not mutate it; adcore's messages are frozen Structs). Handlers subscribed to a Struct
    class also receive its subclasses; a message reaching one handler through several
    topics (``Event`` and ``Impression``) is delivered once per subscription, still in
    subscription order. A handler that publishes is served depth-first. The bus holds
    strong references to handlers.

    *Errors.* A handler that raises (any :class:`Exception`) does not stop delivery: the
    error is counted (:attr:`error_count`, :attr:`error_counts`), logged on the
    ``"adcore.bus"`` logger with its traceback, handler and topic, and the remaining
    handlers still receive the message. :class:`BaseException` s such as
    :class:`KeyboardInterrupt` propagate.

    *Threads.* :meth:`subscribe` and :meth:`unsubscribe` may be called from any thread
    while others publish: they replace handler tuples and the route table atomically
    under a lock, and :meth:`publish` takes no lock (except while recording). A change
    takes effect from the next publish; a delivery already under way completes with the
    handlers it started with. :attr:`published_count` advances with one C call (``next``
    on an :func:`itertools.count`) and error counts under the lock, so both stay exact
    with several publishing threads under CPython's GIL. While recording, a second lock
    keeps each recorded frame whole.

    *Recording.* While recording, every published message is msgpack-encoded with its
    topic into one growing buffer (:meth:`recording`); :meth:`replay` publishes a
    recording again. Struct messages come back as the same Struct type (tagged or not);
    other values (on string topics) come back as their msgpack equivalents (a tuple as a
    list, a nested Struct inside a dict as a dict), so exact replays want Struct messages.
    Only what msgspec can encode can be recorded; anything else raises
    :class:`RecordingError` and is not delivered.

    Examples
    --------
    >>> from adcore.events import Click, Impression
    >>> bus = Bus()
    >>> bus.subscribe(Click, lambda m: print("click", m.impression_id))
    >>> bus.subscribe("alerts", print)
    >>> bus.publish(Click(impression_id="r1:1:0", timestamp=2.0))
    click r1:1:0
    >>> bus.publish(Impression(impression_id="r1:1:0", timestamp=1.0))  # no subscriber
    >>> bus.publish("budget low", topic="alerts")
    budget low
    >>> bus.published_count
    3
    """

    __slots__ = (
        "__weakref__",
        "_error_count",
        "_errors_by_topic",
        "_last_recorder",
        "_lock",
        "_published",
        "_recorder",
        "_routes",
        "_seq",
        "_subs",
    )

    def __init__(self, *, record: bool = False) -> None:
        self._lock = threading.Lock()
        # topic -> ((sequence number, handler), ...) as subscribed; replaced, never mutated
        self._subs: dict[object, tuple[tuple[int, _Handler], ...]] = {}
        # topic -> handlers a publish on it calls. String topics are filled eagerly; Struct
        # classes lazily, once per concrete class, through the MRO. Replaced on every
        # subscription change; only ever extended (under the lock) in between.
        self._routes: dict[object, tuple[_Handler, ...]] = {}
        self._seq = itertools.count()
        self._published = itertools.count()
        self._error_count = 0
        self._errors_by_topic: dict[_Topic, int] = {}
        self._recorder: _Recorder | None = None  # the active recording, if any
        self._last_recorder = _Recorder()  # the latest recording, active or stopped
        if record:
            self.start_recording()

    # ------------------------------------------------------------------ subscriptions

    @overload
    def subscribe(self, topic: type[_S], handler: Callable[[_S], object]) -> None: ...
    @overload
    def subscribe(self, topic: str, handler: _Handler) -> None: ...
    def subscribe(self, topic: _Topic, handler: _Handler) -> None:
        """Call ``handler(message)`` for every message published on ``topic``.

        Parameters
        ----------
        topic : type[msgspec.Struct] or str
            A Struct class (messages of that class and of its subclasses) or a name.
        handler : callable
            Called with each message; its return value is ignored.

        Raises
        ------
        TypeError
            If ``topic`` is neither a Struct class nor a str, or ``handler`` is not
            callable.
        ValueError
            If ``handler`` is already subscribed to ``topic`` (compared with ``==``, so
            the same bound method fetched twice counts as one).

        Examples
        --------
        >>> from adcore.events import Event, Impression
        >>> bus = Bus()
        >>> bus.subscribe(Event, lambda m: print("any event"))
        >>> bus.subscribe(Impression, lambda m: print("impression"))
        >>> bus.publish(Impression(impression_id="a", timestamp=0.0))
        any event
        impression
        """
        _check_topic(topic)
        if not callable(handler):
            raise TypeError(f"handler must be callable, not {handler!r}")
        with self._lock:
            current = self._subs.get(topic, ())
            if any(h == handler for _, h in current):
                raise ValueError(f"{handler!r} is already subscribed to {_topic_name(topic)}")
            subs = dict(self._subs)
            subs[topic] = (*current, (next(self._seq), handler))
            self._install(subs)

    @overload
    def unsubscribe(self, topic: type[_S], handler: Callable[[_S], object]) -> None: ...
    @overload
    def unsubscribe(self, topic: str, handler: _Handler) -> None: ...
    def unsubscribe(self, topic: _Topic, handler: _Handler) -> None:
        """Stop calling ``handler`` for ``topic``.

        Only the subscription to exactly ``topic`` is removed: a handler subscribed to
        ``Event`` is not unsubscribed by ``unsubscribe(Impression, handler)``.

        Raises
        ------
        NotSubscribed
            (a :class:`ValueError`) if ``handler`` is not subscribed to ``topic``.

        Examples
        --------
        >>> from adcore.events import Click
        >>> bus = Bus()
        >>> bus.subscribe(Click, print)
        >>> bus.unsubscribe(Click, print)
        >>> bus.subscribers(Click)
        ()
        >>> try:
        ...     bus.unsubscribe(Click, print)
        ... except NotSubscribed as exc:
        ...     print(exc)
        <built-in function print> is not subscribed to adcore.events:Click
        """
        with self._lock:
            current = self._subs.get(topic, ())
            kept = tuple(s for s in current if s[1] != handler)
            if len(kept) == len(current):
                raise NotSubscribed(f"{handler!r} is not subscribed to {_topic_name(topic)}")
            subs = dict(self._subs)
            if kept:
                subs[topic] = kept
            else:
                del subs[topic]
            self._install(subs)

    def _install(self, subs: dict[object, tuple[tuple[int, _Handler], ...]]) -> None:
        # Caller holds the lock. Subscriptions first, then the routes that derive from them.
        self._subs = subs
        self._routes = {
            t: tuple(h for _, h in entries) for t, entries in subs.items() if isinstance(t, str)
        }

    def _resolve(self, topic: object) -> tuple[_Handler, ...]:
        """The handlers for ``topic`` on a route-cache miss (the slow path of publish)."""
        if isinstance(topic, str):
            return ()  # every subscribed name is in the routes; this one has no handlers
        _check_topic(topic)
        assert isinstance(topic, type)
        with self._lock:
            subs = self._subs
            entries = [e for base in topic.__mro__ for e in subs.get(base, ())]
            entries.sort(key=lambda e: e[0])
            handlers = tuple(h for _, h in entries)
            self._routes[topic] = handlers
        return handlers

    def subscribers(self, topic: _Topic) -> tuple[_Handler, ...]:
        """The handlers a publish on ``topic`` calls, in delivery order.

        For a Struct class this includes the handlers subscribed to its base classes.

        Examples
        --------
        >>> from adcore.events import Event, Impression
        >>> bus = Bus()
        >>> bus.subscribe(Event, print)
        >>> bus.subscribers(Impression) == (print,)
        True
        >>> bus.subscribers("nobody")
        ()
        """
        handlers = self._routes.get(topic)
        return self._resolve(topic) if handlers is None else handlers

    # ------------------------------------------------------------------------ publish

    def publish(self, message: object, topic: _Topic | None = None) -> None:
        """Deliver ``message`` to every handler of ``topic``, now, in subscription order.

        Parameters
        ----------
        message : object
            Passed by reference to each handler.
        topic : type[msgspec.Struct] or str, optional
            Defaults to ``type(message)``, which must then be a Struct class.

        Raises
        ------
        TypeError
            If the topic is neither a Struct class nor a str.
        RecordingError
            While recording, if msgspec cannot encode ``message``; it is then not
            delivered.

        Examples
        --------
        >>> from adcore.events import Click
        >>> bus = Bus()
        >>> bus.subscribe("clicks", lambda m: print(m.timestamp))
        >>> bus.publish(Click(impression_id="a", timestamp=3.5), topic="clicks")
        3.5
        """
        key: object = type(message) if topic is None else topic
        try:
            handlers = self._routes[key]
        except KeyError:
            handlers = self._resolve(key)
        recorder = self._recorder
        if recorder is not None:
            recorder.record(message, key)
        next(self._published)  # one C call: atomic under the GIL, unlike `+= 1`
        for handler in handlers:
            try:
                handler(message)
            except Exception as exc:  # isolating handlers is the contract
                self._failed(handler, key, exc)

    def _failed(self, handler: _Handler, topic: object, exc: Exception) -> None:
        with self._lock:
            self._error_count += 1
            errors = dict(self._errors_by_topic)
            key = cast(_Topic, topic)  # publish checked it
            errors[key] = errors.get(key, 0) + 1
            self._errors_by_topic = errors
        _log.error(
            "handler %r raised on topic %s: %s", handler, _topic_name(topic), exc, exc_info=exc
        )

    @property
    def published_count(self) -> int:
        """How many messages were published (each counted once, however many handlers)."""
        # repr is "count(N)": the only way to read an itertools.count without advancing it.
        return int(repr(self._published)[6:-1])

    @property
    def error_count(self) -> int:
        """How many handler calls raised."""
        return self._error_count

    @property
    def error_counts(self) -> Mapping[_Topic, int]:
        """How many handler calls raised, per topic published on (a snapshot).

        Examples
        --------
        >>> from adcore.events import Click
        >>> bus = Bus()
        >>> bus.subscribe(Click, lambda m: 1 / 0)
        >>> bus.publish(Click(impression_id="a", timestamp=0.0))
        >>> bus.error_count, dict(bus.error_counts) == {Click: 1}
        (1, True)
        """
        return dict(self._errors_by_topic)

    # ---------------------------------------------------------------------- recording

    @property
    def is_recording(self) -> bool:
        """Whether published messages are being recorded."""
        return self._recorder is not None

    def start_recording(self) -> None:
        """Discard any previous recording and record every message published from now on.

        Examples
        --------
        >>> from adcore.events import Click
        >>> bus = Bus()
        >>> bus.start_recording()
        >>> bus.publish(Click(impression_id="a", timestamp=1.0))
        >>> bus.stop_recording()
        >>> bus.publish(Click(impression_id="b", timestamp=2.0))  # not recorded
        >>> seen = []
        >>> other = Bus()
        >>> other.subscribe(Click, seen.append)
        >>> other.replay(bus.recording())
        1
        >>> seen
        [Click(impression_id='a', timestamp=1.0)]
        """
        recorder = _Recorder()
        self._last_recorder = recorder
        self._recorder = recorder

    def stop_recording(self) -> None:
        """Stop recording; the recording so far stays available from :meth:`recording`."""
        self._recorder = None

    def recording(self) -> bytes:
        """The recording so far, as bytes that :meth:`replay` accepts.

        The format is a magic header, then frames, each a little-endian ``uint32`` length
        and a msgpack array: ``[0, type_id, "module:qualname"]`` declares a Struct
        class before its first use, ``[1, topic, type_id or nil, message]`` is one
        published message (``topic`` a name, or the type id of a Struct topic).
        """
        return self._last_recorder.log()

    # ------------------------------------------------------------------------- replay

    def replay(self, log: bytes, types: Iterable[type[msgspec.Struct]] = ()) -> int:
        """Publish every message of a recording again, in order, on this bus.

        The whole recording is decoded (and validated) before the first message is
        published, so a corrupt recording publishes nothing. Messages then go through
        :meth:`publish`: counters, error isolation and recording apply as usual.

        Parameters
        ----------
        log : bytes
            What :meth:`recording` returned.
        types : iterable of Struct classes, optional
            Where the recording names a Struct class by ``module:qualname``, the class is
            taken from this list first, then from the subclasses of this bus's Struct
            topics, then from every Struct class loaded in the process (nothing is
            imported). List a class whose module is not imported yet, or whose name is
            ambiguous (two local classes of the same name).

        Returns
        -------
        int
            How many messages were published.

        Raises
        ------
        RecordingError
            If ``log`` is not a recording, is corrupt (including a message that does not
            validate against its Struct class), or names a Struct class that cannot be
            found.

        Examples
        --------
        >>> from adcore.events import Event, Impression
        >>> source = Bus(record=True)
        >>> source.publish(Impression(impression_id="a", timestamp=1.0))
        >>> source.publish({"note": "hi"}, topic="notes")
        >>> target = Bus()
        >>> target.subscribe(Event, print)
        >>> target.subscribe("notes", print)
        >>> target.replay(source.recording())
        Impression(impression_id='a', timestamp=1.0)
        {'note': 'hi'}
        2
        """
        messages = self._decode(log, types)
        for message, topic in messages:
            self.publish(message, topic)
        return len(messages)

    def _known_types(self, types: Iterable[type[msgspec.Struct]]) -> dict[str, type | None]:
        """Struct classes by qualified name, ``None`` for an ambiguous name. Listed types
        win, then subclasses of this bus's Struct topics, then any loaded Struct class."""
        known: dict[str, type | None] = {}
        for cls in _subclasses(msgspec.Struct):
            name = _type_name(cls)
            known[name] = cls if known.get(name, cls) is cls else None
        for topic in self._subs:
            if isinstance(topic, type):
                for cls in _subclasses(topic):
                    known[_type_name(cls)] = cls
        for cls in types:
            if not (isinstance(cls, type) and issubclass(cls, msgspec.Struct)):
                raise TypeError(f"types must be msgspec Struct classes, not {cls!r}")
            known[_type_name(cls)] = cls
        return known

    def _decode(
        self, log: bytes, types: Iterable[type[msgspec.Struct]]
    ) -> list[tuple[object, _Topic]]:
        view = memoryview(log)
        if bytes(view[: len(_MAGIC)]) != _MAGIC:
            raise RecordingError("not an adcore bus recording (bad header)")
        known: dict[str, type | None] | None = None
        classes: dict[int, type] = {}
        decoders: dict[int, msgspec.msgpack.Decoder[Any]] = {}
        out: list[tuple[object, _Topic]] = []
        pos, end = len(_MAGIC), len(view)
        while pos < end:
            if pos + 4 > end:
                raise RecordingError(f"truncated recording: frame header at byte {pos}")
            (size,) = _LENGTH.unpack_from(view, pos)
            body = view[pos + 4 : pos + 4 + size]
            if len(body) != size:
                raise RecordingError(f"truncated recording: frame at byte {pos}")
            try:
                frame = _frame_decoder.decode(body)
                if isinstance(frame, _Declare):
                    if known is None:
                        known = self._known_types(types)
                    cls = known.get(frame.name)
                    if cls is None:
                        problem = (
                            "several loaded classes have"
                            if frame.name in known
                            else "no loaded class has"
                        )
                        raise RecordingError(
                            f"the recording holds {frame.name} messages, but {problem} that "
                            "name; pass the class in replay(log, types=[...])"
                        )
                    classes[frame.type_id] = cls
                    decoders[frame.type_id] = msgspec.msgpack.Decoder(cls)
                    pos += 4 + size
                    continue
                topic: _Topic = (
                    frame.topic if isinstance(frame.topic, str) else classes[frame.topic]
                )
                if frame.type_id is None:
                    message = _value_decoder.decode(frame.payload)
                else:
                    message = decoders[frame.type_id].decode(frame.payload)
            except (msgspec.DecodeError, KeyError) as exc:
                raise RecordingError(f"corrupt recording at byte {pos}: {exc}") from exc
            out.append((message, topic))
            pos += 4 + size
        return out

    def __repr__(self) -> str:
        n = sum(len(v) for v in self._subs.values())
        return (
            f"<Bus: {n} subscriptions on {len(self._subs)} topics, "
            f"{self.published_count} published, {self._error_count} errors"
            f"{', recording' if self._recorder is not None else ''}>"
        )
