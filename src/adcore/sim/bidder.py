"""A bid-multiplier learner trained through :class:`~adcore.sim.env.AdMarketEnv`.

:class:`QBidder` steers the environment's ``"bidding"`` agent: every step it chooses,
for each campaign, a bid multiplier from :attr:`QBidder.multipliers` with one
:class:`~adcore.learn.QLearning` table shared by all campaigns (parameter sharing). A
campaign's state is the time of day (``hours`` equal buckets of the day elapsed) and
its pace: behind, on or ahead of the plan (its spent fraction of the daily budget below,
within or above ``pace_band`` of the share the pacing plan expects by then). Every
campaign's transition is learned with the step's shared reward
(:func:`adcore.sim.reward.shared_reward`), the one every learning agent gets.

This is the first, tabular stage of learned bidding: trained offline, over simulated
days, with :meth:`QBidder.train`; :meth:`QBidder.agent` serves the learned table in an
:class:`adcore.Engine` (:class:`adcore.agents.QBiddingAgent`, greedy, a fused kernel
step).

Examples
--------
>>> from adcore.sim.bidder import QBidder
>>> from adcore.sim.env import AdMarketEnv
>>> env = AdMarketEnv("quick", requests=400, steps_per_day=4, seed=0)
>>> bidder = QBidder(seed=0)
>>> returns = bidder.train(env, episodes=2)
>>> len(returns), int(bidder.model.visits.sum()) == 2 * 4 * len(env.campaign_ids)
(2, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..agents.qbidding import MULTIPLIERS as _MULTIPLIERS
from ..agents.qbidding import pace_states
from ..errors import InvalidInput
from ..learn import QLearning
from .env import BID_MULTIPLIER_RANGE, CAMPAIGN_OBSERVATION_FIELDS, OBSERVATION_FIELDS

__all__ = ["MULTIPLIERS", "QBidder"]

MULTIPLIERS: tuple[float, ...] = _MULTIPLIERS
"""The default bid multipliers a :class:`QBidder` chooses from (those of
:class:`adcore.agents.QBiddingAgent`): the first is the choice wherever the table's
values tie (states never visited included), 1, the engine's own bid."""

_MARKET = OBSERVATION_FIELDS["bidding"]
_CAMPAIGN = CAMPAIGN_OBSERVATION_FIELDS["bidding"]
_DAY = _MARKET.index("day_fraction")
_PLANNED = _MARKET.index("planned_fraction")
_SPENT = _CAMPAIGN.index("spent_fraction")


class QBidder:
    """Per-campaign bid multipliers from one shared Q-learning table.

    Parameters
    ----------
    multipliers : sequence of float, default :data:`MULTIPLIERS`
        The actions, each within the environment's bid multiplier range (0 to 2); the
        greedy choice where values tie is the first.
    hours : int, default 6
        Buckets the day is cut into for the state.
    pace_band : float, default 0.05
        How far (in fractions of the daily budget) a campaign's spend may be from the
        plan and still count as on pace.
    alpha, gamma, epsilon : float
        The :class:`~adcore.learn.QLearning` arguments (defaults 0.1, 0.9, 0.1).
    seed : int, optional
        Seeds the exploration.
    """

    def __init__(
        self,
        multipliers: Sequence[float] = MULTIPLIERS,
        *,
        hours: int = 6,
        pace_band: float = 0.05,
        alpha: float = 0.1,
        gamma: float = 0.9,
        epsilon: float = 0.1,
        seed: int | None = None,
    ) -> None:
        lo, hi = BID_MULTIPLIER_RANGE
        try:
            m = np.asarray(multipliers, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInput("multipliers must be numbers", "multipliers") from None
        if m.ndim != 1 or m.size < 1 or not np.all((m >= lo) & (m <= hi)):
            raise InvalidInput(
                f"multipliers must be one or more numbers in [{lo}, {hi}]", "multipliers"
            )
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 96:
            raise InvalidInput(f"hours must be an integer in [1, 96], got {hours!r}", "hours")
        if not (isinstance(pace_band, int | float) and 0.0 <= float(pace_band) < 1.0):
            raise InvalidInput(f"pace_band must be in [0, 1), got {pace_band!r}", "pace_band")
        self.multipliers: tuple[float, ...] = tuple(m.tolist())
        self.hours = hours
        self.pace_band = float(pace_band)
        self.model = QLearning(
            hours * 3, len(self.multipliers), alpha=alpha, gamma=gamma, epsilon=epsilon, seed=seed
        )
        self._multipliers = m.astype(np.float32)

    def __repr__(self) -> str:
        return (
            f"QBidder(multipliers={self.multipliers!r}, hours={self.hours}, "
            f"pace_band={self.pace_band!r}, model={self.model!r})"
        )

    def states(self, observation: NDArray[Any], n_campaigns: int) -> NDArray[np.int64]:
        """Each campaign's state from the ``"bidding"`` agent's observation:
        ``hour_bucket * 3 + pace`` (pace 0 behind, 1 on, 2 ahead of the plan)."""
        obs = np.asarray(observation, dtype=np.float64)
        expected = len(_MARKET) + len(_CAMPAIGN) * n_campaigns
        if obs.shape != (expected,):
            raise InvalidInput(
                f"observation must have shape ({expected},), got {obs.shape}", "observation"
            )
        day, planned = obs[_DAY], obs[_PLANNED]
        spent = obs[len(_MARKET) :].reshape(n_campaigns, len(_CAMPAIGN))[:, _SPENT]
        out: NDArray[np.int64] = pace_states(day, spent, planned, self.hours, self.pace_band)
        return out

    def act(
        self, observation: NDArray[Any], n_campaigns: int, *, explore: bool = True
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
        """The states, the chosen action indices and the multipliers (float32, the
        ``"bidding"`` action) for every campaign; greedy when ``explore`` is False."""
        states = self.states(observation, n_campaigns)
        if explore:
            actions = np.array([self.model.choose(int(s)).arm for s in states], dtype=np.int64)
        else:
            actions = np.array([self.model.greedy(int(s)) for s in states], dtype=np.int64)
        return states, actions, self._multipliers[actions]

    def agent(self, *, interval: float = 900.0, plan: Sequence[float] | None = None) -> Any:
        """The learned policy as an engine agent (:class:`adcore.agents.QBiddingAgent`):
        greedy multipliers per campaign, from a copy of the table, changed every
        ``interval`` seconds of engine time; ``plan`` is the traffic curve the pace is
        measured against (the environment uses its scenario's ``diurnal``)."""
        from ..agents.qbidding import QBiddingAgent

        return QBiddingAgent(
            policy=QLearning.from_state(self.model.state()),
            multipliers=self.multipliers,
            hours=self.hours,
            pace_band=self.pace_band,
            interval=interval,
            plan=plan,
        )

    def train(self, env: Any, episodes: int, *, explore: bool = True) -> list[float]:
        """Play ``episodes`` days of ``env`` (an :class:`~adcore.sim.env.AdMarketEnv`),
        choosing the bid multipliers and learning every campaign's transition from the
        shared reward (with ``explore`` False: greedy, learning nothing, to evaluate).
        Returns each episode's total reward."""
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
            raise InvalidInput(f"episodes must be an integer >= 1, got {episodes!r}", "episodes")
        n = len(env.campaign_ids)
        returns = []
        for _ in range(episodes):
            observations, _ = env.reset()
            total = 0.0
            while env.agents:
                states, actions, multipliers = self.act(observations["bidding"], n, explore=explore)
                observations, rewards, terminations, _, _ = env.step({"bidding": multipliers})
                reward = float(rewards["bidding"])
                total += reward
                if explore:
                    done = bool(terminations["bidding"])
                    following = self.states(observations["bidding"], n)
                    self.model.learn_batch(
                        states, actions, np.full(n, reward), following, np.full(n, done)
                    )
            returns.append(total)
        return returns
