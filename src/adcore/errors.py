"""The exceptions adcore raises at its edges.

Every error a caller can provoke with bad input is one of these. Each names what was
wrong (a field path such as ``imp[0].bidfloor``) and is raised *before* anything in the
engine changes, so a caller can catch it, log it and carry on.
"""

from __future__ import annotations

__all__ = [
    "AdcoreError",
    "InvalidCatalog",
    "InvalidConfig",
    "InvalidEvent",
    "InvalidInput",
    "InvalidRequest",
    "PlanError",
]


class AdcoreError(Exception):
    """Base class of every exception adcore raises on purpose."""


class InvalidRequest(AdcoreError, ValueError):
    """A bid request that cannot be decided: malformed, wrong types, or out of range.

    Attributes
    ----------
    field : str or None
        The path of the offending field (``"imp[0].bidfloor"``), or ``None`` when the
        problem is with the payload as a whole (e.g. it is not JSON at all).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidCatalog(AdcoreError, ValueError):
    """A catalog that cannot be compiled; the engine keeps serving the previous one.

    Attributes
    ----------
    field : str or None
        What was wrong, as a path (``"ads[3].embedding"``, ``"campaigns[c1].daily_budget"``).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidEvent(AdcoreError, ValueError):
    """A feedback event that is malformed (not one that merely refers to an unknown ad)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PlanError(AdcoreError):
    """The agents' declared reads and writes do not form a valid plan.

    Raised when an Engine is built, never on a request: a cycle between agents, a field
    an agent reads that nobody writes, or two agents with the same name.
    """


class ContractError(AdcoreError):
    """An agent changed context fields it does not declare in ``writes``, or replaced a
    context array (its shape or dtype differs from :data:`adcore.context.REGISTRY`).

    Raised only in debug mode (``EngineConfig.debug``), on the request where it
    happened; ``agent`` names the agent and ``fields`` the attributes.
    """

    def __init__(self, message: str, agent: str, fields: tuple[str, ...]) -> None:
        super().__init__(message)
        self.agent = agent
        self.fields = fields


class InvalidConfig(AdcoreError, ValueError):
    """An :class:`~adcore.EngineConfig` value out of range; ``field`` names it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(AdcoreError, ValueError):
    """A bad argument to one of adcore's array functions (:mod:`adcore.auctions`);
    ``field`` names the argument (``"bids"``, ``"weights"``)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
