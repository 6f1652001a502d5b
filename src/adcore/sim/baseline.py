"""The monolithic baseline: adcore's engine as a team would have run it before agents.

One global model ranks by bid times predicted action rate (the relevance and bidding
agents), budgets are spent as fast as bids win (pacing gain 0: only an empty budget
stops a campaign), every ad plays its default cut whatever the listener's attention (no
creative agent), there is no fraud filter and no frequency cap. It keeps what no ad
server may drop: consent (privacy), campaign targeting, inventory fit and the
exchange's block lists. It runs on the same engine machinery, catalog and traffic as the
multi-agent arm, so the comparison isolates the agents.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..agents import (
    Agent,
    AuctionAgent,
    AudienceAgent,
    BiddingAgent,
    InventoryAgent,
    PacingAgent,
    PrivacyAgent,
    RelevanceAgent,
    SafetyAgent,
)
from ..config import EngineConfig
from ..context import Context

__all__ = ["BlockListSafety", "baseline_agents", "baseline_config"]


class BlockListSafety(SafetyAgent):
    """The exchange's block lists and paused campaigns, without frequency caps."""

    name: ClassVar[str] = "safety"

    def run(self, ctx: Context, state: Any) -> None:
        user_key = ctx.user_key
        ctx.user_key = np.uint64(0)  # no frequency capping: no user to count
        try:
            super().run(ctx, state)
        finally:
            ctx.user_key = user_key


def baseline_agents() -> list[Agent]:
    """The baseline's agents: no fraud filter, no frequency caps, no creative choice."""
    return [
        PrivacyAgent(),
        AudienceAgent(),
        InventoryAgent(),
        BlockListSafety(),
        RelevanceAgent(),
        BiddingAgent(),
        PacingAgent(),
        AuctionAgent(),
    ]


def baseline_config(config: EngineConfig) -> EngineConfig:
    """``config`` with pacing off (PID gains 0, so the multiplier stays 1): spend as fast
    as bids win."""
    import msgspec

    return msgspec.structs.replace(config, pacing_gain=0.0, pacing_ki=0.0, pacing_kd=0.0)
