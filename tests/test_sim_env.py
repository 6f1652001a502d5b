"""The PettingZoo environment: the API contract, determinism, actions that matter,
observations inside their spaces, and the same market as the simulator's runner."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from adcore import Engine
from adcore.agents import DEFAULT_ORDER
from adcore.sim import SCENARIOS, Market, run_arm
from adcore.sim.env import (
    AGENTS,
    OBSERVATION_FIELDS,
    STATE_FIELDS,
    AdMarketEnv,
    RewardWeights,
)

REQUESTS = 600
STEPS = 6
NEUTRAL = {"bidding": np.array([1.0], np.float32), "pacing": np.array([20.0, 0.0]), "creative": 0}


def _env(seed: int = 0, **kw: Any) -> AdMarketEnv:
    kw.setdefault("requests", REQUESTS)
    kw.setdefault("steps_per_day", STEPS)
    return AdMarketEnv("quick", seed=seed, **kw)


def _day(env: AdMarketEnv, actions: list[dict[str, Any]] | dict[str, Any], seed: int | None = None):
    """Play one episode; returns per-step (observations, rewards, infos) and day totals."""
    obs, infos = env.reset(seed=seed)
    steps = [(obs, None, infos)]
    totals: dict[str, float] = {}
    k = 0
    while env.agents:
        act = actions[k] if isinstance(actions, list) else actions
        obs, rew, term, trunc, infos = env.step(act)
        steps.append((obs, rew, infos))
        for key, v in infos["bidding"].items():
            totals[key] = totals.get(key, 0) + v
        k += 1
    return steps, totals, infos["bidding"]


def _random_actions(seed: int, n: int = STEPS) -> list[dict[str, Any]]:
    env = _env()
    for i, agent in enumerate(AGENTS):
        env.action_space(agent).seed(seed + i)
    return [{a: env.action_space(a).sample() for a in AGENTS} for _ in range(n)]


def test_parallel_api() -> None:
    env = _env()
    # More cycles than steps: the test plays whole episodes, through termination.
    parallel_api_test(env, num_cycles=STEPS + 4)
    assert env.agents == []


def test_metadata_and_spaces() -> None:
    env = _env()
    assert env.metadata == {"name": "adcore_market_v0", "render_modes": []}
    assert env.render_mode is None
    assert env.possible_agents == ["bidding", "pacing", "creative"]
    assert env.agents == []
    for agent in AGENTS:
        assert env.action_space(agent) is env.action_space(agent)
        assert env.observation_space(agent) is env.observation_space(agent)
        space = env.observation_space(agent)
        assert space.shape == (len(OBSERVATION_FIELDS[agent]),)
        assert space.dtype == np.float32
    assert env.action_space("creative").n == 3
    assert env.state_space.shape == (len(STATE_FIELDS),)


def test_the_engine_plan_is_unchanged() -> None:
    """The tuned agents keep their names, reads and writes: the plan is the default."""
    env = _env()
    env.reset()
    assert env.engine.plan == DEFAULT_ORDER
    assert env.engine.plan == Engine(env.market.catalog).plan


@pytest.mark.parametrize("seed", [0, 5])
def test_neutral_actions_replay_run_arm(seed: int) -> None:
    """With the engine's own settings the environment decides, competes and responds as
    the simulator's runner does: the same spend, value and rates on the same day."""
    _, totals, last = _day(_env(seed), NEUTRAL)
    scenario = msgspec.structs.replace(SCENARIOS["quick"], requests=REQUESTS)
    ref = run_arm(Market(scenario, seed), "agents").metrics
    assert totals["requests"] == REQUESTS
    assert last["spend_total"] == ref["revenue"]
    assert last["value_total"] == pytest.approx(ref["advertiser_value"], rel=1e-12)
    assert totals["clicks"] / totals["shown"] == ref["ctr"]
    assert totals["shown"] / totals["slots"] == ref["fill_rate"]
    assert totals["completes"] / totals["av_shown"] == ref["completion_rate"]


def _trajectory(env: AdMarketEnv, actions: list[dict[str, Any]], seed: int | None):
    steps, _, _ = _day(env, actions, seed)
    obs = [np.concatenate([o[a] for a in AGENTS]) for o, _, _ in steps]
    rewards = [r["bidding"] for _, r, _ in steps[1:]]
    return np.array(obs), np.array(rewards)


def test_same_seed_same_actions_same_trajectory() -> None:
    actions = _random_actions(11)
    obs_a, rew_a = _trajectory(_env(3), actions, None)
    obs_b, rew_b = _trajectory(_env(3), actions, None)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    # The same env, reset to the same day after another episode, replays it too.
    env = _env(0)
    _trajectory(env, actions, 9)
    obs_c, rew_c = _trajectory(env, actions, 3)
    np.testing.assert_array_equal(obs_a, obs_c)
    np.testing.assert_array_equal(rew_a, rew_c)
    # A different day differs.
    obs_d, rew_d = _trajectory(_env(4), actions, None)
    assert not np.array_equal(rew_a, rew_d)
    assert not np.array_equal(obs_a, obs_d)


def test_reset_without_seed_plays_the_next_day() -> None:
    actions = _random_actions(2)
    env = _env(7)
    _trajectory(env, actions, None)  # day 7
    obs, rew = _trajectory(env, actions, None)  # day 8
    obs_8, rew_8 = _trajectory(_env(8), actions, None)
    np.testing.assert_array_equal(obs, obs_8)
    np.testing.assert_array_equal(rew, rew_8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bid_multiplier_moves_spend(seed: int) -> None:
    """Halving versus raising bids by half over a day: less spend, fewer shown ads."""
    low = _day(_env(seed), {"bidding": np.array([0.5], np.float32)})
    high = _day(_env(seed), {"bidding": np.array([1.5], np.float32)})
    assert low[2]["spend_total"] < high[2]["spend_total"]
    assert low[1]["shown"] < high[1]["shown"]


def test_box_actions_are_clipped() -> None:
    clipped = _trajectory(_env(1), [{"bidding": [1.5], "pacing": [40.0, 1.0]}] * STEPS, None)
    outside = _trajectory(_env(1), [{"bidding": [9.0], "pacing": [99.0, 2.0]}] * STEPS, None)
    np.testing.assert_array_equal(clipped[0], outside[0])
    np.testing.assert_array_equal(clipped[1], outside[1])


@pytest.mark.parametrize("unpaced", [[0.0, 0.0], [40.0, 1.0]], ids=["gain-0", "floor-1"])
def test_pacing_action_spreads_spend(unpaced: list[float]) -> None:
    """No pacing (a gain of 0, or a multiplier floor of 1) spends ahead of the plan; a
    strong gain holds spend near it: after the first third of the day's requests, more
    is spent without pacing."""
    spent = STATE_FIELDS.index("spent_fraction")

    def spent_after_two_steps(pacing: list[float]) -> float:
        env = _env(0)
        env.reset()
        env.step({"pacing": np.array(pacing)})
        env.step({"pacing": np.array(pacing)})
        return float(env.state()[spent])

    assert spent_after_two_steps(unpaced) > 1.5 * spent_after_two_steps([40.0, 0.0])


@pytest.mark.parametrize("seed", [0, 5])
def test_creative_action_changes_completions(seed: int) -> None:
    """Short cuts complete more often than long ones (Behaviour's length penalty)."""
    _, shortest, _ = _day(_env(seed), {"creative": 1})
    _, longest, _ = _day(_env(seed), {"creative": 2})
    assert shortest["completes"] > longest["completes"]
    assert shortest["skips"] < longest["skips"]


def test_observations_stay_in_their_spaces_and_rewards_follow_the_weights() -> None:
    weights = RewardWeights(value=2.0, spend=0.5, complete=0.01, skip=0.02)
    env = _env(6, steps_per_day=24, reward_weights=weights)
    actions = _random_actions(5, 24)
    obs, _ = env.reset()
    states = [env.state()]
    for k, act in enumerate(actions):
        for agent in AGENTS:
            assert env.observation_space(agent).contains(obs[agent]), (agent, obs[agent])
        assert env.state_space.contains(env.state())
        obs, rew, term, trunc, infos = env.step(act)
        info = infos["pacing"]
        expected = weights.reward(info["value"], info["spend"], info["completes"], info["skips"])
        assert set(rew.values()) == {expected}
        assert not any(trunc.values())
        assert set(term.values()) == {k == 23}
        states.append(env.state())
    assert env.agents == []
    assert obs.keys() == set(AGENTS)
    for agent in AGENTS:
        assert env.observation_space(agent).contains(obs[agent])
    by_field = dict(zip(STATE_FIELDS, np.array(states).T, strict=True))
    day = by_field["day_fraction"]
    assert np.all(np.diff(day) > 0) and day[-1] > 0.95
    # The metrics move: each of these is strictly inside its bounds at some step.
    for name in ("spent_fraction", "planned_fraction", "fill_rate", "completion_rate"):
        assert np.any((by_field[name] > 0) & (by_field[name] < 1)), name
    assert np.any(by_field["price_ratio"] > 0)


def test_infos_add_up() -> None:
    steps, totals, last = _day(_env(2), NEUTRAL)
    assert last["step"] == STEPS
    assert math.isclose(totals["spend"], last["spend_total"], rel_tol=1e-9)
    assert math.isclose(totals["value"], last["value_total"], rel_tol=1e-9)
    _, _, first_infos = steps[0]
    assert first_infos["creative"]["spend_total"] == 0.0


@pytest.mark.parametrize(
    ("actions", "exc", "match"),
    [
        ({"auction": 0}, ValueError, "unknown agents"),
        ({"creative": 3}, ValueError, "creative action"),
        ({"creative": 1.0}, ValueError, "creative action"),
        ({"bidding": [math.nan]}, ValueError, "bidding action"),
        ({"bidding": [1.0, 1.0]}, ValueError, "bidding action"),
        ({"pacing": [20.0]}, ValueError, "pacing action"),
    ],
)
def test_bad_actions_are_refused(actions: dict[str, Any], exc: type[Exception], match: str) -> None:
    env = _env()
    env.reset()
    with pytest.raises(exc, match=match):
        env.step(actions)


def test_stepping_outside_an_episode_is_refused() -> None:
    env = _env()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(NEUTRAL)
    _day(env, NEUTRAL)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(NEUTRAL)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"render_mode": "human"}, "render_mode"),
        ({"steps_per_day": 0}, "steps_per_day"),
        ({"steps_per_day": REQUESTS + 1}, "steps_per_day"),
    ],
)
def test_bad_construction_is_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _env(**kwargs)
