"""The engine's facade: builds the agent plan once, then decides requests, takes
feedback and control messages, counts and explains.

The work is done elsewhere: :mod:`adcore._run` runs a request through the plan and sells
what it wins, :mod:`adcore.book` remembers sales until their feedback,
:mod:`adcore._tracing` builds traces, the checks of events and control messages live
with them in :mod:`adcore.events`, and :mod:`adcore.warmup` compiles the kernels. This
module checks what callers pass at the edge, owns the pieces and wires them together.

Examples
--------
>>> from adcore import Engine
>>> from adcore.demo import sample_catalog, sample_requests
>>> engine = Engine(sample_catalog(n_ads=50, seed=1))
>>> request = sample_requests(1, seed=2)[0]
>>> decision = engine.decide(request, now=1_750_000_000.0)
>>> len(decision.slots) == len(request.imp)
True
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from . import artifacts, openrtb
from ._checks import finite as _finite
from ._knobs import apply_tune, knob_values, signals
from ._program import parts
from ._run import LivePlan, Runner
from .agents import Agent, Services, default_agents
from .book import PendingBook
from .bus import Bus
from .catalog import Catalog
from .config import EngineConfig
from .context import Context, new_context
from .decision import Decision
from .errors import InvalidCatalog, InvalidConfig, InvalidEvent, InvalidInput, InvalidRequest
from .events import (
    Control,
    Conversion,
    Event,
    Outcome,
    SpendCharged,
    Tune,
    _check_control,
    _check_feedback,
)
from .explain import render
from .features import context_keys, fill_features
from .ivt import ClickValidator
from .ledger import Balance, InProcessLedger, Ledger
from .openrtb._codec import _decode_request, _retyped
from .plan import build_plan
from .warmup import warm

__all__ = ["Engine", "EngineStats"]


class EngineStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counters since the engine was built.

    ``orphan_events`` counts feedback for impression ids the engine does not know (never
    decided here, or forgotten after ``dedup_retention``): they are counted and ignored,
    not raised, since an ad server cannot always tell. ``duplicate_impressions`` counts
    repeated impression reports, which are never charged twice. ``pending_impressions``
    is how many sold impressions the engine remembers for feedback (at most
    ``EngineConfig.max_pending``).
    """

    decisions: int
    filled_impressions: int
    unfilled_impressions: int
    invalid_requests: int
    impressions: int
    duplicate_impressions: int
    orphan_events: int
    expired_holds: int
    lost_holds: int
    skipped_agents: dict[str, int]
    spend_micros: int
    overdelivered_micros: int
    invalid_clicks: dict[str, int] = msgspec.field(default_factory=dict)
    pending_impressions: int = 0


class Engine:
    """An ad decision engine over a catalog.

    Parameters
    ----------
    catalog : Catalog
    config : EngineConfig, optional
    agents : sequence of Agent, optional
        The agents to run; the ten default agents when omitted. Their order is computed
        from their declared reads and writes (:func:`adcore.plan.build_plan`).
    bus : Bus, optional
        The bus events, signals and control messages travel on; a new one by default.
    clock : callable, optional
        Returns the current time in seconds since the epoch (``time.time`` by default);
        :meth:`decide` and :meth:`feedback` can also be given the time explicitly.
    ledger : Ledger, optional
        Where budgets are held and charged: a new :class:`~adcore.ledger.InProcessLedger`
        by default; a :class:`~adcore.ledger.RedisLedger` to share budgets with other
        processes (call its ``close()`` when the process shuts down).

    Raises
    ------
    PlanError
        The agents' reads and writes do not form a valid plan.
    InvalidConfig
        A configuration value is out of range.

    Notes
    -----
    ``decide`` may be called from several threads at once: each thread gets its own
    context, and shared state (budgets, counters, learned values) is updated under locks.
    Building the engine compiles (or loads from Numba's cache) every kernel unless
    ``config.warmup`` is False; then call :meth:`warmup` before serving.
    """

    def __init__(
        self,
        catalog: Catalog,
        config: EngineConfig | None = None,
        *,
        agents: Sequence[Agent] | None = None,
        bus: Bus | None = None,
        clock: Callable[[], float] | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        if not isinstance(catalog, Catalog):
            raise InvalidCatalog(f"expected a Catalog, got {type(catalog).__name__}", None)
        self._config = (config or EngineConfig()).validate()
        self._agents = list(agents) if agents is not None else default_agents()
        self._plan = build_plan(self._agents)
        self._program = parts(self._plan)
        self._bus = bus if bus is not None else Bus()
        self._clock = clock or time.time
        if ledger is not None and not isinstance(ledger, Ledger):
            raise InvalidConfig(
                "ledger must implement adcore.ledger.Ledger (an InProcessLedger or a "
                f"RedisLedger), got {type(ledger).__name__}",
                "ledger",
            )
        self._ledger: Ledger = ledger if ledger is not None else InProcessLedger()
        self._lock = threading.RLock()
        self._local = threading.local()
        self._rates = dict(self._config.exchange_rates)
        self._book = PendingBook(
            self._config.max_pending, self._config.hold_ttl, self._config.dedup_retention
        )
        self._audit: list[Control] = []
        self._n = {
            "decisions": 0,
            "filled": 0,
            "unfilled": 0,
            "invalid": 0,
            "impressions": 0,
            "duplicates": 0,
            "orphans": 0,
            "expired": 0,
            "lost": 0,
        }
        # The run loop shares the ledger, book, counters and lock; decide calls its
        # bound method directly.
        self._runner = Runner(
            self._config, self._plan, self._ledger, self._book, self._n, self._lock
        )
        self._execute = self._runner.execute
        cfg = self._config
        self._clicks = ClickValidator(
            min_seconds=cfg.click_min_seconds,
            ctr_window=cfg.click_ctr_window,
            max_ctr=cfg.click_max_ctr,
            min_impressions=cfg.click_min_impressions,
            slots=cfg.counter_slots,
        )
        self._invalid_clicks: dict[str, int] = {}
        self._services = Services(self._config, self._ledger, self._bus)
        self._ledger.bind(catalog.snapshot)
        self._live = self._bind(catalog, None)
        for agent in self._plan:
            for topic in agent.learns_from:
                self._bus.subscribe(topic, self._learner(agent))
        self._bus.subscribe(Control, self._audit.append)
        self._tuned: Tune | None = None
        self._bus.subscribe(Tune, self._on_tune)
        if self._config.warmup:
            self.warmup()

    # ------------------------------------------------------------------ properties
    @property
    def config(self) -> EngineConfig:
        """The engine's configuration."""
        return self._config

    @property
    def catalog(self) -> Catalog:
        """The catalog currently serving."""
        return self._live.catalog

    @property
    def bus(self) -> Bus:
        """The engine's bus."""
        return self._bus

    @property
    def ledger(self) -> Ledger:
        """The budget ledger."""
        return self._ledger

    @property
    def plan(self) -> tuple[str, ...]:
        """Agent names in the order they run."""
        return tuple(a.name for a in self._plan)

    @property
    def audit_log(self) -> tuple[Control, ...]:
        """Every control message (human override) seen on the bus, in order."""
        with self._lock:
            return tuple(self._audit)

    # ------------------------------------------------------------------ set-up
    def _bind(self, catalog: Catalog, previous: LivePlan | None) -> LivePlan:
        states = {
            a.name: a.bind(
                catalog.snapshot, previous.states.get(a.name) if previous else None, self._services
            )
            for a in self._plan
        }
        return LivePlan(catalog, states, self._plan, self._program)

    def _learner(self, agent: Agent) -> Callable[[Any], None]:
        def deliver(message: Any) -> None:
            agent.learn(message, self._live.states[agent.name])

        return deliver

    def _context(self, live: LivePlan) -> Context:
        ctx: Context | None = getattr(self._local, "ctx", None)
        if ctx is None or ctx.snapshot is not live.snapshot:
            ctx = new_context(live.snapshot, self._config)
            self._local.ctx = ctx
        return ctx

    def warmup(self) -> None:
        """Compile, or load from Numba's cache, every kernel the agents use.

        Runs the plan on synthetic requests against throwaway state: the engine's
        budgets, counters and learned values are not touched.
        """
        warm(self._plan, self._live.catalog, self._config, self._program)

    def update_catalog(self, catalog: Catalog) -> None:
        """Serve ``catalog`` from the next decision on.

        The swap is atomic: a decision in flight finishes on the snapshot it started
        with. Budgets spent, holds, learned values, pauses and frequency counts carry
        over by campaign and ad id. An invalid catalog raises
        :class:`~adcore.errors.InvalidCatalog` when it is built, so the old one keeps
        serving.
        """
        if not isinstance(catalog, Catalog):
            raise InvalidCatalog(f"expected a Catalog, got {type(catalog).__name__}", None)
        if catalog.dimension != self._live.catalog.dimension:
            raise InvalidCatalog(
                f"the new catalog has dimension {catalog.dimension}, the engine's has "
                f"{self._live.catalog.dimension}",
                "dimension",
            )
        with self._lock:
            live = self._bind(catalog, self._live)
            self._ledger.bind(catalog.snapshot)
            self._live = live
        if self._config.warmup:
            self.warmup()

    # ------------------------------------------------------------------ models
    def save_models(self, directory: str | os.PathLike[str]) -> Path:
        """Save what the learning agents learned (every agent whose
        :meth:`~adcore.Agent.dump_model` returns a model) to ``directory``, as one
        versioned msgpack file written atomically (:mod:`adcore.artifacts`). Taken under
        the engine's lock, so no feedback is half applied. Returns the file's path.

        Raises
        ------
        InvalidInput
            The directory cannot be created, or no agent has a model (``"path"``,
            ``"models"``).
        """
        with self._lock:
            states = self._live.states
            models = {}
            for agent in self._plan:
                dumped = agent.dump_model(states[agent.name])
                if dumped is not None:
                    kind, struct = dumped
                    models[agent.name] = artifacts.AgentModel(
                        agent=type(agent).__name__, kind=kind, data=msgspec.msgpack.encode(struct)
                    )
        if not models:
            raise InvalidInput("no agent of this engine has a model to save", "models")
        artifact = artifacts.ModelArtifact(version=artifacts.ARTIFACT_VERSION, models=models)
        return artifacts.write(directory, artifact)

    def load_models(self, directory: str | os.PathLike[str]) -> None:
        """Load models saved by :meth:`save_models` into this engine's learning agents,
        which then go on learning from them.

        Every model is read and checked before anything changes: the artifact's version,
        an agent of that name and class in this engine's plan, and a model that fits it
        (its kind and sizes). Then the engine swaps to the new states in one step, as
        :meth:`update_catalog` does: a decision in flight finishes with the old models,
        the next one uses the new. Agents the artifact does not name keep what they
        learned.

        Raises
        ------
        InvalidInput
            A missing, malformed or incompatible artifact (``"path"``, ``"models"``);
            nothing changed.
        """
        artifact = artifacts.read(directory)
        agents = {a.name: a for a in self._plan}
        with self._lock:
            live = self._live
            replaced: dict[str, Any] = {}
            for name, saved in artifact.models.items():
                agent = agents.get(name)
                if agent is None or type(agent).__name__ != saved.agent:
                    have = type(agent).__name__ if agent is not None else "no such agent"
                    raise InvalidInput(
                        f"the artifact's model of {name!r} was saved by {saved.agent}; this "
                        f"engine has {have}",
                        "models",
                    )
                try:
                    replaced[name] = agent.load_model(saved.kind, saved.data, live.states[name])
                except InvalidInput as exc:
                    raise InvalidInput(f"model of {name!r}: {exc}", "models") from None
            states = {**live.states, **replaced}
            self._live = LivePlan(live.catalog, states, self._plan, self._program)

    # ------------------------------------------------------------------ deciding
    def _coerce(self, request: Any, format: str) -> tuple[openrtb.BidRequest, tuple[str, ...]]:
        """The validated request and the notes of the optional values dropped from it."""
        cfg = self._config
        if isinstance(request, openrtb.BidRequest):
            req = request if cfg.trusted_structs else _retyped(request)
            openrtb.check_request(req)
            return openrtb.tolerate(req)
        if not isinstance(request, bytes | bytearray | memoryview | str):
            raise InvalidRequest(
                f"a request must be an openrtb.BidRequest or encoded bytes, got "
                f"{type(request).__name__}",
                None,
            )
        return _decode_request(request, format, cfg.max_request_bytes, cfg.max_request_depth)

    def _now(self, now: float | None) -> float:
        t = self._clock() if now is None else now
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not _finite(t):
            raise InvalidRequest(f"now must be a finite number of seconds, got {t!r}", "now")
        return float(t)

    def decide(
        self,
        request: openrtb.BidRequest | bytes | str,
        *,
        now: float | None = None,
        trace: bool | None = None,
        format: str = "json",
    ) -> Decision:
        """Decide one bid request.

        Parameters
        ----------
        request : openrtb.BidRequest or bytes or str
            A request Struct, or its JSON (or msgpack, with ``format="msgpack"``) bytes.
        now : float, optional
            The decision time; the engine's clock by default.
        trace : bool, optional
            Attach a :class:`~adcore.decision.Trace`; ``config.trace`` by default.

        Returns
        -------
        Decision
            One :class:`~adcore.decision.SlotDecision` per impression, in request order.

        Raises
        ------
        InvalidRequest
            The request is malformed or out of range; nothing in the engine changed.
        """
        try:
            req, dropped = self._coerce(request, format)
            t = now if type(now) is float and -math.inf < now < math.inf else self._now(now)
            live = self._live
            ctx = getattr(self._local, "ctx", None)
            if ctx is None or ctx.snapshot is not live.snapshot:
                ctx = self._context(live)
            fill_features(ctx, req, t, self._rates)
        except InvalidRequest:
            with self._lock:
                self._n["invalid"] += 1
            raise
        return self._execute(
            live, ctx, req, t, self._config.trace if trace is None else trace, dropped
        )

    def decide_batch(
        self,
        requests: Iterable[openrtb.BidRequest | bytes | str],
        *,
        now: float | Sequence[float] | None = None,
        trace: bool | None = None,
        format: str = "json",
    ) -> list[Decision]:
        """Decide many requests in order; the same decisions as calling :meth:`decide` on
        each, with per-call overhead (validation set-up, lock acquisition) paid once. The
        batch holds the engine's lock, so other threads' decisions wait for it.

        ``now`` is one time for all, a sequence of one time per request, or None (the
        clock, read per request). Every request is validated before any is decided: an
        :class:`~adcore.errors.InvalidRequest` (whose message names the request's
        position) leaves the engine unchanged.
        """
        try:
            reqs = list(requests)
        except TypeError:
            raise InvalidRequest("requests must be an iterable of requests", "requests") from None
        coerced: list[tuple[openrtb.BidRequest, tuple[str, ...]]] = []
        for i, r in enumerate(reqs):
            try:
                coerced.append(self._coerce(r, format))
                n_imp = len(coerced[-1][0].imp)
                if n_imp > self._config.max_imps:
                    raise InvalidRequest(
                        f"the request has {n_imp} impressions; this engine "
                        f"decides at most {self._config.max_imps}",
                        "imp",
                    )
            except InvalidRequest as exc:
                with self._lock:
                    self._n["invalid"] += 1
                raise InvalidRequest(f"requests[{i}]: {exc}", exc.field) from None
        if now is None or (isinstance(now, (int, float)) and not isinstance(now, bool)):
            times: Sequence[float | None] = [now] * len(coerced)
        else:
            try:
                times = list(now)  # type: ignore[arg-type]
            except TypeError:
                raise InvalidRequest(
                    "now must be a number or a sequence of numbers", "now"
                ) from None
            if len(times) != len(coerced):
                raise InvalidRequest(f"{len(times)} times for {len(coerced)} requests", "now")
        stamps = [self._now(t) for t in times]
        use_trace = self._config.trace if trace is None else trace
        out: list[Decision] = []
        append = out.append
        rates = self._rates
        execute = self._execute
        # One acquisition of the engine's (re-entrant) lock for the whole batch instead of
        # one per request; other threads' decisions wait for the batch to finish.
        with self._lock:
            for (req, dropped), t in zip(coerced, stamps, strict=True):
                live = self._live
                ctx = self._context(live)
                fill_features(ctx, req, t, rates)
                append(execute(live, ctx, req, t, use_trace, dropped))
        return out

    # ------------------------------------------------------------------ feedback
    def feedback(self, event: Event) -> None:
        """Take a feedback event from the ad server.

        An :class:`~adcore.events.Impression` charges the decision's clearing price to
        its campaign, once per ``impression_id`` (repeats are counted and ignored), and
        counts toward frequency caps. Every event is published on the bus, joined with its
        decision as an :class:`~adcore.events.Outcome` for the learning agents. Events for
        unknown impression ids are counted as orphans (``stats().orphan_events``) and not
        learned from.

        Raises
        ------
        InvalidEvent
            ``event`` is not a feedback event, or its fields have the wrong types.
        """
        kind = _check_feedback(event)
        with self._lock:
            self._apply(event, kind)

    def feedback_batch(self, events: Iterable[Event]) -> None:
        """Take many feedback events, in order: the same effect as calling
        :meth:`feedback` on each, with every event checked first and the engine's lock
        taken once.

        Raises
        ------
        InvalidEvent
            ``events`` is not an iterable, or one of them is not a valid feedback event
            (the message names its position, ``field`` the offending field); nothing
            changes.

        Examples
        --------
        >>> from adcore import Engine, EngineConfig
        >>> from adcore.demo import DEMO_START, sample_catalog, sample_requests
        >>> from adcore.events import Complete, Impression
        >>> engine = Engine(sample_catalog(n_ads=20), EngineConfig(warmup=False))
        >>> won = [s for r in sample_requests(20, seed=2)
        ...        for s in engine.decide(r, now=DEMO_START).winners]
        >>> engine.feedback_batch(
        ...     [Impression(impression_id=s.impression_id, timestamp=DEMO_START + 1)
        ...      for s in won]
        ...     + [Complete(impression_id=won[0].impression_id, timestamp=DEMO_START + 2)])
        >>> engine.stats().impressions == len(won)
        True
        """
        try:
            batch = list(events)
        except TypeError:
            raise InvalidEvent("events must be an iterable of feedback events", "events") from None
        kinds = []
        for i, event in enumerate(batch):
            try:
                kinds.append(_check_feedback(event))
            except InvalidEvent as exc:
                raise InvalidEvent(f"events[{i}]: {exc}", exc.field) from None
        with self._lock:
            for event, kind in zip(batch, kinds, strict=True):
                self._apply(event, kind)

    def _apply(self, event: Event, kind: str) -> None:
        """Apply one checked feedback event (under the engine's lock)."""
        ts = float(event.timestamp)
        value = float(event.value) if isinstance(event, Conversion) else 0.0
        published: list[Any] = []
        # Event time never runs the engine's clock ahead of its decisions: a wrong or
        # far-future timestamp must not roll the budget day or expire holds.
        runner = self._runner
        t_maint = min(ts, runner.last_now)
        if t_maint >= runner.next_maintenance and t_maint > -math.inf:
            runner.maintain(t_maint)
        rec = self._book.get(event.impression_id)
        if rec is None:
            self._n["orphans"] += 1
        elif kind == "impression":
            if rec.charged:
                self._n["duplicates"] += 1
                rec = None
            else:
                charged = self._ledger.settle(
                    rec.campaign_id,
                    rec.micros if rec.held else 0,
                    rec.micros,
                    event.impression_id,
                )
                self._book.charge(rec.slot, ts)
                rec = rec._replace(shown_at=ts)
                self._clicks.record_impression(rec.source, ts)
                self._n["impressions"] += 1
                published.append(
                    SpendCharged(campaign_id=rec.campaign_id, amount_micros=charged, timestamp=ts)
                )
        if rec is not None and kind == "click":
            valid, why = self._clicks.check_click(rec.source, rec.shown_at, ts)
            if not valid:  # never learned from (and clicks are never charged)
                self._invalid_clicks[why] = self._invalid_clicks.get(why, 0) + 1
                rec = None
        if rec is not None:
            published.append(
                Outcome(
                    kind=kind,
                    impression_id=event.impression_id,
                    ad_id=rec.ad_id,
                    campaign_id=rec.campaign_id,
                    creative_id=rec.creative_id,
                    timestamp=ts,
                    value=value,
                    user_key=rec.user_key,
                    price_micros=rec.micros,
                    placement=rec.placement,
                    first_price=rec.first_price,
                    context=context_keys(rec.device, rec.hour, rec.source, rec.content),
                    match=rec.match,
                    focus=rec.focus,
                    creative_rule=rec.rule,
                )
            )
        published.append(event)
        for message in published:
            self._bus.publish(message)

    def control(self, message: Control) -> None:
        """Send a human override: pause or resume a campaign, block or unblock an
        advertiser domain or IAB category everywhere, force a floor, cap a campaign's
        bid (:mod:`adcore.events`), or tune a learning agent's knob
        (:class:`~adcore.events.Tune`: its learning rate or exploration). It takes
        effect from the next request, beats every agent (vetoes carry the ``OVERRIDE``
        reason; floors and caps bind the auction), shows in traces, and is kept in
        :attr:`audit_log` with who sent it, when and why.

        Raises
        ------
        InvalidEvent
            Not a control message, or a field of the wrong type or out of range (named;
            for a Tune, an agent not in the plan, a knob it does not have or a value it
            does not accept); nothing changes.
        """
        _check_control(message)
        with self._lock:
            if isinstance(message, Tune):
                self._tune(message)
                self._tuned = message  # applied: the bus handler below skips it
            try:
                self._bus.publish(message)
            finally:
                self._tuned = None

    def _on_tune(self, message: Tune) -> None:
        """A Tune published on the bus by anything but :meth:`control` (a replayed bus
        log): applied the same way, so a replay rebuilds the tuned state."""
        with self._lock:
            if message is not self._tuned:
                self._tune(message)

    def _tune(self, message: Tune) -> None:
        """Apply a Tune to its agent's live state, or raise InvalidEvent (nothing set)."""
        apply_tune(self._plan, self._live.states, message)

    def monitor(self, name: str) -> dict[str, float]:
        """Agent ``name``'s signals for a supervisor (:meth:`adcore.agents.Agent.monitor`:
        counters such as the drifts a learner detected); KeyError for an unknown agent."""
        with self._lock:
            return signals(self._plan, self._live.states, name)

    def knobs(self) -> dict[str, dict[str, float]]:
        """Every knob of the plan's agents (:attr:`adcore.agents.Agent.knobs`) and its
        current value, by agent name (agents without knobs left out)."""
        with self._lock:
            return knob_values(self._plan, self._live.states)

    # ------------------------------------------------------------------ reading
    def agent_state(self, name: str) -> Any:
        """The live state of agent ``name`` for the current catalog (what it learned or
        shares: counters, estimates, pauses), for inspection and tests. Treat it as
        read-only. Raises KeyError for an unknown agent."""
        return self._live.states[name]

    def balance(self, campaign_id: str) -> Balance:
        """A campaign's budget balance (micro-units)."""
        return self._ledger.balance(campaign_id)

    def stats(self) -> EngineStats:
        """Counters since the engine was built."""
        with self._lock:
            n = self._n
            return EngineStats(
                decisions=n["decisions"],
                filled_impressions=n["filled"],
                unfilled_impressions=n["unfilled"],
                invalid_requests=n["invalid"],
                impressions=n["impressions"],
                duplicate_impressions=n["duplicates"],
                orphan_events=n["orphans"],
                expired_holds=n["expired"],
                lost_holds=n["lost"],
                skipped_agents=dict(self._runner.skipped),
                spend_micros=self._ledger.total_spent(),
                overdelivered_micros=self._ledger.overdelivered_micros,
                invalid_clicks=dict(self._invalid_clicks),
                pending_impressions=len(self._book),
            )

    # ------------------------------------------------------------------ explaining
    def explain(self, decision: Decision) -> str:
        """A person-readable account of ``decision``, agent by agent.

        Needs a decision made with tracing on (``decide(..., trace=True)``); without a
        trace it explains only the outcome.
        """
        return render(decision)
