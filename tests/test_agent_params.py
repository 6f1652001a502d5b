"""Agents take the EngineConfig fields they use as constructor arguments (river's habit):
the same value given to an agent or to the engine decides the same way, a bad value is
refused as EngineConfig refuses it, and the arguments are stored, shown and pickled."""

from __future__ import annotations

import inspect
import math
import pickle
from typing import Any

import msgspec
import numpy as np
import pytest

import adcore
from adcore import Agent, Catalog, EngineConfig, InvalidConfig
from adcore import openrtb as rtb
from adcore.agents import (
    AuctionAgent,
    AudienceAgent,
    BiddingAgent,
    CreativeAgent,
    FraudAgent,
    InventoryAgent,
    PacingAgent,
    PrivacyAgent,
    RelevanceAgent,
    SafetyAgent,
    default_agents,
)
from adcore.decision import SlotDecision
from adcore.demo import DEMO_START, sample_requests

try:
    from tests.reference.tcf_encoder import encode_tc
except ImportError:  # pytest run without the project root on sys.path
    from reference.tcf_encoder import encode_tc  # type: ignore[no-redef]

BASE = EngineConfig(warmup=False, latency_budget_us=math.inf)
N_REQUESTS = 60
VENDOR = 77

AGENTS: list[type[Agent]] = [
    AuctionAgent,
    AudienceAgent,
    BiddingAgent,
    CreativeAgent,
    FraudAgent,
    InventoryAgent,
    PacingAgent,
    PrivacyAgent,
    RelevanceAgent,
    SafetyAgent,
]

ENGINE_ONLY = {"learner_slots", "max_imps", "max_pod", "seed", "explore", "reserve", "bid_shading"}
"""Fields the engine also needs outside the agent: they stay in EngineConfig only."""


def _plain_requests() -> list[rtb.BidRequest]:
    return sample_requests(N_REQUESTS, seed=1)


def _consenting_requests() -> list[rtb.BidRequest]:
    """The sample requests, each GDPR one with a TC string consenting for ``VENDOR``."""
    tc = encode_tc(purpose_consents={1, 2, 3, 4, 7}, vendor_consents={VENDOR})
    out = []
    for r in sample_requests(N_REQUESTS, seed=1):
        if r.regs is not None and r.regs.gdpr:
            r = msgspec.structs.replace(
                r, user=msgspec.structs.replace(r.user or rtb.User(), consent=tc)
            )
        out.append(r)
    return out


REQUESTS = {"plain": _plain_requests, "consenting": _consenting_requests}


def _slots(
    catalog: Catalog,
    config: EngineConfig,
    requests: list[rtb.BidRequest],
    agent: Agent | None = None,
) -> list[tuple[SlotDecision, ...]]:
    """The slots of each request decided by the default agents, ``agent`` replacing the
    default agent of its name."""
    agents = default_agents()
    if agent is not None:
        agents = [agent if a.name == agent.name else a for a in agents]
    engine = adcore.Engine(catalog, config, agents=agents)
    return [engine.decide(r, now=DEMO_START + i).slots for i, r in enumerate(requests)]


# (agent class, its arguments, the engine configuration both run under, requests)
DECISION_CASES = [
    (RelevanceAgent, {"relevance_scale": -3.0}, {}, "plain"),
    (FraudAgent, {"bot_patterns": ("mozilla",)}, {}, "plain"),
    (PacingAgent, {"pacing_interval": 1.0, "pacing_max_multiplier": 1000.0}, {}, "plain"),
    (InventoryAgent, {"reserve_min_auctions": 0.0}, {"reserve": "hard"}, "plain"),
    (PrivacyAgent, {"vendor_id": VENDOR}, {}, "consenting"),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "engine_fields", "requests"),
    DECISION_CASES,
    ids=[f"{c[0].__name__}-{','.join(c[1])}" for c in DECISION_CASES],
)
def test_an_argument_decides_like_the_engine_config_field(
    cls: type[Agent],
    kwargs: dict[str, Any],
    engine_fields: dict[str, Any],
    requests: str,
    catalog: Catalog,
) -> None:
    reqs = REQUESTS[requests]()
    config = msgspec.structs.replace(BASE, **engine_fields)
    by_agent = _slots(catalog, config, reqs, cls(**kwargs))
    by_config = _slots(catalog, msgspec.structs.replace(config, **kwargs), reqs)
    default = _slots(catalog, config, reqs)
    assert by_agent == by_config
    assert by_agent != default  # the argument matters on these requests


def test_the_agent_value_wins_over_the_engine_value(catalog: Catalog) -> None:
    reqs = _plain_requests()
    engine_config = msgspec.structs.replace(BASE, relevance_scale=-3.0)
    agent = RelevanceAgent(relevance_scale=BASE.relevance_scale)
    assert _slots(catalog, engine_config, reqs, agent) == _slots(catalog, BASE, reqs)
    assert _slots(catalog, engine_config, reqs) != _slots(catalog, BASE, reqs)


def test_the_engine_config_is_not_changed(catalog: Catalog) -> None:
    agents = [
        RelevanceAgent(relevance_scale=-3.0) if a.name == "relevance" else a
        for a in default_agents()
    ]
    engine = adcore.Engine(catalog, BASE, agents=agents)
    assert engine.config.relevance_scale == BASE.relevance_scale
    config = EngineConfig(relevance_scale=1.0)
    assert RelevanceAgent(relevance_scale=0.5).settings(config) is not config
    assert config.relevance_scale == 1.0
    assert RelevanceAgent().settings(config) is config


@pytest.mark.parametrize("cls", AGENTS, ids=lambda c: c.__name__)
def test_parameters_are_the_keyword_only_constructor_arguments(cls: type[Agent]) -> None:
    """Each agent declares the EngineConfig fields it takes; its constructor takes
    exactly those, keyword-only, named like the fields, each defaulting to None."""
    fields = {f.name for f in msgspec.structs.fields(EngineConfig)}
    taken = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in taken] == list(cls.parameters)
    for p in taken:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY
        assert p.default is None
        assert p.name in fields and p.name not in ENGINE_ONLY
        assert getattr(cls, p.name) is None  # subclasses that skip __init__ see None
    agent = cls()
    assert repr(agent) == f"{cls.__name__}()"
    assert agent.settings(BASE) is BASE


def test_the_agents_take_the_fields_they_read() -> None:
    assert RelevanceAgent.parameters == ("relevance_scale", "prior_strength")
    assert set(InventoryAgent.parameters) == {"reserve_decay", "reserve_min_auctions"}
    assert PrivacyAgent.parameters == ("vendor_id",)
    assert SafetyAgent.parameters == ("counter_slots",)
    assert set(AuctionAgent.parameters) == {
        "shading_decay",
        "shading_min_bids",
        "pod_node_budget",
        "pod_request_node_budget",
    }
    assert set(FraudAgent.parameters) == {
        "bot_patterns",
        "fraud_block_threshold",
        "fraud_discount_threshold",
        "fraud_rate_limit",
        "fraud_rate_window",
        "fraud_datacenter_score",
        "fraud_impossible_ip_score",
        "datacenter_cidrs",
        "counter_slots",
    }
    assert set(PacingAgent.parameters) == {
        "pacing_curve",
        "pacing_gain",
        "pacing_min_multiplier",
        "pacing_max_multiplier",
        "pacing_ki",
        "pacing_kd",
        "pacing_interval",
        "dual_step",
        "dual_max",
        "throttle_min",
        "throttle_smoothing",
        "forecast_bins",
        "forecast_alpha",
    }
    assert AudienceAgent.parameters == BiddingAgent.parameters == CreativeAgent.parameters == ()


CONFIGURED = [
    RelevanceAgent(relevance_scale=1.5, prior_strength=50),
    InventoryAgent(reserve_decay=0.99),
    PrivacyAgent(vendor_id=VENDOR),
    SafetyAgent(counter_slots=1024),
    AuctionAgent(pod_node_budget=16, shading_min_bids=10.0),
    FraudAgent(bot_patterns=["bot"], datacenter_cidrs=["10.0.0.0/8"], fraud_rate_limit=5),
    PacingAgent(pacing_curve=[1.0] * 24, forecast_bins=48, pacing_gain=5.0),
]


@pytest.mark.parametrize("agent", CONFIGURED, ids=lambda a: type(a).__name__)
def test_arguments_are_stored_under_their_own_names(agent: Agent) -> None:
    """Stored as EngineConfig holds them once validated (a list as a tuple, a whole
    number for a float field as a float), so the kernels see the engine's types."""
    given = {name: getattr(agent, name) for name in agent.parameters}
    assert {k: v for k, v in given.items() if v is not None}
    settings = agent.settings(BASE)
    for name, value in given.items():
        if value is None:
            assert getattr(settings, name) == getattr(BASE, name)
        else:
            assert getattr(settings, name) == value
            expected = getattr(msgspec.structs.replace(BASE, **{name: value}).validate(), name)
            assert value == expected and type(value) is type(expected)
    clone = type(agent)(**given)
    assert repr(clone) == repr(agent)


def test_values_are_converted_as_engine_config_converts_them() -> None:
    agent = FraudAgent(bot_patterns=["bot", "crawler"], fraud_rate_window=30)
    assert agent.bot_patterns == ("bot", "crawler")
    assert agent.fraud_rate_window == 30.0 and type(agent.fraud_rate_window) is float
    relevance = RelevanceAgent(prior_strength=50)
    assert relevance.prior_strength == 50.0 and type(relevance.prior_strength) is float


def test_repr_shows_only_the_arguments_given() -> None:
    assert repr(RelevanceAgent(relevance_scale=1.5)) == "RelevanceAgent(relevance_scale=1.5)"
    assert repr(RelevanceAgent()) == "RelevanceAgent()"
    assert (
        repr(AuctionAgent(pod_request_node_budget=100, shading_decay=0.99))
        == "AuctionAgent(shading_decay=0.99, pod_request_node_budget=100)"
    )
    assert repr(FraudAgent(bot_patterns=["bot"])) == "FraudAgent(bot_patterns=('bot',))"
    assert repr(PrivacyAgent(vendor_id=None)) == "PrivacyAgent()"


@pytest.mark.parametrize("agent", CONFIGURED, ids=lambda a: type(a).__name__)
def test_a_configured_agent_pickles(agent: Agent) -> None:
    back = pickle.loads(pickle.dumps(agent))
    assert type(back) is type(agent)
    assert repr(back) == repr(agent)
    for name in agent.parameters:
        assert getattr(back, name) == getattr(agent, name)
    assert back.settings(BASE) == agent.settings(BASE)


def test_a_pickled_agent_decides_the_same(catalog: Catalog) -> None:
    reqs = _plain_requests()
    agent = RelevanceAgent(relevance_scale=-3.0)
    back = pickle.loads(pickle.dumps(agent))
    assert _slots(catalog, BASE, reqs, back) == _slots(catalog, BASE, reqs, agent)


# (agent class, arguments, the field named) for values EngineConfig refuses.
BAD_VALUES = [
    (RelevanceAgent, {"relevance_scale": math.inf}, "relevance_scale"),
    (RelevanceAgent, {"relevance_scale": math.nan}, "relevance_scale"),
    (RelevanceAgent, {"relevance_scale": "2"}, "relevance_scale"),
    (RelevanceAgent, {"prior_strength": 0.0}, "prior_strength"),
    (RelevanceAgent, {"prior_strength": -1}, "prior_strength"),
    (InventoryAgent, {"reserve_decay": 1.5}, "reserve_decay"),
    (InventoryAgent, {"reserve_decay": 0.0}, "reserve_decay"),
    (InventoryAgent, {"reserve_min_auctions": -1.0}, "reserve_min_auctions"),
    (PrivacyAgent, {"vendor_id": 0}, "vendor_id"),
    (PrivacyAgent, {"vendor_id": 70000}, "vendor_id"),
    (PrivacyAgent, {"vendor_id": 7.5}, "vendor_id"),
    (SafetyAgent, {"counter_slots": 100}, "counter_slots"),
    (SafetyAgent, {"counter_slots": 32}, "counter_slots"),
    (AuctionAgent, {"shading_decay": 0.0}, "shading_decay"),
    (AuctionAgent, {"shading_min_bids": -1.0}, "shading_min_bids"),
    (AuctionAgent, {"pod_node_budget": 0}, "pod_node_budget"),
    (AuctionAgent, {"pod_request_node_budget": 1 << 31}, "pod_request_node_budget"),
    (FraudAgent, {"bot_patterns": ("bot", "")}, "bot_patterns"),
    (FraudAgent, {"bot_patterns": "bot"}, "bot_patterns"),
    (FraudAgent, {"fraud_block_threshold": 0.0}, "fraud_block_threshold"),
    (FraudAgent, {"fraud_discount_threshold": 1.5}, "fraud_discount_threshold"),
    (FraudAgent, {"fraud_rate_limit": 0}, "fraud_rate_limit"),
    (FraudAgent, {"fraud_rate_limit": True}, "fraud_rate_limit"),
    (FraudAgent, {"fraud_rate_limit": np.int64(5)}, "fraud_rate_limit"),
    (FraudAgent, {"fraud_rate_window": 0.0}, "fraud_rate_window"),
    (FraudAgent, {"fraud_datacenter_score": -0.1}, "fraud_datacenter_score"),
    (FraudAgent, {"fraud_impossible_ip_score": 2.0}, "fraud_impossible_ip_score"),
    (FraudAgent, {"datacenter_cidrs": ("10.0.0.0/99",)}, "datacenter_cidrs"),
    (PacingAgent, {"pacing_curve": (1.0,) * 23}, "pacing_curve"),
    (PacingAgent, {"pacing_curve": (0.0,) * 24}, "pacing_curve"),
    (PacingAgent, {"pacing_gain": -1.0}, "pacing_gain"),
    (PacingAgent, {"pacing_min_multiplier": 1.5}, "pacing_min_multiplier"),
    (PacingAgent, {"pacing_max_multiplier": 0.5}, "pacing_max_multiplier"),
    (PacingAgent, {"pacing_ki": math.inf}, "pacing_ki"),
    (PacingAgent, {"pacing_kd": -0.5}, "pacing_kd"),
    (PacingAgent, {"pacing_interval": 0.0}, "pacing_interval"),
    (PacingAgent, {"dual_step": 0.0}, "dual_step"),
    (PacingAgent, {"dual_max": math.inf}, "dual_max"),
    (PacingAgent, {"throttle_min": 1.5}, "throttle_min"),
    (PacingAgent, {"throttle_smoothing": 0.0}, "throttle_smoothing"),
    (PacingAgent, {"forecast_bins": 7}, "forecast_bins"),
    (PacingAgent, {"forecast_alpha": 0.0}, "forecast_alpha"),
    # a bad value among good ones: the bad one is named
    (PacingAgent, {"pacing_gain": 5.0, "forecast_alpha": 2.0}, "forecast_alpha"),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    BAD_VALUES,
    ids=[f"{c[0].__name__}-{c[2]}-{i}" for i, c in enumerate(BAD_VALUES)],
)
def test_a_bad_value_is_refused_naming_the_field(
    cls: type[Agent], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidConfig, match=field) as refused:
        cls(**kwargs)
    assert refused.value.field == field
    assert cls.__name__ in str(refused.value)
    # exactly EngineConfig's rule: it refuses the same value for the same field
    with pytest.raises(InvalidConfig) as by_config:
        msgspec.structs.replace(EngineConfig(), **kwargs).validate()
    assert by_config.value.field in (field, None)


class _OwnInit(RelevanceAgent):
    """A subclass with its own constructor that does not call the base's."""

    def __init__(self, label: str) -> None:
        self.label = label


class _Passing(RelevanceAgent):
    """A subclass that passes an argument on to the base's constructor."""

    def __init__(self, label: str, relevance_scale: float | None = None) -> None:
        super().__init__(relevance_scale=relevance_scale)
        self.label = label


def test_subclasses_keep_working(catalog: Catalog) -> None:
    reqs = _plain_requests()
    own = _OwnInit("x")
    assert repr(own) == "_OwnInit()"
    assert own.settings(BASE) is BASE
    assert _slots(catalog, BASE, reqs, own) == _slots(catalog, BASE, reqs)
    passing = _Passing("y", relevance_scale=-3.0)
    assert repr(passing) == "_Passing(relevance_scale=-3.0)"
    assert _slots(catalog, BASE, reqs, passing) == _slots(
        catalog, BASE, reqs, RelevanceAgent(relevance_scale=-3.0)
    )
    with pytest.raises(InvalidConfig, match="relevance_scale"):
        _Passing("z", relevance_scale=math.nan)
