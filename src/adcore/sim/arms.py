"""The arms of the simulator: the ways of deciding it compares, each a list of agents and
an engine configuration, by name (:data:`ARMS`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ..agents import Agent, default_agents
from ..config import EngineConfig
from ..engine import Engine
from ..errors import InvalidInput
from ..supervisor import Supervisor
from .baseline import (
    baseline_agents,
    baseline_config,
    learned_agents,
    learned_monolith_agents,
    monolith_agents,
    supervised_agents,
)

__all__ = ["ARMS", "DEFAULT_ARMS", "Arm", "ArmRegistry", "resolve_arms"]


@dataclass(frozen=True)
class Arm:
    """A way of deciding: a name, its agents, how it configures the engine and what it
    attaches to the engine once built (a supervisor), if anything."""

    name: str
    agents: Callable[[], list[Agent]]
    configure: Callable[[EngineConfig], EngineConfig] = field(default=lambda c: c)
    attach: Callable[[Engine], object] | None = None


class ArmRegistry(Mapping[str, Arm]):
    """Arms by name. Lookups also accept an alias (``ARMS["baseline"]`` is the
    ``naive`` arm); iteration, ``len`` and ``keys()`` give canonical names only."""

    def __init__(self, arms: Sequence[Arm], aliases: Mapping[str, str]) -> None:
        self._arms = {a.name: a for a in arms}
        unknown = sorted(set(aliases.values()) - set(self._arms))
        if unknown:
            raise ValueError(f"aliases name unknown arms {unknown}")
        self._aliases = dict(aliases)

    @property
    def aliases(self) -> dict[str, str]:
        """Alias -> canonical name."""
        return dict(self._aliases)

    def canonical(self, name: str) -> str:
        """The canonical name of ``name`` (an arm's name or an alias); KeyError if
        neither."""
        real = self._aliases.get(name, name)
        if real not in self._arms:
            raise KeyError(name)
        return real

    def __getitem__(self, name: str) -> Arm:
        return self._arms[self.canonical(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arms)

    def __len__(self) -> int:
        return len(self._arms)

    def __repr__(self) -> str:
        return f"ArmRegistry({list(self._arms)}, aliases={self._aliases})"


ARMS: ArmRegistry = ArmRegistry(
    [
        Arm("agents", default_agents),
        Arm("monolith", monolith_agents),
        Arm("naive", baseline_agents, baseline_config),
        Arm("learned", learned_agents),
        Arm("monolith-learned", learned_monolith_agents),
        Arm("supervised", supervised_agents, attach=Supervisor),
    ],
    {"baseline": "naive"},
)
"""The built-in arms: ``agents`` (the ten agents), ``monolith`` (one response model with
standard pacing, fraud filter, frequency caps, safety and consent; no creative agent)
``naive`` (alias ``baseline``: no pacing, fraud filter, frequency caps or creative
agent), ``learned`` / ``monolith-learned`` (the first two with the contextual
relevance model and, for ``learned``, the bandit creative agent) and ``supervised``
(``learned`` with a drift test on the response model and a
:class:`~adcore.supervisor.Supervisor` tuning the learners)."""

DEFAULT_ARMS: tuple[str, ...] = ("agents", "monolith")
"""What :func:`simulate` compares by default: the ten agents against the monolith."""


def resolve_arms(arms: Sequence[str]) -> tuple[str, ...]:
    """``arms`` as canonical names, checked: known (aliases allowed), not repeated, at
    least one. Raises :class:`~adcore.InvalidInput` naming ``arms``."""
    if isinstance(arms, str) or not arms:
        raise InvalidInput(f"arms must be a non-empty sequence of arm names, got {arms!r}", "arms")
    known = sorted([*ARMS, *ARMS.aliases])
    unknown = [a for a in arms if not isinstance(a, str) or a not in ARMS]
    if unknown:
        raise InvalidInput(f"unknown arms {unknown}; known: {known}", "arms")
    names = tuple(ARMS.canonical(a) for a in arms)
    repeated = sorted({a for a in names if names.count(a) > 1})
    if repeated:
        raise InvalidInput(f"arms {repeated} are listed more than once", "arms")
    return names
