"""The Agent contract every adcore agent follows.

An agent is a small object that declares which context fields it ``reads`` and
``writes`` (names from :data:`adcore.context.FIELDS`); the engine orders agents from
those declarations once, when it is built. Per catalog snapshot the engine calls
:meth:`Agent.bind` to build the agent's *state* (learned or shared data indexed like the
snapshot); per request it calls :meth:`Agent.run` with the request's context and that
state. Agents hold no per-request data themselves, so one agent serves many threads.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..bus import Bus
    from ..catalog import CatalogSnapshot
    from ..config import EngineConfig
    from ..context import Context
    from ..ledger import InProcessLedger

__all__ = ["Agent", "Services"]


class Services:
    """What the engine shares with agents when binding them to a snapshot."""

    __slots__ = ("bus", "config", "ledger")

    def __init__(self, config: EngineConfig, ledger: InProcessLedger, bus: Bus) -> None:
        self.config = config
        self.ledger = ledger
        self.bus = bus


class Agent(abc.ABC):
    """Base class of agents.

    Class attributes
    ----------------
    name : str
        Unique within an engine; names the agent in plans and traces.
    reads, writes : frozenset of str
        Context fields, from :data:`adcore.context.FIELDS`.
    optional : bool
        May be skipped (its :meth:`fallback` runs instead) when the latency budget is
        at risk.
    learns_from : tuple of type
        Bus message types delivered to :meth:`learn`.
    """

    name: ClassVar[str]
    reads: ClassVar[frozenset[str]]
    writes: ClassVar[frozenset[str]]
    optional: ClassVar[bool] = False
    learns_from: ClassVar[tuple[type, ...]] = ()

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        """Build this agent's state for ``snapshot``, carrying over what ``previous`` (the
        state for the snapshot being replaced, or None) learned. Default: no state."""
        return None

    @abc.abstractmethod
    def run(self, ctx: Context, state: Any) -> None:
        """Do the agent's work for the request in ``ctx``."""

    def fallback(self, ctx: Context, state: Any) -> None:
        """The cheap, safe result written when the agent is skipped (optional agents)."""
        self.run(ctx, state)

    def learn(self, message: Any, state: Any) -> None:  # noqa: B027 - optional hook
        """Update ``state`` from a bus message of a type in :attr:`learns_from`."""

    def after(self, ctx: Context, state: Any) -> None:  # noqa: B027 - optional hook
        """Observe the finished decision in ``ctx`` (winners and prices known), on every
        path, untraced or traced; called under the engine's lock, so it may update
        learned state. Default: nothing (and the engine does not call it)."""

    def observes(self, state: Any) -> bool:
        """Whether :meth:`after` has work to do with ``state`` (asked once per catalog
        snapshot; default: whenever the agent overrides :meth:`after`)."""
        return type(self).after is not Agent.after

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        """What the agent decided for the request in ``ctx``, for the trace."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
