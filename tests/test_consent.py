"""Consent string decoding (``adcore.consent``) and the activities it allows.

* Real strings from the IAB specifications and open-source test suites, with the values
  their sources state (``tests/data/consent/strings.json``, source of each noted there):
  TC strings with every segment, US Privacy, GPP strings, and one or more sections of
  every GPP US section (US National and the states 8 to 27).
* Tables of malformed strings: each raises ``InvalidConsent`` naming the failing part;
  ``activities`` never raises on them and withholds what they govern.
* A fuzzer: random, mutated and very long strings into every public decoder; nothing but
  ``InvalidConsent`` comes out.
* Round trips through the plain-Python encoder in ``tests/reference/tcf_encoder.py``
  (written from the specifications): every field drawn by hypothesis, both vendor
  encodings, publisher restrictions, the optional TC segments, GPP headers, US National
  and every US state section.
* The rules of ``activities`` for the US sections, one table row at a time, and its
  properties: no personalisation under COPPA, LMT, DNT, missing GDPR consent, a US
  Privacy opt-out or a GPP opt-out; personal activities imply serving.
* Work: decoding is linear in the string's length, checked on the decoders' work counter
  (``decoding_work``), not on time.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcore.consent import (
    GPP_US_SECTIONS,
    MAX_LENGTH,
    Activities,
    InvalidConsent,
    USNational,
    USState,
    VendorSet,
    activities,
    decode_gpp,
    decode_tcf,
    decode_us_section,
    decode_usp,
    decoding_work,
    truncate_ip,
)
from adcore.errors import AdcoreError, InvalidInput

try:
    from tests.reference import tcf_encoder as enc
except ImportError:  # pytest run without the project root on sys.path
    from reference import tcf_encoder as enc  # type: ignore[no-redef]

DATA = json.loads((Path(__file__).parent / "data" / "consent" / "strings.json").read_text())
N_ROUND_TRIP = 400
N_PROPERTY = 1000
N_SIGNALS = 500  # each example draws two whole consent strings: the slowest to generate
N_FUZZ = 1000
VENDOR = 42
STATE_IDS = sorted(enc.US_STATES)

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


def _listed(got: Any) -> Any:
    """Sets and tuples as sorted lists, for comparison with JSON values."""
    if isinstance(got, VendorSet | frozenset):
        return sorted(got)
    if isinstance(got, tuple):
        return list(got)
    return got


# --------------------------------------------------------------------------- real strings


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [f"{e.get('section_id', '')}:{e['string'][:24]}" for e in entries]


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
            assert int(tc.last_updated_at.timestamp()) == want
        elif key == "max_vendor_id":
            assert tc.vendor_consents.max_vendor_id == want
        elif key == "vendor_consents":
            assert sorted(tc.vendor_consents) == want
            for v in range(1, tc.vendor_consents.max_vendor_id + 2):
                assert (v in tc.vendor_consents) == (v in want)
        elif key == "purpose_consents_include":
            assert set(want) <= tc.purpose_consents
        elif key == "purpose_legitimate_interest_ids":
            assert sorted(tc.purpose_legitimate_interests) == want
        elif key == "special_features":
            for fid, on in want.items():
                assert (int(fid) in tc.special_feature_opt_ins) == on
        elif key == "purpose_legitimate_interests":
            for pid, on in want.items():
                assert (int(pid) in tc.purpose_legitimate_interests) == on
        elif key == "restrictions":
            for purpose, kind, vendor, restricted in want:
                assert (kind in tc.restricted(purpose, vendor)) == restricted
        elif key == "n_restrictions":
            assert len(tc.publisher_restrictions) == want
        elif key.endswith(("_include", "_exclude")):
            vendors = getattr(tc, key.rpartition("_")[0])
            assert vendors is not None
            for v in want:
                assert (v in vendors) == key.endswith("_include"), (key, v)
        elif key == "publisher_tc":
            assert tc.publisher_tc is not None
            for name, value in want.items():
                assert _listed(getattr(tc.publisher_tc, name)) == value, name
        else:
            assert _listed(getattr(tc, key)) == want, key


@pytest.mark.parametrize("entry", DATA["tcf_rejected"], ids=_ids(DATA["tcf_rejected"]))
def test_real_tc_strings_rejected(entry: dict[str, Any]) -> None:
    assert entry["source"]["repository"] and entry["source"]["path"]
    with pytest.raises(InvalidConsent) as info:
        decode_tcf(entry["string"])
    assert info.value.field == entry["field"]


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
                assert _listed(getattr(gpp.usnat, name)) == value, name
        else:
            assert _listed(getattr(gpp, key)) == want, key
    assert len(gpp.sections) == len(gpp.section_ids)
    assert (gpp.usnat is not None) == (7 in gpp.section_ids)
    assert [s.section_id for s in gpp.states] == [i for i in gpp.section_ids if 8 <= i <= 27]
    for s in gpp.states:
        assert gpp.state(s.section_id) is s
        assert s.prefix == GPP_US_SECTIONS[s.section_id]


@pytest.mark.parametrize("entry", DATA["us_sections"], ids=_ids(DATA["us_sections"]))
def test_real_us_sections(entry: dict[str, Any]) -> None:
    sid = entry["section_id"]
    section = decode_us_section(sid, entry["string"])
    assert isinstance(section, USNational if sid == 7 else USState)
    for name, value in entry["expected"].items():
        assert _listed(getattr(section, name)) == value, name
    # The same text inside a GPP string decodes to the same section, and as the naive
    # reference decoder reads it.
    text = enc.encode_gpp([(sid, entry["string"])])
    gpp = decode_gpp(text)
    assert (gpp.usnat if sid == 7 else gpp.state(sid)) == section
    _assert_states_like_naive(gpp, enc.naive_decode_gpp(text))


def test_every_us_section_of_the_specification_has_real_strings() -> None:
    """Every section id the GPP section list gives a US jurisdiction (7 to 27) is decoded,
    and the test data hold at least one real string for each."""
    assert sorted(GPP_US_SECTIONS) == list(range(7, 28))
    assert {e["section_id"] for e in DATA["us_sections"]} == set(range(7, 28))


@pytest.mark.parametrize(
    "entry",
    [e for e in DATA["us_sections"] if e["section_id"] != 7],
    ids=_ids(DATA["us_sections"])[2:],
)
def test_encoder_writes_the_reference_state_sections(entry: dict[str, Any]) -> None:
    """The reference encoder's layouts, written from the specifications, give the same
    section as the IAB reference implementations' strings (up to trailing padding)."""
    sid = entry["section_id"]
    real = decode_us_section(sid, entry["string"])
    assert isinstance(real, USState)
    fields = {
        name: value
        for name in USState.__struct_fields__
        if (value := getattr(real, name)) is not None and name not in ("section_id",)
    }
    child = fields.get("known_child_sensitive_data_consents")
    if (
        child is not None
        and dict(enc.US_STATES[sid][1]).get("known_child_sensitive_data_consents") == 0
    ):
        fields["known_child_sensitive_data_consents"] = child[0]
    assert decode_us_section(sid, enc.encode_us_state(sid, fields)) == real


def test_gpp_sections_other_than_us_stay_raw() -> None:
    gpp = decode_gpp("DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN")
    assert gpp.section(2) == "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
    assert gpp.section(6) == "1YNN"
    assert gpp.section(7) is None and gpp.usnat is None and gpp.states == ()
    assert gpp.state(18) is None
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


# --------------------------------------------------------------------------- US Privacy


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("1y--", "usp.notice"),
        ("1yyn", "usp.notice"),
        ("1Yn-", "usp.opt_out_sale"),
        ("1NNy", "usp.lspa"),
    ],
)
def test_us_privacy_is_upper_case_only(text: str, field: str) -> None:
    with pytest.raises(InvalidConsent) as info:
        decode_usp(text)
    assert info.value.field == field
    got = activities(**{**NO_SIGNALS, "us_privacy": text})
    assert not got.personalise and got.reasons == ("usp_malformed",)


def test_empty_string_means_not_specified_everywhere() -> None:
    """An empty consent string is the same as none, wherever it comes from."""
    base = activities(**NO_SIGNALS)
    assert activities(**{**NO_SIGNALS, "us_privacy": ""}) == base
    assert activities(**{**NO_SIGNALS, "gpp": ""}) == base
    assert activities(**{**NO_SIGNALS, "tc_string": ""}) == base
    for gdpr in (None, 1):
        kw = {**NO_SIGNALS, "gdpr": gdpr}
        assert activities(**{**kw, "tc_string": ""}) == activities(**{**kw, "tc_string": None})
    # The US Privacy section of a GPP string, empty: no US Privacy signal.
    assert activities(**{**NO_SIGNALS, "gpp": enc.encode_gpp([(6, "")])}) == base
    # ... while regs.us_privacy, when present, is still read.
    assert activities(**{**NO_SIGNALS, "gpp": enc.encode_gpp([(6, "")]), "us_privacy": "1YYN"})
    # The decoder itself refuses it: there is no string to decode.
    with pytest.raises(InvalidConsent) as info:
        decode_usp("")
    assert info.value.field == "usp"


# --------------------------------------------------------------------------- malformed


def _tc_with(**overrides: Any) -> str:
    return enc.encode_tc(vendor_consents=(1, 2, 3), **overrides)


def _core_prefix_bits() -> str:
    """The bits of a core segment up to and including PublisherCC (zero fields but the
    version, 2, and the vendor list version, 1)."""
    return (
        enc.uint(2, 6)
        + "0" * 72
        + "0" * 30
        + enc.letters("EN")
        + enc.uint(1, 12)
        + "0" * 6
        + "00"
        + "0" * 60
        + "0"
        + enc.letters("AA")
    )


def _core(tail_bits: str) -> str:
    return enc.to_base64url(_core_prefix_bits() + tail_bits)


VALID = _tc_with()
EMPTY_VENDORS = enc.vendor_section((), 0, False)
DISCLOSED = enc.vendor_segment(1, [1, 2, 3, 4, 5, 100, 404], use_ranges=True)
FULL_RANGE = enc.uint(65535, 16) + "1" + enc.int_ranges([(1, 65535)])
MALFORMED_TCF = [
    ("", "tcf"),
    ("   ", "tcf"),
    ("CO!wAdDh", "tcf"),
    ("COwAdDh O", "tcf"),
    ("x" * 70_000, "tcf"),
    ("BOVeoB_OVeoFxC-AHAFRBtAAAAAhGAEAD4AXAA2YCEQ", "tcf.version"),
    (enc.encode_tc(version=3), "tcf.version"),
    ("B", "tcf.version"),
    ("C", "tcf.created"),
    ("COwAdDhO", "tcf.last_updated"),
    (VALID[:16], "tcf.cmp_version"),
    (_tc_with(consent_language=(4, 26)), "tcf.consent_language"),
    (_tc_with(publisher_cc=(40, 0)), "tcf.publisher_cc"),
    (_tc_with(vendor_list_version=0), "tcf.vendor_list_version"),
    (VALID[:36], "tcf.vendor_consents"),
    (
        enc.encode_tc(vendor_consents=range(1, 300), vendor_consents_max=300)[:50],
        "tcf.vendor_consents",
    ),
    # NumPubRestrictions is required: cut after the vendor sections, or half there.
    (_tc_with(core_bits_suffix=""), "tcf.publisher_restrictions"),
    (_tc_with(core_bits_suffix="0000"), "tcf.publisher_restrictions"),
    (_core(EMPTY_VENDORS + EMPTY_VENDORS), "tcf.publisher_restrictions"),
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
    # The segments after the core one.
    (VALID + ".", "tcf.segments"),
    (VALID + "." + DISCLOSED + "..", "tcf.segments"),
    (VALID + ".I!AA", "tcf.segments"),
    (VALID + "." + enc.to_base64url("000" + EMPTY_VENDORS), "tcf.segments"),  # type 0
    (VALID + "." + enc.to_base64url("100" + EMPTY_VENDORS), "tcf.segments"),  # type 4
    (VALID + "." + enc.to_base64url("111"), "tcf.segments"),  # type 7
    (VALID + "." + DISCLOSED + "." + DISCLOSED, "tcf.segments"),
    (VALID + "." + DISCLOSED[:4], "tcf.disclosed_vendors"),
    (
        VALID + "." + enc.to_base64url("001" + enc.uint(4, 16) + "1" + enc.int_ranges([(3, 9)])),
        "tcf.disclosed_vendors",
    ),
    (VALID + "." + enc.vendor_segment(2, range(1, 200))[:10], "tcf.allowed_vendors"),
    (VALID + ".argAC0g", "tcf.publisher_tc"),
    (VALID + "." + enc.publisher_tc_segment(num_custom=40)[:10], "tcf.publisher_tc"),
    # Budgets: list items (range entries, restrictions at four each) and range positions.
    (
        _core(
            enc.uint(9000, 16)
            + "1"
            + enc.int_ranges([(v, v) for v in range(1, 2001, 2)])
            + enc.uint(9000, 16)
            + "1"
            + enc.int_ranges([(v, v) for v in range(1, 400, 2)])
            + enc.uint(0, 12)
        ),
        "tcf.vendor_legitimate_interests",
    ),
    (
        _core(
            EMPTY_VENDORS
            + EMPTY_VENDORS
            + enc.uint(1025, 12)
            + (enc.uint(1, 6) + "00" + enc.uint(0, 12)) * 1025
        ),
        "tcf.publisher_restrictions",
    ),
    (
        _core(
            FULL_RANGE
            + FULL_RANGE
            + enc.uint(1, 12)
            + enc.uint(1, 6)
            + "00"
            + enc.int_ranges([(1, 65535)])
        )
        + "."
        + enc.to_base64url("001" + FULL_RANGE)
        + "."
        + enc.to_base64url("010" + FULL_RANGE),
        "tcf.allowed_vendors",
    ),
]

MALFORMED_USP = [
    ("", "usp"),
    ("1YN", "usp"),
    ("1YNNN", "usp"),
    ("2YNN", "usp.version"),
    (" YNN", "usp.version"),
    ("1XNN", "usp.notice"),
    ("1YXN", "usp.opt_out_sale"),
    ("1YN1", "usp.lspa"),
    ("1y--", "usp.notice"),
]

USNAT_OK = enc.encode_usnat({"sale_opt_out_notice": 1, "sale_opt_out": 2})
MALFORMED_GPP = [
    ("", "gpp"),
    ("~", "gpp.header"),
    ("DB!BLA~" + USNAT_OK, "gpp.header"),
    (enc.encode_gpp_header([7], kind=4) + "~" + USNAT_OK, "gpp.header"),
    (enc.encode_gpp_header([7], version=2) + "~" + USNAT_OK, "gpp.header.version"),
    (enc.encode_gpp_header([7], version=0) + "~" + USNAT_OK, "gpp.header.version"),
    ("DBAB", "gpp.header.section_ids"),
    (
        enc.to_base64url(enc.uint(3, 6) + enc.uint(1, 6) + enc.uint(1, 12) + "0" + "0" * 30 + "11")
        + "~x",
        "gpp.header.section_ids",
    ),
    ("DBABLA", "gpp.sections"),
    ("DBABLA~" + USNAT_OK + "~1YNN", "gpp.sections"),
    ("DBACNYA~1YNN", "gpp.sections"),
    (enc.encode_gpp_header(list(range(7, 21))) + "~" + USNAT_OK, "gpp.sections"),
    (enc.encode_gpp_header(list(range(30, 330))) + "~x" * 300, "gpp.sections"),
    ("DBABLA~B", "gpp.usnat.notices"),
    ("DBABLA~" + USNAT_OK[:6], "gpp.usnat.sensitive_data_processing"),
    ("DBABLA~" + enc.encode_usnat({"version": 3}), "gpp.usnat"),
    ("DBABLA~" + enc.encode_usnat({"sharing_notice": 3}), "gpp.usnat.notices"),
    ("DBABLA~" + enc.encode_usnat({"mspa_service_provider_mode": 3}), "gpp.usnat.mspa"),
    ("DBABLA~" + USNAT_OK + ".", "gpp.usnat.gpc"),
    ("DBABLA~" + USNAT_OK + ".Y!", "gpp.usnat.gpc"),
]
for _sid in STATE_IDS:
    _prefix, _layout, _sub = enc.US_STATES[_sid]
    _ok = enc.encode_us_state(_sid, {})
    _first = _layout[0][0]
    MALFORMED_GPP += [
        (enc.encode_gpp([(_sid, enc.encode_us_state(_sid, {"version": 2}))]), f"gpp.{_prefix}"),
        (enc.encode_gpp([(_sid, "B")]), f"gpp.{_prefix}.{_first}"),
        (
            enc.encode_gpp([(_sid, enc.encode_us_state(_sid, {_first: 3}))]),
            f"gpp.{_prefix}.{_first}",
        ),
        (enc.encode_gpp([(_sid, _ok[: len(_ok) // 2])]), f"gpp.{_prefix}.*"),
        (
            enc.encode_gpp([(_sid, _ok + ".!")]),
            {
                "gpc": f"gpp.{_prefix}.gpc",
                "sensitive": f"gpp.{_prefix}.sensitive_data_consents",
            }.get(_sub),
        ),
    ]
    if _sub == "sensitive":
        MALFORMED_GPP.append(
            (
                enc.encode_gpp([(_sid, _ok + ".kk")]),
                f"gpp.{_prefix}.sensitive_data_consents.sensitive_data_processing",
            )
        )


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
    if text:
        assert got.serve and not got.personalise and got.reasons == ("usp_malformed",)
    else:  # an empty US Privacy string is no US Privacy string
        assert got == activities(**NO_SIGNALS)


@pytest.mark.parametrize(("text", "field"), MALFORMED_GPP)
def test_malformed_gpp(text: str, field: str | None) -> None:
    if field is None:  # a section without subsections: what follows a "." is ignored
        decode_gpp(text)
        return
    with pytest.raises(InvalidConsent) as info:
        decode_gpp(text)
    if field.endswith(".*"):  # cut short: some field of the section
        assert (info.value.field or "").startswith(field[:-1]), str(info.value)
    else:
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


def test_unknown_us_section_id() -> None:
    for sid in (0, 2, 6, 28, 10**6, "7", None):
        with pytest.raises(InvalidConsent) as info:
            decode_us_section(sid, "BAAA")  # type: ignore[arg-type]
        assert info.value.field == "gpp.sections"


@pytest.mark.parametrize("bad", [None, 12, b"BAAA", ["BAAA"], "B" * (MAX_LENGTH + 1)])
def test_us_sections_must_be_strings(bad: Any) -> None:
    for sid, prefix in GPP_US_SECTIONS.items():
        with pytest.raises(InvalidConsent) as info:
            decode_us_section(sid, bad)
        assert info.value.field == f"gpp.{prefix}"


# --------------------------------------------------------------------------- fuzzing

SEEDS = (
    [e["string"] for e in DATA["tcf"] + DATA["tcf_rejected"] + DATA["usp"] + DATA["gpp"]]
    + [e["string"] for e in DATA["us_sections"]]
    + [VALID + "." + DISCLOSED + "." + enc.publisher_tc_segment(num_custom=5)]
)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A real string cut, spliced, with characters replaced, inserted, repeated or
    deleted; or random text, sometimes very long."""
    kind = draw(st.sampled_from(["mutate", "mutate", "mutate", "random", "long"]))
    if kind == "random":
        return draw(st.text(max_size=200))
    if kind == "long":
        unit = draw(st.text(alphabet=ALPHABET + ".~", min_size=1, max_size=8))
        head = draw(st.sampled_from(["", "C", "DBAB", "DBABLA~", "DBABCw~B", *SEEDS[:3]]))
        return head + unit * draw(st.integers(1, 70_000 // len(unit)))
    s = list(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "cut", "repeat"]))
        i = draw(st.integers(0, max(len(s) - 1, 0)))
        char = draw(st.sampled_from(ALPHABET + ".~!= \x00é\ud800"))
        if op == "replace" and s:
            s[i] = char
        elif op == "insert":
            s.insert(i, char)
        elif op == "delete" and s:
            del s[i]
        elif op == "cut":
            s = s[:i]
        elif op == "repeat":
            s = s[:i] + s[i:] * draw(st.integers(2, 20))
    return "".join(s)


@settings(max_examples=N_FUZZ)
@given(mutated(), st.integers(0, 2), st.sampled_from([(), (7,), (18,), (2, 6), (8, 9, 27)]))
def test_fuzz_raises_only_invalid_consent(text: str, gdpr: int, sid: tuple[int, ...]) -> None:
    """Whatever the string: the decoders raise InvalidConsent or nothing, and
    ``activities`` returns."""
    decoders: list[Any] = [decode_tcf, decode_usp, decode_gpp]
    decoders += [lambda s, i=i: decode_us_section(i, s) for i in range(7, 28)]
    for decode in decoders:
        try:
            decode(text)
        except InvalidConsent:
            pass
    for kw in ({"tc_string": text}, {"us_privacy": text}, {"gpp": text}):
        got = activities(**{**NO_SIGNALS, "gdpr": gdpr, "gpp_sid": sid, **kw})
        assert isinstance(got, Activities)


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
    segments: dict[str, Any] = {}
    for kind, name in ((1, "disclosed_vendors"), (2, "allowed_vendors")):
        if draw(st.booleans()):
            ids, top = vendors()
            segments[name] = (ids, top, enc.vendor_segment(kind, ids, top, draw(st.booleans())))
    if draw(st.booleans()):
        n_custom = draw(st.integers(0, 63))
        custom = st.sets(st.integers(1, max(n_custom, 1)), max_size=n_custom)
        pub = dict(
            consents=draw(st.sets(purpose_ids)),
            legitimate_interests=draw(st.sets(purpose_ids)),
            num_custom=n_custom,
            custom_consents=draw(custom) if n_custom else set(),
            custom_legitimate_interests=draw(custom) if n_custom else set(),
        )
        segments["publisher_tc"] = (pub, enc.publisher_tc_segment(**pub))
    order = draw(st.permutations(sorted(segments)))
    return dict(
        created=draw(st.integers(0, 2**36 - 1)),
        last_updated=draw(st.integers(0, 2**36 - 1)),
        cmp_id=draw(st.integers(0, 4095)),
        cmp_version=draw(st.integers(0, 4095)),
        consent_screen=draw(st.integers(0, 63)),
        consent_language=draw(letter),
        vendor_list_version=draw(st.integers(1, 4095)),
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
        extra_segments=tuple(segments[name][-1] for name in order),
        segments=segments,
    )


def _encode(fields: dict[str, Any]) -> str:
    return enc.encode_tc(**{k: v for k, v in fields.items() if k != "segments"})


@settings(max_examples=N_ROUND_TRIP)
@given(tc_fields())
def test_tc_round_trip(fields: dict[str, Any]) -> None:
    tc = decode_tcf(_encode(fields))
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
    segments = fields["segments"]
    for name in ("disclosed_vendors", "allowed_vendors"):
        got_set = getattr(tc, name)
        if name not in segments:
            assert got_set is None
            continue
        ids, top, _ = segments[name]
        assert got_set is not None and got_set.ids() == ids and got_set.max_vendor_id == top
    if "publisher_tc" not in segments:
        assert tc.publisher_tc is None
    else:
        pub, _ = segments["publisher_tc"]
        assert tc.publisher_tc is not None
        assert tc.publisher_tc.purpose_consents == pub["consents"]
        assert tc.publisher_tc.purpose_legitimate_interests == pub["legitimate_interests"]
        assert tc.publisher_tc.num_custom_purposes == pub["num_custom"]
        assert tc.publisher_tc.custom_purpose_consents == pub["custom_consents"]
        assert (
            tc.publisher_tc.custom_purpose_legitimate_interests
            == (pub["custom_legitimate_interests"])
        )


@settings(max_examples=N_ROUND_TRIP)
@given(tc_fields())
def test_both_vendor_encodings_decode_to_the_same_value(fields: dict[str, Any]) -> None:
    bits = decode_tcf(_encode({**fields, "vendor_consents_ranges": False}))
    ranges = decode_tcf(_encode({**fields, "vendor_consents_ranges": True}))
    assert bits.vendor_consents == ranges.vendor_consents
    assert bits == ranges


def _assert_like_naive(tc: Any, naive: dict[str, Any]) -> None:
    """adcore's TCString equals the naive reference decoder's plain values."""
    for name in (
        "version",
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
        "special_feature_opt_ins",
        "purpose_consents",
        "purpose_legitimate_interests",
        "purpose_one_treatment",
        "publisher_cc",
    ):
        assert getattr(tc, name) == naive[name], name
    for name in (
        "vendor_consents",
        "vendor_legitimate_interests",
        "disclosed_vendors",
        "allowed_vendors",
    ):
        got = getattr(tc, name)
        if name not in naive:
            assert got is None
            continue
        top, ids = naive[name]
        assert (got.max_vendor_id, got.ids()) == (top, ids), name
    assert [
        (r.purpose_id, r.restriction_type, r.vendors.ids()) for r in tc.publisher_restrictions
    ] == (naive["publisher_restrictions"])
    if "publisher_tc" in naive:
        p = tc.publisher_tc
        assert (
            p.purpose_consents,
            p.purpose_legitimate_interests,
            p.num_custom_purposes,
            p.custom_purpose_consents,
            p.custom_purpose_legitimate_interests,
        ) == naive["publisher_tc"]


@settings(max_examples=N_ROUND_TRIP // 2)
@given(tc_fields())
def test_tc_decoder_matches_the_naive_reference(fields: dict[str, Any]) -> None:
    s = _encode(fields)
    _assert_like_naive(decode_tcf(s), enc.naive_decode_tc(s))


@pytest.mark.parametrize("entry", DATA["tcf"], ids=_ids(DATA["tcf"]))
def test_real_tc_strings_match_the_naive_reference(entry: dict[str, Any]) -> None:
    _assert_like_naive(decode_tcf(entry["string"]), enc.naive_decode_tc(entry["string"]))


@pytest.mark.parametrize("entry", DATA["gpp"], ids=_ids(DATA["gpp"]))
def test_real_gpp_strings_match_the_naive_reference(entry: dict[str, Any]) -> None:
    gpp, naive = decode_gpp(entry["string"]), enc.naive_decode_gpp(entry["string"])
    assert (gpp.version, list(gpp.section_ids), list(gpp.sections)) == (
        naive["version"],
        naive["section_ids"],
        naive["sections"],
    )
    if gpp.usnat is not None:
        nat = gpp.usnat
        assert naive["usnat"] == [
            nat.version,
            nat.sharing_notice,
            nat.sale_opt_out_notice,
            nat.sharing_opt_out_notice,
            nat.targeted_advertising_opt_out_notice,
            nat.sensitive_data_processing_opt_out_notice,
            nat.sensitive_data_limit_use_notice,
            nat.sale_opt_out,
            nat.sharing_opt_out,
            nat.targeted_advertising_opt_out,
            *nat.sensitive_data_processing,
            *nat.known_child_sensitive_data_consents,
            nat.personal_data_consents,
            nat.mspa_covered_transaction,
            nat.mspa_opt_out_option_mode,
            nat.mspa_service_provider_mode,
        ]


def _assert_states_like_naive(gpp: Any, naive: dict[str, Any]) -> None:
    for state in gpp.states:
        want = dict(naive[state.section_id])
        child = want.get("known_child_sensitive_data_consents")
        if isinstance(child, int):
            want["known_child_sensitive_data_consents"] = [child]
        for name, value in want.items():
            assert _listed(getattr(state, name)) == value, (state.section_id, name)


two_bits = st.integers(0, 2)


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


@st.composite
def state_fields(draw: st.DrawFn, section_id: int) -> dict[str, Any]:
    _, layout, subsection = enc.US_STATES[section_id]
    fields: dict[str, Any] = {}
    for name, n in layout:
        fields[name] = draw(st.lists(two_bits, min_size=n, max_size=n)) if n else draw(two_bits)
    if subsection == "gpc":
        fields["gpc"] = draw(st.sampled_from([None, False, True]))
    elif subsection == "sensitive":
        fields["sensitive_data_processing"] = draw(
            st.one_of(st.none(), st.lists(two_bits, min_size=8, max_size=8))
        )
    return fields


NON_US_IDS = [1, 2, 3, 4, 5, 6, *range(28, 41)]


@settings(max_examples=N_ROUND_TRIP)
@given(usnat_fields(), st.sets(st.sampled_from(NON_US_IDS), max_size=6))
def test_gpp_round_trip(fields: dict[str, Any], others: set[int]) -> None:
    sections = sorted([(7, enc.encode_usnat(fields)), *((sid, f"raw{sid}") for sid in others)])
    gpp = decode_gpp(enc.encode_gpp(sections))
    assert gpp.version == 1
    assert gpp.section_ids == tuple(sid for sid, _ in sections)
    assert gpp.sections == tuple(text for _, text in sections)
    assert gpp.usnat is not None
    for name, want in fields.items():
        assert _listed(getattr(gpp.usnat, name)) == want, name


@settings(max_examples=N_ROUND_TRIP)
@given(st.data(), st.sets(st.sampled_from(STATE_IDS), min_size=1, max_size=5))
def test_us_state_round_trip(data: st.DataObject, ids: set[int]) -> None:
    drawn = {sid: data.draw(state_fields(sid)) for sid in sorted(ids)}
    text = enc.encode_gpp([(sid, enc.encode_us_state(sid, f)) for sid, f in drawn.items()])
    gpp = decode_gpp(text)
    assert [s.section_id for s in gpp.states] == sorted(ids)
    _assert_states_like_naive(gpp, enc.naive_decode_gpp(text))
    for sid, fields in drawn.items():
        got = gpp.state(sid)
        assert got is not None and got.version == 1 and got.state
        for name, want in fields.items():
            value = _listed(getattr(got, name))
            if isinstance(want, int) and name == "known_child_sensitive_data_consents":
                want = [want]
            if name == "gpc" and enc.US_STATES[sid][2] != "gpc":
                want = None
            assert value == want, (sid, name)
        declared = {name for name, _ in enc.US_STATES[sid][1]} | {
            "gpc",
            "sensitive_data_processing",
        }
        for name in USState.__struct_fields__:
            if name not in declared and name not in ("section_id", "version"):
                assert getattr(got, name) is None, (sid, name)


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
        tc = _encode(fields)
    usp = draw(st.one_of(st.none(), st.sampled_from(["1YNN", "1YYN", "1NYY", "1---", "1N-N"])))
    gpp = None
    if draw(st.booleans()):
        fields = draw(usnat_fields())
        sid = draw(st.sampled_from(STATE_IDS))
        state = draw(state_fields(sid))
        if draw(st.booleans()):  # a section that allows everything, to reach "yes"
            fields = {**_CLEAN[7], "version": fields["version"]}
            if fields["version"] == 1:
                fields["sensitive_data_processing"] = [0] * 12
                fields["known_child_sensitive_data_consents"] = [0, 0]
            state = dict(_CLEAN[sid])
        gpp = enc.encode_gpp(
            [(6, "1YNN"), (7, enc.encode_usnat(fields)), (sid, enc.encode_us_state(sid, state))]
        )
    flag = st.sampled_from([None, 0, 1])
    return dict(
        gdpr=draw(flag),
        tc_string=tc,
        us_privacy=usp,
        gpp=gpp,
        gpp_sid=draw(st.sampled_from([(), (7,), (6,), (6, 7), (2,), tuple(STATE_IDS)])),
        coppa=draw(flag),
        lmt=draw(flag),
        dnt=draw(flag),
        vendor_id=VENDOR,
    )


def _categories(section: USNational | USState) -> dict[int, int]:
    """Sensitive-data values by US National category."""
    if isinstance(section, USNational):
        return dict(enumerate(section.sensitive_data_processing))
    return section.sensitive_categories()


def _us_sections(kw: dict[str, Any]) -> list[USNational | USState]:
    """The US sections of the signals' GPP string that apply."""
    gpp = decode_gpp(kw["gpp"])
    applicable = kw["gpp_sid"] or gpp.section_ids
    out: list[USNational | USState] = []
    if gpp.usnat is not None and 7 in applicable:
        out.append(gpp.usnat)
    return out + [s for s in gpp.states if s.section_id in applicable]


@settings(max_examples=N_SIGNALS)
@given(signals())
def test_no_personalisation_without_permission(kw: dict[str, Any]) -> None:
    """Whatever the signals: personalisation only when none of COPPA, LMT, DNT, a US
    Privacy opt-out, an applicable GPP opt-out (any US section) and (GDPR) missing purpose
    1/3/4 or vendor consent holds; and each of those, added alone, switches it off."""
    _each_denial_alone_blocks_personalisation(kw)
    got = activities(**kw)
    # Personal activities only when an ad may be served; a reason for everything withheld.
    assert got.serve or not (got.personalise or got.precise_geo or got.measure)
    withheld = not (got.serve and got.personalise and got.precise_geo and got.measure)
    assert withheld == bool(got.reasons)
    assert len(set(got.reasons)) == len(got.reasons)
    if got.precise_geo and kw["gpp"] is not None:
        for section in _us_sections(kw):
            assert not section.gpc and section.mspa_service_provider_mode != 1
    if not got.personalise:
        return
    assert kw["coppa"] != 1 and kw["lmt"] != 1 and kw["dnt"] != 1
    if kw["us_privacy"] is not None:
        assert kw["us_privacy"][2] != "Y"
    if kw["gpp"] is not None:
        for section in _us_sections(kw):
            assert section.sale_opt_out != 1 and section.targeted_advertising_opt_out != 1
            assert section.sharing_opt_out != 1 and not section.gpc
            assert 1 not in (section.known_child_sensitive_data_consents or ())
            assert 1 not in {c: v for c, v in _categories(section).items() if c != 7}.values()
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
    iowa = enc.encode_gpp([(18, enc.encode_us_state(18, {**_CLEAN[18], "sale_opt_out": 1}))])
    got = activities(**{**kw, "gpp": iowa, "gpp_sid": (18,)})
    assert not got.personalise and "gpp_sale_opt_out" in got.reasons


def test_no_signal_allows_everything() -> None:
    assert activities(**NO_SIGNALS) == Activities(
        serve=True, personalise=True, precise_geo=True, measure=True, reasons=()
    )
    assert activities(**{**NO_SIGNALS, "gdpr": None, "coppa": None, "lmt": None}).personalise


def test_full_consent_allows_everything() -> None:
    got = activities(**{**NO_SIGNALS, "gdpr": 1, "tc_string": _everything_tc()})
    assert (got.serve, got.personalise, got.precise_geo, got.measure) == (True,) * 4
    assert got.reasons == ()
    # The optional segments change nothing for the vendor.
    with_segments = _everything_tc(extra_segments=(DISCLOSED, enc.publisher_tc_segment()))
    assert activities(**{**NO_SIGNALS, "gdpr": 1, "tc_string": with_segments}) == got


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


def test_us_privacy_and_its_gpp_section() -> None:
    got = activities(**{**NO_SIGNALS, "us_privacy": "1YYN"})
    assert got.serve and not got.personalise and got.precise_geo
    assert got.reasons == ("usp_opt_out",)
    assert activities(**{**NO_SIGNALS, "us_privacy": "1YNN"}).personalise
    usp_in_gpp = activities(**{**NO_SIGNALS, "gpp": "DBABTA~1YYN"})
    assert not usp_in_gpp.personalise and usp_in_gpp.reasons == ("gpp_usp_opt_out",)
    assert activities(**{**NO_SIGNALS, "gpp": "DBABTA~1yyn"}).reasons == ("gpp_usp_malformed",)


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


# --------------------------------------------------------------------------- US sections


def _clean(section_id: int) -> dict[str, Any]:
    """Fields of a section that allows everything: notices given, no opt-out, no
    sensitive data, no known child, an MSPA covered transaction in opt-out option mode."""
    if section_id == 7:
        fields: dict[str, Any] = {name: 1 for name in enc.USNAT_FIELDS[:6]}
        fields.update({name: 2 for name in enc.USNAT_FIELDS[6:]})
        fields.update(
            version=2,
            sensitive_data_processing=[0] * 16,
            known_child_sensitive_data_consents=[0] * 3,
            mspa_covered_transaction=1,
            mspa_opt_out_option_mode=1,
            gpc=False,
        )
        return fields
    _, layout, subsection = enc.US_STATES[section_id]
    fields = {}
    for name, n in layout:
        if n:
            fields[name] = [0] * n
        elif name.endswith("_notice"):
            fields[name] = 1
        elif name.endswith("_opt_out"):
            fields[name] = 2
        elif name in ("mspa_covered_transaction", "mspa_opt_out_option_mode", "mspa_mode"):
            fields[name] = 1
        else:
            fields[name] = 0
    if subsection == "gpc":
        fields["gpc"] = False
    return fields


_CLEAN = {sid: _clean(sid) for sid in (7, *STATE_IDS)}


def _section(section_id: int, **changes: Any) -> str:
    fields = {**_CLEAN[section_id], **changes}
    if section_id == 7:
        return enc.encode_usnat(fields)
    return enc.encode_us_state(section_id, fields)


def _us(section_id: int, **changes: Any) -> Activities:
    gpp = enc.encode_gpp([(section_id, _section(section_id, **changes))])
    return activities(**{**NO_SIGNALS, "gpp": gpp, "gpp_sid": (section_id,)})


_USNAT_NAMES = {
    *enc.USNAT_FIELDS,
    "sensitive_data_processing",
    "known_child_sensitive_data_consents",
    "personal_data_consents",
    "mspa_covered_transaction",
    "mspa_opt_out_option_mode",
    "mspa_service_provider_mode",
    "gpc",
}


def _has(section_id: int, name: str) -> bool:
    """Whether the section's specification defines the field."""
    if section_id == 7:
        return name in _USNAT_NAMES
    layout = dict(enc.US_STATES[section_id][1])
    if name == "gpc":
        return enc.US_STATES[section_id][2] == "gpc"
    if name == "sensitive_data_processing":
        return name in layout or enc.US_STATES[section_id][2] == "sensitive"
    return name in layout


# The US National categories, in its order, and the states whose order differs (from each
# state's specification; a state listing 8 categories in the US National order is absent).
NATIONAL_CATEGORIES = (
    "race religion health sex citizenship genetic biometric geo id_numbers account union"
    " communications consumer_health crime_victim national_origin transgender"
).split()
STATE_CATEGORIES = {
    8: "id_numbers account geo race communications genetic biometric health sex".split(),
    11: "race religion sex citizenship health genetic biometric geo".split(),
    15: (
        "race religion health sex transgender citizenship national_origin crime_victim"
        " genetic biometric geo"
    ).split(),
    17: "race religion health sex citizenship genetic biometric geo transgender".split(),
    21: "race religion health sex citizenship genetic biometric geo transgender account".split(),
}


def _sensitive(section_id: int, category: str, value: int) -> list[int] | None:
    """The section's sensitive-data list with ``category`` (in the US National's terms)
    set to ``value``, or None when the state has no such category."""
    layout = dict(enc.US_STATES[section_id][1]) if section_id != 7 else {}
    n = 16 if section_id == 7 else layout.get("sensitive_data_processing", 8)
    order = STATE_CATEGORIES.get(section_id, NATIONAL_CATEGORIES[:n])
    if category not in order:
        return None
    values = [0] * n
    values[order.index(category)] = value
    return values


@pytest.mark.parametrize("section_id", [7, *STATE_IDS])
def test_a_clean_us_section_allows_everything(section_id: int) -> None:
    assert _us(section_id) == activities(**NO_SIGNALS)


def test_iowa_opting_out_of_sale_and_targeted_advertising_is_not_personalised() -> None:
    """The issue's example: the real Iowa section of the IAB reference implementation's
    tests, with sale and targeted advertising opted out."""
    iowa = enc.encode_gpp([(18, "BVVkklWA.YA")])
    for sid in ((), (18,), (7, 18)):
        got = activities(**{**NO_SIGNALS, "gpp": iowa, "gpp_sid": sid})
        assert not got.personalise and not got.precise_geo and got.serve and got.measure
        assert {"gpp_sale_opt_out", "gpp_targeting_opt_out"} <= set(got.reasons)
    # Only the opt-outs: nothing else withheld.
    got = _us(18, sale_opt_out=1, targeted_advertising_opt_out=1)
    assert (got.serve, got.personalise, got.precise_geo, got.measure) == (True, False, True, True)
    assert got.reasons == ("gpp_sale_opt_out", "gpp_targeting_opt_out")
    # The section does not apply: its opt-outs are not read.
    assert activities(**{**NO_SIGNALS, "gpp": iowa, "gpp_sid": (7,)}).personalise


# (field, value, reason, personalise withheld, precise_geo withheld)
US_RULES: list[tuple[str, Any, str, bool, bool]] = [
    ("mspa_service_provider_mode", 1, "gpp_mspa_service_provider_mode", True, True),
    ("mspa_mode", 2, "gpp_mspa_service_provider_mode", True, True),
    ("gpc", True, "gpp_gpc", True, True),
    ("sharing_notice", 2, "gpp_no_processing_notice", True, False),
    ("processing_notice", 2, "gpp_no_processing_notice", True, False),
    ("sale_opt_out", 1, "gpp_sale_opt_out", True, False),
    ("sale_opt_out_notice", 2, "gpp_no_sale_notice", True, False),
    ("sale_opt_out_notice", 0, "gpp_no_sale_notice", True, False),  # N/A, yet "did not opt out"
    ("sharing_opt_out", 1, "gpp_sharing_opt_out", True, False),
    ("sharing_opt_out_notice", 2, "gpp_no_sharing_notice", True, False),
    ("sharing_opt_out_notice", 0, "gpp_no_sharing_notice", True, False),
    ("targeted_advertising_opt_out", 1, "gpp_targeting_opt_out", True, False),
    ("targeted_advertising_opt_out_notice", 2, "gpp_no_targeting_notice", True, False),
    ("targeted_advertising_opt_out_notice", 0, "gpp_no_targeting_notice", True, False),
    ("sensitive_data_processing_opt_out_notice", 2, "gpp_no_sensitive_data_notice", True, True),
    ("sensitive_data_limit_use_notice", 2, "gpp_no_sensitive_data_notice", True, True),
    ("personal_data_consents", 2, "gpp_personal_data_consents", True, True),
    ("additional_data_processing_consent", 2, "gpp_personal_data_consents", True, True),
]


# Every (section, rule) pair whose field the section's specification defines.
RULE_CASES = [(sid, *rule) for sid in (7, *STATE_IDS) for rule in US_RULES if _has(sid, rule[0])]
SENSITIVE_SECTIONS = [sid for sid in (7, *STATE_IDS) if _has(sid, "sensitive_data_processing")]
CHILD_SECTIONS = [
    sid for sid in (7, *STATE_IDS) if _has(sid, "known_child_sensitive_data_consents")
]


def test_every_rule_is_checked_in_every_section_that_can_express_it() -> None:
    assert {rule[0] for rule in US_RULES} == {case[1] for case in RULE_CASES}
    assert len(RULE_CASES) > 150
    assert set(SENSITIVE_SECTIONS) == set(range(7, 28)) - {24}  # Maryland has none
    assert set(CHILD_SECTIONS) == set(range(7, 28)) - {24}


@pytest.mark.parametrize(("section_id", "field", "value", "reason", "personal", "geo"), RULE_CASES)
def test_us_rule_table(
    section_id: int, field: str, value: Any, reason: str, personal: bool, geo: bool
) -> None:
    """Each rule, alone in an otherwise clean section, withholds what the table says, in
    every section that has the field."""
    got = _us(section_id, **{field: value})
    assert got.reasons == (reason,)
    assert (got.serve, got.measure) == (True, True)
    assert got.personalise == (not personal) and got.precise_geo == (not geo)


@pytest.mark.parametrize("section_id", SENSITIVE_SECTIONS)
def test_us_sensitive_data_rules(section_id: int) -> None:
    geo_refused = _sensitive(section_id, "geo", 1)
    if geo_refused is not None:  # Colorado lists no precise geolocation
        got = _us(section_id, sensitive_data_processing=geo_refused)
        assert got.reasons == ("gpp_no_precise_geo_consent",)
        assert got.personalise and not got.precise_geo
        assert _us(
            section_id, sensitive_data_processing=_sensitive(section_id, "geo", 2)
        ).precise_geo
    race_refused = _sensitive(section_id, "race", 1)
    got = _us(section_id, sensitive_data_processing=race_refused)
    assert got.reasons == ("gpp_sensitive_data_refused",) and not got.personalise
    assert got.precise_geo
    # Consent to a category advertising may use: allowed, when its notice was given.
    race_consented = _sensitive(section_id, "race", 2)
    assert _us(section_id, sensitive_data_processing=race_consented).personalise
    # Categories never used for advertising, even with consent.
    got = _us(section_id, sensitive_data_processing=_sensitive(section_id, "biometric", 2))
    assert got.reasons == ("gpp_sensitive_data_not_allowed",) and not got.personalise
    # A consent recorded while the sensitive-data notice says "not applicable".
    for notice in ("sensitive_data_processing_opt_out_notice", "sensitive_data_limit_use_notice"):
        if _has(section_id, notice):
            got = _us(section_id, **{notice: 0, "sensitive_data_processing": race_consented})
            assert got.reasons == ("gpp_sensitive_data_not_allowed",)
            if geo_refused is not None:
                got = _us(
                    section_id,
                    **{notice: 0, "sensitive_data_processing": _sensitive(section_id, "geo", 2)},
                )
                assert not got.precise_geo and got.personalise


@pytest.mark.parametrize("section_id", CHILD_SECTIONS)
def test_us_known_child_rules(section_id: int) -> None:
    field = "known_child_sensitive_data_consents"
    if section_id == 7:  # ages 13-16, under 13, 16-17
        allowed = {(0, 0, 0), (2, 0, 0), (0, 0, 2), (2, 0, 2)}
        for values in [(a, b, c) for a in range(3) for b in range(3) for c in range(3)]:
            got = _us(7, **{field: list(values)})
            assert got.personalise == (values in allowed), values
            assert got.precise_geo == (values in allowed), values
            assert got.reasons == (() if values in allowed else ("gpp_known_child",))
        return
    n = dict(enc.US_STATES[section_id][1])[field]
    for value in (1, 2):
        values: Any = [0] * n if n else value
        if n:
            values[-1] = value
        got = _us(section_id, **{field: values})
        assert got.reasons == ("gpp_known_child",)
        assert not got.personalise and not got.precise_geo and got.serve


def test_gpp_sid_chooses_the_sections_that_apply() -> None:
    both = enc.encode_gpp([(7, _section(7)), (18, _section(18, sale_opt_out=1))])
    personalised = {
        sid: activities(**{**NO_SIGNALS, "gpp": both, "gpp_sid": sid}).personalise
        for sid in ((), (7,), (18,), (7, 18), (2,), (8,))
    }
    assert personalised == {
        (): False,  # no gpp_sid: every section of the string applies
        (7,): True,
        (18,): False,
        (7, 18): False,  # every applicable section must allow it
        (2,): True,  # an applicable section the string lacks says nothing
        (8,): True,
    }


def test_us_national_examples() -> None:
    every = decode_gpp("DBABLA~BVVVkkkklWA.YA")
    assert every.usnat is not None
    got = activities(**{**NO_SIGNALS, "gpp": "DBABLA~BVVVkkkklWA.YA", "gpp_sid": (7,)})
    assert got.reasons == (
        "gpp_gpc",
        "gpp_sale_opt_out",
        "gpp_sharing_opt_out",
        "gpp_targeting_opt_out",
        "gpp_sensitive_data_refused",  # religion (category 2) refused
        "gpp_sensitive_data_not_allowed",  # biometric data (category 7) consented
        "gpp_known_child",  # a child under 13
        "gpp_no_precise_geo_consent",  # precise geolocation (category 8) refused
    )
    assert not got.personalise and not got.precise_geo and got.serve and got.measure
    # The section does not apply: its opt-outs are not read.
    assert activities(**{**NO_SIGNALS, "gpp": "DBABLA~BVVVkkkklWA.YA", "gpp_sid": (8,)}).personalise


# --------------------------------------------------------------------------- work


def _work(decode: Any, s: str) -> int:
    before = decoding_work()
    try:
        decode(s)
    except InvalidConsent:
        pass
    return decoding_work() - before


def _gpp_zeros(n: int) -> str:
    """The 2.4-second case of the quadratic decoder: a header whose Fibonacci code never
    ends."""
    return "DBAB" + "A" * (n - 4)


def _gpp_sections(n: int) -> str:
    ids = list(range(28, 28 + 200))
    head = enc.encode_gpp_header(ids)
    size = (n - len(head)) // len(ids)
    return "~".join([head, *(["x" * max(size - 1, 1)] * len(ids))])


def _gpp_long_section(n: int) -> str:
    return "DBABLA~" + _section(7) + "." + "Y" * (n - 30)


def _tc_bits(n: int) -> str:
    """Four vendor bit fields (consents, legitimate interests, disclosed, allowed) of up
    to 65,535 bits each, then zero padding to about ``n`` characters."""
    left = 6 * n - 700
    tops = []
    for _ in range(4):
        tops.append(max(min(left, 65535), 1))
        left -= tops[-1]
    return enc.encode_tc(
        vendor_consents=range(1, tops[0], 3),
        vendor_consents_max=tops[0],
        vendor_legitimate_interests=range(2, tops[1], 3),
        vendor_legitimate_interests_max=tops[1],
        core_bits_suffix=enc.uint(0, 12) + "0" * max(left, 0),
        extra_segments=(
            enc.vendor_segment(1, range(1, tops[2], 5), tops[2]),
            enc.vendor_segment(2, range(1, tops[3], 7), tops[3]),
        ),
    )


def _tc_ranges(n: int) -> str:
    entries = [(v, v) for v in range(1, min(1000, 6 * n // 20) * 2, 2)]
    tail = enc.uint(0, 12) + "0" * max(6 * n - 17 * len(entries) - 300, 0)
    return _core(
        enc.uint(max(e for _, e in entries), 16)
        + "1"
        + enc.int_ranges(entries)
        + EMPTY_VENDORS
        + tail
    )


SHAPES = {
    "gpp_zeros": (decode_gpp, _gpp_zeros),
    "gpp_sections": (decode_gpp, _gpp_sections),
    "gpp_long_section": (decode_gpp, _gpp_long_section),
    "tc_bits": (decode_tcf, _tc_bits),
    "tc_ranges": (decode_tcf, _tc_ranges),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_decoding_work_is_linear(shape: str) -> None:
    """Work per character stays flat from 8 KiB to 64 KiB: a quadratic decoder's would
    grow eightfold. Checked on the work counter, not on time."""
    decode, make = SHAPES[shape]
    sizes = [8192, 16384, 32768, MAX_LENGTH]
    per_char = []
    for size in sizes:
        s = make(size)
        assert len(s) <= MAX_LENGTH
        work = _work(decode, s)
        # The stated bound: at most 8 units a character, plus the vendor id positions of
        # range-encoded vendor sets (at most 2**18 a string).
        assert work <= 8 * len(s) + 2**18, (size, work)
        per_char.append(work / len(s))
    # No growth with the length (a quadratic decoder's work per character would grow
    # eightfold from the first size to the last).
    assert max(per_char) <= 1.25 * per_char[0], per_char


def test_a_cached_decode_costs_no_work() -> None:
    s = _everything_tc(cmp_id=99)
    assert _work(decode_tcf, s) > 0
    assert _work(decode_tcf, s) == 0
    g = enc.encode_gpp([(7, _section(7, sale_opt_out=1)), (18, _section(18)), (40, "once")])
    assert _work(decode_gpp, g) > 0 and _work(decode_gpp, g) == 0


def test_activities_work_is_bounded_by_the_strings_length() -> None:
    """The three strings of a request at their longest: the work stays linear in their
    total length (a TC string in the GPP string is decoded once more)."""
    tc = _tc_ranges(MAX_LENGTH)
    inner = _tc_bits(MAX_LENGTH // 2)
    gpp = enc.encode_gpp([(2, inner), (7, _section(7) + "." + "Y" * (MAX_LENGTH // 2 - 40))])
    assert len(gpp) <= MAX_LENGTH
    before = decoding_work()
    got = activities(**{**NO_SIGNALS, "gdpr": None, "gpp": gpp, "us_privacy": "1YNN"})
    assert isinstance(got, Activities)
    got = activities(**{**NO_SIGNALS, "gdpr": 1, "tc_string": tc, "gpp": gpp, "us_privacy": "1YNN"})
    work = decoding_work() - before
    total = len(tc) + 2 * len(gpp) + 4
    assert work <= 8 * total + 2 * 2**18, (work, total)


# --------------------------------------------------------------------------- the rest


def test_decoding_is_cached() -> None:
    s = _everything_tc(cmp_id=77)
    assert decode_tcf(s) is decode_tcf(s)
    assert decode_gpp("DBABTA~1YNN") is decode_gpp("DBABTA~1YNN")


def test_long_strings_decode_alike_cached_or_not() -> None:
    """Strings longer than the cache's limit are decoded afresh each time, to the same
    value."""
    long_tc = _tc_bits(8192)
    assert len(long_tc) > 4096
    assert decode_tcf(long_tc) == decode_tcf(long_tc)
    assert decode_tcf(long_tc) is not decode_tcf(long_tc)


def test_seeded_random_mutations_of_every_real_string() -> None:
    """A fixed-seed sweep: every real string cut at every length and with each character
    replaced by a random one; only InvalidConsent ever comes out."""
    rng = random.Random(20_240_610)
    for seed in SEEDS:
        variants = [seed[:i] for i in range(len(seed))]
        for i in range(len(seed)):
            variants.append(seed[:i] + rng.choice(ALPHABET + ".~") + seed[i + 1 :])
        for text in variants:
            for decode in (decode_tcf, decode_gpp, decode_usp):
                try:
                    decode(text)
                except InvalidConsent:
                    pass


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
