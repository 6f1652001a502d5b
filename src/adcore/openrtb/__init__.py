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

# The package is cut by concept, one private module each: _fields (the constrained field
# types and the base Struct), _imp (the impression and its media and deals), _request (the
# bid request and where and to whom it offers), _response (the bid response), _payload
# (size and nesting depth, bounded before decoding), _checks (the rules types cannot
# state, and tolerance of stray optional values) and _codec (the decoders and encoders).
from ._checks import check_request, tolerate
from ._codec import (
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    validate_request,
)
from ._imp import Audio, Banner, Deal, Format, Imp, Native, Pmp, Video
from ._payload import nesting_depth
from ._request import (
    AUCTION_FIRST_PRICE,
    AUCTION_SECOND_PRICE,
    EID,
    UID,
    App,
    BidRequest,
    Content,
    Data,
    Device,
    DeviceType,
    Geo,
    Publisher,
    Regs,
    Segment,
    Site,
    Source,
    User,
)
from ._response import (
    MTYPE_AUDIO,
    MTYPE_BANNER,
    MTYPE_NATIVE,
    MTYPE_VIDEO,
    Bid,
    BidResponse,
    SeatBid,
)

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

# Every public class and function keeps this package as its module, as when it was one
# file: bus recordings name a Struct class by ``module:qualname`` and pickles by
# ``module.qualname``, so both still say ``adcore.openrtb``.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        _obj.__module__ = __name__
del _name, _obj
