"""Compiling every kernel before the first live request.

Numba compiles a kernel for each new combination of argument types on its first call,
which takes far longer than a decision. :func:`warm` runs the agents' whole plan, their
fallbacks and their learning on a synthetic catalog and synthetic requests that use
every feature, against throwaway state, so every kernel signature the engine will use
is compiled (or loaded from Numba's on-disk cache) before serving.
"""

from __future__ import annotations

from collections.abc import Sequence

from .agents import Agent, Services
from .bus import Bus
from .catalog import Catalog
from .config import EngineConfig
from .context import new_context
from .events import Outcome
from .features import fill_features
from .fused import FusedPlan
from .ledger import InProcessLedger

__all__ = ["warm"]


def warm(plan: Sequence[Agent], catalog: Catalog, config: EngineConfig) -> None:
    """Run ``plan`` on synthetic data shaped like ``catalog`` (see module docstring)."""
    from .demo import DEMO_START, sample_catalog, sample_requests

    scratch = sample_catalog(n_ads=60, dimension=catalog.dimension, seed=7)
    snap = scratch.snapshot
    ledger = InProcessLedger()
    ledger.bind(snap)
    services = Services(config, ledger, Bus())
    states = {a.name: a.bind(snap, None, services) for a in plan}
    # Binding again with a previous state exercises the carry-over kernels.
    states = {a.name: a.bind(snap, states[a.name], services) for a in plan}
    ctx = new_context(snap, config)
    ctx.explore = 0.1
    fused = FusedPlan(tuple(plan), states) if FusedPlan.applies(tuple(plan)) else None
    for request in sample_requests(12, seed=7, bot_share=0.2, gdpr_share=0.3):
        fill_features(ctx, request, DEMO_START, config.exchange_rates)
        for agent in plan:
            agent.run(ctx, states[agent.name])
            if agent.optional:
                agent.fallback(ctx, states[agent.name])
        for agent in plan:
            if agent.observes(states[agent.name]):
                agent.after(ctx, states[agent.name])
        if fused is not None:  # the fast path's one call
            fill_features(ctx, request, DEMO_START, config.exchange_rates)
            for agent in plan[:2]:
                agent.run(ctx, states[agent.name])
            fused.run_rest(ctx)
    # The request edge: the nesting scanners run before a raw request is decoded.
    from .openrtb import nesting_depth

    for fmt in ("json", "msgpack"):
        nesting_depth(b"\x91\x90[[]]", fmt, limit=config.max_request_depth)
    # Feedback-side checks the engine runs outside agents: click validation.
    from .ivt import ClickValidator

    clicks = ClickValidator(slots=64)
    clicks.record_impression(1, DEMO_START)
    clicks.check_click(1, DEMO_START, DEMO_START + 5.0)
    ad = scratch.ads[0]
    capped = next(c for c in scratch.campaigns if c.frequency_cap is not None)
    for kind in ("impression", "complete", "click"):
        for ad_id, cid in ((ad.id, ad.campaign), (ad.id, capped.id)):
            message = Outcome(
                kind=kind,
                impression_id="warmup",
                ad_id=ad_id,
                campaign_id=cid,
                creative_id=ad.id,
                timestamp=DEMO_START,
                user_key=12345,
                price_micros=1500,
                first_price=True,
            )
            for agent in plan:
                if Outcome in agent.learns_from:
                    agent.learn(message, states[agent.name])
