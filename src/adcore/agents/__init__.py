"""The ten agents, learning alternatives to two of them, a learned bid policy, and the
Agent contract.

Default plan order (also computed from their declared reads and writes): privacy ->
fraud -> audience -> inventory -> safety -> relevance -> bidding -> pacing -> creative ->
auction.
"""

from .auction import AuctionAgent
from .audience import AudienceAgent
from .base import Agent, KernelStep, Services
from .bidding import BiddingAgent
from .creative import BanditCreativeAgent, CreativeAgent
from .fraud import FraudAgent
from .inventory import InventoryAgent
from .pacing import PacingAgent
from .privacy import PrivacyAgent
from .qbidding import QBiddingAgent
from .relevance import ContextualRelevanceAgent, RelevanceAgent
from .safety import SafetyAgent

__all__ = [
    "Agent",
    "AuctionAgent",
    "AudienceAgent",
    "BanditCreativeAgent",
    "BiddingAgent",
    "ContextualRelevanceAgent",
    "CreativeAgent",
    "FraudAgent",
    "InventoryAgent",
    "KernelStep",
    "PacingAgent",
    "PrivacyAgent",
    "QBiddingAgent",
    "RelevanceAgent",
    "SafetyAgent",
    "Services",
    "default_agents",
]

DEFAULT_ORDER = (
    "privacy",
    "fraud",
    "audience",
    "inventory",
    "safety",
    "relevance",
    "bidding",
    "pacing",
    "creative",
    "auction",
)


def default_agents() -> list[Agent]:
    """A fresh instance of each of the ten agents, in the default order."""
    return [
        PrivacyAgent(),
        FraudAgent(),
        AudienceAgent(),
        InventoryAgent(),
        SafetyAgent(),
        RelevanceAgent(),
        BiddingAgent(),
        PacingAgent(),
        CreativeAgent(),
        AuctionAgent(),
    ]
