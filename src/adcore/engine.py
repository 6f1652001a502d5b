"""The orchestrator: builds the agent plan once, then decides requests, takes feedback
and explains decisions.

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
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from itertools import count
from typing import Any

import msgspec
import numpy as np

from . import openrtb
from ._checks import finite as _finite
from ._hashing import stable_key
from .agents import Agent, Services, default_agents
from .agents.auction import pod_searches
from .book import PendingBook
from .bus import Bus
from .catalog import Catalog, CatalogSnapshot
from .config import EngineConfig
from .context import Context, new_context
from .decision import AgentTrace, CandidateTrace, Decision, Reason, SlotDecision, Trace
from .errors import InvalidCatalog, InvalidConfig, InvalidEvent, InvalidRequest
from .events import (
    Click,
    Complete,
    Control,
    Conversion,
    Event,
    Impression,
    Outcome,
    Skip,
    SpendCharged,
)
from .features import fill_features
from .fused import FusedPlan
from .ivt import ClickValidator
from .ledger import Balance, InProcessLedger
from .plan import build_plan

__all__ = ["Engine", "EngineStats"]

_KIND = {
    Impression: "impression",
    Click: "click",
    Skip: "skip",
    Complete: "complete",
    Conversion: "conversion",
}
_REASON_NAMES = {int(r): r.name.lower() for r in Reason}


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


def _source(request: openrtb.BidRequest) -> int:
    """The traffic source of a request for click validation: its app or site."""
    where = request.app if request.app is not None else request.site
    name = (
        (where.id or where.bundle if isinstance(where, openrtb.App) else where.id or where.domain)
        if where is not None
        else None
    )
    return stable_key(name) if name else 0


class _Live:
    """A catalog snapshot with its plan and every agent's state: swapped as one object."""

    __slots__ = ("after", "catalog", "fast", "fused", "snapshot", "states", "steps")

    def __init__(self, catalog: Catalog, states: dict[str, Any], plan: Sequence[Agent]) -> None:
        self.catalog = catalog
        self.snapshot: CatalogSnapshot = catalog.snapshot
        self.states = states
        self.steps = tuple((a, states[a.name], a.optional) for a in plan)
        # The untraced path: bound run methods, and the optional agents by position.
        self.fast = tuple((a.run, states[a.name], a if a.optional else None) for a in plan)
        plan_t = tuple(plan)
        self.fused = FusedPlan(plan_t, states) if FusedPlan.applies(plan_t) else None
        # Agents that observe finished decisions (learners of reserves, bid shading).
        self.after = tuple((a.after, states[a.name]) for a in plan if a.observes(states[a.name]))


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
        ledger: InProcessLedger | None = None,
    ) -> None:
        if not isinstance(catalog, Catalog):
            raise InvalidCatalog(f"expected a Catalog, got {type(catalog).__name__}", None)
        self._config = (config or EngineConfig()).validate()
        self._agents = list(agents) if agents is not None else default_agents()
        self._plan = build_plan(self._agents)
        self._bus = bus if bus is not None else Bus()
        self._clock = clock or time.time
        if ledger is not None and not isinstance(ledger, InProcessLedger):
            raise InvalidConfig(
                f"ledger must be an InProcessLedger or RedisLedger, got {type(ledger).__name__}",
                "ledger",
            )
        self._ledger = ledger if ledger is not None else InProcessLedger()
        self._lock = threading.RLock()
        self._local = threading.local()
        self._seq = count()
        self._rng = np.random.Generator(np.random.PCG64(self._config.seed))
        self._rates = dict(self._config.exchange_rates)
        self._book = PendingBook(
            self._config.max_pending, self._config.hold_ttl, self._config.dedup_retention
        )
        self._next_maintenance = -math.inf
        self._last_now = -math.inf
        self._audit: list[Control] = []
        self._cost_ns: dict[str, float] = {a.name: 0.0 for a in self._plan}
        self._fused_cost_ns = 0.0
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
        self._skipped: dict[str, int] = {a.name: 0 for a in self._plan if a.optional}
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
    def ledger(self) -> InProcessLedger:
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
    def _bind(self, catalog: Catalog, previous: _Live | None) -> _Live:
        states = {
            a.name: a.bind(
                catalog.snapshot, previous.states.get(a.name) if previous else None, self._services
            )
            for a in self._plan
        }
        return _Live(catalog, states, self._plan)

    def _learner(self, agent: Agent) -> Callable[[Any], None]:
        def deliver(message: Any) -> None:
            agent.learn(message, self._live.states[agent.name])

        return deliver

    def _context(self, live: _Live) -> Context:
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
        from .warmup import warm

        warm(self._plan, self._live.catalog, self._config)

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

    # ------------------------------------------------------------------ deciding
    def _coerce(self, request: Any, format: str) -> tuple[openrtb.BidRequest, tuple[str, ...]]:
        """The validated request and the notes of the optional values dropped from it."""
        cfg = self._config
        if isinstance(request, openrtb.BidRequest):
            req = request if cfg.trusted_structs else openrtb._retyped(request)
            openrtb.check_request(req)
            return openrtb.tolerate(req)
        if not isinstance(request, bytes | bytearray | memoryview | str):
            raise InvalidRequest(
                f"a request must be an openrtb.BidRequest or encoded bytes, got "
                f"{type(request).__name__}",
                None,
            )
        return openrtb._decode_request(
            request, format, cfg.max_request_bytes, cfg.max_request_depth
        )

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

    def _execute(
        self,
        live: _Live,
        ctx: Context,
        req: openrtb.BidRequest,
        now: float,
        tracing: bool,
        dropped: tuple[str, ...] = (),
    ) -> Decision:
        cfg = self._config
        if now >= self._next_maintenance or now < self._last_now:
            self._maintain(now)
        self._last_now = now
        n = ctx.n_imp
        if cfg.explore > 0.0:
            ctx.explore = cfg.explore
            with self._lock:
                ctx.draws[:n] = self._rng.random((n, 2))
        budget = cfg.latency_budget_us * 1000.0
        start = time.perf_counter_ns()
        agent_traces: list[AgentTrace] = []
        cost = self._cost_ns
        if not tracing:
            steps = live.fast
            fused = live.fused
            if fused is not None:
                # Privacy and fraud as agents, then the other eight in one call, unless
                # the latency budget is at risk (only the per-agent path can skip).
                steps[0][0](ctx, steps[0][1])
                steps[1][0](ctx, steps[1][1])
                t_fused = time.perf_counter_ns()
                if (t_fused - start) + self._fused_cost_ns <= budget:
                    fused.run_rest(ctx)
                    self._fused_cost_ns = 0.9 * self._fused_cost_ns + 0.1 * (
                        time.perf_counter_ns() - t_fused
                    )
                    steps = ()
                else:
                    steps = steps[2:]
            for run, state, optional_agent in steps:
                if optional_agent is None:
                    run(ctx, state)
                    continue
                t_opt = time.perf_counter_ns()
                name = optional_agent.name
                if (t_opt - start) + cost[name] > budget:
                    optional_agent.fallback(ctx, state)
                    with self._lock:
                        self._skipped[name] += 1
                else:
                    run(ctx, state)
                    cost[name] = 0.9 * cost[name] + 0.1 * (time.perf_counter_ns() - t_opt)
        else:
            for agent, state, optional in live.steps:
                before = ctx.reason[:n].copy()
                t0 = time.perf_counter_ns()
                skip = False
                if optional:
                    name = agent.name
                    skip = (t0 - start) + cost[name] > budget
                    if skip:
                        agent.fallback(ctx, state)
                        with self._lock:
                            self._skipped[name] += 1
                    else:
                        agent.run(ctx, state)
                        cost[name] = 0.9 * cost[name] + 0.1 * (time.perf_counter_ns() - t0)
                else:
                    agent.run(ctx, state)
                elapsed = (time.perf_counter_ns() - t0) / 1000.0
                agent_traces.append(self._agent_trace(agent, state, ctx, before, elapsed, skip))
        total_us = (time.perf_counter_ns() - start) / 1000.0
        trace = None
        if tracing:
            trace = self._trace(live, ctx, agent_traces, total_us)
            if dropped:
                trace = msgspec.structs.replace(trace, dropped=dropped)
        return self._finish(live, ctx, req, now, trace)

    def _finish(
        self, live: _Live, ctx: Context, req: openrtb.BidRequest, now: float, trace: Trace | None
    ) -> Decision:
        snap = live.snapshot
        slots: list[SlotDecision] = []
        seq = next(self._seq)
        filled = 0
        n = ctx.n_imp
        wins = ctx.win_ad[:n].tolist()
        pods = ctx.imp_pod[:n].tolist()
        info = snap.ad_info
        user_key = int(ctx.user_key)
        with self._lock:
            for observe, state in live.after:
                observe(ctx, state)
            for k, imp in enumerate(req.imp):
                if wins[k] < 0:
                    slots.append(SlotDecision(imp_id=imp.id))
                    continue
                if not pods[k]:
                    slot = self._slot(
                        ctx, snap, info, req, imp.id, k, seq, now, user_key, 0,
                        wins[k], ctx.win_micros.item(k), ctx.win_bid.item(k),
                        ctx.win_price.item(k), ctx.win_propensity.item(k),
                    )  # fmt: skip
                    slots.append(slot)
                    filled += slot.filled
                    continue
                shown = 0
                for t in range(int(ctx.pod_n[k])):
                    slot = self._slot(
                        ctx, snap, info, req, imp.id, k, seq, now, user_key, t + 1,
                        int(ctx.pod_ad[k, t]), ctx.pod_micros.item(k, t),
                        ctx.pod_bid.item(k, t), ctx.pod_price.item(k, t), 1.0,
                    )  # fmt: skip
                    if slot.filled:
                        slots.append(slot)
                        shown += 1
                filled += shown
                if not shown:
                    slots.append(SlotDecision(imp_id=imp.id))
            n_counts = self._n
            n_counts["decisions"] += 1
            n_counts["filled"] += filled
            n_counts["unfilled"] += len(slots) - filled
        return Decision(
            request_id=req.id,
            timestamp=now,
            slots=tuple(slots),
            currency=snap.currency,
            trace=trace,
        )

    def _slot(
        self,
        ctx: Context,
        snap: CatalogSnapshot,
        info: Any,
        req: openrtb.BidRequest,
        imp_id: str,
        k: int,
        seq: int,
        now: float,
        user_key: int,
        position: int,
        ad: int,
        micros: int,
        bid: float,
        price: float,
        propensity: float,
    ) -> SlotDecision:
        """One won ad: hold its price on the campaign's budget and remember it for
        feedback (called under the engine's lock)."""
        ad_id, cid, adomain, categories, mtype = info[ad]
        if not self._ledger.hold(cid, micros):
            self._n["lost"] += 1
            return SlotDecision(imp_id=imp_id)
        v = ctx.creative.item(k, ad)
        creative_id, duration = snap.var_info[v] if v >= 0 else (ad_id, 0.0)
        protocol = None
        offered = snap.var_protocols.item(v) if v >= 0 else 0
        if offered:  # the highest-numbered declared protocol the media object accepts
            shared = offered & ctx.imp_protocols.item(k, snap.ad_format.item(ad))
            protocol = (shared or offered).bit_length() - 1
        impression_id = f"{req.id}:{imp_id}:{seq}" + (f":{position}" if position else "")
        first_price = ctx.multislot == 0 and ctx.imp_mech.item(k) == 1
        evicted = self._book.add(
            impression_id,
            ad_id,
            cid,
            creative_id,
            micros,
            user_key,
            now,
            ctx.imp_slot.item(k),
            first_price,
            _source(req),
        )
        if evicted is not None:  # the book is full: the oldest sale's hold returns
            self._ledger.release(*evicted)
            self._n["expired"] += 1
        return SlotDecision(
            imp_id=imp_id,
            impression_id=impression_id,
            ad_id=ad_id,
            campaign_id=cid,
            creative_id=creative_id,
            bid=bid,
            price=price,
            price_micros=micros,
            propensity=propensity,
            adomain=adomain,
            categories=categories,
            mtype=mtype,
            duration=duration,
            protocol=protocol,
            slot_in_pod=position,
        )

    # ------------------------------------------------------------------ pending impressions
    def _maintain(self, now: float) -> None:
        """Roll the ledger's day and release expired holds. Runs at most once per
        simulated or real second and at every UTC midnight (so a hold returns at most a
        second after it expires), releasing in one batch per campaign."""
        with self._lock:
            if now < self._next_maintenance:
                return
            next_day = (now // 86400.0 + 1.0) * 86400.0  # budgets roll at UTC midnight exactly
            self._next_maintenance = min(now + 1.0, next_day)
            self._ledger.roll(now)
            for release, ended in (self._book.expire(now), self._book.forget(now)):
                if release:
                    self._ledger.release_many(release)
                    self._n["expired"] += ended

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
        kind = _KIND.get(type(event))
        if kind is None:
            raise InvalidEvent(
                f"expected a feedback event (Impression, Click, Skip, Complete "
                f"or Conversion), got {type(event).__name__}",
                None,
            )
        if not isinstance(event.impression_id, str):
            raise InvalidEvent("impression_id must be a string", "impression_id")
        ts = event.timestamp
        if not _finite(ts):
            raise InvalidEvent("timestamp must be a finite number", "timestamp")
        value = 0.0
        if isinstance(event, Conversion):
            if not _finite(event.value):
                raise InvalidEvent("value must be a finite number", "value")
            value = float(event.value)
        if isinstance(event, Skip) and event.after is not None:
            if not _finite(event.after) or event.after < 0:
                raise InvalidEvent("after must be a finite number of seconds >= 0", "after")
        published: list[Any] = []
        with self._lock:
            # Event time never runs the engine's clock ahead of its decisions: a wrong or
            # far-future timestamp must not roll the budget day or expire holds.
            t_maint = min(float(ts), self._last_now)
            if t_maint >= self._next_maintenance and t_maint > -math.inf:
                self._maintain(t_maint)
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
                    self._book.charge(rec.slot, float(ts))
                    rec = rec._replace(shown_at=float(ts))
                    self._clicks.record_impression(rec.source, float(ts))
                    self._n["impressions"] += 1
                    published.append(
                        SpendCharged(
                            campaign_id=rec.campaign_id, amount_micros=charged, timestamp=float(ts)
                        )
                    )
            if rec is not None and kind == "click":
                valid, why = self._clicks.check_click(rec.source, rec.shown_at, float(ts))
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
                        timestamp=float(ts),
                        value=value,
                        user_key=rec.user_key,
                        price_micros=rec.micros,
                        placement=rec.placement,
                        first_price=rec.first_price,
                    )
                )
            published.append(event)
            for message in published:
                self._bus.publish(message)

    def control(self, message: Control) -> None:
        """Send a human override: pause or resume a campaign, block or unblock an
        advertiser domain or IAB category everywhere, force a floor, cap a campaign's
        bid (:mod:`adcore.events`). It takes effect from the next request, beats every
        agent (vetoes carry the ``OVERRIDE`` reason; floors and caps bind the auction),
        shows in traces, and is kept in :attr:`audit_log` with who sent it, when and
        why.

        Raises
        ------
        InvalidEvent
            Not a control message, or a field of the wrong type or out of range (named);
            nothing changes.
        """
        if not isinstance(message, Control):
            raise InvalidEvent(f"expected a control message, got {type(message).__name__}", None)
        for field in ("by", "reason"):
            if not isinstance(getattr(message, field), str) or not getattr(message, field):
                raise InvalidEvent(f"a control message needs a non-empty {field!r}", field)
        ts = message.timestamp
        if not _finite(ts):
            raise InvalidEvent("timestamp must be a finite number", "timestamp")
        for field in ("campaign_id", "domain", "category"):
            value = getattr(message, field, "")
            if not isinstance(value, str) or (hasattr(message, field) and not value):
                raise InvalidEvent(f"{field} must be a non-empty string", field)
        amounts = (("floor", False), ("max_bid", True))
        for field, optional in amounts:
            if not hasattr(message, field):
                continue
            value = getattr(message, field)
            if value is None and optional:
                continue
            if not _finite(value) or value < 0:
                raise InvalidEvent(f"{field} must be a finite number >= 0", field)
        with self._lock:
            self._bus.publish(message)

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
                skipped_agents=dict(self._skipped),
                spend_micros=self._ledger.total_spent(),
                overdelivered_micros=self._ledger.overdelivered_micros,
                invalid_clicks=dict(self._invalid_clicks),
                pending_impressions=len(self._book),
            )

    # ------------------------------------------------------------------ traces
    def _agent_trace(
        self,
        agent: Agent,
        state: Any,
        ctx: Context,
        before: np.ndarray,
        elapsed_us: float,
        skipped: bool,
    ) -> AgentTrace:
        n = ctx.n_imp
        after = ctx.reason[:n]
        changed = after != before
        filtered: dict[str, int] = {}
        if changed.any():
            codes, counts = np.unique(after[changed], return_counts=True)
            filtered = {_REASON_NAMES[int(c)]: int(m) for c, m in zip(codes, counts, strict=True)}
        return AgentTrace(
            agent=agent.name,
            skipped=skipped,
            elapsed_us=elapsed_us,
            filtered=filtered,
            notes=agent.notes(ctx, state),
        )

    def _trace(self, live: _Live, ctx: Context, agents: list[AgentTrace], total_us: float) -> Trace:
        snap = live.snapshot
        n = ctx.n_imp
        if snap.n_ads:
            # The auction caps effective bids at max_bid, or a lower CapBid override.
            auction = live.states.get("auction")
            cap = getattr(auction, "camp_cap", snap.camp_max_bid)
            eff = np.minimum(ctx.bid * ctx.mult[snap.ad_campaign], cap[snap.ad_campaign])
        else:
            eff = ctx.bid
        winners: list[CandidateTrace | None] = []
        runners: list[CandidateTrace | None] = []

        def cand(k: int, i: int) -> CandidateTrace:
            c = int(snap.ad_campaign[i])
            v = int(ctx.creative[k, i])
            return CandidateTrace(
                ad_id=snap.ad_ids[i],
                campaign_id=snap.campaign_ids[c],
                score=float(ctx.score[i]),
                value=float(ctx.value[i]),
                bid=float(ctx.bid[i]),
                multiplier=float(ctx.mult[c]),
                effective=float(eff[i]),
                floor=float(ctx.floor[k, i]),
                creative_id=snap.var_ids[v] if v >= 0 else None,
            )

        for k in range(n):
            w = int(ctx.win_ad[k])
            winners.append(cand(k, w) if w >= 0 else None)
            ok = (ctx.reason[k] == 0) & (eff >= ctx.floor[k]) & (eff > 0)
            if w >= 0:
                ok[w] = False
            runners.append(cand(k, int(np.argmax(np.where(ok, eff, -1.0)))) if ok.any() else None)
        return Trace(
            plan=tuple(a.name for a in self._plan),
            agents=tuple(agents),
            eligible=tuple(int(x) for x in ctx.eligible_counts()),
            winners=tuple(winners),
            runners_up=tuple(runners),
            total_us=total_us,
            pods=pod_searches(ctx),
        )

    def explain(self, decision: Decision) -> str:
        """A person-readable account of ``decision``, agent by agent.

        Needs a decision made with tracing on (``decide(..., trace=True)``); without a
        trace it explains only the outcome.
        """
        from .explain import render

        return render(decision)
