"""Deterministic fuzzing of adcore's untrusted inputs, shared by ``tests/test_fuzz.py``
(a few thousand cases in the default suite) and ``bench/fuzz_requests.py`` (a million).

The contract under test (``docs/engine.md``, ``docs/openrtb.md``):

* ``Engine.decide(x)`` with any bytes, str or Struct ``x`` returns a Decision or raises
  :class:`adcore.InvalidRequest` naming the field, and a rejected request changes no
  state at all (clock, random streams, budgets, pending impressions, counters other than
  ``stats().invalid_requests``);
* ``Engine.feedback(e)`` raises only :class:`adcore.InvalidEvent` for a bad event, and
  then changes nothing;
* accepted inputs keep the invariants: a filled slot's price is at most its bid and at
  least its floor, spend never exceeds a budget, no balance goes negative, an
  impression id is charged once; a slot is of a media type its impression offers,
  within that media object's durations, pods and block lists (:func:`check_decision`);
* bad catalog and configuration values raise only InvalidCatalog / InvalidConfig naming
  the field (:data:`CATALOG_TABLE`, :data:`CONFIG_TABLE`).

Everything is drawn from :class:`random.Random` seeded with a string (hashed with
SHA-512, so independent of ``PYTHONHASHSEED``): case ``i`` of seed ``s`` is the same on
every run and can be rebuilt alone with :func:`request_case`.

How the state check works: a :class:`Harness` runs two engines built alike (the same
catalog and configuration, exploration on, latency budget off so nothing depends on
wall-clock time). The first sees every fuzzed input; the twin sees only the accepted
ones (and the same feedback). After each rejected input the two must agree on
``stats()`` (but for the invalid-request counter), on every campaign's balance, and on
the decision of a fixed probe request; with exploration on, a random number drawn by
the rejected input changes the probe's decision with near certainty (16 impressions,
each explored with probability 1/2). After an exception outside the contract the
engines are rebuilt, so later cases are judged alone. Rejected inputs are decided,
half of the time, a day and a half after the last accepted one, so a rejected request
that moves the engine's clock rolls the budget day and expires holds where the twin
does not.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import re
import struct
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi

from adcore import (
    Ad,
    Campaign,
    Catalog,
    Creative,
    Decision,
    Engine,
    EngineConfig,
    FrequencyCap,
    InvalidCatalog,
    InvalidConfig,
    InvalidEvent,
    InvalidRequest,
    Targeting,
    demo,
)
from adcore import openrtb as rtb
from adcore.catalog import category_closure
from adcore.events import Click, Complete, Conversion, Impression, PauseCampaign, Skip

DATA = Path(__file__).resolve().parent / "data"
START = demo.DEMO_START
STEP = 7.0
"""Seconds between cases on the engines' clock."""
JUMP = 1.5 * 86400.0
"""How far ahead of the last accepted request a 'jump' case is decided."""

# --------------------------------------------------------------------------- seeds


def spec_examples() -> list[tuple[str, dict[str, Any]]]:
    """The OpenRTB 2.6 specification's example requests (section 6.2), by file stem."""
    return [
        (p.stem, json.loads(p.read_text(encoding="utf-8")))
        for p in sorted((DATA / "openrtb").glob("request_*.json"))
    ]


def consent_strings() -> dict[str, list[str]]:
    """Published TCF, US Privacy and GPP strings (``tests/data/consent/strings.json``),
    the US state sections each made a GPP string."""
    from reference.tcf_encoder import encode_gpp

    raw = json.loads((DATA / "consent" / "strings.json").read_text(encoding="utf-8"))
    out = {k: [x["string"] for x in raw.get(k, [])] for k in ("tcf", "usp", "gpp")}
    out["tcf"] += [x["string"] for x in raw.get("tcf_rejected", [])]
    out["gpp"] += [encode_gpp([(x["section_id"], x["string"])]) for x in raw.get("us_sections", [])]
    return out


def sample_docs(n: int = 40, seed: int = 11) -> list[tuple[str, dict[str, Any]]]:
    """``adcore.demo.sample_requests`` as plain JSON data."""
    return [
        (f"sample:{r.id}", json.loads(rtb.encode_request(r)))
        for r in demo.sample_requests(n, seed=seed)
    ]


PREBID_DEVICE_SUA: dict[str, Any] = {
    "id": "some-request-id",
    "site": {"page": "prebid.org", "publisher": {"id": "a3de7af2-a86a-4043-a77b-c7e86744155e"}},
    "tmax": 1000,
    "imp": [
        {
            "id": "some-impression-id",
            "ext": {"appnexus": {"placementId": 12883451}},
            "banner": {"format": [{"w": 300, "h": 250}, {"w": 300, "h": 300}]},
        }
    ],
    "device": {
        "ua": "Mozilla",
        "geo": {"lat": 123.456, "lon": 678.90, "zip": "90210"},
        "sua": {
            "browsers": [{"brand": "MS", "ext": {}}, {"brand": "MS", "ext": {}}],
            "platform": {"brand": "MS", "ext": {}},
            "model": "mac",
        },
        "dnt": 1,
        "lmt": 1,
    },
}
"""The bid request of Prebid Server's exemplary test ``device-sua.json``
(prebid/prebid-server, ``endpoints/openrtb2/sample-requests/valid-whole/exemplary/``),
which Prebid Server accepts: its ``device.geo`` has latitude 123.456 and longitude
678.90, both out of range, in a field that touches neither money, consent nor
eligibility."""


def _field_names(t: Any, seen: set[str]) -> set[str]:
    if isinstance(t, mi.Metadata):
        return _field_names(t.type, seen)
    if isinstance(t, mi.UnionType):
        for x in t.types:
            _field_names(x, seen)
    elif isinstance(t, mi.VarTupleType | mi.ListType):
        _field_names(t.item_type, seen)
    elif isinstance(t, mi.StructType):
        for f in t.fields:
            if f.encode_name not in seen:
                seen.add(f.encode_name)
                _field_names(f.type, seen)
    return seen


VOCABULARY = sorted(_field_names(mi.type_info(rtb.BidRequest), set()))
"""Every field name of every OpenRTB Struct: names the 'insert field' mutation adds."""
ROOTS = frozenset(f.encode_name for f in mi.type_info(rtb.BidRequest).fields)
"""The top-level fields of a bid request: the first part of every ``field`` path."""

# ------------------------------------------------------------------ raw encodings


@dataclass(frozen=True)
class Raw:
    """A value written out verbatim: JSON text and its MessagePack bytes."""

    json: str
    msgpack: bytes
    name: str


@dataclass(frozen=True)
class BadStr:
    """A string whose encoded bytes are given (invalid UTF-8 inside a JSON or
    MessagePack string)."""

    raw: bytes


class Pairs(list):  # type: ignore[type-arg]
    """An object written with its keys in order, duplicates allowed: ``[(key, value)]``."""


def _f64(x: float) -> bytes:
    return b"\xcb" + struct.pack(">d", x)


def _token(text: str, value: float) -> Raw:
    return Raw(json=text, msgpack=_f64(value), name=text)


TOKENS = [
    _token("Infinity", math.inf),
    _token("-Infinity", -math.inf),
    _token("NaN", math.nan),
    _token("1e999", math.inf),
    _token("-1e999", -math.inf),
    _token("1e-999", 0.0),
    _token("-0", -0.0),
    _token("1E400", math.inf),
]
"""Number tokens JSON cannot carry (or only by overflowing), with their MessagePack
floats."""


def nested(depth: int, kind: str = "array") -> Raw:
    """``depth`` nested arrays (``[[[...]]]``) or objects (``{"a":{"a":...}}``)."""
    if kind == "array":
        return Raw("[" * depth + "]" * depth, b"\x91" * (depth - 1) + b"\x90", f"[]*{depth}")
    return Raw('{"a":' * depth + "0" + "}" * depth, b"\x81\xa1a" * depth + b"\x00", f"{{}}*{depth}")


def _json_chunks(v: Any, out: list[str | bytes]) -> None:
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        if math.isnan(v):
            out.append("NaN")
        elif math.isinf(v):
            out.append("1e999" if v > 0 else "-1e999")
        else:
            out.append(repr(v))
    elif isinstance(v, str):
        out.append(json.dumps(v, ensure_ascii=False))
    elif isinstance(v, BadStr):
        out.append(b'"' + v.raw + b'"')
    elif isinstance(v, Raw):
        out.append(v.json)
    elif isinstance(v, Pairs | dict):
        items = list(v) if isinstance(v, Pairs) else list(v.items())
        out.append("{")
        for i, (k, x) in enumerate(items):
            if i:
                out.append(",")
            out.append(json.dumps(str(k), ensure_ascii=False))
            out.append(":")
            _json_chunks(x, out)
        out.append("}")
    elif isinstance(v, list | tuple):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _json_chunks(x, out)
        out.append("]")
    elif isinstance(v, bytes):
        out.append(json.dumps(v.decode("latin-1")))
    else:
        raise TypeError(f"cannot write {type(v).__name__} as JSON")


def encode_json(doc: Any) -> bytes:
    """``doc`` as JSON bytes; lone surrogates are written as their (invalid) UTF-8."""
    out: list[str | bytes] = []
    _json_chunks(doc, out)
    return b"".join(c if isinstance(c, bytes) else c.encode("utf-8", "surrogatepass") for c in out)


def encode_json_str(doc: Any) -> str:
    """``doc`` as a JSON str; invalid UTF-8 bytes become lone surrogates."""
    out: list[str | bytes] = []
    _json_chunks(doc, out)
    return "".join(c.decode("utf-8", "surrogateescape") if isinstance(c, bytes) else c for c in out)


def _mp_len(out: bytearray, n: int, fix: int, fix_max: int, codes: tuple[int, int, int]) -> None:
    if n < fix_max:
        out.append(fix | n)
    elif codes[0] and n < 1 << 8:
        out += bytes((codes[0], n))
    elif n < 1 << 16:
        out.append(codes[1])
        out += struct.pack(">H", n)
    else:
        out.append(codes[2])
        out += struct.pack(">I", n)


def _mp(v: Any, out: bytearray) -> None:
    if v is None:
        out.append(0xC0)
    elif v is True:
        out.append(0xC3)
    elif v is False:
        out.append(0xC2)
    elif isinstance(v, int):
        if 0 <= v < 128:
            out.append(v)
        elif 0 <= v < 1 << 64:
            out += b"\xcf" + struct.pack(">Q", v)
        elif -32 <= v < 0:
            out.append(v & 0xFF)
        elif -(1 << 63) <= v < 0:
            out += b"\xd3" + struct.pack(">q", v)
        else:  # beyond 64 bits MessagePack has no integer: the nearest float
            try:
                out += _f64(float(v))
            except OverflowError:
                out += _f64(math.inf if v > 0 else -math.inf)
    elif isinstance(v, float):
        out += _f64(v)
    elif isinstance(v, str | BadStr):
        data = v.raw if isinstance(v, BadStr) else v.encode("utf-8", "surrogatepass")
        _mp_len(out, len(data), 0xA0, 32, (0xD9, 0xDA, 0xDB))
        out += data
    elif isinstance(v, bytes):
        out += (
            b"\xc4" + bytes((len(v),)) + v
            if len(v) < 256
            else b"\xc6" + struct.pack(">I", len(v)) + v
        )
    elif isinstance(v, Raw):
        out += v.msgpack
    elif isinstance(v, Pairs | dict):
        items = list(v) if isinstance(v, Pairs) else list(v.items())
        _mp_len(out, len(items), 0x80, 16, (0, 0xDE, 0xDF))
        for k, x in items:
            _mp(str(k), out)
            _mp(x, out)
    elif isinstance(v, list | tuple):
        _mp_len(out, len(v), 0x90, 16, (0, 0xDC, 0xDD))
        for x in v:
            _mp(x, out)
    else:
        raise TypeError(f"cannot write {type(v).__name__} as MessagePack")


def encode_msgpack(doc: Any) -> bytes:
    """``doc`` as MessagePack (ints beyond 64 bits become floats, as nothing else can
    carry them)."""
    out = bytearray()
    _mp(doc, out)
    return bytes(out)


# ------------------------------------------------------------------ value pools

JSON_TYPES = ("str", "int", "float", "list", "object", "null", "bool")

# fmt: off
HUGE_INTS = [
    2**31 - 1, 2**31, -(2**31) - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63, -(2**63),
    -(2**63) - 1, 2**64 - 1, 2**64, 10**400, -(10**400), -1, 0,
]
EXTREME_FLOATS = [
    1e308, -1e308, 1.7976931348623157e308, 5e-324, -0.0, -1.0, 1e-300,
    math.inf, -math.inf, math.nan,
]
INVALID_UTF8 = [
    b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80",
    b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\x80",
]
LONE_SURROGATES = ["\ud800", "\udfff", "\ud83d", "\ude00", "a\udc80b"]
LONG_CHARS = ["a", "A", "\u00e9", "\U0001f600", "\u2028", "~", "\\", '"', "\x00", "1"]
SCALARS = [
    None, True, False, 0, 1, -1, 2, 7, 300, 0.5, 1.5, "", "1", "0", "USD", "abc", "IAB1",
    "video/mp4",
]
STRING_FIELDS = [
    ("device", "ua"), ("user", "consent"), ("regs", "gpp"), ("regs", "us_privacy"),
    ("user", "id"), ("device", "ip"), ("site", "page"), ("site", "keywords"), (None, "id"),
]
# fmt: on
"""Where long strings are put besides random string fields: the values the engine
parses (user agents, consent strings, addresses, keywords)."""


def extreme_number(rng: random.Random) -> Any:
    pick = rng.random()
    if pick < 0.45:
        return rng.choice(HUGE_INTS)
    if pick < 0.75:
        return rng.choice(EXTREME_FLOATS)
    return rng.choice(TOKENS)


def scalar(rng: random.Random) -> Any:
    pick = rng.random()
    if pick < 0.8:
        return rng.choice(SCALARS)
    return rng.choice(HUGE_INTS) if pick < 0.9 else rng.choice(EXTREME_FLOATS)


def json_type(v: Any) -> str:
    """The JSON type of ``v``: null, bool, int, float, str, list or object."""
    for name, kind in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(v, kind):
            return name
    return "null" if v is None else "list" if isinstance(v, list) else "object"


def retype(v: Any, rng: random.Random) -> tuple[Any, str]:
    """``v`` as a value of another JSON type, with the name of that type."""
    kind = rng.choice([k for k in JSON_TYPES if k != json_type(v)])
    number = json_type(v) in ("int", "float")
    new: Any
    if kind == "str":
        new = str(v) if number else rng.choice(["", "1", "x"])
    elif kind == "int":
        new = len(v) if isinstance(v, str | list | dict) else rng.choice([0, 1, -1, 7])
    elif kind == "float":
        new = float(v) if json_type(v) == "int" and abs(v) < 2**1000 else rng.choice([0.5, -2.5])
    elif kind == "list":
        new = rng.choice([[], [v]])
    elif kind == "object":
        new = rng.choice([{}, {"v": v}])
    else:
        new = None if kind == "null" else rng.choice([True, False])
    return new, kind


def long_string(rng: random.Random, size: int) -> str:
    ch = rng.choice(LONG_CHARS)
    n = max(1, size // len(ch.encode("utf-8")))
    return ch * n


def _num(v: Any) -> str:
    """A short, exact and stable label for a value (``2**63``, ``10**400``, ``object()``)."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**12:
        a, body = abs(v), ""
        if a & (a - 1) == 0:
            body = f"2**{a.bit_length() - 1}"
        elif ((a - 1) & (a - 2)) == 0:
            body = f"(2**{(a - 1).bit_length() - 1}+1)"
        elif (a + 1) & a == 0:
            body = f"(2**{a.bit_length()}-1)"
        elif str(a).rstrip("0") == "1":
            body = f"10**{len(str(a)) - 1}"
        if body:
            body = body if v > 0 else f"-{body}"
            return body[1:-1] if body.startswith("(") else body
    if isinstance(v, str | bytes) and len(v) > 40:
        return f"{v[:8]!r}*{len(v)}"
    if v is None or isinstance(v, int | float | str | bytes | complex):
        return repr(v)
    if isinstance(v, list | tuple | dict):
        return repr(v) if len(repr(v)) <= 60 else f"{type(v).__name__} of {len(v)}"
    shown = repr(v)
    return shown if " at 0x" not in shown else f"{type(v).__name__}()"


# ------------------------------------------------------------------ positions


def _positions(doc: Any) -> list[tuple[Any, Any, str]]:
    """Every ``(container, key, path)`` inside ``doc`` (dicts and lists; Pairs, Raw and
    BadStr are leaves)."""
    out: list[tuple[Any, Any, str]] = []
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        node, path = stack.pop()
        if type(node) is dict:
            for k in node:
                p = f"{path}.{k}" if path else str(k)
                out.append((node, k, p))
                stack.append((node[k], p))
        elif type(node) is list:
            for i in range(len(node)):
                p = f"{path}[{i}]"
                out.append((node, i, p))
                stack.append((node[i], p))
    return out


def _objects(doc: Any) -> list[tuple[dict[str, Any], str]]:
    """Every dict inside ``doc`` (``doc`` itself included) with its path."""
    found = [(doc, "")] if type(doc) is dict else []
    for parent, key, path in _positions(doc):
        if type(parent[key]) is dict:
            found.append((parent[key], path))
    return found


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# ------------------------------------------------------------------ mutations


def _mut_delete(doc: Any, rng: random.Random, big: bool) -> str | None:
    pos = _positions(doc)
    if not pos:
        return None
    parent, key, path = rng.choice(pos)
    del parent[key]
    return f"delete {path}"


def _mut_duplicate(doc: Any, rng: random.Random, big: bool) -> str | None:
    pos = _positions(doc)
    if not pos:
        return None
    parent, key, path = rng.choice(pos)
    how = rng.randrange(3)
    if how == 0 and type(parent) is list:
        parent.insert(key, fresh(parent[key]))
        return f"duplicate element {path}"
    if how == 1:
        target, tpath = rng.choice(_objects(doc))
        name = re.findall(r"[A-Za-z_]\w*", path)[-1] if type(parent) is list else str(key)
        target[name] = fresh(parent[key])
        return f"copy {path} to {tpath or '$'}.{name}"
    # the same key twice in one object, the second time with another value
    objects = [(o, p) for o, p in _objects(doc) if o]
    if not objects:
        return None
    obj, opath = rng.choice(objects)
    name = rng.choice(list(obj))
    second, kind = retype(obj[name], rng) if rng.random() < 0.5 else (fresh(obj[name]), "same")
    pairs = Pairs(list(obj.items()) + [(name, second)])
    if opath == "":
        return None  # the top level: done by _mutated, which can replace the document
    _replace(doc, opath, pairs)
    return f"duplicate key {opath}.{name} ({kind})"


def _replace(doc: Any, path: str, value: Any) -> None:
    for parent, key, p in _positions(doc):
        if p == path:
            parent[key] = value
            return


def _mut_retype(doc: Any, rng: random.Random, big: bool) -> str | None:
    pos = _positions(doc)
    if not pos:
        return None
    parent, key, path = rng.choice(pos)
    parent[key], kind = retype(parent[key], rng)
    return f"retype {path} to {kind}"


def _mut_number(doc: Any, rng: random.Random, big: bool) -> str | None:
    pos = _positions(doc)
    numeric = [p for p in pos if _is_number(p[0][p[1]])]
    if not pos:
        return None
    parent, key, path = rng.choice(numeric if numeric and rng.random() < 0.8 else pos)
    value = extreme_number(rng)
    parent[key] = value
    return f"number {path} = {value.name if isinstance(value, Raw) else _num(value)}"


def _mut_deep(doc: Any, rng: random.Random, big: bool) -> str | None:
    objects = _objects(doc)
    if not objects:
        return None
    depth = rng.choice([64, 1000, 1000, 5000, 100_000])
    raw = nested(depth, rng.choice(["array", "array", "object"]))
    if rng.random() < 0.75:
        obj, path = rng.choice(objects)
        ext = obj.get("ext")
        if type(ext) is not dict:
            ext = obj["ext"] = {}
        ext[rng.choice(["x", "data", "prebid", "adcore"])] = raw
        return f"deep {path or '$'}.ext {raw.name}"
    pos = _positions(doc)
    if not pos:
        return None
    parent, key, path = rng.choice(pos)
    parent[key] = raw
    return f"deep {path} {raw.name}"


def _mut_long_string(doc: Any, rng: random.Random, big: bool) -> str | None:
    # Over a million bytes the request is over the default size limit; just under it
    # (``big`` only) the whole string is parsed.
    size = rng.choice([4096, 65_536, 300_000, 1_000_001] + ([999_000] * 2 if big else []))
    text = long_string(rng, size)
    if rng.random() < 0.5:
        where, name = rng.choice(STRING_FIELDS)
        obj = doc if where is None else doc.setdefault(where, {})
        if type(obj) is not dict:
            return None
        obj[name] = text
        path = name if where is None else f"{where}.{name}"
    else:
        pos = [p for p in _positions(doc) if isinstance(p[0][p[1]], str)] or _positions(doc)
        if not pos:
            return None
        parent, key, path = rng.choice(pos)
        parent[key] = text
    return f"long string {path} = {text[:1]!r}*{len(text)}"


def _mut_bad_utf8(doc: Any, rng: random.Random, big: bool) -> str | None:
    pos = [p for p in _positions(doc) if isinstance(p[0][p[1]], str)] or _positions(doc)
    if not pos:
        return None
    parent, key, path = rng.choice(pos)
    bad = rng.choice(INVALID_UTF8)
    old = parent[key] if isinstance(parent[key], str) else "x"
    cut = rng.randint(0, len(old))
    parent[key] = BadStr(
        old[:cut].encode("utf-8", "surrogatepass")
        + bad
        + old[cut:].encode("utf-8", "surrogatepass")
    )
    return f"invalid utf-8 {path} {bad!r}"


def _mut_surrogate(doc: Any, rng: random.Random, big: bool) -> str | None:
    pos = [p for p in _positions(doc) if isinstance(p[0][p[1]], str)]
    s = rng.choice(LONE_SURROGATES)
    if pos and rng.random() < 0.8:
        parent, key, path = rng.choice(pos)
        cut = rng.randint(0, len(parent[key]))
        parent[key] = parent[key][:cut] + s + parent[key][cut:]
        return f"lone surrogate in {path}"
    objects = _objects(doc)
    if not objects:
        return None
    obj, path = rng.choice(objects)
    obj[s] = 1  # as an object key
    return f"lone surrogate key in {path or '$'}"


def _mut_insert(doc: Any, rng: random.Random, big: bool) -> str | None:
    objects = _objects(doc)
    if not objects:
        return None
    obj, path = rng.choice(objects)
    name = rng.choice(VOCABULARY)
    pick = rng.random()
    value: Any
    if pick < 0.4:
        value = scalar(rng)
    elif pick < 0.7:
        value = extreme_number(rng)
    elif pick < 0.85:
        value = rng.choice([[], [scalar(rng)], [1, 2, 3], ["a", "b"]])
    else:
        value = rng.choice([{}, {"id": "x"}, {"w": 300, "h": 250}])
    obj[name] = value
    return f"insert {path or '$'}.{name}"


def _mut_swap(doc: Any, rng: random.Random, big: bool) -> str | None:
    pos = _positions(doc)
    if len(pos) < 2:
        return None
    (p1, k1, a), (p2, k2, b) = rng.sample(pos, 2)
    if a.startswith(b) or b.startswith(a):
        return None
    p1[k1], p2[k2] = p2[k2], p1[k1]
    return f"swap {a} <-> {b}"


MUTATIONS: dict[str, tuple[Callable[[Any, random.Random, bool], str | None], int]] = {
    "delete": (_mut_delete, 4),
    "duplicate": (_mut_duplicate, 3),
    "retype": (_mut_retype, 6),
    "number": (_mut_number, 6),
    "deep": (_mut_deep, 1),
    "long": (_mut_long_string, 1),
    "utf8": (_mut_bad_utf8, 2),
    "surrogate": (_mut_surrogate, 1),
    "insert": (_mut_insert, 5),
    "swap": (_mut_swap, 1),
}
"""Structural mutations, by name, with their relative weights."""
BYTE_MUTATIONS = ("truncate", "flip", "splice")


def mutate_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Truncate at a random offset, flip a few bytes or splice random bytes in."""
    how = rng.choice(BYTE_MUTATIONS)
    if how == "truncate" or not data:
        cut = rng.randint(0, max(0, len(data) - 1))
        return data[:cut], f"truncate at {cut}/{len(data)}"
    buf = bytearray(data)
    if how == "flip":
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(buf))
            buf[i] = rng.randrange(256)
        return bytes(buf), "flip bytes"
    i = rng.randint(0, len(buf))
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(buf[:i]) + junk + bytes(buf[i:]), f"splice {len(junk)} bytes at {i}"


# ------------------------------------------------------------------ generated requests

# fmt: off
MIMES = {
    "banner": ["image/png", "image/jpeg", "image/gif", "text/html"],
    "video": ["video/mp4", "video/webm", "application/javascript"],
    "audio": ["audio/mpeg", "audio/ogg", "audio/mp4"],
}
BOT_AGENT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HUMAN_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
COUNTRIES = ["USA", "GBR", "DEU", "FRA", "BRA", "SWE", "JPN", "XXX"]
IPS = [
    "203.0.113.7", "198.51.100.23", "52.95.110.1", "35.190.0.1", "2001:db8::1", "127.0.0.1",
    "999.1.1.1", "fe80::1", "",
]
DEALS = ["DEAL-PREMIUM-1", "DEAL-OTHER", "PMP-1"]
CATEGORIES = [
    "IAB1", "IAB2", "IAB2-1", "IAB3", "IAB9", "IAB12", "IAB17-3", "IAB19", "IAB20", "IAB25",
    "IAB26",
]
BAD_TCF = ["", "CO", "not base64!", "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"]
BAD_USP = ["1YYN", "1y--", "", "1NNN", "2YYY"]
BAD_GPP = ["DBABLA~", "DBAB", ""]
# fmt: on


def _media(rng: random.Random, kind: str, max_poddur: int) -> dict[str, Any]:
    m: dict[str, Any] = {"mimes": rng.sample(MIMES[kind], rng.randint(1, 2))}
    if rng.random() < 0.7:
        m["minduration"] = rng.choice([0, 5, 10, 15])
    if rng.random() < 0.8:
        m["maxduration"] = rng.choice([5, 15, 29, 30, 45, 60, 120])
    if rng.random() < 0.3:
        m["poddur"] = rng.choice(
            [d for d in (15, 30, 45, 60, 90, 120, 240, 3600) if d <= max_poddur]
        )
        if rng.random() < 0.5:
            m["maxseq"] = rng.randint(1, 10)
        if rng.random() < 0.3:
            m["poddedupe"] = rng.sample([1, 2, 3], rng.randint(1, 2))
        if rng.random() < 0.2:
            m["mincpmpersec"] = rng.choice([0.0, 0.01, 0.2])
        if rng.random() < 0.2:
            m["podid"] = f"pod{rng.randrange(3)}"
            m["slotinpod"] = rng.choice([0, 1, -1, 2])
    if rng.random() < 0.2:
        m["rqddurs"] = rng.sample([5, 15, 30, 60], rng.randint(1, 2))
    if rng.random() < 0.3:
        m["protocols"] = rng.sample([2, 3, 5, 6, 7, 8], 2)
    if kind == "video":
        if rng.random() < 0.6:
            m["w"], m["h"] = rng.choice([(640, 360), (1280, 720), (1920, 1080)])
        if rng.random() < 0.3:
            m["plcmt"] = rng.randint(1, 4)
            m["skip"] = rng.randint(0, 1)
    else:
        if rng.random() < 0.4:
            m["feed"] = rng.randint(1, 3)
        if rng.random() < 0.2:
            m["stitched"] = rng.randint(0, 1)
    return m


def _imp(rng: random.Random, i: int, max_poddur: int) -> dict[str, Any]:
    imp: dict[str, Any] = {"id": str(i + 1)}
    kinds = rng.sample(["banner", "video", "audio"], rng.choice([1, 1, 1, 2, 3]))
    for kind in kinds:
        if kind == "banner":
            b: dict[str, Any] = {}
            w, h = rng.choice([(300, 250), (728, 90), (320, 50), (300, 600), (1, 1)])
            if rng.random() < 0.7:
                b["w"], b["h"] = w, h
            if rng.random() < 0.4:
                b["format"] = [
                    {"w": fw, "h": fh} for fw, fh in rng.sample(demo.SIZES, rng.randint(1, 3))
                ]
            if rng.random() < 0.4:
                b["mimes"] = rng.sample(MIMES["banner"], rng.randint(1, 2))
            if rng.random() < 0.3:
                b["pos"] = rng.randint(0, 7)
            imp["banner"] = b
        else:
            imp[kind] = _media(rng, kind, max_poddur)
    if rng.random() < 0.05:
        imp["native"] = {"request": '{"ver":"1.2","assets":[]}', "ver": "1.2"}
    imp["bidfloor"] = rng.choice([0.0, 0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 50.0])
    if rng.random() < 0.2:
        imp["bidfloorcur"] = rng.choice(["USD", "EUR", "", "usd"])
    if rng.random() < 0.2:
        deals = [
            {"id": rng.choice(DEALS), "bidfloor": rng.choice([0.0, 0.5, 2.0, 10.0])}
            for _ in range(rng.randint(1, 3))
        ]
        if rng.random() < 0.2:
            deals[0]["bidfloorcur"] = rng.choice(["USD", "EUR"])
        imp["pmp"] = {"private_auction": rng.randint(0, 1), "deals": deals}
    if rng.random() < 0.1:
        imp["ext"] = {"adcore": {"auction": rng.choice(["first_price", "second_price"])}}
    if rng.random() < 0.1:
        imp.setdefault("ext", {}).setdefault("adcore", {})["soft_floor"] = rng.choice(
            [0.0, 1.0, 3.0]
        )
    if rng.random() < 0.2:
        imp["tagid"] = f"tag-{rng.randrange(5)}"
    if rng.random() < 0.1:
        imp["instl"] = 1
    return imp


def generate_request(rng: random.Random, *, max_poddur: int = 3600) -> dict[str, Any]:
    """A structurally valid random request: banners, video and audio (pods among them),
    deals, site or app with content, device, user with segments, regulations and
    consent strings (published ones, and some malformed)."""
    strings = _consent()
    req: dict[str, Any] = {
        "id": f"gen-{rng.randrange(10**6)}",
        "imp": [_imp(rng, i, max_poddur) for i in range(rng.choice([1, 1, 1, 2, 3, 4]))],
    }
    cats = rng.sample(CATEGORIES, rng.randint(0, 3))
    content: dict[str, Any] = {"cat": list(cats)}
    if rng.random() < 0.5:
        content["genre"] = rng.choice(["rock", "podcast", "news", "jazz"])
    if rng.random() < 0.3:
        content["title"] = rng.choice(["Car Show", "Election night", "Cooking with fire"])
    if rng.random() < 0.3:
        content["livestream"] = rng.randint(0, 1)
        content["len"] = rng.choice([30, 600, 3600])
    where: dict[str, Any] = {"id": f"w{rng.randrange(20)}", "cat": cats, "content": content}
    if rng.random() < 0.5:
        where["domain"] = "example.com"
        where["page"] = "https://example.com/a"
        if rng.random() < 0.3:
            where["keywords"] = "cars,news,rock"
        req["site"] = where
    else:
        where["bundle"] = rng.choice(["com.example.player", "com.example.radio"])
        req["app"] = where
    if rng.random() < 0.9:
        geo: dict[str, Any] = {"country": rng.choice(COUNTRIES)}
        if rng.random() < 0.5:
            geo["utcoffset"] = rng.choice([-720, -300, 0, 60, 120, 840])
        if rng.random() < 0.3:
            geo["lat"], geo["lon"] = rng.uniform(-90, 90), rng.uniform(-180, 180)
        req["device"] = {
            "ua": BOT_AGENT if rng.random() < 0.05 else HUMAN_AGENT,
            "ip": rng.choice(IPS),
            "devicetype": rng.randint(1, 8),
            "geo": geo,
        }
        if rng.random() < 0.3:
            req["device"]["lmt"] = rng.randint(0, 1)
            req["device"]["ifa"] = "ifa-1234"
    if rng.random() < 0.8:
        user: dict[str, Any] = {"id": f"user-{rng.randrange(50)}"}
        if rng.random() < 0.6:
            segs = [{"id": f"seg-{rng.randrange(12)}"} for _ in range(rng.randint(1, 4))]
            user["data"] = [{"id": "dp", "segment": segs}]
        if rng.random() < 0.4:
            user["consent"] = rng.choice(strings["tcf"] + BAD_TCF)
        if rng.random() < 0.1:
            user["eids"] = [{"source": "id5-sync.com", "uids": [{"id": "ID5*x", "atype": 1}]}]
        if rng.random() < 0.1:
            user["yob"] = rng.choice([1970, 2001, 2015])
        req["user"] = user
    if rng.random() < 0.7:
        regs: dict[str, Any] = {}
        if rng.random() < 0.5:
            regs["gdpr"] = rng.randint(0, 1)
        if rng.random() < 0.3:
            regs["us_privacy"] = rng.choice(strings["usp"] + BAD_USP)
        if rng.random() < 0.3:
            regs["gpp"] = rng.choice(strings["gpp"] + BAD_GPP)
            regs["gpp_sid"] = rng.sample([2, 6, 7, 8, 9, 10, 11, 12], rng.randint(0, 2))
        if rng.random() < 0.1:
            regs["coppa"] = 1
        if rng.random() < 0.1:
            regs["ext"] = {"gdpr": rng.randint(0, 1), "us_privacy": "1YNN"}
        req["regs"] = regs
    if rng.random() < 0.2:
        req["source"] = {
            "tid": "t-1",
            "schain": {
                "complete": 1,
                "ver": "1.0",
                "nodes": [{"asi": "ex.com", "sid": "1", "hp": 1}],
            },
        }
    if rng.random() < 0.3:
        req["bcat"] = rng.sample(CATEGORIES, rng.randint(1, 3))
    if rng.random() < 0.2:
        req["badv"] = [f"brand{rng.randrange(20)}.example" for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.1:
        req["bapp"] = ["com.example.game"]
    if rng.random() < 0.2:
        req["cur"] = rng.choice([["USD"], ["EUR"], ["USD", "EUR"]])
    req["at"] = rng.choice([1, 2, 2, 2, 500])
    if rng.random() < 0.5:
        req["tmax"] = rng.choice([80, 120, 1000])
    if rng.random() < 0.1 and len(req["imp"]) > 1:
        req["ext"] = {"adcore": {"auction": rng.choice(["gsp", "vcg", "first_price"])}}
    if rng.random() < 0.05:
        req["test"] = 1
    return req


_CONSENT: dict[str, list[str]] = {}


def _consent() -> dict[str, list[str]]:
    if not _CONSENT:
        _CONSENT.update(consent_strings())
    return _CONSENT


# ------------------------------------------------------------------ request cases


@dataclass(frozen=True)
class Case:
    """One input to ``Engine.decide``: ``payload`` with ``format``, a label saying how it
    was made, and whether it is decided a day and a half after the last accepted one."""

    index: int
    label: str
    payload: Any
    format: str = "json"
    jump: bool = False
    feedback: int = 0


KINDS = ("spec", "sample", "generated", "raw", "struct", "other")
"""Case families: mutated spec examples, mutated demo requests, generated requests
(half of them mutated), byte-level mutations of encodings, Struct inputs (well and
ill typed), and inputs that are not requests at all."""


class Seeds:
    """The seed requests, loaded once."""

    def __init__(self) -> None:
        self.spec = [*spec_examples(), ("prebid device-sua", PREBID_DEVICE_SUA)]
        self.sample = sample_docs()


_SEEDS: list[Seeds] = []


def seeds() -> Seeds:
    if not _SEEDS:
        _SEEDS.append(Seeds())
    return _SEEDS[0]


def _encode(doc: Any, rng: random.Random) -> tuple[Any, str, str]:
    """``doc`` as JSON bytes, a JSON str, MessagePack, or JSON in a bytearray or
    memoryview, with the format and a label."""
    pick = rng.random()
    if pick < 0.45:
        return encode_json(doc), "json", "json"
    if pick < 0.6:
        return encode_json_str(doc), "json", "json str"
    if pick < 0.92:
        return encode_msgpack(doc), "msgpack", "msgpack"
    raw = encode_json(doc)
    if rng.random() < 0.5:
        return bytearray(raw), "json", "json bytearray"
    return memoryview(raw), "json", "json memoryview"


def fresh(doc: Any) -> Any:
    """A copy of ``doc`` that shares no list or dict, even where ``doc`` did (so no
    mutation can make a cycle)."""
    if type(doc) is dict:
        return {k: fresh(v) for k, v in doc.items()}
    if type(doc) is list:
        return [fresh(v) for v in doc]
    return doc


def _mutated(doc: Any, rng: random.Random, big: bool, count: int) -> tuple[Any, list[str]]:
    doc = fresh(doc)
    names = list(MUTATIONS)
    weights = [MUTATIONS[n][1] for n in names]
    labels: list[str] = []
    tries = 0
    while len(labels) < count and tries < 4 * count:
        tries += 1
        name = rng.choices(names, weights)[0]
        label = MUTATIONS[name][0](doc, rng, big)
        if label is not None:
            labels.append(label)
    if type(doc) is dict and doc and rng.random() < 0.05:
        name = rng.choice(list(doc))
        second, kind = retype(doc[name], rng)
        doc = Pairs([*doc.items(), (name, second)])
        labels.append(f"duplicate key {name} ({kind})")
    return doc, labels


def request_case(
    seed: int, index: int, kind: str | None = None, *, big: bool = False, max_poddur: int = 3600
) -> Case:
    """Case ``index`` of the stream of ``seed`` (a family drawn from :data:`KINDS`
    unless ``kind`` is given). ``big`` allows the largest inputs (100,000-deep nesting,
    1 MB strings)."""
    rng = random.Random(f"adcore-fuzz:{seed}:{index}:{kind}")
    if kind is None:
        kind = rng.choices(KINDS, [3, 3, 4, 2, 1, 0.2])[0]
    s = seeds()
    jump = rng.random() < 0.5
    fb = rng.randrange(1 << 30)
    if kind == "other":
        value = rng.choice(
            [None, 5, 1.5, True, {"id": "r", "imp": [{"id": "1"}]}, [b"{}"], object()]
            + [rtb.Imp(id="1"), rtb.BidResponse(id="r")]
        )
        return Case(index, f"{kind}: {type(value).__name__}", value, "json", jump, fb)
    if kind == "struct":
        payload, label = struct_case(rng)
        return Case(index, f"struct: {label}", payload, "json", jump, fb)
    source = rng.choice(["spec", "sample", "generated"]) if kind == "raw" else kind
    if source == "spec":
        name, doc = rng.choice(s.spec)
    elif source == "sample":
        name, doc = rng.choice(s.sample)
    else:
        name, doc = "generated", generate_request(rng, max_poddur=max_poddur)
    if kind == "generated" and rng.random() < 0.5:
        labels: list[str] = []
    else:
        doc, labels = _mutated(doc, rng, big, rng.choice([1, 1, 2, 3]))
    payload, fmt, how = _encode(doc, rng)
    if kind == "raw":
        if isinstance(payload, str):
            payload = encode_json(doc)
        data, blabel = mutate_bytes(bytes(payload), rng)
        payload = data
        labels.append(blabel)
    label = f"{kind} {name}: {'; '.join(labels) or 'unmutated'} [{how}]"
    return Case(index, label, payload, fmt, jump, fb)


def request_cases(seed: int, n: int, kind: str | None = None, **kw: Any) -> Iterator[Case]:
    """Cases ``0 .. n-1`` of seed ``seed``."""
    for i in range(n):
        yield request_case(seed, i, kind, **kw)


# ------------------------------------------------------------------ Struct inputs


def _struct_nodes(obj: Any, path: tuple[Any, ...], out: list[tuple[tuple[Any, ...], Any]]) -> None:
    if isinstance(obj, msgspec.Struct):
        out.append((path, obj))
        for name in obj.__struct_fields__:
            _struct_nodes(getattr(obj, name), path + (name,), out)
    elif isinstance(obj, tuple):
        for i, x in enumerate(obj):
            _struct_nodes(x, path + (i,), out)


def _set_in(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, tuple | list):
        items = list(obj)
        items[head] = _set_in(items[head], rest, value)
        return tuple(items) if isinstance(obj, tuple) else items
    return msgspec.structs.replace(obj, **{head: _set_in(getattr(obj, head), rest, value)})


def struct_case(rng: random.Random) -> tuple[Any, str]:
    """A BidRequest Struct: a valid one (tuples or lists), or one with a field set to
    a value of the wrong type or out of range (Struct constructors do not validate)."""
    s = seeds()
    pool = s.spec + s.sample
    if rng.random() < 0.3:
        name, doc = "generated", generate_request(rng, max_poddur=60)
    else:
        name, doc = rng.choice(pool)
    try:
        req = msgspec.convert(doc, rtb.BidRequest)
    except msgspec.ValidationError:  # a seed only a tolerant decoder takes
        name, doc = s.sample[0]
        req = msgspec.convert(doc, rtb.BidRequest)
    if rng.random() < 0.2:
        if rng.random() < 0.5:
            return msgspec.structs.replace(req, imp=list(req.imp)), f"{name} with imp as a list"
        return req, f"{name} valid"
    nodes: list[tuple[tuple[Any, ...], Any]] = []
    _struct_nodes(req, (), nodes)
    path, node = rng.choice(nodes)
    fname = rng.choice(node.__struct_fields__)
    old = getattr(node, fname)
    pick = rng.random()
    if pick < 0.4:
        value: Any = extreme_number(rng)
        if isinstance(value, Raw):  # a JSON-only token: its float
            value = struct.unpack(">d", value.msgpack[1:])[0]
    elif pick < 0.7:
        value, _ = retype(
            msgspec.to_builtins(old) if isinstance(old, msgspec.Struct | tuple) else old, rng
        )
    elif pick < 0.8:
        value = rng.choice(LONE_SURROGATES)
    else:
        value = rng.choice([None, (), "", b"bytes", object(), {"a": 1}, [1], 1 + 2j])
    where = ".".join(str(p) for p in path + (fname,))
    return _set_in(req, path + (fname,), value), f"{name}: {where} = {_num(value)}"


# ------------------------------------------------------------------ events


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


KNOWN_ID = _Sentinel("<a decided impression id>")
NOW = _Sentinel("<now>")

EVENT_TYPES = (Impression, Click, Skip, Complete, Conversion)
# fmt: off
BAD_NUMBERS = [
    10**400, -(10**400), math.inf, -math.inf, math.nan, True, False, "1", "", None, [1.0],
    {"t": 1}, b"1", 1 + 0j,
]
# fmt: on
"""Values no numeric event field may hold: non-finite, beyond a float, or not a number."""
ODD_NUMBERS = [0, -1, -1.5, 2**63, 2**64, 1e308, -1e308, 5e-324, 1]
"""Finite numbers: odd but representable; an event with them may be accepted."""
BAD_IDS = [5, None, b"r1:1:0", ["r1"], 1.5, True, {"id": "x"}]
ODD_IDS = ["", "nope", "r:1:0:9", "x" * 1_000_000, "\x00", "\ud800", "r1:1:0\n"]


@dataclass(frozen=True)
class EventCase:
    """One input to ``Engine.feedback``: an event type and its fields (``KNOWN_ID`` and
    ``NOW`` are filled in by the harness), or any other object; ``bad`` names the
    fields that must make it an InvalidEvent (empty: it may be accepted)."""

    index: int
    label: str
    cls: Any
    fields: dict[str, Any]
    bad: tuple[str, ...]


def event_case(seed: int, index: int) -> EventCase:
    """Event case ``index`` of seed ``seed``."""
    rng = random.Random(f"adcore-events:{seed}:{index}")
    if rng.random() < 0.05:
        other = rng.choice(
            [
                None,
                "Impression",
                {"type": "Impression", "impression_id": "x", "timestamp": 1.0},
                PauseCampaign(campaign_id="c0", by="ops", reason="r", timestamp=START),
                5,
            ]
        )
        return EventCase(
            index, f"not an event: {type(other).__name__}", None, {"object": other}, ("*",)
        )
    cls = rng.choice(EVENT_TYPES)
    fields: dict[str, Any] = {}
    bad: list[str] = []
    pick = rng.random()
    if pick < 0.55:
        fields["impression_id"] = KNOWN_ID
    elif pick < 0.8:
        fields["impression_id"] = rng.choice(ODD_IDS)
    else:
        fields["impression_id"] = rng.choice(BAD_IDS)
        bad.append("impression_id")
    pick = rng.random()
    if pick < 0.5:
        fields["timestamp"] = NOW
    elif pick < 0.7:
        fields["timestamp"] = rng.choice(ODD_NUMBERS)
    else:
        fields["timestamp"] = rng.choice(BAD_NUMBERS)
        bad.append("timestamp")
    extra = {Skip: "after", Conversion: "value"}.get(cls)
    if extra is not None and rng.random() < 0.8:
        pick = rng.random()
        if pick < 0.4:
            fields[extra] = rng.choice([0.0, 1.5, 30.0] + ([None] if extra == "after" else [2.5]))
        elif pick < 0.6:
            fields[extra] = rng.choice(ODD_NUMBERS)
        else:
            value = rng.choice(BAD_NUMBERS)
            if not (value is None and extra == "after"):
                bad.append(extra)
            fields[extra] = value
    shown = ", ".join(f"{k}={_num(v)}" for k, v in fields.items())
    return EventCase(index, f"{cls.__name__}({shown})", cls, fields, tuple(bad))


def event_cases(seed: int, n: int) -> Iterator[EventCase]:
    for i in range(n):
        yield event_case(seed, i)


# ------------------------------------------------------------------ the harness


@dataclass
class Violation:
    """A broken contract: ``kind`` is ``exception`` (an exception outside the contract),
    ``field`` (a contract exception that names no field), ``state`` (a rejected input
    changed the engine), ``accepted`` (an input that must be rejected was not),
    ``invariant`` (an accepted input broke a money or format invariant) or
    ``divergence`` (two engines in the same state decided differently)."""

    kind: str
    case: str
    detail: str
    exc_type: str | None = None
    where: str | None = None
    state_changed: bool | None = None
    payload: Any = None
    format: str = "json"

    def summary(self) -> str:
        parts = [self.kind]
        if self.exc_type:
            parts.append(self.exc_type)
        if self.where:
            parts.append(f"at {self.where}")
        if self.state_changed is not None:
            parts.append("state changed" if self.state_changed else "state unchanged")
        return f"{' '.join(parts)}: {self.detail} -- {self.case}"


@dataclass
class Result:
    """What one case did: ``outcome`` is ``decided``, ``invalid`` (the contract's
    exception), ``accepted`` (an event taken) or ``error``."""

    outcome: str
    field: str | None = None
    exc_type: str | None = None
    where: str | None = None
    elapsed: float = 0.0
    violations: list[Violation] = dataclasses.field(default_factory=list)


def last_adcore_frame(exc: BaseException) -> str:
    """``module.py:line in function`` of the innermost traceback frame inside adcore."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if "/adcore/" in f.filename.replace("\\", "/")]
    f = (mine or frames or [None])[-1]
    if f is None:
        return "?"
    name = f.filename.replace("\\", "/")
    name = name.split("/adcore/", 1)[-1] if "/adcore/" in name else name.rsplit("/", 1)[-1]
    return f"adcore/{name}:{f.lineno} in {f.name}" if mine else f"{name}:{f.lineno} in {f.name}"


def field_ok(field_: Any, roots: frozenset[str] | None = ROOTS) -> bool:
    """A contract exception's ``field``: None (the payload as a whole) or a non-empty
    path whose first part is one of ``roots``."""
    if field_ is None:
        return True
    if not isinstance(field_, str) or not field_ or field_ != field_.strip():
        return False
    if roots is None:
        return True
    m = re.match(r"[A-Za-z_]\w*", field_)
    return m is not None and m.group(0) in roots


def probe_request() -> rtb.BidRequest:
    """Sixteen impressions (banners, audio, video) that the demo catalogs fill: with
    exploration at one half, a random number drawn elsewhere changes its decision with
    near certainty."""
    imps = [
        rtb.Imp(id=f"b{i}", bidfloor=0.01, banner=rtb.Banner(w=w, h=h))
        for i, (w, h) in enumerate(demo.SIZES * 2)
    ]
    audio = rtb.Audio(mimes=("audio/mpeg",), maxduration=30)
    imps += [rtb.Imp(id=f"a{i}", bidfloor=0.01, audio=audio) for i in range(6)]
    video = rtb.Video(mimes=("video/mp4",), maxduration=30)
    imps += [rtb.Imp(id=f"v{i}", bidfloor=0.01, video=video) for i in range(4)]
    device = rtb.Device(
        ua=HUMAN_AGENT,
        ip="203.0.113.9",
        devicetype=rtb.DeviceType.PHONE,
        geo=rtb.Geo(country="USA"),
    )
    return rtb.BidRequest(
        id="probe",
        imp=tuple(imps),
        app=rtb.App(id="probe-app", bundle="com.example.probe", cat=("IAB1",)),
        device=device,
        user=rtb.User(id="probe-user"),
    )


def harness_config(**kw: Any) -> EngineConfig:
    """The harness engines' configuration: exploration at one half (so random draws
    show in decisions), up to 16 impressions a request (the probe has 16), no latency
    budget (so nothing depends on wall-clock time)."""
    base: dict[str, Any] = {
        "explore": 0.5,
        "seed": 20240601,
        "latency_budget_us": math.inf,
        "max_imps": 16,
    }
    base.update(kw)
    return EngineConfig(**base)


def _floor_bound(imp: rtb.Imp, currency: str, rates: dict[str, float]) -> float | None:
    """The lowest floor a filled slot of ``imp`` may clear at (its own or a deal's),
    None when its floors are in a currency the engine cannot convert."""

    def conv(amount: float, cur: str) -> float | None:
        if cur == currency or not cur:
            return amount
        rate = rates.get(cur)
        return None if rate is None else amount * rate

    floors = [conv(imp.bidfloor, imp.bidfloorcur)]
    if imp.pmp is not None:
        floors += [conv(d.bidfloor, d.bidfloorcur) for d in imp.pmp.deals]
    known = [f for f in floors if f is not None]
    return min(known) if known else None


def _check_slot(s: Any, ads: dict[str, Ad]) -> list[str]:
    """What is wrong with one slot of a decision, whatever the request."""
    if not s.filled:
        if s.impression_id is not None or s.price != 0.0 or s.price_micros != 0:
            return [f"unfilled slot {s.imp_id!r} carries a price or an impression id"]
        return []
    tag = f"slot {s.imp_id!r}/{s.slot_in_pod} ad {s.ad_id}"
    ad = ads.get(s.ad_id or "")
    if ad is None:
        return [f"{tag}: not an ad of the catalog"]
    if not (math.isfinite(s.bid) and math.isfinite(s.price)):
        return [f"{tag}: bid {s.bid!r} or price {s.price!r} not finite"]
    bad = []
    if s.campaign_id != ad.campaign:
        bad.append(f"{tag}: campaign {s.campaign_id!r}, the ad's is {ad.campaign!r}")
    if s.price < 0 or s.price > s.bid * (1 + 1e-9) + 1e-9:
        bad.append(f"{tag}: price {s.price!r} above bid {s.bid!r} (or negative)")
    if abs(s.price_micros - s.price * 1000.0) > 1.0:
        bad.append(f"{tag}: price_micros {s.price_micros} is not price {s.price!r} CPM")
    if not 0.0 < s.propensity <= 1.0:
        bad.append(f"{tag}: propensity {s.propensity!r}")
    return bad


def _check_imp(
    imp: rtb.Imp, mine: list[Any], req: rtb.BidRequest, currency: str, config: EngineConfig
) -> list[str]:
    """What is wrong with the filled slots ``mine`` of impression ``imp``."""
    bad = []
    floor = _floor_bound(imp, currency, dict(config.exchange_rates))
    if floor is None:
        bad.append(f"imp {imp.id!r}: filled, its floor's currency {imp.bidfloorcur!r} unknown")
    if req.cur and currency not in req.cur:
        bad.append(f"imp {imp.id!r}: filled in {currency}, the request allows {list(req.cur)}")
    offered = {k for k, m in ((1, imp.banner), (2, imp.video), (3, imp.audio)) if m is not None}
    for s in mine:
        tag = f"slot {s.imp_id!r}/{s.slot_in_pod} ad {s.ad_id}"
        if floor is not None and s.price < floor * (1 - 1e-9) - 1e-9:
            bad.append(f"{tag}: price {s.price!r} below the floor {floor!r}")
        if s.mtype not in offered:
            bad.append(f"{tag}: markup type {s.mtype} on an impression offering {sorted(offered)}")
        if set(req.badv) & set(s.adomain):
            bad.append(f"{tag}: its advertiser is blocked (badv)")
        if set(req.bcat) & set(category_closure(s.categories)):
            bad.append(f"{tag}: its category is blocked (bcat)")
        media = imp.video if s.mtype == 2 else imp.audio if s.mtype == 3 else None
        if media is not None and not media.rqddurs:
            if media.maxduration and s.duration > media.maxduration + 1e-9:
                bad.append(f"{tag}: duration {s.duration} over maxduration {media.maxduration}")
            if s.duration + 1e-9 < media.minduration:
                bad.append(f"{tag}: duration {s.duration} under minduration {media.minduration}")
        if s.slot_in_pod and (media is None or not media.poddur):
            bad.append(
                f"{tag}: markup type {s.mtype} sold as slot {s.slot_in_pod} of a pod, "
                "which only an audio or video object with poddur has"
            )
    pods = [s for s in mine if s.slot_in_pod]
    media = imp.video if pods and pods[0].mtype == 2 else imp.audio
    if pods and media is not None and media.poddur:
        total = sum(s.duration for s in pods)
        if total > media.poddur + 1e-9:
            bad.append(f"imp {imp.id!r}: {total} s of ads in a {media.poddur} s pod")
        limit = min(config.max_pod, media.maxseq or config.max_pod)
        if len(pods) > limit:
            bad.append(f"imp {imp.id!r}: {len(pods)} ads in a pod of at most {limit}")
    return bad


def check_decision(
    decision: Any,
    req: rtb.BidRequest | None,
    catalog: Catalog,
    config: EngineConfig,
    seen_ids: set[str] | None = None,
) -> list[str]:
    """The invariants of an accepted request's decision (``req`` None: only those that
    do not need the request); returns what is broken."""
    if not isinstance(decision, Decision):
        return [f"decide returned {type(decision).__name__}, not a Decision"]
    slots = decision.slots
    ids = [s.impression_id for s in slots if s.impression_id is not None]
    bad = []
    if len(set(ids)) != len(ids):
        bad.append("an impression id appears twice in one decision")
    again = [i for i in ids if seen_ids is not None and i in seen_ids]
    if again:
        bad.append(f"impression id {again[0]!r} was given before")
    ads = {a.id: a for a in catalog.ads}
    for s in slots:
        bad += _check_slot(s, ads)
    if req is None:
        return bad
    if decision.request_id != req.id:
        bad.append(f"request_id {decision.request_id!r} is not the request's {req.id!r}")
    order = [s.imp_id for k, s in enumerate(slots) if k == 0 or slots[k - 1].imp_id != s.imp_id]
    if order != [imp.id for imp in req.imp]:
        return [*bad, f"slots {order} do not follow the impressions {[i.id for i in req.imp]}"]
    for imp in req.imp:
        mine = [s for s in slots if s.imp_id == imp.id and s.filled]
        if mine:
            bad += _check_imp(imp, mine, req, catalog.currency, config)
    return bad


def check_balances(engine: Engine, campaign_ids: list[str]) -> list[str]:
    bad = []
    for cid in campaign_ids:
        b = engine.balance(cid)
        if b.held < 0 or b.spent_today < 0 or b.available < 0:
            bad.append(f"campaign {cid}: negative balance {b}")
        if b.spent_today > b.daily_budget:
            bad.append(
                f"campaign {cid}: spent {b.spent_today} of a daily budget of {b.daily_budget}"
            )
        if b.total_budget is not None and b.spent_total > b.total_budget:
            bad.append(
                f"campaign {cid}: spent {b.spent_total} of a total budget of {b.total_budget}"
            )
    return bad


class Harness:
    """Two engines built alike; see the module docstring.

    Parameters
    ----------
    catalog : Catalog
    config : EngineConfig, optional
        :func:`harness_config` by default.
    """

    def __init__(self, catalog: Catalog, config: EngineConfig | None = None) -> None:
        self.catalog = catalog
        self.config = config or harness_config()
        self.campaign_ids = [c.id for c in catalog.campaigns]
        self.probe = probe_request()
        self.resets = 0
        self.warm_up = 0
        self._warming = False
        self.carry: list[Violation] = []
        self.reset()

    def reset(self) -> None:
        """Fresh engines, warmed up as by the last :meth:`restart` (after a violation, so
        later cases are judged alone); what the warm-up breaks is reported with the next
        case."""
        self.engine = Engine(self.catalog, self.config)
        self.twin = Engine(self.catalog, self.config)
        self.t = START
        self.rejected = 0
        self.known: deque[str] = deque(maxlen=512)
        self.seen: set[str] = set()
        self.resets += 1
        if self.warm_up and not self._warming:
            self._warming = True
            try:
                for i, r in enumerate(demo.sample_requests(self.warm_up, seed=5)):
                    payload = rtb.encode_request(r)
                    case = Case(-1 - i, f"warm-up {r.id}", payload, "json", False, i)
                    self.carry += self.request(case).violations
            finally:
                self._warming = False

    def restart(self, warm_up: int = 40) -> list[Violation]:
        """Fresh engines that first decide ``warm_up`` demo requests (and report their
        impressions), so budgets are spent and held and impression ids are known;
        returns what the warm-up broke."""
        self.warm_up = warm_up
        self.carry = []
        self.reset()
        out, self.carry = self.carry, []
        return out

    # -- state
    def _state(self, engine: Engine) -> tuple[Any, ...]:
        stats = msgspec.structs.asdict(engine.stats())
        invalid = stats.pop("invalid_requests")
        balances = tuple(engine.balance(c) for c in self.campaign_ids)
        return stats, invalid, balances, len(engine.audit_log)

    def differences(self) -> list[str]:
        """How the fuzzed engine differs from its twin (empty: alike)."""
        a, b = self._state(self.engine), self._state(self.twin)
        out = []
        if a[0] != b[0]:
            out += [f"stats().{k} {b[0][k]!r} -> {a[0][k]!r}" for k in a[0] if a[0][k] != b[0][k]]
        if a[1] != b[1] + self.rejected:
            out.append(f"stats().invalid_requests {b[1] + self.rejected} expected, got {a[1]}")
        for x, y in zip(a[2], b[2], strict=True):
            if x != y:
                out.append(f"balance {y} -> {x}")
        if a[3] != b[3]:
            out.append("audit log")
        if out:
            return out
        try:
            pa = self.engine.decide(self.probe, now=self.t)
            pb = self.twin.decide(self.probe, now=self.t)
        except Exception as exc:  # reported, never expected
            return [f"the probe request raised {type(exc).__name__}: {exc}"]
        if pa.slots != pb.slots:
            return [
                "the probe request is decided differently (random stream, clock or learned state)"
            ]
        return []

    # -- requests
    def request(self, case: Case) -> Result:
        """Decide ``case`` on the fuzzed engine and judge the outcome."""
        res = self._request(case)
        if self.carry and not self._warming:
            res.violations[:0], self.carry = self.carry, []
        return res

    def _request(self, case: Case) -> Result:
        now = self.t + (JUMP if case.jump else STEP)
        t0 = time.perf_counter()
        try:
            decision = self.engine.decide(case.payload, now=now, format=case.format)
        except InvalidRequest as exc:
            res = Result("invalid", exc.field, "InvalidRequest", elapsed=time.perf_counter() - t0)
            self.rejected += 1
            if not field_ok(exc.field) or not str(exc):
                res.violations.append(
                    Violation(
                        "field",
                        case.label,
                        f"InvalidRequest with field {exc.field!r}: {exc}",
                        payload=case.payload,
                        format=case.format,
                    )
                )
            self._after_rejection(case, res, "InvalidRequest", None)
            return res
        except Exception as exc:  # the point: anything else is a violation
            res = Result(
                "error", None, type(exc).__name__, last_adcore_frame(exc), time.perf_counter() - t0
            )
            self._after_rejection(case, res, type(exc).__name__, exc)
            return res
        res = Result("decided", elapsed=time.perf_counter() - t0)
        self._after_decision(case, decision, now, res)
        return res

    def _after_rejection(self, case: Case, res: Result, what: str, exc: Exception | None) -> None:
        diff = self.differences()
        v = Violation(
            "exception" if exc is not None else "state",
            case.label,
            str(exc)[:200] if exc is not None else "; ".join(diff[:4]),
            what,
            res.where,
            bool(diff),
            case.payload,
            case.format,
        )
        if exc is not None or diff:
            res.violations.append(v)
            self.reset()  # judge later cases alone, whatever this one left behind

    def _after_decision(self, case: Case, decision: Any, now: float, res: Result) -> None:
        def violation(kind: str, detail: str, exc: Exception | None = None) -> Violation:
            where = last_adcore_frame(exc) if exc is not None else None
            what = type(exc).__name__ if exc is not None else None
            return Violation(kind, case.label, detail, what, where, None, case.payload, case.format)

        try:
            other = self.twin.decide(case.payload, now=now, format=case.format)
        except Exception as exc:
            other = exc
        if not isinstance(other, Decision) or getattr(decision, "slots", None) != other.slots:
            detail = "the twin engine decided the same request differently (an earlier input)"
            res.violations.append(violation("divergence", detail))
            self.reset()
            return
        self.t = now
        broken = check_decision(decision, self._decoded(case), self.catalog, self.config, self.seen)
        rng = random.Random(case.feedback)
        try:
            for slot in decision.winners:
                self.seen.add(slot.impression_id)
                self.known.append(slot.impression_id)
                if rng.random() < 0.85:  # else never shown: its hold expires
                    broken += self._show(slot.impression_id, slot.price_micros, now, rng)
        except Exception as exc:  # feedback on a valid event must not raise
            res.violations.append(violation("exception", f"feedback: {exc}"[:200], exc))
            self.reset()
            return
        broken += check_balances(self.engine, self.campaign_ids)
        res.violations += [violation("invariant", b) for b in broken]

    def _show(self, iid: str, micros: int, now: float, rng: random.Random) -> list[str]:
        """Report the impression (sometimes twice), maybe a click or a completion, to
        both engines; the first report charges the price once."""
        bad = []
        before = self.engine.stats()
        imp = Impression(impression_id=iid, timestamp=now + 1.0)
        self.engine.feedback(imp)
        self.twin.feedback(imp)
        after = self.engine.stats()
        charged = (after.spend_micros - before.spend_micros) + (
            after.overdelivered_micros - before.overdelivered_micros
        )
        if after.impressions != before.impressions + 1 or charged != micros:
            bad.append(f"impression {iid!r}: charged {charged} for a price of {micros}")
        if rng.random() < 0.2:
            again = Impression(impression_id=iid, timestamp=now + 2.0)
            self.engine.feedback(again)
            self.twin.feedback(again)
            last = self.engine.stats()
            if (
                last.spend_micros != after.spend_micros
                or last.duplicate_impressions != after.duplicate_impressions + 1
            ):
                bad.append(f"impression {iid!r} reported twice was charged twice")
        if rng.random() < 0.1:
            click = Click(impression_id=iid, timestamp=now + 5.0)
            self.engine.feedback(click)
            self.twin.feedback(click)
        if rng.random() < 0.1:
            done = Complete(impression_id=iid, timestamp=now + 30.0)
            self.engine.feedback(done)
            self.twin.feedback(done)
        return bad

    def _decoded(self, case: Case) -> rtb.BidRequest | None:
        if isinstance(case.payload, rtb.BidRequest):
            try:
                return rtb.validate_request(case.payload)
            except Exception:  # ill-typed Structs: only slot checks apply
                return None
        try:
            fmt: Any = case.format
            return rtb.decode_request(case.payload, fmt, max_bytes=1 << 40)
        except Exception:  # accepted by a tolerant engine, not by the codec
            return None

    # -- events
    def build_event(self, case: EventCase) -> Any:
        if case.cls is None:
            return case.fields["object"]
        kw = dict(case.fields)
        if kw.get("impression_id") is KNOWN_ID:
            kw["impression_id"] = (
                self.known[case.index % len(self.known)] if self.known else "none-yet"
            )
        if kw.get("timestamp") is NOW:
            kw["timestamp"] = self.t + 1.0 + case.index % 100
        return case.cls(**kw)

    def event(self, case: EventCase) -> Result:
        """Send ``case`` to the fuzzed engine's feedback and judge the outcome."""
        res = self._event(case)
        if self.carry:
            res.violations[:0], self.carry = self.carry, []
        return res

    def _event(self, case: EventCase) -> Result:
        ev = self.build_event(case)
        t0 = time.perf_counter()
        try:
            self.engine.feedback(ev)
        except InvalidEvent as exc:
            res = Result("invalid", exc.field, "InvalidEvent", elapsed=time.perf_counter() - t0)
            named = exc.field in case.bad or case.bad in ((), ("*",))
            if not field_ok(exc.field, None) or not named:
                detail = f"InvalidEvent with field {exc.field!r}, bad: {case.bad}: {exc}"
                res.violations.append(Violation("field", case.label, detail))
            diff = self.differences()
            if diff:
                detail = "; ".join(diff[:4])
                res.violations.append(Violation("state", case.label, detail, "InvalidEvent"))
                self.reset()
            res.violations = [
                dataclasses.replace(v, state_changed=bool(diff)) for v in res.violations
            ]
            return res
        except Exception as exc:  # anything else is a violation
            where = last_adcore_frame(exc)
            res = Result("error", None, type(exc).__name__, where, time.perf_counter() - t0)
            diff = self.differences()
            detail = str(exc)[:200]
            res.violations.append(
                Violation("exception", case.label, detail, type(exc).__name__, where, bool(diff))
            )
            self.reset()
            return res
        res = Result("accepted", elapsed=time.perf_counter() - t0)
        if case.bad:
            detail = f"a bad event (fields {', '.join(case.bad)}) was accepted"
            res.violations.append(Violation("accepted", case.label, detail))
        try:
            self.twin.feedback(ev)
        except Exception as exc:
            detail = f"the twin raised {type(exc).__name__} on an event the engine took"
            res.violations.append(Violation("divergence", case.label, detail))
            self.reset()
        return res


# ------------------------------------------------------------------ catalog and config values


def _camp(**kw: Any) -> Campaign:
    base: dict[str, Any] = {"id": "c0", "advertiser": "acme", "daily_budget": 10_000_000}
    base.update(kw)
    return Campaign(**base)


def _ad(**kw: Any) -> Ad:
    base: dict[str, Any] = {
        "id": "a0",
        "campaign": "c0",
        "format": "audio",
        "embedding": (0.1, 0.2, 0.3, 0.4),
        "duration": 30.0,
        "mimes": ("audio/mpeg",),
    }
    base.update(kw)
    return Ad(**base)


def _with_catalog(**kw: Any) -> Callable[[], Any]:
    return lambda: Catalog([_camp()], [_ad()], **kw)


def _with_campaign(**kw: Any) -> Callable[[], Any]:
    return lambda: Catalog([_camp(**kw)], [_ad()])


def _with_ad(**kw: Any) -> Callable[[], Any]:
    return lambda: Catalog([_camp()], [_ad(**kw)])


NAN, INF = math.nan, math.inf

_JSON_BUDGET = (
    b'{"campaigns": [{"id": "c", "advertiser": "a", "daily_budget": %s}], "dimension": 1}'
)
_JSON_ID = b'{"campaigns": [{"id": "%s", "advertiser": "a", "daily_budget": 1}], "dimension": 1}'
_SURROGATE_ID = _JSON_ID.decode() % "\ud800"
_DEEP = b'{"campaigns": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
_BUDGET = r"campaigns\[0\]\.daily_budget"
_BUDGET_OR_NONE = rf"None|{_BUDGET}"
_DEVTYPES = r"targeting\.device_types.*"
_VARIANT_DURATION = r"variants\[0\]\.duration"
_ad1 = _ad(id="a1", embedding=(0.1,))


def _many_mimes() -> list[Ad]:
    return [_ad(id=f"a{i}", mimes=(f"audio/x{i}",)) for i in range(64)]


def _cap(impressions: Any, window: Any) -> FrequencyCap:
    return FrequencyCap(impressions=impressions, window=window)


# fmt: off
_CAMPAIGN_VALUES: list[tuple[str, dict[str, Any], str]] = [
    # budgets, priorities and cap counts beyond 64 bits or the books' range
    ("daily_budget=2**63", {"daily_budget": 2**63}, r"daily_budget"),
    ("daily_budget=2**64", {"daily_budget": 2**64}, r"daily_budget"),
    ("daily_budget=10**400", {"daily_budget": 10**400}, r"daily_budget"),
    ("daily_budget=-1", {"daily_budget": -1}, r"daily_budget"),
    ("daily_budget=1.5", {"daily_budget": 1.5}, r"daily_budget"),
    ("daily_budget='10'", {"daily_budget": "10"}, r"daily_budget"),
    ("daily_budget=nan", {"daily_budget": NAN}, r"daily_budget"),
    ("total_budget=2**63", {"total_budget": 2**63}, r"total_budget"),
    ("total_budget=-1", {"total_budget": -1}, r"total_budget"),
    ("priority=2**63", {"priority": 2**63}, r"priority"),
    ("priority=-(2**63)-1", {"priority": -(2**63) - 1}, r"priority"),
    ("priority=10**400", {"priority": 10**400}, r"priority"),
    ("cap impressions=2**63", {"frequency_cap": _cap(2**63, 60.0)}, r"frequency_cap\.impressions"),
    ("cap impressions=0", {"frequency_cap": _cap(0, 60.0)}, r"frequency_cap\.impressions"),
    ("cap window=-1", {"frequency_cap": _cap(3, -1.0)}, r"frequency_cap\.window"),
    ("cap window=nan", {"frequency_cap": _cap(3, NAN)}, r"frequency_cap\.window"),
    ("cap window=inf", {"frequency_cap": _cap(3, INF)}, r"frequency_cap\.window"),
    # bids
    ("bid=nan", {"bid": NAN}, r"bid"),
    ("bid=inf", {"bid": INF}, r"bid"),
    ("bid=-1", {"bid": -1.0}, r"bid"),
    ("bid=max_bid=1e308", {"bid": 1e308, "max_bid": 1e308}, r"(max_)?bid"),
    ("max_bid=nan", {"max_bid": NAN}, r"max_bid"),
    ("max_bid='10'", {"max_bid": "10"}, r"max_bid"),
    ("conversion_rate=nan", {"conversion_rate": NAN}, r"conversion_rate"),
    ("conversion_rate=2", {"conversion_rate": 2.0}, r"conversion_rate"),
    # flights, targeting, enums, ids
    ("start=nan", {"start": NAN}, r"start"),
    ("end=nan", {"end": NAN}, r"end"),
    ("end before start", {"start": 2e9, "end": 1e9}, r"(start|end)"),
    ("device_types=(0,)", {"targeting": Targeting(device_types=(0,))}, _DEVTYPES),
    ("device_types=(2**63,)", {"targeting": Targeting(device_types=(2**63,))}, _DEVTYPES),
    ("device_types=('4',)", {"targeting": Targeting(device_types=("4",))}, _DEVTYPES),
    ("hours=(24,)", {"targeting": Targeting(hours=(24,))}, r"targeting\.hours.*"),
    ("hours=(-(2**63)-1,)", {"targeting": Targeting(hours=(-(2**63) - 1,))}, r"targeting\.hours.*"),
    ("countries=(5,)", {"targeting": Targeting(countries=(5,))}, r"targeting\.countries.*"),
    ("strategy='bogus'", {"strategy": "bogus"}, r"strategy"),
    ("pacing='bogus'", {"pacing": "bogus"}, r"pacing"),
    ("id=5", {"id": 5}, r"id"),
]
_AD_VALUES: list[tuple[str, dict[str, Any], str]] = [
    ("embedding of strings", {"embedding": ("a", "b", "c", "d")}, r"embedding.*"),
    ("embedding nan", {"embedding": (NAN, 0.0, 0.0, 0.0)}, r"embedding.*"),
    ("embedding inf", {"embedding": (INF, 0.0, 0.0, 0.0)}, r"embedding.*"),
    ("embedding 1e308 (beyond float32)", {"embedding": (1e308, 0.0, 0.0, 0.0)}, r"embedding.*"),
    ("embedding 10**400", {"embedding": (10**400, 0.0, 0.0, 0.0)}, r"embedding.*"),
    ("base_rate=0", {"base_rate": 0.0}, r"base_rate"),
    ("base_rate=nan", {"base_rate": NAN}, r"base_rate"),
    ("duration=-1", {"duration": -1.0}, r"duration"),
    ("duration=inf", {"duration": INF}, r"duration"),
    ("duration=10**400", {"duration": 10**400}, r"duration"),
    ("sizes=((0, 250),)", {"format": "display", "sizes": ((0, 250),)}, r"sizes.*"),
    ("sizes=((2**31, 250),)", {"format": "display", "sizes": ((2**31, 250),)}, r"sizes.*"),
    ("sizes=((2**63, 1),)", {"format": "display", "sizes": ((2**63, 1),)}, r"sizes.*"),
    ("sizes=((300,),)", {"format": "display", "sizes": ((300,),)}, r"sizes.*"),
    ("format='banner'", {"format": "banner"}, r"format"),
    ("unknown campaign", {"campaign": "nope"}, r"campaign"),
    ("duplicate variant", {"variants": (Creative(id="v"), Creative(id="v"))}, r"variants\[1\]\.id"),
    ("variant duration=nan", {"variants": (Creative(id="v", duration=NAN),)}, _VARIANT_DURATION),
]
_CATALOG_VALUES: list[tuple[str, dict[str, Any], str]] = [
    ("signal vector of strings", {"signals": {"cat:IAB1": ("a", "b", "c", "d")}}, r"signals.*"),
    ("signal vector as a str", {"signals": {"cat:IAB1": "abcd"}}, r"signals.*"),
    ("signal vector nan", {"signals": {"cat:IAB1": (NAN, 0.0, 0.0, 0.0)}}, r"signals.*"),
    ("signal vector 1e308", {"signals": {"cat:IAB1": (1e308, 0.0, 0.0, 0.0)}}, r"signals.*"),
    ("signal vector of the wrong dimension", {"signals": {"cat:IAB1": (0.1,)}}, r"signals.*"),
    ("signal name 5", {"signals": {5: (0.1, 0.2, 0.3, 0.4)}}, r"signals.*"),
    ("signals=5", {"signals": 5}, r"signals.*"),
    ("currency=5", {"currency": 5}, r"currency"),
    ("currency='XYZ'", {"currency": "XYZ"}, r"currency"),
    ("currency=''", {"currency": ""}, r"currency"),
    ("currency='usd'", {"currency": "usd"}, r"currency"),
    ("currency=None", {"currency": None}, r"currency"),
    ("dimension=0", {"dimension": 0}, r"dimension"),
    ("dimension='4'", {"dimension": "4"}, r"dimension"),
]
_OTHER_CATALOGS: list[tuple[str, Callable[[], Any], str]] = [
    ("duplicate campaign", lambda: Catalog([_camp(), _camp()], [_ad()]), r"campaigns\[1\]\.id"),
    ("campaign None", lambda: Catalog([None], [_ad()]), r"campaigns\[0\]"),
    ("ad 5", lambda: Catalog([_camp()], [5]), r"ads\[0\]"),
    ("duplicate ad", lambda: Catalog([_camp()], [_ad(), _ad()]), r"ads\[1\]\.id"),
    ("empty embedding", lambda: Catalog([_camp()], [_ad(embedding=())]), r"dimension|ads\[0\].*"),
    ("embedding of another dimension", lambda: Catalog([_camp()], [_ad(), _ad1]), r"ads\[1\].*"),
    ("64 MIME types", lambda: Catalog([_camp()], _many_mimes()), r"ads.*mimes.*"),
    ("dimension=2**63 without ads", lambda: Catalog([_camp()], [], dimension=2**63), r"dimension"),
    ("from_dict campaigns=5", lambda: Catalog.from_dict({"campaigns": 5}), r"campaigns"),
    ("from_dict ad id=1", lambda: Catalog.from_dict({"ads": [{"id": 1}]}), r"ads\[0\].*"),
    ("from_dict of a list", lambda: Catalog.from_dict([]), r"None"),
    ("from_dict unknown key", lambda: Catalog.from_dict({"dimension": 4, "x": 1}), r"x"),
    ("from_json truncated", lambda: Catalog.from_json(b'{"campaigns": ['), r"None"),
    ("from_json 100,000 nested arrays", lambda: Catalog.from_json(_DEEP), r"None|campaigns.*"),
    ("from_json budget=1e999", lambda: Catalog.from_json(_JSON_BUDGET % b"1e999"), _BUDGET_OR_NONE),
    ("from_json budget=2**64", lambda: Catalog.from_json(_JSON_BUDGET % b"%d" % 2**64), _BUDGET),
    ("from_json invalid UTF-8", lambda: Catalog.from_json(_JSON_ID % b"\xff"), r"None|campaigns.*"),
    ("from_json lone surrogate", lambda: Catalog.from_json(_SURROGATE_ID), r"None|campaigns.*"),
]
# fmt: on

CATALOG_TABLE: list[tuple[str, Callable[[], Any], type[Exception], str]] = (
    [
        (f"campaign {n}", _with_campaign(**kw), InvalidCatalog, rf"campaigns\[0\]\.{f}")
        for n, kw, f in _CAMPAIGN_VALUES
    ]
    + [(f"ad {n}", _with_ad(**kw), InvalidCatalog, rf"ads\[0\]\.{f}") for n, kw, f in _AD_VALUES]
    + [(f"catalog {n}", _with_catalog(**kw), InvalidCatalog, f) for n, kw, f in _CATALOG_VALUES]
    + [(n, build, InvalidCatalog, f) for n, build, f in _OTHER_CATALOGS]
)
"""``(name, build, exception, field pattern)``: building must raise exactly that
exception with a ``field`` matching the pattern (``"None"`` for no field)."""

# fmt: off
_CONFIG_VALUES: list[tuple[str, Any]] = [
    ("seed", -1), ("seed", -(2**64)), ("seed", "1"), ("seed", 1.5), ("seed", None),
    ("counter_slots", 2**40), ("counter_slots", 2**63), ("counter_slots", 100),
    ("counter_slots", 0), ("learner_slots", 2**63), ("learner_slots", 0),
    ("max_imps", 0), ("max_imps", 2**63), ("max_pod", 2**63), ("max_pod", 0),
    ("latency_budget_us", NAN), ("latency_budget_us", -1.0),
    ("explore", NAN), ("explore", 1.0), ("explore", INF),
    ("relevance_scale", NAN), ("relevance_scale", INF),
    ("prior_strength", 0.0), ("prior_strength", NAN),
    ("pacing_gain", NAN), ("pacing_gain", INF), ("pacing_gain", -1.0),
    ("pacing_min_multiplier", NAN),
    ("pacing_curve", (1.0,) * 23), ("pacing_curve", (NAN,) * 24), ("pacing_curve", ("a",) * 24),
    ("pacing_curve", (0.0,) * 24), ("pacing_curve", (INF,) + (1.0,) * 23),
    ("pacing_interval", -1.0), ("pacing_interval", NAN), ("pacing_ki", NAN), ("pacing_kd", -1.0),
    ("dual_step", NAN), ("dual_max", INF), ("throttle_min", NAN), ("throttle_smoothing", 0.0),
    ("forecast_bins", 7), ("forecast_bins", 2**63), ("forecast_alpha", NAN),
    ("multislot", "x"), ("multislot", 5),
    ("slot_weights", (NAN,)), ("slot_weights", (1.0, 2.0)), ("slot_weights", ("a",)),
    ("reserve", "x"), ("reserve_decay", NAN), ("reserve_min_auctions", NAN),
    ("shading_decay", 2.0), ("shading_min_bids", NAN),
    ("vendor_id", 0), ("vendor_id", 2**63), ("vendor_id", "42"),
    ("fraud_block_threshold", NAN), ("fraud_discount_threshold", NAN), ("fraud_rate_limit", 0),
    ("fraud_rate_window", NAN), ("fraud_rate_window", -1.0),
    ("fraud_datacenter_score", NAN), ("fraud_impossible_ip_score", -0.1),
    ("bot_patterns", ("",)), ("bot_patterns", ("bot", "")), ("bot_patterns", (5,)),
    ("bot_patterns", "bot"),
    ("datacenter_cidrs", ("not a block",)), ("datacenter_cidrs", ("10.0.0.0/99",)),
    ("datacenter_cidrs", (5,)),
    ("click_min_seconds", -1.0), ("click_min_seconds", NAN), ("click_max_ctr", NAN),
    ("click_min_impressions", 0), ("click_ctr_window", NAN),
    ("hold_ttl", -1.0), ("hold_ttl", NAN), ("hold_ttl", 0.0),
    ("dedup_retention", -1.0), ("dedup_retention", NAN),
    ("max_pending", 0), ("max_pending", -1),
    ("exchange_rates", {"EUR": NAN}), ("exchange_rates", {"EUR": 0.0}),
    ("exchange_rates", {"EUR": -1.0}), ("exchange_rates", {"EUR": INF}),
    ("exchange_rates", {"EUR": "1"}), ("exchange_rates", {"XYZ": 1.0}),
    ("exchange_rates", {"": 1.0}),
    ("max_request_bytes", 0), ("trace", "yes"), ("warmup", "no"),
]
# fmt: on

CONFIG_TABLE: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    (f"{k}={_num(v)}", {k: v}, InvalidConfig, rf"{re.escape(k)}(\W.*)?") for k, v in _CONFIG_VALUES
]
"""``(name, EngineConfig keyword arguments, exception, field pattern)``: building an
Engine with that configuration must raise exactly that exception naming the field (or
an item of it: ``exchange_rates[EUR]``)."""


def raised(build: Callable[[], Any]) -> BaseException | None:
    """What ``build()`` raised (None if it returned)."""
    try:
        build()
    except Exception as exc:  # the caller judges it
        return exc
    return None


def judge_raise(exc: BaseException | None, expected: type[Exception], pattern: str) -> str | None:
    """Why ``exc`` breaks the contract ``expected`` naming a field matching ``pattern``
    (None: it keeps it)."""
    if exc is None:
        return f"accepted; expected {expected.__name__}"
    if type(exc) is not expected:
        where = last_adcore_frame(exc)
        return f"{type(exc).__name__} at {where}: {str(exc)[:160]}; expected {expected.__name__}"
    got = getattr(exc, "field", "<no field attribute>")
    if re.fullmatch(pattern, str(got)) is None:
        return f"{expected.__name__} with field {got!r}, expected one matching {pattern!r}: {exc}"
    return None
