"""The arms the ten agents are compared against: a strong monolith and a naive reference.

``monolith`` is what a strong team runs today with one model: one response model,
learned online from feedback, ranks every eligible ad by bid times predicted action rate
(the relevance and bidding agents are that model), campaigns are paced by the default
PID pacing (the pacing agent, configured as for the ten agents), and it keeps what no
serious ad server drops: consent handling (privacy), invalid-traffic filtering (fraud),
campaign targeting and the listener's interest (audience), inventory fit, brand safety
with frequency caps (safety) and the auction. It has no specialised agent beyond those
and no creative adaptation: every ad plays its default cut, whatever the listener's
attention (no creative agent). So ``agents`` against ``monolith`` measures what the
specialised agents add over that model.

``naive`` (alias ``baseline``) is a strawman kept for reference: the same response
model, but budgets spent as fast as bids win (pacing gain 0: only an empty budget stops
a campaign), no fraud filter and no frequency caps, and no creative agent. It keeps
consent, campaign targeting, inventory fit and the exchange's block lists. Beating it
says little; it shows what pacing, the fraud filter and frequency caps are worth.

Every arm runs on the same engine machinery, catalog and traffic, so a comparison
isolates the agents that differ.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..agents import (
    Agent,
    AuctionAgent,
    AudienceAgent,
    BanditCreativeAgent,
    BiddingAgent,
    ContextualRelevanceAgent,
    CreativeAgent,
    InventoryAgent,
    PacingAgent,
    PrivacyAgent,
    RelevanceAgent,
    SafetyAgent,
    default_agents,
)
from ..config import EngineConfig
from ..context import Context
from ..learn.drift import ADWIN, PageHinkley

__all__ = [
    "BlockListSafety",
    "baseline_agents",
    "baseline_config",
    "learned_agents",
    "learned_monolith_agents",
    "monolith_agents",
]


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


def monolith_agents() -> list[Agent]:
    """The ``monolith`` arm's agents: the ten agents without the creative agent.

    Privacy, fraud, audience, inventory, safety (block lists and frequency caps),
    relevance and bidding (the one response model), pacing (the default PID pacing) and
    the auction; every ad plays its default cut.
    """
    return [a for a in default_agents() if not isinstance(a, CreativeAgent)]


def _learning(agents: list[Agent]) -> list[Agent]:
    learners: dict[str, Agent] = {
        "relevance": ContextualRelevanceAgent(),
        "creative": BanditCreativeAgent(),
    }
    return [learners.get(a.name, a) for a in agents]


def learned_agents() -> list[Agent]:
    """The ``learned`` arm's agents: the ten agents with the contextual relevance agent
    (an FTRL-proximal model of each ad in its context, learned from outcomes) in place
    of per-ad counting, and the bandit creative agent (which cut rule to apply in each
    focus state, learned by LinUCB from completions and skips) in place of the fixed
    rule."""
    return _learning(default_agents())


def learned_monolith_agents() -> list[Agent]:
    """The ``monolith-learned`` arm's agents: the monolith whose one response model is
    the same contextual model as the ``learned`` arm's, so the two differ only in the
    specialised agents."""
    return _learning(monolith_agents())


def supervised_agents() -> list[Agent]:
    """The ``supervised`` arm's agents: the ``learned`` arm's, with a Page-Hinkley
    drift test on the contextual model's log loss (a detected drift keeps a tenth of
    what the model learned) and an ADWIN test on the creative bandit's rewards (a
    detected change restarts the bandit); the arm also attaches a
    :class:`~adcore.supervisor.Supervisor` to the engine."""
    learners: dict[str, Agent] = {
        "relevance": ContextualRelevanceAgent(drift=PageHinkley(), forget=0.1),
        "creative": BanditCreativeAgent(drift=ADWIN()),
    }
    return [learners.get(a.name, a) for a in default_agents()]


def baseline_agents() -> list[Agent]:
    """The ``naive`` arm's agents (alias ``baseline``): no fraud filter, no frequency
    caps, no creative choice."""
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
    as bids win. The ``naive`` arm's configuration."""
    import msgspec

    return msgspec.structs.replace(config, pacing_gain=0.0, pacing_ki=0.0, pacing_kd=0.0)
