"""What the engine uses of a budget ledger.

A ledger keeps each campaign's money in integer micro-units. The engine calls it in four
places: on every catalog swap (:meth:`Ledger.bind`), at maintenance when the UTC day may
have changed (:meth:`Ledger.roll`), on the decision path when an ad wins
(:meth:`Ledger.hold`, under the engine's lock, so it must be fast and must never touch
the network), and when feedback arrives (:meth:`Ledger.release`,
:meth:`Ledger.release_many`, :meth:`Ledger.settle`). The pacing kernels read five int64
arrays directly, indexed like the bound :class:`~adcore.catalog.CatalogSnapshot`; from
them they compute what each campaign may still commit::

    available = daily - spent_today - held
    if total >= 0:
        available = min(available, total - spent_total - held)

:class:`~adcore.ledger.InProcessLedger` keeps the whole budget in these arrays;
:class:`~adcore.ledger.redis.RedisLedger` keeps this process's lease there, so the same
arithmetic bounds what this process may commit.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..catalog import CatalogSnapshot
from .memory import Balance

__all__ = ["Ledger"]


@runtime_checkable
class Ledger(Protocol):
    """The budget ledger interface of the engine.

    Attributes
    ----------
    daily, total, spent_today, spent_total, held : NDArray[np.int64]
        One entry per campaign of the bound snapshot. ``daily`` is what the campaign may
        commit today, ``total`` its lifetime cap (-1 when it has none), ``spent_today``
        and ``spent_total`` what was charged, ``held`` what is held and not yet settled.
        The arrays may be replaced by :meth:`bind`; read them through the attribute each
        time.
    overdelivered_micros : int
        Charges the budget could not cover (recorded, never silently dropped).
    """

    daily: NDArray[np.int64]
    total: NDArray[np.int64]
    spent_today: NDArray[np.int64]
    spent_total: NDArray[np.int64]
    held: NDArray[np.int64]
    overdelivered_micros: int

    def bind(self, snapshot: CatalogSnapshot) -> None:
        """Align the books with a catalog snapshot (called on every catalog swap)."""

    def roll(self, now: float) -> None:
        """Start a new day's spend when ``now`` is in a later UTC day than the last call."""

    def hold(self, campaign_id: str, micros: int) -> bool:
        """Hold ``micros`` if the campaign may commit them; False (nothing held) if not.

        On the decision path: must not block on I/O.
        """

    def release(self, campaign_id: str, micros: int) -> None:
        """Give back a hold that will not be settled."""

    def release_many(self, amounts: dict[str, int]) -> None:
        """Give back several holds at once: ``{campaign_id: micros}``."""

    def settle(
        self, campaign_id: str, held: int, charge: int, impression_id: str | None = None
    ) -> int:
        """Release ``held`` and record ``charge`` as spend; returns what was charged.
        ``impression_id`` lets a fleet ledger charge an impression once across
        processes."""

    def pacing_view(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """``(daily budget, spend today, held)`` per campaign as the pacing controllers
        should see them (for a fleet: the whole budget and the fleet's spend)."""

    def balance(self, campaign_id: str) -> Balance:
        """The campaign's balance as this ledger sees it. KeyError if unknown."""

    def balances(self) -> dict[str, Balance]:
        """Every current campaign's balance."""

    def total_spent(self) -> int:
        """All spend recorded by this ledger, including retired campaigns."""
