"""The auction agent: resolves each impression among the eligible ads.

Mechanisms, chosen per request and per impression:

- **Second price** (``at`` = 2, the default): the winner pays the best other bid, its
  floor or the impression's soft floor, whichever is highest, never more than its bid; a
  winner bidding between the hard and the soft floor pays its own bid.
- **First price** (``at`` = 1): the winner pays its bid, or with
  ``EngineConfig.bid_shading`` the bid shaded by the win-rate curve learned for the
  placement (:func:`adcore._kernels.shading.shade_bid`).
- **Ad pods** (video or audio with ``poddur``): the pod of at most ``maxseq`` ads that
  fits ``poddur`` and maximises the sum of bids, with competitive separation (no two ads
  of one campaign; by advertiser domain or IAB category when ``poddedupe`` asks); prices
  are the bids (first price) or VCG prices within the pod (second price). Each search
  explores at most ``pod_node_budget`` nodes: exact within it, the best
  pod found or a greedy one beyond it, with the gap to the optimum in the trace
  (:class:`adcore.decision.PodSearch`).
- **Position auctions** (``EngineConfig.multislot`` or ``ext.adcore.auction`` ``"gsp"`` /
  ``"vcg"``): the request's impressions are positions of one placement, weighted by
  ``EngineConfig.slot_weights``; generalised second price or VCG.

Effective bids are the bidding agent's bids times the pacing multiplier, capped at what
the campaign may still commit; higher-priority campaigns win over lower ones, and
private-deal bids that meet their deal's floor over the open auction; ties go to a seeded
hash of ad and request, so candidate order never matters. An ad wins at most one
impression per request. With ``EngineConfig.explore`` > 0, epsilon-greedy exploration of
single slots records each winner's propensity. See
:func:`adcore._kernels.auction.run_auctions`.

The settings named here are :class:`~adcore.EngineConfig` fields, and those the agent
takes (its class docstring lists them) are also arguments of its constructor, which
replace the engine's values for that agent.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .._kernels.auction import run_auctions
from .._kernels.reserve import price_grid
from .._kernels.shading import price_bucket, shading_record, shading_record_win
from ..catalog import CatalogSnapshot
from ..config import EngineConfig
from ..context import Context
from ..decision import PodSearch
from ..events import CapBid, ForceFloor, Outcome
from .base import Agent, KernelStep, Services

__all__ = ["AuctionAgent", "pod_searches"]

_MECHANISMS = {1: "first_price", 2: "second_price", 3: "gsp", 4: "vcg"}
GRID_BUCKETS = 48


class _AuctionState:
    """Bid-shading statistics per placement slot (kept across catalog swaps) and the
    floor and bid-cap overrides."""

    tries: np.ndarray
    wins: np.ndarray
    forced_floor: np.ndarray

    def __init__(
        self, snapshot: CatalogSnapshot, cfg: EngineConfig, previous: _AuctionState | None
    ) -> None:
        self.snapshot = snapshot
        self.caps: dict[str, float] = dict(previous.caps) if previous is not None else {}
        self.forced_floor = (
            previous.forced_floor if previous is not None else np.zeros(1, dtype=np.float64)
        )
        # Each campaign's effective bid is capped at its max_bid (a pacing multiplier
        # above 1 never bids past it), or at a lower CapBid override.
        self.camp_cap = np.array(snapshot.camp_max_bid, dtype=np.float64)
        for cid, cap in self.caps.items():
            c = snapshot.campaign_index.get(cid)
            if c is not None:
                self.camp_cap[c] = min(cap, float(snapshot.camp_max_bid[c]))
        slots = cfg.learner_slots
        self.shade = bool(cfg.bid_shading)
        self.decay = cfg.shading_decay
        self.min_bids = cfg.shading_min_bids
        self.prior = 2.0
        self.grid = price_grid(GRID_BUCKETS, 0.01, 100.0)
        if previous is not None and previous.tries.shape[0] == slots:
            self.tries = previous.tries
            self.wins = previous.wins
        else:
            self.tries = np.zeros((slots, GRID_BUCKETS), dtype=np.float64)
            self.wins = np.zeros((slots, GRID_BUCKETS), dtype=np.float64)
        self.work = np.zeros(3 * GRID_BUCKETS, dtype=np.float64)
        self.pod_budget = int(cfg.pod_node_budget)
        self.pod_request_budget = int(cfg.pod_request_node_budget)


def pod_searches(ctx: Context) -> tuple[PodSearch | None, ...]:
    """Per impression of the request in ``ctx``, how its pod was searched (None where no
    pod search ran), for traces."""
    out: list[PodSearch | None] = []
    for k in range(ctx.n_imp):
        nodes = int(ctx.pod_nodes[k])
        if nodes == 0:
            out.append(None)
            continue
        flags = int(ctx.pod_budgeted[k])
        prices = "bids" if ctx.imp_mech[k] == 1 else "budgeted" if flags & 2 else "exact"
        out.append(
            PodSearch(
                method="budgeted" if flags & 1 else "exact",
                nodes=nodes,
                gap=float(ctx.pod_gap[k]),
                prices=prices,
            )
        )
    return tuple(out)


def _pod_search(ctx: Context, n: int) -> str:
    """``"none"`` (no pod searched), ``"exact"`` (every search of the request's pods ended
    within its budget) or ``"budgeted"``."""
    if not (ctx.pod_nodes[:n] > 0).any():
        return "none"
    return "budgeted" if ctx.pod_budgeted[:n].any() else "exact"


def _bucket(state: _AuctionState, micros: int) -> int:
    """The price bucket of a bid charged ``micros`` micro-units per impression. Prices
    are rounded to a micro-unit (0.001 CPM) when charged, so half a unit is added back:
    a shaded bid on a grid price lands in that price's bucket (the grid's steps are
    wider than 0.001 CPM)."""
    return int(price_bucket(state.grid, (micros + 0.5) / 1000.0))


class AuctionAgent(Agent):
    """Winners and clearing prices per impression.

    Takes, keyword-only, the :class:`~adcore.EngineConfig` fields it uses, named like
    them: None (the default) takes the engine's value; any other value is checked by
    EngineConfig's rules (:class:`~adcore.InvalidConfig` naming the field) and replaces
    the engine's for this agent.
    ``bid_shading`` (whether first-price bids are shaded) and ``learner_slots`` stay in
    EngineConfig only: the engine hashes placements for the learners by them; so do
    ``explore``, ``seed``, ``multislot``, ``slot_weights`` and ``max_pod``, which the
    engine sets up each request's context with.

    Parameters
    ----------
    shading_decay : float, optional
        Per-bid decay of the win-rate statistics (``EngineConfig.shading_decay``).
    shading_min_bids : float, optional
        The decayed number of bids a placement needs before its bids are shaded
        (``EngineConfig.shading_min_bids``).
    pod_node_budget : int, optional
        The most nodes one ad-pod search explores (``EngineConfig.pod_node_budget``).
    pod_request_node_budget : int, optional
        The most nodes the pod searches of one request explore together
        (``EngineConfig.pod_request_node_budget``).

    Examples
    --------
    >>> AuctionAgent(pod_node_budget=16)
    AuctionAgent(pod_node_budget=16)
    """

    name: ClassVar[str] = "auction"
    reads: ClassVar[frozenset[str]] = frozenset(
        {"features", "reason", "bid", "multiplier", "floor", "creative", "candidates"}
    )
    writes: ClassVar[frozenset[str]] = frozenset({"winners"})
    reads_if_written: ClassVar[frozenset[str]] = frozenset({"fraud"})  # the bid discount
    learns_from: ClassVar[tuple[type, ...]] = (Outcome, ForceFloor, CapBid)
    parameters: ClassVar[tuple[str, ...]] = (
        "shading_decay",
        "shading_min_bids",
        "pod_node_budget",
        "pod_request_node_budget",
    )

    shading_decay: float | None = None
    shading_min_bids: float | None = None
    pod_node_budget: int | None = None
    pod_request_node_budget: int | None = None

    def __init__(
        self,
        *,
        shading_decay: float | None = None,
        shading_min_bids: float | None = None,
        pod_node_budget: int | None = None,
        pod_request_node_budget: int | None = None,
    ) -> None:
        self._set_parameters(
            shading_decay=shading_decay,
            shading_min_bids=shading_min_bids,
            pod_node_budget=pod_node_budget,
            pod_request_node_budget=pod_request_node_budget,
        )

    step: ClassVar[KernelStep] = KernelStep(
        run_auctions,
        (
            "ctx.win_ad",
            "ctx.win_bid",
            "ctx.win_price",
            "ctx.win_micros",
            "ctx.win_propensity",
            "ctx.win_second",
            "ctx.effective",
            "ctx.won",
            "ctx.pod_ad",
            "ctx.pod_bid",
            "ctx.pod_price",
            "ctx.pod_micros",
            "ctx.pod_n",
            "ctx.pod_nodes",
            "ctx.pod_gap",
            "ctx.pod_budgeted",
            "ctx.reason",
            "ctx.bid",
            "ctx.value",
            "ctx.mult",
            "snap.ad_campaign",
            "ctx.floor",
            "ctx.avail",
            "state.camp_cap",
            "state.forced_floor",
            "ctx.bid_factor",
            "snap.ad_key",
            "snap.ad_priority",
            "snap.camp_deals",
            "ctx.imp_deals",
            "ctx.imp_mech",
            "ctx.imp_soft",
            "ctx.draws",
            "ctx.cand",
            "ctx.slot_weight",
            "ctx.imp_pod",
            "ctx.imp_poddur",
            "ctx.imp_maxseq",
            "ctx.imp_cpmps",
            "ctx.imp_dedupe",
            "state.pod_budget",
            "state.pod_request_budget",
            "ctx.creative",
            "snap.var_duration",
            "snap.ad_domains",
            "snap.ad_categories",
            "state.shade",
            "state.tries",
            "state.wins",
            "state.grid",
            "ctx.imp_slot",
            "state.prior",
            "state.min_bids",
            "state.work",
            "ctx.g_idx",
            "ctx.g_eff",
            "ctx.g_floor",
            "ctx.g_prio",
            "ctx.g_key",
            "ctx.g_dur",
            "ctx.g_groups",
            "ctx.g_sel",
            "ctx.g_sel2",
            "ctx.g_price",
            "ctx.g_work",
            "ctx.g_stats",
            "ctx.n_imp",
            "ctx.n_cand",
            "ctx.request_key",
            "ctx.explore",
            "ctx.multislot",
        ),
    )

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        return _AuctionState(
            snapshot,
            self.settings(services.config),
            previous if isinstance(previous, _AuctionState) else None,
        )

    def observes(self, state: _AuctionState) -> bool:
        return state.shade

    def after(self, ctx: Context, state: _AuctionState) -> None:
        """Record each first-price bid submitted, for the win-rate curve."""
        if not state.shade or ctx.multislot:
            return
        for k in range(ctx.n_imp):
            if ctx.imp_mech[k] == 1 and not ctx.imp_pod[k] and ctx.win_ad[k] >= 0:
                bucket = _bucket(state, ctx.win_micros.item(k))
                shading_record(
                    state.tries, state.wins, ctx.imp_slot.item(k), bucket, 0, state.decay
                )

    def learn(self, message: Any, state: _AuctionState) -> None:
        """Overrides (a forced floor, a bid cap); and a first-price impression won:
        count the win at its price."""
        if isinstance(message, ForceFloor):
            state.forced_floor[0] = max(0.0, float(message.floor))
            return
        if isinstance(message, CapBid):
            cap = math.inf if message.max_bid is None else float(message.max_bid)
            if message.max_bid is None:
                state.caps.pop(message.campaign_id, None)
            else:
                state.caps[message.campaign_id] = cap
            c = state.snapshot.campaign_index.get(message.campaign_id)
            if c is not None:
                state.camp_cap[c] = min(cap, float(state.snapshot.camp_max_bid[c]))
            return
        if (
            state.shade
            and isinstance(message, Outcome)
            and message.kind == "impression"
            and message.first_price
        ):
            bucket = _bucket(state, message.price_micros)
            shading_record_win(state.wins, message.placement % state.wins.shape[0], bucket)

    def notes(self, ctx: Context, state: _AuctionState) -> dict[str, float | int | str]:
        n = ctx.n_imp
        mech = ctx.multislot or (int(ctx.imp_mech[0]) if n else ctx.auction_type)
        return {
            "filled": int((ctx.win_ad[:n] >= 0).sum()),
            "impressions": n,
            "auction": _MECHANISMS.get(mech, "second_price"),
            "pods": int(ctx.imp_pod[:n].sum()),
            "pod_nodes": int(ctx.pod_nodes[:n].sum()),
            "pod_search": _pod_search(ctx, n),
            "forced_floor": float(state.forced_floor[0]),
            "capped_campaigns": len(state.caps),
        }
