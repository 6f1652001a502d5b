"""Engine configuration: one frozen Struct, validated when an Engine is built."""

from __future__ import annotations

import math

import msgspec

from .errors import InvalidConfig
from .money import CURRENCIES

__all__ = ["DEFAULT_BOT_PATTERNS", "EngineConfig"]

DEFAULT_BOT_PATTERNS: tuple[str, ...] = (
    "bot",
    "crawler",
    "spider",
    "slurp",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "headlesschrome",
    "phantomjs",
    "scrapy",
    "httpclient",
    "go-http-client",
    "java/",
    "okhttp",
    "facebookexternalhit",
    "preview",
)
"""Case-insensitive substrings of user agents treated as known bots and crawlers."""


class EngineConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How an :class:`~adcore.Engine` decides. Every field has a production default.

    Parameters
    ----------
    max_imps : int
        The most impressions one request may carry (context arrays are sized for it).
    latency_budget_us : float
        Per-request budget in microseconds. When running an optional agent (relevance,
        creative) would exceed it, the agent's safe fallback runs instead. Skips depend on
        wall-clock time; ``float("inf")`` disables them, which reproducible runs (replays,
        simulations, A/B comparisons) need.
    trace : bool
        Attach a :class:`~adcore.decision.Trace` to every decision (slower).
    explore : float
        Epsilon of epsilon-greedy exploration in the auction (0 = always the best bid).
    seed : int
        Seed of the engine's random draws (exploration), in [0, 2**63).
    relevance_scale : float
        Weight of the embedding match in the predicted action log-odds.
    prior_strength : float
        How many impressions of evidence an ad's prior is worth when learning from
        feedback.
    pacing_gain, pacing_min_multiplier : float
        PID pacing's proportional gain and lowest multiplier: the multiplier is
        ``clip(1 + gain * e + pacing_ki * integral(e) + pacing_kd * de/dt, min, ceiling)``
        with ``e`` = planned minus committed fraction of the daily budget (see
        :class:`~adcore.catalog.Pacing` and ``docs/pacing.md``).
    pacing_max_multiplier : float
        The highest multiplier a campaign behind plan may bid at to catch up (PID and
        dual pacing), from 1 to 1000. The default, 1, keeps pacing from ever raising a
        bid; above it, each campaign's own ceiling is lower when its ``max_bid``
        requires: the multiplier never takes a bid its strategy produces above
        ``Campaign.max_bid`` (``docs/pacing.md``, "Catching up").
    pacing_curve : tuple of 24 floats or None
        Relative traffic per UTC hour, the shape of the planned spend curve; None uses
        the traffic forecast learned from observed requests (flat until a day is seen).
    pacing_interval : float
        Seconds between updates of the pacing controllers' state (dual multipliers, PID
        integral and derivative, throttling probabilities).
    pacing_ki, pacing_kd : float
        PID pacing's integral gain (per hour) and derivative gain (hours).
    dual_step : float
        Step size of dual pacing's subgradient update of ``mu`` (bid = value / (1 + mu)).
    dual_max : float
        Upper bound of ``mu``.
    throttle_min : float
        Lowest participation probability of a throttled campaign.
    throttle_smoothing : float
        Weight of the newest interval in throttling's spend-per-request estimate.
    forecast_bins : int
        Bins of the UTC day in the learned traffic forecast (divides 86400).
    forecast_alpha : float
        Weight of the newest day in the traffic forecast.
    multislot : str or None
        How a request with several impressions is sold: None, one auction per impression
        in order; ``"gsp"`` or ``"vcg"``, one position auction over all of them. A request
        may choose with ``ext.adcore.auction``.
    slot_weights : tuple of float
        Position weights of position auctions (non-increasing, > 0); positions past the
        list take its last weight (all weigh 1 when it is empty), so weights never rise
        and every price stays between the floor and the bid.
    max_pod : int
        The most ads in one ad pod.
    pod_node_budget : int
        The most nodes one ad-pod search explores (the fill, and each winner's VCG
        price search): within it the pod is exact, beyond it the best pod found or a
        greedy one, with the optimality gap in the trace (see ``docs/auctions.md``, "Pod
        search bounds"). From 1 to 2**31 - 1.
    pod_request_node_budget : int
        The most nodes the pod searches of one request explore together: each search
        gets at most an even share of what is left, and at least one node (then it is
        the greedy fill). Bounds a request of many pods; from 1 to 2**31 - 1.
    reserve : str
        Dynamic reserve prices learned per placement from observed bids: ``"off"``,
        ``"soft"`` (a soft floor: bids below it pay their own bid) or ``"hard"`` (bids
        below it lose).
    reserve_decay, reserve_min_auctions : float
        Per-auction decay of the reserve statistics, and the decayed number of auctions
        a placement needs before its reserve is used.
    bid_shading : bool
        Shade first-price bids by the win-rate curve learned per placement.
    shading_decay, shading_min_bids : float
        Per-bid decay of the win-rate statistics, and the decayed number of bids a
        placement needs before its bids are shaded.
    learner_slots : int
        Placements are hashed into this many slots of the reserve and shading tables.
    vendor_id : int or None
        The deployment's IAB Global Vendor List id, whose consent the privacy agent looks
        for in TCF strings; None: no GDPR request is personalised.
    fraud_block_threshold : float
        Requests with a fraud score at or above it are not bid on.
    fraud_discount_threshold : float
        Requests with a score from it up to the block threshold are bid on at
        ``1 - score`` of every bid (a value above the block threshold: never). With the
        defaults, data-center traffic (score 0.7) is bid on at 30 %; a request without
        a user agent (0.5) at full price.
    fraud_rate_limit, fraud_rate_window : int, float
        More than ``limit`` requests per device/IP in ``window`` seconds raise the score.
    fraud_datacenter_score : float
        The fraud score of a request from a data-center IP address (0 turns the check
        off); below ``fraud_block_threshold`` it is recorded, at or above it the request
        gets no bid.
    fraud_impossible_ip_score : float
        The fraud score of a request whose IP address no device can send from
        (malformed, loopback, unspecified, link-local, multicast).
    datacenter_cidrs : tuple of str or None
        The data-center ranges (CIDR blocks); None uses the built-in list of public
        cloud blocks (:meth:`adcore.ivt.IpRanges.default`).
    click_min_seconds, click_max_ctr, click_min_impressions, click_ctr_window : float
        Click validation (:class:`adcore.ivt.ClickValidator`): a click without an
        impression, sooner than ``click_min_seconds`` after it, or from a source whose
        click-through over the window exceeds ``click_max_ctr`` (after
        ``click_min_impressions``) is invalid: counted, published, never learned from.
    bot_patterns : tuple of str
        Case-insensitive user-agent substrings of known bots (each non-empty, at most 256
        characters; matched against a user agent's first 1,024 characters).
    counter_slots : int
        Slots of the hashed counter tables (frequency caps, request rates); memory is
        bounded by it. A power of two, from 64 to 2**24.
    hold_ttl : float
        Seconds a won auction's budget hold waits for its impression before returning
        (expiry is checked at most once a second of engine time).
    dedup_retention : float
        Seconds an impression id is remembered, to ignore duplicate reports.
    max_pending : int
        The most decisions awaiting feedback that are remembered; beyond it the oldest
        are forgotten (their holds returned).
    exchange_rates : dict of str to float
        Units of the catalog currency per unit of another currency (keyed by ISO 4217
        code), for floors given in it. A floor in a currency without a rate makes the
        impression ineligible.
    max_request_bytes : int
        Larger raw requests are rejected with InvalidRequest (64 KiB by default, about
        ten times a large real request; the cost of deciding a request grows with its
        size, and this bounds it: docs/engine.md gives the measured worst case).
    max_request_depth : int
        Raw requests whose arrays and objects nest deeper are rejected with
        InvalidRequest (found in one linear pass before decoding; OpenRTB's own
        structure needs 7 levels, the rest is room for ``ext`` objects).
    trusted_structs : bool
        Take :class:`~adcore.openrtb.BidRequest` Structs as well-typed: skip the full
        type check (a MessagePack round trip through the validating decoder, about 3 µs)
        and run only :func:`~adcore.openrtb.check_request`. Only for Structs built by
        your own code from typed values: a wrongly typed field then fails inside an agent
        instead of raising InvalidRequest up front.
    warmup : bool
        Compile (or load from cache) every kernel when the engine is built.
    debug : bool
        Check every agent's contract on every request: each agent runs alone (a
        compiled segment one step per call, as when tracing) and afterwards every context field
        of :data:`adcore.context.REGISTRY` it does not declare in ``writes`` must be
        unchanged and every array keep its shape and dtype, else
        :class:`~adcore.errors.ContractError` naming the agent and the fields. Many
        times slower: for developing agents, not for serving. Bounds-checked kernels are
        a separate switch, the environment variable ``ADCORE_BOUNDSCHECK=1`` set before
        adcore is imported (kernels then compile without the on-disk cache).
    """

    max_imps: int = 8
    latency_budget_us: float = 5000.0
    trace: bool = False
    explore: float = 0.0
    seed: int = 0
    relevance_scale: float = 2.0
    prior_strength: float = 200.0
    pacing_gain: float = 20.0
    pacing_min_multiplier: float = 0.0
    pacing_max_multiplier: float = 1.0
    pacing_curve: tuple[float, ...] | None = None
    pacing_interval: float = 60.0
    pacing_ki: float = 1.0
    pacing_kd: float = 0.0
    dual_step: float = 0.5
    dual_max: float = 20.0
    throttle_min: float = 0.0
    throttle_smoothing: float = 0.3
    forecast_bins: int = 24
    forecast_alpha: float = 0.3
    multislot: str | None = None
    slot_weights: tuple[float, ...] = ()
    max_pod: int = 8
    pod_node_budget: int = 64
    pod_request_node_budget: int = 1024
    reserve: str = "off"
    reserve_decay: float = 0.9995
    reserve_min_auctions: float = 500.0
    bid_shading: bool = False
    shading_decay: float = 0.9995
    shading_min_bids: float = 500.0
    learner_slots: int = 4096
    vendor_id: int | None = None
    fraud_block_threshold: float = 0.9
    fraud_discount_threshold: float = 0.7
    fraud_rate_limit: int = 600
    fraud_rate_window: float = 60.0
    bot_patterns: tuple[str, ...] = DEFAULT_BOT_PATTERNS
    fraud_datacenter_score: float = 0.7
    fraud_impossible_ip_score: float = 0.9
    datacenter_cidrs: tuple[str, ...] | None = None
    click_min_seconds: float = 1.0
    click_max_ctr: float = 0.2
    click_min_impressions: int = 50
    click_ctr_window: float = 3600.0
    counter_slots: int = 1 << 16
    hold_ttl: float = 900.0
    dedup_retention: float = 86400.0
    max_pending: int = 1_000_000
    exchange_rates: dict[str, float] = msgspec.field(default_factory=dict)
    max_request_bytes: int = 65_536
    max_request_depth: int = 32
    trusted_structs: bool = False
    warmup: bool = True
    debug: bool = False

    def validate(self) -> EngineConfig:
        """Check types and ranges; raise :class:`~adcore.errors.InvalidConfig` naming the
        field. Returns a type-checked copy."""
        try:
            cfg = msgspec.convert(msgspec.to_builtins(self), EngineConfig)
        except msgspec.ValidationError as exc:
            msg = str(exc)
            field = msg.split("$.", 1)[1].rstrip("`") if "$." in msg else None
            raise InvalidConfig(f"EngineConfig: {msg}", field) from None
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise InvalidConfig(f"EngineConfig: a value is not plain data: {exc}", None) from None
        checks: list[tuple[str, bool]] = [
            ("max_imps", 1 <= cfg.max_imps <= 64),
            ("latency_budget_us", cfg.latency_budget_us >= 0),
            ("explore", 0.0 <= cfg.explore < 1.0),
            ("relevance_scale", math.isfinite(cfg.relevance_scale)),
            ("prior_strength", 0 < cfg.prior_strength < math.inf),
            ("pacing_gain", 0 <= cfg.pacing_gain < math.inf),
            ("pacing_min_multiplier", 0.0 <= cfg.pacing_min_multiplier <= 1.0),
            ("pacing_max_multiplier", 1.0 <= cfg.pacing_max_multiplier <= 1000.0),
            (
                "pacing_curve",
                cfg.pacing_curve is None
                or (
                    len(cfg.pacing_curve) == 24
                    and all(w >= 0 and math.isfinite(w) for w in cfg.pacing_curve)
                    and sum(cfg.pacing_curve) > 0
                ),
            ),
            ("pacing_interval", 0.0 < cfg.pacing_interval < math.inf),
            ("pacing_ki", 0.0 <= cfg.pacing_ki < math.inf),
            ("pacing_kd", 0.0 <= cfg.pacing_kd < math.inf),
            ("dual_step", 0.0 < cfg.dual_step < math.inf),
            ("dual_max", 0.0 < cfg.dual_max < math.inf),
            ("throttle_min", 0.0 <= cfg.throttle_min <= 1.0),
            ("throttle_smoothing", 0.0 < cfg.throttle_smoothing <= 1.0),
            ("forecast_bins", 1 <= cfg.forecast_bins <= 1440 and 86400 % cfg.forecast_bins == 0),
            ("forecast_alpha", 0.0 < cfg.forecast_alpha <= 1.0),
            ("multislot", cfg.multislot in (None, "gsp", "vcg")),
            (
                "slot_weights",
                len(cfg.slot_weights) <= cfg.max_imps
                and all(0 < w < math.inf for w in cfg.slot_weights)
                and all(
                    a >= b for a, b in zip(cfg.slot_weights, cfg.slot_weights[1:], strict=False)
                ),
            ),
            ("max_pod", 1 <= cfg.max_pod <= 32),
            ("pod_node_budget", 1 <= cfg.pod_node_budget < 1 << 31),
            ("pod_request_node_budget", 1 <= cfg.pod_request_node_budget < 1 << 31),
            ("reserve", cfg.reserve in ("off", "soft", "hard")),
            ("reserve_decay", 0.0 < cfg.reserve_decay <= 1.0),
            ("reserve_min_auctions", cfg.reserve_min_auctions >= 0),
            ("shading_decay", 0.0 < cfg.shading_decay <= 1.0),
            ("shading_min_bids", cfg.shading_min_bids >= 0),
            ("learner_slots", 1 <= cfg.learner_slots <= 1 << 20),
            ("vendor_id", cfg.vendor_id is None or 1 <= cfg.vendor_id <= 65535),
            ("fraud_block_threshold", 0.0 < cfg.fraud_block_threshold <= 1.0),
            ("fraud_rate_limit", cfg.fraud_rate_limit >= 1),
            ("fraud_rate_window", cfg.fraud_rate_window > 0),
            ("fraud_datacenter_score", 0.0 <= cfg.fraud_datacenter_score <= 1.0),
            ("fraud_discount_threshold", 0.0 < cfg.fraud_discount_threshold <= 1.0),
            ("fraud_impossible_ip_score", 0.0 <= cfg.fraud_impossible_ip_score <= 1.0),
            ("click_min_seconds", 0.0 <= cfg.click_min_seconds < math.inf),
            ("click_max_ctr", 0.0 < cfg.click_max_ctr <= 1.0),
            ("click_min_impressions", cfg.click_min_impressions >= 1),
            ("click_ctr_window", 0.0 < cfg.click_ctr_window < math.inf),
            (
                "counter_slots",
                64 <= cfg.counter_slots <= 1 << 24
                and cfg.counter_slots & (cfg.counter_slots - 1) == 0,
            ),
            ("hold_ttl", cfg.hold_ttl > 0),
            ("dedup_retention", cfg.dedup_retention > 0),
            ("max_pending", cfg.max_pending >= 1),
            (
                "exchange_rates",
                all(r > 0 and math.isfinite(r) for r in cfg.exchange_rates.values()),
            ),
            ("max_request_bytes", 1 <= cfg.max_request_bytes <= 1 << 30),
            ("max_request_depth", 8 <= cfg.max_request_depth <= 512),
            ("seed", 0 <= cfg.seed < 1 << 63),
            ("bot_patterns", all(p and len(p) <= 256 for p in cfg.bot_patterns)),
            (
                "exchange_rates",
                all(code in CURRENCIES for code in cfg.exchange_rates),
            ),
        ]
        # Every other integer is used as a 32-bit count or size: larger values cannot
        # work (and must not reach an array or a compiled kernel).
        for f in msgspec.structs.fields(cfg):
            v = getattr(cfg, f.name)
            if f.name != "seed" and type(v) is int and not -(1 << 31) < v < 1 << 31:
                checks.insert(0, (f.name, False))
            if type(v) is float and math.isnan(v):
                checks.insert(0, (f.name, False))
        if cfg.datacenter_cidrs is not None:
            from .errors import InvalidInput
            from .ivt import IpRanges

            try:
                IpRanges(cfg.datacenter_cidrs)
            except InvalidInput as exc:
                raise InvalidConfig(
                    f"EngineConfig.datacenter_cidrs: {exc}", "datacenter_cidrs"
                ) from None
        for field, ok in checks:
            if not ok:
                raise InvalidConfig(
                    f"EngineConfig.{field} is out of range: {getattr(cfg, field)!r}", field
                )
        return cfg
