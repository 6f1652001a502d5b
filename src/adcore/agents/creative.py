"""The creative agent: which cut of each ad to play.

Under high focus (podcasts, talk) the shortest variant that fits the slot; in the
background (music) the longest; otherwise the default, the first variant that fits.
Optional: when skipped, the inventory agent's default choice stands.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .._kernels.creative import FOCUS_BACKGROUND, FOCUS_HIGH, choose_variants
from ..context import Context
from .base import Agent

__all__ = ["CreativeAgent"]


def choose_cuts(ctx: Context, focus: int, cand: Any, n_cand: int) -> None:
    """Run the cut choice of :func:`adcore._kernels.creative.choose_variants` at
    ``focus`` over the candidates ``cand[:n_cand]`` of the request in ``ctx``."""
    snap = ctx.snapshot
    choose_variants(
        ctx.creative,
        ctx.reason,
        ctx.n_imp,
        snap.ad_format,
        snap.var_ptr,
        snap.var_duration,
        snap.var_mimes,
        snap.var_protocols,
        ctx.imp_mimes,
        ctx.imp_protocols,
        ctx.imp_mindur,
        ctx.imp_maxdur,
        focus,
        cand,
        n_cand,
    )


class CreativeAgent(Agent):
    """Variant choice by focus state."""

    name: ClassVar[str] = "creative"
    reads: ClassVar[frozenset[str]] = frozenset({"interest", "creative", "reason", "candidates"})
    writes: ClassVar[frozenset[str]] = frozenset({"creative"})
    optional: ClassVar[bool] = True

    def run(self, ctx: Context, state: Any) -> None:
        if ctx.n_cand == 0 or (ctx.focus != FOCUS_HIGH and ctx.focus != FOCUS_BACKGROUND):
            return  # the default cut stands: nothing to adapt (saves a kernel call)
        choose_cuts(ctx, ctx.focus, ctx.cand, ctx.n_cand)

    def fallback(self, ctx: Context, state: Any) -> None:
        """Keep the inventory agent's default variants."""

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        from .audience import FOCUS_NAMES

        return {"focus": FOCUS_NAMES[ctx.focus]}
