"""Rendering a decision and its trace for a person."""

from __future__ import annotations

from .decision import Decision, Trace

__all__ = ["render"]


def render(decision: Decision) -> str:
    """A multi-line, person-readable account of ``decision``, agent by agent."""
    lines = [f"decision for request {decision.request_id} at t={decision.timestamp:.3f}"]
    for slot in decision.slots:
        if slot.ad_id is None:
            lines.append(f"  imp {slot.imp_id}: no bid")
        else:
            lines.append(
                f"  imp {slot.imp_id}: ad {slot.ad_id} (campaign {slot.campaign_id}, creative "
                f"{slot.creative_id}) bid {slot.bid:.4f} pays {slot.price:.4f} "
                f"{decision.currency} CPM, propensity {slot.propensity:.3f}"
            )
    trace = decision.trace
    if trace is None:
        lines.append("  (no trace: decide with trace=True to see each agent's part)")
        return "\n".join(lines)
    lines.append(f"  plan: {_plan(trace)}  ({trace.total_us:.1f} us)")
    for a in trace.agents:
        filtered = ", ".join(f"{k}={v}" for k, v in sorted(a.filtered.items())) or "none"
        notes = ", ".join(f"{k}={v}" for k, v in a.notes.items())
        state = "skipped (fallback)" if a.skipped else f"{a.elapsed_us:7.1f} us"
        lines.append(f"  {a.agent:<10} {state:>18}  filtered: {filtered}")
        if notes:
            lines.append(f"  {'':<10} {'':>18}  {notes}")
    for k, (w, r) in enumerate(zip(trace.winners, trace.runners_up, strict=True)):
        lines.append(f"  imp #{k}: {trace.eligible[k]} eligible ads")
        pod = trace.pods[k] if k < len(trace.pods) else None
        if pod is not None:
            lines.append(
                f"    pod search {pod.method}: {pod.nodes} nodes, gap {pod.gap:.4g}, "
                f"prices {pod.prices}"
            )
        for label, c in (("winner", w), ("runner-up", r)):
            if c is None:
                continue
            lines.append(
                f"    {label:<9} {c.ad_id} p={c.score:.4f} value={c.value:.4f} "
                f"bid={c.bid:.4f} x pacing {c.multiplier:.3f} = {c.effective:.4f} "
                f"(floor {c.floor:.4f})"
            )
    return "\n".join(lines)


def _plan(trace: Trace) -> str:
    """The plan in order, each compiled segment's agents in brackets."""
    first = {seg[0]: seg for seg in trace.segments if seg}
    out: list[str] = []
    skip: set[str] = set()
    for name in trace.plan:
        if name in skip:
            continue
        seg = first.get(name)
        if seg is not None:
            out.append("[" + " -> ".join(seg) + "]")
            skip.update(seg)
        else:
            out.append(name)
    return " -> ".join(out)
