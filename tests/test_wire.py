"""The nesting-depth scanners (``adcore._kernels.wire``) against a trusted decoder, and
the request decoders' depth limit built on them."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcore import InvalidRequest
from adcore.openrtb import decode_request, nesting_depth

try:
    from tests.reference.wire import depth
except ImportError:  # pytest run without the project root on sys.path
    from reference.wire import depth  # type: ignore[no-redef]

# ------------------------------------------------------------------ nesting depth

# Strings full of the characters a scanner could mistake for structure.
tricky = st.text(alphabet='[]{}"\\,:ab\u00e9\u4e2d', max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | tricky
    | st.floats(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=300)
@given(values, st.integers(1, 12))
def test_json_depth_matches_a_decoder(value: Any, limit: int) -> None:
    data = json.dumps(value, ensure_ascii=False).encode()
    assert nesting_depth(data, "json", limit=limit) == min(depth(value), limit + 1)


@settings(max_examples=300)
@given(values | st.binary(max_size=70_000), st.integers(1, 12))
def test_msgpack_depth_matches_a_decoder(value: Any, limit: int) -> None:
    data = msgspec.msgpack.encode(value)
    assert nesting_depth(data, "msgpack", limit=limit) == min(depth(value), limit + 1)


def test_msgpack_depth_across_header_sizes() -> None:
    """Containers and strings past the fix-size headers (16- and 32-bit lengths)."""
    wide = {"k" * 40: ["x" * 300, b"y" * 70_000, list(range(20)), {str(i): [i] for i in range(20)}]}
    data = msgspec.msgpack.encode(wide)
    assert nesting_depth(data, "msgpack") == depth(wide) == 4
    assert nesting_depth(msgspec.msgpack.encode([[[]]] * 70_000), "msgpack") == 3


@settings(max_examples=300)
@given(st.binary(max_size=300), st.integers(1, 40))
def test_depth_of_any_bytes_is_bounded(data: bytes, limit: int) -> None:
    """Garbage and truncated payloads never make the scanners read past the end or
    answer outside [0, limit + 1]."""
    for fmt in ("json", "msgpack"):
        d = nesting_depth(data, fmt, limit=limit)  # type: ignore[arg-type]
        assert 0 <= d <= limit + 1


def test_deep_payloads_are_rejected_before_decoding() -> None:
    for n in (33, 1_000, 100_000):
        deep = b'{"id":"r","imp":[{"id":"1"}],"ext":{"x":' + b"[" * n + b"]" * n + b"}}"
        with pytest.raises(InvalidRequest, match="nest deeper than 32") as exc:
            decode_request(deep, max_bytes=10**6)
        assert exc.value.field is None
        packed = msgspec.msgpack.encode({"id": "r", "imp": [{"id": "1"}], "ext": {}})
        nested = _packed_nest(n)
        assert decode_request(packed, "msgpack").id == "r"
        with pytest.raises(InvalidRequest, match="nest deeper"):
            decode_request(nested, "msgpack", max_bytes=10**6)
    # A depth that fits passes; the limit is configurable.
    ok = b'{"id":"r","imp":[{"id":"1"}],"ext":{"x":' + b"[" * 20 + b"]" * 20 + b"}}"
    assert decode_request(ok).id == "r"
    with pytest.raises(InvalidRequest):
        decode_request(ok, max_depth=16)


def _packed_nest(n: int) -> bytes:
    """A MessagePack request whose ``ext.x`` is ``n`` nested arrays (built by hand: the
    encoder itself would recurse)."""
    head = msgspec.msgpack.encode({"id": "r", "imp": [{"id": "1"}]})
    assert head[0] == 0x82  # a fixmap of two entries: make it three
    ext = msgspec.msgpack.encode("ext") + b"\x81" + msgspec.msgpack.encode("x")
    return b"\x83" + head[1:] + ext + b"\x91" * (n - 1) + b"\x90"


def test_bracket_characters_inside_strings_are_not_structure() -> None:
    req = decode_request(json.dumps({"id": "[" * 100, "imp": [{"id": "{" * 100 + '"\\'}]}).encode())
    assert req.id == "[" * 100
