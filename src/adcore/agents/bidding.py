"""The bidding agent: each eligible ad's expected value and bid, from its campaign's
strategy (fixed CPM, target CPC, target CPA, maximise value) and the predicted action
probability, capped at the campaign's max bid. See :class:`adcore.catalog.BidStrategy`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .._kernels.bidding import strategy_bids
from ..context import Context
from .base import Agent, KernelStep

__all__ = ["BiddingAgent"]


class BiddingAgent(Agent):
    """Bids in CPM from strategy and predicted value.

    It reads no :class:`~adcore.EngineConfig` field, so its constructor takes no
    arguments.
    """

    name: ClassVar[str] = "bidding"
    reads: ClassVar[frozenset[str]] = frozenset({"score", "reason", "candidates"})
    writes: ClassVar[frozenset[str]] = frozenset({"bid"})

    step: ClassVar[KernelStep] = KernelStep(
        strategy_bids,
        (
            "ctx.bid",
            "ctx.value",
            "ctx.reason",
            "ctx.n_imp",
            "ctx.score",
            "snap.ad_campaign",
            "snap.camp_strategy",
            "snap.camp_amount",
            "snap.camp_max_bid",
            "snap.camp_conversion_rate",
            "ctx.cand",
            "ctx.n_cand",
        ),
    )

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        return {"max_bid": round(float(ctx.bid.max()), 6) if ctx.bid.size else 0.0}
