"""Untrusted traffic at the request edge: bounded nesting, tolerated sloppy values, the
one exception contract, and the defaults an exchange-facing engine needs."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest

from adcore import Engine, EngineConfig, InvalidRequest
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.openrtb import BidRequest, Device, Geo, Imp, User, decode_request

# ------------------------------------------------------------------ text input


def test_text_that_is_not_unicode_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="not valid Unicode"):
        decode_request('{"id":"r\ud800","imp":[{"id":"1"}]}')
    with pytest.raises(InvalidRequest, match="malformed JSON"):
        decode_request(b'{"id":"r\xff\xfe","imp":[{"id":"1"}]}')


# ------------------------------------------------------------------ tolerance


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(sample_catalog(n_ads=60, dimension=8, seed=3), EngineConfig(trace=True))


def _sloppy() -> dict[str, Any]:
    """An app request as exchanges send it, with coordinates that are not on Earth."""
    return {
        "id": "some-request-id",
        "imp": [
            {"id": "some-impression-id", "banner": {"format": [{"w": 300, "h": 250}]}},
        ],
        "app": {"id": "some-app-id", "bundle": "com.example.app", "name": "Example"},
        "device": {
            "ua": "Mozilla/5.0 (Linux; Android 14)",
            "ip": "203.0.113.7",
            "geo": {"lat": 123.456, "lon": 678.90, "country": "USA"},
            "pxratio": 0.0,
            "w": -1,
        },
        "user": {"geo": {"lat": -91.0, "accuracy": -5}},
        "tmax": 500,
    }


def test_out_of_range_optional_values_are_dropped_and_noted(engine: Engine) -> None:
    data = json.dumps(_sloppy()).encode()
    before = engine.stats().invalid_requests
    decision = engine.decide(data, now=DEMO_START)
    assert engine.stats().invalid_requests == before
    assert decision.trace is not None
    assert set(decision.trace.dropped) == {
        "device.geo.lat: 123.456 is outside [-90, 90]",
        "device.geo.lon: 678.9 is outside [-180, 180]",
        "device.pxratio: 0.0 is not a positive finite number",
        "device.w: -1 is negative",
        "user.geo.lat: -91.0 is outside [-90, 90]",
        "user.geo.accuracy: -5 is negative",
    }
    req = decode_request(data)
    assert req.device is not None and req.device.geo is not None
    assert req.device.geo.lat is None and req.device.geo.lon is None
    assert req.device.geo.country == "USA"  # the rest of the object is kept
    assert req.user is not None and req.user.geo is not None and req.user.geo.lat is None


def test_tolerated_values_do_not_change_the_decision(engine: Engine) -> None:
    """Dropping a value no decision reads gives the decision of the clean request."""
    clean = _sloppy()
    for obj in (clean["device"]["geo"], clean["user"]["geo"]):
        obj.pop("lat", None), obj.pop("lon", None), obj.pop("accuracy", None)
    del clean["device"]["pxratio"], clean["device"]["w"]
    a = Engine(sample_catalog(n_ads=60, dimension=8, seed=3))
    b = Engine(sample_catalog(n_ads=60, dimension=8, seed=3))
    da = a.decide(json.dumps(_sloppy()).encode(), now=DEMO_START)
    db = b.decide(json.dumps(clean).encode(), now=DEMO_START)
    assert [(s.ad_id, s.price) for s in da.slots] == [(s.ad_id, s.price) for s in db.slots]


def test_structs_built_in_python_are_tolerated_too(engine: Engine) -> None:
    req = BidRequest(
        id="r",
        imp=(Imp(id="1"),),
        device=Device(geo=Geo(lat=math.nan, lon=200.0)),
        user=User(geo=Geo(lastfix=-1)),
    )
    decision = engine.decide(req, now=DEMO_START)
    assert decision.trace is not None
    assert [note.split(":")[0] for note in decision.trace.dropped] == [
        "device.geo.lat",
        "device.geo.lon",
        "user.geo.lastfix",
    ]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("device", "geo", "utcoffset"), 5000, "device.geo.utcoffset"),  # sets dayparting
        (("device", "devicetype"), 99, "device.devicetype"),  # targeting
        (("imp", 0, "bidfloor"), -1.0, "imp[0].bidfloor"),  # money
        (("regs", "gdpr"), 2, "regs.gdpr"),  # consent
    ],
)
def test_essential_fields_stay_strict(
    engine: Engine, path: tuple[Any, ...], value: Any, field: str
) -> None:
    data = _sloppy()
    node: Any = data
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value
    with pytest.raises(InvalidRequest) as exc:
        engine.decide(json.dumps(data).encode(), now=DEMO_START)
    assert exc.value.field == field


# ------------------------------------------------------------------ invalid traffic


def test_data_center_traffic_is_discounted_by_default() -> None:
    """A request from a cloud address is bid on at 1 - 0.7 = 30 % by default."""
    cfg = EngineConfig(trace=True)
    assert cfg.fraud_discount_threshold <= cfg.fraud_datacenter_score < cfg.fraud_block_threshold
    catalog = sample_catalog(n_ads=120, dimension=16, seed=0)
    home, cloud = Engine(catalog, cfg), Engine(catalog, cfg)
    compared = 0
    for k, req in enumerate(sample_requests(40, seed=5, bot_share=0.0, gdpr_share=0.0)):
        assert req.device is not None
        at = DEMO_START + k
        d_home = home.decide(_with_ip(req, "203.0.113.7"), now=at)  # not a data center
        d_cloud = cloud.decide(_with_ip(req, "3.80.0.1"), now=at)  # AWS us-east-1
        for a, b in zip(d_home.slots, d_cloud.slots, strict=True):
            if a.filled and b.filled and a.ad_id == b.ad_id:
                assert b.bid == pytest.approx(0.3 * a.bid, rel=1e-9)
                compared += 1
    assert compared >= 10


def _with_ip(req: BidRequest, ip: str) -> BidRequest:
    assert req.device is not None
    return msgspec.structs.replace(req, device=msgspec.structs.replace(req.device, ip=ip))
