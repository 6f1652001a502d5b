"""The per-request run loop: from a context filled with a request's features to a
:class:`~adcore.decision.Decision`.

:class:`LivePlan` binds the plan to one catalog snapshot (every agent's state, the
plan's parts: compiled segments and agents that run in Python); the engine swaps it as one
object when the catalog changes. :class:`Runner` takes a request through it:

1. Housekeeping, at most once a second of engine time: the ledger's day rolls and
   expired holds return to their budgets (:meth:`Runner.maintain`).
2. The plan's parts in order (:func:`adcore._program.parts`): agents that run in Python
   one by one, and each compiled segment of kernel steps in one call, unless the
   latency budget is at risk. Then the segment runs one step per call (the same
   compiled function): before an optional agent runs, its recent cost is added to the
   time spent so far, and if that would exceed the budget its cheap fallback runs
   instead.
3. Traced, the same parts one agent (one step) at a time under the same budget rule,
   each observed and the trace built (:mod:`adcore._tracing`). In debug mode
   (``EngineConfig.debug``) every request takes this path, and each agent's changes to
   the context are checked against what it declares
   (:func:`adcore.context.changed_outside`).
4. The sale: each winner's price is held on its campaign's budget and the sale is
   remembered in the pending book (:mod:`adcore.book`) for feedback
   (:meth:`Runner.finish`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from itertools import count
from time import perf_counter_ns
from typing import Any

import numpy as np

from . import openrtb
from ._program import BoundSegment, Segment, parts
from ._tracing import agent_trace, request_trace, vetoes
from .agents import Agent
from .book import PendingBook
from .catalog import Catalog, CatalogSnapshot
from .config import EngineConfig
from .context import Context, changed_outside, watch
from .decision import AgentTrace, Decision, SlotDecision, Trace
from .errors import ContractError
from .ledger import Ledger

__all__ = ["LivePlan", "Runner"]

Part = BoundSegment | tuple[Agent, Any]
"""A part of a live plan: a compiled segment, or an agent that runs in Python and its
state."""


class LivePlan:
    """A catalog snapshot with its plan and every agent's state: swapped as one object.

    Parameters
    ----------
    catalog : Catalog
    states : dict
        Every agent's state for ``catalog``'s snapshot, by agent name.
    plan : sequence of Agent
        The agents in the order they run.
    program : tuple of Segment or Agent, optional
        ``plan`` cut into parts (:func:`adcore._program.parts`; computed when omitted).
    """

    __slots__ = ("after", "catalog", "parts", "snapshot", "states")

    def __init__(
        self,
        catalog: Catalog,
        states: dict[str, Any],
        plan: Sequence[Agent],
        program: tuple[Segment | Agent, ...] | None = None,
    ) -> None:
        self.catalog = catalog
        self.snapshot: CatalogSnapshot = catalog.snapshot
        self.states = states
        self.parts: tuple[Part, ...] = tuple(
            p.bind(states) if isinstance(p, Segment) else (p, states[p.name])
            for p in (program if program is not None else parts(plan))
        )
        # Agents that observe finished decisions (learners of reserves, bid shading).
        self.after = tuple((a.after, states[a.name]) for a in plan if a.observes(states[a.name]))


class Runner:
    """Runs requests through the live plan and sells what they win.

    Shares the engine's ledger, pending book, counters and lock, and takes that
    (re-entrant) lock wherever it touches them; owns the latency budget's cost
    estimates, the exploration generator and the engine's clock for housekeeping.

    Parameters
    ----------
    config : EngineConfig
    plan : sequence of Agent
        The agents in the order they run.
    ledger : Ledger
        Where winners' prices are held.
    book : PendingBook
        Where sales are remembered for feedback.
    counts : dict
        The engine's counters (decisions, filled, unfilled, lost and expired holds).
    lock : threading.RLock
        The engine's lock.
    """

    __slots__ = (
        "book",
        "budget_ns",
        "cost_ns",
        "counts",
        "debug",
        "explore",
        "segment_cost_ns",
        "last_now",
        "ledger",
        "lock",
        "next_maintenance",
        "plan_names",
        "rng",
        "seq",
        "skipped",
    )

    def __init__(
        self,
        config: EngineConfig,
        plan: Sequence[Agent],
        ledger: Ledger,
        book: PendingBook,
        counts: dict[str, int],
        lock: threading.RLock,
    ) -> None:
        self.ledger = ledger
        self.book = book
        self.counts = counts
        self.lock = lock
        self.plan_names = tuple(a.name for a in plan)
        self.budget_ns = config.latency_budget_us * 1000.0
        self.explore = config.explore
        self.debug = config.debug
        self.rng = np.random.Generator(np.random.PCG64(config.seed))
        self.seq = count()
        # Recent cost of each agent and of each compiled segment, by its agents' names
        # (moving averages, ns).
        self.cost_ns: dict[str, float] = {name: 0.0 for name in self.plan_names}
        self.segment_cost_ns: dict[tuple[str, ...], float] = {}
        self.skipped: dict[str, int] = {a.name: 0 for a in plan if a.optional}
        # The engine's clock for housekeeping: the latest decision time, and when next.
        self.last_now = -math.inf
        self.next_maintenance = -math.inf

    # ------------------------------------------------------------------ the loop
    def execute(
        self,
        live: LivePlan,
        ctx: Context,
        req: openrtb.BidRequest,
        now: float,
        tracing: bool,
        dropped: tuple[str, ...] = (),
    ) -> Decision:
        """Decide the request whose features fill ``ctx``, at ``now``; with ``tracing``,
        attach a trace (noting the ``dropped`` request values)."""
        if now >= self.next_maintenance or now < self.last_now:
            self.maintain(now)
        self.last_now = now
        if self.explore > 0.0:
            n = ctx.n_imp
            ctx.explore = self.explore
            with self.lock:
                ctx.draws[:n] = self.rng.random((n, 2))
        start = perf_counter_ns()
        if tracing or self.debug:
            trace = self._traced(live, ctx, start, dropped)
            return self.finish(live, ctx, req, now, trace if tracing else None)
        budget = self.budget_ns
        seg_cost = self.segment_cost_ns
        for part in live.parts:
            if isinstance(part, BoundSegment):
                names = part.segment.names
                t0 = perf_counter_ns()
                if (t0 - start) + seg_cost.get(names, 0.0) <= budget:
                    part.run(ctx)
                    seg_cost[names] = 0.9 * seg_cost.get(names, 0.0) + 0.1 * (
                        perf_counter_ns() - t0
                    )
                else:  # the budget is at risk: step by step, optional steps may be skipped
                    part.prepare(ctx)
                    for i, (agent, state) in enumerate(
                        zip(part.segment.agents, part.states, strict=True)
                    ):
                        self._step(ctx, start, agent, state, part, i)
            else:
                agent, state = part
                self._step(ctx, start, agent, state, None, 0)
        return self.finish(live, ctx, req, now, None)

    def _step(
        self,
        ctx: Context,
        start: int,
        agent: Agent,
        state: Any,
        segment: BoundSegment | None,
        i: int,
    ) -> bool:
        """Run one agent (step ``i`` of ``segment``, or the agent in Python), or its
        fallback when it is optional and its recent cost would exceed the budget;
        whether it was skipped."""
        run = agent.run if segment is None else None
        if not agent.optional:
            if run is not None:
                run(ctx, state)
            else:
                assert segment is not None
                segment.call(ctx, i, i + 1)
            return False
        t0 = perf_counter_ns()
        name = agent.name
        cost = self.cost_ns
        if (t0 - start) + cost[name] > self.budget_ns:
            agent.fallback(ctx, state)
            with self.lock:
                self.skipped[name] += 1
            return True
        if run is not None:
            run(ctx, state)
        else:
            assert segment is not None
            segment.call(ctx, i, i + 1)
        cost[name] = 0.9 * cost[name] + 0.1 * (perf_counter_ns() - t0)
        return False

    def _traced(self, live: LivePlan, ctx: Context, start: int, dropped: tuple[str, ...]) -> Trace:
        """Run the plan's parts one agent at a time (a segment one step per call, after
        its Python hooks), observing each; the request's trace."""
        n = ctx.n_imp
        agents: list[AgentTrace] = []
        debug = self.debug

        def check(agent: Agent, held: dict[str, Any] | None) -> None:
            if held is None:
                return
            bad = changed_outside(ctx, held, agent.reads, agent.writes)
            if bad:
                raise ContractError(
                    f"agent {agent.name!r} changed context fields it does not declare "
                    f"in writes {sorted(agent.writes)}: {', '.join(bad)}",
                    agent.name,
                    tuple(bad),
                )

        for part in live.parts:
            seg: BoundSegment | None
            members: tuple[tuple[Agent, Any], ...]
            hooks: dict[str, tuple[float, dict[str, int]]] = {}
            if isinstance(part, BoundSegment):
                seg = part
                members = tuple(zip(part.segment.agents, part.states, strict=True))
                if debug:  # a step's state array replaced: the compiled call would miss it
                    stale = part.replaced(ctx)
                    if stale:
                        agent_name = stale[0][0]
                        args = tuple(arg for name, arg in stale if name == agent_name)
                        raise ContractError(
                            f"agent {agent_name!r} replaced arguments of its kernel step "
                            f"({', '.join(args)}): update state arrays in place and keep "
                            "state values constant",
                            agent_name,
                            args,
                        )
                for prep, state, agent in part.prepares:
                    before = ctx.reason[:n].copy()
                    held = watch(ctx) if debug else None
                    t0 = perf_counter_ns()
                    prep(ctx, state)
                    hooks[agent.name] = ((perf_counter_ns() - t0) / 1000.0, vetoes(ctx, before))
                    check(agent, held)
            else:
                seg = None
                members = (part,)
            for i, (agent, state) in enumerate(members):
                before = ctx.reason[:n].copy()
                held = watch(ctx) if debug else None
                t0 = perf_counter_ns()
                skip = self._step(ctx, start, agent, state, seg, i)
                elapsed = (perf_counter_ns() - t0) / 1000.0
                check(agent, held)
                hook_us, hook_vetoes = hooks.get(agent.name, (0.0, {}))
                agents.append(
                    agent_trace(agent, state, ctx, before, elapsed + hook_us, skip, hook_vetoes)
                )
        total_us = (perf_counter_ns() - start) / 1000.0
        segments = tuple(p.segment.names for p in live.parts if isinstance(p, BoundSegment))
        return request_trace(
            live.snapshot, live.states, self.plan_names, ctx, agents, total_us, dropped, segments
        )

    # ------------------------------------------------------------------ the sale
    def finish(
        self, live: LivePlan, ctx: Context, req: openrtb.BidRequest, now: float, trace: Trace | None
    ) -> Decision:
        """The decision for the request in ``ctx`` once the plan ran: each winner sold
        (an ad pod's winners one by one), the observing agents told, the counters moved."""
        snap = live.snapshot
        slots: list[SlotDecision] = []
        seq = next(self.seq)
        filled = 0
        n = ctx.n_imp
        wins = ctx.win_ad[:n].tolist()
        pods = ctx.imp_pod[:n].tolist()
        info = snap.ad_info
        user_key = int(ctx.user_key)
        with self.lock:
            for observe, state in live.after:
                observe(ctx, state)
            for k, imp in enumerate(req.imp):
                if wins[k] < 0:
                    slots.append(SlotDecision(imp_id=imp.id))
                    continue
                if not pods[k]:
                    slot = self._sell(
                        ctx, snap, info, req, imp.id, k, seq, now, user_key, 0,
                        wins[k], ctx.win_micros.item(k), ctx.win_bid.item(k),
                        ctx.win_price.item(k), ctx.win_propensity.item(k),
                    )  # fmt: skip
                    slots.append(slot)
                    filled += slot.filled
                    continue
                shown = 0
                for t in range(int(ctx.pod_n[k])):
                    slot = self._sell(
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
            counts = self.counts
            counts["decisions"] += 1
            counts["filled"] += filled
            counts["unfilled"] += len(slots) - filled
        return Decision(
            request_id=req.id,
            timestamp=now,
            slots=tuple(slots),
            currency=snap.currency,
            trace=trace,
        )

    def _sell(
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
        feedback (called under the lock)."""
        ad_id, cid, adomain, categories, mtype = info[ad]
        if not self.ledger.hold(cid, micros):
            self.counts["lost"] += 1
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
        evicted = self.book.add(
            impression_id,
            ad_id,
            cid,
            creative_id,
            micros,
            user_key,
            now,
            ctx.imp_slot.item(k),
            first_price,
            ctx.source_key,
            ctx.req_devtype & 0xFFFF,
            ctx.req_hour,
            ctx.content_key,
            ctx.match.item(ad),
            ctx.focus,
            ctx.creative_rule,
        )
        if evicted is not None:  # the book is full: the oldest sale's hold returns
            self.ledger.release(*evicted)
            self.counts["expired"] += 1
        return SlotDecision(
            imp_id=imp_id,
            impression_id=impression_id,
            ad_id=ad_id,
            campaign_id=cid,
            creative_id=creative_id,
            bid=bid,
            price=price,
            price_micros=micros,
            propensity=propensity * ctx.creative_propensity,
            adomain=adomain,
            categories=categories,
            mtype=mtype,
            duration=duration,
            protocol=protocol,
            slot_in_pod=position,
        )

    # ------------------------------------------------------------------ housekeeping
    def maintain(self, now: float) -> None:
        """Roll the ledger's day and release expired holds. Runs at most once per
        simulated or real second and at every UTC midnight (so a hold returns at most a
        second after it expires), releasing in one batch per campaign."""
        with self.lock:
            if now < self.next_maintenance:
                return
            next_day = (now // 86400.0 + 1.0) * 86400.0  # budgets roll at UTC midnight exactly
            self.next_maintenance = min(now + 1.0, next_day)
            self.ledger.roll(now)
            for release, ended in (self.book.expire(now), self.book.forget(now)):
                if release:
                    self.ledger.release_many(release)
                    self.counts["expired"] += ended
