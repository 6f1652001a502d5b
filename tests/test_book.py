"""The pending-impression book against a naive model: a dict of records and the same
rules written plainly (one object per sale, every record scanned on each call)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from adcore.book import PendingBook, _due


@dataclass
class _Rec:
    seq: int
    campaign: str
    micros: int
    decided: float
    held: bool = True
    charged: bool = False
    shown: float | None = None


class _Model:
    def __init__(self, capacity: int, hold: float, keep: float) -> None:
        self.capacity, self.hold, self.keep = capacity, hold, keep
        self.records: list[tuple[str, _Rec]] = []  # in write order

    def add(self, iid: str, campaign: str, micros: int, now: float) -> tuple[str, int] | None:
        out = None
        if len(self.records) >= self.capacity:
            _, old = self.records.pop(0)
            if old.held:
                old.held = False
                out = (old.campaign, old.micros)
        self.records.append((iid, _Rec(0, campaign, micros, now)))
        return out

    def get(self, iid: str) -> _Rec | None:
        for key, rec in reversed(self.records):
            if key == iid:
                return rec
        return None

    def expire(self, now: float) -> tuple[dict[str, int], int]:
        out: dict[str, int] = {}
        n = 0
        for _, rec in self.records:
            if rec.decided > now - self.hold:
                break  # in write order: holds end oldest first, up to the first live one
            if rec.held:
                rec.held = False
                out[rec.campaign] = out.get(rec.campaign, 0) + rec.micros
                n += 1
        return out, n

    def forget(self, now: float) -> tuple[dict[str, int], int]:
        out: dict[str, int] = {}
        n = 0
        while self.records and self.records[0][1].decided <= now - self.keep:
            _, rec = self.records.pop(0)
            if rec.held:
                out[rec.campaign] = out.get(rec.campaign, 0) + rec.micros
                n += 1
        return out, n


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "add", "charge", "expire", "forget"]),
        st.integers(0, 40),  # impression id (repeats happen)
        st.sampled_from(["c1", "c2", "c3"]),
        st.integers(1, 5000),
        st.floats(0.0, 30.0),  # time step
    ),
    max_size=300,
)


@settings(max_examples=150)
@given(ops, st.integers(1, 40), st.floats(1.0, 60.0), st.floats(1.0, 120.0))
def test_book_matches_the_naive_model(
    steps: list[tuple[Any, ...]], capacity: int, hold: float, keep: float
) -> None:
    book = PendingBook(capacity, hold, keep)
    book._chunk = min(capacity, 7)  # small chunks: allocation and freeing get exercised
    model = _Model(capacity, hold, keep)
    now = 0.0
    for op, k, campaign, micros, dt in steps:
        now += dt
        iid = f"imp-{k}"
        if op == "add":
            got = book.add(iid, "ad", campaign, "cr", micros, 7, now, 0, False, 0)
            assert got == model.add(iid, campaign, micros, now)
        elif op == "charge":
            rec, want = book.get(iid), model.get(iid)
            assert (rec is None) == (want is None)
            if rec is not None and want is not None:
                assert (rec.held, rec.charged, rec.micros) == (want.held, want.charged, want.micros)
                book.charge(rec.slot, now)
                want.held, want.charged, want.shown = False, True, now
                again = book.get(iid)
                assert again is not None and again.charged and again.shown_at == now
        elif op == "expire":
            assert book.expire(now) == model.expire(now)
        else:
            assert book.forget(now) == model.forget(now)
        assert len(book) == len(model.records)
    assert len(book._chunks) <= capacity // book._chunk + 2  # freed as they empty


@settings(max_examples=300)
@given(
    st.lists(st.floats(0.0, 100.0), max_size=700),
    st.integers(0, 700),
    st.integers(0, 700),
    st.floats(-1.0, 101.0),
)
def test_due_counts_the_leading_rows_at_or_before_the_limit(
    times: list[float], i: int, end: int, limit: float
) -> None:
    # The walk's rule written plainly: from row i, count rows decided at or before the
    # limit until the first decided later (times need not be sorted), whatever the
    # window sizes the book compares them in.
    decided = np.array(times, dtype=np.float64)
    end = min(end, len(times))
    want = 0
    for t in times[i:end]:
        if t > limit:
            break
        want += 1
    assert _due(decided, i, end, limit) == want


def test_due_reads_little_when_little_is_due() -> None:
    # A long run of rows due and one late row far away: the doubling windows find it
    # exactly (the first and the last window boundary are both exercised).
    decided = np.zeros(10_000)
    for late in (0, 1, 63, 64, 65, 191, 192, 5000, 9_999):
        decided[:] = 0.0
        decided[late] = 2.0
        assert _due(decided, 0, 10_000, 1.0) == late
    decided[:] = 0.0
    assert _due(decided, 0, 10_000, 1.0) == 10_000
