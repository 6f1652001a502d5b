"""The PettingZoo environment: the API contract, determinism, per-campaign actions that
change who wins, observations inside their spaces, the shared reward, a return that
cannot be gamed by bidding low or not at all, and the same market as the runner's."""

from __future__ import annotations

import math
from math import comb
from typing import Any

import msgspec
import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from adcore import Engine, InvalidInput
from adcore.agents import DEFAULT_ORDER
from adcore.sim import SCENARIOS, Market, run_arm
from adcore.sim.env import (
    AGENTS,
    CAMPAIGN_FIELDS,
    CAMPAIGN_OBSERVATION_FIELDS,
    OBSERVATION_FIELDS,
    STATE_FIELDS,
    AdMarketEnv,
)
from adcore.sim.reward import REWARD_VERSION, RewardTerms, RewardWeights, shared_reward
from adcore.sim.runner import _engine_config

REQUESTS = 600
STEPS = 6
N_CAMPAIGNS = SCENARIOS["quick"].advertisers  # one campaign per advertiser


def _full(x: float) -> np.ndarray:
    return np.full(N_CAMPAIGNS, x, dtype=np.float32)


NEUTRAL = {"bidding": _full(1.0), "pacing": _full(1.0), "creative": np.zeros(N_CAMPAIGNS, int)}


def _env(seed: int = 0, **kw: Any) -> AdMarketEnv:
    kw.setdefault("requests", REQUESTS)
    kw.setdefault("steps_per_day", STEPS)
    return AdMarketEnv("quick", seed=seed, **kw)


def _day(env: AdMarketEnv, actions: list[dict[str, Any]] | dict[str, Any], seed: int | None = None):
    """Play one episode; returns per-step (observations, rewards, infos), the day's
    summed infos and the last step's infos."""
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


def _return(env: AdMarketEnv, actions: dict[str, Any], seed: int) -> tuple[float, dict[str, Any]]:
    """The episode return of a constant policy, and the day's summed infos."""
    steps, totals, _ = _day(env, actions, seed)
    return sum(r["bidding"] for _, r, _ in steps[1:]), totals


def _random_actions(seed: int, n: int = STEPS) -> list[dict[str, Any]]:
    env = _env()
    for i, agent in enumerate(AGENTS):
        env.action_space(agent).seed(seed + i)
    return [{a: env.action_space(a).sample() for a in AGENTS} for _ in range(n)]


def _campaign(env: AdMarketEnv, field: str) -> np.ndarray:
    """One per-campaign field of the state, for every campaign in order."""
    names = env.state_names()
    return env.state()[[names.index(f"{field}[{c}]") for c in env.campaign_ids]]


# ---------------------------------------------------------------------- API and spaces


def test_parallel_api() -> None:
    env = _env()
    # More cycles than steps: the test plays whole episodes, through termination.
    parallel_api_test(env, num_cycles=STEPS + 4)
    assert env.agents == []


def test_metadata_and_spaces() -> None:
    env = _env()
    assert env.metadata == {"name": "adcore_market_v1", "render_modes": []}
    assert env.render_mode is None
    assert env.possible_agents == ["bidding", "pacing", "creative"]
    assert env.agents == []
    n = N_CAMPAIGNS
    assert env.campaign_ids == tuple(c.id for c in env.market.catalog.campaigns)
    assert len(env.campaign_ids) == n
    bidding, pacing, creative = (env.action_space(a) for a in AGENTS)
    assert bidding.shape == (n,) and bidding.dtype == np.float32
    assert np.all(bidding.low == 0.0) and np.all(bidding.high == 2.0)
    assert pacing.shape == (n,) and np.all(pacing.low == 0.0) and np.all(pacing.high == 1.0)
    assert creative.shape == (n,) and np.all(creative.nvec == 3)
    for agent in AGENTS:
        assert env.action_space(agent) is env.action_space(agent)
        assert env.observation_space(agent) is env.observation_space(agent)
        space = env.observation_space(agent)
        names = env.observation_names(agent)
        per = CAMPAIGN_OBSERVATION_FIELDS[agent]
        assert space.shape == (len(OBSERVATION_FIELDS[agent]) + n * len(per),) == (len(names),)
        assert space.dtype == np.float32
        assert names[: len(OBSERVATION_FIELDS[agent])] == OBSERVATION_FIELDS[agent]
        first = env.campaign_ids[0]
        assert names[len(OBSERVATION_FIELDS[agent])] == f"{per[0]}[{first}]"
        assert names[-1] == f"{per[-1]}[{env.campaign_ids[-1]}]"
    assert env.state_space.shape == (len(STATE_FIELDS) + n * len(CAMPAIGN_FIELDS),)
    assert len(env.state_names()) == env.state_space.shape[0]


def test_the_engine_plan_is_unchanged() -> None:
    """The steered agents keep their names, reads and writes: the plan is the default."""
    env = _env()
    env.reset()
    assert env.engine.plan == DEFAULT_ORDER
    assert env.engine.plan == Engine(env.market.catalog).plan


@pytest.mark.parametrize("seed", [0, 5])
def test_neutral_actions_replay_run_arm(seed: int) -> None:
    """With the engine's own settings the environment decides, competes and responds as
    the simulator's runner does: the same spend, value and rates on the same day."""
    _, totals, last = _day(_env(seed), NEUTRAL)
    _, implicit, _ = _day(_env(seed), {})  # no actions: the engine's own settings too
    scenario = msgspec.structs.replace(SCENARIOS["quick"], requests=REQUESTS)
    # the environment leaves the multipliers to its bidding actions: no pacing catch-up
    market = Market(scenario, seed)
    config = msgspec.structs.replace(_engine_config(scenario), pacing_max_multiplier=1.0)
    ref = run_arm(market, "agents", config=config).metrics
    assert totals["requests"] == REQUESTS
    assert last["spend_total"] == pytest.approx(ref["revenue"], rel=1e-12)
    assert last["value_total"] == pytest.approx(ref["advertiser_value"], rel=1e-12)
    assert totals["invalid_spend"] == pytest.approx(ref["bot_spend"], abs=1e-12)
    assert totals["consent_violations"] == ref["consent_violations"]
    assert totals["clicks"] / totals["shown"] == pytest.approx(ref["ctr"], rel=1e-12)
    assert totals["shown"] / totals["slots"] == pytest.approx(ref["fill_rate"], rel=1e-12)
    assert implicit == totals


# ---------------------------------------------------------------------- determinism


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


# ---------------------------------------------------------------------- actions


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bid_multiplier_moves_spend(seed: int) -> None:
    """Halving every bid versus raising them by half over a day: less spend, fewer ads."""
    low = _day(_env(seed), {"bidding": _full(0.5)})
    high = _day(_env(seed), {"bidding": _full(1.5)})
    assert low[2]["spend_total"] < high[2]["spend_total"]
    assert low[1]["shown"] < high[1]["shown"]


def test_one_campaigns_multiplier_changes_who_wins() -> None:
    """One campaign's multiplier alone: at 0 it wins nothing while the others still
    buy most of what they bought; the campaign that delivers least with the engine's
    bids takes a larger share of the ads shown when its multiplier alone goes to 2."""
    env = _env(0, steps_per_day=1)

    def one(k: int, m: float) -> tuple[np.ndarray, np.ndarray]:
        multipliers = _full(1.0)
        multipliers[k] = m
        _day(env, {"bidding": multipliers}, 0)
        return _campaign(env, "shown_share"), _campaign(env, "spent_fraction")

    _day(env, {}, 0)
    share, spent = _campaign(env, "shown_share"), _campaign(env, "spent_fraction")
    for k in (0, 3):
        share_0, spent_0 = one(k, 0.0)
        assert share_0[k] == spent_0[k] == 0.0
        assert np.delete(spent_0, k).sum() >= 0.5 * np.delete(spent, k).sum()
    weakest = int(np.argmin(spent))
    share_2, _ = one(weakest, 2.0)
    assert share_2[weakest] > 2 * share[weakest]


def test_pacing_targets_cap_and_spread_each_campaigns_spend() -> None:
    """A target t stops each campaign at t of its daily budget, and the controllers
    spread that over the day: a third of the way in, well under the full budget's pace.
    A target of 0 spends nothing; one campaign's target caps that campaign."""
    env = _env(0)

    def spent_after(targets: np.ndarray, steps: int) -> np.ndarray:
        env.reset(seed=0)
        for _ in range(steps):
            env.step({"pacing": targets})
        return _campaign(env, "spent_fraction").astype(np.float64)

    full_day = spent_after(_full(1.0), STEPS)
    capped_day = spent_after(_full(0.4), STEPS)
    # Capped at 40 % (float32 state: a micro-unit of slack), and the campaigns that
    # deliver their whole budget without a target get close to 40 % with one.
    assert np.all(capped_day <= 0.4 + 1e-6)
    assert np.all(capped_day[full_day > 0.9] > 0.3)
    assert spent_after(_full(0.4), 2).mean() < 0.6 * spent_after(_full(1.0), 2).mean()
    assert np.all(spent_after(_full(0.0), STEPS) == 0.0)
    one = _full(1.0)
    one[1] = 0.25
    only_one = spent_after(one, STEPS)
    assert only_one[1] <= 0.25 + 1e-6 < full_day[1]


def test_a_pacing_target_changed_mid_day_takes_effect_at_once() -> None:
    """The compiled pacing step reads the targeted budgets by reference, so a target
    changed mid-day reaches the next request's budget caps at once: after the targets
    drop to 0, every campaign may commit nothing (``avail`` 0 in the request context),
    and its spend grows no more than what it won before the change settles."""
    env = _env(0)
    env.reset(seed=0)
    for _ in range(2):
        env.step({"pacing": _full(1.0)})
    engine = env._engine
    assert engine is not None
    ctx = engine._context(engine._live)
    assert ctx.avail.max() > 0  # budgets left before the change
    env.step({"pacing": _full(0.0)})
    assert ctx.avail.max() == 0
    settled = _campaign(env, "spent_fraction").astype(np.float64)
    while env.agents:
        env.step({"pacing": _full(0.0)})
    assert np.array_equal(_campaign(env, "spent_fraction").astype(np.float64), settled)


@pytest.mark.parametrize("seed", [0, 5])
def test_creative_action_changes_completions(seed: int) -> None:
    """Short cuts complete more often than long ones (Behaviour's length penalty)."""
    n = N_CAMPAIGNS
    _, shortest, _ = _day(_env(seed), {"creative": np.ones(n, int)})
    _, longest, _ = _day(_env(seed), {"creative": np.full(n, 2)})
    assert shortest["completes"] > longest["completes"]
    assert shortest["skips"] < longest["skips"]


def test_creative_cut_is_per_campaign() -> None:
    """Alternate cuts by campaign, then swap them: a campaign completes more often on
    the day it plays its shortest cut than on the day it plays its longest, whatever
    the other campaigns play. Over days 0 and 1 at 1,200 requests, pooled across the
    campaigns shown often enough to measure (a twentieth of the ads shown or more):
    measured mean difference 0.16 and 13 of 13 positive; bounds 0.05 and two thirds."""
    n = N_CAMPAIGNS
    alternate = np.array([1, 2] * (n // 2) + [1] * (n % 2))
    differences = []
    for seed in (0, 1):
        env = _env(seed, requests=1200, steps_per_day=1)
        runs = []
        for cuts in (alternate, 3 - alternate):
            _day(env, {"creative": cuts}, seed)
            runs.append((_campaign(env, "completion_rate"), _campaign(env, "shown_share")))
        (rate_a, share_a), (rate_b, share_b) = runs
        short = np.where(alternate == 1, rate_a, rate_b)
        long = np.where(alternate == 1, rate_b, rate_a)
        measured = (share_a >= 0.05) & (share_b >= 0.05)
        differences.extend((short - long)[measured])
    d = np.array(differences)
    assert d.size >= n
    assert d.mean() > 0.05
    assert np.mean(d > 0) >= 2 / 3


BAD_ACTIONS = [
    ({"auction": _full(1.0)}, "unknown agents", "actions"),
    ([("bidding", _full(1.0))], "mapping", "actions"),
    ({"bidding": [1.0]}, "bidding action is 8 numbers", "bidding"),
    ({"bidding": np.ones((2, 4))}, "bidding action", "bidding"),
    ({"bidding": "1.0"}, "bidding action", "bidding"),
    ({"bidding": [True] * 8}, "bidding action", "bidding"),
    ({"bidding": [1.0] * 7 + [math.nan]}, "campaign adv7", "bidding[7]"),
    ({"bidding": [1.0] * 7 + [math.inf]}, "from 0.0 to 2.0", "bidding[7]"),
    ({"bidding": [1.0, -0.1] + [1.0] * 6}, "campaign adv1", "bidding[1]"),
    ({"bidding": [1.0, 2.01] + [1.0] * 6}, "campaign adv1", "bidding[1]"),
    ({"pacing": [1.0] * 9}, "pacing action", "pacing"),
    ({"pacing": [1.5] + [1.0] * 7}, "from 0.0 to 1.0", "pacing[0]"),
    ({"creative": [0] * 7 + [3]}, "from 0 to 2", "creative[7]"),
    ({"creative": [0] * 7 + [-1]}, "from 0 to 2", "creative[7]"),
    ({"creative": [0.0] * 8}, "8 integers", "creative"),
    ({"creative": 1}, "creative action", "creative"),
    # A good action beside a bad one is not applied either.
    ({"bidding": _full(0.0), "creative": [9] * 8}, "creative", "creative[0]"),
]


@pytest.mark.parametrize(("actions", "match", "field"), BAD_ACTIONS)
def test_bad_actions_are_refused_and_change_nothing(actions: Any, match: str, field: str) -> None:
    env = _env(1)
    env.reset()
    with pytest.raises(InvalidInput, match=match) as info:
        env.step(actions)
    assert info.value.field == field
    # Nothing changed: the next step (previous actions kept) is a fresh episode's first.
    _, rew, _, _, infos = env.step({})
    fresh = _env(1)
    fresh.reset()
    _, rew_ref, _, _, infos_ref = fresh.step({})
    assert rew == rew_ref
    assert infos == infos_ref


def test_stepping_outside_an_episode_is_refused() -> None:
    env = _env()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(NEUTRAL)
    _day(env, NEUTRAL)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(NEUTRAL)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"render_mode": "human"}, "render_mode"),
        ({"steps_per_day": 0}, "steps_per_day"),
        ({"steps_per_day": REQUESTS + 1}, "steps_per_day"),
        ({"steps_per_day": 2.0}, "steps_per_day"),
        ({"reward_weights": {"value": 1.0}}, "reward_weights"),
        ({"reward_weights": RewardWeights(delivery=math.nan)}, "reward_weights.delivery"),
        ({"reward_weights": RewardWeights(skip=-0.001)}, "reward_weights.skip"),
    ],
)
def test_bad_construction_is_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput, match=field.split(".")[-1]) as info:
        _env(**kwargs)
    assert info.value.field == field


# ---------------------------------------------------------------------- observations, reward


def test_observations_stay_in_their_spaces_and_rewards_follow_the_weights() -> None:
    weights = RewardWeights(value=2.0, spend=0.5, revenue=0.25, delivery=3.0, skip=0.02)
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
        terms = RewardTerms(
            value=info["value"],
            spend=info["spend"],
            delivery=info["delivery"],
            completes=info["completes"],
            skips=info["skips"],
            invalid_spend=info["invalid_spend"],
            consent_violations=info["consent_violations"],
        )
        assert set(rew.values()) == {shared_reward(terms, weights)}
        assert info["reward_version"] == REWARD_VERSION
        assert not any(trunc.values())
        assert set(term.values()) == {k == 23}
        states.append(env.state())
    assert env.agents == []
    assert obs.keys() == set(AGENTS)
    for agent in AGENTS:
        assert env.observation_space(agent).contains(obs[agent])
    by_field = dict(zip(env.state_names(), np.array(states).T, strict=True))
    day = by_field["day_fraction"]
    assert np.all(np.diff(day) > 0) and day[-1] > 0.95
    # The metrics move: each of these is strictly inside its bounds at some step.
    for name in ("spent_fraction", "planned_fraction", "fill_rate", "completion_rate"):
        assert np.any((by_field[name] > 0) & (by_field[name] < 1)), name
    assert np.any(by_field["price_ratio"] > 0)
    for field in CAMPAIGN_FIELDS:
        column = np.array([by_field[f"{field}[{c}]"] for c in env.campaign_ids])
        assert np.any(column > 0), field
    # Each agent's observation is the state's entries of the same names.
    last = dict(zip(env.state_names(), env.state(), strict=True))
    for agent in AGENTS:
        expected = [last[name] for name in env.observation_names(agent)]
        np.testing.assert_array_equal(obs[agent], np.array(expected, dtype=np.float32))


def test_infos_add_up() -> None:
    steps, totals, last = _day(_env(2), NEUTRAL)
    assert last["step"] == STEPS
    assert math.isclose(totals["spend"], last["spend_total"], rel_tol=1e-9)
    assert math.isclose(totals["value"], last["value_total"], rel_tol=1e-9)
    assert math.isclose(totals["delivery"], last["delivery_total"], rel_tol=1e-9)
    _, _, first_infos = steps[0]
    assert first_infos["creative"]["spend_total"] == 0.0
    assert first_infos["creative"]["delivery_total"] == 0.0


def test_a_constant_policys_return_does_not_depend_on_the_steps() -> None:
    """The reward's terms add up over a day, so cutting it into more steps changes
    when the reward comes, not how much."""
    policy = {"bidding": _full(0.8), "pacing": _full(0.9)}
    one, _ = _return(_env(4, steps_per_day=1), policy, 4)
    many, _ = _return(_env(4, steps_per_day=12), policy, 4)
    assert many == pytest.approx(one, rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------------- not gamed

GAME_REQUESTS = 300
GAME_SEEDS = range(24)
GAME_WINS = 16


def _binomial_below(k: int, n: int, p: float) -> float:
    """P(X < k) for X ~ Binomial(n, p)."""
    return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k))


def test_bidding_low_or_not_at_all_does_not_pay() -> None:
    """Over days 0-23 of the quick scenario at 300 requests (one step per day):

    - spending nothing (every multiplier 0) earns exactly nothing and scores below the
      engine's own bids by at least the day's total budget on every day (measured over
      days 0-59: at least 1.5 budgets): the default delivers most budgets and creates
      more value than it costs;
    - halving every bid delivers less on every day, by at least a tenth of the total
      budget (measured over days 0-59: at least 0.16 of it), and scores lower on at
      least 16 of the 24 days. Value comes from rare clicks and conversions, so a
      single day can go either way: over days 0-59 halving scored lower on 53 (a rate
      of 0.88). At a rate of 0.85 a correct reward fails the 16-of-24 bound with
      probability 0.6 %; a reward under which halving pays as often as not (rate 0.5)
      passes it with probability 8 %, one under which it pays on most days (rate 0.3)
      with probability 0.03 %.
    """
    n = len(GAME_SEEDS)
    assert _binomial_below(GAME_WINS, n, 0.85) < 0.007
    assert 1 - _binomial_below(GAME_WINS, n, 0.5) < 0.08
    assert 1 - _binomial_below(GAME_WINS, n, 0.3) < 0.0003
    wins = 0
    for seed in GAME_SEEDS:
        env = _env(seed, requests=GAME_REQUESTS, steps_per_day=1)
        budget = sum(c.daily_budget for c in env.market.catalog.campaigns) / 1e6
        default, d_info = _return(env, {}, seed)
        halved, h_info = _return(env, {"bidding": _full(0.5)}, seed)
        nothing, n_info = _return(env, {"bidding": _full(0.0)}, seed)
        assert n_info["shown"] == 0 and nothing == 0.0, seed
        assert default - nothing >= budget, seed
        assert d_info["delivery"] - h_info["delivery"] >= 0.1 * budget, seed
        wins += default > halved
    assert wins >= GAME_WINS, wins
