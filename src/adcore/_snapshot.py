"""The compilation of a catalog into the read-only arrays the kernels read.

A :class:`CatalogSnapshot` is built by :class:`~adcore.catalog.Catalog` from validated
:class:`~adcore.catalog.Campaign` and :class:`~adcore.catalog.Ad` Structs, and imported
from :mod:`adcore.catalog`, which re-exports it. Since ``catalog.py`` imports this module,
this one reads the catalog's types when a snapshot is built, not when it is imported (no
import cycle).

Examples
--------
>>> from adcore import Ad, Campaign, Catalog
>>> c = Campaign(id="c1", advertiser="Acme", daily_budget=50_000_000, bid=2.0)
>>> a = Ad(id="a1", campaign="c1", format="display", embedding=(0.1, 0.2),
...        sizes=((300, 250),))
>>> snap = Catalog([c], [a]).snapshot
>>> snap.ad_ids, snap.camp_ad_ptr.tolist(), snap.size_wh.tolist()
(('a1',), [0, 1], [[300, 250]])
>>> snap.ad_action.tolist() == [ACTION_CLICK], snap.ad_format.flags.writeable
(True, False)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._hashing import stable_key
from ._vocabulary import Vocabulary, category_closure
from .errors import InvalidCatalog

if TYPE_CHECKING:
    from .catalog import Ad, Campaign

__all__ = ["ACTION_CLICK", "ACTION_COMPLETE", "UNKNOWN_MIME", "CatalogSnapshot"]


ACTION_CLICK, ACTION_COMPLETE = 0, 1
"""The actions an ad can be bought for (``CatalogSnapshot.ad_action``)."""

UNKNOWN_MIME = 1 << 63
"""The MIME bit no creative has: a request asking only for unknown MIME types gets it."""


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


class CatalogSnapshot:
    """The compiled, read-only form of a catalog that kernels read.

    Arrays are indexed by ad (``ad_*``, ``var_*`` through ``var_ptr``, ``size_*`` through
    ``size_ptr``) or by campaign (``camp_*``). Every array is read-only. ``ad_ids`` and
    ``campaign_ids`` give the string ids; ``ad_index`` / ``campaign_index`` the reverse.
    """

    def __init__(
        self,
        campaigns: Sequence[Campaign],
        ads: Sequence[Ad],
        dimension: int,
        signals: Mapping[str, Sequence[float]],
        currency: str,
    ) -> None:
        # Here, not at module level: catalog.py imports this module.
        from .catalog import (
            _FORMAT_CODE,
            _MTYPE,
            _PACING_CODE,
            _STRATEGY_CODE,
            AdFormat,
            BidStrategy,
            Pacing,
            _creatives,
        )

        self.currency = currency
        self.dimension = dimension
        self.n_ads = len(ads)
        self.n_campaigns = len(campaigns)
        self.campaigns: tuple[Campaign, ...] = tuple(campaigns)
        self.campaign_ids: tuple[str, ...] = tuple(c.id for c in campaigns)
        self.campaign_index = {cid: i for i, cid in enumerate(self.campaign_ids)}
        # Ads are stored grouped by campaign (stably), so a campaign's ads are the range
        # camp_ad_ptr[c]:camp_ad_ptr[c + 1] and campaign-level vetoes touch only them.
        ads = sorted(ads, key=lambda a: self.campaign_index[a.campaign])
        self.ads: tuple[Ad, ...] = tuple(ads)
        self.ad_ids: tuple[str, ...] = tuple(a.id for a in ads)
        self.ad_index = {aid: i for i, aid in enumerate(self.ad_ids)}

        cat_items: list[str] = []
        for c in campaigns:
            cat_items += category_closure(c.targeting.content_categories)
            cat_items += category_closure(c.excluded_categories)
        for a in ads:
            cat_items += category_closure(a.categories)
        # Categories and segments that carry a signal vector are in the vocabularies too.
        signal_cats = [n[4:] for n in signals if n.startswith("cat:")]
        signal_segs = [n[4:] for n in signals if n.startswith("seg:")]
        self.categories = Vocabulary(cat_items + signal_cats)
        self.domains = Vocabulary(d for a in ads for d in a.adomain)
        self.countries = Vocabulary(k for c in campaigns for k in c.targeting.countries)
        self.segments = Vocabulary(
            [s for c in campaigns for s in c.targeting.segments] + signal_segs
        )
        self.deals = Vocabulary(d for c in campaigns for d in c.deals)
        variants = [_creatives(a) for a in ads]
        self.mimes = Vocabulary(m for vs in variants for v in vs for m in v.mimes)
        if len(self.mimes) > 63:
            raise InvalidCatalog(
                f"the catalog uses {len(self.mimes)} distinct MIME types; at most 63 are supported",
                "ads[].mimes",
            )
        self.signals = Vocabulary(signals.keys())

        n, d = self.n_ads, dimension
        self.ad_campaign = _readonly(
            np.array([self.campaign_index[a.campaign] for a in ads], dtype=np.int32)
        )
        self.camp_ad_ptr = _readonly(
            np.searchsorted(self.ad_campaign, np.arange(self.n_campaigns + 1)).astype(np.int32)
        )
        self.ad_format = _readonly(
            np.array([_FORMAT_CODE[AdFormat(a.format)] for a in ads], dtype=np.int8)
        )
        self.ad_key = _readonly(np.array([stable_key(a.id) for a in ads], dtype=np.uint64))
        self.ad_base_logit = _readonly(
            np.array([math.log(a.base_rate / (1.0 - a.base_rate)) for a in ads], dtype=np.float64)
        )
        emb = np.zeros((n, d), dtype=np.float32)
        for i, a in enumerate(ads):
            emb[i] = a.embedding
        self.ad_embedding = _readonly(emb)
        self.ad_categories = self._bitsets(
            [category_closure(a.categories) for a in ads], self.categories
        )
        self.ad_domains = self._bitsets([a.adomain for a in ads], self.domains)

        var_ptr = np.zeros(n + 1, dtype=np.int32)
        durations: list[float] = []
        var_mimes: list[int] = []
        var_protocols: list[int] = []
        var_ids: list[str] = []
        var_ad: list[int] = []
        for i, vs in enumerate(variants):
            for v in vs:
                durations.append(v.duration)
                mask = 0
                for m in v.mimes:
                    mask |= 1 << self.mimes.index[m]
                var_mimes.append(mask)
                var_protocols.append(sum(1 << p for p in set(v.protocols)))
                var_ids.append(v.id)
                var_ad.append(i)
            var_ptr[i + 1] = len(durations)
        self.var_ptr = _readonly(var_ptr)
        self.var_duration = _readonly(np.array(durations, dtype=np.float64))
        self.var_mimes = _readonly(np.array(var_mimes, dtype=np.uint64))
        self.var_protocols = _readonly(np.array(var_protocols, dtype=np.uint64))
        self.var_ids: tuple[str, ...] = tuple(var_ids)
        self.var_ad = _readonly(np.array(var_ad, dtype=np.int32))
        # Python-side facts about each ad and variant that a decision reports, gathered
        # once so building a decision does no per-field lookups.
        self.ad_info: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], int], ...] = tuple(
            (a.id, a.campaign, a.adomain, a.categories, _MTYPE[AdFormat(a.format)]) for a in ads
        )
        self.var_info: tuple[tuple[str, float], ...] = tuple(
            (vid, 0.0 if ads[int(ai)].format == AdFormat.DISPLAY else float(d))
            for vid, d, ai in zip(var_ids, durations, var_ad, strict=True)
        )

        size_ptr = np.zeros(n + 1, dtype=np.int32)
        sizes: list[tuple[int, int]] = []
        for i, a in enumerate(ads):
            sizes.extend((int(w), int(h)) for w, h in a.sizes)
            size_ptr[i + 1] = len(sizes)
        self.size_ptr = _readonly(size_ptr)
        self.size_wh = _readonly(np.array(sizes, dtype=np.int32).reshape(len(sizes), 2))

        self.camp_daily = _readonly(np.array([c.daily_budget for c in campaigns], dtype=np.int64))
        self.camp_total = _readonly(
            np.array(
                [-1 if c.total_budget is None else c.total_budget for c in campaigns],
                dtype=np.int64,
            )
        )
        self.camp_start = _readonly(
            np.array([-np.inf if c.start is None else c.start for c in campaigns], dtype=np.float64)
        )
        self.camp_end = _readonly(
            np.array([np.inf if c.end is None else c.end for c in campaigns], dtype=np.float64)
        )
        # Ads by advertised app bundle (for the request's bapp).
        self.ad_bundles: dict[str, tuple[int, ...]] = {}
        for a_i, a in enumerate(ads):
            if a.bundle:
                self.ad_bundles[a.bundle] = (*self.ad_bundles.get(a.bundle, ()), a_i)
        # Title keywords each campaign is kept away from (lower case), and who has any.
        self.excluded_keywords: dict[str, tuple[int, ...]] = {}
        for c_i, c in enumerate(campaigns):
            for word in c.excluded_keywords:
                key = word.lower()
                self.excluded_keywords[key] = (*self.excluded_keywords.get(key, ()), c_i)
        self.camp_pacing = _readonly(
            np.array([_PACING_CODE[Pacing(c.pacing)] for c in campaigns], dtype=np.int8)
        )
        self.camp_key = _readonly(np.array([stable_key(c.id) for c in campaigns], dtype=np.uint64))
        self.camp_strategy = _readonly(
            np.array([_STRATEGY_CODE[BidStrategy(c.strategy)] for c in campaigns], dtype=np.int8)
        )
        # The action each ad is bought for (what the relevance agent predicts and learns):
        # a click when its campaign pays per click or acquisition, or the ad is display;
        # else a completion.
        pays_clicks = np.isin(
            self.camp_strategy,
            (_STRATEGY_CODE[BidStrategy.TARGET_CPC], _STRATEGY_CODE[BidStrategy.TARGET_CPA]),
        )
        self.ad_action = _readonly(
            np.where(pays_clicks[self.ad_campaign] | (self.ad_format == 0), ACTION_CLICK,
                     ACTION_COMPLETE).astype(np.int8)
        )  # fmt: skip
        self.camp_amount = _readonly(np.array([c.bid for c in campaigns], dtype=np.float64))
        self.camp_max_bid = _readonly(np.array([c.max_bid for c in campaigns], dtype=np.float64))
        self.camp_conversion_rate = _readonly(
            np.array([c.conversion_rate for c in campaigns], dtype=np.float64)
        )
        self.camp_priority = _readonly(np.array([c.priority for c in campaigns], dtype=np.int64))
        self.ad_priority = _readonly(
            self.camp_priority[self.ad_campaign] if n else np.zeros(0, dtype=np.int64)
        )
        self.camp_cap_count = _readonly(
            np.array(
                [0 if c.frequency_cap is None else c.frequency_cap.impressions for c in campaigns],
                dtype=np.int64,
            )
        )
        self.camp_cap_window = _readonly(
            np.array(
                [1.0 if c.frequency_cap is None else c.frequency_cap.window for c in campaigns],
                dtype=np.float64,
            )
        )
        self.camp_personal = _readonly(
            np.array([1 if c.targeting.segments else 0 for c in campaigns], dtype=np.uint8)
        )
        self.any_personal = bool(self.camp_personal.any())
        self.any_cap = bool((self.camp_cap_count > 0).any())
        self.camp_devtypes = _readonly(
            np.array(
                [sum(1 << t for t in set(c.targeting.device_types)) for c in campaigns],
                dtype=np.int64,
            )
        )
        self.camp_hours = _readonly(
            np.array(
                [sum(1 << h for h in set(c.targeting.hours)) for c in campaigns], dtype=np.int64
            )
        )
        self.camp_countries = self._bitsets(
            [c.targeting.countries for c in campaigns], self.countries
        )
        self.camp_content = self._bitsets(
            [c.targeting.content_categories for c in campaigns], self.categories
        )
        self.camp_segments = self._bitsets([c.targeting.segments for c in campaigns], self.segments)
        self.camp_excluded = self._bitsets(
            [c.excluded_categories for c in campaigns], self.categories
        )
        self.camp_deals = self._bitsets([c.deals for c in campaigns], self.deals)

        vecs = np.zeros((len(self.signals), d), dtype=np.float32)
        for name, row in self.signals.index.items():
            vecs[row] = signals[name]
        self.signal_vectors = _readonly(vecs)
        # Signal rows by kind ("cat", "genre", "seg", "kw") and value, so the audience
        # agent looks values up without building "kind:value" strings per request.
        self.signal_rows: dict[str, dict[str, int]] = {}
        for name, row in self.signals.index.items():
            kind, _, value = name.partition(":")
            self.signal_rows.setdefault(kind, {})[value] = row
        # Category and segment signals by vocabulary bit (-1: none), so the interest vector
        # is built from the request's bitsets inside the kernel.
        cat_signal = np.full(self.categories.words * 64, -1, dtype=np.int32)
        for value, row in self.signal_rows.get("cat", {}).items():
            bit = self.categories.index.get(value)
            if bit is not None:
                cat_signal[bit] = row
        seg_signal = np.full(self.segments.words * 64, -1, dtype=np.int32)
        for value, row in self.signal_rows.get("seg", {}).items():
            bit = self.segments.index.get(value)
            if bit is not None:
                seg_signal[bit] = row
        self.cat_signal = _readonly(cat_signal)
        self.seg_signal = _readonly(seg_signal)

    @staticmethod
    def _bitsets(rows: Sequence[Iterable[str]], vocab: Vocabulary) -> NDArray[np.uint64]:
        out = np.zeros((len(rows), vocab.words), dtype=np.uint64)
        for i, items in enumerate(rows):
            vocab.fill(out[i], items)
        return _readonly(out)
