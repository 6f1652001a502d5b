"""The raw payload, bounded before any decoding: its size and its nesting depth.

A request's bytes are checked against a size limit (:func:`_utf8`) and scanned once for
their nesting depth (:func:`nesting_depth`) before msgspec decodes them, so no payload
can make decoding slow or deep.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np

from adcore._kernels import wire as _wire
from adcore.errors import InvalidRequest

__all__ = ["nesting_depth"]

_WireFormat = Literal["json", "msgpack"]

_DEFAULT_MAX_BYTES: Final = 65_536  # 64 KiB: about ten times a large real request
_DEFAULT_MAX_DEPTH: Final = 32


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
