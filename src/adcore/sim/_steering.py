"""The engine agents the environment steers: bidding multiplied per campaign, pacing
towards a per-campaign share of the daily budget, and a creative cut chosen per
campaign. :class:`adcore.sim.env.AdMarketEnv` sets their actions on every step.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import numpy as np
from numpy.typing import NDArray

from .._kernels.creative import FOCUS_BACKGROUND, FOCUS_HIGH
from ..agents import BiddingAgent, CreativeAgent, PacingAgent, Services
from ..catalog import CatalogSnapshot
from ..context import Context
from ..ledger import Ledger

__all__: list[str] = []


# ---------------------------------------------------------------------- steered agents
# Subclasses keep the engine agents' names, reads and writes, so the plan is unchanged.
# Each holds its action per campaign, in the environment's campaign order, and maps it
# onto the engine's snapshot rows when it binds.


def _rows(snapshot: CatalogSnapshot, campaign_ids: tuple[str, ...]) -> NDArray[np.intp]:
    """The snapshot row of each campaign, in ``campaign_ids`` order (-1 for a campaign
    the snapshot lacks, as the engine's warm-up catalog does)."""
    index = snapshot.campaign_index
    return np.array([index.get(c, -1) for c in campaign_ids], dtype=np.intp)


def _by_row(rows: NDArray[np.intp], values: NDArray[Any], n_rows: int, fill: float) -> NDArray[Any]:
    """``values`` (in campaign order) laid out by snapshot row; ``fill`` elsewhere."""
    out = np.full(n_rows, fill, dtype=values.dtype)
    known = rows >= 0
    out[rows[known]] = values[known]
    return out


class _PerAd:
    """An agent's action per campaign laid out per ad of one snapshot (``per_ad``),
    recomputed when the agent's ``version`` moves on."""

    def __init__(
        self, snapshot: CatalogSnapshot, campaign_ids: tuple[str, ...], fill: float, dtype: Any
    ) -> None:
        self.rows = _rows(snapshot, campaign_ids)
        self.ad_campaign = snapshot.ad_campaign
        self.per_ad = np.full(snapshot.n_ads, fill, dtype=dtype)
        self.version = -1


class _Steered:
    """What every steered agent holds: its action per campaign (``action``, in the
    environment's campaign order), whether that is the engine's own behaviour
    (``neutral``: every entry equals ``NEUTRAL``), and a ``version`` that moves on with
    every :meth:`set`."""

    NEUTRAL: ClassVar[float] = 1.0
    DTYPE: ClassVar[Any] = np.float64

    def __init__(self, campaign_ids: tuple[str, ...]) -> None:
        self.campaign_ids = campaign_ids
        self.action: NDArray[Any] = np.full(len(campaign_ids), self.NEUTRAL, dtype=self.DTYPE)
        self.neutral = True
        self.version = 0

    def set(self, action: NDArray[Any]) -> None:
        self.action = action
        self.neutral = bool(np.all(action == self.NEUTRAL))
        self.version += 1

    def per_ad(self, state: _PerAd, n_campaigns: int) -> NDArray[Any]:
        """The action of each ad's campaign in ``state``'s snapshot (``NEUTRAL`` for a
        campaign the environment does not steer)."""
        if state.version != self.version:
            by_row = _by_row(state.rows, self.action, n_campaigns, self.NEUTRAL)
            state.per_ad = by_row[state.ad_campaign]
            state.version = self.version
        return state.per_ad


class _BiddingState(_PerAd):
    """Per ad: its campaign's max bid and current bid multiplier."""

    def __init__(self, snapshot: CatalogSnapshot, campaign_ids: tuple[str, ...]) -> None:
        super().__init__(snapshot, campaign_ids, 1.0, np.float64)
        self.max_bid = np.ascontiguousarray(snapshot.camp_max_bid[snapshot.ad_campaign])


class _CampaignBidding(_Steered, BiddingAgent):
    """The bidding agent, each campaign's bids multiplied by its action (a multiplier,
    1 by default) and still capped at the campaign's max bid."""

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        return _BiddingState(snapshot, self.campaign_ids)

    def run(self, ctx: Context, state: _BiddingState) -> None:
        super().run(ctx, state)
        if self.neutral or ctx.n_cand == 0:
            return
        per_ad = self.per_ad(state, ctx.snapshot.n_campaigns)
        cand = ctx.cand[: ctx.n_cand]
        ctx.bid[cand] = np.minimum(ctx.bid[cand] * per_ad[cand], state.max_bid[cand])


class _TargetLedger:
    """What the pacing agent sees of the ledger: the real books, with each campaign's
    daily budget scaled by its pacing target. Spend, holds and charges stay on the
    real ledger; only the budget the pacing controllers and caps aim at changes."""

    def __init__(self, ledger: Ledger, rows: NDArray[np.intp], agent: _TargetPacing) -> None:
        self._ledger = ledger
        self._rows = rows
        self._agent = agent
        self._version = -1
        # One array, updated in place: the pacing kernel is handed it once per request
        # context (kernel steps read state arrays by reference), so it must never be
        # replaced while this view serves.
        self._daily = ledger.daily.copy()
        agent._view = self

    def refresh(self) -> None:
        """Scale the real daily budgets by the agent's current targets, in place."""
        agent, real = self._agent, self._ledger.daily
        if self._version == agent.version and self._daily.shape == real.shape:
            return
        if self._daily.shape != real.shape:
            self._daily = real.copy()
        if agent.neutral:
            self._daily[:] = real
        else:
            scale = _by_row(self._rows, agent.action, real.shape[0], 1.0)
            self._daily[:] = np.floor(scale * real)
        self._version = agent.version

    @property
    def daily(self) -> NDArray[np.int64]:
        self.refresh()
        return self._daily

    @property
    def total(self) -> NDArray[np.int64]:
        return self._ledger.total

    @property
    def spent_today(self) -> NDArray[np.int64]:
        return self._ledger.spent_today

    @property
    def spent_total(self) -> NDArray[np.int64]:
        return self._ledger.spent_total

    @property
    def held(self) -> NDArray[np.int64]:
        return self._ledger.held

    def pacing_view(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        _, spent_today, held = self._ledger.pacing_view()
        return self.daily, spent_today, held


class _TargetPacing(_Steered, PacingAgent):
    """The pacing agent, pacing each campaign to its action (a target share of its daily
    budget, 1 by default): the controllers follow the plan towards that share and the
    cap stops the campaign there."""

    _view: _TargetLedger | None = None

    def set(self, action: NDArray[Any]) -> None:
        super().set(action)
        if self._view is not None:
            self._view.refresh()

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        view = _TargetLedger(services.ledger, _rows(snapshot, self.campaign_ids), self)
        # The view has every ledger attribute the pacing state reads.
        steered = Services(services.config, cast(Ledger, view), services.bus)
        return super().bind(snapshot, previous, steered)


class _CampaignCreative(_Steered, CreativeAgent):
    """The creative agent, with a cut per campaign (its action, an index into
    :data:`adcore.sim.env.CUTS`; 0, the engine's rule, by default)."""

    NEUTRAL: ClassVar[float] = 0
    DTYPE: ClassVar[Any] = np.int64
    _FORCED: ClassVar[tuple[tuple[int, int], ...]] = ((1, FOCUS_HIGH), (2, FOCUS_BACKGROUND))

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        return _PerAd(snapshot, self.campaign_ids, 0, np.int64)

    def run(self, ctx: Context, state: _PerAd) -> None:
        if self.neutral or ctx.n_cand == 0:
            super().run(ctx, state)
            return
        cand = ctx.cand[: ctx.n_cand]
        cut = self.per_ad(state, ctx.snapshot.n_campaigns)[cand]
        # The engine's rule is the kernel at the listener's focus; "shortest" and
        # "longest" are the kernel at high focus and in the background. Each runs over
        # its own campaigns' candidates only.
        runs = [*self._FORCED]
        if ctx.focus in (FOCUS_HIGH, FOCUS_BACKGROUND):
            runs.append((0, ctx.focus))
        for choice, focus in runs:
            subset = np.ascontiguousarray(cand[cut == choice])
            if subset.size:
                self.step.call(
                    ctx,
                    state,
                    {"ctx.focus": focus, "ctx.cand": subset, "ctx.n_cand": subset.size},
                )
