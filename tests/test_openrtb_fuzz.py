"""Property and fuzz tests of adcore.openrtb's codecs.

* Arbitrary bytes, arbitrary JSON-like data and mutated spec examples never make the
  decoders raise anything but InvalidRequest; when they succeed the result is valid.
* Arbitrary valid requests (built by a strategy) round-trip through JSON and msgpack, and
  pass validate_request unchanged.
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any, Literal

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adcore.errors import InvalidRequest
from adcore.openrtb import (
    EID,
    UID,
    App,
    Audio,
    Banner,
    BidRequest,
    Content,
    Data,
    Deal,
    Device,
    DeviceType,
    Format,
    Geo,
    Imp,
    Native,
    Pmp,
    Publisher,
    Regs,
    Segment,
    Site,
    Source,
    User,
    Video,
    check_request,
    decode_request,
    decode_response,
    encode_request,
    validate_request,
)

DATA = pathlib.Path(__file__).parent / "data" / "openrtb"
EXAMPLES = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(DATA.glob("request_*.json"))]
try:
    from tests.fuzzing import VOCABULARY  # every field name of the OpenRTB Structs
except ImportError:  # pytest run without the project root on sys.path
    from fuzzing import VOCABULARY  # type: ignore[no-redef]

FORMATS: tuple[Literal["json", "msgpack"], ...] = ("json", "msgpack")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["1", "USD", "", "0"])
    | st.integers(-3, 600)
)
keys = st.sampled_from(VOCABULARY) | st.text(max_size=4)
json_like = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(keys, c, max_size=5),
    max_leaves=25,
)


def _msgpack(value: Any) -> bytes | None:
    try:
        return msgspec.msgpack.encode(value)
    except OverflowError:  # msgpack cannot carry ints beyond 64 bits (JSON can)
        return None


def _must_be_valid_or_invalid_request(
    data: bytes | str | None, format: Literal["json", "msgpack"]
) -> None:
    if data is None:
        return
    try:
        req = decode_request(data, format)
    except InvalidRequest as exc:
        assert isinstance(exc.field, str | None)
        assert str(exc)
        return
    assert isinstance(req, BidRequest)
    check_request(req)
    assert decode_request(encode_request(req, "msgpack"), "msgpack") == req


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    for format in FORMATS:
        _must_be_valid_or_invalid_request(data, format)
        try:
            decode_response(data, format)
        except InvalidRequest:
            pass


@FUZZ
@given(json_like)
def test_random_structures(value: Any) -> None:
    _must_be_valid_or_invalid_request(json.dumps(value), "json")
    _must_be_valid_or_invalid_request(_msgpack(value), "msgpack")
    try:
        validate_request(value)  # plain data works too
    except InvalidRequest:
        pass


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    """A spec example with one to three values somewhere inside replaced or deleted."""
    doc = json.loads(json.dumps(draw(st.sampled_from(EXAMPLES))))
    for _ in range(draw(st.integers(1, 3))):
        node: Any = doc
        while True:
            if isinstance(node, dict) and node:
                key: Any = draw(st.sampled_from(sorted(node)))
            elif isinstance(node, list) and node:
                key = draw(st.integers(0, len(node) - 1))
            else:
                break
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                node = child
                continue
            if isinstance(node, dict) and draw(st.integers(0, 4)) == 0:
                del node[key]
            else:
                node[key] = draw(json_like)
            break
    return doc


@FUZZ
@given(mutated_examples())
def test_mutated_examples(doc: Any) -> None:
    _must_be_valid_or_invalid_request(json.dumps(doc), "json")
    _must_be_valid_or_invalid_request(_msgpack(doc), "msgpack")


# --------------------------------------------------------------- valid-request strategy

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)
opt_text = st.none() | text
flag = st.integers(0, 1)
opt_flag = st.none() | flag
nonneg = st.integers(0, 2**31 - 1)
opt_nonneg = st.none() | nonneg
any_int = st.integers(-(2**31), 2**31 - 1)
price = st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False)
strs = st.lists(text, max_size=3).map(tuple)
ints = st.lists(any_int, max_size=3).map(tuple)
plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3),
    max_leaves=6,
)
ext = st.none() | st.dictionaries(text, plain, max_size=3)


def tuples(s: st.SearchStrategy[Any], max_size: int = 2) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(s, max_size=max_size).map(tuple)


banners = st.builds(
    Banner,
    format=tuples(st.builds(Format, w=opt_nonneg, h=opt_nonneg, wmin=opt_nonneg)),
    w=opt_nonneg,
    h=opt_nonneg,
    battr=ints,
    pos=st.none() | any_int,
    mimes=strs,
    api=ints,
    id=opt_text,
    ext=ext,
)
videos = st.builds(
    Video,
    mimes=strs,
    minduration=nonneg,
    maxduration=opt_nonneg,
    startdelay=st.none() | any_int,
    protocols=ints,
    plcmt=st.none() | any_int,
    skip=opt_flag,
    podid=opt_text,
    podseq=any_int,
    rqddurs=ints,
    mincpmpersec=st.none() | price,
    boxingallowed=flag,
    companionad=tuples(banners, 1),
)
audios = st.builds(
    Audio,
    mimes=strs,
    minduration=nonneg,
    poddur=opt_nonneg,
    feed=st.none() | any_int,
    stitched=opt_flag,
    maxseq=opt_nonneg,
)
deals = st.builds(
    Deal,
    id=text,
    bidfloor=price,
    bidfloorcur=text,
    at=st.none() | any_int,
    wseat=strs,
    wadomain=strs,
    ext=ext,
)
imps = st.builds(
    Imp,
    id=text,
    banner=st.none() | banners,
    video=st.none() | videos,
    audio=st.none() | audios,
    native=st.none() | st.builds(Native, request=text, ver=opt_text),
    pmp=st.none() | st.builds(Pmp, private_auction=flag, deals=tuples(deals)),
    tagid=opt_text,
    bidfloor=price,
    bidfloorcur=text,
    instl=flag,
    secure=opt_flag,
    exp=opt_nonneg,
    ext=ext,
)
publishers = st.builds(Publisher, id=opt_text, name=opt_text, cat=strs, domain=opt_text)
contents = st.builds(
    Content,
    id=opt_text,
    episode=st.none() | any_int,
    season=opt_text,
    cat=strs,
    livestream=opt_flag,
    len=opt_nonneg,
    language=opt_text,
)
geos = st.builds(
    Geo,
    lat=st.none() | st.floats(-90, 90),
    lon=st.none() | st.floats(-180, 180),
    type=st.none() | any_int,
    country=opt_text,
    utcoffset=st.none() | st.integers(-720, 840),
)
requests = st.builds(
    BidRequest,
    id=text,
    imp=st.lists(imps, min_size=1, max_size=3).map(
        lambda xs: tuple(msgspec.structs.replace(imp, id=f"{i}") for i, imp in enumerate(xs))
    ),
    site=st.none()
    | st.builds(
        Site,
        id=opt_text,
        domain=opt_text,
        cat=strs,
        page=opt_text,
        mobile=opt_flag,
        publisher=st.none() | publishers,
        content=st.none() | contents,
    ),
    app=st.none()
    | st.builds(App, bundle=opt_text, paid=opt_flag, publisher=st.none() | publishers),
    device=st.none()
    | st.builds(
        Device,
        ua=opt_text,
        geo=st.none() | geos,
        devicetype=st.none() | st.sampled_from(DeviceType),
        lmt=opt_flag,
        dnt=opt_flag,
        w=opt_nonneg,
        pxratio=st.none() | st.floats(min_value=0.0, exclude_min=True, allow_infinity=False),
        ext=ext,
    ),
    user=st.none()
    | st.builds(
        User,
        id=opt_text,
        yob=st.none() | any_int,
        consent=opt_text,
        data=tuples(
            st.builds(
                Data,
                id=opt_text,
                segment=tuples(st.builds(Segment, id=opt_text, value=opt_text)),
            )
        ),
        eids=tuples(
            st.builds(
                EID,
                source=opt_text,
                uids=tuples(st.builds(UID, id=opt_text, atype=st.none() | any_int)),
            )
        ),
        geo=st.none() | geos,
    ),
    regs=st.none()
    | st.builds(Regs, coppa=flag, gdpr=opt_flag, us_privacy=opt_text, gpp=opt_text, gpp_sid=ints),
    source=st.none()
    | st.builds(Source, fd=opt_flag, tid=opt_text, schain=st.none() | st.dictionaries(text, plain)),
    test=flag,
    at=st.sampled_from([1, 2]) | st.integers(500, 2**31 - 1),
    tmax=opt_nonneg,
    cur=strs,
    bcat=strs,
    badv=strs,
    bapp=strs,
    wseat=strs,
    bseat=strs,
    cattax=st.integers(1, 600),
    ext=ext,
)


@settings(max_examples=200, deadline=None)
@given(requests)
def test_valid_requests_round_trip(req: BidRequest) -> None:
    check_request(req)
    assert validate_request(req) == req
    for format in FORMATS:
        encoded = encode_request(req, format)
        assert decode_request(encoded, format, max_bytes=10**7) == req
    loaded = json.loads(encode_request(req))
    assert loaded["id"] == req.id
    assert [imp["id"] for imp in loaded["imp"]] == [imp.id for imp in req.imp]
    for raw_imp, imp in zip(loaded["imp"], req.imp, strict=True):
        assert math.isclose(raw_imp.get("bidfloor", 0.0), imp.bidfloor, rel_tol=0, abs_tol=0)
