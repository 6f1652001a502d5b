"""The book of won impressions awaiting feedback, kept in arrays.

Every ad the engine sells is remembered until its impression, click or completion is
reported, so that spend is charged once per impression id and outcomes join their
decision. An engine in front of an exchange remembers a million of them; kept as one
Python object each they cost over half a KiB apiece and every full garbage collection
walks them all (tens of milliseconds, on whichever request triggers it). Here a record is
a row of a ring of NumPy arrays (no object the collector tracks), and the only
per-record Python objects are the impression id and its entry in the index.

Records are kept in the order they were written, in chunks of up to 65,536 rows that
are allocated as the book fills and freed once every record in them is forgotten: the
book never copies itself to grow, so no decision pays for moving a million rows. Holds
expire ``hold_ttl`` seconds and records are forgotten ``retention`` seconds after their
decision, both walked from the oldest record chunk by chunk in array operations over windows
that double in size, so the work per call is proportional to what expires (a call with
nothing due reads one time), with one dictionary operation per hold released or
impression id forgotten. The book holds at most ``capacity`` records:
writing one more forgets the oldest (its hold, if still held, is handed back to the
caller to release).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["Pending", "PendingBook"]

_HELD = 1
_CHARGED = 2
_FIRST_PRICE = 4


class Pending(NamedTuple):
    """One remembered sale, as read from the book (a copy: changing it changes nothing)."""

    slot: int
    ad_id: str
    campaign_id: str
    creative_id: str
    micros: int
    user_key: int
    decided_at: float
    placement: int
    first_price: bool
    source: int
    shown_at: float | None
    held: bool
    charged: bool
    device: int = 0
    hour: int = -1
    content: int = 0
    match: float = 0.0
    focus: int = 0
    rule: int = -1


class PendingBook:
    """A bounded book of sold impressions, indexed by impression id. Not thread-safe:
    the engine calls it under its lock.

    Parameters
    ----------
    capacity : int
        The most records kept (``EngineConfig.max_pending``).
    hold_ttl : float
        Seconds after its decision that an unreported record's budget hold expires.
    retention : float
        Seconds after its decision that a record is forgotten (duplicates of its
        impression are then no longer recognised).

    Examples
    --------
    >>> book = PendingBook(capacity=2, hold_ttl=10.0, retention=60.0)
    >>> book.add("i1", "a1", "c1", "a1", 1000, 7, 0.0, 0, False, 0)
    >>> book.get("i1").held
    True
    >>> book.expire(10.0)  # released per campaign, holds ended
    ({'c1': 1000}, 1)
    >>> book.add("i2", "a1", "c1", "a1", 500, 7, 20.0, 0, False, 0)
    >>> book.add("i3", "a1", "c1", "a1", 500, 7, 21.0, 0, False, 0)  # i1 is forgotten
    >>> book.get("i1") is None, len(book)
    (True, 2)
    """

    __slots__ = (
        "_chunk",
        "_chunks",
        "_head",
        "_hold",
        "_index",
        "_tail",
        "capacity",
        "hold_ttl",
        "retention",
    )

    def __init__(self, capacity: int, hold_ttl: float, retention: float) -> None:
        self.capacity = capacity
        self.hold_ttl = hold_ttl
        self.retention = retention
        self._index: dict[str, int] = {}  # impression id -> sequence number
        self._head = 0  # sequence number of the oldest record kept
        self._hold = 0  # sequence number of the oldest record whose hold may be live
        self._tail = 0  # sequence number of the next record
        self._chunk = min(capacity, _CHUNK_ROWS)  # rows per chunk
        self._chunks: dict[int, _Chunk] = {}  # chunk number (seq // rows) -> chunk

    def _at(self, seq: int) -> tuple[_Chunk, int]:
        return self._chunks[seq // self._chunk], seq % self._chunk

    def __len__(self) -> int:
        return self._tail - self._head

    @property
    def nbytes(self) -> int:
        """Bytes of the chunks' arrays (the impression ids and the index come on top)."""
        return sum(c.nbytes for c in self._chunks.values())

    def add(
        self,
        impression_id: str,
        ad_id: str,
        campaign_id: str,
        creative_id: str,
        micros: int,
        user_key: int,
        decided_at: float,
        placement: int,
        first_price: bool,
        source: int,
        device: int = 0,
        hour: int = -1,
        content: int = 0,
        match: float = 0.0,
        focus: int = 0,
        rule: int = -1,
    ) -> tuple[str, int] | None:
        """Remember a sale whose budget is held. Returns ``(campaign_id, micros)`` of the
        oldest record when the book was full and that record still held its budget (the
        caller releases it), else None. The request's device type, local hour and
        content key (with ``source``, what :func:`adcore.features.context_keys` needs),
        the sold ad's embedding match ``match``, the listener's ``focus`` and the
        creative ``rule`` a learning creative agent applied (-1: none) are kept for the
        learners."""
        released = None
        if self._tail - self._head >= self.capacity:
            released = self._drop_oldest()
        seq = self._tail
        number, i = divmod(seq, self._chunk)
        c = self._chunks.get(number)
        if c is None:
            c = self._chunks[number] = _Chunk(self._chunk)
        c.ids[i] = impression_id
        c.ad[i] = ad_id
        c.campaign[i] = campaign_id
        c.creative[i] = creative_id
        c.micros[i] = micros
        c.user[i] = user_key
        c.decided[i] = decided_at
        c.shown[i] = math.nan
        c.placement[i] = placement
        c.source[i] = source
        c.device[i] = device & 0xFFFF
        c.hour[i] = hour
        c.content[i] = content
        c.match[i] = match
        c.focus[i] = focus
        c.rule[i] = rule
        c.flags[i] = _HELD | (_FIRST_PRICE if first_price else 0)
        self._index[impression_id] = seq
        self._tail = seq + 1
        return released

    def _drop_oldest(self) -> tuple[str, int] | None:
        seq = self._head
        c, i = self._at(seq)
        iid = c.ids[i]
        if self._index.get(iid) == seq:
            del self._index[iid]
        released = None
        if c.flags[i] & _HELD:
            c.flags[i] &= ~np.uint8(_HELD)
            released = (str(c.campaign[i]), int(c.micros[i]))
        c.ids[i] = c.ad[i] = c.campaign[i] = c.creative[i] = None
        self._head = seq + 1
        self._hold = max(self._hold, self._head)
        if self._head % self._chunk == 0:  # every record of that chunk is forgotten
            del self._chunks[seq // self._chunk]
        return released

    def get(self, impression_id: str) -> Pending | None:
        """The record of ``impression_id``, or None if the book does not have it."""
        seq = self._index.get(impression_id)
        if seq is None:
            return None
        c, i = self._at(seq)
        flags = int(c.flags[i])
        shown = float(c.shown[i])
        return Pending(
            slot=seq,
            ad_id=c.ad[i],
            campaign_id=c.campaign[i],
            creative_id=c.creative[i],
            micros=int(c.micros[i]),
            user_key=int(c.user[i]),
            decided_at=float(c.decided[i]),
            placement=int(c.placement[i]),
            first_price=bool(flags & _FIRST_PRICE),
            source=int(c.source[i]),
            shown_at=None if math.isnan(shown) else shown,
            held=bool(flags & _HELD),
            charged=bool(flags & _CHARGED),
            device=int(c.device[i]),
            hour=int(c.hour[i]),
            content=int(c.content[i]),
            match=float(c.match[i]),
            focus=int(c.focus[i]),
            rule=int(c.rule[i]),
        )

    def charge(self, slot: int, shown_at: float) -> None:
        """Mark the record ``slot`` (from :meth:`get`) shown and charged: its hold is
        spent."""
        c, i = self._at(slot)
        c.flags[i] = (c.flags[i] & ~np.uint8(_HELD)) | np.uint8(_CHARGED)
        c.shown[i] = shown_at

    def expire(self, now: float) -> tuple[dict[str, int], int]:
        """End the holds of records decided ``hold_ttl`` or more seconds before ``now``;
        returns the micro-units to release per campaign and how many holds ended."""
        # Chunk by chunk, in array operations: the records past the limit are a prefix
        # of what is left (the first one decided after it ends the walk); the Python
        # work is one dictionary update per hold that ends.
        release: dict[str, int] = {}
        ended = 0
        limit = now - self.hold_ttl
        seq = max(self._hold, self._head)
        while seq < self._tail:
            c, i = self._at(seq)
            end = min(self._tail - seq + i, self._chunk)
            n = _due(c.decided, i, end, limit)
            ended += _end_holds(c, i, n, release)
            seq += n
            if i + n < end:
                break
        self._hold = seq
        return release, ended

    def forget(self, now: float) -> tuple[dict[str, int], int]:
        """Forget the records decided ``retention`` or more seconds before ``now``;
        returns the holds they still had (when ``retention < hold_ttl``), per campaign,
        and how many."""
        # As in expire, chunk by chunk; the Python work per record is dropping its
        # impression id from the index.
        release: dict[str, int] = {}
        ended = 0
        limit = now - self.retention
        index = self._index
        while self._head < self._tail:
            head = self._head
            c, i = self._at(head)
            end = min(self._tail - head + i, self._chunk)
            n = _due(c.decided, i, end, limit)
            if n:
                for seq, iid in enumerate(c.ids[i : i + n].tolist(), head):
                    if index.get(iid) == seq:
                        del index[iid]
                ended += _end_holds(c, i, n, release)
                for column in (c.ids, c.ad, c.campaign, c.creative):
                    column[i : i + n] = None
                self._head = head + n
                self._hold = max(self._hold, self._head)
                if self._head % self._chunk == 0:  # every record of that chunk is forgotten
                    del self._chunks[head // self._chunk]
            if i + n < end:
                break
        return release, ended


def _due(decided: NDArray[np.float64], i: int, end: int, limit: float) -> int:
    """How many of ``decided[i:end]``, from the first, were decided at or before
    ``limit`` (up to the first decided later), in work proportional to that count: the
    rows are compared in windows that double in size (64, 128, ...), so a call that finds
    nothing due reads one value, and one that finds ``n`` reads fewer than ``2 n + 64``.
    Decision times are finite: no NaN."""
    if i >= end or decided.item(i) > limit:
        return 0
    start = i
    step = 64
    while i < end:
        stop = min(i + step, end)
        late = decided[i:stop] > limit
        if late.any():
            return i - start + int(late.argmax())
        i = stop
        step += step
    return end - start


def _end_holds(c: _Chunk, i: int, n: int, release: dict[str, int]) -> int:
    """End the live holds among rows ``i`` to ``i + n`` of chunk ``c``: add their
    micro-units to ``release`` per campaign and return how many there were."""
    flags = c.flags[i : i + n]
    held = (flags & _HELD).nonzero()[0]
    if not held.size:
        return 0
    flags[held] &= ~np.uint8(_HELD)
    rows = held + i
    for cid, micros in zip(c.campaign[rows].tolist(), c.micros[rows].tolist(), strict=True):
        release[cid] = release.get(cid, 0) + micros
    return int(held.size)


_CHUNK_ROWS = 1 << 16


class _Chunk:
    """Up to 65,536 consecutive records, one array per field."""

    __slots__ = (
        "ad",
        "campaign",
        "content",
        "creative",
        "decided",
        "device",
        "flags",
        "focus",
        "hour",
        "ids",
        "match",
        "micros",
        "placement",
        "rule",
        "shown",
        "source",
        "user",
    )

    def __init__(self, rows: int) -> None:
        self.ids: NDArray[np.object_] = np.empty(rows, dtype=object)
        self.ad: NDArray[np.object_] = np.empty(rows, dtype=object)
        self.campaign: NDArray[np.object_] = np.empty(rows, dtype=object)
        self.creative: NDArray[np.object_] = np.empty(rows, dtype=object)
        self.micros: NDArray[np.int64] = np.zeros(rows, dtype=np.int64)
        self.user: NDArray[np.uint64] = np.zeros(rows, dtype=np.uint64)
        self.decided: NDArray[np.float64] = np.zeros(rows, dtype=np.float64)
        self.shown: NDArray[np.float64] = np.zeros(rows, dtype=np.float64)
        self.placement: NDArray[np.int64] = np.zeros(rows, dtype=np.int64)
        self.source: NDArray[np.uint64] = np.zeros(rows, dtype=np.uint64)
        self.flags: NDArray[np.uint8] = np.zeros(rows, dtype=np.uint8)
        self.device: NDArray[np.uint16] = np.zeros(rows, dtype=np.uint16)
        self.hour: NDArray[np.int8] = np.zeros(rows, dtype=np.int8)
        self.content: NDArray[np.uint64] = np.zeros(rows, dtype=np.uint64)
        self.match: NDArray[np.float64] = np.zeros(rows, dtype=np.float64)
        self.focus: NDArray[np.uint8] = np.zeros(rows, dtype=np.uint8)
        self.rule: NDArray[np.int8] = np.zeros(rows, dtype=np.int8)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in self.__slots__)
