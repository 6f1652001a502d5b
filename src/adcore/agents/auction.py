"""The auction agent: resolves each impression among the eligible ads.

Second price with floors by default, first price when the request says ``at`` = 1.
Effective bids are the bidding agent's bids times the pacing multiplier, capped at what
the campaign may still commit; higher-priority campaigns win over lower ones; ties go
to a seeded hash of ad and request, so candidate order never matters. An ad wins at
most one impression per request. With ``EngineConfig.explore`` > 0, epsilon-greedy
exploration records each winner's propensity. See
:func:`adcore._kernels.auction.run_auctions`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .._kernels.auction import run_auctions
from ..context import Context
from .base import Agent

__all__ = ["AuctionAgent"]


class AuctionAgent(Agent):
    """Winners and clearing prices per impression."""

    name: ClassVar[str] = "auction"
    reads: ClassVar[frozenset[str]] = frozenset(
        {"features", "reason", "bid", "multiplier", "floor", "creative", "candidates"}
    )
    writes: ClassVar[frozenset[str]] = frozenset({"winners"})

    def run(self, ctx: Context, state: Any) -> None:
        if ctx.n_cand == 0:  # every ad was vetoed: nothing wins (no kernel call needed)
            n = ctx.n_imp
            ctx.win_ad[:n] = -1
            ctx.win_bid[:n] = 0.0
            ctx.win_price[:n] = 0.0
            ctx.win_micros[:n] = 0
            ctx.win_propensity[:n] = 0.0
            return
        snap = ctx.snapshot
        run_auctions(
            ctx.win_ad,
            ctx.win_bid,
            ctx.win_price,
            ctx.win_micros,
            ctx.win_propensity,
            ctx.effective,
            ctx.won,
            ctx.n_imp,
            ctx.reason,
            ctx.bid,
            ctx.mult,
            snap.ad_campaign,
            ctx.floor,
            ctx.avail,
            snap.ad_key,
            snap.ad_priority,
            ctx.request_key,
            ctx.auction_type,
            ctx.explore,
            ctx.draws,
            ctx.cand,
            ctx.n_cand,
        )

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        n = ctx.n_imp
        return {
            "filled": int((ctx.win_ad[:n] >= 0).sum()),
            "impressions": n,
            "auction": "first_price" if ctx.auction_type == 1 else "second_price",
        }
