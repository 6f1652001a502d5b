"""Plain-Python encoders for the consent strings ``adcore.consent`` decodes, written from
the specifications (not from the decoder), for round-trip and property tests.

* ``encode_tc``: a TCF v2 TC string core segment (IAB Tech Lab, "Transparency and Consent
  String with Global Vendor List Format", section "The Core String"), vendor sections as a
  bit field or as ranges, publisher restrictions, optional extra segments.
* ``encode_usnat``: a GPP US National section (id 7) core segment, version 1 or 2, and an
  optional GPC subsection.
* ``encode_gpp``: a GPP string, header (type 3, version, Fibonacci-coded section ranges)
  then the sections joined by ``~``.

Everything is built as a text of ``"0"`` / ``"1"`` characters, padded with zeros to a
multiple of 6 and mapped to the base64url alphabet, one character per 6 bits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def uint(value: int, width: int) -> str:
    """``value`` as ``width`` big-endian bits."""
    assert 0 <= value < (1 << width), (value, width)
    out = ""
    for i in range(width - 1, -1, -1):
        out += "1" if (value >> i) & 1 else "0"
    return out


def to_base64url(bits: str) -> str:
    """Bits padded with zeros to a multiple of 6, one base64url character per 6 bits."""
    while len(bits) % 6:
        bits += "0"
    return "".join(ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def letters(code: str | tuple[int, int]) -> str:
    """Two letters, 6 bits each, a=0 .. z=25; a pair of ints is written as given."""
    if isinstance(code, str):
        return uint(ord(code[0].upper()) - 65, 6) + uint(ord(code[1].upper()) - 65, 6)
    return uint(code[0], 6) + uint(code[1], 6)


def bitfield(ids: Iterable[int], width: int) -> str:
    """``width`` bits, bit ``i`` (from the left) set when id ``i + 1`` is in ``ids``."""
    chosen = set(ids)
    return "".join("1" if i + 1 in chosen else "0" for i in range(width))


def runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted ids grouped into maximal runs of consecutive ids."""
    out: list[tuple[int, int]] = []
    for v in sorted(set(ids)):
        if out and out[-1][1] == v - 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def int_ranges(entries: Sequence[tuple[int, int]]) -> str:
    """NumEntries(12) then, per entry, IsARange(1), Start(16) and, for ranges, End(16)."""
    bits = uint(len(entries), 12)
    for start, end in entries:
        if start == end:
            bits += "0" + uint(start, 16)
        else:
            bits += "1" + uint(start, 16) + uint(end, 16)
    return bits


def vendor_section(ids: Iterable[int], max_vendor_id: int, use_ranges: bool) -> str:
    """MaxVendorId(16), IsRangeEncoding(1), then the bit field or the range entries."""
    ids = set(ids)
    assert all(1 <= v <= max_vendor_id for v in ids)
    bits = uint(max_vendor_id, 16)
    if use_ranges:
        return bits + "1" + int_ranges(runs(ids))
    return bits + "0" + bitfield(ids, max_vendor_id)


def encode_tc(
    *,
    created: int = 15_000_000_000,
    last_updated: int = 15_000_000_000,
    cmp_id: int = 1,
    cmp_version: int = 1,
    consent_screen: int = 0,
    consent_language: str | tuple[int, int] = "EN",
    vendor_list_version: int = 1,
    policy_version: int = 4,
    is_service_specific: bool = False,
    use_non_standard_texts: bool = False,
    special_feature_opt_ins: Iterable[int] = (),
    purpose_consents: Iterable[int] = (),
    purpose_legitimate_interests: Iterable[int] = (),
    purpose_one_treatment: bool = False,
    publisher_cc: str | tuple[int, int] = "AA",
    vendor_consents: Iterable[int] = (),
    vendor_consents_max: int | None = None,
    vendor_consents_ranges: bool = False,
    vendor_legitimate_interests: Iterable[int] = (),
    vendor_legitimate_interests_max: int | None = None,
    vendor_legitimate_interests_ranges: bool = False,
    publisher_restrictions: Sequence[tuple[int, int, Iterable[int]]] = (),
    version: int = 2,
    extra_segments: Sequence[str] = (),
    core_bits_suffix: str | None = None,
) -> str:
    """A TC string from its fields.

    ``*_max`` default to the largest id in the set (0 for an empty set). Publisher
    restrictions are ``(purpose_id, restriction_type, vendor_ids)``. ``core_bits_suffix``
    replaces everything after the vendor sections (the publisher restrictions section),
    so tests can write malformed tails.
    """
    consents = set(vendor_consents)
    lis = set(vendor_legitimate_interests)
    c_max = max(consents, default=0) if vendor_consents_max is None else vendor_consents_max
    l_max = (
        max(lis, default=0)
        if vendor_legitimate_interests_max is None
        else vendor_legitimate_interests_max
    )
    bits = uint(version, 6)
    bits += uint(created, 36) + uint(last_updated, 36)
    bits += uint(cmp_id, 12) + uint(cmp_version, 12) + uint(consent_screen, 6)
    bits += letters(consent_language)
    bits += uint(vendor_list_version, 12) + uint(policy_version, 6)
    bits += ("1" if is_service_specific else "0") + ("1" if use_non_standard_texts else "0")
    bits += bitfield(special_feature_opt_ins, 12)
    bits += bitfield(purpose_consents, 24) + bitfield(purpose_legitimate_interests, 24)
    bits += "1" if purpose_one_treatment else "0"
    bits += letters(publisher_cc)
    bits += vendor_section(consents, c_max, vendor_consents_ranges)
    bits += vendor_section(lis, l_max, vendor_legitimate_interests_ranges)
    if core_bits_suffix is not None:
        bits += core_bits_suffix
    else:
        bits += uint(len(publisher_restrictions), 12)
        for purpose_id, kind, vendors in publisher_restrictions:
            bits += uint(purpose_id, 6) + uint(kind, 2) + int_ranges(runs(vendors))
    return ".".join([to_base64url(bits), *extra_segments])


# --------------------------------------------------------------------------- GPP


def fibonacci(n: int) -> str:
    """Fibonacci code of ``n >= 1`` (GPP spec, "About Fibonacci Encoding")."""
    assert n >= 1
    fibs = [1, 2]
    while fibs[-1] <= n:
        fibs.append(fibs[-1] + fibs[-2])
    code = ["0"] * len(fibs)
    rest = n
    for i in range(len(fibs) - 1, -1, -1):
        if fibs[i] <= rest:
            code[i] = "1"
            rest -= fibs[i]
    text = "".join(code).rstrip("0")
    return text + "1"


def encode_gpp_header(section_ids: Sequence[int], version: int = 1, kind: int = 3) -> str:
    """Type(6), Version(6), Range(Fibonacci) of the sorted section ids, base64url."""
    groups = runs(section_ids)
    bits = uint(kind, 6) + uint(version, 6) + uint(len(groups), 12)
    last = 0
    for start, end in groups:
        if start == end:
            bits += "0" + fibonacci(start - last)
        else:
            bits += "1" + fibonacci(start - last) + fibonacci(end - start)
        last = end
    return to_base64url(bits)


def encode_gpp(sections: Sequence[tuple[int, str]]) -> str:
    """A GPP string from ``(section_id, section_text)`` pairs in ascending id order."""
    ids = [sid for sid, _ in sections]
    assert ids == sorted(ids)
    return "~".join([encode_gpp_header(ids), *(text for _, text in sections)])


USNAT_FIELDS = (
    "sharing_notice",
    "sale_opt_out_notice",
    "sharing_opt_out_notice",
    "targeted_advertising_opt_out_notice",
    "sensitive_data_processing_opt_out_notice",
    "sensitive_data_limit_use_notice",
    "sale_opt_out",
    "sharing_opt_out",
    "targeted_advertising_opt_out",
)


def encode_usnat(fields: dict[str, Any]) -> str:
    """A US National section: version 1 (12 sensitive categories, 2 child) or 2 (16, 3).

    ``fields`` holds the names of :data:`USNAT_FIELDS`, ``sensitive_data_processing``,
    ``known_child_sensitive_data_consents``, ``personal_data_consents``,
    ``mspa_covered_transaction``, ``mspa_opt_out_option_mode``,
    ``mspa_service_provider_mode`` (missing ones are 0) and ``gpc`` (None: no
    subsection).
    """
    version = fields.get("version", 1)
    n_sensitive, n_child = (12, 2) if version == 1 else (16, 3)
    sensitive = list(fields.get("sensitive_data_processing", [0] * n_sensitive))
    child = list(fields.get("known_child_sensitive_data_consents", [0] * n_child))
    assert len(sensitive) == n_sensitive and len(child) == n_child
    bits = uint(version, 6)
    for name in USNAT_FIELDS:
        bits += uint(fields.get(name, 0), 2)
    for v in sensitive + child:
        bits += uint(v, 2)
    for name in (
        "personal_data_consents",
        "mspa_covered_transaction",
        "mspa_opt_out_option_mode",
        "mspa_service_provider_mode",
    ):
        bits += uint(fields.get(name, 0), 2)
    out = to_base64url(bits)
    gpc = fields.get("gpc")
    if gpc is not None:
        out += "." + to_base64url("01" + ("1" if gpc else "0"))
    return out
