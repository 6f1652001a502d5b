"""What a bid request offers: the impression (:class:`Imp`) and its media and deals.

Frozen, keyword-only Structs (OpenRTB 2.6 sections 3.2.4 to 3.2.12). Annotations are
evaluated when the classes are built, as in :mod:`._request` (which says why).
"""

from ._fields import _Ext, _Flag, _Int, _Ints, _Message, _NonNegInt, _Price, _Strs

__all__ = ["Audio", "Banner", "Deal", "Format", "Imp", "Native", "Pmp", "Video"]


class Format(_Message, frozen=True, kw_only=True, gc=False):
    """An allowed banner size (OpenRTB 2.6 section 3.2.10)."""

    w: _NonNegInt | None = None
    h: _NonNegInt | None = None
    wratio: _NonNegInt | None = None
    hratio: _NonNegInt | None = None
    wmin: _NonNegInt | None = None


class Banner(_Message, frozen=True, kw_only=True, gc=False):
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


class Video(_Message, frozen=True, kw_only=True, gc=False):
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


class Audio(_Message, frozen=True, kw_only=True, gc=False):
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


class Native(_Message, frozen=True, kw_only=True, gc=False):
    """A native impression (section 3.2.9); ``request`` is the Native Ad request string."""

    request: str
    ver: str | None = None
    api: _Ints = ()
    battr: _Ints = ()
    ext: _Ext | None = None


class Deal(_Message, frozen=True, kw_only=True, gc=False):
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


class Pmp(_Message, frozen=True, kw_only=True, gc=False):
    """Private-marketplace terms of an impression (section 3.2.11)."""

    private_auction: _Flag = 0
    deals: tuple[Deal, ...] = ()
    ext: _Ext | None = None


class Imp(_Message, frozen=True, kw_only=True, gc=False):
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
