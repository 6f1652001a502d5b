"""The in-process budget ledger (the default).

Money moves in two steps. When the engine decides that an ad wins, it *holds* the
clearing price on the campaign's budget, so concurrent decisions cannot commit the same
money twice. When the ad server reports the impression, the hold is *settled*: the held
amount is released and the charge is recorded as spend. A hold that is never settled
expires (``EngineConfig.hold_ttl``) and its money returns to the campaign.

Invariants: ``spent + held`` never exceeds the budget through holds; a charge is never
lost (a late impression, after its hold expired, is still charged as far as the budget
goes, and whatever the budget cannot cover is counted in :attr:`overdelivered_micros`);
no balance goes below zero.
"""

from __future__ import annotations

import threading

import msgspec
import numpy as np
from numpy.typing import NDArray

from ..catalog import CatalogSnapshot

__all__ = ["Balance", "InProcessLedger"]

SECONDS_PER_DAY = 86400.0


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    """A campaign's money, in micro-units."""

    campaign_id: str
    daily_budget: int
    total_budget: int | None
    spent_today: int
    spent_total: int
    held: int
    available: int


class _LocalBooks:
    """One process's books in five int64 arrays indexed like the bound snapshot, with
    holds, releases, settlement, the day's roll and retired campaigns: what
    :class:`InProcessLedger` is, and what :class:`~adcore.ledger.RedisLedger` keeps
    locally for its leases. Both implement :class:`~adcore.ledger.Ledger`; neither
    derives from the other."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._day: int | None = None
        self._ids: tuple[str, ...] = ()
        self._index: dict[str, int] = {}
        self.daily: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.total: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.spent_today: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.spent_total: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.held: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._retired: dict[str, list[int]] = {}
        self.overdelivered_micros = 0

    def bind(self, snapshot: CatalogSnapshot) -> None:
        """Align the books with a catalog snapshot, keeping every known campaign's spend
        and holds; campaigns no longer in the catalog keep theirs on the side, so
        impressions reported for them later are still charged."""
        with self._lock:
            self._align(snapshot)

    def _align(self, snapshot: CatalogSnapshot) -> None:
        """The work of :meth:`bind`, with the lock held."""
        old = {
            cid: [int(self.spent_today[i]), int(self.spent_total[i]), int(self.held[i])]
            for cid, i in self._index.items()
        }
        old.update(self._retired)
        nc = snapshot.n_campaigns
        spent_today = np.zeros(nc, dtype=np.int64)
        spent_total = np.zeros(nc, dtype=np.int64)
        held = np.zeros(nc, dtype=np.int64)
        for i, cid in enumerate(snapshot.campaign_ids):
            if cid in old:
                spent_today[i], spent_total[i], held[i] = old.pop(cid)
        self._retired = old
        self.daily = np.array(snapshot.camp_daily, dtype=np.int64)
        self.total = np.array(snapshot.camp_total, dtype=np.int64)
        self.spent_today, self.spent_total, self.held = spent_today, spent_total, held
        self._ids = snapshot.campaign_ids
        self._index = dict(snapshot.campaign_index)

    def roll(self, now: float) -> None:
        """Start a new day's spend when ``now`` is in a later UTC day than the last call."""
        day = int(now // SECONDS_PER_DAY)
        if day != self._day:
            with self._lock:
                if self._day is not None and day > self._day:
                    self.spent_today.fill(0)
                    for v in self._retired.values():
                        v[0] = 0
                if self._day is None or day > self._day:
                    self._day = day
                self._day_changed()

    def _day_changed(self) -> None:
        """Called by :meth:`roll`, lock held, when the day may have changed."""

    def _available(self, i: int) -> int:
        held = self.held.item(i)
        a: int = self.daily.item(i) - self.spent_today.item(i) - held
        total = self.total.item(i)
        if total >= 0:
            a = min(a, total - self.spent_total.item(i) - held)
        return a if a > 0 else 0

    def hold(self, campaign_id: str, micros: int) -> bool:
        """Hold ``micros`` on the campaign if its budget allows; False (nothing held) if not."""
        with self._lock:
            i = self._index.get(campaign_id)
            if i is None or micros < 0 or self._available(i) < micros:
                return False
            self.held[i] += micros
            return True

    def release(self, campaign_id: str, micros: int) -> None:
        """Give back a hold that will not be settled (expired or cancelled)."""
        with self._lock:
            self._release(campaign_id, micros)

    def release_many(self, amounts: dict[str, int]) -> None:
        """Give back several holds at once: ``{campaign_id: micros}``."""
        with self._lock:
            for campaign_id, micros in amounts.items():
                self._release(campaign_id, micros)

    def _release(self, campaign_id: str, micros: int) -> None:
        i = self._index.get(campaign_id)
        if i is not None:
            self.held[i] = max(0, int(self.held[i]) - micros)
        elif campaign_id in self._retired:
            r = self._retired[campaign_id]
            r[2] = max(0, r[2] - micros)

    def settle(
        self, campaign_id: str, held: int, charge: int, impression_id: str | None = None
    ) -> int:
        """Release ``held`` and record ``charge`` as spend; returns what was charged.

        ``impression_id`` is for fleet ledgers that deduplicate across processes (the
        engine already charges an impression id once per process); ignored here.

        The charge is capped at what the budget can still cover after the release; the
        rest is added to :attr:`overdelivered_micros` (recorded, never silently lost).
        """
        with self._lock:
            self._release(campaign_id, held)
            i = self._index.get(campaign_id)
            if i is None:
                r = self._retired.setdefault(campaign_id, [0, 0, 0])
                r[0] += charge
                r[1] += charge
                return charge
            charged = min(charge, self._available(i))
            self.spent_today[i] += charged
            self.spent_total[i] += charged
            self.overdelivered_micros += charge - charged
            return charged

    def pacing_view(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """What the pacing controllers pace against: ``(daily, spent_today, held)``, per
        campaign. Here the books themselves; a fleet ledger returns the campaign's whole
        budget and the fleet's spend, while its arrays cap this process's commitments."""
        return self.daily, self.spent_today, self.held

    def balance(self, campaign_id: str) -> Balance:
        """The campaign's current balance. Raises KeyError for an unknown campaign."""
        with self._lock:
            i = self._index[campaign_id]
            total = int(self.total[i])
            return Balance(
                campaign_id=campaign_id,
                daily_budget=int(self.daily[i]),
                total_budget=None if total < 0 else total,
                spent_today=int(self.spent_today[i]),
                spent_total=int(self.spent_total[i]),
                held=int(self.held[i]),
                available=self._available(i),
            )

    def balances(self) -> dict[str, Balance]:
        """Every current campaign's balance."""
        return {cid: self.balance(cid) for cid in self._ids}

    def total_spent(self) -> int:
        """All spend ever recorded, including campaigns no longer in the catalog."""
        with self._lock:
            return int(self.spent_total.sum()) + sum(v[1] for v in self._retired.values())


class InProcessLedger(_LocalBooks):
    """Budgets of one process, thread-safe. Days are UTC days of the engine's clock.

    Examples
    --------
    >>> from adcore.ledger import InProcessLedger, Ledger
    >>> isinstance(InProcessLedger(), Ledger)
    True
    """
