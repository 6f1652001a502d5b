"""Consent string decoding (``adcore.consent``) and the activities it allows.

* Real strings from the IAB specifications and open-source test suites, with the values
  their sources state (``tests/data/consent/strings.json``, source of each noted there).
* A table of malformed strings: each raises ``InvalidConsent`` naming the failing part;
  ``activities`` never raises on them and withholds what they govern.
* Round trips through the plain-Python encoder in ``tests/reference/tcf_encoder.py``
  (written from the specifications): every field drawn by hypothesis, both vendor
  encodings, publisher restrictions, GPP headers and US National sections.
* Properties of ``activities``: no personalisation under COPPA, LMT, DNT, missing GDPR
  consent, a US Privacy opt-out or a GPP opt-out; personal activities imply serving.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcore.consent import (
    Activities,
    InvalidConsent,
    VendorSet,
    activities,
    decode_gpp,
    decode_tcf,
    decode_usp,
    truncate_ip,
)
from adcore.errors import AdcoreError, InvalidInput

try:
    from tests.reference import tcf_encoder as enc
except ImportError:  # pytest run without the project root on sys.path
    from reference import tcf_encoder as enc  # type: ignore[no-redef]

DATA = json.loads((Path(__file__).parent / "data" / "consent" / "strings.json").read_text())
N_ROUND_TRIP = 400
N_PROPERTY = 2000
N_SIGNALS = 1500  # each example draws two whole consent strings: the slowest to generate
VENDOR = 42

NO_SIGNALS: dict[str, Any] = dict(
    gdpr=0, tc_string=None, us_privacy=None, gpp=None, coppa=0, lmt=0, dnt=0, vendor_id=VENDOR
)


def _everything_tc(**overrides: Any) -> str:
    """A TC string granting every purpose, special feature and vendor up to 100."""
    fields: dict[str, Any] = dict(
        special_feature_opt_ins=range(1, 13),
        purpose_consents=range(1, 25),
        purpose_legitimate_interests=(2, 7, 8, 9, 10),
        vendor_consents=range(1, 101),
        vendor_legitimate_interests=range(1, 101),
    )
    fields.update(overrides)
    return enc.encode_tc(**fields)


# --------------------------------------------------------------------------- real strings


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [e["string"][:24] for e in entries]


@pytest.mark.parametrize("entry", DATA["tcf"], ids=_ids(DATA["tcf"]))
def test_real_tc_strings(entry: dict[str, Any]) -> None:
    assert entry["source"]["repository"] and entry["source"]["path"]
    tc = decode_tcf(entry["string"])
    for key, want in entry["expected"].items():
        if key == "created_seconds":
            assert tc.created // 10 == want
            assert int(tc.created_at.timestamp()) == want
        elif key == "last_updated_seconds":
            assert tc.last_updated // 10 == want
        elif key == "max_vendor_id":
            assert tc.vendor_consents.max_vendor_id == want
        elif key == "vendor_consents":
            assert sorted(tc.vendor_consents) == want
            for v in range(1, tc.vendor_consents.max_vendor_id + 2):
                assert (v in tc.vendor_consents) == (v in want)
        elif key == "purpose_consents_include":
            assert set(want) <= tc.purpose_consents
        elif key == "special_features":
            for fid, on in want.items():
                assert (int(fid) in tc.special_feature_opt_ins) == on
        elif key == "purpose_legitimate_interests":
            for pid, on in want.items():
                assert (int(pid) in tc.purpose_legitimate_interests) == on
        elif key == "restrictions":
            for purpose, kind, vendor, restricted in want:
                assert (kind in tc.restricted(purpose, vendor)) == restricted
        else:
            assert getattr(tc, key) == want, key


@pytest.mark.parametrize("entry", DATA["usp"], ids=_ids(DATA["usp"]))
def test_real_us_privacy_strings(entry: dict[str, Any]) -> None:
    usp = decode_usp(entry["string"])
    for key, want in entry["expected"].items():
        assert getattr(usp, key) == want, key


@pytest.mark.parametrize("entry", DATA["gpp"], ids=_ids(DATA["gpp"]))
def test_real_gpp_strings(entry: dict[str, Any]) -> None:
    gpp = decode_gpp(entry["string"])
    for key, want in entry["expected"].items():
        if key == "usnat":
            assert gpp.usnat is not None
            for name, value in want.items():
                got = getattr(gpp.usnat, name)
                assert (list(got) if isinstance(got, tuple) else got) == value, name
        elif key in ("section_ids", "sections"):
            assert list(getattr(gpp, key)) == want
        else:
            assert getattr(gpp, key) == want, key
    assert len(gpp.sections) == len(gpp.section_ids)
    assert (gpp.usnat is not None) == (7 in gpp.section_ids)


def test_gpp_sections_other_than_usnat_stay_raw() -> None:
    gpp = decode_gpp("DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN")
    assert gpp.section(2) == "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
    assert gpp.section(6) == "1YNN"
    assert gpp.section(7) is None and gpp.usnat is None
    # The TCF EU section is a TC string itself (GPP extension for IAB Europe TCF).
    assert decode_tcf(gpp.section(2) or "").cmp_id == 31


def test_encoder_reproduces_the_spec_headers() -> None:
    """The reference encoder agrees with the GPP specification's header examples (up to
    the trailing zero padding character some encoders add)."""
    assert enc.encode_gpp_header([2]) == "DBABM"
    assert enc.encode_gpp_header([2, 6]) == "DBACNY"
    assert enc.encode_gpp_header([5, 6]) == "DBABjw"
    assert [enc.fibonacci(n) for n in range(1, 8)] == [
        "11",
        "011",
        "0011",
        "1011",
        "00011",
        "10011",
        "01011",
    ]


def test_usp_lower_case_is_accepted() -> None:
    assert decode_usp("1yyn") == decode_usp("1YYN")
    assert decode_usp("1nYn").opt_out


# --------------------------------------------------------------------------- malformed


def _tc_with(**overrides: Any) -> str:
    return enc.encode_tc(vendor_consents=(1, 2, 3), **overrides)


VALID = _tc_with()
MALFORMED_TCF = [
    ("", "tcf"),
    ("   ", "tcf"),
    ("CO!wAdDh", "tcf"),
    ("COwAdDh O", "tcf"),
    ("x" * 70_000, "tcf"),
    # A TCF v1 consent string (Fidzup/Consent-String-SDK-Ruby test): version 1.
    ("BOVeoB_OVeoFxC-AHAFRBtAAAAAhGAEAD4AXAA2YCEQ", "tcf.version"),
    (enc.encode_tc(version=3), "tcf.version"),
    ("B", "tcf.version"),
    ("C", "tcf.created"),
    ("COwAdDhO", "tcf.last_updated"),
    (VALID[:16], "tcf.cmp_version"),
    (_tc_with(consent_language=(4, 26)), "tcf.consent_language"),
    (_tc_with(publisher_cc=(40, 0)), "tcf.publisher_cc"),
    (VALID[:36], "tcf.vendor_consents"),
    (
        enc.encode_tc(vendor_consents=range(1, 300), vendor_consents_max=300)[:50],
        "tcf.vendor_consents",
    ),
]


def _core_prefix_bits() -> str:
    """The bits of a core segment up to and including PublisherCC (all zero fields)."""
    return (
        enc.uint(2, 6)
        + "0" * 72
        + "0" * 30
        + enc.letters("EN")
        + "0" * 18
        + "00"
        + "0" * 60
        + "0"
        + enc.letters("AA")
    )


def _core(tail_bits: str) -> str:
    return enc.to_base64url(_core_prefix_bits() + tail_bits)


EMPTY_VENDORS = enc.vendor_section((), 0, False)
MALFORMED_TCF += [
    (
        _core(enc.uint(4, 16) + "1" + enc.int_ranges([(2, 9)]) + EMPTY_VENDORS),
        "tcf.vendor_consents",
    ),
    (
        _core(enc.uint(4, 16) + "1" + enc.int_ranges([(0, 0)]) + EMPTY_VENDORS),
        "tcf.vendor_consents",
    ),
    (
        _core(enc.uint(9, 16) + "1" + enc.int_ranges([(5, 3)]) + EMPTY_VENDORS),
        "tcf.vendor_consents",
    ),
    (
        _core(EMPTY_VENDORS + enc.uint(4, 16) + "1" + enc.int_ranges([(3, 5)])),
        "tcf.vendor_legitimate_interests",
    ),
    (_core(EMPTY_VENDORS + enc.uint(300, 16) + "0" + "1" * 20), "tcf.vendor_legitimate_interests"),
    (
        _core(EMPTY_VENDORS + EMPTY_VENDORS + enc.uint(1, 12) + enc.uint(2, 6)),
        "tcf.publisher_restrictions",
    ),
    (
        _core(
            EMPTY_VENDORS
            + EMPTY_VENDORS
            + enc.uint(2, 12)
            + enc.uint(2, 6)
            + "00"
            + enc.int_ranges([(1, 1)])
            + enc.uint(3, 6)
            + "01"
            + enc.uint(1, 12)
            + "0"
            + "1010"  # a 16-bit vendor id cut after 4 bits
        ),
        "tcf.publisher_restrictions",
    ),
]

MALFORMED_USP = [
    ("", "usp"),
    ("1YN", "usp"),
    ("1YNNN", "usp"),
    ("2YNN", "usp.version"),
    ("1XNN", "usp.notice"),
    ("1YXN", "usp.opt_out_sale"),
    ("1YN1", "usp.lspa"),
]

USNAT_OK = enc.encode_usnat({"sale_opt_out_notice": 1, "sale_opt_out": 2})
MALFORMED_GPP = [
    ("", "gpp"),
    ("~", "gpp.header"),
    ("DB!BLA~" + USNAT_OK, "gpp.header"),
    (enc.encode_gpp_header([7], kind=4) + "~" + USNAT_OK, "gpp.header"),
    ("DBAB", "gpp.header.section_ids"),
    ("DBABLA", "gpp.sections"),
    ("DBABLA~" + USNAT_OK + "~1YNN", "gpp.sections"),
    ("DBACNYA~1YNN", "gpp.sections"),
    ("DBABLA~B", "gpp.usnat.notices"),
    ("DBABLA~" + USNAT_OK[:6], "gpp.usnat.sensitive_data_processing"),
    ("DBABLA~" + enc.encode_usnat({"version": 3}), "gpp.usnat"),
    ("DBABLA~" + USNAT_OK + ".", "gpp.usnat.gpc"),
    ("DBABLA~" + USNAT_OK + ".Y!", "gpp.usnat.gpc"),
]


@pytest.mark.parametrize(("text", "field"), MALFORMED_TCF)
def test_malformed_tc_strings(text: str, field: str) -> None:
    with pytest.raises(InvalidConsent) as info:
        decode_tcf(text)
    assert info.value.field == field, str(info.value)
    assert isinstance(info.value, AdcoreError) and isinstance(info.value, ValueError)
    got = activities(**{**NO_SIGNALS, "gdpr": 1, "tc_string": text})
    assert not (got.personalise or got.precise_geo or got.measure)
    assert got.serve  # a contextual ad needs no personal data
    assert got.reasons == (("tcf_malformed",) if text else ("gdpr_no_tc_string",))


@pytest.mark.parametrize(("text", "field"), MALFORMED_USP)
def test_malformed_us_privacy(text: str, field: str) -> None:
    with pytest.raises(InvalidConsent) as info:
        decode_usp(text)
    assert info.value.field == field
    got = activities(**{**NO_SIGNALS, "us_privacy": text})
    assert got.serve and not got.personalise and got.reasons == ("usp_malformed",)


@pytest.mark.parametrize(("text", "field"), MALFORMED_GPP)
def test_malformed_gpp(text: str, field: str) -> None:
    with pytest.raises(InvalidConsent) as info:
        decode_gpp(text)
    assert info.value.field == field, str(info.value)
    got = activities(**{**NO_SIGNALS, "gpp": text})
    if text:
        assert got.serve and not got.personalise and not got.precise_geo
        assert got.reasons == ("gpp_malformed",)
    else:  # an empty GPP string is no GPP string
        assert got == activities(**NO_SIGNALS)


@pytest.mark.parametrize("bad", [None, 12, b"CO", ["1YNN"]])
def test_non_strings_are_invalid(bad: Any) -> None:
    for decode, field in ((decode_tcf, "tcf"), (decode_usp, "usp"), (decode_gpp, "gpp")):
        with pytest.raises(InvalidConsent) as info:
            decode(bad)
        assert info.value.field == field


@settings(max_examples=N_PROPERTY)
@given(st.text(alphabet="ABCDEQYZabcz019-_~.!1YN", max_size=80), st.integers(0, 2))
def test_activities_never_raises_on_garbage(text: str, gdpr: int) -> None:
    for kw in ({"tc_string": text}, {"us_privacy": text}, {"gpp": text}):
        got = activities(**{**NO_SIGNALS, "gdpr": gdpr, **kw})
        assert isinstance(got, Activities)
    for decode in (decode_tcf, decode_usp, decode_gpp):
        try:
            decode(text)
        except InvalidConsent:
            pass


# --------------------------------------------------------------------------- round trips

purpose_ids = st.integers(1, 24)


@st.composite
def tc_fields(draw: st.DrawFn, max_vendor: int = 600) -> dict[str, Any]:
    def vendors() -> tuple[set[int], int]:
        ids = draw(st.sets(st.integers(1, max_vendor), max_size=40))
        if draw(st.booleans()):  # runs of consecutive ids, the range encoding's strength
            start = draw(st.integers(1, max_vendor))
            ids |= set(range(start, start + draw(st.integers(1, max_vendor // 6))))
        top = max(ids, default=0) + draw(st.sampled_from([0, 0, 1, 17]))
        return ids, top

    consents, c_max = vendors()
    lis, l_max = vendors()
    letter = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)
    restrictions = draw(
        st.lists(
            st.tuples(
                st.integers(1, 63),
                st.integers(0, 3),
                st.sets(st.integers(1, 3 * max_vendor), min_size=0, max_size=8),
            ),
            max_size=4,
        )
    )
    return dict(
        created=draw(st.integers(0, 2**36 - 1)),
        last_updated=draw(st.integers(0, 2**36 - 1)),
        cmp_id=draw(st.integers(0, 4095)),
        cmp_version=draw(st.integers(0, 4095)),
        consent_screen=draw(st.integers(0, 63)),
        consent_language=draw(letter),
        vendor_list_version=draw(st.integers(0, 4095)),
        policy_version=draw(st.integers(0, 63)),
        is_service_specific=draw(st.booleans()),
        use_non_standard_texts=draw(st.booleans()),
        special_feature_opt_ins=draw(st.sets(st.integers(1, 12))),
        purpose_consents=draw(st.sets(purpose_ids)),
        purpose_legitimate_interests=draw(st.sets(purpose_ids)),
        purpose_one_treatment=draw(st.booleans()),
        publisher_cc=draw(letter),
        vendor_consents=consents,
        vendor_consents_max=c_max,
        vendor_consents_ranges=draw(st.booleans()),
        vendor_legitimate_interests=lis,
        vendor_legitimate_interests_max=l_max,
        vendor_legitimate_interests_ranges=draw(st.booleans()),
        publisher_restrictions=restrictions,
        extra_segments=draw(st.sampled_from([(), ("IFoEUQQgAIQwgIwQ",), ("argAC0g", "QAAA")])),
    )


@settings(max_examples=N_ROUND_TRIP)
@given(tc_fields())
def test_tc_round_trip(fields: dict[str, Any]) -> None:
    tc = decode_tcf(enc.encode_tc(**fields))
    scalars = (
        "created",
        "last_updated",
        "cmp_id",
        "cmp_version",
        "consent_screen",
        "consent_language",
        "vendor_list_version",
        "policy_version",
        "is_service_specific",
        "use_non_standard_texts",
        "purpose_one_treatment",
        "publisher_cc",
    )
    assert tc.version == 2
    for name in scalars:
        assert getattr(tc, name) == fields[name], name
    for name in ("special_feature_opt_ins", "purpose_consents", "purpose_legitimate_interests"):
        assert getattr(tc, name) == frozenset(fields[name]), name
    for name in ("vendor_consents", "vendor_legitimate_interests"):
        got: VendorSet = getattr(tc, name)
        assert got.max_vendor_id == fields[f"{name}_max"]
        assert got.ids() == frozenset(fields[name])
        assert len(got) == len(fields[name]) and sorted(got) == sorted(fields[name])
        for v in (0, 1, 2, *fields[name], got.max_vendor_id, got.max_vendor_id + 1):
            assert (v in got) == (v in fields[name])
    assert len(tc.publisher_restrictions) == len(fields["publisher_restrictions"])
    for r, (purpose, kind, vendors) in zip(
        tc.publisher_restrictions, fields["publisher_restrictions"], strict=True
    ):
        assert (r.purpose_id, r.restriction_type, r.vendors.ids()) == (purpose, kind, vendors)


@settings(max_examples=N_ROUND_TRIP)
@given(tc_fields())
def test_both_vendor_encodings_decode_to_the_same_value(fields: dict[str, Any]) -> None:
    bits = decode_tcf(enc.encode_tc(**{**fields, "vendor_consents_ranges": False}))
    ranges = decode_tcf(enc.encode_tc(**{**fields, "vendor_consents_ranges": True}))
    assert bits.vendor_consents == ranges.vendor_consents
    assert bits == ranges


two_bits = st.integers(0, 3)


@st.composite
def usnat_fields(draw: st.DrawFn) -> dict[str, Any]:
    version = draw(st.sampled_from([1, 2]))
    n_sensitive, n_child = (12, 2) if version == 1 else (16, 3)
    fields: dict[str, Any] = {name: draw(two_bits) for name in enc.USNAT_FIELDS}
    fields.update(
        version=version,
        sensitive_data_processing=draw(
            st.lists(two_bits, min_size=n_sensitive, max_size=n_sensitive)
        ),
        known_child_sensitive_data_consents=draw(
            st.lists(two_bits, min_size=n_child, max_size=n_child)
        ),
        personal_data_consents=draw(two_bits),
        mspa_covered_transaction=draw(two_bits),
        mspa_opt_out_option_mode=draw(two_bits),
        mspa_service_provider_mode=draw(two_bits),
        gpc=draw(st.sampled_from([None, False, True])),
    )
    return fields


@settings(max_examples=N_ROUND_TRIP)
@given(usnat_fields(), st.sets(st.integers(1, 40), max_size=6))
def test_gpp_round_trip(fields: dict[str, Any], others: set[int]) -> None:
    others.discard(7)
    sections = sorted([(7, enc.encode_usnat(fields)), *((sid, f"raw{sid}") for sid in others)])
    gpp = decode_gpp(enc.encode_gpp(sections))
    assert gpp.version == 1
    assert gpp.section_ids == tuple(sid for sid, _ in sections)
    assert gpp.sections == tuple(text for _, text in sections)
    assert gpp.usnat is not None
    for name, want in fields.items():
        got = getattr(gpp.usnat, name)
        assert (list(got) if isinstance(got, tuple) else got) == want, name


# --------------------------------------------------------------------------- activities


@st.composite
def signals(draw: st.DrawFn) -> dict[str, Any]:
    tc = None
    if draw(st.booleans()):
        fields = draw(tc_fields(max_vendor=60))
        if draw(st.booleans()):  # often grant everything to this vendor, to reach "yes"
            fields["purpose_consents"] |= {1, 2, 3, 4, 7}
            fields["special_feature_opt_ins"] |= {1}
            fields["vendor_consents"] |= {VENDOR}
            fields["vendor_consents_max"] = max(fields["vendor_consents_max"], VENDOR)
            fields["publisher_restrictions"] = []
            # ... then take one grant back, so each requirement is met all but one time.
            drop = draw(st.sampled_from([None, None, 1, 2, 3, 4, 7, "vendor", "restrict"]))
            if isinstance(drop, int):
                fields["purpose_consents"].discard(drop)
            elif drop == "vendor":
                fields["vendor_consents"].discard(VENDOR)
            elif drop == "restrict":
                purpose = draw(st.sampled_from([1, 2, 3, 4, 7]))
                kind = draw(st.integers(0, 3))
                fields["publisher_restrictions"] = [(purpose, kind, {VENDOR})]
        tc = enc.encode_tc(**fields)
    usp = draw(st.one_of(st.none(), st.sampled_from(["1YNN", "1YYN", "1NYY", "1---", "1N-N"])))
    gpp = None
    if draw(st.booleans()):
        fields = draw(usnat_fields())
        if draw(st.booleans()):
            for name in ("sale_opt_out", "sharing_opt_out", "targeted_advertising_opt_out"):
                fields[name] = 2
            fields["known_child_sensitive_data_consents"] = [
                0 for _ in fields["known_child_sensitive_data_consents"]
            ]
            fields["gpc"] = None
        gpp = enc.encode_gpp([(6, "1YNN"), (7, enc.encode_usnat(fields))])
    flag = st.sampled_from([None, 0, 1])
    return dict(
        gdpr=draw(flag),
        tc_string=tc,
        us_privacy=usp,
        gpp=gpp,
        gpp_sid=draw(st.sampled_from([(), (7,), (6,), (6, 7), (2,)])),
        coppa=draw(flag),
        lmt=draw(flag),
        dnt=draw(flag),
        vendor_id=VENDOR,
    )


@settings(max_examples=N_SIGNALS)
@given(signals())
def test_no_personalisation_without_permission(kw: dict[str, Any]) -> None:
    """Whatever the signals: personalisation only when none of COPPA, LMT, DNT, a US
    Privacy opt-out, an applicable GPP opt-out and (GDPR) missing purpose 1/3/4 or vendor
    consent holds; and each of those, added alone, switches it off."""
    _each_denial_alone_blocks_personalisation(kw)
    got = activities(**kw)
    # Personal activities only when an ad may be served; a reason for everything withheld.
    assert got.serve or not (got.personalise or got.precise_geo or got.measure)
    withheld = not (got.serve and got.personalise and got.precise_geo and got.measure)
    assert withheld == bool(got.reasons)
    assert len(set(got.reasons)) == len(got.reasons)
    if not got.personalise:
        return
    assert kw["coppa"] != 1 and kw["lmt"] != 1 and kw["dnt"] != 1
    if kw["us_privacy"] is not None:
        assert kw["us_privacy"][2] != "Y"
    if kw["gpp"] is not None:
        usnat = decode_gpp(kw["gpp"]).usnat
        assert usnat is not None
        if not kw["gpp_sid"] or 7 in kw["gpp_sid"]:
            assert usnat.targeted_advertising_opt_out != 1
            assert usnat.sale_opt_out != 1 and usnat.sharing_opt_out != 1
            assert 1 not in usnat.known_child_sensitive_data_consents
            assert not usnat.gpc
    if kw["gdpr"] == 1 or (kw["gdpr"] is None and kw["tc_string"]):
        tc = decode_tcf(kw["tc_string"])
        assert {1, 3, 4} <= tc.purpose_consents
        assert VENDOR in tc.vendor_consents
        for purpose in (1, 3, 4):
            assert not tc.restricted(purpose, VENDOR) & {0, 2}
    if got.precise_geo and (kw["gdpr"] == 1 or (kw["gdpr"] is None and kw["tc_string"])):
        assert 1 in decode_tcf(kw["tc_string"]).special_feature_opt_ins


def _each_denial_alone_blocks_personalisation(kw: dict[str, Any]) -> None:
    for extra in ({"coppa": 1}, {"lmt": 1}, {"dnt": 1}, {"us_privacy": "1YYN"}):
        assert not activities(**{**kw, **extra}).personalise, extra
    assert not activities(**{**kw, "coppa": 1}).precise_geo
    assert not activities(**{**kw, "gdpr": 1, "tc_string": None}).personalise
    opted_out = enc.encode_gpp([(7, enc.encode_usnat({"targeted_advertising_opt_out": 1}))])
    got = activities(**{**kw, "gpp": opted_out, "gpp_sid": ()})
    assert not got.personalise and "gpp_targeting_opt_out" in got.reasons


def test_no_signal_allows_everything() -> None:
    assert activities(**NO_SIGNALS) == Activities(
        serve=True, personalise=True, precise_geo=True, measure=True, reasons=()
    )
    assert activities(**{**NO_SIGNALS, "gdpr": None, "coppa": None, "lmt": None}).personalise


def test_full_consent_allows_everything() -> None:
    got = activities(**{**NO_SIGNALS, "gdpr": 1, "tc_string": _everything_tc()})
    assert (got.serve, got.personalise, got.precise_geo, got.measure) == (True,) * 4
    assert got.reasons == ()


def test_gdpr_reason_codes() -> None:
    kw = {**NO_SIGNALS, "gdpr": 1}
    got = activities(**kw)
    assert got.serve and not got.personalise and got.reasons == ("gdpr_no_tc_string",)
    no_p1 = activities(**{**kw, "tc_string": _everything_tc(purpose_consents=range(2, 25))})
    # Missing purpose 1 (device storage) does not stop a contextual ad.
    assert no_p1.serve and no_p1.measure and not no_p1.personalise
    assert no_p1.reasons == ("gdpr_no_consent_purpose_1",)
    no_vendor = activities(**{**kw, "tc_string": _everything_tc(vendor_consents=(1, 2))})
    assert not no_vendor.personalise and not no_vendor.precise_geo
    assert no_vendor.serve and no_vendor.measure  # purposes 2 and 7 on legitimate interest
    assert no_vendor.reasons == ("gdpr_no_vendor_consent",)
    no_geo = activities(**{**kw, "tc_string": _everything_tc(special_feature_opt_ins=(2,))})
    assert no_geo.personalise and not no_geo.precise_geo
    assert no_geo.reasons == ("gdpr_no_special_feature_1",)


def test_purpose_2_refused_stops_serving() -> None:
    refused = _everything_tc(
        purpose_consents=[p for p in range(1, 25) if p != 2],
        purpose_legitimate_interests=(7,),
    )
    got = activities(**{**NO_SIGNALS, "gdpr": 1, "tc_string": refused})
    assert got == Activities(
        serve=False,
        personalise=False,
        precise_geo=False,
        measure=False,
        reasons=("gdpr_no_basis_purpose_2",),
    )
    flat = _everything_tc(publisher_restrictions=[(2, 0, {VENDOR})])
    got = activities(**{**NO_SIGNALS, "gdpr": 1, "tc_string": flat})
    assert not got.serve and got.reasons == ("gdpr_publisher_restriction_purpose_2",)
    other_vendor = _everything_tc(publisher_restrictions=[(2, 0, {VENDOR + 1})])
    assert activities(**{**NO_SIGNALS, "gdpr": 1, "tc_string": other_vendor}).personalise


@pytest.mark.parametrize(
    ("restriction", "personalise"),
    [((3, 0), False), ((4, 2), False), ((1, 0), False), ((3, 1), True), ((4, 3), True)],
)
def test_publisher_restrictions_on_personalisation(
    restriction: tuple[int, int], personalise: bool
) -> None:
    purpose, kind = restriction
    tc = _everything_tc(publisher_restrictions=[(purpose, kind, set(range(40, 50)))])
    got = activities(**{**NO_SIGNALS, "gdpr": 1, "tc_string": tc})
    assert got.personalise == personalise
    if not personalise:
        assert got.reasons == (f"gdpr_publisher_restriction_purpose_{purpose}",)


def test_measurement_on_consent_or_legitimate_interest() -> None:
    kw = {**NO_SIGNALS, "gdpr": 1}
    li_only = _everything_tc(purpose_consents=(1, 2, 3, 4), purpose_legitimate_interests=(7,))
    assert activities(**{**kw, "tc_string": li_only}).measure
    li_refused = _everything_tc(
        purpose_consents=(1, 2, 3, 4),
        purpose_legitimate_interests=(7,),
        vendor_legitimate_interests=(),
    )
    got = activities(**{**kw, "tc_string": li_refused})
    assert not got.measure and got.personalise and got.reasons == ("gdpr_no_basis_purpose_7",)
    restricted = _everything_tc(publisher_restrictions=[(7, 0, {VENDOR})])
    assert not activities(**{**kw, "tc_string": restricted}).measure


def test_us_signals() -> None:
    got = activities(**{**NO_SIGNALS, "us_privacy": "1YYN"})
    assert got.serve and not got.personalise and got.precise_geo
    assert got.reasons == ("usp_opt_out",)
    assert activities(**{**NO_SIGNALS, "us_privacy": "1YNN"}).personalise
    every = decode_gpp("DBABLA~BVVVkkkklWA.YA")
    assert every.usnat is not None
    got = activities(**{**NO_SIGNALS, "gpp": "DBABLA~BVVVkkkklWA.YA", "gpp_sid": (7,)})
    assert got.reasons == (
        "gpp_sale_opt_out",
        "gpp_sharing_opt_out",
        "gpp_targeting_opt_out",
        "gpp_known_child",
        "gpp_gpc",
        "gpp_no_precise_geo_consent",  # sensitive category 8 (precise geolocation) is 1
    )
    assert not got.personalise and not got.precise_geo and got.serve and got.measure
    # The section does not apply: its opt-outs are not read.
    assert activities(**{**NO_SIGNALS, "gpp": "DBABLA~BVVVkkkklWA.YA", "gpp_sid": (8,)}).personalise
    geo = enc.encode_gpp(
        [(7, enc.encode_usnat({"sensitive_data_processing": [0] * 7 + [1] + [0] * 4}))]
    )
    got = activities(**{**NO_SIGNALS, "gpp": geo})
    assert got.personalise and not got.precise_geo
    assert got.reasons == ("gpp_no_precise_geo_consent",)
    usp_in_gpp = activities(**{**NO_SIGNALS, "gpp": "DBABTA~1YYN"})
    assert not usp_in_gpp.personalise and usp_in_gpp.reasons == ("gpp_usp_opt_out",)


def test_tcf_section_of_gpp_is_used_without_a_tc_string() -> None:
    refused = _everything_tc(purpose_consents=(2, 7))
    gpp = enc.encode_gpp([(2, refused)])
    got = activities(**{**NO_SIGNALS, "gdpr": None, "gpp": gpp})
    assert not got.personalise and "gdpr_no_consent_purpose_1" in got.reasons
    full = enc.encode_gpp([(2, _everything_tc())])
    assert activities(**{**NO_SIGNALS, "gdpr": None, "gpp": full}).personalise


def test_children_and_tracking_flags() -> None:
    got = activities(**{**NO_SIGNALS, "coppa": 1, "lmt": 1, "dnt": 1})
    assert got.serve and got.measure and not got.personalise and not got.precise_geo
    assert got.reasons == ("coppa", "lmt", "dnt")
    lmt = activities(**{**NO_SIGNALS, "lmt": 1})
    assert lmt.precise_geo and not lmt.personalise


# --------------------------------------------------------------------------- the rest


def test_decoding_is_cached() -> None:
    s = _everything_tc(cmp_id=77)
    assert decode_tcf(s) is decode_tcf(s)
    assert decode_gpp("DBABTA~1YNN") is decode_gpp("DBABTA~1YNN")


@pytest.mark.parametrize(
    ("ip", "want"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("10.1.2.255", "10.1.2.0"),
        ("0.0.0.0", "0.0.0.0"),
        (" 192.168.7.9 ", "192.168.7.0"),
        ("2001:db8:abcd:12ff:1:2:3:4", "2001:db8:abcd:1200::"),
        ("2001:db8::1", "2001:db8::"),
        ("::ffff:1.2.3.4", "::"),
    ],
)
def test_truncate_ip(ip: str, want: str) -> None:
    assert truncate_ip(ip) == want


@pytest.mark.parametrize("bad", ["", "1.2.3", "300.1.1.1", "not an ip", "1.2.3.4/24"])
def test_truncate_ip_rejects_non_addresses(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        truncate_ip(bad)
    assert info.value.field == "ip"


@settings(max_examples=N_PROPERTY)
@given(st.ip_addresses())
def test_truncated_ip_is_its_network(addr: Any) -> None:
    import ipaddress

    prefix = 24 if addr.version == 4 else 56
    net = ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
    assert truncate_ip(str(addr)) == str(net.network_address)
