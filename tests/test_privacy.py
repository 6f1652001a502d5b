"""Consent enforced through the engine: without personalisation a decision is the one the
engine makes for the same request with all user-level data removed; nothing personal
reaches decisions, traces or explanations; malformed consent strings fail closed with a
reason code, never an exception."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adcore import Engine, EngineConfig
from adcore import openrtb as rtb
from adcore.agents.privacy import request_activities
from adcore.consent import activities
from adcore.demo import DEMO_START, sample_catalog, sample_requests

try:
    from tests.reference import tcf_encoder as enc
except ImportError:  # pytest run without the project root on sys.path
    from reference import tcf_encoder as enc  # type: ignore[no-redef]

encode_tc = enc.encode_tc

VENDOR = 77
CONFIG = EngineConfig(latency_budget_us=math.inf, vendor_id=VENDOR, warmup=False, trace=True)
CATALOG = sample_catalog(n_ads=120, seed=5)

# A GPP string whose Iowa section (id 18) opts out of sale and targeted advertising: the
# IAB reference implementation's test string.
IOWA_OPT_OUT = enc.encode_gpp([(18, "BVVkklWA.YA")])

# Privacy situations where the request must not be personalised, as changes to a request.
NO_CONSENT = {
    "gdpr_no_string": dict(gdpr=1, consent=None),
    "gdpr_malformed": dict(gdpr=1, consent="not-a-tc-string"),
    "gdpr_other_vendor": dict(gdpr=1, consent="vendor:5"),
    "gdpr_no_purpose_4": dict(gdpr=1, consent="purposes:1,2,3,7"),
    "usp_opt_out": dict(us_privacy="1YYN"),
    "usp_malformed": dict(us_privacy="2ZZZ9"),
    "usp_lower_case": dict(us_privacy="1yyn"),
    "gpp_iowa_opt_out": dict(gpp=IOWA_OPT_OUT, gpp_sid=(18,)),
    "gpp_iowa_opt_out_no_sid": dict(gpp=IOWA_OPT_OUT),
    "coppa": dict(coppa=1),
    "lmt": dict(lmt=1),
    "dnt": dict(dnt=1),
}


def _tc(spec: str | None) -> str | None:
    """A real TC string for the test's shorthand (or the string itself)."""
    if spec is None or not spec.startswith(("vendor:", "purposes:")):
        return spec
    purposes, vendors = {1, 2, 3, 4, 7}, {VENDOR}
    kind, _, values = spec.partition(":")
    if kind == "vendor":
        vendors = {int(v) for v in values.split(",")}
    else:
        purposes = {int(p) for p in values.split(",")}
    return encode_tc(purpose_consents=purposes, vendor_consents=vendors)


def _with(request: rtb.BidRequest, change: dict[str, object]) -> rtb.BidRequest:
    regs = request.regs or rtb.Regs()
    regs = msgspec.structs.replace(
        regs,
        gdpr=change.get("gdpr", regs.gdpr),  # type: ignore[arg-type]
        us_privacy=change.get("us_privacy", regs.us_privacy),  # type: ignore[arg-type]
        coppa=change.get("coppa", regs.coppa),  # type: ignore[arg-type]
        gpp=change.get("gpp", regs.gpp),  # type: ignore[arg-type]
        gpp_sid=change.get("gpp_sid", regs.gpp_sid),  # type: ignore[arg-type]
    )
    device = msgspec.structs.replace(
        request.device or rtb.Device(),
        ifa="ifa-123e4567",
        lmt=change.get("lmt"),  # type: ignore[arg-type]
        dnt=change.get("dnt"),  # type: ignore[arg-type]
    )
    user = msgspec.structs.replace(
        request.user or rtb.User(),
        consent=_tc(change.get("consent")),  # type: ignore[arg-type]
        buyeruid="buyer-42",
    )
    return msgspec.structs.replace(request, regs=regs, device=device, user=user)


def _anonymous(request: rtb.BidRequest) -> rtb.BidRequest:
    """The request with all user-level data removed."""
    device = msgspec.structs.replace(request.device, ifa=None) if request.device else None
    user = request.user
    if user is not None:
        user = rtb.User(consent=user.consent)  # the consent string governs; no identity
    return msgspec.structs.replace(request, device=device, user=user)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    Engine(CATALOG, msgspec.structs.replace(CONFIG, warmup=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.sampled_from(sorted(NO_CONSENT)))
def test_without_consent_the_decision_ignores_user_data(seed: int, situation: str) -> None:
    requests = [_with(r, NO_CONSENT[situation]) for r in sample_requests(12, seed=seed)]
    full, anonymous = Engine(CATALOG, CONFIG), Engine(CATALOG, CONFIG)
    for i, request in enumerate(requests):
        t = DEMO_START + 13.0 * i
        assert not request_activities(request, VENDOR).personalise
        a = full.decide(request, now=t)
        b = anonymous.decide(_anonymous(request), now=t)
        assert a.slots == b.slots
        assert a.trace is not None and b.trace is not None
        privacy = a.trace.agents[0]
        assert privacy.agent == "privacy" and privacy.notes["personalise"] == 0
        assert privacy.notes["why_not"] != "-"  # a reason code says why


def test_with_consent_user_data_is_used() -> None:
    """The control: with a valid TC string for the engine's vendor, segments and the
    user key pass (some decision differs from the anonymous one)."""
    consented = dict(gdpr=1, consent="purposes:1,2,3,4,7", us_privacy=None)
    requests = [_with(r, consented) for r in sample_requests(200, seed=3)]
    assert all(request_activities(r, VENDOR).personalise for r in requests)
    full, anonymous = Engine(CATALOG, CONFIG), Engine(CATALOG, CONFIG)
    differ = 0
    for i, request in enumerate(requests):
        t = DEMO_START + 13.0 * i
        differ += (
            full.decide(request, now=t).slots != anonymous.decide(_anonymous(request), now=t).slots
        )
    assert differ > 0


@pytest.mark.parametrize("situation", sorted(NO_CONSENT))
def test_nothing_personal_reaches_decisions_or_traces(situation: str) -> None:
    engine = Engine(CATALOG, CONFIG)
    for i, request in enumerate(sample_requests(20, seed=9)):
        request = _with(request, NO_CONSENT[situation])
        decision = engine.decide(request, now=DEMO_START + i)
        text = msgspec.json.encode(decision).decode() + engine.explain(decision)
        assert request.user is not None and request.device is not None
        for personal in (request.user.id, "buyer-42", "ifa-123e4567", request.device.ip):
            assert personal is not None and personal not in text


def test_malformed_consent_fails_closed_without_raising() -> None:
    engine = Engine(CATALOG, CONFIG)
    bad = ["", "C", "@@@@", "CO" * 300, "1YNN", "DBABLA~garbage"]
    for i, tc in enumerate(bad):
        request = _with(sample_requests(1, seed=i)[0], dict(gdpr=1, consent=tc))
        decision = engine.decide(request, now=DEMO_START + i)
        assert decision.trace is not None
        notes = decision.trace.agents[0].notes
        assert notes["personalise"] == 0
        assert "tc" in str(notes["why_not"])  # tcf_malformed, or gdpr_no_tc_string for ""


def test_empty_consent_strings_are_not_specified() -> None:
    """An empty string in ``regs.us_privacy``, ``regs.gpp`` or ``user.consent`` is the
    same as none: nothing to decode, nothing withheld for it."""
    for i, request in enumerate(sample_requests(30, seed=11)):
        empty = _with(request, dict(gdpr=0, consent="", us_privacy="", gpp="", gpp_sid=()))
        absent = _with(request, dict(gdpr=0, consent=None, us_privacy=None, gpp=None, gpp_sid=()))
        assert request_activities(empty, VENDOR) == request_activities(absent, VENDOR), i
        assert request_activities(empty, VENDOR).personalise


def test_long_consent_strings_are_decided_like_short_ones() -> None:
    """Signals too long for the decision cache are decided afresh, with the same result."""
    long_gpp = enc.encode_gpp([(18, "BVVkklWA.YA" + "A" * 9000)])
    request = _with(sample_requests(1, seed=2)[0], dict(gdpr=0, gpp=long_gpp, gpp_sid=(18,)))
    got = request_activities(request, VENDOR)
    assert got == activities(
        gdpr=0,
        tc_string=None,
        us_privacy=None,
        gpp=long_gpp,
        gpp_sid=(18,),
        coppa=request.regs.coppa if request.regs else None,
        lmt=None,
        dnt=None,
        vendor_id=VENDOR,
    )
    assert not got.personalise and "gpp_sale_opt_out" in got.reasons
