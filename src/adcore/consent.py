"""Consent strings decoded: IAB TCF v2.2 TC strings, US Privacy strings and GPP strings,
and the activities they allow.

``decode_tcf`` reads the core segment of a Transparency and Consent string [1]_,
``decode_usp`` a four-character US Privacy (CCPA) string [2]_, ``decode_gpp`` the header of
a Global Privacy Platform string [3]_ and, when present, its US National section (section
id 7, ``usnat``) [4]_. Each returns a frozen :class:`msgspec.Struct`; each raises
:class:`InvalidConsent` (whose ``field`` names the part that failed, e.g.
``"tcf.vendor_consents"``) on malformed input. Decoding is pure and cached per string.

:func:`activities` turns the request's privacy signals into four yes/no answers
(``serve``, ``personalise``, ``precise_geo``, ``measure``) with machine-readable reason
codes, in the manner of Prebid Server's activity controls. It never raises: a malformed
string withholds what it governs (fail closed). :func:`truncate_ip` coarsens an address
for logs and traces.

References
----------
.. [1] IAB Tech Lab, "Transparency and Consent String with Global Vendor List Format"
   (TCF v2.2), https://github.com/InteractiveAdvertisingBureau/GDPR-Transparency-and-Consent-Framework
.. [2] IAB Tech Lab, "U.S. Privacy String" v1.0,
   https://github.com/InteractiveAdvertisingBureau/USPrivacy
.. [3] IAB Tech Lab, "Global Privacy Platform String" v1.0, Core/Consent String
   Specification.md, https://github.com/InteractiveAdvertisingBureau/Global-Privacy-Platform
.. [4] IAB Privacy, "MSPA US National Section Technical Specification" (versions 1 and 2),
   same repository, Sections/US-National.

Examples
--------
>>> from adcore.consent import decode_tcf, decode_usp
>>> tc = decode_tcf("COyiILmOyiILmADACHENAPCAAAAAAAAAAAAAE5QBgALgAqgD8AQACSwEygJyAAAAAA")
>>> tc.cmp_id, tc.consent_language, 42 in tc.vendor_consents, 43 in tc.vendor_consents
(3, 'EN', True, False)
>>> decode_usp("1YYN").opt_out
True
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Final

import msgspec

from adcore.errors import AdcoreError, InvalidInput

__all__ = [
    "GPP_SID_TCF_EU",
    "GPP_SID_USNAT",
    "GPP_SID_USP",
    "MAX_LENGTH",
    "Activities",
    "GPPString",
    "InvalidConsent",
    "PublisherRestriction",
    "TCString",
    "USNational",
    "USPrivacy",
    "VendorSet",
    "activities",
    "decode_gpp",
    "decode_tcf",
    "decode_usp",
    "truncate_ip",
]

#: The longest consent string decoded; longer ones are refused (``field`` ``"tcf"`` or
#: ``"gpp"``) before any work. Real TC strings with publisher restrictions stay far below.
MAX_LENGTH: Final = 65536

#: GPP section ids of the signals :func:`activities` reads.
GPP_SID_TCF_EU: Final = 2
GPP_SID_USP: Final = 6
GPP_SID_USNAT: Final = 7

_CACHE_SIZE: Final = 4096
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class InvalidConsent(AdcoreError, ValueError):
    """A consent string that cannot be decoded.

    Attributes
    ----------
    field : str or None
        The part that failed, as a path: ``"tcf.version"``, ``"tcf.vendor_consents"``,
        ``"usp.opt_out_sale"``, ``"gpp.header"``, ``"gpp.usnat"``...
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- bits


class _Bits:
    """Big-endian bit reader over a base64url string (6 bits a character, left to right)."""

    __slots__ = ("n", "pos", "prefix", "size")

    def __init__(self, text: str, prefix: str) -> None:
        self.prefix = prefix
        text = text.rstrip("=")
        if not text or _B64URL.fullmatch(text) is None:
            raise InvalidConsent(f"not base64url: {text[:40]!r}", prefix)
        pad = -len(text) % 4
        try:
            raw = base64.urlsafe_b64decode(text + "A" * pad)
        except (binascii.Error, ValueError) as exc:  # pragma: no cover - regex guards
            raise InvalidConsent(f"not base64url: {exc}", prefix) from None
        # The padding characters added 6 zero bits each at the end: drop them.
        self.n = int.from_bytes(raw, "big") >> (6 * pad)
        self.size = 6 * len(text)
        self.pos = 0

    def read(self, width: int, field: str) -> int:
        end = self.pos + width
        if end > self.size:
            raise InvalidConsent(
                f"{field}: needs bits {self.pos}..{end}, the string has {self.size}",
                f"{self.prefix}.{field}",
            )
        self.pos = end
        return (self.n >> (self.size - end)) & ((1 << width) - 1)

    def fibonacci(self, field: str) -> int:
        """One Fibonacci-coded integer (GPP spec, "About Fibonacci Encoding")."""
        value, a, b, prev = 0, 1, 2, 0
        while True:
            bit = self.read(1, field)
            if bit and prev:
                return value
            if bit:
                value += a
            a, b, prev = b, a + b, bit


def _ids(bits: int, width: int, offset: int = 1) -> frozenset[int]:
    """The ids whose bit is set in a ``width``-bit field, id ``offset`` at the top bit."""
    text = format(bits, f"0{width}b") if width else ""
    return frozenset(i + offset for i, c in enumerate(text) if c == "1")


def _letters(value: int, field: str, prefix: str) -> str:
    hi, lo = value >> 6, value & 63
    if hi > 25 or lo > 25:
        raise InvalidConsent(f"{field}: letter codes {hi}, {lo} are not a..z", f"{prefix}.{field}")
    return chr(65 + hi) + chr(65 + lo)


# --------------------------------------------------------------------------- TCF


class VendorSet(msgspec.Struct, frozen=True, kw_only=True):
    """A set of vendor ids from 1 to ``max_vendor_id``, stored as one bit mask.

    Bit ``max_vendor_id - v`` of ``mask`` is vendor ``v``: the layout of the TC string's
    bit field, so both the bit-field and the range encodings decode to the same value and
    membership is one shift.

    Examples
    --------
    >>> s = VendorSet(max_vendor_id=5, mask=0b10010)
    >>> 1 in s, 2 in s, 4 in s, 9 in s, sorted(s), len(s)
    (True, False, True, False, [1, 4], 2)
    """

    max_vendor_id: int
    mask: int = 0

    def __contains__(self, vendor_id: object) -> bool:
        if not isinstance(vendor_id, int) or not 1 <= vendor_id <= self.max_vendor_id:
            return False
        return bool((self.mask >> (self.max_vendor_id - vendor_id)) & 1)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(_ids(self.mask, self.max_vendor_id)))

    def __len__(self) -> int:
        return self.mask.bit_count()

    def ids(self) -> frozenset[int]:
        """The vendor ids in the set."""
        return _ids(self.mask, self.max_vendor_id)


class PublisherRestriction(msgspec.Struct, frozen=True, kw_only=True):
    """One publisher restriction entry of a TC string.

    ``restriction_type``: 0 purpose flatly not allowed, 1 require consent, 2 require
    legitimate interest, 3 undefined (kept, ignored by :func:`activities`).
    """

    purpose_id: int
    restriction_type: int
    vendors: VendorSet


class TCString(msgspec.Struct, frozen=True, kw_only=True):
    """The core segment of a TCF v2 TC string.

    ``created`` and ``last_updated`` are epoch deciseconds, as encoded (see
    ``created_at`` / ``last_updated_at`` for datetimes). Purpose and special-feature sets
    hold 1-based ids. Segments after the first ``.`` (disclosed vendors, publisher TC) are
    not decoded.
    """

    version: int
    created: int
    last_updated: int
    cmp_id: int
    cmp_version: int
    consent_screen: int
    consent_language: str
    vendor_list_version: int
    policy_version: int
    is_service_specific: bool
    use_non_standard_texts: bool
    special_feature_opt_ins: frozenset[int]
    purpose_consents: frozenset[int]
    purpose_legitimate_interests: frozenset[int]
    purpose_one_treatment: bool
    publisher_cc: str
    vendor_consents: VendorSet
    vendor_legitimate_interests: VendorSet
    publisher_restrictions: tuple[PublisherRestriction, ...] = ()

    @property
    def created_at(self) -> datetime:
        """``created`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.created / 10, UTC)

    @property
    def last_updated_at(self) -> datetime:
        """``last_updated`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.last_updated / 10, UTC)

    def restricted(self, purpose_id: int, vendor_id: int) -> frozenset[int]:
        """The restriction types the publisher set on ``purpose_id`` for ``vendor_id``."""
        return frozenset(
            r.restriction_type
            for r in self.publisher_restrictions
            if r.purpose_id == purpose_id and vendor_id in r.vendors
        )


def _vendor_section(bits: _Bits, field: str) -> VendorSet:
    max_id = bits.read(16, field)
    if bits.read(1, field):
        return _ranges(bits, field, max_id)
    return VendorSet(max_vendor_id=max_id, mask=bits.read(max_id, field))


def _ranges(bits: _Bits, field: str, max_id: int | None) -> VendorSet:
    """A Range(Int) list of vendor ids; ``max_id`` None: the largest id read is the max."""
    entries = []
    for _ in range(bits.read(12, field)):
        is_range = bits.read(1, field)
        start = bits.read(16, field)
        end = bits.read(16, field) if is_range else start
        if start < 1 or end < start or (max_id is not None and end > max_id):
            raise InvalidConsent(
                f"{field}: bad range {start}..{end} (max vendor id {max_id})",
                f"{bits.prefix}.{field}",
            )
        entries.append((start, end))
    top = max((e for _, e in entries), default=0) if max_id is None else max_id
    mask = 0
    for start, end in entries:
        mask |= ((1 << (end - start + 1)) - 1) << (top - end)
    return VendorSet(max_vendor_id=top, mask=mask)


def decode_tcf(s: str) -> TCString:
    """Decode the core segment of a TCF v2 (v2.2) TC string.

    Parameters
    ----------
    s : str
        The TC string, base64url without padding, segments joined by ``.``; only the first
        (core) segment is decoded, the others are skipped.

    Returns
    -------
    TCString
        Every core-segment field, vendor sets from either encoding (bit field or ranges).

    Raises
    ------
    InvalidConsent
        Not base64url, a version other than 2, a field running past the end of the
        string, a letter code outside a..z, or a vendor range outside 1..MaxVendorId;
        ``field`` names the part (``"tcf.vendor_consents"``...).

    Notes
    -----
    Results are cached per string (``functools.lru_cache``, 4096 entries): the same
    string on many requests is decoded once.

    Examples
    --------
    >>> tc = decode_tcf("COwAdDhOwAdDhN4ABAENAPCgAAQAAv___wAAAFP_AAp_4AI6ACACAA")
    >>> tc.version, tc.cmp_id, tc.vendor_list_version, tc.vendor_consents.max_vendor_id
    (2, 888, 15, 10)
    >>> [(r.purpose_id, r.restriction_type, 32 in r.vendors) for r in tc.publisher_restrictions]
    [(7, 1, True)]
    >>> try:
    ...     decode_tcf("COwAdDhO")
    ... except InvalidConsent as exc:
    ...     print(exc.field, "|", exc)
    tcf.last_updated | last_updated: needs bits 42..78, the string has 48
    """
    if not isinstance(s, str) or not s or len(s) > MAX_LENGTH:
        raise InvalidConsent("a TC string must be a non-empty str", "tcf")
    return _decode_tcf(s)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _decode_tcf(s: str) -> TCString:
    bits = _Bits(s.partition(".")[0], "tcf")
    read = bits.read
    version = read(6, "version")
    if version != 2:
        raise InvalidConsent(f"TC string version {version}, expected 2", "tcf.version")
    created = read(36, "created")
    last_updated = read(36, "last_updated")
    cmp_id = read(12, "cmp_id")
    cmp_version = read(12, "cmp_version")
    consent_screen = read(6, "consent_screen")
    language = _letters(read(12, "consent_language"), "consent_language", "tcf")
    vendor_list_version = read(12, "vendor_list_version")
    policy_version = read(6, "policy_version")
    is_service_specific = bool(read(1, "is_service_specific"))
    use_non_standard = bool(read(1, "use_non_standard_texts"))
    special = _ids(read(12, "special_feature_opt_ins"), 12)
    purposes = _ids(read(24, "purpose_consents"), 24)
    purposes_li = _ids(read(24, "purpose_legitimate_interests"), 24)
    p1_treatment = bool(read(1, "purpose_one_treatment"))
    publisher_cc = _letters(read(12, "publisher_cc"), "publisher_cc", "tcf")
    consents = _vendor_section(bits, "vendor_consents")
    lis = _vendor_section(bits, "vendor_legitimate_interests")
    restrictions = []
    # NumPubRestrictions is required by the spec; strings cut right after the vendor
    # sections (older encoders) are read as having no restriction.
    if bits.pos < bits.size and bits.size - bits.pos >= 12:
        for _ in range(read(12, "publisher_restrictions")):
            purpose_id = read(6, "publisher_restrictions")
            kind = read(2, "publisher_restrictions")
            vendors = _ranges(bits, "publisher_restrictions", None)
            restrictions.append(
                PublisherRestriction(purpose_id=purpose_id, restriction_type=kind, vendors=vendors)
            )
    return TCString(
        version=version,
        created=created,
        last_updated=last_updated,
        cmp_id=cmp_id,
        cmp_version=cmp_version,
        consent_screen=consent_screen,
        consent_language=language,
        vendor_list_version=vendor_list_version,
        policy_version=policy_version,
        is_service_specific=is_service_specific,
        use_non_standard_texts=use_non_standard,
        special_feature_opt_ins=special,
        purpose_consents=purposes,
        purpose_legitimate_interests=purposes_li,
        purpose_one_treatment=p1_treatment,
        publisher_cc=publisher_cc,
        vendor_consents=consents,
        vendor_legitimate_interests=lis,
        publisher_restrictions=tuple(restrictions),
    )


# --------------------------------------------------------------------------- US Privacy


class USPrivacy(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A US Privacy (CCPA) string such as ``"1YNN"``.

    ``notice``, ``opt_out_sale`` and ``lspa`` are ``"Y"``, ``"N"`` or ``"-"`` (not
    applicable).
    """

    version: int
    notice: str
    opt_out_sale: str
    lspa: str

    @property
    def opt_out(self) -> bool:
        """True when the user opted out of the sale of personal information."""
        return self.opt_out_sale == "Y"


def decode_usp(s: str) -> USPrivacy:
    """Decode a US Privacy string: version ``1`` then three of ``Y``, ``N``, ``-``.

    Lower-case ``y`` / ``n`` are accepted as their upper-case letters.

    Raises
    ------
    InvalidConsent
        Not four characters (``field`` ``"usp"``), another version (``"usp.version"``),
        or a character outside ``YN-`` (``"usp.notice"``, ``"usp.opt_out_sale"``,
        ``"usp.lspa"``).

    Examples
    --------
    >>> decode_usp("1YNN")
    USPrivacy(version=1, notice='Y', opt_out_sale='N', lspa='N')
    >>> decode_usp("1---").opt_out
    False
    """
    if not isinstance(s, str) or len(s) != 4:
        raise InvalidConsent("a US Privacy string has four characters", "usp")
    return _decode_usp(s)


@functools.lru_cache(maxsize=256)
def _decode_usp(s: str) -> USPrivacy:
    if s[0] != "1":
        raise InvalidConsent(f"US Privacy version {s[0]!r}, expected '1'", "usp.version")
    values = []
    for char, name in zip(s[1:].upper(), ("notice", "opt_out_sale", "lspa"), strict=True):
        if char not in "YN-":
            raise InvalidConsent(f"{name}: {char!r} is not Y, N or -", f"usp.{name}")
        values.append(char)
    return USPrivacy(version=1, notice=values[0], opt_out_sale=values[1], lspa=values[2])


# --------------------------------------------------------------------------- GPP


class USNational(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The core (and optional GPC) subsection of the GPP US National section (id 7).

    Notices: 0 not applicable, 1 notice given, 2 not given. Opt-outs: 0 not applicable,
    1 opted out, 2 did not opt out. Consents (``sensitive_data_processing``,
    ``known_child_sensitive_data_consents``, ``personal_data_consents``): 0 not
    applicable, 1 no consent, 2 consent. Version 1 has 12 sensitive-data categories and
    2 child categories, version 2 has 16 and 3. ``gpc`` is None when the GPC subsection
    is absent.
    """

    version: int
    sharing_notice: int
    sale_opt_out_notice: int
    sharing_opt_out_notice: int
    targeted_advertising_opt_out_notice: int
    sensitive_data_processing_opt_out_notice: int
    sensitive_data_limit_use_notice: int
    sale_opt_out: int
    sharing_opt_out: int
    targeted_advertising_opt_out: int
    sensitive_data_processing: tuple[int, ...]
    known_child_sensitive_data_consents: tuple[int, ...]
    personal_data_consents: int
    mspa_covered_transaction: int
    mspa_opt_out_option_mode: int
    mspa_service_provider_mode: int
    gpc: bool | None = None


class GPPString(msgspec.Struct, frozen=True, kw_only=True):
    """A GPP string: header version, section ids in order, raw sections, decoded usnat.

    ``sections[i]`` is the raw text of section ``section_ids[i]``; ``usnat`` is the
    decoded US National section when the string has one.
    """

    version: int
    section_ids: tuple[int, ...]
    sections: tuple[str, ...]
    usnat: USNational | None = None

    def section(self, section_id: int) -> str | None:
        """The raw text of section ``section_id``, or None when absent."""
        for sid, text in zip(self.section_ids, self.sections, strict=True):
            if sid == section_id:
                return text
        return None


def _gpp_header(text: str) -> tuple[int, tuple[int, ...]]:
    bits = _Bits(text, "gpp.header")
    kind = bits.read(6, "type")
    if kind != 3:
        raise InvalidConsent(f"GPP header type {kind}, expected 3", "gpp.header")
    version = bits.read(6, "version")
    ids: list[int] = []
    last = 0
    for _ in range(bits.read(12, "section_ids")):
        is_range = bits.read(1, "section_ids")
        start = last + bits.fibonacci("section_ids")
        end = start + bits.fibonacci("section_ids") if is_range else start
        ids.extend(range(start, end + 1))
        last = end
    return version, tuple(ids)


def _usnat(text: str) -> USNational:
    core, dot, rest = text.partition(".")
    bits = _Bits(core, "gpp.usnat")
    read = bits.read
    version = read(6, "version")
    if version not in (1, 2):
        raise InvalidConsent(f"US National version {version}, expected 1 or 2", "gpp.usnat")
    notices = [read(2, "notices") for _ in range(6)]
    sale, sharing, targeted = (read(2, "opt_outs") for _ in range(3))
    n_sensitive, n_child = (12, 2) if version == 1 else (16, 3)
    sensitive = tuple(read(2, "sensitive_data_processing") for _ in range(n_sensitive))
    child = tuple(read(2, "known_child_sensitive_data_consents") for _ in range(n_child))
    personal, covered, opt_out_mode, provider_mode = (read(2, "mspa") for _ in range(4))
    gpc: bool | None = None
    for sub in rest.split(".") if dot else ():
        sub_bits = _Bits(sub, "gpp.usnat.gpc")
        if sub_bits.read(2, "subsection_type") == 1:
            gpc = bool(sub_bits.read(1, "gpc"))
    return USNational(
        version=version,
        sharing_notice=notices[0],
        sale_opt_out_notice=notices[1],
        sharing_opt_out_notice=notices[2],
        targeted_advertising_opt_out_notice=notices[3],
        sensitive_data_processing_opt_out_notice=notices[4],
        sensitive_data_limit_use_notice=notices[5],
        sale_opt_out=sale,
        sharing_opt_out=sharing,
        targeted_advertising_opt_out=targeted,
        sensitive_data_processing=sensitive,
        known_child_sensitive_data_consents=child,
        personal_data_consents=personal,
        mspa_covered_transaction=covered,
        mspa_opt_out_option_mode=opt_out_mode,
        mspa_service_provider_mode=provider_mode,
        gpc=gpc,
    )


def decode_gpp(s: str) -> GPPString:
    """Decode a GPP string: its header, raw sections, and the US National section.

    Parameters
    ----------
    s : str
        ``header~section~section...``. The header's section ids (a Fibonacci-coded range)
        must match the number of sections that follow.

    Returns
    -------
    GPPString
        Sections other than US National (id 7) are kept as raw text.

    Raises
    ------
    InvalidConsent
        ``field`` ``"gpp"`` (empty, too long), ``"gpp.header..."`` (not base64url, type
        not 3, truncated), ``"gpp.sections"`` (count differs from the header) or
        ``"gpp.usnat..."`` (the US National section is malformed).

    Examples
    --------
    >>> g = decode_gpp("DBABLA~BVVVkkkklWA.YA")
    >>> g.section_ids, g.usnat.sale_opt_out, g.usnat.targeted_advertising_opt_out, g.usnat.gpc
    ((7,), 1, 1, True)
    >>> decode_gpp("DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN").section(6)
    '1YNN'
    """
    if not isinstance(s, str) or not s or len(s) > MAX_LENGTH:
        raise InvalidConsent("a GPP string must be a non-empty str", "gpp")
    return _decode_gpp(s)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _decode_gpp(s: str) -> GPPString:
    header, *sections = s.split("~")
    version, ids = _gpp_header(header)
    if len(ids) != len(sections):
        raise InvalidConsent(
            f"the header lists {len(ids)} sections, the string has {len(sections)}",
            "gpp.sections",
        )
    usnat = None
    if GPP_SID_USNAT in ids:
        usnat = _usnat(sections[ids.index(GPP_SID_USNAT)])
    return GPPString(version=version, section_ids=ids, sections=tuple(sections), usnat=usnat)


# --------------------------------------------------------------------------- activities


class Activities(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What a request's privacy signals allow for one vendor.

    ``serve``: an ad may be chosen at all (contextually); ``personalise``: user ids,
    segments, interest vectors and frequency-cap storage may be used; ``precise_geo``:
    precise location may be used; ``measure``: ad performance may be measured.
    ``reasons`` lists machine-readable codes for every withheld activity, in rule order.
    """

    serve: bool
    personalise: bool
    precise_geo: bool
    measure: bool
    reasons: tuple[str, ...] = ()


# TCF v2.2 purposes: 1 store/access information on a device, 2 use limited data to select
# advertising, 3 create profiles for personalised advertising, 4 use profiles to select
# personalised advertising, 7 measure advertising performance. Special feature 1: use
# precise geolocation data.
_PERSONALISE_PURPOSES: Final = (1, 3, 4)
_BASIC_ADS: Final = 2
_MEASURE: Final = 7
_PRECISE_GEO_FEATURE: Final = 1
# Index of "precise geolocation" in the US National SensitiveDataProcessing list.
_USNAT_PRECISE_GEO: Final = 7
_ALL: Final = {"serve": True, "personalise": True, "geo": True, "measure": True}


class _Decision:
    __slots__ = ("geo", "measure", "personalise", "reasons", "serve")

    def __init__(self) -> None:
        self.serve = self.personalise = self.geo = self.measure = True
        self.reasons: list[str] = []

    def deny(
        self,
        reason: str,
        *,
        serve: bool = False,
        personalise: bool = False,
        geo: bool = False,
        measure: bool = False,
    ) -> None:
        self.serve &= not serve
        self.personalise &= not personalise
        self.geo &= not geo
        self.measure &= not measure
        if reason not in self.reasons:
            self.reasons.append(reason)


def _apply_tcf(d: _Decision, tc_string: str | None, vendor_id: int) -> None:
    if not tc_string:
        d.deny("gdpr_no_tc_string", personalise=True, geo=True, measure=True)
        return
    try:
        tc = decode_tcf(tc_string)
    except InvalidConsent:
        d.deny("tcf_malformed", personalise=True, geo=True, measure=True)
        return
    vendor_consent = vendor_id in tc.vendor_consents
    vendor_li = vendor_id in tc.vendor_legitimate_interests
    if not vendor_consent:
        d.deny("gdpr_no_vendor_consent", personalise=True, geo=True)
    # Serving at all: purpose 2 on consent or legitimate interest, for the vendor.
    basic = tc.restricted(_BASIC_ADS, vendor_id)
    by_consent = _BASIC_ADS in tc.purpose_consents and vendor_consent and 2 not in basic
    by_li = _BASIC_ADS in tc.purpose_legitimate_interests and vendor_li and 1 not in basic
    if 0 in basic:
        d.deny("gdpr_publisher_restriction_purpose_2", **_ALL)
    elif not (by_consent or by_li):
        d.deny("gdpr_no_basis_purpose_2", **_ALL)
    for purpose in _PERSONALISE_PURPOSES:
        if purpose not in tc.purpose_consents:
            d.deny(f"gdpr_no_consent_purpose_{purpose}", personalise=True)
        # Type 0 forbids the purpose; type 2 demands legitimate interest, which TCF v2.2
        # does not allow for these purposes: either way consent cannot be used.
        if tc.restricted(purpose, vendor_id) & {0, 2}:
            d.deny(f"gdpr_publisher_restriction_purpose_{purpose}", personalise=True)
    if _PRECISE_GEO_FEATURE not in tc.special_feature_opt_ins:
        d.deny("gdpr_no_special_feature_1", geo=True)
    measure_r = tc.restricted(_MEASURE, vendor_id)
    m_consent = _MEASURE in tc.purpose_consents and vendor_consent and 2 not in measure_r
    m_li = _MEASURE in tc.purpose_legitimate_interests and vendor_li and 1 not in measure_r
    if 0 in measure_r or not (m_consent or m_li):
        d.deny("gdpr_no_basis_purpose_7", measure=True)


def _apply_usp(d: _Decision, us_privacy: str, prefix: str) -> None:
    try:
        usp = decode_usp(us_privacy)
    except InvalidConsent:
        d.deny(f"{prefix}_malformed", personalise=True)
        return
    if usp.opt_out:
        d.deny(f"{prefix}_opt_out", personalise=True)


def _apply_usnat(d: _Decision, nat: USNational) -> None:
    if nat.sale_opt_out == 1:
        d.deny("gpp_sale_opt_out", personalise=True)
    if nat.sharing_opt_out == 1:
        d.deny("gpp_sharing_opt_out", personalise=True)
    if nat.targeted_advertising_opt_out == 1:
        d.deny("gpp_targeting_opt_out", personalise=True)
    if 1 in nat.known_child_sensitive_data_consents:
        d.deny("gpp_known_child", personalise=True, geo=True)
    if nat.gpc:
        d.deny("gpp_gpc", personalise=True)
    if nat.sensitive_data_processing[_USNAT_PRECISE_GEO] == 1:
        d.deny("gpp_no_precise_geo_consent", geo=True)


def activities(
    *,
    gdpr: int | None,
    tc_string: str | None,
    us_privacy: str | None,
    gpp: str | None,
    gpp_sid: tuple[int, ...] = (),
    coppa: int | None,
    lmt: int | None,
    dnt: int | None,
    vendor_id: int,
) -> Activities:
    """Decide what may be done for ``vendor_id`` under a request's privacy signals.

    Parameters
    ----------
    gdpr : int or None
        OpenRTB ``regs.gdpr``: 1 GDPR applies, 0 it does not, None unknown (applies when
        a TC string is present or the GPP applicable sections include TCF EU, id 2).
    tc_string : str or None
        OpenRTB ``user.consent``: the TC string.
    us_privacy : str or None
        OpenRTB ``regs.us_privacy``.
    gpp : str or None
        OpenRTB ``regs.gpp``.
    gpp_sid : tuple of int
        OpenRTB ``regs.gpp_sid``: the sections that apply; empty means every section of
        the string applies.
    coppa, lmt, dnt : int or None
        ``regs.coppa``, ``device.lmt``, ``device.dnt``: 1 is on.
    vendor_id : int
        The vendor (GVL id) whose consent is checked.

    Returns
    -------
    Activities
        See ``docs/consent.md`` for the rule table. ``serve`` is False only when a valid
        TC string refuses purpose 2 ("use limited data to select advertising") for the
        vendor on both legal bases, or the publisher flatly restricts it: a missing or
        malformed string withholds every personal activity but still lets a contextual
        ad (no personal data) be chosen.

    Examples
    --------
    >>> a = activities(gdpr=0, tc_string=None, us_privacy="1YYN", gpp=None, coppa=0,
    ...                lmt=0, dnt=0, vendor_id=1)
    >>> a.serve, a.personalise, a.precise_geo, a.reasons
    (True, False, True, ('usp_opt_out',))
    >>> activities(gdpr=1, tc_string="not a tc string!", us_privacy=None, gpp=None,
    ...            coppa=None, lmt=None, dnt=None, vendor_id=1).reasons
    ('tcf_malformed',)
    """
    d = _Decision()
    if coppa == 1:
        d.deny("coppa", personalise=True, geo=True)
    if lmt == 1:
        d.deny("lmt", personalise=True)
    if dnt == 1:
        d.deny("dnt", personalise=True)

    parsed: GPPString | None = None
    applicable: tuple[int, ...] = ()
    if gpp:
        try:
            parsed = decode_gpp(gpp)
        except InvalidConsent:
            d.deny("gpp_malformed", personalise=True, geo=True)
        else:
            applicable = tuple(gpp_sid) or parsed.section_ids

    if parsed is not None and tc_string is None and GPP_SID_TCF_EU in applicable:
        tc_string = parsed.section(GPP_SID_TCF_EU)
        if gdpr is None:
            gdpr = 1
    if gdpr == 1 or (gdpr is None and tc_string):
        _apply_tcf(d, tc_string, vendor_id)

    if us_privacy is not None:
        _apply_usp(d, us_privacy, "usp")
    elif parsed is not None and GPP_SID_USP in applicable:
        text = parsed.section(GPP_SID_USP)
        if text is not None:
            _apply_usp(d, text, "gpp_usp")

    if parsed is not None and parsed.usnat is not None and GPP_SID_USNAT in applicable:
        _apply_usnat(d, parsed.usnat)

    return Activities(
        serve=d.serve,
        personalise=d.personalise and d.serve,
        precise_geo=d.geo and d.serve,
        measure=d.measure and d.serve,
        reasons=tuple(d.reasons),
    )


def truncate_ip(ip: str) -> str:
    """Coarsen an IP address for logs and traces: IPv4 to its /24, IPv6 to its /56.

    Raises
    ------
    adcore.errors.InvalidInput
        ``ip`` is not an IPv4 or IPv6 address (``field`` ``"ip"``).

    Examples
    --------
    >>> truncate_ip("203.0.113.77")
    '203.0.113.0'
    >>> truncate_ip("2001:db8:abcd:12ff:1:2:3:4")
    '2001:db8:abcd:1200::'
    """
    try:
        addr = ipaddress.ip_address(ip.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(f"not an IP address: {ip!r}", "ip") from None
    if addr.version == 4:
        return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))
    return str(ipaddress.IPv6Address(int(addr) & ~((1 << 72) - 1)))
