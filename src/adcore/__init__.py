"""adcore: an embeddable ad decision engine.

A team of agents (privacy, fraud, audience, inventory, safety, relevance, bidding,
pacing, creative, auction) decides each OpenRTB 2.6 bid request in microseconds over
Numba kernels, learns from feedback and explains every decision.

>>> import adcore
>>> engine = adcore.Engine(adcore.demo.sample_catalog(n_ads=20))
>>> decision = engine.decide(adcore.demo.sample_requests(1)[0], now=adcore.demo.DEMO_START)
>>> isinstance(decision, adcore.Decision)
True

Importing adcore compiles nothing; building an :class:`Engine` compiles (or loads from
cache) its kernels.
"""

from . import demo, events, openrtb
from .agents import Agent, KernelStep
from .bus import Bus
from .catalog import (
    Ad,
    AdFormat,
    BidStrategy,
    Campaign,
    Catalog,
    Creative,
    FrequencyCap,
    Pacing,
    Targeting,
)
from .config import EngineConfig
from .context import Context
from .decision import (
    AgentTrace,
    CandidateTrace,
    Decision,
    PodSearch,
    Reason,
    SlotDecision,
    Trace,
)
from .engine import Engine, EngineStats
from .errors import (
    AdcoreError,
    ContractError,
    InvalidCatalog,
    InvalidConfig,
    InvalidEvent,
    InvalidInput,
    InvalidRequest,
    PlanError,
)
from .ledger import Balance, InProcessLedger

__version__ = "0.1.0"

__all__ = [
    "Ad",
    "AdcoreError",
    "Agent",
    "AgentTrace",
    "Balance",
    "BidStrategy",
    "Bus",
    "Campaign",
    "CandidateTrace",
    "Catalog",
    "Context",
    "ContractError",
    "Creative",
    "Decision",
    "Engine",
    "EngineConfig",
    "EngineStats",
    "AdFormat",
    "FrequencyCap",
    "Pacing",
    "InProcessLedger",
    "InvalidCatalog",
    "InvalidConfig",
    "InvalidEvent",
    "InvalidInput",
    "InvalidRequest",
    "KernelStep",
    "PlanError",
    "PodSearch",
    "Reason",
    "SlotDecision",
    "Targeting",
    "Trace",
    "__version__",
    "demo",
    "events",
    "openrtb",
]
