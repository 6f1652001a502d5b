"""The contract every agent in ``adcore.agents.__all__`` keeps (discovered, not listed)."""

from __future__ import annotations

import inspect
import pickle

import pytest

import adcore.agents as agents_module
from adcore import Agent, Catalog, Engine, EngineConfig
from adcore.agents import default_agents
from adcore.context import FIELDS, changed_outside, watch
from adcore.demo import DEMO_START, sample_requests

AGENTS = sorted(
    (
        obj
        for name in agents_module.__all__
        if inspect.isclass(obj := getattr(agents_module, name))
        and issubclass(obj, Agent)
        and obj is not Agent
    ),
    key=lambda cls: cls.__name__,
)


def test_all_agents_are_discovered() -> None:
    """The ten default agents, the learning alternatives to relevance and creative, and
    the learned bid policy (an agent added to a plan, not a replacement)."""
    assert len(AGENTS) == 13
    assert {a.name for a in default_agents()} | {"bid_policy"} == {cls.name for cls in AGENTS}


@pytest.mark.parametrize("cls", AGENTS, ids=lambda c: c.__name__)
def test_declarations(cls: type[Agent]) -> None:
    assert cls.__doc__ and cls.__doc__.strip()
    assert inspect.getmodule(cls).__doc__  # type: ignore[union-attr]
    assert isinstance(cls.name, str) and cls.name
    assert cls.reads <= FIELDS and cls.writes <= FIELDS
    assert isinstance(cls.optional, bool)
    agent = cls()
    assert pickle.loads(pickle.dumps(agent)).name == agent.name


@pytest.mark.parametrize("cls", AGENTS, ids=lambda c: c.__name__)
def test_agent_writes_only_what_it_declares(cls: type[Agent], catalog: Catalog) -> None:
    """Running one agent on a context changes nothing the registry gives to a field it
    does not declare in ``writes``, and replaces no array."""
    plan = [a if a.name != cls.name else cls() for a in default_agents()]
    if cls.name not in {a.name for a in plan}:
        plan.append(cls())
    engine = Engine(catalog, EngineConfig(latency_budget_us=float("inf")), agents=plan)
    live = engine._live  # the contract is about the agent, run in isolation
    ctx = engine._context(live)
    for request in sample_requests(12, seed=5):
        engine.decide(request, now=DEMO_START)  # a realistic context to start from
        before = watch(ctx)
        agent = next(a for a in engine._plan if isinstance(a, cls))
        agent.run(ctx, live.states[agent.name])
        assert changed_outside(ctx, before, agent.reads, agent.writes) == []


def test_same_seed_same_decisions(catalog: Catalog) -> None:
    cfg = EngineConfig(explore=0.3, seed=11, latency_budget_us=float("inf"))
    requests = sample_requests(80, seed=6)
    runs = []
    for _ in range(2):
        engine = Engine(catalog, cfg)
        runs.append([engine.decide(r, now=DEMO_START + i) for i, r in enumerate(requests)])
    assert runs[0] == runs[1]
    other = Engine(catalog, EngineConfig(explore=0.3, seed=12, latency_budget_us=float("inf")))
    assert [other.decide(r, now=DEMO_START + i) for i, r in enumerate(requests)] != runs[0]


def test_deciding_does_not_mutate_the_request_or_catalog(catalog: Catalog) -> None:
    requests = sample_requests(30, seed=8)
    copies = [r.__copy__() for r in requests]
    ads_before = catalog.ads
    engine = Engine(catalog)
    for i, r in enumerate(requests):
        engine.decide(r, now=DEMO_START + i)
    assert requests == copies
    assert catalog.ads is ads_before
    for name in ("ad_embedding", "camp_daily", "ad_campaign"):
        assert not getattr(catalog.snapshot, name).flags.writeable
