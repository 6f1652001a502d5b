"""Request features: what the engine reads off a BidRequest before any agent runs.

Fills the context's non-personal request features (time of day, country, device type,
content categories, block lists, impressions, floors, deals). Personal signals (user
ids, audience segments) are the privacy agent's to let through or not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ._checks import finite
from ._hashing import cached_key, stable_key
from .catalog import MAX_PROTOCOL, UNKNOWN_MIME, CatalogSnapshot, category_closure
from .context import MAX_SIZES, Context
from .errors import InvalidRequest
from .openrtb import App, Audio, BidRequest, Imp, Video

__all__ = ["AUCTIONS", "CONTEXT_FEATURES", "content_categories", "context_keys", "fill_features"]

_U64 = np.uint64

AUCTIONS: dict[str, int] = {"first_price": 1, "second_price": 2, "gsp": 3, "vcg": 4}
"""Auction names accepted in ``ext.adcore.auction``, by kernel code."""


def _adcore_ext(ext: object, where: str) -> dict[str, object]:
    """The ``adcore`` member of an ``ext`` object (empty when absent)."""
    if not isinstance(ext, dict):
        return {}
    mine = ext.get("adcore")
    if mine is None:
        return {}
    if not isinstance(mine, dict):
        raise InvalidRequest(f"{where}.adcore must be an object", f"{where}.adcore")
    return mine


def _auction_code(mine: dict[str, object], where: str, allowed: tuple[str, ...]) -> int:
    name = mine.get("auction")
    if name is None:
        return 0
    if name not in allowed:
        raise InvalidRequest(
            f"{where}.adcore.auction must be one of {', '.join(allowed)}; got {name!r}",
            f"{where}.adcore.auction",
        )
    return AUCTIONS[str(name)]


CONTEXT_FEATURES = ("device type", "local hour", "app or site", "content categories")
"""What the context keys of a request stand for, in order (see :func:`context_keys`)."""

# One constant per context feature, so equal values of different features give
# different keys.
_CONTEXT_SALT = (
    0x6A09E667F3BCC908,
    0xBB67AE8584CAA73B,
    0x3C6EF372FE94F82B,
    0xA54FF53A5F1D36F1,
)
_CONTENT_KEYS: dict[tuple[str, ...], int] = {}


def _content_hash(key: tuple[str, ...]) -> int:
    out = _CONTENT_KEYS.get(key)
    if out is None:
        out = stable_key("|".join(key)) if key else 0
        if len(_CONTENT_KEYS) >= 10_000:
            _CONTENT_KEYS.clear()
        _CONTENT_KEYS[key] = out
    return out


def source_key(request: BidRequest) -> int:
    """A stable key of the request's traffic source, its app (id, else bundle) or site
    (id, else domain); 0 when it names none."""
    where = request.app if request.app is not None else request.site
    if where is None:
        return 0
    name = where.id or (where.bundle if isinstance(where, App) else where.domain)
    return int(cached_key(name)) if name else 0


def context_keys(devtype: int, hour: int, source: int, content: int) -> tuple[int, ...]:
    """The request's context keys: stable 64-bit keys of its device type, its local hour
    (-1 unknown), its traffic source (:func:`source_key`) and its content categories (a
    stable key of the category list, 0 for none), each mixed with a constant of its own.
    Learners cross them with ads (:mod:`adcore.learn`); none of them is personal."""
    return (
        _CONTEXT_SALT[0] ^ (devtype & 0xFFFF),  # the book keeps 16 bits
        _CONTEXT_SALT[1] ^ ((hour + 1) & 0xFFFF),
        _CONTEXT_SALT[2] ^ source,
        _CONTEXT_SALT[3] ^ content,
    )


def _content_tuple(request: BidRequest) -> tuple[str, ...]:
    """:func:`_content_key` for any sequences (lists in a Struct built in Python)."""
    where = request.site if request.site is not None else request.app
    parts: list[Sequence[str]] = []
    if where is not None:
        parts.append(where.cat)
        if where.content is not None:
            parts.append(where.content.cat)
    if request.site is not None:
        parts += [request.site.sectioncat, request.site.pagecat]
    return tuple(c for part in parts for c in part)


def content_categories(request: BidRequest) -> list[str]:
    """The content categories of the page or stream, with their IAB parents."""
    cats: list[str] = []
    where = request.site if request.site is not None else request.app
    if where is not None:
        cats.extend(where.cat)
        if where.content is not None:
            cats.extend(where.content.cat)
    if request.site is not None:
        cats.extend(request.site.sectioncat)
        cats.extend(request.site.pagecat)
    return category_closure(cats)


def _content_key(request: BidRequest) -> tuple[str, ...]:
    """The request's content categories as a hashable tuple (parents not added)."""
    where = request.site if request.site is not None else request.app
    key: tuple[str, ...] = ()
    if where is not None:
        key = where.cat
        if where.content is not None and where.content.cat:
            key = key + where.content.cat
    site = request.site
    if site is not None and (site.sectioncat or site.pagecat):
        key = key + site.sectioncat + site.pagecat
    return key


def _convert(amount: float, currency: str, target: str, rates: Mapping[str, float]) -> float | None:
    if currency == target or not currency:
        return amount
    rate = rates.get(currency)
    return None if rate is None else amount * rate


_DISPLAY, _VIDEO, _AUDIO = 0, 1, 2  # ad format codes: the columns of per-format limits
_UNKNOWN_MIME: np.uint64 = np.uint64(UNKNOWN_MIME)
_NO_MIME: np.uint64 = np.uint64(0)


def _mime_mask(snap: CatalogSnapshot, mimes: tuple[str, ...]) -> np.uint64:
    """The MIME bitset of an impression: 0 for "any"; a bit no creative has when MIME
    types were asked for but none is in the catalog (then nothing matches)."""
    words = snap.mimes.words_of(mimes)  # at most 63 MIME types: one word
    if words:
        mask: np.uint64 = words[0][1]
        return mask
    return _UNKNOWN_MIME if mimes else _NO_MIME


def _protocol_mask(protocols: tuple[int, ...]) -> np.uint64:
    """The protocol bitset of an impression: bit ``p`` for protocol ``p`` (1-63), 0 for
    "any" (none listed). Values outside 1-63 (exchange-specific ones) set bit 0, which no
    creative has: a list naming only those accepts only creatives that declare no
    protocol."""
    mask = 0
    for p in protocols:
        mask |= 1 << p if 0 < p <= MAX_PROTOCOL else 1
    return np.uint64(mask)


def _fill_media(ctx: Context, k: int, f: int, media: Video | Audio, snap: CatalogSnapshot) -> None:
    """Column ``f`` (the ads' format code) of impression ``k``'s MIME, protocol and
    duration limits, from its video or audio object; a ``maxduration`` of 0 or none means
    no limit."""
    ctx.imp_mimes[k, f] = _mime_mask(snap, tuple(media.mimes))
    ctx.imp_protocols[k, f] = _protocol_mask(media.protocols)
    ctx.imp_mindur[k, f] = float(media.minduration or 0)
    ctx.imp_maxdur[k, f] = float(media.maxduration) if media.maxduration else math.inf


def _fill_imp(
    ctx: Context,
    k: int,
    imp: Imp,
    snap: CatalogSnapshot,
    rates: Mapping[str, float],
    currency_ok: bool,
) -> None:
    # Each media object's limits go to its own format's column, read only for ads of
    # that format: banner MIME types and sizes for display ads, video's MIME types and
    # durations for video ads, audio's for audio ads. The columns of formats the
    # impression does not offer are left as they are: no ad of those formats is eligible,
    # so nothing reads them.
    formats = 0
    nsizes = 0
    if imp.banner is not None:
        formats |= 1 << _DISPLAY
        b = imp.banner
        ctx.imp_mimes[k, _DISPLAY] = _mime_mask(snap, tuple(b.mimes))
        ctx.imp_protocols[k, _DISPLAY] = _NO_MIME  # banners list no protocols
        if b.w is not None and b.h is not None:
            ctx.imp_sizes[k, 0, 0] = b.w
            ctx.imp_sizes[k, 0, 1] = b.h
            nsizes = 1
        for size in b.format:  # the first MAX_SIZES sizes count; the rest are ignored
            if nsizes == MAX_SIZES:
                break
            if size.w is not None and size.h is not None:
                ctx.imp_sizes[k, nsizes, 0] = size.w
                ctx.imp_sizes[k, nsizes, 1] = size.h
                nsizes += 1
    if imp.video is not None:
        formats |= 1 << _VIDEO
        _fill_media(ctx, k, _VIDEO, imp.video, snap)
    if imp.audio is not None:
        formats |= 1 << _AUDIO
        _fill_media(ctx, k, _AUDIO, imp.audio, snap)
    # One pod per impression: the audio object's when it has a poddur, else the video
    # object's. A pod impression sells that pod only: ads of the pod's format alone are
    # eligible, so display ads (and the other media format) never fill its slots.
    pod_media: Video | Audio | None = None
    if imp.audio is not None and imp.audio.poddur:
        pod_media = imp.audio
        formats = 1 << _AUDIO
    elif imp.video is not None and imp.video.poddur:
        pod_media = imp.video
        formats = 1 << _VIDEO
    ctx.imp_formats[k] = formats
    ctx.imp_nsizes[k] = nsizes
    floor = _convert(imp.bidfloor, imp.bidfloorcur, snap.currency, rates)
    ctx.imp_currency_ok[k] = 1 if (currency_ok and floor is not None) else 0
    ctx.imp_floor[k] = floor if floor is not None else 0.0
    if ctx.deals_dirty[k]:
        ctx.imp_deals[k].fill(0)
        ctx.deals_dirty[k] = False
    private = 0
    if imp.pmp is not None:
        ctx.deals_dirty[k] = True
        private = 1 if imp.pmp.private_auction else 0
        didx = snap.deals.index
        for deal in imp.pmp.deals:
            b_ = didx.get(deal.id)
            if b_ is None:
                continue
            f = _convert(deal.bidfloor, deal.bidfloorcur, snap.currency, rates)
            if f is None:
                continue
            ctx.imp_deals[k, b_ >> 6] |= _U64(1 << (b_ & 63))
            ctx.imp_deal_floor[k, b_] = f
    ctx.imp_private[k] = private

    where = f"imp[{k}].ext"
    mine = _adcore_ext(imp.ext, where)
    mech = _auction_code(mine, where, ("first_price", "second_price")) if mine else 0
    ctx.imp_mech[k] = mech if mech else ctx.auction_type
    soft = 0.0
    if mine and mine.get("soft_floor") is not None:
        raw = mine["soft_floor"]
        if not finite(raw) or raw < 0:
            raise InvalidRequest(
                f"{where}.adcore.soft_floor must be a finite number >= 0; got {raw!r}",
                f"{where}.adcore.soft_floor",
            )
        converted = _convert(float(raw), imp.bidfloorcur, snap.currency, rates)
        soft = converted if converted is not None else 0.0
    ctx.imp_soft[k] = soft
    if ctx.placement_slots:  # only the learners (reserve, bid shading) need placements
        key = cached_key(f"{ctx.placement}|{imp.tagid or ''}|{k}")
        ctx.imp_slot[k] = int(key) % ctx.placement_slots
    pod = 0
    media = pod_media
    if media is not None and media.poddur:
        pod = 1
        ctx.imp_poddur[k] = float(media.poddur)
        ctx.imp_maxseq[k] = media.maxseq if media.maxseq else ctx.max_pod
        ctx.imp_cpmps[k] = media.mincpmpersec or 0.0
        dedupe = 0
        for code in media.poddedupe:
            if code == 1:
                dedupe |= 1
            elif code == 2:
                dedupe |= 2
        ctx.imp_dedupe[k] = dedupe
    ctx.imp_pod[k] = pod


def fill_features(
    ctx: Context, request: BidRequest, now: float, rates: Mapping[str, float]
) -> None:
    """Reset ``ctx`` for ``request`` decided at ``now`` and fill its request features.

    Raises
    ------
    InvalidRequest
        More impressions than the engine was configured for (``EngineConfig.max_imps``).
    """
    n_imp = len(request.imp)
    if n_imp > ctx.max_imps:
        raise InvalidRequest(
            f"the request has {n_imp} impressions; this engine decides at most "
            f"{ctx.max_imps} (EngineConfig.max_imps)",
            "imp",
        )
    snap = ctx.snapshot
    ctx.reset(n_imp)
    ctx.request = request
    ctx.now = now
    ctx.request_key = _U64(stable_key(request.id))
    ctx.auction_type = 1 if request.at == 1 else 2
    ctx.multislot = ctx.default_multislot
    mine = _adcore_ext(request.ext, "ext")
    if mine:
        code = _auction_code(mine, "ext", tuple(AUCTIONS))
        if code in (1, 2):
            ctx.auction_type = code
            ctx.multislot = 0
        elif code:
            ctx.multislot = code
    if ctx.placement_slots:
        where = request.site if request.site is not None else request.app
        ctx.placement = (where.id or where.domain or "") if where is not None else ""

    device = request.device
    geo = None
    if device is not None:
        geo = device.geo
        if device.devicetype is not None:
            ctx.req_devtype = int(device.devicetype)
    if geo is None and request.user is not None:
        geo = request.user.geo
    offset = 0
    if geo is not None:
        if geo.country:
            b = snap.countries.index.get(geo.country)
            if b is not None:
                ctx.req_country[b >> 6] = _U64(1 << (b & 63))
        if geo.utcoffset is not None:
            offset = int(geo.utcoffset)
    ctx.req_hour = int(((now + offset * 60.0) // 3600.0) % 24)

    ctx.source_key = source = source_key(request)
    try:
        content = _content_key(request)
        for w, value in snap.categories.words_of(content, parents=True):
            ctx.req_content[w] = value
        if request.bcat:
            for w, value in snap.categories.words_of(request.bcat):
                ctx.req_bcat[w] = value
        if request.badv:
            for w, value in snap.domains.words_of(request.badv):
                ctx.req_badv[w] = value
    except TypeError:  # lists instead of tuples in a Struct built in Python: not hashable
        content = _content_tuple(request)
        cats = content_categories(request)
        if cats:
            snap.categories.fill(ctx.req_content, cats)
        snap.categories.fill(ctx.req_bcat, request.bcat)
        snap.domains.fill(ctx.req_badv, request.badv)

    ctx.content_key = _content_hash(content)
    ctx.context_keys[:] = context_keys(ctx.req_devtype, ctx.req_hour, source, ctx.content_key)

    currency_ok = not request.cur or snap.currency in request.cur
    for k, imp in enumerate(request.imp):
        _fill_imp(ctx, k, imp, snap, rates, currency_ok)
