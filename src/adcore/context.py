"""The per-request shared context: preallocated arrays every agent reads and writes.

One :class:`Context` exists per engine, catalog snapshot and thread; a request resets
the parts it uses instead of allocating. Agents declare which of its fields they read
and write (the names in :data:`FIELDS`), and the engine orders them from that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._kernels.pod import POD_STATS, pod_work_size
from .catalog import CatalogSnapshot

if TYPE_CHECKING:
    from .config import EngineConfig

__all__ = ["FIELDS", "INPUTS", "Context", "new_context"]

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
N_FORMATS = 3
"""Ad format codes (display 0, video 1, audio 2): the columns of per-format arrays."""


class Context:
    """Preallocated working memory for one request at a time.

    Arrays are sized for the catalog ``snapshot`` and at most ``max_imps`` impressions;
    only the first ``n_imp`` rows of per-impression arrays are meaningful.
    """

    def __init__(self, snapshot: CatalogSnapshot, max_imps: int, max_pod: int = 8) -> None:
        n, nc, d = snapshot.n_ads, snapshot.n_campaigns, snapshot.dimension
        self.snapshot = snapshot
        self.max_imps = max_imps
        self.fused_static: Any = None  # the fast path's argument tuple (adcore.fused)
        self.request: Any = None
        self.now = 0.0
        self.n_imp = 0
        self.request_key = np.uint64(1)
        self.auction_type = 2  # the request's ``at``: 1 first price, 2 second price
        self.multislot = 0  # 0: one auction per impression; GSP (3) or VCG (4): positions
        self.default_multislot = 0  # EngineConfig.multislot, set by the engine
        self.placement = ""  # site or app id (or domain): the learners' placement key
        self.placement_slots = 0  # slots of the learners' tables (0: no learner needs them)

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

        # Each media object keeps its own limits: the per-format arrays have one column per
        # ad format code (0 display, 1 video, 2 audio), read for ads of that format only.
        self.imp_formats = np.zeros(max_imps, dtype=np.int64)
        self.imp_mimes = np.zeros((max_imps, N_FORMATS), dtype=np.uint64)
        self.imp_protocols = np.zeros((max_imps, N_FORMATS), dtype=np.uint64)  # 0: any
        self.imp_mindur = np.zeros((max_imps, N_FORMATS), dtype=np.float64)
        self.imp_maxdur = np.full((max_imps, N_FORMATS), np.inf, dtype=np.float64)
        self.imp_sizes = np.zeros((max_imps, MAX_SIZES, 2), dtype=np.int32)  # banner only
        self.imp_nsizes = np.zeros(max_imps, dtype=np.int32)
        self.imp_floor = np.zeros(max_imps, dtype=np.float64)
        self.imp_private = np.zeros(max_imps, dtype=np.uint8)
        self.imp_currency_ok = np.zeros(max_imps, dtype=np.uint8)
        self.imp_deals = np.zeros((max_imps, snapshot.deals.words), dtype=np.uint64)
        self.deals_dirty = [False] * max_imps
        self.imp_deal_floor = np.zeros((max_imps, snapshot.deals.words * 64), dtype=np.float64)
        self.imp_mech = np.full(max_imps, 2, dtype=np.int64)  # 1 first, 2 second price
        self.imp_soft = np.zeros(max_imps, dtype=np.float64)  # soft floor (0: none)
        self.imp_slot = np.zeros(max_imps, dtype=np.int64)  # placement slot of the learners
        self.imp_pod = np.zeros(max_imps, dtype=np.uint8)
        self.imp_poddur = np.zeros(max_imps, dtype=np.float64)
        self.imp_maxseq = np.zeros(max_imps, dtype=np.int64)
        self.imp_cpmps = np.zeros(max_imps, dtype=np.float64)  # mincpmpersec
        self.imp_dedupe = np.zeros(max_imps, dtype=np.uint8)  # bit 1 adomain, bit 2 category
        self.slot_weight = np.ones(max_imps, dtype=np.float64)

        # consent
        self.activities: Any = None  # adcore.consent.Activities of the request
        self.personalise = False
        self.consent_reasons: list[str] = []
        self.user_key = np.uint64(0)
        # fraud
        self.fraud_score = 0.0
        self.bid_factor = np.ones(1, dtype=np.float64)  # the fraud discount of bids
        self.fraud_flags: tuple[bool, ...] = (False, False, False, False, False, False)
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
        self.win_second = np.zeros(max_imps, dtype=np.float64)
        self.max_pod = max_pod
        self.pod_ad = np.full((max_imps, max_pod), -1, dtype=np.int64)
        self.pod_bid = np.zeros((max_imps, max_pod), dtype=np.float64)
        self.pod_price = np.zeros((max_imps, max_pod), dtype=np.float64)
        self.pod_micros = np.zeros((max_imps, max_pod), dtype=np.int64)
        self.pod_n = np.zeros(max_imps, dtype=np.int64)
        # how each pod was searched: nodes explored (fill and prices), optimality gap of
        # the fill (0 when exact), flags (bit 0: the fill ran out of its node budget,
        # bit 1: a price search did)
        self.pod_nodes = np.zeros(max_imps, dtype=np.int64)
        self.pod_gap = np.zeros(max_imps, dtype=np.float64)
        self.pod_budgeted = np.zeros(max_imps, dtype=np.uint8)
        # auction scratch: the candidates of one pod or position auction, gathered
        group_words = (nc + 63) // 64 + snapshot.domains.words + snapshot.categories.words
        self.g_idx = np.zeros(n, dtype=np.int64)
        self.g_eff = np.zeros(n, dtype=np.float64)
        self.g_floor = np.zeros(n, dtype=np.float64)
        self.g_prio = np.zeros(n, dtype=np.int64)
        self.g_key = np.zeros(n, dtype=np.uint64)
        self.g_dur = np.zeros(n, dtype=np.float64)
        self.g_groups = np.zeros((max(n, 1), group_words), dtype=np.uint64)
        slots = max(max_imps, max_pod) + 1
        self.g_sel = np.full(max(n, slots), -1, dtype=np.int64)
        self.g_sel2 = np.full(max(n, slots), -1, dtype=np.int64)
        self.g_price = np.zeros(max(n, slots), dtype=np.float64)
        self.g_work = np.zeros(max(pod_work_size(n, max_pod, group_words), slots), dtype=np.int64)
        self.g_stats = np.zeros(POD_STATS, dtype=np.float64)
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
        self.bid_factor[0] = 1.0
        self.fraud_flags = (False, False, False, False, False, False)
        self.n_tokens = 0
        self.has_interest = 0
        self.focus = 0

    def eligible_counts(self) -> NDArray[np.int64]:
        """How many ads are eligible for each impression (for traces and tests)."""
        return np.asarray((self.reason[: self.n_imp] == 0).sum(axis=1), dtype=np.int64)


_MULTISLOT = {None: 0, "gsp": 3, "vcg": 4}


def new_context(snapshot: CatalogSnapshot, config: EngineConfig) -> Context:
    """A context for ``snapshot`` sized and set up by ``config``: impressions, pod size,
    the default position auction, position weights and the learners' placement slots."""
    ctx = Context(snapshot, config.max_imps, config.max_pod)
    ctx.default_multislot = _MULTISLOT[config.multislot]
    if config.reserve != "off" or config.bid_shading:
        ctx.placement_slots = config.learner_slots
    # Positions past the configured weights take the last one: weights stay
    # non-increasing (VCG's prices rest on it) whatever the number of impressions.
    weights = config.slot_weights or (1.0,)
    for s in range(ctx.slot_weight.shape[0]):
        ctx.slot_weight[s] = weights[min(s, len(weights) - 1)]
    return ctx
