"""A learned bid policy served in the engine: each campaign's bids times a multiplier
chosen by a trained Q-learning table from the campaign's state.

:class:`QBiddingAgent` is the actor of :class:`adcore.sim.bidder.QBidder`, run alone at
decide time: a kernel step, fused with the other agents' steps, multiplies every
candidate's bid by its campaign's current multiplier (capped at the campaign's max bid).
The multipliers change once per ``interval`` seconds of engine time, in the step's
prepare: each campaign's state is the bucket of the day and its pace (its spend today
against the share of its daily budget the plan expects by now, as the pacing view of
the ledger reports it), and its multiplier is the table's greedy action there. The
table is the agent's model: saved and loaded with :meth:`adcore.Engine.save_models` /
:meth:`~adcore.Engine.load_models`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import msgspec
import numpy as np

from .._kernels.bidding import scale_bids
from ..catalog import CatalogSnapshot
from ..context import Context
from ..errors import InvalidConfig, InvalidInput
from ..learn.qlearning import QLearning, QState
from .base import Agent, KernelStep, Services
from .pacing import planned_fraction

__all__ = ["MULTIPLIERS", "QBiddingAgent", "pace_states"]

_DAY = 86400.0

MULTIPLIERS: tuple[float, ...] = (1.0, 0.5, 0.75, 1.25, 1.5)
"""The default multipliers. The first is the choice wherever the table's values tie
(states never visited included): 1, the engine's own bid."""


class _QBidState:
    def __init__(
        self,
        snapshot: CatalogSnapshot,
        policy: QLearning,
        ledger: Any,
        agent: QBiddingAgent,
    ) -> None:
        self.policy = policy
        self.ledger = ledger
        self.ad_campaign = snapshot.ad_campaign
        self.per_ad = np.ones(snapshot.n_ads, dtype=np.float64)
        self.max_bid = np.ascontiguousarray(snapshot.camp_max_bid[snapshot.ad_campaign])
        self.campaign_multiplier = np.ones(snapshot.n_campaigns, dtype=np.float64)
        self.campaign_state = np.zeros(snapshot.n_campaigns, dtype=np.int64)
        self.multipliers = np.asarray(agent.multipliers, dtype=np.float64)
        self.hours = agent.hours
        self.pace_band = agent.pace_band
        self.interval = agent.interval
        self.cumulative = agent._cumulative
        self.next_update = -math.inf


def pace_states(
    day_fraction: float, spent: np.ndarray, planned: float, hours: int, pace_band: float
) -> np.ndarray:
    """Each campaign's state, ``hour_bucket * 3 + pace``: the bucket of the day
    (``hours`` equal buckets, from the share of the day elapsed) and its pace, 0 behind,
    1 on, 2 ahead of the plan (its spent fraction of the daily budget more than
    ``pace_band`` below, within, or more than ``pace_band`` above ``planned``). The one
    definition the trainer (:class:`adcore.sim.bidder.QBidder`) and this agent share."""
    bucket = min(hours - 1, int(day_fraction * hours))
    pace = np.where(spent < planned - pace_band, 0, np.where(spent > planned + pace_band, 2, 1))
    out: np.ndarray = (bucket * 3 + pace).astype(np.int64)
    return out


def _refresh(ctx: Context, state: _QBidState) -> None:
    """The step's prepare: once per interval, each campaign's state and multiplier."""
    now = ctx.now
    if now < state.next_update:
        return
    state.next_update = (now // state.interval + 1.0) * state.interval
    daily, spent, _ = state.ledger.pacing_view()
    n = state.campaign_state.shape[0]
    budget = np.asarray(daily[:n], dtype=np.float64)
    share = np.where(budget > 0, np.asarray(spent[:n], dtype=np.float64) / np.maximum(budget, 1), 0)
    planned = planned_fraction(now, state.cumulative)
    day = (now % _DAY) / _DAY
    state.campaign_state[:] = pace_states(day, share, planned, state.hours, state.pace_band)
    greedy = state.policy.policy()
    state.campaign_multiplier[:] = state.multipliers[greedy[state.campaign_state]]
    state.per_ad[:] = state.campaign_multiplier[state.ad_campaign]


class QBiddingAgent(Agent):
    """Each campaign's bids times the multiplier a trained Q-learning table chooses.

    Parameters
    ----------
    policy : QLearning, optional
        The trained table: ``hours * 3`` states (bucket of the day times pace: behind,
        on or ahead of plan) and one action per multiplier. Copied when the agent is
        first bound. By default a table that learned nothing (every campaign plays the
        first multiplier).
    multipliers : sequence of float, default :data:`MULTIPLIERS`
        The multiplier of each action, each in [0, 2].
    hours : int, default 6
        Buckets the day is cut into.
    pace_band : float, default 0.05
        How far from the plan (in fractions of the daily budget) still counts as on pace.
    interval : float, default 900.0
        Seconds of engine time between changes of the multipliers.
    plan : sequence of 24 floats, optional
        The relative traffic per UTC hour the plan follows (a scenario's ``diurnal``);
        flat when omitted.

    Examples
    --------
    >>> from adcore.learn import QLearning
    >>> QBiddingAgent(policy=QLearning(18, 3), multipliers=(0.5, 1.0, 1.5))
    QBiddingAgent(multipliers=(0.5, 1.0, 1.5), hours=6, pace_band=0.05, interval=900.0)
    """

    name: ClassVar[str] = "bid_policy"
    reads: ClassVar[frozenset[str]] = frozenset({"bid", "candidates"})
    writes: ClassVar[frozenset[str]] = frozenset({"bid"})
    step: ClassVar[KernelStep] = KernelStep(
        scale_bids,
        ("ctx.bid", "ctx.cand", "ctx.n_cand", "state.per_ad", "state.max_bid"),
        prepare=_refresh,
    )

    def __init__(
        self,
        *,
        policy: QLearning | None = None,
        multipliers: Sequence[float] = MULTIPLIERS,
        hours: int = 6,
        pace_band: float = 0.05,
        interval: float = 900.0,
        plan: Sequence[float] | None = None,
    ) -> None:
        if policy is None and isinstance(hours, int) and not isinstance(hours, bool) and hours > 0:
            try:
                policy = QLearning(hours * 3, len(tuple(multipliers)))
            except (TypeError, InvalidInput):
                policy = None
        if not isinstance(policy, QLearning):
            raise InvalidConfig(
                f"QBiddingAgent argument 'policy' must be a QLearning, got {type(policy).__name__}",
                "policy",
            )
        try:
            m = tuple(float(x) for x in multipliers)
        except (TypeError, ValueError):
            raise InvalidConfig("multipliers must be numbers", "multipliers") from None
        if not m or not all(0.0 <= x <= 2.0 for x in m) or len(m) != policy.n_actions:
            raise InvalidConfig(
                f"multipliers must be {policy.n_actions} numbers in [0, 2] (one per action "
                "of the policy)",
                "multipliers",
            )
        if isinstance(hours, bool) or not isinstance(hours, int) or hours * 3 != policy.n_states:
            raise InvalidConfig(
                f"hours must be the policy's states / 3 ({policy.n_states / 3:g}), got {hours!r}",
                "hours",
            )
        if not (isinstance(pace_band, int | float) and 0.0 <= pace_band < 1.0):
            raise InvalidConfig(f"pace_band must be in [0, 1), got {pace_band!r}", "pace_band")
        if not (isinstance(interval, int | float) and 0.0 < interval < math.inf):
            raise InvalidConfig(f"interval must be a positive number, got {interval!r}", "interval")
        self._cumulative: np.ndarray | None = None
        if plan is not None:
            w = np.asarray(plan, dtype=np.float64)
            if w.shape != (24,) or not np.all(np.isfinite(w) & (w >= 0)) or w.sum() <= 0:
                raise InvalidConfig("plan must be 24 non-negative weights, not all 0", "plan")
            self._cumulative = np.cumsum(w) / w.sum()
        self.policy = policy
        self.multipliers = m
        self.hours = hours
        self.pace_band = float(pace_band)
        self.interval = float(interval)

    def __repr__(self) -> str:
        return (
            f"QBiddingAgent(multipliers={self.multipliers!r}, hours={self.hours}, "
            f"pace_band={self.pace_band!r}, interval={self.interval!r})"
        )

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        policy = (
            previous.policy
            if isinstance(previous, _QBidState)
            else QLearning.from_state(self.policy.state())
        )
        return _QBidState(snapshot, policy, services.ledger, self)

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        cand = ctx.cand[: ctx.n_cand]
        used = np.unique(state.per_ad[cand]) if cand.size else np.ones(0)
        return {"multipliers": ",".join(f"{x:g}" for x in used.tolist()) or "-"}

    def dump_model(self, state: Any) -> tuple[str, msgspec.Struct] | None:
        return "qlearning", state.policy.state()

    def load_model(self, kind: str, data: bytes, state: Any) -> Any:
        """A state with the saved table, which must have this agent's shape."""
        if kind != "qlearning":
            message = f"agent {self.name!r} loads a 'qlearning' model, got {kind!r}"
            raise InvalidInput(message, "models")
        try:
            saved = QLearning.from_state(msgspec.msgpack.decode(data, type=QState))
        except msgspec.DecodeError as exc:
            raise InvalidInput(
                f"agent {self.name!r}: a bad Q-learning model: {exc}", "models"
            ) from None
        if (saved.n_states, saved.n_actions) != (state.policy.n_states, state.policy.n_actions):
            raise InvalidInput(
                f"agent {self.name!r} needs a table of {state.policy.n_states} states x "
                f"{state.policy.n_actions} actions, got {saved.n_states} x {saved.n_actions}",
                "models",
            )
        new = _QBidState.__new__(_QBidState)
        new.__dict__.update(state.__dict__)
        new.policy = saved
        new.per_ad = state.per_ad.copy()
        new.campaign_multiplier = state.campaign_multiplier.copy()
        new.campaign_state = state.campaign_state.copy()
        new.next_update = -math.inf  # choose again from the new table
        return new
