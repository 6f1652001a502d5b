"""The inventory agent: which ads fit each impression, and at what floor.

Matches format (banner/video/audio), display sizes, duration window and MIME types (a
creative variant must fit both), the floor's currency, and private-marketplace deals.
Writes the default creative variant (the first that fits) and each candidate's floor:
the impression's ``bidfloor``, or the floor of a deal the campaign holds.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._kernels.filters import inventory_fit
from ..context import Context
from .base import Agent

__all__ = ["InventoryAgent"]


class InventoryAgent(Agent):
    """Format, size, duration, MIME, currency and deal fit; floors."""

    name: ClassVar[str] = "inventory"
    reads: ClassVar[frozenset[str]] = frozenset({"features"})
    writes: ClassVar[frozenset[str]] = frozenset({"reason", "floor", "creative", "candidates"})

    def run(self, ctx: Context, state: Any) -> None:
        snap = ctx.snapshot
        ctx.n_cand = inventory_fit(
            ctx.reason,
            ctx.creative,
            ctx.floor,
            ctx.n_imp,
            snap.ad_format,
            snap.ad_campaign,
            snap.var_ptr,
            snap.var_duration,
            snap.var_mimes,
            snap.size_ptr,
            snap.size_wh,
            ctx.imp_formats,
            ctx.imp_mimes,
            ctx.imp_mindur,
            ctx.imp_maxdur,
            ctx.imp_sizes,
            ctx.imp_nsizes,
            ctx.imp_floor,
            ctx.imp_private,
            ctx.imp_currency_ok,
            snap.camp_deals,
            ctx.imp_deals,
            ctx.imp_deal_floor,
            ctx.cand,
        )

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        n = ctx.n_imp
        return {"floor": float(np.max(ctx.imp_floor[:n])) if n else 0.0}
