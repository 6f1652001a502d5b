"""Bytes in, validated messages out, and back: the decoders and encoders.

Decoding bounds the payload first (:mod:`._payload`), then msgspec checks types and
ranges, then :func:`check_request` and :func:`tolerate` (:mod:`._checks`) finish a
request. :func:`validate_request` gives a request built in Python from untrusted values
the same checks. The msgspec Decoder and Encoder instances are built once, here.
"""

from __future__ import annotations

import re
from typing import Any, Final, TypeVar

import msgspec

from adcore.errors import InvalidRequest

from ._checks import _INF, check_request, tolerate
from ._fields import _Message
from ._payload import _DEFAULT_MAX_BYTES, _DEFAULT_MAX_DEPTH, _utf8, _WireFormat, nesting_depth
from ._request import BidRequest
from ._response import BidResponse

__all__ = [
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "validate_request",
]

_JSON_REQUEST_DECODER: Final = msgspec.json.Decoder(BidRequest)
_MSGPACK_REQUEST_DECODER: Final = msgspec.msgpack.Decoder(BidRequest)
_JSON_RESPONSE_DECODER: Final = msgspec.json.Decoder(BidResponse)
_MSGPACK_RESPONSE_DECODER: Final = msgspec.msgpack.Decoder(BidResponse)
_JSON_ENCODER: Final = msgspec.json.Encoder()
_MSGPACK_ENCODER: Final = msgspec.msgpack.Encoder()

_AT_SUFFIX: Final = re.compile(r" - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`$")
_MISSING: Final = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")

_T = TypeVar("_T")


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
