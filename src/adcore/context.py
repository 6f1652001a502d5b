"""The per-request shared context: preallocated arrays every agent reads and writes.

One :class:`Context` exists per engine, catalog snapshot and thread; a request resets
the parts it uses instead of allocating. Agents declare which of its fields they read
and write (the names in :data:`FIELDS`), and the engine orders them from that.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .catalog import CatalogSnapshot

__all__ = ["FIELDS", "INPUTS", "Context"]

INPUTS = frozenset({"request", "features"})
"""Fields the engine fills before any agent runs."""

FIELDS = frozenset(
    {
        "request",  # the BidRequest being decided
        "features",  # request features: time, geo, device, content, block lists, impressions
        "consent",  # what the request allows: personalise, and the personal signals kept
        "fraud",  # the fraud score
        "reason",  # per impression and ad: 0 eligible, else the reason code of the veto
        "interest",  # the listener's interest vector and focus state
        "floor",  # per impression and ad: the floor the bid must clear
        "candidates",  # the ads still eligible for some impression after inventory fit
        "creative",  # per impression and ad: the chosen creative variant
        "score",  # per ad: predicted action probability
        "bid",  # per ad: expected value and bid (CPM)
        "multiplier",  # per campaign: pacing multiplier and budget available
        "winners",  # per impression: winning ad, bid, price, propensity
    }
)
"""Every field an agent may declare in ``reads`` / ``writes``."""

MAX_SIZES = 16
MAX_TOKENS = 64


class Context:
    """Preallocated working memory for one request at a time.

    Arrays are sized for the catalog ``snapshot`` and at most ``max_imps`` impressions;
    only the first ``n_imp`` rows of per-impression arrays are meaningful.
    """

    def __init__(self, snapshot: CatalogSnapshot, max_imps: int) -> None:
        n, nc, d = snapshot.n_ads, snapshot.n_campaigns, snapshot.dimension
        self.snapshot = snapshot
        self.max_imps = max_imps
        self.fused_static: Any = None  # the fast path's argument tuple (adcore.fused)
        self.request: Any = None
        self.now = 0.0
        self.n_imp = 0
        self.request_key = np.uint64(1)
        self.auction_type = 2

        # Request-level bitsets share one buffer so a reset is one fill.
        words = [
            snapshot.countries.words,
            snapshot.categories.words,
            snapshot.categories.words,
            snapshot.domains.words,
            snapshot.segments.words,
        ]
        self._bits = np.zeros(sum(words), dtype=np.uint64)
        views = []
        at = 0
        for w in words:
            views.append(self._bits[at : at + w])
            at += w
        self.req_country, self.req_content, self.req_bcat, self.req_badv, self.req_segments = views
        self.req_devtype = 0
        self.req_hour = -1

        self.imp_formats = np.zeros(max_imps, dtype=np.int64)
        self.imp_mimes = np.zeros(max_imps, dtype=np.uint64)
        self.imp_mindur = np.zeros(max_imps, dtype=np.float64)
        self.imp_maxdur = np.zeros(max_imps, dtype=np.float64)
        self.imp_sizes = np.zeros((max_imps, MAX_SIZES, 2), dtype=np.int32)
        self.imp_nsizes = np.zeros(max_imps, dtype=np.int32)
        self.imp_floor = np.zeros(max_imps, dtype=np.float64)
        self.imp_private = np.zeros(max_imps, dtype=np.uint8)
        self.imp_currency_ok = np.zeros(max_imps, dtype=np.uint8)
        self.imp_deals = np.zeros((max_imps, snapshot.deals.words), dtype=np.uint64)
        self.deals_dirty = [False] * max_imps
        self.imp_deal_floor = np.zeros((max_imps, snapshot.deals.words * 64), dtype=np.float64)

        # consent
        self.personalise = False
        self.consent_reasons: list[str] = []
        self.user_key = np.uint64(0)
        # fraud
        self.fraud_score = 0.0
        self.fraud_flags: tuple[bool, bool, bool, bool] = (False, False, False, False)
        # interest
        self.tokens = np.zeros(MAX_TOKENS, dtype=np.int32)
        self.n_tokens = 0
        self.interest = np.zeros(d, dtype=np.float32)
        self.has_interest = 0
        self.focus = 0

        # per candidate
        self.reason = np.zeros((max_imps, n), dtype=np.uint8)
        self.camp_code = np.zeros(nc, dtype=np.uint8)
        self.freq_blocked = np.zeros(nc, dtype=np.uint8)
        self.floor = np.zeros((max_imps, n), dtype=np.float64)
        self.creative = np.full((max_imps, n), -1, dtype=np.int32)
        self.score = np.zeros(n, dtype=np.float64)
        self.value = np.zeros(n, dtype=np.float64)
        self.bid = np.zeros(n, dtype=np.float64)
        self.mult = np.ones(nc, dtype=np.float64)
        self.avail = np.zeros(nc, dtype=np.int64)
        self.effective = np.zeros(n, dtype=np.float64)
        self.cand = np.zeros(n, dtype=np.int64)
        self.n_cand = 0
        self.won = np.zeros(n, dtype=np.uint8)

        # winners
        self.win_ad = np.full(max_imps, -1, dtype=np.int32)
        self.win_bid = np.zeros(max_imps, dtype=np.float64)
        self.win_price = np.zeros(max_imps, dtype=np.float64)
        self.win_micros = np.zeros(max_imps, dtype=np.int64)
        self.win_propensity = np.zeros(max_imps, dtype=np.float64)
        self.draws = np.zeros((max_imps, 2), dtype=np.float64)
        self.explore = 0.0

    def reset(self, n_imp: int) -> None:
        """Clear what the previous request left that kernels do not overwrite."""
        self.n_imp = n_imp
        self._bits.fill(0)
        self.reason[:n_imp].fill(0)
        self.req_devtype = 0
        self.req_hour = -1
        self.personalise = False
        self.consent_reasons = []
        self.user_key = np.uint64(0)
        self.fraud_score = 0.0
        self.fraud_flags = (False, False, False, False)
        self.n_tokens = 0
        self.has_interest = 0
        self.focus = 0

    def eligible_counts(self) -> NDArray[np.int64]:
        """How many ads are eligible for each impression (for traces and tests)."""
        return np.asarray((self.reason[: self.n_imp] == 0).sum(axis=1), dtype=np.int64)
