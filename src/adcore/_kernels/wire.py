"""Nesting depth of an encoded payload, found in one linear pass before it is decoded.

A decoder that recurses once per nested array or object can be made to exhaust the
stack (or the interpreter's recursion limit) by a few kilobytes of ``[[[[...``. These
scanners read the payload once, byte by byte, and stop as soon as the nesting passes
``limit``: the work is at most ``len(buf)`` steps whatever the input, and no input makes
them read outside ``buf``. They check no syntax: a malformed payload gets the depth of
the part that could be read, and the decoder that runs next reports the error.

Both return the deepest nesting seen (a scalar at the top is depth 0, ``[]`` or ``{}``
depth 1), or ``limit + 1`` as soon as the nesting goes deeper than ``limit``.

References
----------
RFC 8259 (JSON); the MessagePack specification (formats and their headers).
"""

import numpy as np

from ._jit import helper, kernel

__all__ = ["json_depth", "msgpack_depth"]

_QUOTE = 34  # "
_BACKSLASH = 92  # \
_OPEN_ARRAY = 91  # [
_CLOSE_ARRAY = 93  # ]
_OPEN_OBJECT = 123  # {
_CLOSE_OBJECT = 125  # }


@kernel
def json_depth(buf, limit):
    """Deepest nesting of JSON arrays and objects in ``buf`` (uint8), strings skipped."""
    depth = 0
    deepest = 0
    in_string = False
    escaped = False
    for i in range(buf.shape[0]):
        c = buf[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == _BACKSLASH:
                escaped = True
            elif c == _QUOTE:
                in_string = False
        elif c == _QUOTE:
            in_string = True
        elif c == _OPEN_ARRAY or c == _OPEN_OBJECT:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return limit + 1
        elif c == _CLOSE_ARRAY or c == _CLOSE_OBJECT:
            if depth > 0:
                depth -= 1
    return deepest


@helper
def _big_endian(buf, pos, width):
    """The unsigned ``width``-byte big-endian integer at ``buf[pos:]`` (0 past the end)."""
    n = buf.shape[0]
    value = np.int64(0)
    for j in range(width):
        value = value * 256
        if pos + j < n:
            value += np.int64(buf[pos + j])
    return value


@kernel
def msgpack_depth(buf, limit, remaining):
    """Deepest nesting of MessagePack arrays and maps in ``buf`` (uint8).

    ``remaining`` is int64 scratch of length at least ``limit + 2``: the number of items
    still to read at each open level. Every item takes at least one byte, so the loop
    makes at most ``len(buf)`` steps plus one per closed container.
    """
    n = buf.shape[0]
    pos = 0
    depth = 0
    deepest = 0
    remaining[0] = 1  # the top-level object
    while pos < n:
        while depth >= 0 and remaining[depth] == 0:
            depth -= 1
        if depth < 0:
            break  # trailing bytes: the decoder reports them
        remaining[depth] -= 1
        c = np.int64(buf[pos])
        items = np.int64(-1)  # the item count of a container, -1 for a scalar
        skip = np.int64(1)  # bytes of the header and payload of a scalar
        if c <= 0x7F or c >= 0xE0 or c == 0xC0 or c == 0xC2 or c == 0xC3:
            skip = 1
        elif c <= 0x8F:
            items = 2 * (c & 0x0F)
        elif c <= 0x9F:
            items = c & 0x0F
        elif c <= 0xBF:
            skip = 1 + (c & 0x1F)
        elif c == 0xC4 or c == 0xD9:
            skip = 2 + _big_endian(buf, pos + 1, 1)
        elif c == 0xC5 or c == 0xDA:
            skip = 3 + _big_endian(buf, pos + 1, 2)
        elif c == 0xC6 or c == 0xDB:
            skip = 5 + _big_endian(buf, pos + 1, 4)
        elif c == 0xC7:
            skip = 3 + _big_endian(buf, pos + 1, 1)
        elif c == 0xC8:
            skip = 4 + _big_endian(buf, pos + 1, 2)
        elif c == 0xC9:
            skip = 6 + _big_endian(buf, pos + 1, 4)
        elif c == 0xCA or c == 0xCE or c == 0xD2:
            skip = 5
        elif c == 0xCB or c == 0xCF or c == 0xD3:
            skip = 9
        elif c == 0xCC or c == 0xD0:
            skip = 2
        elif c == 0xCD or c == 0xD1:
            skip = 3
        elif c == 0xD4:
            skip = 3
        elif c == 0xD5:
            skip = 4
        elif c == 0xD6:
            skip = 6
        elif c == 0xD7:
            skip = 10
        elif c == 0xD8:
            skip = 18
        elif c == 0xDC:
            items = _big_endian(buf, pos + 1, 2)
            skip = 3
        elif c == 0xDD:
            items = _big_endian(buf, pos + 1, 4)
            skip = 5
        elif c == 0xDE:
            items = 2 * _big_endian(buf, pos + 1, 2)
            skip = 3
        elif c == 0xDF:
            items = 2 * _big_endian(buf, pos + 1, 4)
            skip = 5
        else:
            return deepest  # 0xC1 is never used: malformed, the decoder says so
        if items >= 0:
            if c >= 0xDC:
                pos += skip
            else:
                pos += 1
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return limit + 1
            remaining[depth] = items
        else:
            pos += skip
    return deepest
