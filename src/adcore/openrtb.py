"""OpenRTB 2.6 bid requests and responses as msgspec Structs, with validating codecs.

This module models the part of OpenRTB 2.6 that a decision engine reads. Every message is
a frozen, keyword-only :class:`msgspec.Struct`; arrays are tuples (default ``()``), optional
scalars default to ``None`` or to the default the specification states. Fields the Structs do
not model are tolerated on input and dropped (``ext`` objects are kept as plain dicts).

Bad input is reported by one exception type, :class:`adcore.errors.InvalidRequest`, whose
``field`` attribute is the path of the offending field (``"imp[0].bidfloor"``), or ``None``
when the payload as a whole is unusable.

References
----------
.. [1] IAB Tech Lab, "OpenRTB API Specification Version 2.6",
   https://github.com/InteractiveAdvertisingBureau/openrtb2.x/blob/main/2.6.md

Examples
--------
>>> from adcore.openrtb import decode_request, encode_request
>>> req = decode_request(b'{"id": "r1", "imp": [{"id": "1", "bidfloor": 0.5}], "tmax": 80}')
>>> req.imp[0].bidfloor, req.imp[0].bidfloorcur, req.at
(0.5, 'USD', 2)
>>> encode_request(req)
b'{"id":"r1","imp":[{"id":"1","bidfloor":0.5}],"tmax":80}'
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec
import numpy as np

from adcore._kernels import wire as _wire
from adcore.errors import InvalidRequest

__all__ = [
    "AUCTION_FIRST_PRICE",
    "AUCTION_SECOND_PRICE",
    "MTYPE_AUDIO",
    "MTYPE_BANNER",
    "MTYPE_NATIVE",
    "MTYPE_VIDEO",
    "App",
    "Audio",
    "Banner",
    "Bid",
    "BidRequest",
    "BidResponse",
    "Content",
    "Data",
    "Deal",
    "Device",
    "DeviceType",
    "EID",
    "Format",
    "Geo",
    "Imp",
    "Native",
    "Pmp",
    "Publisher",
    "Regs",
    "SeatBid",
    "Segment",
    "Site",
    "Source",
    "UID",
    "User",
    "Video",
    "check_request",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "nesting_depth",
    "tolerate",
    "validate_request",
]

# --------------------------------------------------------------------------- constants

AUCTION_FIRST_PRICE: Final = 1
"""``BidRequest.at`` value for a first-price auction."""
AUCTION_SECOND_PRICE: Final = 2
"""``BidRequest.at`` value for a second-price-plus auction (the default)."""

MTYPE_BANNER: Final = 1
"""``Bid.mtype`` value for banner markup."""
MTYPE_VIDEO: Final = 2
"""``Bid.mtype`` value for video markup."""
MTYPE_AUDIO: Final = 3
"""``Bid.mtype`` value for audio markup."""
MTYPE_NATIVE: Final = 4
"""``Bid.mtype`` value for native markup."""


class DeviceType(enum.IntEnum):
    """OpenRTB 2.6 / AdCOM 1.0 list "Device Types" (``Device.devicetype``).

    Examples
    --------
    >>> DeviceType(3).name
    'CONNECTED_TV'
    >>> DeviceType.PHONE == 4
    True
    """

    MOBILE_TABLET = 1
    PERSONAL_COMPUTER = 2
    CONNECTED_TV = 3
    PHONE = 4
    TABLET = 5
    CONNECTED_DEVICE = 6
    SET_TOP_BOX = 7
    OOH_DEVICE = 8


# ------------------------------------------------------------------------ value types

# OpenRTB integers are 32-bit in practice (AdCOM lists, sizes, seconds): larger values
# are rejected while decoding, so none can overflow an engine array later.
_INT_MAX: Final = 2**31 - 1
_Int = Annotated[int, msgspec.Meta(ge=-(2**31), le=_INT_MAX)]
_Flag = Annotated[int, msgspec.Meta(ge=0, le=1)]
_NonNegInt = Annotated[int, msgspec.Meta(ge=0, le=_INT_MAX)]
_Price = Annotated[float, msgspec.Meta(ge=0.0)]
_MarkupType = Annotated[int, msgspec.Meta(ge=1, le=4)]
_UtcOffset = Annotated[int, msgspec.Meta(ge=-720, le=840)]
_Strs = tuple[str, ...]
_Ints = tuple[_Int, ...]
_Ext = dict[str, Any]
_WireFormat = Literal["json", "msgpack"]


class _Message(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, repr_omit_defaults=True
):
    """Base of every OpenRTB message: frozen, keyword-only, compact when encoded."""


# ------------------------------------------------------------------- request: media


class Format(_Message, frozen=True, kw_only=True, gc=False):
    """An allowed banner size (OpenRTB 2.6 section 3.2.10)."""

    w: _NonNegInt | None = None
    h: _NonNegInt | None = None
    wratio: _NonNegInt | None = None
    hratio: _NonNegInt | None = None
    wmin: _NonNegInt | None = None


class Banner(_Message, frozen=True, kw_only=True):
    """A display impression: sizes, positions and what the seller blocks (section 3.2.6)."""

    format: tuple[Format, ...] = ()
    w: _NonNegInt | None = None
    h: _NonNegInt | None = None
    btype: _Ints = ()
    battr: _Ints = ()
    pos: _Int | None = None
    mimes: _Strs = ()
    topframe: _Flag | None = None
    expdir: _Ints = ()
    api: _Ints = ()
    id: str | None = None
    vcm: _Flag | None = None
    ext: _Ext | None = None


class Video(_Message, frozen=True, kw_only=True):
    """A video impression, including ad-pod fields (section 3.2.7).

    ``mimes`` is required by the specification but not enforced here (an empty tuple means
    the exchange did not say).
    """

    mimes: _Strs = ()
    minduration: _NonNegInt = 0
    maxduration: _NonNegInt | None = None
    startdelay: _Int | None = None
    maxseq: _NonNegInt | None = None
    poddur: _NonNegInt | None = None
    protocols: _Ints = ()
    w: _NonNegInt | None = None
    h: _NonNegInt | None = None
    podid: str | None = None
    podseq: _Int = 0
    rqddurs: _Ints = ()
    placement: _Int | None = None
    plcmt: _Int | None = None
    linearity: _Int | None = None
    skip: _Flag | None = None
    skipmin: _NonNegInt = 0
    skipafter: _NonNegInt = 0
    slotinpod: _Int = 0
    mincpmpersec: _Price | None = None
    battr: _Ints = ()
    maxextended: _Int | None = None
    minbitrate: _NonNegInt | None = None
    maxbitrate: _NonNegInt | None = None
    boxingallowed: _Flag = 1
    playbackmethod: _Ints = ()
    playbackend: _Int | None = None
    delivery: _Ints = ()
    pos: _Int | None = None
    companionad: tuple[Banner, ...] = ()
    api: _Ints = ()
    companiontype: _Ints = ()
    poddedupe: _Ints = ()
    ext: _Ext | None = None


class Audio(_Message, frozen=True, kw_only=True):
    """An audio impression, including ad-pod fields (section 3.2.8).

    As for :class:`Video`, ``mimes`` is not enforced.
    """

    mimes: _Strs = ()
    minduration: _NonNegInt = 0
    maxduration: _NonNegInt | None = None
    poddur: _NonNegInt | None = None
    protocols: _Ints = ()
    startdelay: _Int | None = None
    rqddurs: _Ints = ()
    podid: str | None = None
    podseq: _Int = 0
    slotinpod: _Int = 0
    mincpmpersec: _Price | None = None
    battr: _Ints = ()
    maxextended: _Int | None = None
    minbitrate: _NonNegInt | None = None
    maxbitrate: _NonNegInt | None = None
    delivery: _Ints = ()
    companionad: tuple[Banner, ...] = ()
    api: _Ints = ()
    companiontype: _Ints = ()
    maxseq: _NonNegInt | None = None
    poddedupe: _Ints = ()
    feed: _Int | None = None
    stitched: _Flag | None = None
    nvol: _Int | None = None
    ext: _Ext | None = None


class Native(_Message, frozen=True, kw_only=True):
    """A native impression (section 3.2.9); ``request`` is the Native Ad request string."""

    request: str
    ver: str | None = None
    api: _Ints = ()
    battr: _Ints = ()
    ext: _Ext | None = None


class Deal(_Message, frozen=True, kw_only=True):
    """A private-marketplace deal offered on an impression (section 3.2.12)."""

    id: str
    bidfloor: _Price = 0.0
    bidfloorcur: str = "USD"
    at: _Int | None = None
    wseat: _Strs = ()
    wadomain: _Strs = ()
    guar: _Flag = 0
    mincpmpersec: _Price | None = None
    ext: _Ext | None = None


class Pmp(_Message, frozen=True, kw_only=True):
    """Private-marketplace terms of an impression (section 3.2.11)."""

    private_auction: _Flag = 0
    deals: tuple[Deal, ...] = ()
    ext: _Ext | None = None


class Imp(_Message, frozen=True, kw_only=True):
    """One ad slot offered for auction (section 3.2.4).

    ``bidfloor`` is a CPM in ``bidfloorcur``; it must be finite and ``>= 0``.
    """

    id: str
    banner: Banner | None = None
    video: Video | None = None
    audio: Audio | None = None
    native: Native | None = None
    pmp: Pmp | None = None
    displaymanager: str | None = None
    displaymanagerver: str | None = None
    instl: _Flag = 0
    tagid: str | None = None
    bidfloor: _Price = 0.0
    bidfloorcur: str = "USD"
    clickbrowser: _Flag | None = None
    secure: _Flag | None = None
    iframebuster: _Strs = ()
    rwdd: _Flag = 0
    ssai: _Int = 0
    exp: _NonNegInt | None = None
    ext: _Ext | None = None


# ------------------------------------------------------------ request: where and who


class Publisher(_Message, frozen=True, kw_only=True):
    """The publisher of a site or app (section 3.2.15)."""

    id: str | None = None
    name: str | None = None
    cattax: _Int | None = None
    cat: _Strs = ()
    domain: str | None = None
    ext: _Ext | None = None


class Content(_Message, frozen=True, kw_only=True):
    """The content an ad is shown in or around (section 3.2.16)."""

    id: str | None = None
    episode: _Int | None = None
    title: str | None = None
    series: str | None = None
    season: str | None = None
    artist: str | None = None
    genre: str | None = None
    album: str | None = None
    isrc: str | None = None
    url: str | None = None
    cattax: _Int | None = None
    cat: _Strs = ()
    prodq: _Int | None = None
    context: _Int | None = None
    contentrating: str | None = None
    userrating: str | None = None
    qagmediarating: _Int | None = None
    keywords: str | None = None
    livestream: _Flag | None = None
    sourcerelationship: _Flag | None = None
    len: _NonNegInt | None = None
    language: str | None = None
    langb: str | None = None
    embeddable: _Flag | None = None
    ext: _Ext | None = None


class Site(_Message, frozen=True, kw_only=True):
    """A website the impression is on (section 3.2.13)."""

    id: str | None = None
    name: str | None = None
    domain: str | None = None
    cattax: _Int | None = None
    cat: _Strs = ()
    sectioncat: _Strs = ()
    pagecat: _Strs = ()
    page: str | None = None
    ref: str | None = None
    search: str | None = None
    mobile: _Flag | None = None
    privacypolicy: _Flag | None = None
    publisher: Publisher | None = None
    content: Content | None = None
    keywords: str | None = None
    ext: _Ext | None = None


class App(_Message, frozen=True, kw_only=True):
    """A mobile or CTV application the impression is in (section 3.2.14)."""

    id: str | None = None
    name: str | None = None
    bundle: str | None = None
    domain: str | None = None
    storeurl: str | None = None
    cattax: _Int | None = None
    cat: _Strs = ()
    sectioncat: _Strs = ()
    pagecat: _Strs = ()
    ver: str | None = None
    privacypolicy: _Flag | None = None
    paid: _Flag | None = None
    publisher: Publisher | None = None
    content: Content | None = None
    keywords: str | None = None
    ext: _Ext | None = None


class Geo(_Message, frozen=True, kw_only=True):
    """A location (section 3.2.19): ``country`` is ISO-3166-1 alpha-3, ``utcoffset`` minutes.

    ``utcoffset`` must lie in [-720, 840] (it sets the local hour that dayparting targets).
    ``lat`` outside [-90, 90], ``lon`` outside [-180, 180] and a negative ``accuracy`` or
    ``lastfix`` are tolerated: :func:`tolerate` drops them (no decision reads them).
    """

    lat: float | None = None
    lon: float | None = None
    type: _Int | None = None
    accuracy: _Int | None = None
    lastfix: _Int | None = None
    ipservice: _Int | None = None
    country: str | None = None
    region: str | None = None
    metro: str | None = None
    city: str | None = None
    zip: str | None = None
    utcoffset: _UtcOffset | None = None
    ext: _Ext | None = None


class Device(_Message, frozen=True, kw_only=True):
    """The device the impression is shown on (section 3.2.18).

    ``devicetype`` decodes to a :class:`DeviceType`; values outside 1..8 are rejected.
    Negative ``h``, ``w`` or ``ppi`` and a ``pxratio`` that is not a positive finite number
    are tolerated: :func:`tolerate` drops them (no decision reads them).
    """

    ua: str | None = None
    geo: Geo | None = None
    dnt: _Flag | None = None
    lmt: _Flag | None = None
    ip: str | None = None
    ipv6: str | None = None
    devicetype: DeviceType | None = None
    make: str | None = None
    model: str | None = None
    os: str | None = None
    osv: str | None = None
    hwv: str | None = None
    h: _Int | None = None
    w: _Int | None = None
    ppi: _Int | None = None
    pxratio: float | None = None
    js: _Flag | None = None
    geofetch: _Flag | None = None
    language: str | None = None
    langb: str | None = None
    carrier: str | None = None
    mccmnc: str | None = None
    connectiontype: _Int | None = None
    ifa: str | None = None
    ext: _Ext | None = None


class Segment(_Message, frozen=True, kw_only=True, gc=False):
    """One data segment about a user (section 3.2.22)."""

    id: str | None = None
    name: str | None = None
    value: str | None = None


class Data(_Message, frozen=True, kw_only=True):
    """Data about a user from one provider (section 3.2.21)."""

    id: str | None = None
    name: str | None = None
    segment: tuple[Segment, ...] = ()
    ext: _Ext | None = None


class UID(_Message, frozen=True, kw_only=True, gc=False):
    """One extended identifier value (section 3.2.28)."""

    id: str | None = None
    atype: _Int | None = None


class EID(_Message, frozen=True, kw_only=True):
    """Extended identifiers from one source (section 3.2.27)."""

    source: str | None = None
    uids: tuple[UID, ...] = ()
    inserter: str | None = None
    matcher: str | None = None
    mm: _Int | None = None
    ext: _Ext | None = None


class User(_Message, frozen=True, kw_only=True):
    """The human audience of the impression (section 3.2.20); ``consent`` is a TCF string."""

    id: str | None = None
    buyeruid: str | None = None
    yob: _Int | None = None
    gender: str | None = None
    keywords: str | None = None
    customdata: str | None = None
    consent: str | None = None
    geo: Geo | None = None
    data: tuple[Data, ...] = ()
    eids: tuple[EID, ...] = ()
    ext: _Ext | None = None


class Regs(_Message, frozen=True, kw_only=True):
    """Regulations that apply to the request (section 3.2.3): COPPA, GDPR, CCPA, GPP."""

    coppa: _Flag = 0
    gdpr: _Flag | None = None
    us_privacy: str | None = None
    gpp: str | None = None
    gpp_sid: _Ints = ()
    ext: _Ext | None = None


class Source(_Message, frozen=True, kw_only=True):
    """The upstream source of the request (section 3.2.2); ``schain`` is kept as a dict."""

    fd: _Flag | None = None
    tid: str | None = None
    pchain: str | None = None
    schain: _Ext | None = None
    ext: _Ext | None = None


class BidRequest(_Message, frozen=True, kw_only=True):
    """An OpenRTB 2.6 bid request (section 3.2.1).

    ``imp`` must hold at least one impression with unique ids; ``at`` is 1 (first price),
    2 (second price, the default) or an exchange-specific value >= 500.
    """

    id: str
    imp: Annotated[tuple[Imp, ...], msgspec.Meta(min_length=1)]
    site: Site | None = None
    app: App | None = None
    device: Device | None = None
    user: User | None = None
    test: _Flag = 0
    at: Annotated[int, msgspec.Meta(ge=1, le=_INT_MAX)] = 2
    tmax: _NonNegInt | None = None
    wseat: _Strs = ()
    bseat: _Strs = ()
    allimps: _Flag = 0
    cur: _Strs = ()
    wlang: _Strs = ()
    wlangb: _Strs = ()
    bcat: _Strs = ()
    cattax: Annotated[int, msgspec.Meta(ge=1, le=_INT_MAX)] = 1
    badv: _Strs = ()
    bapp: _Strs = ()
    source: Source | None = None
    regs: Regs | None = None
    ext: _Ext | None = None


# -------------------------------------------------------------------------- responses


class Bid(_Message, frozen=True, kw_only=True):
    """One offer to buy one impression (section 4.2.3); ``price`` is a CPM ``>= 0``."""

    id: str
    impid: str
    price: _Price
    nurl: str | None = None
    burl: str | None = None
    lurl: str | None = None
    adm: str | None = None
    adid: str | None = None
    adomain: _Strs = ()
    bundle: str | None = None
    iurl: str | None = None
    cid: str | None = None
    crid: str | None = None
    tactic: str | None = None
    cattax: _Int = 1
    cat: _Strs = ()
    attr: _Ints = ()
    apis: _Ints = ()
    api: _Int | None = None
    protocol: _Int | None = None
    qagmediarating: _Int | None = None
    language: str | None = None
    langb: str | None = None
    dealid: str | None = None
    w: _NonNegInt | None = None
    h: _NonNegInt | None = None
    wratio: _NonNegInt | None = None
    hratio: _NonNegInt | None = None
    exp: _NonNegInt | None = None
    dur: _NonNegInt | None = None
    mtype: _MarkupType | None = None
    slotinpod: _Int | None = None
    ext: _Ext | None = None


class SeatBid(_Message, frozen=True, kw_only=True):
    """The bids of one buyer seat (section 4.2.2); ``bid`` is non-empty."""

    bid: Annotated[tuple[Bid, ...], msgspec.Meta(min_length=1)]
    seat: str | None = None
    group: _Flag = 0
    ext: _Ext | None = None


class BidResponse(_Message, frozen=True, kw_only=True):
    """An OpenRTB 2.6 bid response (section 4.2.1); no ``seatbid`` means no bid."""

    id: str
    seatbid: tuple[SeatBid, ...] = ()
    bidid: str | None = None
    cur: str = "USD"
    customdata: str | None = None
    nbr: _Int | None = None
    ext: _Ext | None = None


# --------------------------------------------------------------------------- codecs

_JSON_REQUEST_DECODER: Final = msgspec.json.Decoder(BidRequest)
_MSGPACK_REQUEST_DECODER: Final = msgspec.msgpack.Decoder(BidRequest)
_JSON_RESPONSE_DECODER: Final = msgspec.json.Decoder(BidResponse)
_MSGPACK_RESPONSE_DECODER: Final = msgspec.msgpack.Decoder(BidResponse)
_JSON_ENCODER: Final = msgspec.json.Encoder()
_MSGPACK_ENCODER: Final = msgspec.msgpack.Encoder()

_INF: Final = float("inf")
_DEFAULT_MAX_BYTES: Final = 65_536  # 64 KiB: about ten times a large real request
_DEFAULT_MAX_DEPTH: Final = 32
_AT_SUFFIX: Final = re.compile(r" - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`$")
_MISSING: Final = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")

_T = TypeVar("_T")


def _utf8(data: bytes | bytearray | memoryview | str, max_bytes: int, what: str) -> bytes:
    """The payload as contiguous bytes, its size checked before any decoding."""
    if isinstance(data, str):
        if len(data) > max_bytes:  # a str has at least as many UTF-8 bytes as characters
            raise InvalidRequest(f"{what}: payload is over {max_bytes} bytes, the limit", None)
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidRequest(
                f"{what}: the text is not valid Unicode ({exc.reason} at character {exc.start})",
                None,
            ) from None
    elif isinstance(data, bytes):
        raw = data
    elif isinstance(data, bytearray | memoryview):
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        if size > max_bytes:
            raise InvalidRequest(
                f"{what}: payload is {size} bytes, over the {max_bytes}-byte limit", None
            )
        raw = bytes(data)
    else:
        raise InvalidRequest(
            f"{what}: expected bytes, bytearray, memoryview or str, got {type(data).__name__}",
            None,
        )
    if len(raw) > max_bytes:
        raise InvalidRequest(
            f"{what}: payload is {len(raw)} bytes, over the {max_bytes}-byte limit", None
        )
    return raw


def nesting_depth(data: bytes, format: _WireFormat = "json", *, limit: int = 1_000) -> int:
    """The deepest nesting of arrays and objects (maps) in an encoded payload.

    One linear pass over the bytes (strings skipped), stopping as soon as the nesting
    goes deeper than ``limit``; no syntax is checked. A scalar at the top is depth 0,
    ``[]`` or ``{}`` depth 1.

    Parameters
    ----------
    data : bytes
        A JSON or MessagePack payload.
    format : {"json", "msgpack"}
    limit : int
        Stop counting past this depth.

    Returns
    -------
    int
        The depth, or ``limit + 1`` if the payload nests deeper than ``limit``.

    Examples
    --------
    >>> from adcore.openrtb import nesting_depth
    >>> nesting_depth(b'{"id": "r", "imp": [{"id": "[[["}]}')
    3
    >>> nesting_depth(b"[" * 100 + b"]" * 100, limit=32)
    33
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    if format == "json":
        return int(_wire.json_depth(buf, limit))
    return int(_wire.msgpack_depth(buf, limit, np.empty(limit + 2, dtype=np.int64)))


def _from_msgspec_error(exc: msgspec.DecodeError, what: str, label: str) -> InvalidRequest:
    """Turn a msgspec error into an InvalidRequest naming the field path."""
    text = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return InvalidRequest(f"{what}: malformed {label}: {text}", None)
    match = _AT_SUFFIX.search(text)
    path = ""
    if match is not None:
        path = match.group("path").lstrip(".")
        text = text[: match.start()]
        if match.group("key"):
            text = f"object key: {text}"
    missing = _MISSING.match(text)
    if missing is not None:
        name = missing.group("name")
        path = f"{path}.{name}" if path else name
        text = "required field is missing"
    field = path or None
    return InvalidRequest(f"{field}: {text}" if field else f"{what}: {text}", field)


def _decode(
    data: bytes | bytearray | memoryview | str,
    format: str,
    max_bytes: int,
    max_depth: int,
    decoders: tuple[msgspec.json.Decoder[_T], msgspec.msgpack.Decoder[_T]],
    what: str,
) -> _T:
    if format != "json" and format != "msgpack":
        raise InvalidRequest(f"format must be 'json' or 'msgpack', got {format!r}", "format")
    if format == "msgpack" and isinstance(data, str):
        raise InvalidRequest(f"{what}: a MessagePack payload must be bytes-like, not str", None)
    raw = _utf8(data, max_bytes, what)
    if nesting_depth(raw, format, limit=max_depth) > max_depth:  # type: ignore[arg-type]
        raise InvalidRequest(
            f"{what}: arrays and objects nest deeper than {max_depth} levels", None
        )
    label = "JSON" if format == "json" else "MessagePack"
    try:
        if format == "json":
            return decoders[0].decode(raw)
        return decoders[1].decode(raw)
    except msgspec.DecodeError as exc:
        raise _from_msgspec_error(exc, what, label) from exc
    except RecursionError:  # only with a max_depth above the interpreter's limit
        raise InvalidRequest(f"{what}: arrays and objects nest too deeply", None) from None


def _floor_error(field: str, value: float) -> InvalidRequest:
    problem = "must be >= 0" if value < 0.0 else "must be a finite number"
    return InvalidRequest(f"{field}: {problem}, got {value!r}", field)


def _check_deals(pmp: Pmp, i: int) -> None:
    for j, deal in enumerate(pmp.deals):
        if not 0.0 <= deal.bidfloor < _INF:
            raise _floor_error(f"imp[{i}].pmp.deals[{j}].bidfloor", deal.bidfloor)


def check_request(req: BidRequest) -> None:
    """Check what msgspec's type validation cannot, in place, cheaply.

    Checks that ``at`` is 1, 2 or >= 500, that there is at least one impression, that
    impression ids are unique, and that every impression and deal floor is finite and
    ``>= 0`` (NaN and infinities are rejected). :func:`decode_request` calls it; call it
    yourself on a :class:`BidRequest` built in Python from trusted, well-typed values (it
    does not check types: use :func:`validate_request` for untrusted ones).

    Parameters
    ----------
    req : BidRequest
        The request to check.

    Raises
    ------
    InvalidRequest
        On the first problem found; ``field`` is its path (``"imp[1].id"``).

    Examples
    --------
    >>> from adcore.openrtb import BidRequest, Imp, check_request
    >>> check_request(BidRequest(id="r", imp=(Imp(id="1", bidfloor=0.2),)))
    >>> try:
    ...     check_request(BidRequest(id="r", imp=(Imp(id="1"), Imp(id="1"))))
    ... except ValueError as exc:
    ...     print(exc.field, "-", exc)
    imp[1].id - imp[1].id: duplicate impression id '1'
    >>> try:
    ...     check_request(BidRequest(id="r", imp=(Imp(id="1", bidfloor=float("nan")),)))
    ... except ValueError as exc:
    ...     print(exc.field)
    imp[0].bidfloor
    """
    at = req.at
    if at != 2 and at != 1 and at < 500:
        raise InvalidRequest(
            f"at: must be 1 (first price), 2 (second price) or >= 500 (exchange-specific), "
            f"got {at!r}",
            "at",
        )
    imps = req.imp
    if len(imps) == 1:
        imp = imps[0]
        if not 0.0 <= imp.bidfloor < _INF:
            raise _floor_error("imp[0].bidfloor", imp.bidfloor)
        if imp.pmp is not None:
            _check_deals(imp.pmp, 0)
        return
    if not imps:
        raise InvalidRequest("imp: at least one impression is required", "imp")
    seen: set[str] = set()
    for i, imp in enumerate(imps):
        if imp.id in seen:
            raise InvalidRequest(f"imp[{i}].id: duplicate impression id {imp.id!r}", f"imp[{i}].id")
        seen.add(imp.id)
        if not 0.0 <= imp.bidfloor < _INF:
            raise _floor_error(f"imp[{i}].bidfloor", imp.bidfloor)
        if imp.pmp is not None:
            _check_deals(imp.pmp, i)


def _geo_drops(geo: Geo, where: str, notes: list[str]) -> Geo:
    changes: dict[str, None] = {}
    lat, lon = geo.lat, geo.lon
    if lat is not None and not -90.0 <= lat <= 90.0:
        changes["lat"] = None
        notes.append(f"{where}.lat: {lat!r} is outside [-90, 90]")
    if lon is not None and not -180.0 <= lon <= 180.0:
        changes["lon"] = None
        notes.append(f"{where}.lon: {lon!r} is outside [-180, 180]")
    for name in ("accuracy", "lastfix"):
        v = getattr(geo, name)
        if v is not None and v < 0:
            changes[name] = None
            notes.append(f"{where}.{name}: {v!r} is negative")
    return msgspec.structs.replace(geo, **changes) if changes else geo


def _device_drops(device: Device, notes: list[str]) -> Device:
    changes: dict[str, Any] = {}
    for name in ("h", "w", "ppi"):
        v = getattr(device, name)
        if v is not None and v < 0:
            changes[name] = None
            notes.append(f"device.{name}: {v!r} is negative")
    px = device.pxratio
    if px is not None and not 0.0 < px < _INF:
        changes["pxratio"] = None
        notes.append(f"device.pxratio: {px!r} is not a positive finite number")
    if device.geo is not None:
        geo = _geo_drops(device.geo, "device.geo", notes)
        if geo is not device.geo:
            changes["geo"] = geo
    return msgspec.structs.replace(device, **changes) if changes else device


def tolerate(req: BidRequest) -> tuple[BidRequest, tuple[str, ...]]:
    """Drop the out-of-range optional values that no decision reads.

    Exchanges send sloppy values in fields that touch neither money, consent nor
    eligibility; rejecting a whole request for them loses a sale. These are dropped (set
    to ``None``) and noted: ``geo.lat`` outside [-90, 90], ``geo.lon`` outside
    [-180, 180], a negative ``geo.accuracy`` or ``geo.lastfix`` (in ``device.geo`` and
    ``user.geo``), a negative ``device.h``, ``device.w`` or ``device.ppi``, and a
    ``device.pxratio`` that is not a positive finite number. Everything else that is out
    of range is rejected by :func:`decode_request` (``docs/openrtb.md`` has the table).
    :func:`decode_request` and :func:`validate_request` call it; the engine shows the
    notes in a decision's trace (``Trace.dropped``).

    Parameters
    ----------
    req : BidRequest
        A request that passed :func:`check_request`.

    Returns
    -------
    tuple of (BidRequest, tuple of str)
        The request (the same object when nothing was dropped) and one note per dropped
        value, naming its path.

    Examples
    --------
    >>> from adcore.openrtb import BidRequest, Device, Geo, Imp, tolerate
    >>> req = BidRequest(id="r", imp=(Imp(id="1"),), device=Device(geo=Geo(lat=123.456)))
    >>> kept, notes = tolerate(req)
    >>> kept.device.geo.lat is None, notes
    (True, ('device.geo.lat: 123.456 is outside [-90, 90]',))
    >>> tolerate(BidRequest(id="r", imp=(Imp(id="1"),)))[0] is not None
    True
    """
    device, user = req.device, req.user
    if device is None and (user is None or user.geo is None):
        return req, ()
    notes: list[str] = []
    changes: dict[str, Any] = {}
    if device is not None:
        d = _device_drops(device, notes)
        if d is not device:
            changes["device"] = d
    if user is not None and user.geo is not None:
        geo = _geo_drops(user.geo, "user.geo", notes)
        if geo is not user.geo:
            changes["user"] = msgspec.structs.replace(user, geo=geo)
    if not changes:
        return req, ()
    return msgspec.structs.replace(req, **changes), tuple(notes)


def decode_request(
    data: bytes | bytearray | memoryview | str,
    format: _WireFormat = "json",
    *,
    max_bytes: int = _DEFAULT_MAX_BYTES,
    max_depth: int = _DEFAULT_MAX_DEPTH,
) -> BidRequest:
    """Decode and validate an OpenRTB 2.6 bid request.

    The size and the nesting depth are checked first (one linear pass over the bytes),
    then types and value ranges while decoding, then :func:`check_request` runs and
    :func:`tolerate` drops the out-of-range optional values no decision reads. Unknown
    fields are ignored (and not kept). The work is linear in the payload's size, which
    is at most ``max_bytes``.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or str
        The encoded request (``str`` only for JSON).
    format : {"json", "msgpack"}
        The encoding of ``data``.
    max_bytes : int
        Largest accepted payload, in bytes (UTF-8 bytes for a ``str``).
    max_depth : int
        Deepest accepted nesting of arrays and objects (the request object itself is
        level 1; OpenRTB's own structure needs 7).

    Returns
    -------
    BidRequest
        The decoded request.

    Raises
    ------
    InvalidRequest
        If the payload is too large, nested too deeply, not valid UTF-8 or Unicode,
        malformed, of the wrong shape or out of range; if ``format`` is not ``"json"`` or
        ``"msgpack"`` (``field == "format"``); if ``data`` is not bytes-like (or is a
        ``str`` with ``format="msgpack"``). Its ``field`` is the path of the offending
        field (``"imp[0].bidfloor"``), or ``None`` when the payload as a whole is
        unusable (malformed, not an object, too large, too deep). Nothing else is raised,
        whatever the input.

    Examples
    --------
    >>> from adcore.openrtb import decode_request
    >>> req = decode_request('{"id": "r", "imp": [{"id": "1"}], "device": {"devicetype": 3}}')
    >>> req.device.devicetype
    <DeviceType.CONNECTED_TV: 3>
    >>> try:
    ...     decode_request(b'{"id": "r", "imp": [{"id": "1", "bidfloor": "abc"}]}')
    ... except ValueError as exc:
    ...     print(exc.field, "-", exc)
    imp[0].bidfloor - imp[0].bidfloor: Expected `float`, got `str`
    >>> try:
    ...     decode_request(b'{"id": "r", "imp": [{}]}')
    ... except ValueError as exc:
    ...     print(exc.field, "-", exc)
    imp[0].id - imp[0].id: required field is missing
    """
    return _decode_request(data, format, max_bytes, max_depth)[0]


def _decode_request(
    data: bytes | bytearray | memoryview | str, format: str, max_bytes: int, max_depth: int
) -> tuple[BidRequest, tuple[str, ...]]:
    """:func:`decode_request`, with the notes of what :func:`tolerate` dropped."""
    req = _decode(
        data,
        format,
        max_bytes,
        max_depth,
        (_JSON_REQUEST_DECODER, _MSGPACK_REQUEST_DECODER),
        "bid request",
    )
    check_request(req)
    return tolerate(req)


def _retyped(req: BidRequest) -> BidRequest:
    """``req`` through a MessagePack round trip: the decoder's full type and range checks
    for a Struct built in Python (its constructor checks nothing), in a few µs."""
    try:
        raw = _MSGPACK_ENCODER.encode(req)
    except (TypeError, ValueError, OverflowError) as exc:  # e.g. a complex, a lone surrogate
        raise InvalidRequest(f"bid request: a value is not OpenRTB data: {exc}", None) from None
    except RecursionError:
        raise InvalidRequest("bid request: an ext nests too deeply", None) from None
    try:
        return _MSGPACK_REQUEST_DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        raise _from_msgspec_error(exc, "bid request", "data") from None
    except RecursionError:
        raise InvalidRequest("bid request: an ext nests too deeply", None) from None


def validate_request(req: BidRequest) -> BidRequest:
    """Fully validate a request built in Python from untrusted values.

    Struct constructors do not check types, so ``BidRequest(id=5, imp=[...])`` builds. This
    converts the request to builtins and back through msgspec's validation (applying the
    same type and range checks as :func:`decode_request`), then runs :func:`check_request`
    and :func:`tolerate`.

    Parameters
    ----------
    req : BidRequest
        The request to validate (a plain ``dict`` in the OpenRTB shape works too).

    Returns
    -------
    BidRequest
        A validated copy: lists become tuples, ints become :class:`DeviceType` where typed.

    Raises
    ------
    InvalidRequest
        With ``field`` naming the first offending field.

    Examples
    --------
    >>> from adcore.openrtb import BidRequest, Imp, validate_request
    >>> validate_request(BidRequest(id="r", imp=[Imp(id="1")])).imp
    (Imp(id='1'),)
    >>> try:
    ...     validate_request(BidRequest(id="r", imp=(Imp(id="1", bidfloor=-1.0),)))
    ... except ValueError as exc:
    ...     print(exc.field, "-", exc)
    imp[0].bidfloor - imp[0].bidfloor: Expected `float` >= 0.0
    """
    unencodable: list[str] = []

    def enc_hook(obj: Any) -> Any:
        unencodable.append(type(obj).__name__)
        # A dict with a non-str key: rejected wherever a Struct, str, number or array
        # goes, so msgspec names the field; only values typed Any (inside ext) let it by.
        return {0: type(obj).__name__}

    try:
        raw = msgspec.to_builtins(req, enc_hook=enc_hook)
        out = msgspec.convert(raw, BidRequest)
    except msgspec.ValidationError as exc:
        err = _from_msgspec_error(exc, "bid request", "data")
        if unencodable:
            err = InvalidRequest(f"{err} ({unencodable[0]} is not OpenRTB data)", err.field)
        raise err from exc
    except (TypeError, ValueError, OverflowError) as exc:  # e.g. unhashable dict keys
        raise InvalidRequest(f"bid request: {exc}", None) from exc
    except RecursionError:
        raise InvalidRequest("bid request: an ext nests too deeply", None) from None
    if unencodable:  # only reachable for values inside an ``ext`` (typed Any)
        raise InvalidRequest(
            f"bid request: an ext holds a value of type {unencodable[0]}, "
            "which is not OpenRTB data",
            None,
        )
    check_request(out)
    return tolerate(out)[0]


def encode_request(req: BidRequest, format: _WireFormat = "json") -> bytes:
    """Encode a request compactly (fields at their default value are omitted).

    Parameters
    ----------
    req : BidRequest
        The request to encode. It is not validated.
    format : {"json", "msgpack"}
        The encoding to produce.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        If ``format`` is unknown.

    Examples
    --------
    >>> from adcore.openrtb import BidRequest, Imp, decode_request, encode_request
    >>> req = BidRequest(id="r", imp=(Imp(id="1", bidfloor=1.5),), at=1)
    >>> encode_request(req)
    b'{"id":"r","imp":[{"id":"1","bidfloor":1.5}],"at":1}'
    >>> decode_request(encode_request(req, "msgpack"), "msgpack") == req
    True
    """
    return _encode(req, format)


def _encode(msg: _Message, format: str) -> bytes:
    if format == "json":
        return _JSON_ENCODER.encode(msg)
    if format == "msgpack":
        return _MSGPACK_ENCODER.encode(msg)
    raise ValueError(f"format must be 'json' or 'msgpack', got {format!r}")


def decode_response(
    data: bytes | bytearray | memoryview | str,
    format: _WireFormat = "json",
    *,
    max_bytes: int = _DEFAULT_MAX_BYTES,
    max_depth: int = _DEFAULT_MAX_DEPTH,
) -> BidResponse:
    """Decode and validate an OpenRTB 2.6 bid response.

    Besides type and range checks, every ``price`` must be finite.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or str
        The encoded response (``str`` only for JSON).
    format : {"json", "msgpack"}
        The encoding of ``data``.
    max_bytes : int
        Largest accepted payload, in bytes.
    max_depth : int
        Deepest accepted nesting of arrays and objects.

    Returns
    -------
    BidResponse

    Raises
    ------
    InvalidRequest
        The same exception (and ``field`` paths) as :func:`decode_request`: bad input at an
        adcore edge, here a response (an unknown ``format`` too).

    Examples
    --------
    >>> from adcore.openrtb import decode_response
    >>> resp = decode_response(
    ...     b'{"id": "r", "seatbid": [{"bid": [{"id": "b", "impid": "1", "price": 2}]}]}'
    ... )
    >>> resp.seatbid[0].bid[0].price, resp.cur
    (2.0, 'USD')
    >>> try:
    ...     decode_response(b'{"id": "r", "seatbid": [{"bid": [{"id": "b", "impid": "1"}]}]}')
    ... except ValueError as exc:
    ...     print(exc.field)
    seatbid[0].bid[0].price
    """
    resp = _decode(
        data,
        format,
        max_bytes,
        max_depth,
        (_JSON_RESPONSE_DECODER, _MSGPACK_RESPONSE_DECODER),
        "bid response",
    )
    for i, seatbid in enumerate(resp.seatbid):
        for j, bid in enumerate(seatbid.bid):
            if not bid.price < _INF:
                field = f"seatbid[{i}].bid[{j}].price"
                raise InvalidRequest(f"{field}: must be finite, got {bid.price!r}", field)
    return resp


def encode_response(resp: BidResponse, format: _WireFormat = "json") -> bytes:
    """Encode a response compactly (fields at their default value are omitted).

    Parameters
    ----------
    resp : BidResponse
        The response to encode. It is not validated.
    format : {"json", "msgpack"}
        The encoding to produce.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        If ``format`` is unknown.

    Examples
    --------
    >>> from adcore.openrtb import MTYPE_BANNER, Bid, BidResponse, SeatBid, encode_response
    >>> bid = Bid(id="b1", impid="1", price=1.25, mtype=MTYPE_BANNER)
    >>> encode_response(BidResponse(id="r", seatbid=(SeatBid(bid=(bid,)),)))
    b'{"id":"r","seatbid":[{"bid":[{"id":"b1","impid":"1","price":1.25,"mtype":1}]}]}'
    """
    return _encode(resp, format)
