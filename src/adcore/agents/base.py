"""The Agent contract every adcore agent follows.

An agent is a small object that declares which context fields it ``reads`` and
``writes`` (names from :data:`adcore.context.FIELDS`); the engine orders agents from
those declarations once, when it is built. Per catalog snapshot the engine calls
:meth:`Agent.bind` to build the agent's *state* (learned or shared data indexed like the
snapshot); per request it calls :meth:`Agent.run` with the request's context and that
state. Agents hold no per-request data themselves, so one agent serves many threads.

An agent whose work is a compiled kernel declares it once, as its :class:`KernelStep`
(the kernel, where each of its arguments comes from, what its return value sets, and an
optional Python ``prepare``). Every path is derived from that declaration: the engine
fuses consecutive steps into one generated compiled program (:mod:`adcore._program`),
the traced path runs the same program one step at a time, and :meth:`Agent.run` calls
the kernel alone. An agent without a step overrides :meth:`Agent.run`; it runs in Python
between compiled segments.
"""

from __future__ import annotations

import abc
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from ..config import EngineConfig
from ..errors import InvalidConfig, InvalidInput, PlanError

if TYPE_CHECKING:
    from ..bus import Bus
    from ..catalog import CatalogSnapshot
    from ..context import Context
    from ..ledger import Ledger

__all__ = ["Agent", "KernelStep", "Services"]

ROOTS = ("ctx", "snap", "state")
"""Where a kernel argument comes from: the request's context, the catalog snapshot, or
the agent's state for that snapshot."""


class KernelStep:
    """An agent's compiled step: one kernel call, declared once.

    Parameters
    ----------
    kernel : numba dispatcher
        A top-level function of an importable module, compiled with ``numba.njit`` (or
        adcore's own kernel decorator). It must write its results into the arrays it is
        given (or return them, see ``returns``).
    args : tuple of str
        Where each positional argument comes from, in order: ``"ctx.<name>"`` (an
        attribute of the context, a name in :data:`adcore.context.REGISTRY`),
        ``"snap.<name>"`` (of the catalog snapshot) or ``"state.<name>"`` (of the agent's
        state from :meth:`Agent.bind`; dotted paths such as ``"state.ledger.daily"``
        reach further). Context *values* (``n_imp``, ``now``, ``n_cand``, ...) are read on
        every call; arrays, and everything from the snapshot and the state, are read once
        per context and snapshot: state arrays must be updated in place, never replaced,
        and state scalars must stay constant.
    returns : tuple of str
        Context values (REGISTRY names of per-request values) set from the kernel's
        return value: one name for a scalar return, several for a tuple.
    prepare : callable, optional
        ``prepare(ctx, state)``: Python work done before the kernel (decoding strings,
        request-level lookups). It runs before the compiled segment that holds the step,
        so it may read the request, its features and the agent's state, but not what the
        kernels of earlier agents in the same segment write.

    Examples
    --------
    >>> from adcore._kernels.bidding import strategy_bids
    >>> step = KernelStep(strategy_bids, ("ctx.bid", "ctx.value", "ctx.reason", "ctx.n_imp",
    ...     "ctx.score", "snap.ad_campaign", "snap.camp_strategy", "snap.camp_amount",
    ...     "snap.camp_max_bid", "snap.camp_conversion_rate", "ctx.cand", "ctx.n_cand"))
    >>> step.sources[:2]
    (('ctx', 'bid'), ('ctx', 'value'))
    """

    __slots__ = ("_getters", "args", "kernel", "prepare", "returns", "sources")

    def __init__(
        self,
        kernel: Any,
        args: tuple[str, ...],
        returns: tuple[str, ...] = (),
        prepare: Callable[[Context, Any], None] | None = None,
    ) -> None:
        self.kernel = kernel
        self.args = tuple(args)
        self.returns = tuple(returns)
        self.prepare = prepare
        sources = []
        for a in self.args:
            root, _, path = a.partition(".")
            if root not in ROOTS or not path:
                raise PlanError(
                    f"kernel argument {a!r} must be 'ctx.<name>', 'snap.<name>' or 'state.<name>'"
                )
            sources.append((root, path))
        self.sources: tuple[tuple[str, str], ...] = tuple(sources)
        """Each argument as ``(root, attribute path)``."""
        self._getters = tuple((root, operator.attrgetter(path)) for root, path in sources)

    def gather(
        self, ctx: Context, state: Any, replace: Mapping[str, Any] | None = None
    ) -> list[Any]:
        """The kernel's arguments for the request in ``ctx``; ``replace`` maps argument
        sources (as in :attr:`args`) to values used instead."""
        roots = {"ctx": ctx, "snap": ctx.snapshot, "state": state}
        out = [get(roots[root]) for root, get in self._getters]
        if replace:
            for i, a in enumerate(self.args):
                if a in replace:
                    out[i] = replace[a]
        return out

    def call(self, ctx: Context, state: Any, replace: Mapping[str, Any] | None = None) -> None:
        """Run the step alone: ``prepare``, then the kernel (with the arguments in
        ``replace`` replaced, see :meth:`gather`); set what it returns."""
        if self.prepare is not None:
            self.prepare(ctx, state)
        out = self.kernel(*self.gather(ctx, state, replace))
        if len(self.returns) == 1:
            setattr(ctx, self.returns[0], out)
        elif self.returns:
            for name, value in zip(self.returns, out, strict=True):
                setattr(ctx, name, value)

    def __repr__(self) -> str:
        name = getattr(self.kernel, "__name__", repr(self.kernel))
        return f"KernelStep({name}, {len(self.args)} args)"


class Services:
    """What the engine shares with agents when binding them to a snapshot."""

    __slots__ = ("bus", "config", "ledger")

    def __init__(self, config: EngineConfig, ledger: Ledger, bus: Bus) -> None:
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
    reads_if_written : frozenset of str
        Fields read when an agent of the plan writes them (the agent then runs after
        it), and otherwise left at the engine's per-request default: the auction reads
        the fraud agent's bid discount, 1 in a plan without a fraud agent.
    knobs : tuple of str
        Settings that may change at run time (:meth:`knob`, :meth:`tune`): a learning
        rate, an exploration rate. A :class:`~adcore.supervisor.Supervisor` tunes them
        with :class:`~adcore.events.Tune` control messages.
    step : KernelStep or None
        The agent's compiled work, declared once (see :class:`KernelStep`); None for an
        agent that runs in Python (it overrides :meth:`run`).
    parameters : tuple of str
        The :class:`~adcore.EngineConfig` fields the agent takes as keyword arguments of
        its constructor, named like the fields. Each is stored under its own name; None
        (the default) takes the engine's value, anything else replaces it for this agent
        (:meth:`settings`). A subclass with its own ``__init__`` that does not call the
        base's keeps the engine's values (the class attributes are None).
    """

    name: ClassVar[str]
    reads: ClassVar[frozenset[str]]
    writes: ClassVar[frozenset[str]]
    optional: ClassVar[bool] = False
    learns_from: ClassVar[tuple[type, ...]] = ()
    reads_if_written: ClassVar[frozenset[str]] = frozenset()
    step: ClassVar[KernelStep | None] = None
    parameters: ClassVar[tuple[str, ...]] = ()
    knobs: ClassVar[tuple[str, ...]] = ()

    def _set_parameters(self, **values: Any) -> None:
        """Check the constructor arguments ``values`` (each named like an EngineConfig
        field of :attr:`parameters`, None for the engine's value) by EngineConfig's own
        rules, then store each, as :meth:`EngineConfig.validate` converts it, under its
        own name. Nothing is stored when one is bad: :class:`~adcore.InvalidConfig`
        naming the field."""
        owner = type(self).__name__
        checked = {name: _checked(owner, name, value) for name, value in values.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    def _overrides(self) -> dict[str, Any]:
        """The constructor arguments that replace the engine's values (not None)."""
        out = {}
        for name in self.parameters:
            value = getattr(self, name, None)
            if value is not None:
                out[name] = value
        return out

    def settings(self, config: EngineConfig) -> EngineConfig:
        """The configuration this agent runs with: ``config`` (the engine's) with the
        agent's own constructor arguments in place of the fields they name.

        Parameters
        ----------
        config : EngineConfig
            The engine's configuration (``services.config`` in :meth:`bind`); not
            changed.

        Returns
        -------
        EngineConfig
            ``config`` itself when the agent takes every value from it, else a copy
            with the agent's values. :meth:`bind` computes it once and builds the
            agent's state from it.

        Examples
        --------
        >>> from adcore import EngineConfig
        >>> from adcore.agents import RelevanceAgent
        >>> RelevanceAgent(relevance_scale=0.5).settings(EngineConfig()).relevance_scale
        0.5
        >>> RelevanceAgent().settings(EngineConfig(relevance_scale=3.0)).relevance_scale
        3.0
        """
        overrides = self._overrides()
        return msgspec.structs.replace(config, **overrides) if overrides else config

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        """Build this agent's state for ``snapshot``, carrying over what ``previous`` (the
        state for the snapshot being replaced, or None) learned. Default: no state."""
        return None

    def run(self, ctx: Context, state: Any) -> None:
        """Do the agent's work for the request in ``ctx``: by default, its :attr:`step`
        alone (``prepare``, then the kernel). The engine runs steps inside compiled
        segments instead, the same kernels with the same arguments."""
        step = self.step
        if step is None:
            raise TypeError(f"agent {self.name!r} declares no step and no run method")
        step.call(ctx, state)

    def fallback(self, ctx: Context, state: Any) -> None:
        """The cheap, safe result written when the agent is skipped (optional agents)."""
        self.run(ctx, state)

    def learn(self, message: Any, state: Any) -> None:  # noqa: B027 - optional hook
        """Update ``state`` from a bus message of a type in :attr:`learns_from`."""

    def dump_model(self, state: Any) -> tuple[str, msgspec.Struct] | None:
        """What this agent has learned, to save (:meth:`adcore.Engine.save_models`): a
        kind name and a msgspec Struct (``("ftrl", FTRLState)``), or None (the default)
        for an agent with no model."""
        return None

    def load_model(self, kind: str, data: bytes, state: Any) -> Any:
        """A new state that equals ``state`` with the model saved by :meth:`dump_model`
        (``kind`` and its msgpack ``data``) in place of what it learned; ``state`` is not
        changed. Raises :class:`~adcore.errors.InvalidInput` when the model does not
        fit this agent. The default: the agent has no model."""
        raise InvalidInput(f"agent {self.name!r} has no model to load", "models")

    def knob(self, state: Any, name: str) -> float:
        """The current value of knob ``name`` (one of :attr:`knobs`) in ``state``."""
        raise KeyError(name)

    def tune(self, state: Any, name: str, value: float) -> None:
        """Set knob ``name`` (one of :attr:`knobs`) of ``state`` to ``value``, from the
        next request on. Raises :class:`~adcore.errors.InvalidInput` naming ``value``
        when the knob does not accept it, and then changes nothing. Called under the
        engine's lock (:meth:`adcore.Engine.control` with a
        :class:`~adcore.events.Tune`)."""
        raise KeyError(name)

    def monitor(self, state: Any) -> dict[str, float]:
        """Signals for a supervisor to watch (counters since the state was built, such
        as ``drifts``, the drifts a learner detected). Default: none."""
        return {}

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
        """The class and the constructor arguments given (the engine's values omitted)."""
        args = ", ".join(f"{name}={value!r}" for name, value in self._overrides().items())
        return f"{type(self).__name__}({args})"


def _checked(owner: str, name: str, value: Any) -> Any:
    """``value`` for the EngineConfig field ``name`` as :meth:`EngineConfig.validate`
    converts it (None stays None), or :class:`~adcore.InvalidConfig` naming the field
    when EngineConfig would refuse it."""
    if value is None:
        return None
    try:
        config = msgspec.structs.replace(EngineConfig(), **{name: value}).validate()
    except InvalidConfig as exc:
        raise InvalidConfig(f"{owner} argument {name!r}: {exc}", name) from None
    return getattr(config, name)
