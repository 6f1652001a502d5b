"""Traces: what each agent did to a request, and who won and who came second.

The traced path of the run loop (:mod:`adcore._run`) calls :func:`agent_trace` after
each agent (or each step of a compiled segment) and :func:`request_trace` once the plan
has run; both read the request's context and build the
:class:`~adcore.decision.Trace` a decision carries. :func:`adcore.explain.render` turns
that trace into text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .agents import Agent
from .agents.auction import pod_searches
from .catalog import CatalogSnapshot
from .context import Context
from .decision import AgentTrace, CandidateTrace, Reason, Trace

__all__ = ["agent_trace", "request_trace", "vetoes"]

_REASON_NAMES = {int(r): r.name.lower() for r in Reason}


def vetoes(ctx: Context, before: np.ndarray) -> dict[str, int]:
    """The candidates vetoed since ``before`` (a copy of the reason codes), by reason:
    the codes that differ from it."""
    after = ctx.reason[: ctx.n_imp]
    changed = after != before
    if not changed.any():
        return {}
    codes, counts = np.unique(after[changed], return_counts=True)
    return {_REASON_NAMES[int(c)]: int(m) for c, m in zip(codes, counts, strict=True)}


def agent_trace(
    agent: Agent,
    state: Any,
    ctx: Context,
    before: np.ndarray,
    elapsed_us: float,
    skipped: bool,
    earlier: dict[str, int] | None = None,
) -> AgentTrace:
    """What ``agent`` did: the candidates it vetoed, by reason (the reason codes that
    differ from ``before``, a copy taken before it ran, plus ``earlier``: what its
    Python hook vetoed before its compiled segment ran), its time and its notes."""
    filtered = vetoes(ctx, before)
    for name, m in (earlier or {}).items():
        filtered[name] = filtered.get(name, 0) + m
    return AgentTrace(
        agent=agent.name,
        skipped=skipped,
        elapsed_us=elapsed_us,
        filtered=filtered,
        notes=agent.notes(ctx, state),
    )


def request_trace(
    snap: CatalogSnapshot,
    states: Mapping[str, Any],
    plan: tuple[str, ...],
    ctx: Context,
    agents: list[AgentTrace],
    total_us: float,
    dropped: tuple[str, ...],
    segments: tuple[tuple[str, ...], ...] = (),
) -> Trace:
    """The trace of the request in ``ctx`` after the plan ran: per impression the winner
    and the runner-up (the best other eligible candidate at or above the floor), with
    the values that ranked them; ``agents`` are the per-agent traces in plan order and
    ``dropped`` the notes of the optional request values dropped at the edge;
    ``segments`` the plan's compiled segments (agent names)."""
    n = ctx.n_imp
    if snap.n_ads:
        # The auction caps effective bids at max_bid, or a lower CapBid override.
        auction = states.get("auction")
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
        plan=plan,
        agents=tuple(agents),
        eligible=tuple(int(x) for x in ctx.eligible_counts()),
        winners=tuple(winners),
        runners_up=tuple(runners),
        total_us=total_us,
        dropped=dropped,
        pods=pod_searches(ctx),
        segments=segments,
    )
