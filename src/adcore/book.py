"""The book of won impressions awaiting feedback, kept in arrays.

Every ad the engine sells is remembered until its impression, click or completion is
reported, so that spend is charged once per impression id and outcomes join their
decision. An engine in front of an exchange remembers a million of them; kept as one
Python object each they cost over half a KiB apiece and every full garbage collection
walks them all (tens of milliseconds, on whichever request triggers it). Here a record is
a row of a ring of NumPy arrays (no object the collector tracks), and the only
per-record Python objects are the impression id and its entry in the index.

Records are kept in the order they were written. Holds expire ``hold_ttl`` seconds and
records are forgotten ``retention`` seconds after their decision, both walked from the
oldest record, so the work per call is proportional to what expires. The book holds at
most ``capacity`` records: writing one more forgets the oldest (its hold, if still
held, is handed back to the caller to release).
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


class PendingBook:
    """A bounded ring of sold impressions, indexed by impression id. Not thread-safe:
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
        "_ad",
        "_campaign",
        "_creative",
        "_decided",
        "_flags",
        "_head",
        "_hold",
        "_ids",
        "_index",
        "_micros",
        "_placement",
        "_shown",
        "_size",
        "_source",
        "_tail",
        "_user",
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
        self._allocate(min(capacity, 1024))

    def _allocate(self, size: int) -> None:
        self._size = size
        self._ids: NDArray[np.object_] = np.empty(size, dtype=object)
        self._ad: NDArray[np.object_] = np.empty(size, dtype=object)
        self._campaign: NDArray[np.object_] = np.empty(size, dtype=object)
        self._creative: NDArray[np.object_] = np.empty(size, dtype=object)
        self._micros: NDArray[np.int64] = np.zeros(size, dtype=np.int64)
        self._user: NDArray[np.uint64] = np.zeros(size, dtype=np.uint64)
        self._decided: NDArray[np.float64] = np.zeros(size, dtype=np.float64)
        self._shown: NDArray[np.float64] = np.zeros(size, dtype=np.float64)
        self._placement: NDArray[np.int64] = np.zeros(size, dtype=np.int64)
        self._source: NDArray[np.uint64] = np.zeros(size, dtype=np.uint64)
        self._flags: NDArray[np.uint8] = np.zeros(size, dtype=np.uint8)

    def _grow(self) -> None:
        """Double the ring (up to ``capacity``), keeping every record."""
        old_size = self._size
        seqs = np.arange(self._head, self._tail, dtype=np.int64)
        old = {name: getattr(self, name) for name in _COLUMNS}
        self._allocate(min(self.capacity, 2 * old_size))
        for name, column in old.items():
            getattr(self, name)[seqs % self._size] = column[seqs % old_size]

    def __len__(self) -> int:
        return self._tail - self._head

    @property
    def nbytes(self) -> int:
        """Bytes of the ring's arrays (the impression ids and the index come on top)."""
        return sum(getattr(self, name).nbytes for name in _COLUMNS)

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
    ) -> tuple[str, int] | None:
        """Remember a sale whose budget is held. Returns ``(campaign_id, micros)`` of the
        oldest record when the book was full and that record still held its budget (the
        caller releases it), else None."""
        released = None
        if self._tail - self._head >= self.capacity:
            released = self._drop_oldest()
        elif self._tail - self._head >= self._size:
            self._grow()
        seq = self._tail
        i = seq % self._size
        self._ids[i] = impression_id
        self._ad[i] = ad_id
        self._campaign[i] = campaign_id
        self._creative[i] = creative_id
        self._micros[i] = micros
        self._user[i] = user_key
        self._decided[i] = decided_at
        self._shown[i] = math.nan
        self._placement[i] = placement
        self._source[i] = source
        self._flags[i] = _HELD | (_FIRST_PRICE if first_price else 0)
        self._index[impression_id] = seq
        self._tail = seq + 1
        return released

    def _drop_oldest(self) -> tuple[str, int] | None:
        seq = self._head
        i = seq % self._size
        iid = self._ids[i]
        if self._index.get(iid) == seq:
            del self._index[iid]
        released = None
        if self._flags[i] & _HELD:
            self._flags[i] &= ~np.uint8(_HELD)
            released = (str(self._campaign[i]), int(self._micros[i]))
        self._ids[i] = self._ad[i] = self._campaign[i] = self._creative[i] = None
        self._head = seq + 1
        self._hold = max(self._hold, self._head)
        return released

    def get(self, impression_id: str) -> Pending | None:
        """The record of ``impression_id``, or None if the book does not have it."""
        seq = self._index.get(impression_id)
        if seq is None:
            return None
        i = seq % self._size
        flags = int(self._flags[i])
        shown = float(self._shown[i])
        return Pending(
            slot=seq,
            ad_id=self._ad[i],
            campaign_id=self._campaign[i],
            creative_id=self._creative[i],
            micros=int(self._micros[i]),
            user_key=int(self._user[i]),
            decided_at=float(self._decided[i]),
            placement=int(self._placement[i]),
            first_price=bool(flags & _FIRST_PRICE),
            source=int(self._source[i]),
            shown_at=None if math.isnan(shown) else shown,
            held=bool(flags & _HELD),
            charged=bool(flags & _CHARGED),
        )

    def charge(self, slot: int, shown_at: float) -> None:
        """Mark the record ``slot`` (from :meth:`get`) shown and charged: its hold is
        spent."""
        i = slot % self._size
        self._flags[i] = (self._flags[i] & ~np.uint8(_HELD)) | np.uint8(_CHARGED)
        self._shown[i] = shown_at

    def expire(self, now: float) -> tuple[dict[str, int], int]:
        """End the holds of records decided ``hold_ttl`` or more seconds before ``now``;
        returns the micro-units to release per campaign and how many holds ended."""
        release: dict[str, int] = {}
        ended = 0
        limit = now - self.hold_ttl
        seq = max(self._hold, self._head)
        size = self._size
        while seq < self._tail:
            i = seq % size
            if not self._decided[i] <= limit:
                break
            if self._flags[i] & _HELD:
                self._flags[i] &= ~np.uint8(_HELD)
                cid = self._campaign[i]
                release[cid] = release.get(cid, 0) + int(self._micros[i])
                ended += 1
            seq += 1
        self._hold = seq
        return release, ended

    def forget(self, now: float) -> tuple[dict[str, int], int]:
        """Forget the records decided ``retention`` or more seconds before ``now``;
        returns the holds they still had (when ``retention < hold_ttl``), per campaign,
        and how many."""
        release: dict[str, int] = {}
        ended = 0
        limit = now - self.retention
        size = self._size
        while self._head < self._tail and self._decided[self._head % size] <= limit:
            held = self._drop_oldest()
            if held is not None:
                release[held[0]] = release.get(held[0], 0) + held[1]
                ended += 1
        return release, ended


_COLUMNS = (
    "_ids",
    "_ad",
    "_campaign",
    "_creative",
    "_micros",
    "_user",
    "_decided",
    "_shown",
    "_placement",
    "_source",
    "_flags",
)
