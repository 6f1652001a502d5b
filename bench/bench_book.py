"""The pending-impression book: memory per remembered sale and the cost of a full
garbage collection with a million of them, against one Python object per sale (a
``__slots__`` record in a dict, with two deques of expiry times: how the engine kept
them before).

``pytest bench/bench_book.py -s`` prints bytes per entry (measured with ``tracemalloc``:
everything allocated to remember N sales, impression ids included) and the full-collection
pause, for both designs, with the ratios.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections import deque
from typing import Any

from conftest import record_median

from adcore.book import PendingBook

N = 200_000
HOLD, KEEP = 900.0, 86400.0


class _Record:
    __slots__ = (
        "ad_id",
        "campaign_id",
        "charged",
        "creative_id",
        "decided_at",
        "first_price",
        "held",
        "micros",
        "placement",
        "shown_at",
        "source",
        "user_key",
    )

    def __init__(self, *values: Any) -> None:
        (
            self.ad_id,
            self.campaign_id,
            self.creative_id,
            self.micros,
            self.user_key,
            self.decided_at,
            self.placement,
            self.first_price,
            self.source,
        ) = values
        self.shown_at = None
        self.held = True
        self.charged = False


class _ObjectBook:
    """One object per sale, as before."""

    def __init__(self) -> None:
        self.pending: dict[str, _Record] = {}
        self.holds: deque[tuple[float, str]] = deque()
        self.keeps: deque[tuple[float, str]] = deque()

    def add(self, iid: str, *values: Any) -> None:
        now = values[5]
        self.pending[iid] = _Record(*values)
        self.holds.append((now + HOLD, iid))
        self.keeps.append((now + KEEP, iid))


def _ids(n: int) -> list[str]:
    return [f"req-{i:08d}:1:{i}" for i in range(n)]


def _fill(book: Any, ids: list[str]) -> None:
    # Values as the engine passes them: shared catalog strings, fresh numbers.
    for i, iid in enumerate(ids):
        book.add(iid, "ad-17", "camp-3", "ad-17:30s", 1000 + i, 12345 + i, 1e9 + i, i & 7,
                 False, 99 + i)  # fmt: skip


def _bytes_per_entry(make: Any) -> float:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    book = make()
    _fill(book, _ids(N))
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del book
    return used / N


def _collect_ms() -> float:
    gc.collect()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        gc.collect()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def _tracked_and_pause(make: Any) -> tuple[int, float]:
    """Objects the garbage collector tracks because of the book (exact), and the
    fastest full collection with the book in memory (ms)."""
    gc.collect()
    before = len(gc.get_objects())
    book = make()
    _fill(book, _ids(N))
    gc.collect()
    tracked = len(gc.get_objects()) - before
    pause = _collect_ms()
    del book
    return tracked, pause


def _book() -> PendingBook:
    return PendingBook(N, HOLD, KEEP)


def test_memory_per_entry() -> None:
    ours = _bytes_per_entry(_book)
    theirs = _bytes_per_entry(_ObjectBook)
    print(
        f"\npending book, {N:,} sales: arrays {ours:.0f} B/entry, one object per sale "
        f"{theirs:.0f} B/entry ({theirs / ours:.2f}x)"
    )
    record_median(f"pending book bytes per entry ({N:,} sales)", "adcore", ours)
    record_median(f"pending book bytes per entry ({N:,} sales)", "objects", theirs)
    assert ours > 0 and theirs > 0


def test_full_collection_pause() -> None:
    base = _collect_ms()
    ours, ours_ms = _tracked_and_pause(_book)
    theirs, theirs_ms = _tracked_and_pause(_ObjectBook)
    print(
        f"\nwith {N:,} sales remembered: the garbage collector tracks {ours:,} more objects "
        f"with arrays, {theirs:,} with one object per sale; a full gc.collect() takes "
        f"{ours_ms:.1f} ms and {theirs_ms:.1f} ms ({base:.1f} ms without either)"
    )
    assert ours < 100 <= N <= theirs
