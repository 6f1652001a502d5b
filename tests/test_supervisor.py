"""Knobs, Tune control messages and the supervisor that sends them."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pytest

from adcore import Agent, Engine, InvalidEvent, InvalidInput
from adcore.agents import default_agents
from adcore.catalog import Catalog
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.events import Outcome, SpendCharged, Tune
from adcore.learn import EpsilonGreedy, FTRLProximal, LinUCB, hash_features
from adcore.sim import simulate
from adcore.sim.baseline import learned_agents
from adcore.supervisor import Guardrail, Supervisor

T0 = DEMO_START


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return sample_catalog(n_ads=40, dimension=8, seed=3)


def _tune(agent: str, knob: str, value: Any, at: float = T0) -> Tune:
    return Tune(agent=agent, knob=knob, value=value, by="ops", reason="test", timestamp=at)


# ---------------------------------------------------------------------- the knobs
def test_a_tune_sets_the_knob_and_is_audited_and_explained(catalog: Catalog) -> None:
    engine = Engine(catalog, agents=learned_agents())
    assert engine.knobs() == {
        "relevance": {"learning_rate": 0.02},
        "creative": {"exploration": 0.5},
    }
    engine.control(_tune("relevance", "learning_rate", 0.05))
    engine.control(_tune("creative", "exploration", 1.5))
    assert engine.knobs() == {
        "relevance": {"learning_rate": 0.05},
        "creative": {"exploration": 1.5},
    }
    assert [m.value for m in engine.audit_log if isinstance(m, Tune)] == [0.05, 1.5]
    request = sample_requests(1, seed=4)[0]
    decision = engine.decide(request, now=T0 + 1.0, trace=True)
    text = engine.explain(decision)
    assert "learning_rate=0.05" in text and "exploration=1.5" in text


def test_replaying_a_recorded_bus_applies_the_tunes(catalog: Catalog) -> None:
    source = Engine(catalog, agents=learned_agents())
    source.bus.start_recording()
    source.control(_tune("relevance", "learning_rate", 0.07))
    source.control(_tune("creative", "exploration", 0.0))
    copy = Engine(catalog, agents=learned_agents())
    assert copy.bus.replay(source.bus.recording()) == 2
    assert (
        copy.knobs()
        == source.knobs()
        == {
            "relevance": {"learning_rate": 0.07},
            "creative": {"exploration": 0.0},
        }
    )
    assert copy.audit_log == source.audit_log


@pytest.mark.parametrize(
    ("agent", "knob", "value", "field"),
    [
        ("nobody", "learning_rate", 0.1, "agent"),
        ("relevance", "exploration", 0.1, "knob"),
        ("pacing", "learning_rate", 0.1, "knob"),
        ("relevance", "learning_rate", 0.0, "value"),
        ("relevance", "learning_rate", -1.0, "value"),
        ("relevance", "learning_rate", math.inf, "value"),
        ("relevance", "learning_rate", "fast", "value"),
        ("creative", "exploration", -0.5, "value"),
        ("", "learning_rate", 0.1, "agent"),
        ("relevance", "", 0.1, "knob"),
    ],
)
def test_a_bad_tune_names_its_field_and_changes_nothing(
    catalog: Catalog, agent: str, knob: str, value: Any, field: str
) -> None:
    engine = Engine(catalog, agents=learned_agents())
    before = engine.knobs()
    with pytest.raises(InvalidEvent) as err:
        engine.control(_tune(agent, knob, value))
    assert err.value.field == field
    assert engine.knobs() == before
    assert engine.audit_log == ()


def test_the_default_agents_have_no_knobs(catalog: Catalog) -> None:
    engine = Engine(catalog)
    assert engine.knobs() == {}
    with pytest.raises(InvalidEvent):
        engine.control(_tune("relevance", "learning_rate", 0.1))


def test_a_new_learning_rate_rescales_the_stored_weights() -> None:
    """With no L1 or L2 a weight is ``-z * alpha / (beta + sqrt(n))``: proportional to
    alpha, so changing the rate scales every weight by the ratio of the rates."""
    model = FTRLProximal(bits=8, alpha=0.1, l1=0.0, l2=0.0)
    rng = np.random.default_rng(0)
    rows = [hash_features({"ad": f"a{i % 5}", "dev": str(i % 3)}) for i in range(200)]
    for row in rows:
        model.learn(row, float(rng.random() < 0.3))
    before = np.concatenate([model.weights(r) for r in rows[:10]])
    model.set_learning_rate(0.25)
    after = np.concatenate([model.weights(r) for r in rows[:10]])
    np.testing.assert_allclose(after, before * 2.5, rtol=1e-12)
    assert model.alpha == 0.25 and "alpha=0.25" in repr(model)
    with pytest.raises(InvalidInput) as err:
        model.set_learning_rate(-1.0)
    assert err.value.field == "alpha" and model.alpha == 0.25


def test_a_bandit_exploration_is_checked_and_takes_effect() -> None:
    ucb = LinUCB(2, 1, alpha=0.0)
    ucb.learn_batch([0, 0, 0], [[1.0]] * 3, [0.6, 0.6, 0.6])  # arm 1 never tried
    assert ucb.choose([1.0]).arm == 0
    ucb.exploration = 5.0  # the untried arm's bound now wins
    assert ucb.alpha == 5.0 and ucb.choose([1.0]).arm == 1
    greedy = EpsilonGreedy(2, 1, epsilon=0.1, seed=0)
    with pytest.raises(InvalidInput) as err:
        greedy.exploration = 1.5
    assert err.value.field == "epsilon" and greedy.epsilon == 0.1


# ---------------------------------------------------------------------- the supervisor
class _Learner(Agent):
    """A user's learning agent: two knobs and a drift counter, no work per request."""

    name: ClassVar[str] = "learner"
    reads: ClassVar[frozenset[str]] = frozenset({"bid"})
    writes: ClassVar[frozenset[str]] = frozenset({"multiplier"})
    knobs: ClassVar[tuple[str, ...]] = ("learning_rate", "exploration")

    def bind(self, snapshot: Any, previous: Any, services: Any) -> Any:
        return previous or {"learning_rate": 0.1, "exploration": 0.2, "drifts": 0}

    def run(self, ctx: Any, state: Any) -> None:
        return None

    def knob(self, state: Any, name: str) -> float:
        return float(state[name])

    def tune(self, state: Any, name: str, value: float) -> None:
        if value <= 0:
            raise InvalidInput(f"{name} must be > 0", "value")
        state[name] = value

    def monitor(self, state: Any) -> dict[str, float]:
        return {"drifts": float(state["drifts"])}


def _engine(catalog: Catalog) -> Engine:
    return Engine(catalog, agents=[*default_agents(), _Learner()])


def _window(engine: Engine, start: float, skips: int, completes: int) -> None:
    """Publish a window's outcomes (for an ad no agent knows) at times from ``start``."""
    kinds = ["skip"] * skips + ["complete"] * completes
    for k, kind in enumerate(kinds):
        engine.bus.publish(
            Outcome(
                kind=kind,
                impression_id=f"i{start}-{k}",
                ad_id="elsewhere",
                campaign_id="elsewhere",
                creative_id="elsewhere",
                timestamp=start + k * 0.01,
            )
        )


def test_skips_above_the_usual_rate_raise_exploration_only(catalog: Catalog) -> None:
    engine = _engine(catalog)
    sup = Supervisor(engine, window=60.0, min_events=50)
    for w in range(3):  # three calm windows: skip rate 0.3
        _window(engine, T0 + 60.0 * w, 30, 70)
    _window(engine, T0 + 180.0, 60, 40)  # skip rate 0.6
    _window(engine, T0 + 240.0, 30, 70)  # closes the fourth window
    reviews = sup.reviews
    assert [r.rule for r in reviews] == ["calm", "calm", "calm", "skips"]
    assert reviews[-1].skip_rate == pytest.approx(0.6)
    assert reviews[-1].usual_skip_rate == pytest.approx(0.3)
    assert engine.knobs()["learner"] == {"learning_rate": 0.1, "exploration": 0.4}
    (tune,) = reviews[-1].tunes
    assert (tune.agent, tune.knob, tune.value) == ("learner", "exploration", 0.4)
    assert tune.by == "supervisor"
    assert "skip rate 0.600" in tune.reason
    assert engine.audit_log == (tune,)
    _window(engine, T0 + 300.0, 30, 70)  # calm again: half-way back to 0.2
    assert engine.knobs()["learner"]["exploration"] == pytest.approx(0.3)


def test_a_drift_raises_every_knob_within_its_guardrails(catalog: Catalog) -> None:
    engine = _engine(catalog)
    guard = [
        Guardrail(agent="learner", knob="learning_rate", low=0.05, high=0.3),
        Guardrail(agent="learner", knob="exploration", low=0.2, high=0.5),
    ]
    sup = Supervisor(engine, guardrails=guard, window=60.0, boost=2.0)
    state = engine.agent_state("learner")
    for w in range(4):
        state["drifts"] += 1  # the learner's drift test fired in this window
        _window(engine, T0 + 60.0 * w, 5, 5)
    values = [(t.knob, t.value) for r in sup.reviews for t in r.tunes]
    assert [r.rule for r in sup.reviews] == ["drift"] * 3
    assert values == [
        ("learning_rate", 0.2),
        ("exploration", 0.4),
        ("learning_rate", 0.3),  # capped at its high bound
        ("exploration", 0.5),
    ]
    assert engine.knobs()["learner"] == {"learning_rate": 0.3, "exploration": 0.5}
    # Calm windows bring both back to their base values, step by step, never below.
    for w in range(4, 20):
        _window(engine, T0 + 60.0 * w, 5, 5)
    assert engine.knobs()["learner"] == {"learning_rate": 0.1, "exploration": 0.2}
    bounds = {g.knob: (g.low, g.high) for g in guard}
    tunes = [m for m in engine.audit_log if isinstance(m, Tune)]
    assert len(tunes) == len(engine.audit_log)
    assert all(bounds[m.knob][0] <= m.value <= bounds[m.knob][1] for m in tunes)


def test_the_review_records_spend_and_value(catalog: Catalog) -> None:
    engine = _engine(catalog)
    sup = Supervisor(engine, window=60.0)
    engine.bus.publish(SpendCharged(campaign_id="c", amount_micros=1_500_000, timestamp=T0))
    engine.bus.publish(SpendCharged(campaign_id="c", amount_micros=500_000, timestamp=T0 + 1))
    engine.bus.publish(
        Outcome(
            kind="conversion", impression_id="x", ad_id="a", campaign_id="c",
            creative_id="a", timestamp=T0 + 2, value=7.5,
        )
    )  # fmt: skip
    review = sup.review(T0 + 10.0)
    assert review is not None
    assert (review.spend, review.value, review.conversions) == (2.0, 7.5, 1)
    assert math.isnan(review.skip_rate) and review.rule == "calm" and review.tunes == ()
    sup.close()
    _window(engine, T0 + 100.0, 5, 5)
    assert len(sup.reviews) == 1  # no longer watching


def _guard(agent: str, knob: str, low: Any, high: Any) -> Guardrail:
    return Guardrail(agent=agent, knob=knob, low=low, high=high)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window": 0.0}, "window"),
        ({"window": math.nan}, "window"),
        ({"boost": 1.0}, "boost"),
        ({"skip_margin": 2.0}, "skip_margin"),
        ({"min_events": 0}, "min_events"),
        ({"by": ""}, "by"),
        ({"guardrails": [_guard("x", "learning_rate", 0, 1)]}, "guardrails"),
        ({"guardrails": [_guard("learner", "speed", 0, 1)]}, "guardrails"),
        ({"guardrails": [_guard("learner", "exploration", 0.3, 1)]}, "guardrails"),  # 0.2 now
        ({"guardrails": [_guard("learner", "exploration", "0", 1)]}, "guardrails"),
        ({"guardrails": [_guard("learner", "exploration", 0, 1)] * 2}, "guardrails"),
        ({"guardrails": "learner"}, "guardrails"),
    ],
)
def test_bad_supervisor_arguments_are_named(
    catalog: Catalog, kwargs: dict[str, Any], field: str
) -> None:
    engine = _engine(catalog)
    watching = len(engine.bus.subscribers(Outcome))
    with pytest.raises(InvalidInput) as err:
        Supervisor(engine, **kwargs)
    assert err.value.field == field
    assert len(engine.bus.subscribers(Outcome)) == watching  # not attached


def test_the_supervised_arm_runs_in_the_simulator() -> None:
    results = simulate("drift", arms=("supervised",), requests=4000, seeds=1, progress=False)
    assert results.arms == ("supervised",)
    assert 0.0 < results.runs[0].metrics["delivery"] <= 1.0
