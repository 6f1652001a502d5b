"""A PettingZoo environment over the marketplace simulator: the engine's learning agents
(bidding, pacing, creative) as reinforcement-learning agents with one shared reward.

An episode is one simulated day of a scenario. Each :meth:`AdMarketEnv.step` decides the
next ``1 / steps_per_day`` of the day's requests through the real :class:`adcore.Engine`
(the ten default agents, three of them tuned by the actions), lets the outside market
compete for every slot and plays the listeners' responses back as feedback, exactly as
:func:`adcore.sim.run_arm` does.

Needs the optional extra ``adcore[rl]`` (pettingzoo, gymnasium).

Examples
--------
>>> from adcore.sim.env import AdMarketEnv
>>> env = AdMarketEnv("quick", requests=600, steps_per_day=4, seed=1)
>>> observations, infos = env.reset()
>>> env.agents
['bidding', 'pacing', 'creative']
>>> actions = {agent: env.action_space(agent).sample() for agent in env.agents}
>>> observations, rewards, terminations, truncations, infos = env.step(actions)
>>> observations["pacing"].shape
(5,)
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
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

from .._kernels.creative import FOCUS_BACKGROUND, FOCUS_HIGH
from ..agents import Agent, BiddingAgent, CreativeAgent, PacingAgent, Services, default_agents
from ..agents.pacing import planned_fraction
from ..catalog import CatalogSnapshot
from ..context import Context
from ..engine import Engine
from ..money import MICROS
from .market import Market
from .runner import ARMS, _engine_config, play_request
from .scenario import Scenario, load_scenario

__all__ = ["AGENTS", "OBSERVATION_FIELDS", "STATE_FIELDS", "AdMarketEnv", "RewardWeights"]

AGENTS: tuple[str, ...] = ("bidding", "pacing", "creative")
"""The reinforcement-learning agents: the engine agents that actions tune."""

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
"""The global state vector (:meth:`AdMarketEnv.state`), in order.

- ``day_fraction``: share of the day elapsed at the last decided request, in [0, 1];
- ``spent_fraction``: all campaigns' spend today over their daily budgets, in [0, 1];
- ``planned_fraction``: the share of the budget the pacing plan (the scenario's diurnal
  curve) expects spent by then, in [0, 1];
- over the last step: ``fill_rate`` (shown slots / slots), ``completion_rate`` and
  ``skip_rate`` (per shown audio or video ad), ``ctr`` (clicks / shown), all in [0, 1];
- ``price_ratio``: mean clearing CPM of the shown ads over the last step divided by the
  scenario's median outside CPM, clipped to [0, 10].
"""

_HIGH = {name: 10.0 if name == "price_ratio" else 1.0 for name in STATE_FIELDS}

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
"""What each agent observes: a subset of :data:`STATE_FIELDS`, in this order."""

_BID_LOW, _BID_HIGH = 0.5, 1.5
_GAIN_HIGH = 40.0
_CUTS = ("engine", "shortest", "longest")

_COUNTS = ("requests", "slots", "shown", "av_shown", "clicks", "completes", "skips", "conversions")


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the shared reward, per step:
    ``value * advertiser value - spend * spend + complete * completions - skip * skips``.

    Advertiser value and spend are in currency units; completions and skips are counts,
    so their default weight of 0.001 makes one completion worth about what one impression
    costs at the built-in scenarios' median outside CPM (1.2, i.e. 0.0012 per impression).
    """

    value: float = 1.0
    spend: float = 1.0
    complete: float = 0.001
    skip: float = 0.001

    def reward(self, value: float, spend: float, completes: int, skips: int) -> float:
        """The shared reward of a step with these totals."""
        return (
            self.value * value - self.spend * spend + self.complete * completes - self.skip * skips
        )


# ---------------------------------------------------------------------- tuned agents
# Subclasses keep the engine agents' names, reads and writes, so the plan is unchanged;
# the knob an action sets is a plain attribute, read on every request.


class _ScaledBidding(BiddingAgent):
    """The bidding agent, its bids multiplied by ``multiplier`` and still capped at each
    campaign's max bid."""

    def __init__(self) -> None:
        self.multiplier = 1.0

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        # Per ad: its campaign's max bid.
        return np.ascontiguousarray(snapshot.camp_max_bid[snapshot.ad_campaign])

    def run(self, ctx: Context, state: Any) -> None:
        super().run(ctx, state)
        if self.multiplier != 1.0:
            np.multiply(ctx.bid, self.multiplier, out=ctx.bid)
            np.minimum(ctx.bid, state, out=ctx.bid)


class _TunedPacing(PacingAgent):
    """The pacing agent with its gain and multiplier floor set by the action (the
    engine configuration's values until an action arrives)."""

    def __init__(self) -> None:
        self.gain: float | None = None
        self.min_multiplier: float | None = None
        self._ki_per_gain = 0.0

    def bind(self, snapshot: Any, previous: Any, services: Any) -> Any:
        cfg = services.config
        # The action sets the proportional gain; the integral gain keeps its configured
        # ratio to it, so a gain of 0 turns pacing off.
        self._ki_per_gain = cfg.pacing_ki / cfg.pacing_gain if cfg.pacing_gain > 0 else 0.0
        return super().bind(snapshot, previous, services)

    def run(self, ctx: Context, state: Any) -> None:
        if self.gain is not None:
            state.gain = self.gain
            state.ki = self.gain * self._ki_per_gain
        if self.min_multiplier is not None:
            state.floor = self.min_multiplier
        super().run(ctx, state)


class _CutCreative(CreativeAgent):
    """The creative agent, with a cut chosen by the action: the engine's own rule by
    the listener's focus (0), always the shortest (1) or always the longest (2) variant
    that fits."""

    _FORCED: ClassVar[dict[int, int]] = {1: FOCUS_HIGH, 2: FOCUS_BACKGROUND}

    def __init__(self) -> None:
        self.cut = 0

    def run(self, ctx: Context, state: Any) -> None:
        forced = self._FORCED.get(self.cut)
        if forced is None:
            super().run(ctx, state)
            return
        # The kernel picks the shortest cut under high focus and the longest in the
        # background: run it with that focus, then put the audience agent's back.
        focus = ctx.focus
        ctx.focus = forced
        try:
            super().run(ctx, state)
        finally:
            ctx.focus = focus


# ---------------------------------------------------------------------- environment


class AdMarketEnv(ParallelEnv):  # type: ignore[misc]  # pettingzoo ships no type hints
    """A PettingZoo ``ParallelEnv``: one simulated day, decided step by step.

    Agents (:data:`AGENTS`) and their actions:

    - ``"bidding"``: ``Box(0.5, 1.5, (1,))``, a multiplier of every bid (bids stay capped
      at the campaign's max bid);
    - ``"pacing"``: ``Box([0, 0], [40, 1])``, the pacing gain and the floor of the pacing
      multiplier (the engine's defaults are 20 and 0), see
      :class:`adcore.agents.PacingAgent`;
    - ``"creative"``: ``Discrete(3)``, which cut of an audio or video ad plays: 0 the
      engine's rule (shortest for a focused listener, longest in the background, the
      default otherwise), 1 always the shortest, 2 always the longest.

    Box actions outside their bounds are clipped. An agent left out of a step's actions
    keeps its previous action (at the start of an episode: 1.0, the engine's pacing
    configuration, and 0).

    Observations are float32 ``Box`` vectors of the fields in
    :data:`OBSERVATION_FIELDS`; :meth:`state` gives all of :data:`STATE_FIELDS` for a
    centralised critic. Every agent gets the same reward, :class:`RewardWeights` over
    the step's totals. The episode terminates, for every agent at once, after the day's
    last request; it is never truncated.

    Each step's ``infos[agent]`` (the same for every agent) holds the step's counts
    (``requests``, ``slots``, ``shown``, ``av_shown``, ``clicks``, ``completes``,
    ``skips``, ``conversions``), its ``value`` and ``spend`` (currency units), the
    day's running ``value_total`` and ``spend_total``, and ``step``.

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
    render_mode : None
        Nothing is rendered.

    Notes
    -----
    Each episode builds a fresh :class:`adcore.Engine` configured as
    :func:`adcore.sim.run_arm` configures the ``"agents"`` arm (no latency budget, so
    nothing depends on the machine's speed), on a fresh :class:`adcore.sim.Market`: the
    same seed and the same actions give the same observations and rewards.
    """

    metadata: ClassVar[dict[str, Any]] = {"name": "adcore_market_v0", "render_modes": []}

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
            raise ValueError(f"render_mode must be None (nothing is rendered), got {render_mode!r}")
        sc = load_scenario(scenario) if isinstance(scenario, str) else scenario.validate()
        if requests is not None:
            sc = msgspec.structs.replace(sc, requests=int(requests)).validate()
        if not isinstance(steps_per_day, int) or not 1 <= steps_per_day <= sc.requests:
            raise ValueError(
                f"steps_per_day must be an integer from 1 to the day's {sc.requests} "
                f"requests, got {steps_per_day!r}"
            )
        self.scenario = sc
        self.requests = requests
        self.steps_per_day = steps_per_day
        self.seed = int(seed)
        self.reward_weights = reward_weights if reward_weights is not None else RewardWeights()
        self.render_mode = render_mode
        self.possible_agents: list[str] = list(AGENTS)
        self.agents: list[str] = []
        self._action_spaces: dict[str, spaces.Space[Any]] = {
            "bidding": spaces.Box(_BID_LOW, _BID_HIGH, shape=(1,), dtype=np.float32),
            "pacing": spaces.Box(
                np.array([0.0, 0.0], dtype=np.float32),
                np.array([_GAIN_HIGH, 1.0], dtype=np.float32),
                dtype=np.float32,
            ),
            "creative": spaces.Discrete(len(_CUTS)),
        }
        self._observation_spaces = {
            agent: _box(fields) for agent, fields in OBSERVATION_FIELDS.items()
        }
        self.state_space = _box(STATE_FIELDS)
        self._index = {
            agent: np.array([STATE_FIELDS.index(f) for f in fields], dtype=np.intp)
            for agent, fields in OBSERVATION_FIELDS.items()
        }
        # Step k decides requests boundaries[k] to boundaries[k + 1] - 1 (at least one each).
        self._boundaries = np.arange(steps_per_day + 1) * sc.requests // steps_per_day
        cum = np.cumsum(np.asarray(sc.diurnal, dtype=np.float64))
        self._plan_curve = cum / cum[-1]
        self._next_seed = self.seed
        self._market: Market | None = None
        self._engine: Engine | None = None
        self._state = np.zeros(len(STATE_FIELDS), dtype=np.float64)

    # ------------------------------------------------------------------ spaces
    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """The observation space of ``agent`` (the same object on every call)."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """The action space of ``agent`` (the same object on every call)."""
        return self._action_spaces[agent]

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

        ``options`` is accepted for the API and ignored. Returns the first observations
        (nothing decided yet: every rate is 0) and infos.
        """
        day = self._next_seed if seed is None else int(seed)
        self._next_seed = day + 1
        if self._market is None or self._market.seed != day:
            self._market = Market(self.scenario, day)
        market = self._market
        self._bidding = _ScaledBidding()
        self._pacing = _TunedPacing()
        self._creative = _CutCreative()
        tuned: dict[str, Agent] = {
            "bidding": self._bidding,
            "pacing": self._pacing,
            "creative": self._creative,
        }
        arm = ARMS["agents"]
        agents = [tuned.get(a.name, a) for a in default_agents()]
        self._engine = Engine(
            market.catalog, arm.configure(_engine_config(self.scenario)), agents=agents
        )
        self._daily_micros = sum(c.daily_budget for c in market.catalog.campaigns)
        self._fatigue: dict[tuple[int, int], int] = {}
        self._step = 0
        self._value_total = 0.0
        self._spend_total = 0.0
        self._state = np.zeros(len(STATE_FIELDS), dtype=np.float64)
        self.agents = list(self.possible_agents)
        info = self._info(dict.fromkeys(_COUNTS, 0), 0.0, 0.0)
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
        observations, the shared reward, terminations, truncations and infos."""
        if not self.agents:
            raise RuntimeError("the episode is over (or never started): call reset()")
        unknown = set(actions) - set(self.agents)
        if unknown:
            raise ValueError(f"actions for unknown agents {sorted(unknown)}; live: {self.agents}")
        self._apply(actions)
        engine = self.engine
        spent_before = engine.ledger.total_spent()
        counts = dict.fromkeys(_COUNTS, 0)
        tally = {"value": 0.0, "price_sum": 0.0}
        lo, hi = int(self._boundaries[self._step]), int(self._boundaries[self._step + 1])
        for i in range(lo, hi):
            self._play(i, counts, tally)
        spent = engine.ledger.total_spent()
        spend = (spent - spent_before) / MICROS
        value = tally["value"]
        self._step += 1
        self._value_total += value
        self._spend_total = spent / MICROS
        self._measure(hi - 1, counts, tally["price_sum"])
        reward = float(
            self.reward_weights.reward(value, spend, counts["completes"], counts["skips"])
        )
        done = self._step >= self.steps_per_day
        observations = self._observations()
        info = self._info(counts, value, spend)
        agents = self.agents
        rewards = dict.fromkeys(agents, reward)
        terminations = dict.fromkeys(agents, done)
        truncations = dict.fromkeys(agents, False)
        infos = {agent: dict(info) for agent in agents}
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> NDArray[np.float32]:
        """The global state: every field of :data:`STATE_FIELDS`, in ``state_space``."""
        return self._state.astype(np.float32)

    def render(self) -> None:
        """Nothing to render (``render_mode`` is None)."""
        return None

    def close(self) -> None:
        """Release the episode's engine and market."""
        self._engine = None
        self._market = None
        self.agents = []

    # ------------------------------------------------------------------ internals
    def _apply(self, actions: Mapping[str, Any]) -> None:
        if "bidding" in actions:
            m = _finite(actions["bidding"], 1, "bidding")
            self._bidding.multiplier = float(np.clip(m[0], _BID_LOW, _BID_HIGH))
        if "pacing" in actions:
            g, f = _finite(actions["pacing"], 2, "pacing")
            self._pacing.gain = float(np.clip(g, 0.0, _GAIN_HIGH))
            self._pacing.min_multiplier = float(np.clip(f, 0.0, 1.0))
        if "creative" in actions:
            a = actions["creative"]
            try:
                cut = operator.index(a)
            except TypeError:
                cut = -1
            if not 0 <= cut < len(_CUTS):
                raise ValueError(f"the creative action is 0, 1 or 2, got {a!r}")
            self._creative.cut = cut

    def _play(self, i: int, counts: dict[str, int], tally: dict[str, float]) -> None:
        """Decide request ``i`` and play its shown slots, as :func:`run_arm` does."""
        decision, shown, _ = play_request(self.engine, self.market, i, self._fatigue)
        counts["requests"] += 1
        counts["slots"] += len(decision.slots)
        for item in shown:
            outcome = item.outcome
            counts["shown"] += 1
            tally["price_sum"] += item.decision.price
            tally["value"] += outcome.value
            counts["av_shown"] += item.audio_video
            counts["clicks"] += outcome.click
            counts["completes"] += outcome.complete
            counts["skips"] += outcome.skip
            counts["conversions"] += outcome.conversion

    def _measure(self, last: int, counts: dict[str, int], price_sum: float) -> None:
        sc = self.scenario
        now = float(self.market.time[last])
        shown, av, slots = counts["shown"], counts["av_shown"], counts["slots"]
        spent = self.engine.ledger.spent_total.sum() / max(1, self._daily_micros)
        values = {
            "day_fraction": (now - sc.start) / 86400.0,
            "spent_fraction": float(spent),
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

    def _observations(self) -> dict[str, NDArray[np.float32]]:
        state = self._state.astype(np.float32)
        return {agent: state[self._index[agent]] for agent in self.agents}

    def _info(self, counts: dict[str, int], value: float, spend: float) -> dict[str, Any]:
        return {
            **counts,
            "value": value,
            "spend": spend,
            "value_total": self._value_total,
            "spend_total": self._spend_total,
            "step": self._step,
        }


def _box(fields: tuple[str, ...]) -> spaces.Box:
    low = np.zeros(len(fields), dtype=np.float32)
    high = np.array([_HIGH[f] for f in fields], dtype=np.float32)
    return spaces.Box(low, high, dtype=np.float32)


def _finite(action: Any, size: int, agent: str) -> NDArray[np.float64]:
    a = np.asarray(action, dtype=np.float64).reshape(-1)
    if a.size != size or not np.isfinite(a).all():
        raise ValueError(f"the {agent} action is {size} finite number(s), got {action!r}")
    return a
