"""The marketplace simulator: a seeded day of audio-first ad traffic decided by the real
engine under several arms (ways of deciding), and reports.

The arms (:data:`ARMS`): ``agents``, the ten agents; ``monolith``, what a strong team
runs today with one model (one online-learned response model ranking by bid times
predicted action rate, default PID pacing, the fraud filter, frequency caps, brand safety
and consent handling, no creative adaptation); ``naive`` (alias ``baseline``), a strawman
without pacing, fraud filter, frequency caps or creative adaptation, kept for reference.
:func:`simulate` compares ``agents`` against ``monolith`` by default.

>>> from adcore.sim import simulate
>>> results = simulate("quick", requests=2000, seeds=1, progress=False)
>>> results.arms
('agents', 'monolith')
>>> [row.metric for row in results.summary()][:3]
['relevance', 'ctr_human', 'completion_rate']
"""

from typing import TYPE_CHECKING, Any

from .baseline import BlockListSafety, baseline_agents, baseline_config
from .behaviour import Behaviour, SlotOutcome
from .market import Market
from .report import ReportError, write_report
from .results import METRICS, ArmRun, SimResults, SummaryRow
from .reward import REWARD_VERSION, RewardTerms, RewardWeights, delivery_score, shared_reward
from .runner import ARMS, Arm, run_arm, simulate
from .scenario import SCENARIOS, InvalidScenario, Scenario, load_scenario
from .training import train

if TYPE_CHECKING:
    from .env import AdMarketEnv

_RL = ("AdMarketEnv",)  # needs the optional extra adcore[rl]

__all__ = [
    "ARMS",
    "METRICS",
    "REWARD_VERSION",
    "SCENARIOS",
    "AdMarketEnv",
    "Arm",
    "ArmRun",
    "Behaviour",
    "BlockListSafety",
    "InvalidScenario",
    "Market",
    "ReportError",
    "RewardTerms",
    "RewardWeights",
    "Scenario",
    "SimResults",
    "SlotOutcome",
    "SummaryRow",
    "baseline_agents",
    "baseline_config",
    "delivery_score",
    "load_scenario",
    "run_arm",
    "shared_reward",
    "simulate",
    "train",
    "write_report",
]


def __getattr__(name: str) -> Any:
    # The PettingZoo environment imports pettingzoo and gymnasium (the optional extra
    # adcore[rl]), so it loads on first use, not with adcore.sim.
    if name in _RL:
        from . import env

        return getattr(env, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
