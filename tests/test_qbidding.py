"""The learned bid policy served in the engine (``adcore.agents.QBiddingAgent``): the
neutral table changes nothing, a trained table's multipliers reach the bids, state from
the ledger and the clock, saving and loading, and named errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adcore import Engine, EngineConfig, InvalidConfig, InvalidInput
from adcore.agents import QBiddingAgent, default_agents
from adcore.agents.pacing import planned_fraction
from adcore.catalog import Catalog
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.learn import QLearning

MULTIPLIERS = (1.0, 0.5, 1.5)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return sample_catalog(n_ads=60, dimension=8, seed=5)


def _engine(catalog: Catalog, agent: QBiddingAgent | None) -> Engine:
    plan = default_agents() + ([agent] if agent is not None else [])
    return Engine(catalog, EngineConfig(latency_budget_us=math.inf), agents=plan)


def _table(action_of_state: list[int], hours: int = 2) -> QLearning:
    """A table whose greedy action in state s is ``action_of_state[s]``."""
    q = QLearning(hours * 3, len(MULTIPLIERS), alpha=1.0, gamma=0.0)
    for s, a in enumerate(action_of_state):
        q.learn(s, a, 1.0, 0)
    return q


def _agent(policy: QLearning, **kwargs: Any) -> QBiddingAgent:
    return QBiddingAgent(policy=policy, multipliers=MULTIPLIERS, hours=2, **kwargs)


def test_a_table_that_has_learned_nothing_decides_as_the_plain_engine(catalog: Catalog) -> None:
    """Every value ties, so every campaign plays the first multiplier, 1."""
    plain = _engine(catalog, None)
    served = _engine(catalog, _agent(QLearning(6, 3)))
    assert "bid_policy" in served.plan
    for k, request in enumerate(sample_requests(300, seed=8)):
        now = DEMO_START + 30.0 * k
        a, b = plain.decide(request, now=now), served.decide(request, now=now)
        assert [(s.ad_id, s.price_micros, s.bid) for s in a.slots] == [
            (s.ad_id, s.price_micros, s.bid) for s in b.slots
        ]


def test_the_greedy_multiplier_of_each_campaign_state_reaches_the_bids(catalog: Catalog) -> None:
    # Bucket 0 (first half of the day): behind -> 1.5, on pace -> 0.5, ahead -> 1.0.
    policy = _table([2, 1, 0, 0, 0, 0])
    engine = _engine(catalog, _agent(policy, interval=600.0))
    now = DEMO_START - DEMO_START % 86400.0 + 6 * 3600.0  # 06:00 UTC
    requests = sample_requests(200, seed=9)
    traced = [engine.decide(r, now=now + k, trace=True) for k, r in enumerate(requests)]
    state = engine.agent_state("bid_policy")
    daily, spent, _ = engine.ledger.pacing_view()
    planned = planned_fraction(now, None)  # flat plan: 0.25 at 06:00
    share = spent[: len(daily)] / np.maximum(daily, 1)
    # The state was set at the first request (06:00), before anything was spent.
    assert planned == 0.25
    assert state.campaign_state.tolist() == [0] * len(daily)  # everyone behind the plan
    assert state.campaign_multiplier.tolist() == [1.5] * len(daily)
    assert (share < planned).all()
    notes = [a.notes for d in traced if d.trace for a in d.trace.agents if a.agent == "bid_policy"]
    assert notes and all(n["multipliers"] in ("1.5", "-") for n in notes)
    assert any(n["multipliers"] == "1.5" for n in notes)
    # Ten minutes later the next interval starts: the same state, so the same choice;
    # forcing a campaign on pace changes its multiplier to 0.5.
    state.campaign_state[:] = -1
    engine.decide(requests[0], now=now + 601.0)
    assert state.campaign_state.tolist() == [0] * len(daily)
    np.testing.assert_array_equal(
        state.per_ad, state.campaign_multiplier[catalog.snapshot.ad_campaign]
    )


def test_the_table_is_saved_and_loaded_with_the_engine_models(
    catalog: Catalog, tmp_path: Path
) -> None:
    trained = _engine(catalog, _agent(_table([1] * 6)))
    trained.save_models(tmp_path)
    fresh = _engine(catalog, _agent(QLearning(6, 3)))
    fresh.load_models(tmp_path)
    np.testing.assert_array_equal(
        fresh.agent_state("bid_policy").policy.values,
        trained.agent_state("bid_policy").policy.values,
    )
    fresh.decide(sample_requests(1, seed=2)[0], now=DEMO_START)
    assert set(fresh.agent_state("bid_policy").campaign_multiplier.tolist()) == {0.5}
    other = _engine(
        catalog, QBiddingAgent(policy=QLearning(9, 3), multipliers=MULTIPLIERS, hours=3)
    )
    before = other.agent_state("bid_policy")
    with pytest.raises(InvalidInput) as err:
        other.load_models(tmp_path)
    assert err.value.field == "models"
    assert other.agent_state("bid_policy") is before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"policy": "table"}, "policy"),
        ({"multipliers": (1.0, 0.5)}, "multipliers"),
        ({"multipliers": (1.0, 0.5, 2.5)}, "multipliers"),
        ({"multipliers": ("x", 1, 1)}, "multipliers"),
        ({"hours": 3}, "hours"),
        ({"pace_band": 1.0}, "pace_band"),
        ({"interval": 0.0}, "interval"),
        ({"plan": [1.0] * 23}, "plan"),
        ({"plan": [0.0] * 24}, "plan"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"policy": QLearning(6, 3), "multipliers": MULTIPLIERS, "hours": 2}
    args.update(kwargs)
    with pytest.raises(InvalidConfig) as err:
        QBiddingAgent(**args)
    assert err.value.field == field
