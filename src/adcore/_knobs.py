"""Agents' run-time knobs and signals, for :meth:`adcore.Engine.control` with a
:class:`~adcore.events.Tune` and for supervisors (:mod:`adcore.supervisor`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .agents import Agent
from .errors import InvalidEvent, InvalidInput
from .events import Tune

__all__ = ["apply_tune", "knob_values", "signals"]


def apply_tune(plan: Sequence[Agent], states: Mapping[str, Any], message: Tune) -> None:
    """Set the knob ``message`` names in its agent's state, or raise
    :class:`~adcore.errors.InvalidEvent` naming the field (``agent``, ``knob`` or
    ``value``) and change nothing."""
    agent = next((a for a in plan if a.name == message.agent), None)
    if agent is None:
        names = tuple(a.name for a in plan)
        raise InvalidEvent(f"no agent {message.agent!r} in the plan {names}", "agent")
    if message.knob not in agent.knobs:
        have = ", ".join(agent.knobs) or "none"
        raise InvalidEvent(
            f"agent {message.agent!r} has no knob {message.knob!r} (knobs: {have})", "knob"
        )
    try:
        agent.tune(states[agent.name], message.knob, float(message.value))
    except InvalidInput as exc:
        raise InvalidEvent(str(exc), "value") from None


def knob_values(plan: Sequence[Agent], states: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Every knob of the plan's agents with its value, by agent (agents without knobs
    left out)."""
    return {a.name: {k: a.knob(states[a.name], k) for k in a.knobs} for a in plan if a.knobs}


def signals(plan: Sequence[Agent], states: Mapping[str, Any], name: str) -> dict[str, float]:
    """Agent ``name``'s :meth:`~adcore.agents.Agent.monitor` signals; KeyError if the plan
    has no such agent."""
    agent = next((a for a in plan if a.name == name), None)
    if agent is None:
        raise KeyError(name)
    return dict(agent.monitor(states[name]))
