"""The creative agent: which cut of each ad to play.

Under high focus (podcasts, talk) the shortest variant that fits the slot; in the
background (music) the longest; otherwise the default, the first variant that fits.
Optional: when skipped, the inventory agent's default choice stands.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .._kernels.creative import choose_variants
from ..context import Context
from .base import Agent, KernelStep

__all__ = ["CreativeAgent"]


class CreativeAgent(Agent):
    """Variant choice by focus state.

    It reads no :class:`~adcore.EngineConfig` field, so its constructor takes no
    arguments.
    """

    name: ClassVar[str] = "creative"
    reads: ClassVar[frozenset[str]] = frozenset({"interest", "creative", "reason", "candidates"})
    writes: ClassVar[frozenset[str]] = frozenset({"creative"})
    optional: ClassVar[bool] = True
    step: ClassVar[KernelStep] = KernelStep(
        choose_variants,
        (
            "ctx.creative",
            "ctx.reason",
            "ctx.n_imp",
            "snap.ad_format",
            "snap.var_ptr",
            "snap.var_duration",
            "snap.var_mimes",
            "snap.var_protocols",
            "ctx.imp_mimes",
            "ctx.imp_protocols",
            "ctx.imp_mindur",
            "ctx.imp_maxdur",
            "ctx.focus",
            "ctx.cand",
            "ctx.n_cand",
        ),
    )

    def fallback(self, ctx: Context, state: Any) -> None:
        """Keep the inventory agent's default variants."""

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        from .audience import FOCUS_NAMES

        return {"focus": FOCUS_NAMES[ctx.focus]}
