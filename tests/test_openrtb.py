"""Tests of adcore.openrtb: the spec examples, round trips, and a table of bad inputs.

Expected values come from the example files read with the stdlib ``json`` module, never
from adcore's own output.
"""

from __future__ import annotations

import copy
import json
import math
import pathlib
import pickle
import re
from typing import Any, Literal

import msgspec
import msgspec.inspect as mi
import pytest

import adcore.openrtb as rtb
from adcore.bus import Bus
from adcore.errors import InvalidRequest
from adcore.openrtb import (
    MTYPE_AUDIO,
    MTYPE_BANNER,
    MTYPE_NATIVE,
    MTYPE_VIDEO,
    Bid,
    BidRequest,
    BidResponse,
    Deal,
    Device,
    DeviceType,
    Imp,
    Pmp,
    SeatBid,
    check_request,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    validate_request,
)

DATA = pathlib.Path(__file__).parent / "data" / "openrtb"
REQUEST_FILES = sorted(DATA.glob("request_*.json"))
RESPONSE_FILES = sorted(DATA.glob("response_*.json"))
Fmt = Literal["json", "msgpack"]
FORMATS: tuple[Fmt, ...] = ("json", "msgpack")


def load(path: pathlib.Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def wire(obj: Any, format: Fmt) -> bytes:
    """Encode plain data (not adcore Structs) for the given wire format."""
    if format == "json":
        return json.dumps(obj).encode()
    return msgspec.msgpack.encode(obj)


# ---------------------------------------------------------------------------------------
# The modelled view of a plain JSON value: every field a Struct models, with the default
# filled in when absent. Field names and defaults come from msgspec.inspect; values come
# from whatever plain data is passed in (stdlib json output, here).


def _unwrap(t: mi.Type) -> mi.Type:
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


def modelled(value: Any, t: mi.Type) -> Any:
    t = _unwrap(t)
    if isinstance(t, mi.UnionType):
        if value is None:
            return None
        (inner,) = [x for x in t.types if not isinstance(_unwrap(x), mi.NoneType)]
        return modelled(value, inner)
    if isinstance(t, mi.StructType):
        out = {}
        for f in t.fields:
            if f.encode_name in value:
                v = value[f.encode_name]
            else:
                assert not f.required, f"required field {f.name} missing"
                v = f.default
            out[f.name] = modelled(v, f.type)
        return out
    if isinstance(t, mi.VarTupleType | mi.ListType):
        return [modelled(x, t.item_type) for x in value]
    if isinstance(t, mi.FloatType):
        return float(value)
    if isinstance(t, mi.EnumType | mi.IntType):
        return int(value)
    return json.loads(json.dumps(value))  # Any / dict / str: plain-data copy


REQUEST_TYPE = mi.type_info(BidRequest)
RESPONSE_TYPE = mi.type_info(BidResponse)


def minimal() -> dict[str, Any]:
    return {"id": "r1", "imp": [{"id": "1"}]}


# ------------------------------------------------------------------------ spec examples


@pytest.mark.parametrize("path", REQUEST_FILES, ids=lambda p: p.stem)
def test_spec_request_examples_decode(path: pathlib.Path) -> None:
    raw = load(path)
    req = decode_request(path.read_bytes())
    assert req.id == raw["id"]
    assert req.at == raw.get("at", 2)
    assert len(req.imp) == len(raw["imp"])
    for imp, raw_imp in zip(req.imp, raw["imp"], strict=True):
        assert imp.id == raw_imp["id"]
        assert imp.bidfloor == raw_imp.get("bidfloor", 0.0)
        assert imp.bidfloorcur == raw_imp.get("bidfloorcur", "USD")
    assert list(req.cur) == raw.get("cur", [])
    assert list(req.bcat) == raw.get("bcat", [])
    assert list(req.badv) == raw.get("badv", [])
    assert req.tmax == raw.get("tmax")
    if "user" in raw:
        assert req.user is not None
        assert req.user.id == raw["user"].get("id")
    # Every modelled field, compared with the file read by the stdlib.
    assert modelled(msgspec.to_builtins(req), REQUEST_TYPE) == modelled(raw, REQUEST_TYPE)


def test_spec_example_spot_checks() -> None:
    banner = decode_request((DATA / "request_6_2_1_simple_banner.json").read_bytes())
    assert banner.imp[0].banner is not None
    assert (banner.imp[0].banner.w, banner.imp[0].banner.h, banner.imp[0].banner.pos) == (
        300,
        250,
        0,
    )
    assert banner.site is not None and banner.site.publisher is not None
    assert banner.site.publisher.name == "foobar.com"
    assert banner.site.cat == ("IAB3-1",)

    mobile = decode_request((DATA / "request_6_2_3_mobile.json").read_bytes())
    assert mobile.app is not None and mobile.app.bundle == "12345"
    assert mobile.device is not None
    assert mobile.device.devicetype is DeviceType.MOBILE_TABLET
    assert mobile.device.connectiontype == 3
    assert mobile.device.dnt == 0
    assert mobile.imp[0].banner is not None and mobile.imp[0].banner.api == (3,)

    video = decode_request((DATA / "request_6_2_4_video.json").read_bytes())
    v = video.imp[0].video
    assert v is not None
    assert v.mimes == ("video/x-flv", "video/mp4", "application/javascript")
    assert (v.minduration, v.maxduration, v.startdelay, v.linearity) == (5, 30, 0, 1)
    assert len(v.companionad) == 2 and v.companionad[1].w == 728
    assert video.site is not None and video.site.content is not None
    assert video.site.content.episode == 23 and video.site.content.season == "2"
    assert video.user is not None and video.user.data[0].segment[1].name == "auto enthusiasts"

    pmp = decode_request((DATA / "request_6_2_5_pmp_with_direct_deal.json").read_bytes())
    assert pmp.imp[0].pmp is not None
    assert pmp.imp[0].pmp.private_auction == 1
    deals = pmp.imp[0].pmp.deals
    assert [(d.id, d.at, d.bidfloor, d.wseat) for d in deals] == [
        ("AB-Agency1-0001", 1, 2.5, ("Agency1",)),
        ("XY-Agency2-0001", 2, 2.0, ("Agency2",)),
    ]


@pytest.mark.parametrize("path", RESPONSE_FILES, ids=lambda p: p.stem)
def test_spec_response_examples_decode(path: pathlib.Path) -> None:
    raw = load(path)
    resp = decode_response(path.read_bytes())
    assert resp.id == raw["id"]
    assert resp.cur == raw.get("cur", "USD")
    bid, raw_bid = resp.seatbid[0].bid[0], raw["seatbid"][0]["bid"][0]
    assert (bid.id, bid.impid, bid.price) == (raw_bid["id"], raw_bid["impid"], raw_bid["price"])
    assert bid.adm == raw_bid.get("adm")
    assert list(bid.adomain) == raw_bid.get("adomain", [])
    assert modelled(msgspec.to_builtins(resp), RESPONSE_TYPE) == modelled(raw, RESPONSE_TYPE)
    for format in FORMATS:
        assert decode_response(encode_response(resp, format), format) == resp
    assert modelled(json.loads(encode_response(resp)), RESPONSE_TYPE) == modelled(
        raw, RESPONSE_TYPE
    )


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("path", REQUEST_FILES, ids=lambda p: p.stem)
def test_round_trip(path: pathlib.Path, format: Fmt) -> None:
    raw = load(path)
    req = decode_request(wire(raw, format), format)
    encoded = encode_request(req, format)
    assert decode_request(encoded, format) == req
    if format == "json":
        # The encoding means what the original meant, field by field, read by the stdlib.
        assert modelled(json.loads(encoded), REQUEST_TYPE) == modelled(raw, REQUEST_TYPE)
        assert len(encoded) < len(json.dumps(raw))  # unknown fields dropped, compact
    else:
        assert modelled(msgspec.msgpack.decode(encoded), REQUEST_TYPE) == modelled(
            raw, REQUEST_TYPE
        )


def test_encoding_omits_defaults() -> None:
    req = BidRequest(id="r", imp=(Imp(id="1"),), at=2, cur=())
    assert json.loads(encode_request(req)) == {"id": "r", "imp": [{"id": "1"}]}


def test_input_buffer_types() -> None:
    data = json.dumps(minimal()).encode()
    expected = decode_request(data)
    assert decode_request(bytearray(data)) == expected
    assert decode_request(memoryview(data)) == expected
    assert decode_request(data.decode()) == expected
    assert decode_request(memoryview(msgspec.msgpack.encode(minimal())), "msgpack") == expected


def test_exchange_specific_auction_type_accepted() -> None:
    assert decode_request(json.dumps({**minimal(), "at": 500}).encode()).at == 500
    assert decode_request(json.dumps({**minimal(), "at": 1}).encode()).at == 1


def test_markup_type_constants() -> None:
    assert (MTYPE_BANNER, MTYPE_VIDEO, MTYPE_AUDIO, MTYPE_NATIVE) == (1, 2, 3, 4)
    assert [int(d) for d in DeviceType] == list(range(1, 9))


def test_structs_are_frozen_and_tuples() -> None:
    req = decode_request(json.dumps({**minimal(), "cur": ["USD"]}).encode())
    assert isinstance(req.imp, tuple) and isinstance(req.cur, tuple)
    with pytest.raises(AttributeError):
        req.id = "other"  # type: ignore[misc]


# ------------------------------------------------------------------------ unknown fields


@pytest.mark.parametrize("format", FORMATS)
def test_unknown_fields_tolerated(format: Fmt) -> None:
    raw = load(DATA / "request_6_2_5_pmp_with_direct_deal.json")
    noisy = copy.deepcopy(raw)
    junk = {"nested": [1, {"x": None}], "n": 1.5}
    noisy["x_top"] = junk
    noisy["imp"][0]["x_imp"] = "y"
    noisy["imp"][0]["banner"]["x_banner"] = [1, 2]
    noisy["imp"][0]["pmp"]["deals"][0]["x_deal"] = junk
    noisy["site"]["publisher"]["x_pub"] = {}
    noisy["device"]["x_device"] = None
    noisy["user"]["x_user"] = True
    assert decode_request(wire(noisy, format), format) == decode_request(wire(raw, format), format)


def test_ext_is_kept() -> None:
    raw = {**minimal(), "ext": {"prebid": {"debug": True, "n": [1, 2.5]}}}
    raw["imp"][0]["ext"] = {"gpid": "/a/b"}
    req = decode_request(json.dumps(raw).encode())
    assert req.ext == raw["ext"]
    assert req.imp[0].ext == {"gpid": "/a/b"}
    assert json.loads(encode_request(req))["ext"] == raw["ext"]


# -------------------------------------------------------------------------- bad inputs


def patched(path: str, value: Any) -> dict[str, Any]:
    """A minimal request with ``value`` set at ``path`` ("imp.0.pmp"); intermediate
    objects are created. The value ``DELETE`` removes the key."""
    req: dict[str, Any] = minimal()
    node: Any = req
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        if isinstance(key, str) and key not in node:
            node[key] = {}
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return req


DELETE = object()

# (name, request data, expected field, message pattern)
BAD_REQUESTS: list[tuple[str, Any, str | None, str]] = [
    ("not an object (array)", [], None, r"Expected `object`, got `array`"),
    ("not an object (string)", "id", None, r"Expected `object`, got `str`"),
    ("not an object (null)", None, None, r"Expected `object`, got `(null|None)`"),
    ("wrong type floor", patched("imp.0.bidfloor", "abc"), "imp[0].bidfloor", r"`float`.*`str`"),
    ("wrong type id", patched("id", 5), "id", r"Expected `str`, got `int`"),
    ("imp not array", patched("imp", {"id": "1"}), "imp", r"Expected `array`"),
    ("missing imp id", patched("imp.0.id", DELETE), "imp[0].id", r"required field is missing"),
    ("missing id", patched("id", DELETE), "id", r"required field is missing"),
    ("missing imp", patched("imp", DELETE), "imp", r"required field is missing"),
    ("empty imp", patched("imp", []), "imp", r"length >= 1"),
    ("negative floor", patched("imp.0.bidfloor", -0.01), "imp[0].bidfloor", r">= 0"),
    ("bool as flag", patched("imp.0.secure", True), "imp[0].secure", r"got `bool`"),
    ("instl 2", patched("imp.0.instl", 2), "imp[0].instl", r"<= 1"),
    ("devicetype 99", patched("device.devicetype", 99), "device.devicetype", r"enum value 99"),
    ("devicetype 0", patched("device.devicetype", 0), "device.devicetype", r"enum value 0"),
    ("at 7", patched("at", 7), "at", r"must be 1 .*2 .*>= 500.*got 7"),
    ("at 499", patched("at", 499), "at", r"got 499"),
    ("at 0", patched("at", 0), "at", r">= 1"),
    ("lmt 2", patched("device.lmt", 2), "device.lmt", r"<= 1"),
    ("dnt -1", patched("device.dnt", -1), "device.dnt", r">= 0"),
    ("test 2", patched("test", 2), "test", r"<= 1"),
    ("tmax negative", patched("tmax", -1), "tmax", r">= 0"),
    ("cur not array", patched("cur", "USD"), "cur", r"Expected `array`, got `str`"),
    ("bcat item", patched("bcat", ["IAB1", 2]), "bcat[1]", r"Expected `str`, got `int`"),
    ("banner w 2**31", patched("imp.0.banner", {"w": 2**31, "h": 50}), "imp[0].banner.w",
     r"<= 2147483647"),
    ("maxseq 2**63", patched("imp.0.audio", {"maxseq": 2**63, "poddur": 30}),
     "imp[0].audio.maxseq", r"<= 2147483647"),
    ("startdelay -2**40", patched("imp.0.video", {"startdelay": -(2**40)}),
     "imp[0].video.startdelay", r">= -2147483648"),
    ("protocols 2**32", patched("imp.0.audio", {"protocols": [2**32]}),
     "imp[0].audio.protocols[0]", r"<= 2147483647"),
    ("at 2**40", patched("at", 2**40), "at", r"<= 2147483647"),
    ("utcoffset", patched("device.geo.utcoffset", 5000), "device.geo.utcoffset", r"<= 840"),
    ("coppa 3", patched("regs.coppa", 3), "regs.coppa", r"<= 1"),
    ("gdpr 2", patched("regs.gdpr", 2), "regs.gdpr", r"<= 1"),
    ("gpp_sid item", patched("regs.gpp_sid", [7, "x"]), "regs.gpp_sid[1]", r"`int`"),
    ("ext not object", patched("ext", [1]), "ext", r"Expected `object \| null`"),
    ("segment id", patched("user.data", [{"segment": [{"id": 1}]}]), "user.data[0].segment[0].id",
     r"`str \| null`, got `int`"),
    ("eid uid", patched("user.eids", [{"uids": [{"atype": "x"}]}]), "user.eids[0].uids[0].atype",
     r"`int \| null`, got `str`"),
    ("deal missing id", patched("imp.0.pmp", {"deals": [{"bidfloor": 1}]}),
     "imp[0].pmp.deals[0].id", r"required field is missing"),
    ("deal negative floor", patched("imp.0.pmp", {"deals": [{"id": "d", "bidfloor": -1}]}),
     "imp[0].pmp.deals[0].bidfloor", r">= 0"),
    ("private_auction 2", patched("imp.0.pmp", {"private_auction": 2}),
     "imp[0].pmp.private_auction", r"<= 1"),
    ("native without request", patched("imp.0.native", {"ver": "1.2"}), "imp[0].native.request",
     r"required field is missing"),
    ("video minduration", patched("imp.0.video", {"minduration": -5}),
     "imp[0].video.minduration", r">= 0"),
    ("banner format", patched("imp.0.banner", {"format": [{"w": "300"}]}),
     "imp[0].banner.format[0].w", r"`int \| null`, got `str`"),
    ("site publisher type", patched("site.publisher", "pub"), "site.publisher",
     r"Expected `object \| null`, got `str`"),
    ("duplicate imp ids", {"id": "r", "imp": [{"id": "1"}, {"id": "2"}, {"id": "1"}]},
     "imp[2].id", r"duplicate impression id '1'"),
]  # fmt: skip


def _assert_invalid(
    exc: pytest.ExceptionInfo[InvalidRequest], field: str | None, pattern: str
) -> None:
    assert exc.value.field == field
    assert re.search(pattern, str(exc.value)), str(exc.value)
    if field is not None:
        assert str(exc.value).startswith(f"{field}: ")


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize(
    ("data", "field", "pattern"),
    [pytest.param(d, f, p, id=name) for name, d, f, p in BAD_REQUESTS],
)
def test_bad_requests(format: Fmt, data: Any, field: str | None, pattern: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        decode_request(wire(data, format), format)
    _assert_invalid(exc, field, pattern)


INF_DEALS = {"deals": [{"id": "a"}, {"id": "b", "bidfloor": math.inf}]}

# Payloads only JSON (or only msgpack) can carry.
BAD_PAYLOADS: list[tuple[Fmt, str, bytes, str | None, str]] = [
    ("json", "truncated", b'{"id": "r", ', None, r"malformed JSON.*truncated"),
    ("json", "not json", b"not json", None, r"malformed JSON"),
    ("json", "empty", b"", None, r"malformed JSON"),
    ("json", "trailing garbage", b'{"id": "r", "imp": [{"id": "1"}]} x', None, r"malformed"),
    ("json", "NaN token", b'{"id": "r", "imp": [{"id": "1", "bidfloor": NaN}]}', None,
     r"malformed"),
    ("json", "overflowing floor", b'{"id": "r", "imp": [{"id": "1", "bidfloor": 1e400}]}',
     "imp[0].bidfloor", r"out of range"),
    ("msgpack", "invalid byte", b"\xc1", None, r"malformed MessagePack"),
    ("msgpack", "truncated", msgspec.msgpack.encode(minimal())[:-3], None, r"malformed"),
    ("msgpack", "NaN floor", msgspec.msgpack.encode(patched("imp.0.bidfloor", math.nan)),
     "imp[0].bidfloor", r">= 0"),
    ("msgpack", "inf floor", msgspec.msgpack.encode(patched("imp.0.bidfloor", math.inf)),
     "imp[0].bidfloor", r"must be a finite number, got inf"),
    ("msgpack", "-inf floor", msgspec.msgpack.encode(patched("imp.0.bidfloor", -math.inf)),
     "imp[0].bidfloor", r">= 0"),
    ("msgpack", "inf deal floor", msgspec.msgpack.encode(patched("imp.0.pmp", INF_DEALS)),
     "imp[0].pmp.deals[1].bidfloor", r"finite"),
    ("msgpack", "binary id", msgspec.msgpack.encode(patched("id", b"\x00")), "id",
     r"Expected `str`, got `bytes`"),
    ("msgpack", "int keys", msgspec.msgpack.encode({1: "r", "imp": [{"id": "1"}]}), None,
     r"Expected `str`"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("format", "data", "field", "pattern"),
    [pytest.param(fm, d, f, p, id=f"{fm}-{name}") for fm, name, d, f, p in BAD_PAYLOADS],
)
def test_bad_payloads(format: Fmt, data: bytes, field: str | None, pattern: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        decode_request(data, format)
    _assert_invalid(exc, field, pattern)


@pytest.mark.parametrize("format", FORMATS)
def test_payload_over_max_bytes(format: Fmt) -> None:
    data = wire({**minimal(), "ext": {"pad": "x" * 2000}}, format)
    assert decode_request(data, format, max_bytes=len(data)).id == "r1"
    with pytest.raises(InvalidRequest, match=rf"payload is {len(data)} bytes.*limit") as exc:
        decode_request(data, format, max_bytes=len(data) - 1)
    assert exc.value.field is None
    with pytest.raises(InvalidRequest, match="over the 65536-byte limit"):
        decode_request(wire({**minimal(), "ext": {"pad": "x" * 65_536}}, format), format)


def test_max_bytes_counts_utf8_bytes_of_str() -> None:
    text = json.dumps({**minimal(), "ext": {"pad": "é" * 600}}, ensure_ascii=False)
    assert len(text) < 1000 < len(text.encode())
    with pytest.raises(InvalidRequest, match="bytes"):
        decode_request(text, max_bytes=1000)


def test_unknown_format_and_bad_argument_types() -> None:
    data = json.dumps(minimal()).encode()
    req = decode_request(data)
    resp = BidResponse(id="r")
    # Decoding answers every bad argument with the one documented exception.
    with pytest.raises(InvalidRequest, match="format") as exc:
        decode_request(data, "xml")  # type: ignore[arg-type]
    assert exc.value.field == "format"
    with pytest.raises(InvalidRequest, match="format"):
        decode_response(data, "yaml")  # type: ignore[arg-type]
    for call in (
        lambda: encode_request(req, "xml"),  # type: ignore[arg-type]
        lambda: encode_response(resp, "yaml"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError, match="format"):
            call()
    with pytest.raises(InvalidRequest, match="bytes"):
        decode_request(12)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="MessagePack"):
        decode_request(data.decode(), "msgpack")


# ------------------------------------------------------------ check and validate Structs

NAN, INF = math.nan, math.inf


def one_imp(**kw: Any) -> BidRequest:
    return BidRequest(id="r", imp=(Imp(id="1", **kw),))


NEGATIVE_DEAL = Pmp(deals=(Deal(id="d"), Deal(id="e", bidfloor=-2.0)))

BAD_STRUCTS: list[tuple[str, BidRequest, str, str]] = [
    ("nan floor", one_imp(bidfloor=NAN), "imp[0].bidfloor", r"finite number, got nan"),
    ("inf floor", one_imp(bidfloor=INF), "imp[0].bidfloor", r"finite"),
    ("negative floor", one_imp(bidfloor=-1.0), "imp[0].bidfloor", r">= 0"),
    ("nan floor, third imp",
     BidRequest(id="r", imp=(Imp(id="1"), Imp(id="2"), Imp(id="3", bidfloor=NAN))),
     "imp[2].bidfloor", r"finite"),
    ("duplicate ids", BidRequest(id="r", imp=(Imp(id="a"), Imp(id="a"))), "imp[1].id",
     r"duplicate"),
    ("empty imp", BidRequest(id="r", imp=()), "imp", r"at least one"),
    ("at 3", BidRequest(id="r", imp=(Imp(id="1"),), at=3), "at", r"got 3"),
    ("nan deal floor", one_imp(pmp=Pmp(deals=(Deal(id="d", bidfloor=NAN),))),
     "imp[0].pmp.deals[0].bidfloor", r"finite"),
    ("negative deal floor, 2nd imp",
     BidRequest(id="r", imp=(Imp(id="1"), Imp(id="2", pmp=NEGATIVE_DEAL))),
     "imp[1].pmp.deals[1].bidfloor", r">= 0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("req", "field", "pattern"), [pytest.param(r, f, p, id=n) for n, r, f, p in BAD_STRUCTS]
)
def test_check_request_rejects(req: BidRequest, field: str, pattern: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        check_request(req)
    _assert_invalid(exc, field, pattern)
    # validate_request catches the same problems (msgspec or check_request wording).
    with pytest.raises(InvalidRequest) as exc2:
        validate_request(req)
    assert exc2.value.field == field


def test_check_request_accepts_valid() -> None:
    for path in REQUEST_FILES:
        check_request(decode_request(path.read_bytes()))
    check_request(BidRequest(id="r", imp=(Imp(id="1"), Imp(id="2", bidfloor=3.0)), at=501))


BAD_TYPES: list[tuple[str, BidRequest, str | None, str]] = [
    ("int id", BidRequest(id=5, imp=(Imp(id="1"),)), "id", r"Expected `str`, got `int`"),  # type: ignore[arg-type]
    ("str floor", one_imp(bidfloor="1.0"), "imp[0].bidfloor", r"`float`, got `str`"),
    ("devicetype 9", BidRequest(id="r", imp=(Imp(id="1"),), device=Device(devicetype=9)),  # type: ignore[arg-type]
     "device.devicetype", r"enum value 9"),
    ("lmt 2", BidRequest(id="r", imp=(Imp(id="1"),), device=Device(lmt=2)), "device.lmt", r"<= 1"),
    ("object as site", BidRequest(id="r", imp=(Imp(id="1"),), site=object()), "site",  # type: ignore[arg-type]
     r"object is not OpenRTB data"),
    ("object in cur", BidRequest(id="r", imp=(Imp(id="1"),), cur=(object(),)), "cur[0]",  # type: ignore[arg-type]
     r"not OpenRTB data"),
    ("object in ext", one_imp(ext={"k": object()}), None, r"ext holds a value of type object"),
    ("int ext key", one_imp(ext={1: "v"}), "imp[0].ext", r"object key"),
    ("imp None", BidRequest(id="r", imp=None), "imp", r"got `null`"),  # type: ignore[arg-type]
]  # fmt: skip


@pytest.mark.parametrize(
    ("req", "field", "pattern"), [pytest.param(r, f, p, id=n) for n, r, f, p in BAD_TYPES]
)
def test_validate_request_rejects(req: BidRequest, field: str | None, pattern: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        validate_request(req)
    _assert_invalid(exc, field, pattern)


def test_validate_request_normalises() -> None:
    req = BidRequest(
        id="r",
        imp=[Imp(id="1", bidfloor=2)],  # type: ignore[arg-type]
        cur=["EUR"],  # type: ignore[arg-type]
        device=Device(devicetype=4),  # type: ignore[arg-type]
    )
    out = validate_request(req)
    assert out.imp == (Imp(id="1", bidfloor=2.0),) and isinstance(out.imp[0].bidfloor, float)
    assert out.cur == ("EUR",)
    assert out.device is not None and out.device.devicetype is DeviceType.PHONE
    for path in REQUEST_FILES:
        decoded = decode_request(path.read_bytes())
        assert validate_request(decoded) == decoded


# ---------------------------------------------------------------------------- responses


def _resp(**bid: Any) -> dict[str, Any]:
    return {"id": "r", "seatbid": [{"bid": [{"id": "b", "impid": "1", "price": 1.0, **bid}]}]}


BAD_RESPONSES: list[tuple[str, Any, str | None, str]] = [
    ("not object", [1], None, r"Expected `object`"),
    ("missing price", {"id": "r", "seatbid": [{"bid": [{"id": "b", "impid": "1"}]}]},
     "seatbid[0].bid[0].price", r"required field is missing"),
    ("empty bid list", {"id": "r", "seatbid": [{"bid": []}]}, "seatbid[0].bid", r"length >= 1"),
    ("negative price", _resp(price=-1.0), "seatbid[0].bid[0].price", r">= 0"),
    ("mtype 5", _resp(mtype=5), "seatbid[0].bid[0].mtype", r"<= 4"),
    ("cur array", {"id": "r", "cur": ["USD"]}, "cur", r"Expected `str`"),
]  # fmt: skip


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize(
    ("data", "field", "pattern"), [pytest.param(d, f, p, id=n) for n, d, f, p in BAD_RESPONSES]
)
def test_bad_responses(format: Fmt, data: Any, field: str | None, pattern: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        decode_response(wire(data, format), format)
    _assert_invalid(exc, field, pattern)


def test_response_inf_price_rejected() -> None:
    with pytest.raises(InvalidRequest, match="finite") as exc:
        decode_response(msgspec.msgpack.encode(_resp(price=math.inf)), "msgpack")
    assert exc.value.field == "seatbid[0].bid[0].price"
    with pytest.raises(InvalidRequest, match="limit"):
        decode_response(json.dumps(_resp()).encode(), max_bytes=10)


def test_build_and_encode_response() -> None:
    bid = Bid(id="b1", impid="1", price=2.5, adomain=("ford.com",), mtype=MTYPE_VIDEO, dur=15)
    resp = BidResponse(id="r", seatbid=(SeatBid(bid=(bid,), seat="s1"),), bidid="x")
    assert json.loads(encode_response(resp)) == {
        "id": "r",
        "bidid": "x",
        "seatbid": [
            {
                "seat": "s1",
                "bid": [
                    {
                        "id": "b1",
                        "impid": "1",
                        "price": 2.5,
                        "adomain": ["ford.com"],
                        "mtype": 2,
                        "dur": 15,
                    }
                ],
            }
        ],
    }
    assert decode_response(encode_response(resp, "msgpack"), "msgpack") == resp


def test_public_names_keep_the_package_as_their_module() -> None:
    """The package is split into private modules, but every public class and function
    still names ``adcore.openrtb`` as its module: a bus recording names a Struct class by
    ``module:qualname`` and a pickle by module, so both keep the public path."""
    for name in rtb.__all__:
        obj = getattr(rtb, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__ == "adcore.openrtb", name
    req = BidRequest(id="r", imp=(Imp(id="1"),), device=Device(devicetype=DeviceType.PHONE))
    assert pickle.dumps(BidRequest, protocol=0).startswith(b"cadcore.openrtb\nBidRequest\n")
    assert pickle.loads(pickle.dumps(req)) == req
    bus = Bus(record=True)
    bus.publish(req)
    log = bus.recording()
    assert b"adcore.openrtb:BidRequest" in log
    seen: list[BidRequest] = []
    replayed = Bus()
    replayed.subscribe(BidRequest, seen.append)
    assert replayed.replay(log) == 1
    assert seen == [req]
    assert mi.type_info(BidRequest) == REQUEST_TYPE  # annotations resolve in place
