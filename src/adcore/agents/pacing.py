"""The pacing agent: spreads each campaign's daily budget over the day.

Each campaign picks a strategy (:class:`~adcore.catalog.Pacing`): PID control of its
committed share of the daily budget against the planned spend curve (the default),
adaptive dual pacing (bid ``value / (1 + mu)``), probabilistic throttling, or as soon
as possible. The controllers' state is updated every ``pacing_interval`` seconds of
engine time by the kernels of :mod:`adcore._kernels.pacing_control`; on every
request the agent turns it into one bid multiplier per campaign and computes what each
campaign may still commit (daily and total budget less spend and holds), which caps the
auction's bids: pacing caps bidding, and spend never exceeds a budget.

A campaign behind plan catches up: PID and dual multipliers rise above 1, up to the
campaign's ceiling (at most ``pacing_max_multiplier``; for a fixed CPM the
multiplier that bids its ``max_bid``), and the auction caps every effective bid at its
campaign's ``max_bid``; a throttled campaign stops throttling. Each campaign's plan runs
from an anchor: midnight for a day paced from its start, else the moment pacing began
for it (an engine started, a campaign added or its flight begun during the day), from
which the rest of its budget is spread over the rest of the planned traffic; nothing
missed before is caught up.

The planned spend curve is ``pacing_curve`` when given; otherwise it is the
traffic forecast the agent learns from the requests it sees, per bin of the UTC day
(``forecast_bins``), blended day by day (``forecast_alpha``). Until a whole day has been
seen the plan is flat and throttling extrapolates today's request rate.

Every setting named here is an argument of :class:`PacingAgent`, by default the
engine's :class:`~adcore.EngineConfig` field of the same name.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .._kernels.pacing import pace
from .._kernels.pacing_control import (
    catch_up_ceiling,
    clamp_to_ceiling,
    dual_update,
    forecast_update,
    pid_update,
    planned_share,
    remaining_requests,
    throttle_update,
)
from ..catalog import CatalogSnapshot
from ..config import EngineConfig
from ..context import Context
from ..ledger import Ledger
from .base import Agent, KernelStep, Services

__all__ = ["PacingAgent", "planned_fraction"]

_DAY = 86400.0


def planned_fraction(now: float, cumulative: np.ndarray | None) -> float:
    """The share of the day's budget planned to be spent by ``now`` (UTC), from a
    cumulative hourly curve (flat when None)."""
    seconds = now % _DAY
    if cumulative is None:
        return seconds / _DAY
    hour = int(seconds // 3600.0)
    within = (seconds - hour * 3600.0) / 3600.0
    start = cumulative[hour - 1] if hour > 0 else 0.0
    return float(start + (cumulative[hour] - start) * within)


class _PacingState:
    """Controller state per campaign, the traffic forecast and the update clock."""

    forecast: np.ndarray
    counts: np.ndarray
    days_seen: int
    day: int
    last_update: float
    next_update: float
    planned_prev: float
    today: float
    ids: tuple[str, ...]

    def __init__(
        self,
        snapshot: CatalogSnapshot,
        services: Services,
        cfg: EngineConfig,
        previous: _PacingState | None,
    ) -> None:
        self.ledger: Ledger = services.ledger
        self.cumulative: np.ndarray | None = None
        if cfg.pacing_curve is not None:
            w = np.asarray(cfg.pacing_curve, dtype=np.float64)
            self.cumulative = np.cumsum(w) / w.sum()
        self.gain = cfg.pacing_gain
        self.floor = cfg.pacing_min_multiplier
        self.ki = cfg.pacing_ki
        self.kd = cfg.pacing_kd
        self.interval = cfg.pacing_interval
        self.step = cfg.dual_step
        self.mu_max = cfg.dual_max
        self.p_min = cfg.throttle_min
        self.smoothing = cfg.throttle_smoothing
        self.alpha = cfg.forecast_alpha
        self.strategy = snapshot.camp_pacing
        self.camp_key = snapshot.camp_key
        self.camp_start = snapshot.camp_start
        self.camp_end = snapshot.camp_end
        n = snapshot.n_campaigns
        self.ceiling = np.ones(n, dtype=np.float64)
        catch_up_ceiling(
            self.ceiling,
            snapshot.camp_strategy,
            snapshot.camp_amount,
            snapshot.camp_max_bid,
            cfg.pacing_max_multiplier,
        )
        # Plan anchors: NaN until the next update anchors the campaign there.
        self.plan0 = np.full(n, np.nan, dtype=np.float64)
        self.share0 = np.zeros(n, dtype=np.float64)
        self.mu = np.zeros(n, dtype=np.float64)
        self.u = np.ones(n, dtype=np.float64)
        self.integral = np.zeros(n, dtype=np.float64)
        self.prev_error = np.zeros(n, dtype=np.float64)
        self.p = np.ones(n, dtype=np.float64)
        self.spend_per_request = np.zeros(n, dtype=np.float64)
        self.last_spent = np.zeros(n, dtype=np.int64)
        self.lock = threading.Lock()
        self.requests = itertools.count()
        self.counted = 0  # requests counted into the forecast so far
        if previous is not None:
            # Carry learned state over by campaign id; the forecast and clock as they are.
            old = {cid: c for c, cid in enumerate(previous.ids)}
            for c, cid in enumerate(snapshot.campaign_ids):
                j = old.get(cid)
                if j is not None:
                    for name in (
                        "mu",
                        "u",
                        "integral",
                        "prev_error",
                        "p",
                        "spend_per_request",
                        "last_spent",
                        "plan0",
                        "share0",
                    ):
                        getattr(self, name)[c] = getattr(previous, name)[j]
            # A lower max_bid (or another strategy) takes effect on the next request.
            clamp_to_ceiling(self.mu, self.u, self.strategy, self.ceiling)
            self.forecast = previous.forecast
            self.counts = previous.counts
            self.days_seen = previous.days_seen
            self.day = previous.day
            self.last_update = previous.last_update
            self.next_update = previous.next_update
            self.planned_prev = previous.planned_prev
            self.today = previous.today
            self.requests = previous.requests
            self.counted = previous.counted
        else:
            self.forecast = np.zeros(cfg.forecast_bins, dtype=np.float64)
            self.counts = np.zeros(cfg.forecast_bins, dtype=np.float64)
            self.days_seen = 0
            self.day = -1
            self.last_update = -math.inf
            self.next_update = -math.inf
            self.planned_prev = 0.0
            self.today = 0.0  # requests seen today
        self.ids = snapshot.campaign_ids

    def planned(self, now: float) -> float:
        """The planned share of today's spend by ``now``."""
        if self.cumulative is not None or self.days_seen == 0:
            return planned_fraction(now, self.cumulative)
        return float(planned_share(self.forecast, now % _DAY))

    def remaining(self, now: float, planned: float) -> float:
        """Requests expected from ``now`` to midnight."""
        if self.days_seen > 0:
            return float(remaining_requests(self.forecast, now % _DAY))
        if planned <= 0.0 or self.today <= 0.0:
            return 1.0
        return max(1.0, self.today / planned * (1.0 - planned))

    def anchor(
        self,
        now: float,
        planned: float,
        daily: np.ndarray,
        spent_today: np.ndarray,
        held: np.ndarray,
    ) -> None:
        """Start the plan of each campaign not yet anchored today, or outside its
        flight, at ``now``: its plan then runs from its committed share now to its
        whole budget at the end of the day."""
        fresh = np.isnan(self.plan0) | (now < self.camp_start) | (now >= self.camp_end)
        if not fresh.any():
            return
        self.plan0[fresh] = planned
        budget = np.maximum(daily[fresh], 1).astype(np.float64)
        share = (spent_today[fresh] + held[fresh]) / budget
        self.share0[fresh] = np.where(daily[fresh] > 0, share, 0.0)

    def update(self, now: float) -> None:
        """One pacing interval: roll the day if it changed, then update every
        controller (called under ``lock``)."""
        seen = next(self.requests) + 1  # requests so far, this one included
        new = seen - self.counted
        self.counted = seen
        day = int(now // _DAY)
        bins = self.counts.shape[0]
        if self.last_update > -math.inf:
            b = int((self.last_update % _DAY) / _DAY * bins)
            self.counts[min(b, bins - 1)] += new
        self.today += new
        ledger = self.ledger
        if day != self.day:
            continued = self.day >= 0 and day == self.day + 1
            if continued and self.counts.sum() > 0:
                forecast_update(self.forecast, self.counts, self.alpha, self.days_seen)
                self.days_seen += 1
            # Paced through midnight: today's plans start there. Otherwise (the first
            # update, or days skipped) they start now, below.
            self.plan0[:] = 0.0 if continued else np.nan
            self.share0[:] = 0.0
            self.counts[:] = 0.0
            self.today = 0.0
            self.day = day
            self.last_spent[:] = 0
            self.prev_error[:] = 0.0
            self.integral[:] = 0.0
            self.planned_prev = 0.0
            self.last_update = day * _DAY
        planned = self.planned(now)
        dt_hours = max(0.0, now - self.last_update) / 3600.0
        # Controllers pace the campaign's whole budget (for a fleet ledger, the fleet's
        # spend); the per-request cap (pace) uses what this process may commit.
        daily, spent_today, held = ledger.pacing_view()
        self.anchor(now, planned, daily, spent_today, held)
        dual_update(
            self.mu,
            self.strategy,
            daily,
            spent_today,
            self.last_spent,
            self.ceiling,
            self.planned_prev,
            planned,
            self.step,
            self.mu_max,
        )
        pid_update(
            self.u,
            self.integral,
            self.prev_error,
            self.strategy,
            daily,
            spent_today,
            held,
            self.plan0,
            self.share0,
            self.ceiling,
            planned,
            dt_hours,
            self.gain,
            self.ki,
            self.kd,
            self.floor,
        )
        throttle_update(
            self.p,
            self.spend_per_request,
            self.strategy,
            daily,
            spent_today,
            held,
            self.last_spent,
            float(new),
            self.remaining(now, planned),
            self.smoothing,
            self.p_min,
        )
        self.planned_prev = planned
        self.last_update = now
        self.next_update = now + self.interval


def count_request(ctx: Context, state: _PacingState) -> None:
    """Count the request and, once per pacing interval, update the controllers."""
    now = ctx.now
    if now >= state.next_update or now < state.last_update:
        with state.lock:
            if now >= state.next_update or now < state.last_update:
                state.update(now)
                return
    next(state.requests)


class PacingAgent(Agent):
    """Budget multipliers and spendable budget per campaign.

    Takes, keyword-only, the :class:`~adcore.EngineConfig` fields it uses, named like
    them: None (the default) takes the engine's value; any other value is checked by
    EngineConfig's rules (:class:`~adcore.InvalidConfig` naming the field) and replaces
    the engine's for this agent.

    Parameters
    ----------
    pacing_curve : sequence of 24 floats, optional
        Relative traffic per UTC hour, the shape of the planned spend curve
        (``EngineConfig.pacing_curve``). None takes the engine's, which is the learned
        traffic forecast unless the engine's configuration gives a curve.
    pacing_gain, pacing_min_multiplier, pacing_max_multiplier : float, optional
        PID pacing's proportional gain, lowest multiplier and catch-up ceiling
        (``EngineConfig.pacing_gain``, ``pacing_min_multiplier``,
        ``pacing_max_multiplier``).
    pacing_ki, pacing_kd : float, optional
        PID pacing's integral and derivative gains (``EngineConfig.pacing_ki``,
        ``pacing_kd``).
    pacing_interval : float, optional
        Seconds between controller updates (``EngineConfig.pacing_interval``).
    dual_step, dual_max : float, optional
        Dual pacing's step size and upper bound of ``mu`` (``EngineConfig.dual_step``,
        ``dual_max``).
    throttle_min, throttle_smoothing : float, optional
        Throttling's lowest participation probability and smoothing weight
        (``EngineConfig.throttle_min``, ``throttle_smoothing``).
    forecast_bins : int, optional
        Bins of the UTC day in the traffic forecast (``EngineConfig.forecast_bins``);
        a forecast already learned keeps its bins.
    forecast_alpha : float, optional
        Weight of the newest day in the traffic forecast
        (``EngineConfig.forecast_alpha``).

    Examples
    --------
    >>> PacingAgent(pacing_gain=5.0, pacing_interval=30)
    PacingAgent(pacing_gain=5.0, pacing_interval=30.0)
    """

    name: ClassVar[str] = "pacing"
    reads: ClassVar[frozenset[str]] = frozenset({"features"})
    writes: ClassVar[frozenset[str]] = frozenset({"multiplier"})
    step: ClassVar[KernelStep] = KernelStep(
        pace,
        (
            "ctx.avail",
            "ctx.mult",
            "state.ledger.daily",
            "state.ledger.total",
            "state.ledger.spent_today",
            "state.ledger.spent_total",
            "state.ledger.held",
            "state.strategy",
            "state.mu",
            "state.u",
            "state.p",
            "state.camp_key",
            "ctx.request_key",
        ),
        prepare=count_request,
    )
    parameters: ClassVar[tuple[str, ...]] = (
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
    )

    pacing_curve: tuple[float, ...] | None = None
    pacing_gain: float | None = None
    pacing_min_multiplier: float | None = None
    pacing_max_multiplier: float | None = None
    pacing_ki: float | None = None
    pacing_kd: float | None = None
    pacing_interval: float | None = None
    dual_step: float | None = None
    dual_max: float | None = None
    throttle_min: float | None = None
    throttle_smoothing: float | None = None
    forecast_bins: int | None = None
    forecast_alpha: float | None = None

    def __init__(
        self,
        *,
        pacing_curve: Sequence[float] | None = None,
        pacing_gain: float | None = None,
        pacing_min_multiplier: float | None = None,
        pacing_max_multiplier: float | None = None,
        pacing_ki: float | None = None,
        pacing_kd: float | None = None,
        pacing_interval: float | None = None,
        dual_step: float | None = None,
        dual_max: float | None = None,
        throttle_min: float | None = None,
        throttle_smoothing: float | None = None,
        forecast_bins: int | None = None,
        forecast_alpha: float | None = None,
    ) -> None:
        self._set_parameters(
            pacing_curve=pacing_curve,
            pacing_gain=pacing_gain,
            pacing_min_multiplier=pacing_min_multiplier,
            pacing_max_multiplier=pacing_max_multiplier,
            pacing_ki=pacing_ki,
            pacing_kd=pacing_kd,
            pacing_interval=pacing_interval,
            dual_step=dual_step,
            dual_max=dual_max,
            throttle_min=throttle_min,
            throttle_smoothing=throttle_smoothing,
            forecast_bins=forecast_bins,
            forecast_alpha=forecast_alpha,
        )

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        return _PacingState(
            snapshot,
            services,
            self.settings(services.config),
            previous if isinstance(previous, _PacingState) else None,
        )

    def notes(self, ctx: Context, state: _PacingState) -> dict[str, float | int | str]:
        return {
            "planned_fraction": round(state.planned(ctx.now), 4),
            "campaigns_damped": int((ctx.mult < 1.0).sum()),
            "campaigns_catching_up": int((ctx.mult > 1.0).sum()),
            "campaigns_out_of_budget": int((ctx.avail <= 0).sum()),
        }
