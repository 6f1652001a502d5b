"""The per-request shared context: preallocated arrays every agent reads and writes.

One :class:`Context` exists per engine, catalog snapshot and thread; a request resets
the parts it uses instead of allocating. Agents declare which of its fields they read
and write (the names in :data:`FIELDS`), and the engine orders them from that.

:data:`REGISTRY` is the one declaration of what a context holds: every array (its field,
dtype, symbolic shape and initial value) and every per-request value (its field). The
context is allocated from it, the engine's debug mode (``EngineConfig.debug``) checks
each agent's writes against it (:func:`changed_outside`), and the tests check that
nothing else is stored.

>>> from adcore.context import REGISTRY
>>> REGISTRY["bid"].field, REGISTRY["bid"].dtype, REGISTRY["bid"].shape
('bid', 'float64', ('ads',))
>>> sorted({slot.field for slot in REGISTRY.values()})[:4]
['bid', 'candidates', 'consent', 'creative']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._kernels.pod import POD_STATS, pod_work_size
from .catalog import CatalogSnapshot

if TYPE_CHECKING:
    from .config import EngineConfig

__all__ = [
    "FIELDS",
    "INPUTS",
    "REGISTRY",
    "Context",
    "Slot",
    "changed_outside",
    "new_context",
    "watch",
]

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

SCRATCH = "scratch"

CONTEXT_KEYS = 4
"""How many context keys a request has (:data:`adcore.features.CONTEXT_FEATURES`)."""
"""The pseudo-field of working memory any agent may overwrite (the auction's gather
buffers): never read across agents."""

MAX_SIZES = 16
MAX_TOKENS = 64
N_FORMATS = 3
"""Ad format codes (display 0, video 1, audio 2): the columns of per-format arrays."""


class Slot(NamedTuple):
    """One entry of :data:`REGISTRY`.

    ``field`` is the :data:`FIELDS` name (or ``"scratch"``) that owns it: an agent may
    change it only if it declares that field in ``writes``. ``dtype`` and ``shape`` (a
    tuple of dimension names, see :class:`Context`, or ints) describe an array; both are
    None for a per-request Python value. ``fill`` is an array's initial value.
    ``consumable``: an agent that reads the field may also use it up (the auction
    decrements ``avail`` as impressions are won). ``packed``: a request bitset, a view
    of one shared buffer so that a reset is one fill.
    """

    field: str
    dtype: str | None = None
    shape: tuple[str | int, ...] | None = None
    fill: float = 0
    consumable: bool = False
    packed: bool = False


def _a(field: str, dtype: str, *shape: str | int, fill: float = 0, **kw: bool) -> Slot:
    return Slot(field, dtype, tuple(shape), fill, **kw)


def _v(field: str) -> Slot:
    return Slot(field)


REGISTRY: dict[str, Slot] = {
    # request and features: filled by the engine before any agent runs
    "request": _v("request"),
    "now": _v("features"),
    "n_imp": _v("features"),
    "request_key": _v("features"),
    "auction_type": _v("features"),  # the request's ``at``: 1 first, 2 second price
    "multislot": _v("features"),  # 0: one auction per impression; GSP 3 or VCG 4
    "placement": _v("features"),  # site or app id (or domain): the learners' key
    "req_devtype": _v("features"),
    "req_hour": _v("features"),
    "explore": _v("features"),  # the exploration rate of this request
    "deals_dirty": _v("features"),
    "source_key": _v("features"),  # stable key of the app or site (0: none)
    "content_key": _v("features"),  # stable key of the content categories (0: none)
    # Stable keys of the request's non-personal context, for learners that cross them
    # with ads: device type, local hour, app or site, content categories
    # (adcore.features.context_keys).
    "context_keys": _a("features", "uint64", CONTEXT_KEYS),
    "req_country": _a("features", "uint64", "country_words", packed=True),
    "req_content": _a("features", "uint64", "category_words", packed=True),
    "req_bcat": _a("features", "uint64", "category_words", packed=True),
    "req_badv": _a("features", "uint64", "domain_words", packed=True),
    "req_segments": _a("consent", "uint64", "segment_words", packed=True),
    # Each media object keeps its own limits: per-format arrays have a column per ad
    # format code (0 display, 1 video, 2 audio), read for ads of that format only.
    "imp_formats": _a("features", "int64", "imps"),
    "imp_mimes": _a("features", "uint64", "imps", "formats"),
    "imp_protocols": _a("features", "uint64", "imps", "formats"),  # 0: any
    "imp_mindur": _a("features", "float64", "imps", "formats"),
    "imp_maxdur": _a("features", "float64", "imps", "formats", fill=np.inf),
    "imp_sizes": _a("features", "int32", "imps", "sizes", 2),  # banner only
    "imp_nsizes": _a("features", "int32", "imps"),
    "imp_private": _a("features", "uint8", "imps"),
    "imp_currency_ok": _a("features", "uint8", "imps"),
    "imp_deals": _a("features", "uint64", "imps", "deal_words"),
    "imp_deal_floor": _a("features", "float64", "imps", "deal_bits"),
    "imp_mech": _a("features", "int64", "imps", fill=2),  # 1 first, 2 second price
    "imp_slot": _a("features", "int64", "imps"),  # placement slot of the learners
    "imp_pod": _a("features", "uint8", "imps"),
    "imp_poddur": _a("features", "float64", "imps"),
    "imp_maxseq": _a("features", "int64", "imps"),
    "imp_cpmps": _a("features", "float64", "imps"),  # mincpmpersec
    "imp_dedupe": _a("features", "uint8", "imps"),  # bit 1 adomain, bit 2 category
    "slot_weight": _a("features", "float64", "imps", fill=1),  # set from the config
    "draws": _a("features", "float64", "imps", 2),  # exploration draws
    # consent
    "activities": _v("consent"),  # adcore.consent.Activities of the request
    "personalise": _v("consent"),
    "consent_reasons": _v("consent"),
    "user_key": _v("consent"),
    # fraud
    "fraud_score": _v("fraud"),
    "fraud_flags": _v("fraud"),
    "bid_factor": _a("fraud", "float64", 1, fill=1),  # the fraud discount of bids
    # interest
    "tokens": _a("interest", "int32", "tokens"),
    "n_tokens": _v("interest"),
    "interest": _a("interest", "float32", "dim"),
    "has_interest": _v("interest"),
    "focus": _v("interest"),
    # vetoes
    "reason": _a("reason", "uint8", "imps", "ads"),
    "camp_code": _a("reason", "uint8", "campaigns"),
    "freq_blocked": _a("reason", "uint8", "campaigns"),
    # floors: the impression's (raised by learned reserves) and each ad's
    "imp_floor": _a("floor", "float64", "imps"),
    "imp_soft": _a("floor", "float64", "imps"),  # soft floor (0: none)
    "floor": _a("floor", "float64", "imps", "ads"),
    "creative": _a("creative", "int32", "imps", "ads", fill=-1),
    # The rule a learning creative agent applied to the whole request (-1: none) and the
    # probability it had of choosing it (adcore._kernels.creative RULE_*).
    "creative_rule": _v("creative"),
    "creative_propensity": _v("creative"),
    "score": _a("score", "float64", "ads"),
    # The embedding match <ad, interest> of each scored ad, for learners that weigh it.
    "match": _a("score", "float64", "ads"),
    "value": _a("bid", "float64", "ads"),
    "bid": _a("bid", "float64", "ads"),
    "mult": _a("multiplier", "float64", "campaigns", fill=1),
    "avail": _a("multiplier", "int64", "campaigns", consumable=True),
    "cand": _a("candidates", "int64", "ads"),
    "n_cand": _v("candidates"),
    # winners
    "effective": _a("winners", "float64", "ads"),
    "won": _a("winners", "uint8", "ads"),
    "win_ad": _a("winners", "int32", "imps", fill=-1),
    "win_bid": _a("winners", "float64", "imps"),
    "win_price": _a("winners", "float64", "imps"),
    "win_micros": _a("winners", "int64", "imps"),
    "win_propensity": _a("winners", "float64", "imps"),
    "win_second": _a("winners", "float64", "imps"),
    "pod_ad": _a("winners", "int64", "imps", "pod", fill=-1),
    "pod_bid": _a("winners", "float64", "imps", "pod"),
    "pod_price": _a("winners", "float64", "imps", "pod"),
    "pod_micros": _a("winners", "int64", "imps", "pod"),
    "pod_n": _a("winners", "int64", "imps"),
    # How each pod was searched: nodes explored (fill and prices), the fill's gap to the
    # optimum (0 when exact), flags (bit 0: the fill ran out of its node budget, bit 1:
    # a price search did).
    "pod_nodes": _a("winners", "int64", "imps"),
    "pod_gap": _a("winners", "float64", "imps"),
    "pod_budgeted": _a("winners", "uint8", "imps"),
    # auction scratch: the candidates of one pod or position auction, gathered
    "g_idx": _a(SCRATCH, "int64", "ads"),
    "g_eff": _a(SCRATCH, "float64", "ads"),
    "g_floor": _a(SCRATCH, "float64", "ads"),
    "g_prio": _a(SCRATCH, "int64", "ads"),
    "g_key": _a(SCRATCH, "uint64", "ads"),
    "g_dur": _a(SCRATCH, "float64", "ads"),
    "g_groups": _a(SCRATCH, "uint64", "ads_or_1", "group_words"),
    "g_sel": _a(SCRATCH, "int64", "gather", fill=-1),
    "g_sel2": _a(SCRATCH, "int64", "gather", fill=-1),
    "g_price": _a(SCRATCH, "float64", "gather"),
    "g_work": _a(SCRATCH, "int64", "pod_work"),
    "g_stats": _a(SCRATCH, "float64", POD_STATS),
}
"""Everything a :class:`Context` holds per request, by attribute name."""

_INITIAL: dict[str, Any] = {
    "request": None,
    "now": 0.0,
    "n_imp": 0,
    "request_key": np.uint64(1),
    "auction_type": 2,
    "multislot": 0,
    "placement": "",
    "req_devtype": 0,
    "req_hour": -1,
    "source_key": 0,
    "content_key": 0,
    "explore": 0.0,
    "activities": None,
    "personalise": False,
    "user_key": np.uint64(0),
    "fraud_score": 0.0,
    "fraud_flags": (False, False, False, False, False, False),
    "n_tokens": 0,
    "has_interest": 0,
    "focus": 0,
    "n_cand": 0,
    "creative_rule": -1,
    "creative_propensity": 1.0,
}
"""Initial per-request values (``consent_reasons`` and ``deals_dirty`` are fresh lists)."""


class Context:
    """Preallocated working memory for one request at a time.

    Arrays are sized for the catalog ``snapshot`` and at most ``max_imps`` impressions;
    only the first ``n_imp`` rows of per-impression arrays are meaningful. Every
    attribute is declared in :data:`REGISTRY`; the dimension names of its shapes are
    ``imps`` (``max_imps``), ``ads``, ``campaigns``, ``dim`` (embedding dimension),
    ``formats``, ``sizes``, ``tokens``, ``pod`` (``max_pod``), the bitset widths
    ``*_words`` of the snapshot's vocabularies, ``deal_bits``, and the auction's
    gather sizes (``ads_or_1``, ``gather``, ``group_words``, ``pod_work``): see
    :attr:`dims`.
    """

    def __init__(self, snapshot: CatalogSnapshot, max_imps: int, max_pod: int = 8) -> None:
        n, nc = snapshot.n_ads, snapshot.n_campaigns
        self.snapshot = snapshot
        self.max_imps = max_imps
        self.max_pod = max_pod
        # Each compiled segment's arguments for this context (adcore._program).
        self.compiled_args: dict[Any, Any] = {}
        self.default_multislot = 0  # EngineConfig.multislot, set by the engine
        self.placement_slots = 0  # slots of the learners' tables (0: no learner needs them)
        group_words = (nc + 63) // 64 + snapshot.domains.words + snapshot.categories.words
        slots = max(max_imps, max_pod) + 1
        self.dims: dict[str, int] = {
            "imps": max_imps,
            "ads": n,
            "campaigns": nc,
            "dim": snapshot.dimension,
            "formats": N_FORMATS,
            "sizes": MAX_SIZES,
            "tokens": MAX_TOKENS,
            "pod": max_pod,
            "country_words": snapshot.countries.words,
            "category_words": snapshot.categories.words,
            "domain_words": snapshot.domains.words,
            "segment_words": snapshot.segments.words,
            "deal_words": snapshot.deals.words,
            "deal_bits": snapshot.deals.words * 64,
            "ads_or_1": max(n, 1),
            "gather": max(n, slots),
            "group_words": group_words,
            "pod_work": max(pod_work_size(n, max_pod, group_words), slots),
        }
        """The size of every dimension name used in :data:`REGISTRY`."""
        packed = [k for k, slot in REGISTRY.items() if slot.packed]
        # Request-level bitsets share one buffer so a reset is one fill.
        self._bits = np.zeros(sum(self.shape_of(k)[0] for k in packed), dtype=np.uint64)
        at = 0
        for name in packed:
            w = self.shape_of(name)[0]
            setattr(self, name, self._bits[at : at + w])
            at += w
        for name, slot in REGISTRY.items():
            if slot.dtype is None:
                setattr(self, name, _INITIAL.get(name))
            elif not slot.packed:
                setattr(self, name, np.full(self.shape_of(name), slot.fill, dtype=slot.dtype))
        self.consent_reasons: list[str] = []
        self.deals_dirty = [False] * max_imps

    def shape_of(self, name: str) -> tuple[int, ...]:
        """The shape of the registered array ``name`` in this context."""
        shape = REGISTRY[name].shape
        assert shape is not None, name
        return tuple(self.dims[d] if isinstance(d, str) else d for d in shape)

    if TYPE_CHECKING:  # the registered attributes, set from REGISTRY in __init__

        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

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
        self.creative_rule = -1
        self.creative_propensity = 1.0

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


def watch(ctx: Context) -> dict[str, Any]:
    """A copy of everything ``ctx`` holds per request (:data:`REGISTRY`), to compare
    after an agent ran (:func:`changed_outside`)."""
    out: dict[str, Any] = {}
    for name, slot in REGISTRY.items():
        v = getattr(ctx, name)
        out[name] = v.copy() if slot.dtype is not None else _frozen(v)
    return out


def _frozen(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def changed_outside(
    ctx: Context, before: dict[str, Any], reads: frozenset[str], writes: frozenset[str]
) -> list[str]:
    """What an agent declaring ``reads`` and ``writes`` changed that it may not: each
    registered array or value that differs from ``before`` (:func:`watch`) and belongs
    to a field outside ``writes`` (scratch, and a consumable array of a field in
    ``reads``, are allowed), and each array whose shape or dtype is not the
    registry's (a replaced array). Empty when the agent kept its contract."""
    bad = []
    for name, slot in REGISTRY.items():
        now = getattr(ctx, name)
        if slot.dtype is not None:
            if (
                type(now) is not np.ndarray
                or now.dtype != np.dtype(slot.dtype)
                or now.shape != ctx.shape_of(name)
            ):
                bad.append(f"{name} (replaced: expected {slot.dtype} {ctx.shape_of(name)})")
                continue
        allowed = (
            slot.field in writes
            or slot.field == SCRATCH
            or (slot.consumable and slot.field in reads)
        )
        if allowed:
            continue
        if slot.dtype is not None:
            if not np.array_equal(now, before[name], equal_nan=True):
                bad.append(name)
        elif _frozen(now) is not before[name] and _frozen(now) != before[name]:
            bad.append(name)
    return bad
