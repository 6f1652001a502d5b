"""Plain-Python encoders for the consent strings ``adcore.consent`` decodes, written from
the specifications (not from the decoder), for round-trip and property tests; and naive
decoders, plain loops over the bits, for cross-checks and as the benchmarks' competitor
where no package decodes the format.

* ``encode_tc``: a TCF v2 TC string core segment (IAB Tech Lab, "Transparency and Consent
  String with Global Vendor List Format", section "The Core String"), vendor sections as a
  bit field or as ranges, publisher restrictions, optional extra segments.
* ``encode_usnat``: a GPP US National section (id 7) core segment, version 1 or 2, and an
  optional GPC subsection.
* ``encode_gpp``: a GPP string, header (type 3, version, Fibonacci-coded section ranges)
  then the sections joined by ``~``.
* ``encode_us_state``: a GPP US state section (ids 8 to 27), from the states' field tables.
* ``naive_decode_tc`` and ``naive_decode_gpp``: the same formats read back one bit at a
  time, without the validation and the bounds of ``adcore.consent``.

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


# --------------------------------------------------------------------------- TC segments


def vendor_segment(
    kind: int, ids: Iterable[int], max_vendor_id: int | None = None, use_ranges: bool = False
) -> str:
    """A DisclosedVendors (``kind`` 1) or AllowedVendors (2) segment: SegmentType(3), then
    a vendor section as in the core string."""
    ids = set(ids)
    top = max(ids, default=0) if max_vendor_id is None else max_vendor_id
    return to_base64url(uint(kind, 3) + vendor_section(ids, top, use_ranges))


def publisher_tc_segment(
    consents: Iterable[int] = (),
    legitimate_interests: Iterable[int] = (),
    num_custom: int = 0,
    custom_consents: Iterable[int] = (),
    custom_legitimate_interests: Iterable[int] = (),
) -> str:
    """A publisher TC segment: SegmentType(3) = 3, PubPurposesConsent(24),
    PubPurposesLITransparency(24), NumCustomPurposes(6), then two bit fields of that
    many bits."""
    bits = uint(3, 3) + bitfield(consents, 24) + bitfield(legitimate_interests, 24)
    bits += uint(num_custom, 6)
    bits += bitfield(custom_consents, num_custom) + bitfield(
        custom_legitimate_interests, num_custom
    )
    return to_base64url(bits)


# --------------------------------------------------------------------------- US states

# Each US state section's core fields in order, from the GPP "GPP Extension: <State>
# Privacy Technical Specification" tables: (field, n) with n == 0 for an Int(2) and
# n > 0 for an N-Bitfield(2, n); every core starts with Version(6). The last item says
# what may follow after a ".": "gpc" (SubsectionType 1 + Gpc bit), "sensitive" (an
# N-Bitfield(2, 8) with no type prefix, sections 25-27) or "" (nothing).
_MSPA3 = [
    ("mspa_covered_transaction", 0),
    ("mspa_opt_out_option_mode", 0),
    ("mspa_service_provider_mode", 0),
]


def _state(notice: str, n_sensitive: int, child: int, additional: bool) -> list[tuple[str, int]]:
    fields = [
        (notice, 0),
        ("sale_opt_out_notice", 0),
        ("targeted_advertising_opt_out_notice", 0),
        ("sale_opt_out", 0),
        ("targeted_advertising_opt_out", 0),
        ("sensitive_data_processing", n_sensitive),
        ("known_child_sensitive_data_consents", child),
    ]
    if additional:
        fields.append(("additional_data_processing_consent", 0))
    return fields + _MSPA3


_CORE_2025 = [
    ("mspa_covered_transaction", 0),
    ("mspa_mode", 0),
    ("processing_notice", 0),
    ("sale_opt_out_notice", 0),
    ("targeted_advertising_opt_out_notice", 0),
    ("sale_opt_out", 0),
    ("targeted_advertising_opt_out", 0),
]

US_STATES: dict[int, tuple[str, list[tuple[str, int]], str]] = {
    8: (
        "usca",
        [
            ("sale_opt_out_notice", 0),
            ("sharing_opt_out_notice", 0),
            ("sensitive_data_limit_use_notice", 0),
            ("sale_opt_out", 0),
            ("sharing_opt_out", 0),
            ("sensitive_data_processing", 9),
            ("known_child_sensitive_data_consents", 2),
            ("personal_data_consents", 0),
            *_MSPA3,
        ],
        "gpc",
    ),
    9: ("usva", _state("sharing_notice", 8, 0, False), ""),
    10: ("usco", _state("sharing_notice", 7, 0, False), "gpc"),
    11: (
        "usut",
        [
            ("sharing_notice", 0),
            ("sale_opt_out_notice", 0),
            ("targeted_advertising_opt_out_notice", 0),
            ("sensitive_data_processing_opt_out_notice", 0),
            ("sale_opt_out", 0),
            ("targeted_advertising_opt_out", 0),
            ("sensitive_data_processing", 8),
            ("known_child_sensitive_data_consents", 0),
            *_MSPA3,
        ],
        "",
    ),
    12: ("usct", _state("sharing_notice", 8, 3, False), "gpc"),
    13: ("usfl", _state("processing_notice", 8, 3, True), ""),
    14: ("usmt", _state("sharing_notice", 8, 3, True), "gpc"),
    15: ("usor", _state("processing_notice", 11, 3, True), "gpc"),
    16: ("ustx", _state("processing_notice", 8, 0, True), "gpc"),
    17: ("usde", _state("processing_notice", 9, 5, True), "gpc"),
    18: (
        "usia",
        [
            ("processing_notice", 0),
            ("sale_opt_out_notice", 0),
            ("targeted_advertising_opt_out_notice", 0),
            ("sensitive_data_processing_opt_out_notice", 0),
            ("sale_opt_out", 0),
            ("targeted_advertising_opt_out", 0),
            ("sensitive_data_processing", 8),
            ("known_child_sensitive_data_consents", 0),
            *_MSPA3,
        ],
        "gpc",
    ),
    19: ("usne", _state("processing_notice", 8, 0, True), "gpc"),
    20: ("usnh", _state("processing_notice", 8, 3, True), "gpc"),
    21: ("usnj", _state("processing_notice", 10, 5, True), "gpc"),
    22: ("ustn", _state("processing_notice", 8, 0, True), "gpc"),
    23: ("usmn", _state("processing_notice", 8, 0, True), "gpc"),
    24: ("usmd", [*_CORE_2025, ("additional_data_processing_consent", 0)], "gpc"),
    25: (
        "usin",
        [
            *_CORE_2025,
            ("known_child_sensitive_data_consents", 0),
            ("additional_data_processing_consent", 0),
        ],
        "sensitive",
    ),
    26: (
        "usky",
        [
            *_CORE_2025,
            ("known_child_sensitive_data_consents", 0),
            ("additional_data_processing_consent", 0),
        ],
        "sensitive",
    ),
    27: (
        "usri",
        [
            *_CORE_2025,
            ("known_child_sensitive_data_consents", 0),
            ("additional_data_processing_consent", 0),
        ],
        "sensitive",
    ),
}


def encode_us_state(section_id: int, fields: dict[str, Any]) -> str:
    """A US state section (ids 8 to 27) from its fields.

    Missing scalar fields are 0 and missing lists all 0; ``version`` defaults to 1.
    ``gpc`` (None: no subsection) for sections with a GPC subsection; for sections 25-27
    ``sensitive_data_processing`` (None: no subsection) is the optional subsection.
    A single Int(2) known-child field is given as an int.
    """
    _, layout, subsection = US_STATES[section_id]
    bits = uint(fields.get("version", 1), 6)
    for name, n in layout:
        if n:
            values = list(fields.get(name, [0] * n))
            assert len(values) == n, (name, n, values)
            bits += "".join(uint(v, 2) for v in values)
        else:
            bits += uint(fields.get(name, 0), 2)
    out = to_base64url(bits)
    if subsection == "gpc" and fields.get("gpc") is not None:
        out += "." + to_base64url("01" + ("1" if fields["gpc"] else "0"))
    if subsection == "sensitive" and fields.get("sensitive_data_processing") is not None:
        values = list(fields["sensitive_data_processing"])
        assert len(values) == 8
        out += "." + to_base64url("".join(uint(v, 2) for v in values))
    return out


# --------------------------------------------------------------------------- naive decoders


class _Reader:
    """Bits of a base64url text, read one field at a time."""

    def __init__(self, text: str) -> None:
        self.bits = "".join(format(ALPHABET.index(c), "06b") for c in text)
        self.pos = 0

    def int(self, width: int) -> int:
        if self.pos + width > len(self.bits):
            raise ValueError(f"bits {self.pos}..{self.pos + width} past {len(self.bits)}")
        value = 0
        for _ in range(width):
            value = 2 * value + (self.bits[self.pos] == "1")
            self.pos += 1
        return value

    def ids(self, width: int) -> set[int]:
        return {i + 1 for i in range(width) if self.int(1)}

    def letters(self) -> str:
        return chr(65 + self.int(6)) + chr(65 + self.int(6))

    def ranges(self) -> set[int]:
        out: set[int] = set()
        for _ in range(self.int(12)):
            is_range = self.int(1)
            start = self.int(16)
            end = self.int(16) if is_range else start
            out.update(range(start, end + 1))
        return out

    def vendors(self) -> tuple[int, set[int]]:
        top = self.int(16)
        return top, (self.ranges() if self.int(1) else self.ids(top))

    def fibonacci(self) -> int:
        value, a, b, prev = 0, 1, 2, 0
        while True:
            bit = self.int(1)
            if bit and prev:
                return value
            if bit:
                value += a
            a, b, prev = b, a + b, bit


def naive_decode_tc(s: str) -> dict[str, Any]:
    """Every field of a TC string as plain Python values (vendor sets as id sets)."""
    core, *others = s.split(".")
    r = _Reader(core)
    out: dict[str, Any] = {"version": r.int(6), "created": r.int(36), "last_updated": r.int(36)}
    out.update(cmp_id=r.int(12), cmp_version=r.int(12), consent_screen=r.int(6))
    out.update(consent_language=r.letters(), vendor_list_version=r.int(12))
    out.update(policy_version=r.int(6), is_service_specific=bool(r.int(1)))
    out.update(use_non_standard_texts=bool(r.int(1)), special_feature_opt_ins=r.ids(12))
    out.update(purpose_consents=r.ids(24), purpose_legitimate_interests=r.ids(24))
    out.update(purpose_one_treatment=bool(r.int(1)), publisher_cc=r.letters())
    out["vendor_consents"] = r.vendors()
    out["vendor_legitimate_interests"] = r.vendors()
    restrictions = []
    for _ in range(r.int(12)):
        purpose, kind = r.int(6), r.int(2)
        restrictions.append((purpose, kind, r.ranges()))
    out["publisher_restrictions"] = restrictions
    for text in others:
        seg = _Reader(text)
        kind = seg.int(3)
        if kind == 3:
            consents, lis, n = seg.ids(24), seg.ids(24), seg.int(6)
            out["publisher_tc"] = (consents, lis, n, seg.ids(n), seg.ids(n))
        else:
            out[{1: "disclosed_vendors", 2: "allowed_vendors"}[kind]] = seg.vendors()
    return out


def naive_decode_gpp(s: str) -> dict[str, Any]:
    """A GPP string's header and raw sections, its US National section's fields (a list,
    in order) and each US state section's fields (a dict under the section id)."""
    header, *sections = s.split("~")
    r = _Reader(header)
    kind, version = r.int(6), r.int(6)
    ids: list[int] = []
    last = 0
    for _ in range(r.int(12)):
        is_range = r.int(1)
        start = last + r.fibonacci()
        end = start + r.fibonacci() if is_range else start
        ids.extend(range(start, end + 1))
        last = end
    out: dict[str, Any] = {"type": kind, "version": version, "section_ids": ids}
    out["sections"] = sections
    if len(ids) != len(sections):
        return out
    for sid, text in zip(ids, sections, strict=True):
        core_text, *subsections = text.split(".")
        core = _Reader(core_text)
        if sid == 7:
            n_sensitive, n_child = (12, 2) if len(core.bits) <= 66 else (16, 3)
            fields = [core.int(6)] + [core.int(2) for _ in range(9 + n_sensitive + n_child + 4)]
            out["usnat"] = fields
        elif sid in US_STATES:
            _, layout, kind = US_STATES[sid]
            state: dict[str, Any] = {"version": core.int(6)}
            for name, n in layout:
                state[name] = [core.int(2) for _ in range(n)] if n else core.int(2)
            if subsections and kind == "gpc":
                sub = _Reader(subsections[0])
                state["gpc"] = bool(sub.int(1)) if sub.int(2) == 1 else None
            elif subsections and kind == "sensitive":
                sub = _Reader(subsections[0])
                state["sensitive_data_processing"] = [sub.int(2) for _ in range(8)]
            out[sid] = state
    return out
