"""The bandit creative agent (``adcore.agents.BanditCreativeAgent``): the cut rules
against a plain-Python reference, recorded propensities against observed frequencies
(Monte Carlo, fixed seeds), learning which rule completes in which focus state, replay
of outcomes, the fallback and bad arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adcore import Catalog, Engine, EngineConfig, InvalidConfig
from adcore._kernels.creative import (
    FOCUS_BACKGROUND,
    FOCUS_HIGH,
    RULE_DEFAULT,
    RULE_LONGEST,
    RULE_SHORTEST,
    choose_variants_by_rule,
)
from adcore.agents import BanditCreativeAgent, default_agents
from adcore.demo import DEMO_START, sample_requests
from adcore.events import Complete, Impression, Outcome, Skip
from adcore.features import fill_features
from adcore.learn import EpsilonGreedy, LinearThompsonSampling, LinUCB


def _engine(catalog: Catalog, agent: BanditCreativeAgent, **config: object) -> Engine:
    plan = [agent if a.name == "creative" else a for a in default_agents()]
    cfg = EngineConfig(latency_budget_us=math.inf, **config)  # type: ignore[arg-type]
    return Engine(catalog, cfg, agents=plan)


def _reference(ctx: object, snap: object, rule: int, before: np.ndarray) -> np.ndarray:
    """The variant each eligible audio/video candidate plays under ``rule``, written from
    the kernel's docstring."""
    out = before.copy()
    if rule not in (RULE_SHORTEST, RULE_LONGEST):
        return out
    for k in range(ctx.n_imp):  # type: ignore[attr-defined]
        for i in ctx.cand[: ctx.n_cand].tolist():  # type: ignore[attr-defined]
            fmt = int(snap.ad_format[i])  # type: ignore[attr-defined]
            if ctx.reason[k, i] != 0 or fmt == 0:  # type: ignore[attr-defined]
                continue
            fits = []
            for v in range(int(snap.var_ptr[i]), int(snap.var_ptr[i + 1])):  # type: ignore[attr-defined]
                d = float(snap.var_duration[v])  # type: ignore[attr-defined]
                mimes = int(ctx.imp_mimes[k, fmt])  # type: ignore[attr-defined]
                protocols = int(ctx.imp_protocols[k, fmt])  # type: ignore[attr-defined]
                vp = int(snap.var_protocols[v])  # type: ignore[attr-defined]
                if not ctx.imp_mindur[k, fmt] <= d <= ctx.imp_maxdur[k, fmt]:  # type: ignore[attr-defined]
                    continue
                if mimes and not int(snap.var_mimes[v]) & mimes:  # type: ignore[attr-defined]
                    continue
                if protocols and vp and not vp & protocols:
                    continue
                fits.append((d, v))
            if fits:
                pick = (
                    min(fits) if rule == RULE_SHORTEST else max(fits, key=lambda f: (f[0], -f[1]))
                )
                out[k, i] = pick[1]
    return out


@pytest.mark.parametrize("rule", [RULE_DEFAULT, RULE_SHORTEST, RULE_LONGEST])
def test_the_rules_follow_the_reference(catalog: Catalog, rule: int) -> None:
    engine = Engine(catalog, EngineConfig(latency_budget_us=math.inf))
    live = engine._live
    ctx = engine._context(live)
    snap = catalog.snapshot
    changed = 0
    for request in sample_requests(60, seed=12):
        fill_features(ctx, request, DEMO_START, engine.config.exchange_rates)
        for agent in engine._plan:
            if agent.name == "creative":
                break
            agent.run(ctx, live.states[agent.name])
        before = ctx.creative.copy()
        expected = _reference(ctx, snap, rule, before)
        choose_variants_by_rule(
            ctx.creative, ctx.reason, ctx.n_imp, snap.ad_format, snap.var_ptr,
            snap.var_duration, snap.var_mimes, snap.var_protocols, ctx.imp_mimes,
            ctx.imp_protocols, ctx.imp_mindur, ctx.imp_maxdur, rule, ctx.cand, ctx.n_cand,
        )  # fmt: skip
        np.testing.assert_array_equal(ctx.creative, expected)
        changed += int((ctx.creative != before).sum())
    # The demo catalog lists each ad's longest cut first (its default): the shortest
    # rule changes cuts, the default rule none.
    assert (changed > 0) == (rule == RULE_SHORTEST)


def test_recorded_propensities_are_the_choice_frequencies(catalog: Catalog) -> None:
    """An epsilon-greedy policy (epsilon 0.3, nothing learned, so the greedy rule is
    the first): over 3,000 traced decisions each rule is chosen with the frequency its
    recorded propensity says, within 5 binomial standard errors, and every sold slot's
    propensity is the auction's (1, no exploration) times the rule's."""
    agent = BanditCreativeAgent(policy=EpsilonGreedy(3, 4, epsilon=0.3, seed=5))
    engine = _engine(catalog, agent)
    requests = sample_requests(3000, seed=13)
    counts = np.zeros(3)
    recorded: dict[str, set[float]] = {"default": set(), "shortest": set(), "longest": set()}
    for n, request in enumerate(requests):
        decision = engine.decide(request, now=DEMO_START + n, trace=True)
        assert decision.trace is not None
        notes = next(a for a in decision.trace.agents if a.agent == "creative").notes
        rule, p = str(notes["rule"]), float(notes["propensity"])
        counts[("default", "shortest", "longest").index(rule)] += 1
        recorded[rule].add(p)
        for slot in decision.winners:
            assert slot.propensity == pytest.approx(p, rel=1e-6)
    expected = {"default": 0.7 + 0.1, "shortest": 0.1, "longest": 0.1}
    for j, rule in enumerate(("default", "shortest", "longest")):
        assert recorded[rule] and all(abs(p - expected[rule]) < 1e-6 for p in recorded[rule])
        q = expected[rule]
        se = math.sqrt(q * (1 - q) / len(requests))
        assert abs(counts[j] / len(requests) - q) < 5 * se


def _outcome(kind: str, focus: int, rule: int, n: int) -> Outcome:
    return Outcome(
        kind=kind,
        impression_id=f"i{n}",
        ad_id="a",
        campaign_id="c",
        creative_id="a",
        timestamp=float(n),
        focus=focus,
        creative_rule=rule,
    )


@pytest.mark.parametrize(
    "policy",
    [
        LinUCB(3, 4, alpha=0.5),
        LinearThompsonSampling(3, 4, v=0.3, seed=2),
        EpsilonGreedy(3, 4, epsilon=0.1, seed=2),
    ],
    ids=["linucb", "thompson", "epsilon-greedy"],
)
def test_it_learns_which_rule_completes_in_which_focus_state(
    catalog: Catalog, policy: LinUCB | LinearThompsonSampling | EpsilonGreedy
) -> None:
    """Outcomes in which the shortest cut completes 90 % of the time under high focus
    and the longest 90 % in the background, every other rule 30 % (fixed seed): after
    the agent's own choices over 600 plays per state, its greedy choice is the right
    rule in both."""
    engine = _engine(catalog, BanditCreativeAgent(policy=policy))
    state = engine.agent_state("creative")
    agent = next(a for a in engine._plan if a.name == "creative")
    rng = np.random.default_rng(0)
    best = {FOCUS_HIGH: RULE_SHORTEST, FOCUS_BACKGROUND: RULE_LONGEST}
    from adcore.agents.creative import _choose_rule

    class _Ctx:
        creative_rule = -1
        creative_propensity = 1.0

        def __init__(self, focus: int) -> None:
            self.focus = focus

    n = 0
    for _ in range(600):
        for focus, right in best.items():
            ctx = _Ctx(focus)
            _choose_rule(ctx, state)  # type: ignore[arg-type]
            p = 0.9 if ctx.creative_rule == right else 0.3
            kind = "complete" if rng.random() < p else "skip"
            agent.learn(_outcome(kind, focus, ctx.creative_rule, n), state)
            n += 1
    for focus, right in best.items():
        greedy = LinUCB(3, 4, alpha=0.0)
        greedy._a_inv[:], greedy._b[:] = state.policy._a_inv, state.policy._b
        ctx = _Ctx(focus)
        _choose_rule(ctx, type("S", (), {"policy": greedy, "arms": state.arms})())  # type: ignore[arg-type]
        assert ctx.creative_rule == right


def test_replaying_the_outcomes_rebuilds_the_policy(catalog: Catalog) -> None:
    engine = _engine(catalog, BanditCreativeAgent(policy=EpsilonGreedy(3, 4, seed=9)))
    recorded: list[Outcome] = []
    engine.bus.subscribe(Outcome, recorded.append)
    t = DEMO_START
    for n, request in enumerate(sample_requests(200, seed=14)):
        t += 3.0
        for slot in engine.decide(request, now=t).winners:
            iid = slot.impression_id
            assert iid is not None
            engine.feedback(Impression(impression_id=iid, timestamp=t + 0.5))
            event = Complete if n % 3 else Skip
            engine.feedback(event(impression_id=iid, timestamp=t + 1.0))
    state = engine.agent_state("creative")
    assert sum(state.policy.counts) > 50
    assert any(m.creative_rule >= 0 and m.focus > 0 for m in recorded)
    fresh = _engine(catalog, BanditCreativeAgent(policy=EpsilonGreedy(3, 4, seed=9)))
    agent = next(a for a in fresh._plan if a.name == "creative")
    fresh_state = fresh.agent_state("creative")
    for message in recorded:
        agent.learn(message, fresh_state)
    np.testing.assert_array_equal(fresh_state.policy._a_inv, state.policy._a_inv)
    np.testing.assert_array_equal(fresh_state.policy._b, state.policy._b)


def test_the_fallback_applies_no_rule(catalog: Catalog) -> None:
    engine = _engine(catalog, BanditCreativeAgent())
    live = engine._live
    ctx = engine._context(live)
    agent = next(a for a in engine._plan if a.name == "creative")
    ctx.creative_rule, ctx.creative_propensity = 2, 0.25
    agent.fallback(ctx, live.states["creative"])
    assert (ctx.creative_rule, ctx.creative_propensity) == (-1, 1.0)


def test_a_given_policy_is_copied() -> None:
    policy = LinUCB(3, 4, alpha=0.2)
    policy.learn(1, np.array([1.0, 1.0, 0.0, 0.0]), 1.0)
    agent = BanditCreativeAgent(policy=policy)
    from adcore.demo import sample_catalog

    engine = _engine(sample_catalog(n_ads=30, dimension=4, seed=1), agent)
    state = engine.agent_state("creative")
    assert state.policy is not policy and state.policy.state() == policy.state()


@pytest.mark.parametrize(
    ("policy", "pattern"),
    [
        ("linucb", "must be a LinUCB"),
        (LinUCB(2, 4), "3 arms"),
        (EpsilonGreedy(3, 5), "dimension 4"),
    ],
)
def test_bad_policies_are_refused(policy: object, pattern: str) -> None:
    with pytest.raises(InvalidConfig, match=pattern) as err:
        BanditCreativeAgent(policy=policy)  # type: ignore[arg-type]
    assert err.value.field == "policy"


def _greedy_rule(state: object, focus: int) -> int:
    from adcore.agents.creative import _CONTEXTS

    policy = state.policy  # type: ignore[attr-defined]
    means = [float(_CONTEXTS[focus, 0] @ (policy._a_inv[a] @ policy._b[a])) for a in range(3)]
    return int(np.argmax(means))


@pytest.mark.parametrize("with_test", [True, False], ids=["adwin", "no-test"])
def test_a_drift_in_the_rewards_restarts_the_bandit(catalog: Catalog, with_test: bool) -> None:
    """Under high focus the shortest cut completes 90 % of the time and the others 20 %
    for 1,500 plays, then the longest 90 % and the others 20 % (seed 4). With an ADWIN
    test on the rewards, the change is detected (no alarm before it), the policy starts
    afresh, and 300 plays later its greedy rule is the longest; without the test it
    still prefers the shortest, which 1,500 plays had favoured."""
    from adcore.agents.creative import _choose_rule
    from adcore.learn import ADWIN

    drift = ADWIN(delta=0.002) if with_test else None
    engine = _engine(catalog, BanditCreativeAgent(policy=LinUCB(3, 4, alpha=0.3), drift=drift))
    state = engine.agent_state("creative")
    agent = next(a for a in engine._plan if a.name == "creative")
    rng = np.random.default_rng(4)

    class _Ctx:
        creative_rule = -1
        creative_propensity = 1.0
        focus = FOCUS_HIGH

    n = 0
    for right, plays in ((RULE_SHORTEST, 1500), (RULE_LONGEST, 300)):
        for _ in range(plays):
            ctx = _Ctx()
            _choose_rule(ctx, state)  # type: ignore[arg-type]
            p = 0.9 if ctx.creative_rule == right else 0.2
            kind = "complete" if rng.random() < p else "skip"
            agent.learn(_outcome(kind, FOCUS_HIGH, ctx.creative_rule, n), state)
            n += 1
        if right == RULE_SHORTEST:
            assert state.drifts == 0
            assert _greedy_rule(state, FOCUS_HIGH) == RULE_SHORTEST
    if with_test:
        assert state.drifts >= 1
        assert engine.monitor("creative") == {"drifts": float(state.drifts)}
        assert _greedy_rule(state, FOCUS_HIGH) == RULE_LONGEST
    else:
        assert state.drifts == 0
        assert _greedy_rule(state, FOCUS_HIGH) == RULE_SHORTEST


def test_a_bad_drift_test_is_refused() -> None:
    with pytest.raises(InvalidConfig) as err:
        BanditCreativeAgent(drift="adwin")  # type: ignore[arg-type]
    assert err.value.field == "drift"
