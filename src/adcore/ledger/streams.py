"""Feedback events across processes through Redis Streams.

Ad servers publish the feedback they receive (impressions, clicks, skips, completions,
conversions) and the engine's joined :class:`~adcore.events.Outcome` and
:class:`~adcore.events.SpendCharged` messages to a stream with :class:`FeedbackPublisher`;
a learner process reads them with :class:`FeedbackConsumer` through a consumer group, so
several learners share the work and a message is redelivered until it is acknowledged.

Each stream entry has one field, ``e``: the event encoded with msgpack by msgspec, tagged
by class name, so a mixed stream decodes to the right types with one reused decoder.

Needs the ``redis`` extra (``redis>=5``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from ..events import Click, Complete, Conversion, Impression, Outcome, Skip, SpendCharged

__all__ = ["FeedbackConsumer", "FeedbackPublisher", "StreamEvent"]

StreamEvent = Impression | Click | Skip | Complete | Conversion | Outcome | SpendCharged
"""Anything a feedback stream carries."""

_FIELD = b"e"


def _client(client_or_url: Any) -> Any:
    if isinstance(client_or_url, str):
        import redis

        return redis.Redis.from_url(client_or_url)
    return client_or_url


class FeedbackPublisher:
    """Appends events to a Redis stream (``XADD``).

    Parameters
    ----------
    client_or_url : redis.Redis or str
        A ``redis.Redis`` client (``decode_responses=False``) or a URL for one.
    stream : str
        The stream's key.
    maxlen : int or None
        Trim the stream to about this many entries (``MAXLEN ~``); None keeps everything.
    """

    def __init__(
        self, client_or_url: Any, *, stream: str = "adcore:feedback", maxlen: int | None = None
    ) -> None:
        self._owns_client = isinstance(client_or_url, str)
        self.client = _client(client_or_url)
        self.stream = stream
        self.maxlen = maxlen
        self._encoder = msgspec.msgpack.Encoder()

    def publish(self, event: StreamEvent) -> str:
        """Append one event; returns its stream id."""
        raw = self.client.xadd(
            self.stream,
            {_FIELD: self._encoder.encode(event)},
            maxlen=self.maxlen,
            approximate=True,
        )
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def publish_many(self, events: Iterable[StreamEvent]) -> list[str]:
        """Append several events in one round trip; returns their stream ids in order."""
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            pipe.xadd(
                self.stream,
                {_FIELD: self._encoder.encode(event)},
                maxlen=self.maxlen,
                approximate=True,
            )
        return [r.decode() if isinstance(r, bytes) else str(r) for r in pipe.execute()]

    def close(self) -> None:
        """Close the client if it was built from a URL (one passed in is left open)."""
        if self._owns_client:
            self.client.close()


class FeedbackConsumer:
    """Reads events of a stream as one consumer of a consumer group (``XREADGROUP``).

    The group is created (with the stream) if missing, starting at ``start``. Messages
    read but not acknowledged stay pending for this consumer; :meth:`read` returns them
    first (so a restarted consumer with the same name sees them again), then new ones.

    Parameters
    ----------
    client_or_url : redis.Redis or str
    stream : str
    group : str
        Consumers of one group share the stream: each message goes to one of them.
    consumer : str
        This consumer's name within the group.
    start : str
        Where a new group starts: ``"0"`` (the whole stream) or ``"$"`` (new messages).
    """

    def __init__(
        self,
        client_or_url: Any,
        *,
        stream: str = "adcore:feedback",
        group: str = "learners",
        consumer: str = "learner-0",
        start: str = "0",
    ) -> None:
        import redis

        self._owns_client = isinstance(client_or_url, str)
        self.client = _client(client_or_url)
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.start = start
        self._decoder = msgspec.msgpack.Decoder(StreamEvent)
        self._backlog = True
        try:
            self.client.xgroup_create(stream, group, id=start, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, count: int = 100, block_ms: int | None = None) -> list[tuple[str, StreamEvent]]:
        """Up to ``count`` ``(message_id, event)`` pairs: this consumer's pending
        messages first, then new ones, waiting up to ``block_ms`` for new ones (None:
        do not wait). Raises ``msgspec.ValidationError`` on an entry that is not a
        stream event."""
        if self._backlog:
            out = self._read("0", count, None)
            if out:
                return out
            self._backlog = False
        return self._read(">", count, block_ms)

    def _read(self, start: str, count: int, block_ms: int | None) -> list[tuple[str, StreamEvent]]:
        reply = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=count, block=block_ms
        )
        out: list[tuple[str, StreamEvent]] = []
        for _, entries in reply or ():
            for mid, fields in entries:
                if not fields:  # deleted while pending
                    continue
                key = mid.decode() if isinstance(mid, bytes) else str(mid)
                out.append((key, self._decoder.decode(fields[_FIELD])))
        return out

    def ack(self, message_ids: Sequence[str]) -> int:
        """Acknowledge processed messages; returns how many were pending."""
        if not message_ids:
            return 0
        return int(self.client.xack(self.stream, self.group, *message_ids))

    def close(self) -> None:
        """Close the client if it was built from a URL (one passed in is left open)."""
        if self._owns_client:
            self.client.close()
