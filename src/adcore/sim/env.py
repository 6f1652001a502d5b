"""A PettingZoo environment over the marketplace simulator: the engine's learning agents
(bidding, pacing, creative) as reinforcement-learning agents with one shared reward.

An episode is one simulated day of a scenario. Each :meth:`AdMarketEnv.step` decides the
next ``1 / steps_per_day`` of the day's requests through the real :class:`adcore.Engine`
(the ten default agents, three of them steered per campaign by the actions), lets the
outside market compete for every slot and plays the listeners' responses back as
feedback, exactly as :func:`adcore.sim.run_arm` does. The reward is
:func:`adcore.sim.reward.shared_reward`.

Needs the optional extra ``adcore[rl]`` (pettingzoo, gymnasium).

Examples
--------
>>> from adcore.sim.env import AdMarketEnv
>>> env = AdMarketEnv("quick", requests=600, steps_per_day=4, seed=1)
>>> observations, infos = env.reset()
>>> env.agents
['bidding', 'pacing', 'creative']
>>> len(env.campaign_ids)
8
>>> env.action_space("bidding")
Box(0.0, 2.0, (8,), float32)
>>> actions = {agent: env.action_space(agent).sample() for agent in env.agents}
>>> observations, rewards, terminations, truncations, infos = env.step(actions)
>>> observations["pacing"].shape  # 5 market-wide fields, 3 per campaign
(29,)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec
import numpy as np
from numpy.typing import NDArray

try:
    from gymnasium import spaces
    from pettingzoo import ParallelEnv  # type: ignore[import-untyped]
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "adcore.sim.env needs the optional reinforcement-learning extra: "
        "pip install 'adcore[rl]' (pettingzoo, gymnasium)"
    ) from exc

from ..agents import Agent, default_agents
from ..agents.pacing import planned_fraction
from ..agents.privacy import request_activities
from ..engine import Engine
from ..errors import InvalidInput
from ..money import MICROS
from ._steering import _CampaignBidding, _CampaignCreative, _rows, _TargetPacing
from .market import Market
from .reward import (
    REWARD_VERSION,
    RewardTerms,
    RewardWeights,
    delivery_score,
    shared_reward,
)
from .runner import ARMS, _engine_config, play_request
from .scenario import Scenario, load_scenario

__all__ = [
    "AGENTS",
    "BID_MULTIPLIER_RANGE",
    "CAMPAIGN_FIELDS",
    "CAMPAIGN_OBSERVATION_FIELDS",
    "CUTS",
    "OBSERVATION_FIELDS",
    "REWARD_VERSION",
    "STATE_FIELDS",
    "AdMarketEnv",
    "RewardWeights",
]

AGENTS: tuple[str, ...] = ("bidding", "pacing", "creative")
"""The reinforcement-learning agents: the engine agents that actions steer."""

BID_MULTIPLIER_RANGE: tuple[float, float] = (0.0, 2.0)
"""The bounds of a campaign's bid multiplier (the ``"bidding"`` action)."""

CUTS: tuple[str, ...] = ("engine", "shortest", "longest")
"""The ``"creative"`` action's choices per campaign, by number: the engine's rule by the
listener's focus (0), always the shortest (1) or always the longest (2) variant that
fits the slot."""

STATE_FIELDS: tuple[str, ...] = (
    "day_fraction",
    "spent_fraction",
    "planned_fraction",
    "fill_rate",
    "completion_rate",
    "skip_rate",
    "ctr",
    "price_ratio",
)
"""The market-wide part of the global state (:meth:`AdMarketEnv.state`), in order.

- ``day_fraction``: share of the day elapsed at the last decided request, in [0, 1];
- ``spent_fraction``: all campaigns' spend today over their daily budgets, in [0, 1];
- ``planned_fraction``: the share of the budget the pacing plan (the scenario's diurnal
  curve) expects spent by then, in [0, 1];
- over the last step: ``fill_rate`` (shown slots / slots), ``completion_rate`` and
  ``skip_rate`` (per shown audio or video ad), ``ctr`` (clicks / shown), all in [0, 1];
- ``price_ratio``: mean clearing CPM of the shown ads over the last step divided by the
  scenario's median outside CPM, clipped to [0, 10].
"""

CAMPAIGN_FIELDS: tuple[str, ...] = (
    "spent_fraction",
    "shown_share",
    "price_ratio",
    "completion_rate",
    "value_per_spend",
)
"""The per-campaign part of the global state, for each campaign in order.

- ``spent_fraction``: the campaign's spend today over its daily budget, in [0, 1];
- over the last step: ``shown_share`` (the campaign's share of the ads shown),
  ``price_ratio`` (mean clearing CPM of its shown ads over the scenario's median
  outside CPM, clipped to [0, 10]), ``completion_rate`` (per shown audio or video ad of
  the campaign), in [0, 1], and ``value_per_spend`` (its advertiser value over its
  spend, clipped to [0, 100]; 0 when it spent nothing).
"""

OBSERVATION_FIELDS: dict[str, tuple[str, ...]] = {
    "bidding": (
        "day_fraction",
        "spent_fraction",
        "planned_fraction",
        "fill_rate",
        "ctr",
        "price_ratio",
    ),
    "pacing": ("day_fraction", "spent_fraction", "planned_fraction", "fill_rate", "price_ratio"),
    "creative": ("day_fraction", "fill_rate", "completion_rate", "skip_rate", "ctr"),
}
"""The market-wide fields each agent observes: a subset of :data:`STATE_FIELDS`."""

CAMPAIGN_OBSERVATION_FIELDS: dict[str, tuple[str, ...]] = {
    "bidding": ("spent_fraction", "shown_share", "price_ratio", "value_per_spend"),
    "pacing": ("spent_fraction", "shown_share", "price_ratio"),
    "creative": ("shown_share", "completion_rate"),
}
"""The per-campaign fields each agent observes, for every campaign: a subset of
:data:`CAMPAIGN_FIELDS`."""

_HIGH = {name: 10.0 if name == "price_ratio" else 1.0 for name in STATE_FIELDS}
_CAMPAIGN_HIGH = {
    name: {"price_ratio": 10.0, "value_per_spend": 100.0}.get(name, 1.0) for name in CAMPAIGN_FIELDS
}

_COUNTS = (
    "requests",
    "slots",
    "shown",
    "av_shown",
    "clicks",
    "completes",
    "skips",
    "conversions",
    "consent_violations",
)


# ---------------------------------------------------------------------- environment


class AdMarketEnv(ParallelEnv):  # type: ignore[misc]  # pettingzoo ships no type hints
    """A PettingZoo ``ParallelEnv``: one simulated day, decided step by step.

    Agents (:data:`AGENTS`) act per campaign, in the order of :attr:`campaign_ids` (the
    scenario's campaigns, ``C`` of them):

    - ``"bidding"``: ``Box(0, 2, (C,), float32)``, each campaign's bid multiplier (1 is
      the engine's own bid; bids stay capped at the campaign's max bid; 0 bids nothing);
    - ``"pacing"``: ``Box(0, 1, (C,), float32)``, each campaign's pacing target: the
      share of its daily budget to deliver today (1 is the engine's default). The
      pacing controllers follow the plan towards that share and stop the campaign
      there;
    - ``"creative"``: ``MultiDiscrete([3] * C)``, which cut of each campaign's audio and
      video ads plays (:data:`CUTS`): 0 the engine's rule (shortest for a focused
      listener, longest in the background, the default otherwise), 1 always the
      shortest, 2 always the longest.

    An agent left out of a step's actions keeps its previous action (at the start of an
    episode: every multiplier and target 1, every cut 0: the engine's own decisions,
    which replay :func:`adcore.sim.run_arm`'s day exactly). A bad action (unknown agent,
    wrong shape or type, NaN, out of its space) raises :class:`~adcore.InvalidInput`
    naming it, and nothing changes.

    Observations are float32 ``Box`` vectors: the market-wide fields of
    :data:`OBSERVATION_FIELDS`, then for each campaign in order the fields of
    :data:`CAMPAIGN_OBSERVATION_FIELDS` (:meth:`observation_names` names every entry).
    :meth:`state` gives all of :data:`STATE_FIELDS` and :data:`CAMPAIGN_FIELDS` for a
    centralised critic. Every agent gets the same reward,
    :func:`adcore.sim.reward.shared_reward` of the step. The episode terminates, for
    every agent at once, after the day's last request; it is never truncated.

    Each step's ``infos[agent]`` (the same for every agent) holds the step's counts
    (``requests``, ``slots``, ``shown``, ``av_shown``, ``clicks``, ``completes``,
    ``skips``, ``conversions``, ``consent_violations``), its ``value``, ``spend``,
    ``invalid_spend`` and ``delivery`` (currency units: the reward's terms), the day's
    running ``value_total``, ``spend_total`` and ``delivery_total``, ``step`` and
    ``reward_version``.

    Parameters
    ----------
    scenario : Scenario or str
        A scenario, a built-in name or a scenario file (see
        :func:`adcore.sim.load_scenario`).
    requests : int, optional
        Override the scenario's number of requests in the day (budgets scale with it).
    steps_per_day : int
        Steps per episode; each decides an equal share of the day's requests.
    seed : int
        The day of the first episode. ``reset(seed=s)`` plays day ``s``; ``reset()``
        plays the day after the previous episode's, so a run is reproducible.
    reward_weights : RewardWeights, optional
        The shared reward's weights (the defaults when omitted).
    render_mode : None
        Nothing is rendered.

    Raises
    ------
    InvalidInput
        ``steps_per_day``, ``render_mode`` or a reward weight out of range (``field``
        names it).
    InvalidScenario
        A scenario that cannot be loaded or is out of range.

    Notes
    -----
    Each episode builds a fresh :class:`adcore.Engine` configured as
    :func:`adcore.sim.run_arm` configures the ``"agents"`` arm (no latency budget, so
    nothing depends on the machine's speed), on a fresh :class:`adcore.sim.Market`: the
    same seed and the same actions give the same observations and rewards.
    """

    metadata: ClassVar[dict[str, Any]] = {"name": "adcore_market_v1", "render_modes": []}

    def __init__(
        self,
        scenario: Scenario | str = "quick",
        *,
        requests: int | None = None,
        steps_per_day: int = 24,
        seed: int = 0,
        reward_weights: RewardWeights | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise InvalidInput(
                f"render_mode must be None (nothing is rendered), got {render_mode!r}",
                "render_mode",
            )
        sc = load_scenario(scenario) if isinstance(scenario, str) else scenario.validate()
        if requests is not None:
            sc = msgspec.structs.replace(sc, requests=int(requests)).validate()
        if (
            not isinstance(steps_per_day, int)
            or isinstance(steps_per_day, bool)
            or not 1 <= steps_per_day <= sc.requests
        ):
            raise InvalidInput(
                f"steps_per_day must be an integer from 1 to the day's {sc.requests} "
                f"requests, got {steps_per_day!r}",
                "steps_per_day",
            )
        weights = reward_weights if reward_weights is not None else RewardWeights()
        if not isinstance(weights, RewardWeights):
            raise InvalidInput(
                f"reward_weights must be a RewardWeights, got {type(weights).__name__}",
                "reward_weights",
            )
        self.scenario = sc
        self.requests = requests
        self.steps_per_day = steps_per_day
        self.seed = int(seed)
        self.reward_weights = weights.validate()
        self.render_mode = render_mode
        self.possible_agents: list[str] = list(AGENTS)
        self.agents: list[str] = []
        # The first day's market names the campaigns; every day of a scenario has the
        # same ones.
        self._market: Market | None = Market(sc, self.seed)
        self.campaign_ids: tuple[str, ...] = tuple(c.id for c in self._market.catalog.campaigns)
        """The scenario's campaigns, in the order of every per-campaign action and
        observation entry."""
        n = len(self.campaign_ids)
        lo, hi = BID_MULTIPLIER_RANGE
        self._action_spaces: dict[str, spaces.Space[Any]] = {
            "bidding": spaces.Box(lo, hi, shape=(n,), dtype=np.float32),
            "pacing": spaces.Box(0.0, 1.0, shape=(n,), dtype=np.float32),
            "creative": spaces.MultiDiscrete(np.full(n, len(CUTS), dtype=np.int64)),
        }
        self._observation_spaces = {agent: self._box(agent) for agent in AGENTS}
        high = [_HIGH[f] for f in STATE_FIELDS] + [_CAMPAIGN_HIGH[f] for f in CAMPAIGN_FIELDS] * n
        self.state_space = spaces.Box(
            np.zeros(len(high), dtype=np.float32), np.array(high, dtype=np.float32)
        )
        self._index = {
            agent: (
                np.array([STATE_FIELDS.index(f) for f in OBSERVATION_FIELDS[agent]], np.intp),
                np.array(
                    [CAMPAIGN_FIELDS.index(f) for f in CAMPAIGN_OBSERVATION_FIELDS[agent]], np.intp
                ),
            )
            for agent in AGENTS
        }
        # Step k decides requests boundaries[k] to boundaries[k + 1] - 1 (at least one each).
        self._boundaries = np.arange(steps_per_day + 1) * sc.requests // steps_per_day
        cum = np.cumsum(np.asarray(sc.diurnal, dtype=np.float64))
        self._plan_curve = cum / cum[-1]
        self._next_seed = self.seed
        self._engine: Engine | None = None
        self._state = np.zeros(len(STATE_FIELDS), dtype=np.float64)
        self._campaign_state = np.zeros((n, len(CAMPAIGN_FIELDS)), dtype=np.float64)

    # ------------------------------------------------------------------ spaces
    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """The observation space of ``agent`` (the same object on every call)."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """The action space of ``agent`` (the same object on every call)."""
        return self._action_spaces[agent]

    def observation_names(self, agent: str) -> tuple[str, ...]:
        """The name of each entry of ``agent``'s observation: its market-wide fields,
        then ``field[campaign id]`` for each campaign in order, e.g.
        ``"spent_fraction[adv0]"``."""
        return OBSERVATION_FIELDS[agent] + self._campaign_names(CAMPAIGN_OBSERVATION_FIELDS[agent])

    def state_names(self) -> tuple[str, ...]:
        """The name of each entry of :meth:`state`, laid out as :meth:`observation_names`."""
        return STATE_FIELDS + self._campaign_names(CAMPAIGN_FIELDS)

    def _campaign_names(self, fields: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(f"{f}[{c}]" for c in self.campaign_ids for f in fields)

    def _box(self, agent: str) -> spaces.Box:
        high = [_HIGH[f] for f in OBSERVATION_FIELDS[agent]] + [
            _CAMPAIGN_HIGH[f] for f in CAMPAIGN_OBSERVATION_FIELDS[agent]
        ] * len(self.campaign_ids)
        return spaces.Box(np.zeros(len(high), dtype=np.float32), np.array(high, dtype=np.float32))

    # ------------------------------------------------------------------ episode
    @property
    def engine(self) -> Engine:
        """The current episode's engine (for inspection: plans, stats, explanations)."""
        if self._engine is None:
            raise RuntimeError("no episode yet: call reset()")
        return self._engine

    @property
    def market(self) -> Market:
        """The current episode's simulated day."""
        if self._market is None:
            raise RuntimeError("no episode yet: call reset()")
        return self._market

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, dict[str, Any]]]:
        """Start a day: day ``seed``, or the one after the previous episode's.

        ``options`` is accepted for the API and ignored. Every action starts at the
        engine's own (multipliers and targets 1, cuts 0). Returns the first observations
        (nothing decided yet: every rate is 0) and infos.
        """
        day = self._next_seed if seed is None else int(seed)
        self._next_seed = day + 1
        if self._market is None or self._market.seed != day:
            self._market = Market(self.scenario, day)
        market = self._market
        ids = self.campaign_ids
        self._bidding = _CampaignBidding(ids)
        self._pacing = _TargetPacing(ids)
        self._creative = _CampaignCreative(ids)
        steered: dict[str, Agent] = {
            "bidding": self._bidding,
            "pacing": self._pacing,
            "creative": self._creative,
        }
        arm = ARMS["agents"]
        agents = [steered.get(a.name, a) for a in default_agents()]
        # The environment's bidding actions set the multipliers; pacing does not raise
        # bids on top of them (so every bid stays within its campaign's max_bid).
        config = msgspec.structs.replace(
            arm.configure(_engine_config(self.scenario)), pacing_max_multiplier=1.0
        )
        engine = Engine(market.catalog, config, agents=agents)
        self._engine = engine
        self._rows = _rows(engine.catalog.snapshot, ids)
        self._daily = np.array([c.daily_budget for c in market.catalog.campaigns], np.int64)
        self._invalid = np.zeros(len(ids), dtype=np.int64)
        self._fatigue: dict[tuple[int, int], int] = {}
        self._step = 0
        self._value_total = 0.0
        self._delivery_total = 0.0
        self._state = np.zeros(len(STATE_FIELDS), dtype=np.float64)
        self._campaign_state = np.zeros((len(ids), len(CAMPAIGN_FIELDS)), dtype=np.float64)
        self.agents = list(self.possible_agents)
        info = self._info(dict.fromkeys(_COUNTS, 0), RewardTerms())
        return self._observations(), {agent: dict(info) for agent in self.agents}

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[
        dict[str, NDArray[np.float32]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Apply ``actions``, decide the next share of the day's requests, and return
        observations, the shared reward, terminations, truncations and infos.

        Raises
        ------
        InvalidInput
            A bad action (``field`` names the agent and, for a value out of range, the
            campaign's index: ``"bidding[3]"``); nothing changes.
        RuntimeError
            No episode is running.
        """
        if not self.agents:
            raise RuntimeError("the episode is over (or never started): call reset()")
        parsed = self._parse(actions)
        if "bidding" in parsed:
            self._bidding.set(parsed["bidding"])
        if "pacing" in parsed:
            self._pacing.set(parsed["pacing"])
        if "creative" in parsed:
            self._creative.set(parsed["creative"])
        engine = self.engine
        ledger = engine.ledger
        spent_before = ledger.spent_total[self._rows].copy()
        delivery_before = self._delivery(spent_before)
        invalid_before = int(self._invalid.sum())
        n = len(self.campaign_ids)
        counts = dict.fromkeys(_COUNTS, 0)
        per = np.zeros((n, 5), dtype=np.float64)  # shown, av, completes, value, price sum
        tally = {"value": 0.0, "price_sum": 0.0}
        lo, hi = int(self._boundaries[self._step]), int(self._boundaries[self._step + 1])
        for i in range(lo, hi):
            self._play(i, counts, tally, per)
        spent = ledger.spent_total[self._rows].copy()
        delivery_after = self._delivery(spent)
        terms = RewardTerms(
            value=tally["value"],
            spend=int((spent - spent_before).sum()) / MICROS,
            delivery=delivery_after - delivery_before,
            completes=counts["completes"],
            skips=counts["skips"],
            invalid_spend=(int(self._invalid.sum()) - invalid_before) / MICROS,
            consent_violations=counts["consent_violations"],
        )
        reward = shared_reward(terms, self.reward_weights)
        self._step += 1
        self._value_total += terms.value
        self._delivery_total = delivery_after
        self._measure(hi - 1, counts, tally["price_sum"], per, spent - spent_before, spent)
        done = self._step >= self.steps_per_day
        observations = self._observations()
        info = self._info(counts, terms)
        agents = self.agents
        rewards = dict.fromkeys(agents, reward)
        terminations = dict.fromkeys(agents, done)
        truncations = dict.fromkeys(agents, False)
        infos = {agent: dict(info) for agent in agents}
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> NDArray[np.float32]:
        """The global state (:meth:`state_names`), in ``state_space``."""
        return np.concatenate([self._state, self._campaign_state.ravel()]).astype(np.float32)

    def render(self) -> None:
        """Nothing to render (``render_mode`` is None)."""
        return None

    def close(self) -> None:
        """Release the episode's engine and market."""
        self._engine = None
        self._market = None
        self.agents = []

    # ------------------------------------------------------------------ internals
    def _parse(self, actions: Mapping[str, Any]) -> dict[str, NDArray[Any]]:
        """Every action checked, before any is applied."""
        if not isinstance(actions, Mapping):
            raise InvalidInput(
                f"actions must be a mapping of agent to action, got {type(actions).__name__}",
                "actions",
            )
        unknown = sorted(str(a) for a in actions if a not in self.agents)
        if unknown:
            raise InvalidInput(
                f"actions for unknown agents {unknown}; live: {self.agents}", "actions"
            )
        return {agent: self._check(agent, action) for agent, action in actions.items()}

    def _check(self, agent: str, action: Any) -> NDArray[Any]:
        n = len(self.campaign_ids)
        discrete = agent == "creative"
        try:
            raw: NDArray[Any] | None = np.asarray(action)
        except (TypeError, ValueError, OverflowError):
            raw = None
        if raw is None or raw.shape != (n,) or raw.dtype.kind not in ("iu" if discrete else "iuf"):
            kind = "integers" if discrete else "numbers"
            raise InvalidInput(
                f"the {agent} action is {n} {kind}, one per campaign, got {action!r}", agent
            )
        a = raw.astype(np.int64 if discrete else np.float64)
        low: float
        high: float
        if discrete:
            low, high = 0, len(CUTS) - 1
        else:
            low, high = BID_MULTIPLIER_RANGE if agent == "bidding" else (0.0, 1.0)
        bad = ~((a >= low) & (a <= high))  # NaN is never inside
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInput(
                f"the {agent} action for campaign {self.campaign_ids[k]} must be from {low} "
                f"to {high}, got {a[k].item()!r}",
                f"{agent}[{k}]",
            )
        return a

    def _delivery(self, spent: NDArray[np.int64]) -> float:
        return delivery_score(spent - self._invalid, self._daily)

    def _play(
        self,
        i: int,
        counts: dict[str, int],
        tally: dict[str, float],
        per: NDArray[np.float64],
    ) -> None:
        """Decide request ``i`` and play its shown slots, as :func:`run_arm` does."""
        engine, market = self.engine, self.market
        ledger = engine.ledger
        bot = bool(market.bot[i])
        if bot:
            before = ledger.spent_total[self._rows].copy()
        decision, shown, _ = play_request(engine, market, i, self._fatigue)
        if bot:
            self._invalid += ledger.spent_total[self._rows] - before
        listener = int(market.listener[i])
        if market.listener_eu[listener]:
            # What the privacy agent allowed, against what the listener really chose (as
            # the runner counts consent violations).
            allowed = request_activities(market.request(i), engine.config.vendor_id)
            counts["consent_violations"] += bool(
                allowed.personalise and not market.listener_consent[listener]
            )
        counts["requests"] += 1
        counts["slots"] += len(decision.slots)
        for item in shown:
            outcome = item.outcome
            c = item.campaign
            counts["shown"] += 1
            tally["price_sum"] += item.decision.price
            tally["value"] += outcome.value
            av = bool(item.audio_video)
            counts["av_shown"] += av
            counts["clicks"] += bool(outcome.click)
            counts["completes"] += bool(outcome.complete)
            counts["skips"] += bool(outcome.skip)
            counts["conversions"] += bool(outcome.conversion)
            per[c, 0] += 1
            per[c, 1] += av
            per[c, 2] += bool(outcome.complete) and av
            per[c, 3] += outcome.value
            per[c, 4] += item.decision.price

    def _measure(
        self,
        last: int,
        counts: dict[str, int],
        price_sum: float,
        per: NDArray[np.float64],
        step_spend: NDArray[np.int64],
        spent: NDArray[np.int64],
    ) -> None:
        sc = self.scenario
        now = float(self.market.time[last])
        shown, av, slots = counts["shown"], counts["av_shown"], counts["slots"]
        daily = self._daily
        values = {
            "day_fraction": (now - sc.start) / 86400.0,
            "spent_fraction": float(spent.sum()) / max(1, int(daily.sum())),
            "planned_fraction": planned_fraction(now, self._plan_curve),
            "fill_rate": shown / slots if slots else 0.0,
            "completion_rate": counts["completes"] / av if av else 0.0,
            "skip_rate": counts["skips"] / av if av else 0.0,
            "ctr": counts["clicks"] / shown if shown else 0.0,
            "price_ratio": price_sum / shown / sc.market_price if shown else 0.0,
        }
        raw = np.array([values[f] for f in STATE_FIELDS], dtype=np.float64)
        high = np.array([_HIGH[f] for f in STATE_FIELDS], dtype=np.float64)
        self._state = np.clip(raw, 0.0, high)
        n_shown, n_av, completes, value, prices = per.T
        cost = step_spend / MICROS
        with np.errstate(divide="ignore", invalid="ignore"):
            columns = {
                "spent_fraction": np.where(daily > 0, spent / np.maximum(daily, 1), 0.0),
                "shown_share": n_shown / shown if shown else np.zeros_like(n_shown),
                "price_ratio": np.where(n_shown > 0, prices / n_shown / sc.market_price, 0.0),
                "completion_rate": np.where(n_av > 0, completes / n_av, 0.0),
                "value_per_spend": np.where(cost > 0, value / cost, 0.0),
            }
        table = np.stack([columns[f] for f in CAMPAIGN_FIELDS], axis=1)
        high_c = np.array([_CAMPAIGN_HIGH[f] for f in CAMPAIGN_FIELDS], dtype=np.float64)
        self._campaign_state = np.clip(np.nan_to_num(table), 0.0, high_c)

    def _observations(self) -> dict[str, NDArray[np.float32]]:
        out = {}
        for agent in self.agents:
            market_wide, per_campaign = self._index[agent]
            out[agent] = np.concatenate(
                [self._state[market_wide], self._campaign_state[:, per_campaign].ravel()]
            ).astype(np.float32)
        return out

    def _info(self, counts: dict[str, int], terms: RewardTerms) -> dict[str, Any]:
        spent = self.engine.ledger.spent_total[self._rows]
        return {
            **counts,
            "value": terms.value,
            "spend": terms.spend,
            "invalid_spend": terms.invalid_spend,
            "delivery": terms.delivery,
            "value_total": self._value_total,
            "spend_total": int(spent.sum()) / MICROS,
            "delivery_total": self._delivery_total,
            "step": self._step,
            "reward_version": REWARD_VERSION,
        }
