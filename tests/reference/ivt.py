"""Naive references for ``adcore._kernels.ipranges`` and ``adcore.ivt``: loops over Python
ints, every event kept, no hashing, unbounded memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MASK64 = (1 << 64) - 1


def join(hi: Any, lo: Any) -> int:
    """The 128-bit number of two 64-bit halves."""
    return (int(hi) << 64) | int(lo)


def ip_in_ranges(
    starts_hi: Any, starts_lo: Any, ends_hi: Any, ends_lo: Any, n: int, ip_hi: Any, ip_lo: Any
) -> bool:
    """Whether ``start <= ip <= end`` for one of the first ``n`` ranges (every range
    checked; no order assumed)."""
    ip = join(ip_hi, ip_lo)
    for i in range(n):
        if join(starts_hi[i], starts_lo[i]) <= ip <= join(ends_hi[i], ends_lo[i]):
            return True
    return False


def ips_in_ranges(
    starts_hi: Any, starts_lo: Any, ends_hi: Any, ends_lo: Any, n: int, ips_hi: Any, ips_lo: Any
) -> list[bool]:
    return [
        ip_in_ranges(starts_hi, starts_lo, ends_hi, ends_lo, n, ips_hi[k], ips_lo[k])
        for k in range(len(ips_hi))
    ]


def merge(blocks: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Closed integer intervals merged into maximal disjoint, non-adjacent ones: the set
    of covered integers, walked interval by interval."""
    out: list[tuple[int, int]] = []
    for first, last in sorted(blocks):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


class ExactClickValidator:
    """The click rules of ``adcore.ivt.ClickValidator`` over exact per-source counts:
    a source's window starts at its first event (impression or click) after the previous
    window ended and lasts ``ctr_window`` seconds."""

    def __init__(
        self, min_seconds: float, ctr_window: float, max_ctr: float, min_impressions: int
    ) -> None:
        self.min_seconds = min_seconds
        self.ctr_window = ctr_window
        self.max_ctr = max_ctr
        self.min_impressions = min_impressions
        self.start: dict[int, float] = {}
        self.impressions: dict[int, int] = {}
        self.clicks: dict[int, int] = {}

    def _touch(self, source: int, now: float) -> None:
        if source not in self.start or now - self.start[source] >= self.ctr_window:
            self.start[source] = now
            self.impressions[source] = 0
            self.clicks[source] = 0

    def record_impression(self, source: int, now: float) -> None:
        self._touch(source, now)
        self.impressions[source] += 1

    def check_click(self, source: int, shown_at: float | None, now: float) -> tuple[bool, str]:
        self._touch(source, now)
        self.clicks[source] += 1
        if shown_at is None:
            return False, "click_without_impression"
        if now - shown_at < self.min_seconds:
            return False, "click_too_fast"
        imps, clicks = self.impressions[source], self.clicks[source]
        if imps >= self.min_impressions and clicks > self.max_ctr * imps:
            return False, "abnormal_ctr"
        return True, ""

    def counts(self, source: int, now: float) -> tuple[int, int]:
        if source not in self.start or now - self.start[source] >= self.ctr_window:
            return 0, 0
        return self.impressions[source], self.clicks[source]


class EventLog:
    """Every event of every source, in order: ``(time, is_click)``."""

    def __init__(self) -> None:
        self.events: dict[int, list[tuple[float, bool]]] = {}

    def add(self, source: int, now: float, click: bool) -> None:
        self.events.setdefault(source, []).append((now, click))

    def suffix_counts(self, source: int, now: float, window: float) -> set[tuple[int, int]]:
        """``(impressions, clicks)`` from each of the source's events less than ``window``
        seconds before ``now`` to its last event, and ``(0, 0)``."""
        out = {(0, 0)}
        events = self.events.get(source, [])
        for j in range(len(events)):
            if now - events[j][0] < window:
                clicks = sum(1 for _, c in events[j:] if c)
                out.add((len(events) - j - clicks, clicks))
        return out

    def sliding_counts(self, source: int, now: float, window: float) -> tuple[int, int]:
        """``(impressions, clicks)`` of the source in the last ``window`` seconds."""
        recent = [c for t, c in self.events.get(source, []) if now - t < window]
        clicks = sum(1 for c in recent if c)
        return len(recent) - clicks, clicks
