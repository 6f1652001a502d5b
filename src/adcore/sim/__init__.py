"""The marketplace simulator: a seeded day of audio-first ad traffic decided by the real
engine, a monolithic baseline to compare against, and reports.

>>> from adcore.sim import simulate
>>> results = simulate("quick", requests=2000, seeds=1, progress=False)
>>> [row.metric for row in results.summary()][:3]
['ctr', 'completion_rate', 'skip_rate']
"""

from .baseline import BlockListSafety, baseline_agents, baseline_config
from .market import Behaviour, Market, SlotOutcome
from .results import METRICS, ArmRun, SimResults, SummaryRow
from .runner import ARMS, Arm, run_arm, simulate
from .scenario import SCENARIOS, InvalidScenario, Scenario, load_scenario

__all__ = [
    "ARMS",
    "METRICS",
    "SCENARIOS",
    "Arm",
    "ArmRun",
    "Behaviour",
    "BlockListSafety",
    "InvalidScenario",
    "Market",
    "Scenario",
    "SimResults",
    "SlotOutcome",
    "SummaryRow",
    "baseline_agents",
    "baseline_config",
    "load_scenario",
    "run_arm",
    "simulate",
]
