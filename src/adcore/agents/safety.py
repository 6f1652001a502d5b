"""The brand-safety agent: block lists, content exclusions, frequency caps and human
overrides.

- ``bcat`` (a blocked category also blocks its sub-categories), ``badv`` and ``bapp``
  (ads advertising a blocked app, by ``Ad.bundle``) from the request:
  ``BLOCKED_CATEGORY``, ``BLOCKED_ADVERTISER``.
- A campaign's ``excluded_categories`` against the page or stream's content, and its
  ``excluded_keywords`` against the words of the content's title: ``EXCLUDED_CONTENT``.
- Frequency caps per user and campaign (hashed counters in bounded memory, counted
  when impressions are reported): ``FREQUENCY_CAP``. Needs a user key, so it applies
  only where the privacy agent allowed personalisation.
- Human overrides received as control messages on the bus
  (:class:`~adcore.events.PauseCampaign` / :class:`~adcore.events.ResumeCampaign`,
  :class:`~adcore.events.BlockDomain` / :class:`~adcore.events.UnblockDomain`,
  :class:`~adcore.events.BlockCategory` / :class:`~adcore.events.UnblockCategory`): a
  paused campaign, and every ad of a blocked advertiser domain or IAB category (a
  blocked category also blocks its sub-categories), is vetoed with ``OVERRIDE``, the
  highest-precedence reason, from the next request on. (Floors and bid caps forced by
  :class:`~adcore.events.ForceFloor` and :class:`~adcore.events.CapBid` are applied by
  the auction agent.)
"""

from __future__ import annotations

import re
import threading
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from .._kernels.counters import count_campaign
from .._kernels.filters import safety_pass
from .._kernels.reasons import BLOCKED_ADVERTISER, EXCLUDED_CONTENT, OVERRIDE
from ..catalog import CatalogSnapshot, category_closure
from ..context import Context
from ..events import (
    BlockCategory,
    BlockDomain,
    Outcome,
    PauseCampaign,
    ResumeCampaign,
    UnblockCategory,
    UnblockDomain,
)
from .base import Agent, KernelStep, Services

__all__ = ["SafetyAgent"]


class _SafetyState:
    def __init__(
        self,
        snapshot: CatalogSnapshot,
        slots: int,
        paused_ids: set[str],
        counters: tuple[Any, Any, Any] | None,
        blocked: tuple[set[str], set[str]] = (set(), set()),
    ) -> None:
        self.snapshot = snapshot
        self.paused_ids = set(paused_ids)
        self.blocked_domains, self.blocked_categories = set(blocked[0]), set(blocked[1])
        self.blocked_ads: NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self.refresh_blocks()
        self.paused = np.zeros(snapshot.n_campaigns, dtype=np.uint8)
        for cid in self.paused_ids:
            i = snapshot.campaign_index.get(cid)
            if i is not None:
                self.paused[i] = 1
        if counters is None:
            counters = (
                np.zeros(slots, dtype=np.uint64),
                np.zeros(slots, dtype=np.float64),
                np.zeros(slots, dtype=np.int64),
            )
        self.keys: NDArray[np.uint64] = counters[0]
        self.starts: NDArray[np.float64] = counters[1]
        self.counts: NDArray[np.int64] = counters[2]
        self.lock = threading.Lock()

    def refresh_blocks(self) -> None:
        """The ads of blocked domains and categories (recomputed when they change)."""
        domains, categories = self.blocked_domains, self.blocked_categories
        if not domains and not categories:
            self.blocked_ads = np.zeros(0, dtype=np.intp)
            return
        self.blocked_ads = np.array(
            [
                i
                for i, ad in enumerate(self.snapshot.ads)
                if domains.intersection(ad.adomain)
                or categories.intersection(category_closure(ad.categories))
            ],
            dtype=np.intp,
        )


_WORD = re.compile(r"\w+")


def _excluded_by_title(title: str, snap: CatalogSnapshot) -> tuple[int, ...]:
    """The campaigns (positions) excluding a word of ``title``, cached per snapshot."""
    cache: dict[str, tuple[int, ...]] = snap.__dict__.setdefault("_title_cache", {})
    hit = cache.get(title)
    if hit is None:
        words = set(_WORD.findall(title.lower()))
        found: set[int] = set()
        for word in words.intersection(snap.excluded_keywords):
            found.update(snap.excluded_keywords[word])
        hit = tuple(sorted(found))
        if len(cache) > 50_000:
            cache.clear()
        cache[title] = hit
    return hit


def apply_overrides(ctx: Context, state: _SafetyState) -> None:
    """Veto the ads of blocked domains and categories (human overrides), and of
    campaigns excluding a word of the content's title."""
    n = ctx.n_imp
    ads = state.blocked_ads
    if ads.size:
        ctx.reason[:n, ads] = np.maximum(ctx.reason[:n, ads], OVERRIDE)
    snap = ctx.snapshot
    if snap.ad_bundles and ctx.request.bapp:
        for bundle in ctx.request.bapp:
            for i in snap.ad_bundles.get(bundle, ()):
                rows = ctx.reason[:n, i]
                np.maximum(rows, BLOCKED_ADVERTISER, out=rows)
    if snap.excluded_keywords:
        request = ctx.request
        where = request.site if request.site is not None else request.app
        content = where.content if where is not None else None
        title = content.title if content is not None else None
        if title:
            ptr = snap.camp_ad_ptr
            for c in _excluded_by_title(title, snap):
                lo, hi = ptr[c], ptr[c + 1]
                rows = ctx.reason[:n, lo:hi]
                np.maximum(rows, EXCLUDED_CONTENT, out=rows)


class SafetyAgent(Agent):
    """Block lists, exclusions, frequency caps and overrides.

    Takes, keyword-only, the :class:`~adcore.EngineConfig` fields it uses, named like
    them: None (the default) takes the engine's value; any other value is checked by
    EngineConfig's rules (:class:`~adcore.InvalidConfig` naming the field) and replaces
    the engine's for this agent.

    Parameters
    ----------
    counter_slots : int, optional
        Slots of the frequency-cap counter table (``EngineConfig.counter_slots``: a
        power of two from 64 to 2**24); memory is bounded by it.

    Examples
    --------
    >>> SafetyAgent(counter_slots=1024)
    SafetyAgent(counter_slots=1024)
    """

    name: ClassVar[str] = "safety"
    reads: ClassVar[frozenset[str]] = frozenset({"request", "features", "consent"})
    writes: ClassVar[frozenset[str]] = frozenset({"reason"})
    learns_from: ClassVar[tuple[type, ...]] = (
        PauseCampaign,
        ResumeCampaign,
        BlockDomain,
        UnblockDomain,
        BlockCategory,
        UnblockCategory,
        Outcome,
    )
    parameters: ClassVar[tuple[str, ...]] = ("counter_slots",)

    counter_slots: int | None = None

    def __init__(self, *, counter_slots: int | None = None) -> None:
        self._set_parameters(counter_slots=counter_slots)

    step: ClassVar[KernelStep] = KernelStep(
        safety_pass,
        (
            "ctx.reason",
            "ctx.n_imp",
            "snap.camp_ad_ptr",
            "ctx.camp_code",
            "state.paused",
            "ctx.freq_blocked",
            "snap.camp_excluded",
            "ctx.req_content",
            "snap.ad_categories",
            "ctx.req_bcat",
            "snap.ad_domains",
            "ctx.req_badv",
            "state.keys",
            "state.starts",
            "state.counts",
            "ctx.user_key",
            "snap.any_cap",
            "ctx.now",
            "snap.camp_cap_count",
            "snap.camp_cap_window",
        ),
        prepare=apply_overrides,
    )

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        slots = self.settings(services.config).counter_slots
        if isinstance(previous, _SafetyState):
            # Frequency counters are keyed by campaign position; keep them only when the
            # campaigns kept their positions.
            same = previous.snapshot.campaign_ids == snapshot.campaign_ids
            return _SafetyState(
                snapshot,
                slots,
                previous.paused_ids,
                (previous.keys, previous.starts, previous.counts) if same else None,
                (previous.blocked_domains, previous.blocked_categories),
            )
        return _SafetyState(snapshot, slots, set(), None)

    def learn(self, message: Any, state: _SafetyState) -> None:
        if isinstance(message, Outcome):
            # Count a shown impression against the user's frequency cap.
            snap = state.snapshot
            c = snap.campaign_index.get(message.campaign_id)
            if (
                message.kind != "impression"
                or message.user_key == 0
                or c is None
                or snap.camp_cap_count[c] <= 0
            ):
                return
            with state.lock:
                count_campaign(
                    state.keys,
                    state.starts,
                    state.counts,
                    np.uint64(message.user_key),
                    c,
                    float(message.timestamp),
                    float(snap.camp_cap_window[c]),
                )
        elif isinstance(message, PauseCampaign):
            state.paused_ids.add(message.campaign_id)
            i = state.snapshot.campaign_index.get(message.campaign_id)
            if i is not None:
                state.paused[i] = 1
        elif isinstance(message, ResumeCampaign):
            state.paused_ids.discard(message.campaign_id)
            i = state.snapshot.campaign_index.get(message.campaign_id)
            if i is not None:
                state.paused[i] = 0
        elif isinstance(message, (BlockDomain, UnblockDomain)):
            if isinstance(message, BlockDomain):
                state.blocked_domains.add(message.domain)
            else:
                state.blocked_domains.discard(message.domain)
            state.refresh_blocks()
        elif isinstance(message, (BlockCategory, UnblockCategory)):
            if isinstance(message, BlockCategory):
                state.blocked_categories.add(message.category)
            else:
                state.blocked_categories.discard(message.category)
            state.refresh_blocks()

    def notes(self, ctx: Context, state: _SafetyState) -> dict[str, float | int | str]:
        return {
            "paused_campaigns": int(state.paused.sum()),
            "capped_campaigns": int(ctx.freq_blocked.sum()),
            "blocked_domains": len(state.blocked_domains),
            "blocked_categories": len(state.blocked_categories),
        }
