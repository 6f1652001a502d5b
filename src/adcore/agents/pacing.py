"""The pacing agent: spreads each campaign's daily budget over the day.

The planned spend curve is the cumulative share of the day's traffic by the current UTC
time (flat, or shaped by ``EngineConfig.pacing_curve``, 24 hourly weights). A campaign
that has committed (spent plus held) more of its daily budget than planned gets a bid
multiplier ``clip(1 - pacing_gain * (committed - planned), pacing_min_multiplier, 1)``;
one behind plan bids in full. The agent also computes what each campaign may still
commit (daily and total budget less spend and holds), which caps the auction's bids:
pacing caps bidding.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._kernels.pacing import pace
from ..catalog import CatalogSnapshot
from ..context import Context
from ..ledger import InProcessLedger
from .base import Agent, Services

__all__ = ["PacingAgent", "planned_fraction"]


def planned_fraction(now: float, cumulative: np.ndarray | None) -> float:
    """The share of the day's budget planned to be spent by ``now`` (UTC)."""
    seconds = now % 86400.0
    if cumulative is None:
        return seconds / 86400.0
    hour = int(seconds // 3600.0)
    within = (seconds - hour * 3600.0) / 3600.0
    start = cumulative[hour - 1] if hour > 0 else 0.0
    return float(start + (cumulative[hour] - start) * within)


class _PacingState:
    def __init__(
        self, ledger: InProcessLedger, curve: tuple[float, ...] | None, gain: float, floor: float
    ) -> None:
        self.ledger = ledger
        self.cumulative = None
        if curve is not None:
            w = np.asarray(curve, dtype=np.float64)
            self.cumulative = np.cumsum(w) / w.sum()
        self.gain = gain
        self.floor = floor
        self.planned = 0.0


class PacingAgent(Agent):
    """Budget multipliers and spendable budget per campaign."""

    name: ClassVar[str] = "pacing"
    reads: ClassVar[frozenset[str]] = frozenset({"features"})
    writes: ClassVar[frozenset[str]] = frozenset({"multiplier"})

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        cfg = services.config
        return _PacingState(
            services.ledger, cfg.pacing_curve, cfg.pacing_gain, cfg.pacing_min_multiplier
        )

    def run(self, ctx: Context, state: _PacingState) -> None:
        ledger = state.ledger
        state_planned = planned_fraction(ctx.now, state.cumulative)
        pace(
            ctx.avail,
            ctx.mult,
            ledger.daily,
            ledger.total,
            ledger.spent_today,
            ledger.spent_total,
            ledger.held,
            state_planned,
            state.gain,
            state.floor,
        )

    def notes(self, ctx: Context, state: _PacingState) -> dict[str, float | int | str]:
        return {
            "planned_fraction": round(planned_fraction(ctx.now, state.cumulative), 4),
            "campaigns_damped": int((ctx.mult < 1.0).sum()),
            "campaigns_out_of_budget": int((ctx.avail <= 0).sum()),
        }
