"""The inventory agent: which ads fit each impression, and at what floor.

Matches format (banner/video/audio), display sizes, duration window and MIME types (a
creative variant must fit both), the floor's currency, and private-marketplace deals.
Writes the default creative variant (the first that fits) and each candidate's floor:
the impression's ``bidfloor``, or the floor of a deal the campaign holds.

Each media object of an impression keeps its own limits, applied to ads of its format
only: the banner's sizes and MIME types to display ads, the video object's durations and
MIME types to video ads, the audio object's to audio ads. An impression sells at most
one pod: the audio object's when it has a ``poddur``, else the video object's; only ads
of the pod's format are then eligible (display ads never fill pod slots). The video and
audio ``protocols`` lists are not matched: a catalog's ads do not say which protocol
(VAST, DAAST version) their markup is served with; the host that serves it does.

With ``EngineConfig.reserve`` ``"soft"`` or ``"hard"``, the agent also sets a dynamic
reserve price per placement (site or app, tag id and position), learned from the bids the
auctions see by empirical revenue maximisation over a price grid
(:func:`adcore._kernels.reserve.reserve_observe`): the reserve is the grid price under
which a second-price auction would have earned the most on the (decayed) history of
observed highest and second-highest bids, assuming bidders do not react to it. A hard
reserve raises the impression's floor; a soft one lets lower bids win at their own bid.

The settings named here are :class:`~adcore.EngineConfig` fields, and those the agent
takes (its class docstring lists them) are also arguments of its constructor, which
replace the engine's values for that agent.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._kernels.filters import inventory_fit
from .._kernels.reserve import price_grid, reserve_observe, reserve_price
from ..catalog import CatalogSnapshot
from ..config import EngineConfig
from ..context import Context
from .base import Agent, KernelStep, Services

__all__ = ["InventoryAgent"]


class _ReserveState:
    """Decayed revenue per placement slot and reserve price on the grid."""

    revenue: np.ndarray
    weight: np.ndarray

    def __init__(self, cfg: EngineConfig, previous: _ReserveState | None) -> None:
        self.mode = cfg.reserve
        self.decay = cfg.reserve_decay
        self.min_weight = cfg.reserve_min_auctions
        self.grid = price_grid(RESERVE_BUCKETS, 0.01, 100.0)
        slots = cfg.learner_slots
        if previous is not None and previous.weight.shape[0] == slots:
            self.revenue = previous.revenue
            self.weight = previous.weight
        else:
            self.revenue = np.zeros((slots, RESERVE_BUCKETS), dtype=np.float64)
            self.weight = np.zeros(slots, dtype=np.float64)


RESERVE_BUCKETS = 64


def apply_reserves(ctx: Context, state: _ReserveState) -> None:
    """Apply each impression's learned reserve: raise its floor (hard) or its soft
    floor (soft)."""
    if state.mode == "off":
        return
    hard = state.mode == "hard"
    for k in range(ctx.n_imp):
        r = reserve_price(
            state.revenue, state.weight, ctx.imp_slot.item(k), state.grid, state.min_weight
        )
        if r <= 0.0:
            continue
        if hard:
            if r > ctx.imp_floor[k]:
                ctx.imp_floor[k] = r
        elif r > ctx.imp_soft[k]:
            ctx.imp_soft[k] = r


class InventoryAgent(Agent):
    """Format, size, duration, MIME, currency and deal fit; floors and reserves.

    Takes, keyword-only, the :class:`~adcore.EngineConfig` fields it uses, named like
    them: None (the default) takes the engine's value; any other value is checked by
    EngineConfig's rules (:class:`~adcore.InvalidConfig` naming the field) and replaces
    the engine's for this agent.
    ``reserve`` (whether reserves are learned) and ``learner_slots`` stay in
    EngineConfig only: the engine hashes placements for the learners by them.

    Parameters
    ----------
    reserve_decay : float, optional
        Per-auction decay of the reserve statistics (``EngineConfig.reserve_decay``).
    reserve_min_auctions : float, optional
        The decayed number of auctions a placement needs before its reserve is used
        (``EngineConfig.reserve_min_auctions``).

    Examples
    --------
    >>> InventoryAgent(reserve_min_auctions=50)
    InventoryAgent(reserve_min_auctions=50.0)
    """

    name: ClassVar[str] = "inventory"
    reads: ClassVar[frozenset[str]] = frozenset({"features"})
    writes: ClassVar[frozenset[str]] = frozenset({"reason", "floor", "creative", "candidates"})
    parameters: ClassVar[tuple[str, ...]] = ("reserve_decay", "reserve_min_auctions")

    reserve_decay: float | None = None
    reserve_min_auctions: float | None = None

    def __init__(
        self, *, reserve_decay: float | None = None, reserve_min_auctions: float | None = None
    ) -> None:
        self._set_parameters(reserve_decay=reserve_decay, reserve_min_auctions=reserve_min_auctions)

    step: ClassVar[KernelStep] = KernelStep(
        inventory_fit,
        (
            "ctx.reason",
            "ctx.creative",
            "ctx.floor",
            "ctx.n_imp",
            "snap.ad_format",
            "snap.ad_campaign",
            "snap.var_ptr",
            "snap.var_duration",
            "snap.var_mimes",
            "snap.var_protocols",
            "snap.size_ptr",
            "snap.size_wh",
            "ctx.imp_formats",
            "ctx.imp_mimes",
            "ctx.imp_protocols",
            "ctx.imp_mindur",
            "ctx.imp_maxdur",
            "ctx.imp_sizes",
            "ctx.imp_nsizes",
            "ctx.imp_floor",
            "ctx.imp_private",
            "ctx.imp_currency_ok",
            "snap.camp_deals",
            "ctx.imp_deals",
            "ctx.imp_deal_floor",
            "ctx.cand",
        ),
        returns=("n_cand",),
        prepare=apply_reserves,
    )

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        return _ReserveState(
            self.settings(services.config),
            previous if isinstance(previous, _ReserveState) else None,
        )

    def observes(self, state: _ReserveState) -> bool:
        return state.mode != "off"

    def after(self, ctx: Context, state: _ReserveState) -> None:
        """Record the highest and second-highest bids of each single-slot auction."""
        if state.mode == "off" or ctx.multislot:
            return
        n = ctx.n_imp
        for k in range(n):
            if ctx.imp_pod[k]:
                continue
            if n == 1:  # every candidate's bid, below the floor or not
                bids = ctx.effective[ctx.cand[: ctx.n_cand]]
                if bids.size == 0:
                    continue
                first = float(bids.max())
                second = float(np.partition(bids, -2)[-2]) if bids.size > 1 else 0.0
            else:
                if ctx.win_ad[k] < 0:
                    continue
                first = ctx.win_bid.item(k)
                second = ctx.win_second.item(k)
            if first > 0.0:
                reserve_observe(
                    state.revenue,
                    state.weight,
                    ctx.imp_slot.item(k),
                    first,
                    second,
                    state.grid,
                    state.decay,
                )

    def notes(self, ctx: Context, state: _ReserveState) -> dict[str, float | int | str]:
        n = ctx.n_imp
        return {
            "floor": float(np.max(ctx.imp_floor[:n])) if n else 0.0,
            "soft_floor": float(np.max(ctx.imp_soft[:n])) if n else 0.0,
        }
