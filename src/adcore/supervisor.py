"""The supervisor: a meta-agent that watches an engine and tunes its learners.

A :class:`Supervisor` attaches to an :class:`~adcore.Engine` and reads what the engine
publishes on its bus: every :class:`~adcore.events.Outcome` (impressions, skips,
completions, clicks, conversions) and :class:`~adcore.events.SpendCharged`, plus the
learners' own signals (:meth:`adcore.agents.Agent.monitor`: the drifts a learner's
drift test detected). It reviews them once per ``window`` seconds of event time and
adjusts the learning agents' knobs (:attr:`adcore.agents.Agent.knobs`: a response
model's learning rate, a bandit's exploration) within declared :class:`Guardrail`
bounds. Every change is a :class:`~adcore.events.Tune` control message sent through
:meth:`adcore.Engine.control`, so it is checked like a person's, published on the bus,
kept in the engine's audit log, and shown in traces and ``explain`` (the tuned agents'
notes carry the knob's value).

The rules, in order, at the end of each window:

1. **Drift.** A learner detected a drift during the window: every ``learning_rate``
   and ``exploration`` knob is multiplied by ``boost`` (up to its guardrail's high
   bound), so the models re-learn fast and the bandits look again.
2. **Skips.** The window's skip rate (skips / (skips + completions), once at least
   ``min_events`` of them arrived) is above the usual rate (a moving average of the
   earlier calm windows) by more than ``skip_margin``: every ``exploration`` knob is
   multiplied by ``boost``.
3. **Calm.** Otherwise every knob moves half-way back to its base value (its value when
   the supervisor attached), and snaps to it within 1 %.

Delivery (spend per window) and value (conversion value per window) are recorded in
each :class:`Review` for inspection; pacing owns delivery, so the supervisor does not
act on them.

Examples
--------
>>> from adcore import Engine
>>> from adcore.demo import sample_catalog
>>> from adcore.sim.baseline import learned_agents
>>> from adcore.supervisor import Supervisor
>>> engine = Engine(sample_catalog(n_ads=20), agents=learned_agents())
>>> supervisor = Supervisor(engine, window=600.0)
>>> supervisor.guardrails[0]
Guardrail(agent='relevance', knob='learning_rate', low=0.005, high=0.08)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from .errors import InvalidInput
from .events import Outcome, SpendCharged, Tune

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["Guardrail", "Review", "Supervisor"]

_SNAP = 0.01
"""A knob within this share of its base value is set back to it."""


class Guardrail(msgspec.Struct, frozen=True, kw_only=True):
    """The range a supervisor may move one knob of one agent in (both bounds included).

    Parameters
    ----------
    agent : str
        The agent's name in the engine's plan.
    knob : str
        One of the agent's :attr:`~adcore.agents.Agent.knobs`.
    low, high : float
        The bounds, ``low <= high``; the knob's value when the supervisor attaches must
        lie between them.
    """

    agent: str
    knob: str
    low: float
    high: float


class Review(msgspec.Struct, frozen=True, kw_only=True):
    """What a supervisor saw in one window and what it changed.

    Parameters
    ----------
    start, end : float
        The window (event time, seconds).
    impressions, completes, skips, clicks, conversions : int
        Outcomes seen in the window.
    spend : float
        What was charged in the window (currency units).
    value : float
        Conversion value reported in the window.
    skip_rate : float
        ``skips / (skips + completes)``; NaN when fewer than ``min_events`` of them.
    usual_skip_rate : float
        The moving average of earlier calm windows' skip rates (NaN before there is
        one).
    drifts : int
        Drifts the learners detected in the window.
    rule : str
        ``"drift"``, ``"skips"`` or ``"calm"``.
    tunes : tuple of Tune
        The control messages sent (empty when nothing changed).
    """

    start: float
    end: float
    impressions: int
    completes: int
    skips: int
    clicks: int
    conversions: int
    spend: float
    value: float
    skip_rate: float
    usual_skip_rate: float
    drifts: int
    rule: str
    tunes: tuple[Tune, ...]


def _positive(value: Any, name: str, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number, got {value!r}", name)
    out = float(value)
    if not (math.isfinite(out) and out > low):
        raise InvalidInput(f"{name} must be a finite number > {low:g}, got {value!r}", name)
    return out


class Supervisor:
    """Watch ``engine`` and tune its learning agents' knobs within guardrails.

    Parameters
    ----------
    engine : Engine
        The engine to watch; the supervisor subscribes to its bus at once.
    guardrails : sequence of Guardrail, optional
        Which knobs it may move and how far. By default every knob of every agent of
        the plan, from a quarter to four times its current value.
    window : float, default 900.0
        Seconds of event time between reviews.
    boost : float, default 2.0
        The factor a knob is multiplied by when a rule raises it (> 1).
    skip_margin : float, default 0.05
        How far above the usual skip rate a window's rate must be to raise exploration.
    min_events : int, default 200
        Skips plus completions a window needs for its skip rate to count.
    by : str, default "supervisor"
        The ``by`` of the control messages it sends.

    Raises
    ------
    InvalidInput
        A bad argument (named), a guardrail naming an agent or knob the engine does not
        have, or one whose bounds do not hold the knob's current value.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        guardrails: Sequence[Guardrail] | None = None,
        window: float = 900.0,
        boost: float = 2.0,
        skip_margin: float = 0.05,
        min_events: int = 200,
        by: str = "supervisor",
    ) -> None:
        self.window = _positive(window, "window")
        self.boost = _positive(boost, "boost", 1.0)
        margin = _positive(skip_margin, "skip_margin", -1e-300)
        if margin > 1.0:
            raise InvalidInput(f"skip_margin must be in [0, 1], got {skip_margin!r}", "skip_margin")
        self.skip_margin = margin
        if isinstance(min_events, bool) or not isinstance(min_events, int) or min_events < 1:
            message = f"min_events must be an integer >= 1, got {min_events!r}"
            raise InvalidInput(message, "min_events")
        self.min_events = min_events
        if not isinstance(by, str) or not by:
            raise InvalidInput("by must be a non-empty string", "by")
        self.by = by
        knobs = engine.knobs()
        if guardrails is None:
            guardrails = [
                Guardrail(agent=a, knob=k, low=v / 4.0, high=v * 4.0)
                for a, values in knobs.items()
                for k, v in values.items()
            ]
        self.guardrails: tuple[Guardrail, ...] = tuple(_checked(guardrails, knobs))
        self.base: dict[tuple[str, str], float] = {
            (g.agent, g.knob): knobs[g.agent][g.knob] for g in self.guardrails
        }
        self._engine = engine
        self._lock = threading.Lock()
        self._reviews: list[Review] = []
        self._start: float | None = None
        self._counts = dict.fromkeys(("impression", "complete", "skip", "click", "conversion"), 0)
        self._spend_micros = 0
        self._value = 0.0
        self._usual = math.nan
        self._drifts_seen = self._drift_total()
        engine.bus.subscribe(Outcome, self._on_outcome)
        engine.bus.subscribe(SpendCharged, self._on_spend)

    def __repr__(self) -> str:
        return (
            f"Supervisor(window={self.window!r}, boost={self.boost!r}, "
            f"skip_margin={self.skip_margin!r}, min_events={self.min_events!r}, "
            f"guardrails={len(self.guardrails)})"
        )

    @property
    def reviews(self) -> tuple[Review, ...]:
        """Every review so far, oldest first."""
        with self._lock:
            return tuple(self._reviews)

    def close(self) -> None:
        """Stop watching the engine (unsubscribe from its bus)."""
        self._engine.bus.unsubscribe(Outcome, self._on_outcome)
        self._engine.bus.unsubscribe(SpendCharged, self._on_spend)

    # ------------------------------------------------------------------ watching
    def _drift_total(self) -> int:
        total = 0.0
        for name in self._engine.plan:
            agent_signals = self._engine.monitor(name)
            total += agent_signals.get("drifts", 0.0)
        return int(total)

    def _on_spend(self, message: SpendCharged) -> None:
        self._tick(message.timestamp)
        with self._lock:
            self._spend_micros += int(message.amount_micros)

    def _on_outcome(self, message: Outcome) -> None:
        self._tick(message.timestamp)
        with self._lock:
            if message.kind in self._counts:
                self._counts[message.kind] += 1
            if message.kind == "conversion":
                self._value += float(message.value)

    def _tick(self, now: float) -> None:
        """Review every window that ended before ``now``."""
        if not math.isfinite(now):
            return
        with self._lock:
            if self._start is None:
                self._start = now
                return
            due = now >= self._start + self.window
        if due:
            self.review(now)

    # ------------------------------------------------------------------ acting
    def review(self, now: float) -> Review | None:
        """Close the current window at ``now`` (event time) and apply the rules; called
        on its own as outcomes arrive, callable at any time. Returns the review, or None
        when no window is open yet."""
        with self._lock:
            if self._start is None:
                self._start = now
                return None
            start, self._start = self._start, now
            counts = dict(self._counts)
            self._counts = dict.fromkeys(self._counts, 0)
            spend, self._spend_micros = self._spend_micros / 1e6, 0
            value, self._value = self._value, 0.0
            usual = self._usual
        total = self._drift_total()
        drifts, self._drifts_seen = max(0, total - self._drifts_seen), total
        rated = counts["skip"] + counts["complete"]
        rate = counts["skip"] / rated if rated >= self.min_events else math.nan
        current = self._engine.knobs()
        if drifts:
            rule = "drift"
            why = f"{drifts} drift(s) detected by the learners"
            targets = {key: self._raise(key, current) for key in self.base}
        elif rate == rate and usual == usual and rate > usual + self.skip_margin:
            rule = "skips"
            why = (
                f"skip rate {rate:.3f} above the usual {usual:.3f} by more than "
                f"{self.skip_margin:g}"
            )
            targets = {
                key: self._raise(key, current) for key in self.base if key[1] == "exploration"
            }
        else:
            rule = "calm"
            why = "calm: back toward the base value"
            targets = {key: self._relax(key, current) for key in self.base}
            if rate == rate:
                with self._lock:
                    self._usual = rate if usual != usual else 0.8 * usual + 0.2 * rate
        tunes = []
        for (agent, knob), value_to in targets.items():
            before = current[agent][knob]
            if value_to == before:
                continue
            message = Tune(
                agent=agent,
                knob=knob,
                value=value_to,
                by=self.by,
                reason=f"{why}; {knob} {before:.6g} -> {value_to:.6g}",
                timestamp=now,
            )
            self._engine.control(message)
            tunes.append(message)
        out = Review(
            start=start,
            end=now,
            impressions=counts["impression"],
            completes=counts["complete"],
            skips=counts["skip"],
            clicks=counts["click"],
            conversions=counts["conversion"],
            spend=spend,
            value=value,
            skip_rate=rate,
            usual_skip_rate=usual,
            drifts=drifts,
            rule=rule,
            tunes=tuple(tunes),
        )
        with self._lock:
            self._reviews.append(out)
        return out

    def _bounds(self, key: tuple[str, str]) -> Guardrail:
        return next(g for g in self.guardrails if (g.agent, g.knob) == key)

    def _raise(self, key: tuple[str, str], current: dict[str, dict[str, float]]) -> float:
        g = self._bounds(key)
        return min(g.high, max(g.low, current[key[0]][key[1]] * self.boost))

    def _relax(self, key: tuple[str, str], current: dict[str, dict[str, float]]) -> float:
        g = self._bounds(key)
        base = self.base[key]
        value = current[key[0]][key[1]]
        target = base + (value - base) / 2.0
        if abs(target - base) <= _SNAP * abs(base):
            target = base
        return min(g.high, max(g.low, target))


def _checked(
    guardrails: Sequence[Guardrail], knobs: dict[str, dict[str, float]]
) -> list[Guardrail]:
    if isinstance(guardrails, str | bytes) or not isinstance(guardrails, Sequence):
        raise InvalidInput("guardrails must be a sequence of Guardrail", "guardrails")
    out: list[Guardrail] = []
    seen: set[tuple[str, str]] = set()
    for g in guardrails:
        if not isinstance(g, Guardrail):
            message = f"guardrails must hold Guardrail, got {type(g).__name__}"
            raise InvalidInput(message, "guardrails")
        if g.agent not in knobs or g.knob not in knobs[g.agent]:
            have = {a: sorted(k) for a, k in knobs.items()}
            raise InvalidInput(
                f"no knob {g.knob!r} of agent {g.agent!r} to guard (knobs: {have})", "guardrails"
            )
        low, high = g.low, g.high
        value = knobs[g.agent][g.knob]
        numbers = all(not isinstance(x, bool) and isinstance(x, int | float) for x in (low, high))
        if not (numbers and math.isfinite(low) and math.isfinite(high) and low <= value <= high):
            raise InvalidInput(
                f"guardrail of {g.agent}.{g.knob}: [{low!r}, {high!r}] must be finite and "
                f"hold its current value {value!r}",
                "guardrails",
            )
        if (g.agent, g.knob) in seen:
            raise InvalidInput(f"two guardrails for {g.agent}.{g.knob}", "guardrails")
        seen.add((g.agent, g.knob))
        out.append(g)
    return out
