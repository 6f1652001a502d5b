"""Saving and loading the learning agents' models (``Engine.save_models`` /
``Engine.load_models``): a round trip gives identical decisions, learning goes on from
the loaded model, and a bad artifact raises a clear error and changes nothing."""

from __future__ import annotations

import math
from pathlib import Path

import msgspec
import numpy as np
import pytest

from adcore import Catalog, Engine, EngineConfig
from adcore.agents import BanditCreativeAgent, ContextualRelevanceAgent, default_agents
from adcore.artifacts import ARTIFACT_FILE, AgentModel, ModelArtifact
from adcore.demo import DEMO_START, sample_requests
from adcore.errors import InvalidInput
from adcore.events import Click, Complete, Impression, Skip
from adcore.learn import FTRLProximal, LinUCB
from adcore.sim.baseline import learned_agents

CONFIG = EngineConfig(latency_budget_us=math.inf)


def _trained(catalog: Catalog) -> Engine:
    engine = Engine(catalog, CONFIG, agents=learned_agents())
    t = DEMO_START
    for n, request in enumerate(sample_requests(300, seed=21)):
        t += 1.0
        for slot in engine.decide(request, now=t).winners:
            iid = slot.impression_id
            assert iid is not None
            engine.feedback(Impression(impression_id=iid, timestamp=t))
            if n % 3 == 0:
                engine.feedback(Click(impression_id=iid, timestamp=t + 2))
                engine.feedback(Complete(impression_id=iid, timestamp=t + 2))
            else:
                engine.feedback(Skip(impression_id=iid, timestamp=t + 1))
    return engine


def _models(engine: Engine) -> tuple[object, object]:
    return (
        engine.agent_state("relevance").model.state(),
        engine.agent_state("creative").policy.state(),
    )


def test_a_round_trip_gives_identical_decisions(catalog: Catalog, tmp_path: Path) -> None:
    trained = _trained(catalog)
    path = trained.save_models(tmp_path / "models")
    assert path == tmp_path / "models" / ARTIFACT_FILE
    assert not [p for p in path.parent.iterdir() if p.name != ARTIFACT_FILE]  # no temp left
    one, two = (Engine(catalog, CONFIG, agents=learned_agents()) for _ in range(2))
    fresh = _models(one)
    one.load_models(path.parent)
    two.load_models(path.parent)
    assert _models(one) == _models(trained) == _models(two) != fresh
    requests = sample_requests(200, seed=22)
    decide = [
        [e.decide(r, now=DEMO_START + 5000 + i) for i, r in enumerate(requests)] for e in (one, two)
    ]
    assert decide[0] == decide[1]
    # Learning goes on from the loaded model, in both engines alike.
    t = DEMO_START + 6000
    for e in (one, two):
        for decision in decide[0]:
            for slot in decision.winners:
                e.feedback(Impression(impression_id=slot.impression_id, timestamp=t))
                e.feedback(Click(impression_id=slot.impression_id, timestamp=t + 2))
                e.feedback(Complete(impression_id=slot.impression_id, timestamp=t + 2))
    assert _models(one) == _models(two) != _models(trained)


def test_scores_after_loading_are_the_trained_engine_s(catalog: Catalog, tmp_path: Path) -> None:
    trained = _trained(catalog)
    trained.save_models(tmp_path)
    loaded = Engine(catalog, CONFIG, agents=learned_agents())
    loaded.load_models(tmp_path)
    for engine_ in (trained, loaded):
        engine_.decide(sample_requests(1, seed=23)[0], now=DEMO_START)
    scores = []
    for engine_ in (trained, loaded):
        live = engine_._live
        ctx = engine_._context(live)
        from adcore.features import fill_features

        fill_features(ctx, sample_requests(1, seed=24)[0], DEMO_START, CONFIG.exchange_rates)
        for agent in engine_._plan:
            agent.run(ctx, live.states[agent.name])
            if agent.name == "relevance":
                break
        scores.append(ctx.score.copy())
    np.testing.assert_array_equal(scores[0], scores[1])
    assert (scores[0] > 0).any()


def _artifact(tmp_path: Path, models: dict[str, AgentModel], version: int = 1) -> Path:
    art = ModelArtifact(version=version, models=models)
    (tmp_path / ARTIFACT_FILE).write_bytes(msgspec.msgpack.encode(art))
    return tmp_path


def _good(kind: str) -> bytes:
    if kind == "ftrl":
        return msgspec.msgpack.encode(FTRLProximal(bits=10).state())
    return msgspec.msgpack.encode(LinUCB(3, 4).state())


@pytest.mark.parametrize(
    ("make", "field", "pattern"),
    [
        (lambda p: p / "nowhere", "path", "cannot read"),
        (lambda p: (p / ARTIFACT_FILE).write_bytes(b"\x92junk") and p, "path", "not a model"),
        (lambda p: _artifact(p, {}, version=9), "path", "artifact version 9"),
        (
            lambda p: _artifact(p, {"pricing": AgentModel(agent="X", kind="ftrl", data=b"")}),
            "models",
            "no such agent",
        ),
        (
            lambda p: _artifact(
                p, {"relevance": AgentModel(agent="RelevanceAgent", kind="ftrl", data=b"")}
            ),
            "models",
            "saved by RelevanceAgent",
        ),
        (
            lambda p: _artifact(
                p,
                {
                    "relevance": AgentModel(
                        agent="ContextualRelevanceAgent", kind="bandit", data=_good("bandit")
                    )
                },
            ),
            "models",
            "loads an 'ftrl' model",
        ),
        (
            lambda p: _artifact(
                p,
                {
                    "relevance": AgentModel(
                        agent="ContextualRelevanceAgent",
                        kind="ftrl",
                        data=msgspec.msgpack.encode(FTRLProximal(bits=4).state()),
                    )
                },
            ),
            "models",
            "at least 8 bits",
        ),
        (
            lambda p: _artifact(
                p,
                {
                    "relevance": AgentModel(
                        agent="ContextualRelevanceAgent", kind="ftrl", data=_good("ftrl")
                    ),
                    "creative": AgentModel(
                        agent="BanditCreativeAgent",
                        kind="bandit",
                        data=msgspec.msgpack.encode(LinUCB(2, 4).state()),
                    ),
                },
            ),
            "models",
            "3 arms and dimension 4",
        ),
        (
            lambda p: _artifact(
                p,
                {"creative": AgentModel(agent="BanditCreativeAgent", kind="bandit", data=b"\x01")},
            ),
            "models",
            "a bad bandit model",
        ),
    ],
)
def test_a_bad_artifact_changes_nothing(
    catalog: Catalog, tmp_path: Path, make: object, field: str, pattern: str
) -> None:
    engine = _trained(catalog)
    live, models = engine._live, _models(engine)
    directory = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InvalidInput, match=pattern) as err:
        engine.load_models(directory)
    assert err.value.field == field
    assert engine._live is live and _models(engine) == models


def test_an_engine_without_learners_has_nothing_to_save(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no agent") as err:
        Engine(catalog, CONFIG).save_models(tmp_path)
    assert err.value.field == "models"


def test_a_partial_artifact_leaves_the_other_learners(catalog: Catalog, tmp_path: Path) -> None:
    """Only the relevance model saved (an engine with the default creative agent); loading
    it into a learned engine replaces the relevance model and keeps the creative one."""
    agents = [ContextualRelevanceAgent() if a.name == "relevance" else a for a in default_agents()]
    source = Engine(catalog, CONFIG, agents=agents)
    source.agent_state("relevance").model.learn((np.array([7], dtype=np.int64), np.array([1.0])), 1)
    source.save_models(tmp_path)
    target = _trained(catalog)
    creative = target.agent_state("creative").policy.state()
    target.load_models(tmp_path)
    assert target.agent_state("relevance").model.state() == (
        source.agent_state("relevance").model.state()
    )
    assert target.agent_state("creative").policy.state() == creative
    assert isinstance(target._plan[-2], BanditCreativeAgent)
