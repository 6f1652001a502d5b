"""Consent strings at their longest: what decoding a 64 KB TC or GPP string costs.

``adcore.consent`` accepts strings of up to 65,536 characters (``MAX_LENGTH``) and decodes
them in time linear in their length; strings longer than 4,096 characters are never
cached, so every round below decodes afresh. The strings are the worst cases the decoder's
bounds allow, built with the reference encoder of the tests:

* a GPP header whose Fibonacci-coded section id never closes, 65 KB long: the string that
  took 2.3-2.5 s when the decoder shifted one big integer per bit read (quadratic);
* a valid 64 KB GPP string: every US section (US National and states 8 to 27), the last
  one followed by a 64 KB subsection;
* a 16 KB TC string (``MAX_TC_LENGTH``) made of four vendor bit fields of 20,000 bits
  (consents, legitimate interests, disclosed vendors, allowed vendors);
* a 16 KB TC string whose consents are 1,000 single-id range entries, near the decoder's
  budget of 1,024 list items a string (the most Python-level work one string can ask for).

Competitors, timed in the same run: the ``iab-tcf`` package from PyPI for TC strings, when
it is installed (``pip install iab-tcf``); and the naive plain-Python decoders of
``tests/reference/tcf_encoder.py`` (one bit at a time), for TC and GPP strings: no package
decodes GPP strings in Python. (``iab-tcf`` 0.2.2 also installs a top-level ``tests``
package, which hides the project's ``tests`` directory from imports: delete it from
site-packages after installing.) Every side must agree with adcore on what it decoded (or
refuse the same string) before anything is timed.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adcore.consent import (
    MAX_LENGTH,
    MAX_TC_LENGTH,
    InvalidConsent,
    activities,
    decode_gpp,
    decode_tcf,
    decoding_work,
)

try:
    from tests.reference import tcf_encoder as enc
except ImportError:  # another distribution's "tests" package shadows the project's
    _spec = importlib.util.spec_from_file_location(
        "tcf_encoder", Path(__file__).resolve().parents[1] / "tests/reference/tcf_encoder.py"
    )
    assert _spec is not None and _spec.loader is not None
    enc = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(enc)

try:
    import iab_tcf  # type: ignore[import-untyped]
except ImportError:  # optional: the naive reference decoder is then the only competitor
    iab_tcf = None

GROUP_GPP_OPEN = "GPP decode, 65 KB header that never closes"
GROUP_GPP_LONG = "GPP decode, 64 KB: every US section"
GROUP_TC_BITS = "TC decode, 16 KB: four vendor bit fields"
GROUP_TC_RANGES = "TC decode, 16 KB: 1,000 range entries"
GROUP_ACTIVITIES = "activities, 16 KB TC + 64 KB GPP"


def _core_prefix(vendor_list_version: int = 1) -> str:
    """Bits of a TC core segment up to PublisherCC (version 2, zero fields otherwise)."""
    return (
        enc.uint(2, 6)
        + enc.uint(17_000_000_000, 36) * 2
        + enc.uint(1, 12) * 2
        + enc.uint(0, 6)
        + enc.letters("EN")
        + enc.uint(vendor_list_version, 12)
        + enc.uint(4, 6)
        + "10"
        + "0" * 12
        + "1" * 24
        + "0" * 24
        + "0"
        + enc.letters("AA")
    )


def gpp_open_header() -> str:
    return "DBAB" + "A" * (MAX_LENGTH - 4)


def gpp_every_us_section() -> str:
    sections = [(7, enc.encode_usnat({"version": 2, "sale_opt_out": 1, "gpc": False}))]
    for sid in sorted(enc.US_STATES):
        fields: dict[str, Any] = {"sale_opt_out_notice": 1, "sale_opt_out": 1}
        if enc.US_STATES[sid][2] == "gpc":
            fields["gpc"] = True
        sections.append((sid, enc.encode_us_state(sid, fields)))
    text = enc.encode_gpp(sections)
    # Rhode Island (27), the last section, takes one optional subsection: make it long.
    return text + "." + "A" * (MAX_LENGTH - len(text) - 1)


def _bytes(bits: str) -> str:
    """Bits padded to whole bytes, then base64url: how TCF encoders write a segment (and
    what iab-tcf, which decodes standard base64, needs)."""
    return enc.to_base64url(bits + "0" * (-len(bits) % 8))


def tc_bit_fields() -> str:
    top = 20_000
    core = _core_prefix()
    core += enc.vendor_section(range(1, top, 3), top, False)
    core += enc.vendor_section(range(2, top, 3), top, False)
    core += enc.uint(0, 12) + "0" * 15_000
    disclosed = "001" + enc.vendor_section(range(1, top, 5), top, False)
    allowed = "010" + enc.vendor_section(range(1, top, 7), top, False)
    return ".".join(_bytes(bits) for bits in (core, disclosed, allowed))


def tc_range_entries() -> str:
    entries = [(v, v) for v in range(1, 2000, 2)]
    bits = _core_prefix() + enc.uint(8000, 16) + "1" + enc.int_ranges(entries)
    bits += enc.vendor_section((), 0, False) + enc.uint(0, 12)
    bits += "0" * (6 * MAX_TC_LENGTH - len(bits) - 16)
    return _bytes(bits)


STRINGS = {
    GROUP_GPP_OPEN: gpp_open_header(),
    GROUP_GPP_LONG: gpp_every_us_section(),
    GROUP_TC_BITS: tc_bit_fields(),
    GROUP_TC_RANGES: tc_range_entries(),
}


def _outcome(decode: Callable[[str], Any], s: str) -> Any:
    try:
        return decode(s)
    except (InvalidConsent, ValueError):
        return "refused"


def _iab_tcf_vendors(s: str) -> set[int]:
    """Decode with iab-tcf and list the consented vendors (it keeps range sections as
    ranges: expanding them is part of the work adcore does too)."""
    assert iab_tcf is not None
    consent = iab_tcf.decode_v2(s)
    if consent.is_consent_range_encoding:
        return {v for start, end in consent.consented_vendors_range for v in range(start, end + 1)}
    return {v for v, on in consent.consented_vendors.items() if on}


@pytest.fixture(scope="module")
def equivalence() -> str:
    """Every competitor decodes (or refuses) each string as adcore does."""
    for s in STRINGS.values():
        assert len(s) <= MAX_LENGTH
    open_header = STRINGS[GROUP_GPP_OPEN]
    assert _outcome(decode_gpp, open_header) == "refused"
    assert _outcome(enc.naive_decode_gpp, open_header) == "refused"
    long_gpp = STRINGS[GROUP_GPP_LONG]
    ours, naive = decode_gpp(long_gpp), enc.naive_decode_gpp(long_gpp)
    assert list(ours.section_ids) == naive["section_ids"] == list(range(7, 28))
    assert ours.usnat is not None and naive["usnat"][7] == ours.usnat.sale_opt_out == 1
    for group in (GROUP_TC_BITS, GROUP_TC_RANGES):
        s = STRINGS[group]
        tc, plain = decode_tcf(s), enc.naive_decode_tc(s)
        assert tc.vendor_consents.ids() == plain["vendor_consents"][1]
        if iab_tcf is not None:
            assert tc.vendor_consents.ids() == _iab_tcf_vendors(s)
    return "ok"


def _refusing(decode: Callable[[str], Any], s: str) -> Callable[[], None]:
    def run() -> None:
        try:
            decode(s)
        except (InvalidConsent, ValueError):
            pass

    return run


@pytest.mark.parametrize("name", ["adcore", "plain-python"])
def test_gpp_open_header(timed: Any, equivalence: str, name: str) -> None:
    decode = decode_gpp if name == "adcore" else enc.naive_decode_gpp
    timed(GROUP_GPP_OPEN, name, _refusing(decode, STRINGS[GROUP_GPP_OPEN]))


@pytest.mark.parametrize("name", ["adcore", "plain-python"])
def test_gpp_every_us_section(timed: Any, equivalence: str, name: str) -> None:
    decode = decode_gpp if name == "adcore" else enc.naive_decode_gpp
    timed(GROUP_GPP_LONG, name, decode, STRINGS[GROUP_GPP_LONG])


TC_SIDES = ["adcore", "plain-python", *(["iab-tcf"] if iab_tcf is not None else [])]


def _tc_decoder(name: str) -> Callable[[str], Any]:
    if name == "adcore":
        return decode_tcf
    if name == "iab-tcf":
        return _iab_tcf_vendors
    return enc.naive_decode_tc


@pytest.mark.parametrize("name", TC_SIDES)
def test_tc_bit_fields(timed: Any, equivalence: str, name: str) -> None:
    timed(GROUP_TC_BITS, name, _tc_decoder(name), STRINGS[GROUP_TC_BITS])


@pytest.mark.parametrize("name", TC_SIDES)
def test_tc_range_entries(timed: Any, equivalence: str, name: str) -> None:
    timed(GROUP_TC_RANGES, name, _tc_decoder(name), STRINGS[GROUP_TC_RANGES])


def test_activities_at_the_longest(timed: Any, equivalence: str) -> None:
    """The request path with both strings at their longest (informational)."""
    tc, gpp = STRINGS[GROUP_TC_BITS], STRINGS[GROUP_GPP_LONG]

    def run() -> Any:
        return activities(
            gdpr=1,
            tc_string=tc,
            us_privacy="1YNN",
            gpp=gpp,
            gpp_sid=(),
            coppa=0,
            lmt=0,
            dnt=0,
            vendor_id=4,
        )

    got = timed(GROUP_ACTIVITIES, "adcore", run)
    assert not got.personalise  # every US section opts out of sale


def test_consent_work_summary(equivalence: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Work units (see ``adcore.consent.decoding_work``) and one timed decode per string:
    the work a character stays below 8 whatever the string."""
    lines = []
    for group, s in STRINGS.items():
        decode = decode_gpp if group.startswith("GPP") else decode_tcf
        before = decoding_work()
        start = time.perf_counter()
        _refusing(decode, s)()
        micros = (time.perf_counter() - start) * 1e6
        work = decoding_work() - before
        assert work <= 8 * len(s) + 2**18
        lines.append(f"{group:<44} {len(s):>6} chars {work:>8} units {micros:>10.0f} us")
    with capsys.disabled():
        print("\nconsent decoding work (one decode each):")
        for line in lines:
            print("  " + line)
