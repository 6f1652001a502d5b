"""The OpenRTB 2.6 bid request: :class:`BidRequest`, and where and to whom it offers.

Frozen, keyword-only Structs (section 3.2 of the specification): the request itself,
the inventory (:class:`Site`, :class:`App` and their :class:`Publisher` and
:class:`Content`), the :class:`Device` and its :class:`Geo`, the :class:`User` and the
rules (:class:`Regs`, :class:`Source`). What is offered, the impressions, is in
:mod:`._imp`; the field types (:mod:`._fields`) carry the ranges checked while decoding.

Annotations here are evaluated when the classes are built (no ``from __future__ import
annotations``): the package names itself as these classes' module (so bus recordings
and pickles name them ``adcore.openrtb``), and msgspec and :func:`typing.get_type_hints`
resolve string annotations in that module's namespace, where the field types are not.
"""

import enum
from typing import Annotated, Final

import msgspec

from ._fields import _INT_MAX, _Ext, _Flag, _Int, _Ints, _Message, _NonNegInt, _Strs, _UtcOffset
from ._imp import Imp

__all__ = [
    "AUCTION_FIRST_PRICE",
    "AUCTION_SECOND_PRICE",
    "App",
    "BidRequest",
    "Content",
    "Data",
    "Device",
    "DeviceType",
    "EID",
    "Geo",
    "Publisher",
    "Regs",
    "Segment",
    "Site",
    "Source",
    "UID",
    "User",
]

AUCTION_FIRST_PRICE: Final = 1
"""``BidRequest.at`` value for a first-price auction."""
AUCTION_SECOND_PRICE: Final = 2
"""``BidRequest.at`` value for a second-price-plus auction (the default)."""


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


class Publisher(_Message, frozen=True, kw_only=True, gc=False):
    """The publisher of a site or app (section 3.2.15)."""

    id: str | None = None
    name: str | None = None
    cattax: _Int | None = None
    cat: _Strs = ()
    domain: str | None = None
    ext: _Ext | None = None


class Content(_Message, frozen=True, kw_only=True, gc=False):
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


class Site(_Message, frozen=True, kw_only=True, gc=False):
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


class App(_Message, frozen=True, kw_only=True, gc=False):
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


class Geo(_Message, frozen=True, kw_only=True, gc=False):
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


class Device(_Message, frozen=True, kw_only=True, gc=False):
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


class Data(_Message, frozen=True, kw_only=True, gc=False):
    """Data about a user from one provider (section 3.2.21)."""

    id: str | None = None
    name: str | None = None
    segment: tuple[Segment, ...] = ()
    ext: _Ext | None = None


class UID(_Message, frozen=True, kw_only=True, gc=False):
    """One extended identifier value (section 3.2.28)."""

    id: str | None = None
    atype: _Int | None = None


class EID(_Message, frozen=True, kw_only=True, gc=False):
    """Extended identifiers from one source (section 3.2.27)."""

    source: str | None = None
    uids: tuple[UID, ...] = ()
    inserter: str | None = None
    matcher: str | None = None
    mm: _Int | None = None
    ext: _Ext | None = None


class User(_Message, frozen=True, kw_only=True, gc=False):
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


class Regs(_Message, frozen=True, kw_only=True, gc=False):
    """Regulations that apply to the request (section 3.2.3): COPPA, GDPR, CCPA, GPP."""

    coppa: _Flag = 0
    gdpr: _Flag | None = None
    us_privacy: str | None = None
    gpp: str | None = None
    gpp_sid: _Ints = ()
    ext: _Ext | None = None


class Source(_Message, frozen=True, kw_only=True, gc=False):
    """The upstream source of the request (section 3.2.2); ``schain`` is kept as a dict."""

    fd: _Flag | None = None
    tid: str | None = None
    pchain: str | None = None
    schain: _Ext | None = None
    ext: _Ext | None = None


class BidRequest(_Message, frozen=True, kw_only=True, gc=False):
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
