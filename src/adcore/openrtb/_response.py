"""The OpenRTB 2.6 bid response: :class:`BidResponse`, :class:`SeatBid` and :class:`Bid`.

Frozen, keyword-only Structs (section 4.2 of the specification). Annotations are
evaluated when the classes are built, as in :mod:`._request` (which says why).
"""

from typing import Annotated, Final

import msgspec

from ._fields import _Ext, _Flag, _Int, _Ints, _MarkupType, _Message, _NonNegInt, _Price, _Strs

__all__ = [
    "MTYPE_AUDIO",
    "MTYPE_BANNER",
    "MTYPE_NATIVE",
    "MTYPE_VIDEO",
    "Bid",
    "BidResponse",
    "SeatBid",
]

MTYPE_BANNER: Final = 1
"""``Bid.mtype`` value for banner markup."""
MTYPE_VIDEO: Final = 2
"""``Bid.mtype`` value for video markup."""
MTYPE_AUDIO: Final = 3
"""``Bid.mtype`` value for audio markup."""
MTYPE_NATIVE: Final = 4
"""``Bid.mtype`` value for native markup."""


class Bid(_Message, frozen=True, kw_only=True, gc=False):
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


class SeatBid(_Message, frozen=True, kw_only=True, gc=False):
    """The bids of one buyer seat (section 4.2.2); ``bid`` is non-empty."""

    bid: Annotated[tuple[Bid, ...], msgspec.Meta(min_length=1)]
    seat: str | None = None
    group: _Flag = 0
    ext: _Ext | None = None


class BidResponse(_Message, frozen=True, kw_only=True, gc=False):
    """An OpenRTB 2.6 bid response (section 4.2.1); no ``seatbid`` means no bid."""

    id: str
    seatbid: tuple[SeatBid, ...] = ()
    bidid: str | None = None
    cur: str = "USD"
    customdata: str | None = None
    nbr: _Int | None = None
    ext: _Ext | None = None
