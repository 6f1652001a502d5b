"""Campaigns and ads, compiled into an immutable struct-of-arrays snapshot for kernels.

A :class:`Catalog` is built from :class:`Campaign` and :class:`Ad` Structs. Building it
validates everything (raising :class:`~adcore.errors.InvalidCatalog` naming the field)
and compiles a :class:`CatalogSnapshot`: read-only NumPy arrays indexed by ad and by
campaign, plus the vocabularies that turn request strings (categories, domains, MIME
types, countries, segments, deals, context signals) into bitsets. The engine swaps
snapshots atomically (:meth:`adcore.Engine.update_catalog`).

Budgets are integer micro-units (:mod:`adcore.money`); bids and max bids are CPM.

Examples
--------
>>> from adcore import Ad, Campaign, Catalog
>>> c = Campaign(id="c1", advertiser="Acme", daily_budget=50_000_000, bid=2.0, max_bid=4.0)
>>> a = Ad(id="a1", campaign="c1", format="audio", duration=30.0,
...        mimes=("audio/mpeg",), embedding=(0.1, 0.2, 0.3, 0.4))
>>> cat = Catalog([c], [a])
>>> cat.snapshot.n_ads, cat.snapshot.dimension
(1, 4)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from ._checks import finite
from ._snapshot import ACTION_CLICK as ACTION_CLICK
from ._snapshot import ACTION_COMPLETE as ACTION_COMPLETE
from ._snapshot import UNKNOWN_MIME as UNKNOWN_MIME
from ._snapshot import CatalogSnapshot
from ._vocabulary import Vocabulary
from ._vocabulary import category_closure as category_closure
from .errors import InvalidCatalog
from .money import CURRENCIES, MAX_MICROS

__all__ = [
    "Ad",
    "BidStrategy",
    "Campaign",
    "Catalog",
    "CatalogSnapshot",
    "Creative",
    "AdFormat",
    "Pacing",
    "FrequencyCap",
    "Targeting",
    "Vocabulary",
]

# Defined in private modules (adcore._snapshot, adcore._vocabulary), these classes are
# adcore.catalog's: their reprs and pickles name this module, which re-exports them.
CatalogSnapshot.__module__ = Vocabulary.__module__ = __name__


class AdFormat(enum.StrEnum):
    """The kind of ad, matched against the impression's banner/video/audio object."""

    DISPLAY = "display"
    VIDEO = "video"
    AUDIO = "audio"


_FORMAT_CODE = {AdFormat.DISPLAY: 0, AdFormat.VIDEO: 1, AdFormat.AUDIO: 2}
_MTYPE = {AdFormat.DISPLAY: 1, AdFormat.VIDEO: 2, AdFormat.AUDIO: 3}  # OpenRTB markup types


class BidStrategy(enum.StrEnum):
    """How a campaign turns a predicted action probability into a CPM bid.

    Each strategy values the action it pays for, and the relevance agent predicts that
    action for the campaign's ads (``p``):

    - ``fixed_cpm``: bid ``Campaign.bid`` CPM (``p`` is the ad's primary action: a click
      for display, a completion for audio and video; it only breaks ties).
    - ``target_cpc``: ``Campaign.bid`` is the cost per click aimed at; ``p`` is the
      probability of a click, whatever the format: bid p * CPC * 1000.
    - ``target_cpa``: ``Campaign.bid`` is the cost per acquisition; ``p`` is the
      probability of a click, and ``conversion_rate`` the conversions per click:
      bid p * conversion_rate * CPA * 1000.
    - ``max_value``: ``Campaign.bid`` is the value to the advertiser of the ad's primary
      action (a click for display, a completion for audio and video); ``p`` is that
      action's probability: bid its expected value p * value * 1000.

    Every strategy's bid is capped at ``Campaign.max_bid``.
    """

    FIXED_CPM = "fixed_cpm"
    TARGET_CPC = "target_cpc"
    TARGET_CPA = "target_cpa"
    MAX_VALUE = "max_value"


_STRATEGY_CODE = {
    BidStrategy.FIXED_CPM: 0,
    BidStrategy.TARGET_CPC: 1,
    BidStrategy.TARGET_CPA: 2,
    BidStrategy.MAX_VALUE: 3,
}


class Pacing(enum.StrEnum):
    """How a campaign spreads its daily budget over the day (the pacing agent).

    - ``pid`` (default): the bid multiplier follows a PID controller of the committed
      share of the daily budget against the planned spend curve (proportional term on
      every request; integral and derivative terms updated every
      ``EngineConfig.pacing_interval``).
    - ``dual``: adaptive dual pacing (Balseiro & Gur, 2019): bid ``value / (1 + mu)``,
      ``mu`` raised when spend outruns the target rate and lowered when it lags.
    - ``throttle``: bids in full, but takes part in each request only with a probability
      set from the remaining budget and the traffic forecast.
    - ``asap``: no pacing: bids in full until the budget is gone.

    The planned spend curve is ``EngineConfig.pacing_curve`` or, without one, the
    traffic forecast the pacing agent learns from the requests it sees.
    """

    PID = "pid"
    DUAL = "dual"
    THROTTLE = "throttle"
    ASAP = "asap"


_PACING_CODE = {Pacing.ASAP: 0, Pacing.DUAL: 1, Pacing.PID: 2, Pacing.THROTTLE: 3}


class Targeting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who and where a campaign may serve. An empty tuple means "any".

    Parameters
    ----------
    countries : tuple of str
        ISO 3166-1 alpha-3 codes, as in OpenRTB ``device.geo.country``.
    device_types : tuple of int
        OpenRTB device types (1 mobile/tablet ... 8 set-top box).
    hours : tuple of int
        Dayparts: hours of the day 0-23, in the device's local time when the request
        gives ``device.geo.utcoffset``, else UTC.
    content_categories : tuple of str
        Content categories the page or stream must have (``IAB2`` also matches ``IAB2-1``).
    segments : tuple of str
        Audience segment ids (``user.data[].segment[].id``). Segment targeting uses
        personal data: such a campaign does not serve without consent to personalise.
    """

    countries: tuple[str, ...] = ()
    device_types: tuple[int, ...] = ()
    hours: tuple[int, ...] = ()
    content_categories: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()


class FrequencyCap(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """At most ``impressions`` per user per ``window`` seconds (fixed windows that start at
    the user's first impression of the campaign)."""

    impressions: int
    window: float


class Campaign(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An advertiser's campaign: budget, flight, bidding and targeting.

    Parameters
    ----------
    id, advertiser : str
    daily_budget : int
        Micro-units per UTC day.
    total_budget : int or None
        Lifetime cap in micro-units; None for none.
    start, end : float or None
        Flight, in Unix seconds (``start`` inclusive, ``end`` exclusive).
    strategy : BidStrategy
    bid : float
        The strategy's amount (see :class:`BidStrategy`).
    max_bid : float
        Cap on every bid, CPM.
    conversion_rate : float
        Expected conversions per action, for ``target_cpa``.
    targeting : Targeting
    frequency_cap : FrequencyCap or None
    excluded_categories : tuple of str
        Content categories the campaign must never appear next to.
    excluded_keywords : tuple of str
        Words (case-insensitive) that keep the campaign away from content whose title
        contains them (``site.content.title`` / ``app.content.title``).
    priority : int
        Higher priority campaigns win over lower ones whatever the bids (like
        direct-sold line items over programmatic).
    deals : tuple of str
        Private-marketplace deal ids the campaign may buy (``imp.pmp.deals[].id``).
    pacing : Pacing
        How its daily budget is spread over the day.
    """

    id: str
    advertiser: str
    daily_budget: int
    total_budget: int | None = None
    start: float | None = None
    end: float | None = None
    strategy: BidStrategy = BidStrategy.FIXED_CPM
    bid: float = 1.0
    max_bid: float = 10.0
    conversion_rate: float = 0.05
    targeting: Targeting = msgspec.field(default_factory=Targeting)
    frequency_cap: FrequencyCap | None = None
    excluded_categories: tuple[str, ...] = ()
    excluded_keywords: tuple[str, ...] = ()
    priority: int = 0
    deals: tuple[str, ...] = ()
    pacing: Pacing = Pacing.PID


class Creative(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One variant (cut) of an ad, e.g. its 15 s and 30 s versions.

    ``mimes`` empty means the ad's MIME types, ``protocols`` empty the ad's protocols.
    """

    id: str
    duration: float = 0.0
    mimes: tuple[str, ...] = ()
    protocols: tuple[int, ...] = ()


class Ad(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An ad of a campaign.

    Parameters
    ----------
    id, campaign : str
    format : AdFormat
    embedding : tuple of float
        The ad's vector in the catalog's embedding space (fixed dimension per catalog).
    adomain : tuple of str
        Advertiser domains (for ``badv`` and the response).
    categories : tuple of str
        IAB content categories of the ad (for ``bcat`` and the response).
    duration : float
        Seconds, for audio and video.
    mimes : tuple of str
    protocols : tuple of int
        The OpenRTB protocols (AdCOM "Creative Subtypes - Audio/Video": 2 VAST 2.0,
        7 VAST 4.0, 9 DAAST 1.0, ...) the ad's markup can be served as, each 1-63. Matched
        against the impression's ``video.protocols`` or ``audio.protocols``; empty means
        not declared, and then not checked.
    sizes : tuple of (int, int)
        Width and height the ad can render at (display).
    variants : tuple of Creative
        Cuts of the ad; empty means one creative with the ad's own id, duration and mimes.
    bundle : str or None
        The app the ad advertises (its store bundle id), for the request's ``bapp``.
    base_rate : float
        Prior probability of the action the ad is bought for, refined by the relevance
        agent from the embedding and from feedback: a click when its campaign pays per
        click or acquisition (``target_cpc``, ``target_cpa``) or the ad is display; a
        completion for an audio or video ad of a ``fixed_cpm`` or ``max_value``
        campaign (see :class:`BidStrategy`).
    """

    id: str
    campaign: str
    format: AdFormat
    embedding: tuple[float, ...]
    adomain: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    duration: float = 0.0
    mimes: tuple[str, ...] = ()
    protocols: tuple[int, ...] = ()
    sizes: tuple[tuple[int, int], ...] = ()
    variants: tuple[Creative, ...] = ()
    base_rate: float = 0.01
    bundle: str | None = None


def _creatives(ad: Ad) -> tuple[Creative, ...]:
    """The creatives ``ad`` serves: its variants, each with the ad's MIME types and
    protocols where it declares none, or, without variants, the ad itself as one
    creative (see :class:`Creative`)."""
    if not ad.variants:
        return (Creative(id=ad.id, duration=ad.duration, mimes=ad.mimes, protocols=ad.protocols),)
    return tuple(
        Creative(
            id=v.id,
            duration=v.duration,
            mimes=v.mimes or ad.mimes,
            protocols=v.protocols or ad.protocols,
        )
        for v in ad.variants
    )


MAX_PROTOCOL = 63
"""The highest protocol number a catalog can declare (bit ``p`` of a 64-bit word; bit 0
marks protocols outside the range, which no creative has)."""


class Catalog:
    """Campaigns and ads, validated and compiled.

    Parameters
    ----------
    campaigns : iterable of Campaign
    ads : iterable of Ad
    dimension : int, optional
        Embedding dimension; inferred from the first ad when omitted (required for a
        catalog without ads).
    signals : mapping of str to sequence of float, optional
        Vectors of context signals in the same embedding space, from which the audience
        agent builds the listener's interest: ``"cat:IAB2"`` (content category),
        ``"genre:rock"`` (``content.genre``), ``"seg:<id>"`` (audience segment, used only
        with consent), ``"kw:<keyword>"`` (site/app/content keywords).
    currency : str
        The currency of budgets and bids (ISO 4217), "USD" by default.

    Raises
    ------
    InvalidCatalog
        Duplicate ids, negative budgets or bids, an embedding of the wrong dimension or
        with non-finite values, an ad for an unknown campaign, an empty flight, a bad
        frequency cap, targeting values out of range, or fields of the wrong type. The
        error's ``field`` names the offending field.
    """

    def __init__(
        self,
        campaigns: Iterable[Campaign],
        ads: Iterable[Ad],
        *,
        dimension: int | None = None,
        signals: Mapping[str, Sequence[float]] | None = None,
        currency: str = "USD",
    ) -> None:
        camps = [_checked(c, Campaign, f"campaigns[{i}]") for i, c in enumerate(campaigns)]
        ad_list = [_checked(a, Ad, f"ads[{i}]") for i, a in enumerate(ads)]
        if dimension is None:
            if not ad_list:
                raise InvalidCatalog(
                    "a catalog without ads needs an explicit dimension", "dimension"
                )
            dimension = len(ad_list[0].embedding)
        if type(dimension) is not int or not 1 <= dimension <= 4096:
            raise InvalidCatalog(
                f"dimension must be an integer in [1, 4096], got {dimension!r}", "dimension"
            )
        if not isinstance(currency, str) or currency not in CURRENCIES:
            raise InvalidCatalog(
                f"currency must be an ISO 4217 code such as 'USD', got {currency!r}", "currency"
            )
        if not isinstance(signals, Mapping | None):
            raise InvalidCatalog("signals must be a mapping of names to vectors", "signals")
        sig = dict(signals or {})
        _validate(camps, ad_list, dimension, sig)
        self.campaigns: tuple[Campaign, ...] = tuple(camps)
        self.ads: tuple[Ad, ...] = tuple(ad_list)
        self.dimension = dimension
        self.currency = currency
        self.signals = {k: tuple(float(x) for x in v) for k, v in sig.items()}
        self.snapshot = CatalogSnapshot(camps, ad_list, dimension, sig, currency)

    def __repr__(self) -> str:
        return (
            f"Catalog({len(self.campaigns)} campaigns, {len(self.ads)} ads, "
            f"dimension={self.dimension}, currency={self.currency!r})"
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        """Build a catalog from plain data: ``{"campaigns": [...], "ads": [...],
        "dimension": 32, "signals": {...}, "currency": "USD"}`` (as decoded from JSON)."""
        if not isinstance(data, Mapping):
            raise InvalidCatalog("a catalog must be a mapping", None)
        unknown = set(data) - {"campaigns", "ads", "dimension", "signals", "currency"}
        if unknown:
            raise InvalidCatalog(f"unknown catalog keys: {sorted(unknown)}", sorted(unknown)[0])
        camps = [
            _convert(c, Campaign, f"campaigns[{i}]")
            for i, c in enumerate(_list(data.get("campaigns", []), "campaigns"))
        ]
        ads = [
            _convert(a, Ad, f"ads[{i}]") for i, a in enumerate(_list(data.get("ads", []), "ads"))
        ]
        return cls(
            camps,
            ads,
            dimension=data.get("dimension"),
            signals=data.get("signals"),
            currency=data.get("currency", "USD"),
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> Catalog:
        """Build a catalog from a JSON document of the :meth:`from_dict` shape."""
        try:
            raw = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise InvalidCatalog(f"catalog JSON is malformed: {exc}", None) from None
        except (TypeError, UnicodeError) as exc:  # not bytes or str; a lone surrogate
            raise InvalidCatalog(f"catalog JSON is unreadable: {exc}", None) from None
        except RecursionError:
            raise InvalidCatalog("catalog JSON nests too deeply", None) from None
        return cls.from_dict(raw)

    def to_dict(self) -> dict[str, Any]:
        """The catalog as plain data, the inverse of :meth:`from_dict`."""
        return {
            "campaigns": msgspec.to_builtins(self.campaigns),
            "ads": msgspec.to_builtins(self.ads),
            "dimension": self.dimension,
            "signals": {k: list(v) for k, v in self.signals.items()},
            "currency": self.currency,
        }


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidCatalog(f"{field} must be a list", field)
    return list(value)


def _path(prefix: str, exc: msgspec.ValidationError) -> tuple[str, str]:
    msg = str(exc)
    field = prefix
    if " - at `$" in msg:
        msg, _, at = msg.partition(" - at `$")
        field = prefix + at.rstrip("`")
    if msg.startswith("Object missing required field `"):
        field = f"{field}.{msg.split('`')[1]}"
    return msg, field


def _convert(value: Any, kind: type[Any], prefix: str) -> Any:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        msg, field = _path(prefix, exc)
        raise InvalidCatalog(f"{field}: {msg}", field) from None


def _checked(value: Any, kind: type[Any], prefix: str) -> Any:
    if not isinstance(value, kind):
        raise InvalidCatalog(
            f"{prefix} must be a {kind.__name__}, got {type(value).__name__}", prefix
        )
    # Struct constructors do not check types; a round trip through builtins does.
    try:
        plain = msgspec.to_builtins(value)
    except TypeError as exc:
        raise InvalidCatalog(f"{prefix}: {exc}", prefix) from None
    return _convert(plain, kind, prefix)


def _finite(x: float) -> bool:
    return math.isfinite(x)


_INT32 = 2**31

MAX_COORDINATE = 1e6
"""The largest magnitude of an embedding or signal coordinate (vectors are stored as
float32, and their dot products must stay finite)."""

MAX_BID = 1e9
"""The largest bid a campaign may state, CPM (a price in micro-units stays exact)."""


def _validate(
    camps: list[Campaign], ads: list[Ad], dim: int, signals: dict[str, Sequence[float]]
) -> None:
    seen: dict[str, int] = {}
    for i, c in enumerate(camps):
        p = f"campaigns[{i}]"
        if c.id in seen:
            raise InvalidCatalog(
                f"duplicate campaign id {c.id!r} (also campaigns[{seen[c.id]}])", f"{p}.id"
            )
        seen[c.id] = i
        if not 0 <= c.daily_budget <= MAX_MICROS:
            raise InvalidCatalog(
                f"{p}.daily_budget must be in [0, {MAX_MICROS}] micro-units, got {c.daily_budget}",
                f"{p}.daily_budget",
            )
        if c.total_budget is not None and not 0 <= c.total_budget <= MAX_MICROS:
            raise InvalidCatalog(
                f"{p}.total_budget must be in [0, {MAX_MICROS}] micro-units, got {c.total_budget}",
                f"{p}.total_budget",
            )
        if not -_INT32 <= c.priority < _INT32:
            raise InvalidCatalog(
                f"{p}.priority must be a 32-bit integer, got {c.priority}", f"{p}.priority"
            )
        for name in ("bid", "max_bid"):
            v = getattr(c, name)
            if not _finite(v) or v < 0 or v > MAX_BID:
                raise InvalidCatalog(
                    f"{p}.{name} must be in [0, {MAX_BID:g}], got {v}", f"{p}.{name}"
                )
        if not (0.0 <= c.conversion_rate <= 1.0):
            raise InvalidCatalog(f"{p}.conversion_rate must be in [0, 1]", f"{p}.conversion_rate")
        if c.start is not None and c.end is not None and not c.start < c.end:
            raise InvalidCatalog(f"{p}: the flight ends before it starts", f"{p}.end")
        for name in ("start", "end"):
            v = getattr(c, name)
            if v is not None and math.isnan(v):
                raise InvalidCatalog(f"{p}.{name} is NaN", f"{p}.{name}")
        if c.frequency_cap is not None:
            if not 1 <= c.frequency_cap.impressions < _INT32:
                raise InvalidCatalog(
                    f"{p}.frequency_cap.impressions must be in [1, 2**31)",
                    f"{p}.frequency_cap.impressions",
                )
            if not (c.frequency_cap.window > 0 and _finite(c.frequency_cap.window)):
                raise InvalidCatalog(
                    f"{p}.frequency_cap.window must be > 0 seconds", f"{p}.frequency_cap.window"
                )
        for t in c.targeting.device_types:
            if not 1 <= t <= 15:
                raise InvalidCatalog(
                    f"{p}.targeting.device_types: {t} is not an OpenRTB device type",
                    f"{p}.targeting.device_types",
                )
        for h in c.targeting.hours:
            if not 0 <= h <= 23:
                raise InvalidCatalog(
                    f"{p}.targeting.hours: {h} is not an hour 0-23", f"{p}.targeting.hours"
                )
    ad_seen: dict[str, int] = {}
    for i, a in enumerate(ads):
        p = f"ads[{i}]"
        if a.id in ad_seen:
            raise InvalidCatalog(f"duplicate ad id {a.id!r} (also ads[{ad_seen[a.id]}])", f"{p}.id")
        ad_seen[a.id] = i
        if a.campaign not in seen:
            raise InvalidCatalog(f"{p} belongs to unknown campaign {a.campaign!r}", f"{p}.campaign")
        if len(a.embedding) != dim:
            raise InvalidCatalog(
                f"{p}.embedding has dimension {len(a.embedding)}, the catalog has {dim}",
                f"{p}.embedding",
            )
        if not all(_finite(x) and abs(x) <= MAX_COORDINATE for x in a.embedding):
            raise InvalidCatalog(
                f"{p}.embedding values must be finite and within ±{MAX_COORDINATE:g}",
                f"{p}.embedding",
            )
        if not (0.0 < a.base_rate < 1.0):
            raise InvalidCatalog(f"{p}.base_rate must be in (0, 1)", f"{p}.base_rate")
        if not (_finite(a.duration) and a.duration >= 0):
            raise InvalidCatalog(f"{p}.duration must be finite and >= 0", f"{p}.duration")
        for j, (w, h) in enumerate(a.sizes):
            if not (0 < w < _INT32 and 0 < h < _INT32):
                raise InvalidCatalog(
                    f"{p}.sizes[{j}] must be positive 32-bit integers", f"{p}.sizes[{j}]"
                )
        _check_protocols(a.protocols, f"{p}.protocols")
        vids: set[str] = set()
        for j, v in enumerate(a.variants):
            _check_protocols(v.protocols, f"{p}.variants[{j}].protocols")
            if v.id in vids:
                raise InvalidCatalog(f"duplicate variant id {v.id!r}", f"{p}.variants[{j}].id")
            vids.add(v.id)
            if not (_finite(v.duration) and v.duration >= 0):
                raise InvalidCatalog(
                    f"{p}.variants[{j}].duration must be finite and >= 0",
                    f"{p}.variants[{j}].duration",
                )
    for name, vec in signals.items():
        if not isinstance(name, str):
            raise InvalidCatalog("signal names must be strings", "signals")
        if (
            isinstance(vec, str | bytes)
            or not isinstance(vec, Sequence)
            or len(vec) != dim
            or not all(finite(x) and abs(x) <= MAX_COORDINATE for x in vec)
        ):
            raise InvalidCatalog(
                f"signal {name!r} must be {dim} finite numbers", f"signals[{name}]"
            )


def _check_protocols(protocols: tuple[int, ...], field: str) -> None:
    for j, p in enumerate(protocols):
        if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= MAX_PROTOCOL:
            raise InvalidCatalog(
                f"{field}[{j}]: {p!r} is not a protocol number 1-{MAX_PROTOCOL}", f"{field}[{j}]"
            )
