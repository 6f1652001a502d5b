"""The engine's fast path for the default plan: the agents that hold Python-side logic
run as agents (the plan's *head*: privacy and fraud), then the other eight agents'
kernels run in one compiled call (:mod:`adcore._kernels.fused_plan`).

A :class:`FusedPlan` declares which agents are which by their type, never by their
position in the plan: :attr:`FusedPlan.head` is what runs before the call and
:attr:`FusedPlan.replaces` names the agents the call stands for. The engine's run loop
(:mod:`adcore._run`) and the warm-up (:mod:`adcore.warmup`) read those declarations.

The per-agent path remains the reference: tracing uses it, custom plans use it, and so
does a request whose latency budget is at risk (only there can optional agents be
skipped). A test checks that both paths decide alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ._kernels.fused_plan import audience_to_auction
from .agents import (
    AuctionAgent,
    AudienceAgent,
    BiddingAgent,
    CreativeAgent,
    FraudAgent,
    InventoryAgent,
    PacingAgent,
    PrivacyAgent,
    RelevanceAgent,
    SafetyAgent,
)
from .agents.base import Agent
from .context import Context

__all__ = ["DEFAULT_TYPES", "FUSED_TYPES", "HEAD_TYPES", "FusedPlan"]

HEAD_TYPES: tuple[type[Agent], ...] = (PrivacyAgent, FraudAgent)
"""The agents the fast path runs as agents, one by one, before its compiled call: their
work starts in Python (consent strings; user agents, IP addresses and a lock)."""

FUSED_TYPES: tuple[type[Agent], ...] = (
    AudienceAgent,
    InventoryAgent,
    SafetyAgent,
    RelevanceAgent,
    BiddingAgent,
    PacingAgent,
    CreativeAgent,
    AuctionAgent,
)
"""The agents whose kernels the compiled call runs, in this order."""

DEFAULT_TYPES: tuple[type[Agent], ...] = HEAD_TYPES + FUSED_TYPES
"""The agent classes, in plan order, for which the fast path applies (exactly these)."""

_NO_USER = np.uint64(0)

A = TypeVar("A", bound=Agent)


def _the(plan: tuple[Agent, ...], kind: type[A]) -> A:
    """The one agent of type ``kind`` in ``plan``."""
    (agent,) = (a for a in plan if isinstance(a, kind))
    return agent


class FusedPlan:
    """The fast path of the default plan for one snapshot: the head agents one by one,
    then the others' kernels in one call.

    Parameters
    ----------
    plan : tuple of Agent
        The plan, for which :meth:`applies` holds.
    states : dict
        Every agent's state for the snapshot, by agent name.

    Attributes
    ----------
    head : tuple of (run, state)
        The bound ``run`` method and state of each agent of :data:`HEAD_TYPES`, in plan
        order: call each on the context before :meth:`run_rest`.
    replaces : tuple of str
        The names of the agents of :data:`FUSED_TYPES`, in plan order: what
        :meth:`run_rest` stands for (run them one by one instead to skip one).
    """

    __slots__ = ("audience", "head", "pacing", "replaces", "states")

    def __init__(self, plan: tuple[Agent, ...], states: dict[str, Any]) -> None:
        self.head: tuple[tuple[Callable[[Context, Any], None], Any], ...] = tuple(
            (a.run, states[a.name]) for a in plan if isinstance(a, HEAD_TYPES)
        )
        self.replaces = tuple(a.name for a in plan if isinstance(a, FUSED_TYPES))
        self.audience = _the(plan, AudienceAgent)
        self.pacing = states["pacing"]
        self.states = states

    @staticmethod
    def applies(plan: tuple[Agent, ...]) -> bool:
        """Whether ``plan`` is exactly the default agents in the default order."""
        return tuple(type(a) for a in plan) == DEFAULT_TYPES

    def _static(self, ctx: Context) -> tuple[Any, ...]:
        s = ctx.snapshot
        safety = self.states["safety"]
        relevance = self.states["relevance"]
        return (
            ctx.reason,
            s.camp_ad_ptr,
            ctx.camp_code,
            s.camp_start,
            s.camp_end,
            s.camp_countries,
            ctx.req_country,
            s.camp_devtypes,
            s.camp_hours,
            s.camp_content,
            ctx.req_content,
            s.camp_segments,
            ctx.req_segments,
            ctx.interest,
            ctx.tokens,
            s.signal_vectors,
            s.cat_signal,
            s.seg_signal,
            ctx.creative,
            ctx.floor,
            s.ad_format,
            s.ad_campaign,
            s.var_ptr,
            s.var_duration,
            s.var_mimes,
            s.var_protocols,
            s.size_ptr,
            s.size_wh,
            ctx.imp_formats,
            ctx.imp_mimes,
            ctx.imp_protocols,
            ctx.imp_mindur,
            ctx.imp_maxdur,
            ctx.imp_sizes,
            ctx.imp_nsizes,
            ctx.imp_floor,
            ctx.imp_private,
            ctx.imp_currency_ok,
            s.camp_deals,
            ctx.imp_deals,
            ctx.imp_deal_floor,
            ctx.cand,
            safety.paused,
            ctx.freq_blocked,
            s.camp_excluded,
            s.ad_categories,
            ctx.req_bcat,
            s.ad_domains,
            ctx.req_badv,
            safety.keys,
            safety.starts,
            safety.counts,
            s.camp_cap_count,
            s.camp_cap_window,
            ctx.score,
            s.ad_embedding,
            s.ad_base_logit,
            relevance.learned,
            relevance.scale,
            ctx.bid,
            ctx.value,
            s.camp_strategy,
            s.camp_amount,
            s.camp_max_bid,
            s.camp_conversion_rate,
            PacingAgent.arrays(ctx, self.pacing),
            AuctionAgent.arrays(ctx, self.states["auction"]),
        )

    def run_rest(self, ctx: Context) -> None:
        """After the head agents ran: the Python side of audience, inventory, safety
        and pacing, then one call."""
        static = ctx.fused_static
        if static is None or static[0] is not self:
            static = ctx.fused_static = [self, self._static(ctx), None]
        self.audience.prepare(ctx)
        InventoryAgent.prepare(ctx, self.states["inventory"])
        SafetyAgent.prepare(ctx, self.states["safety"])
        PacingAgent.prepare(ctx, self.pacing)
        args = (
            *static[1],
            ctx.n_imp,
            ctx.now,
            ctx.req_devtype,
            ctx.req_hour,
            ctx.n_tokens,
            ctx.user_key if ctx.snapshot.any_cap else _NO_USER,
            ctx.focus,
            ctx.request_key,
            ctx.explore,
            ctx.multislot,
        )
        entry = static[2]
        if entry is not None:
            ctx.has_interest, ctx.n_cand = entry(*args)
            return
        ctx.has_interest, ctx.n_cand = audience_to_auction(*args)
        static[2] = _entry_point(audience_to_auction, args)


def _entry_point(dispatcher: Any, args: tuple[Any, ...]) -> Any:
    """The compiled function for ``args``' types, called without the dispatcher's type
    resolution of ~140 arguments (about 4 us a call). The context's arrays are the same
    objects from call to call and the scalars keep their types, so the types cannot
    change; None (keep dispatching) if Numba does not expose it."""
    try:
        sig = tuple(dispatcher.typeof_pyval(a) for a in args)
        return dispatcher.overloads[sig].entry_point
    except (AttributeError, KeyError):  # pragma: no cover - depends on Numba internals
        return None
