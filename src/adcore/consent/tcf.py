"""IAB TCF v2.2 TC strings: the core segment, disclosed and allowed vendors, publisher TC.

A TC string is segments joined by ``.``: the core segment first, then, in any order, the
disclosed-vendors segment (type 1), the allowed-vendors segment of TCF v2.0 (type 2) and
the publisher TC segment (type 3), each opening with its 3-bit type [1]_. Every segment is
decoded and validated field by field; any field cut short makes the whole string invalid.

References
----------
.. [1] IAB Tech Lab, "Transparency and Consent String with Global Vendor List Format"
   (TCF v2.2), sections "The Core String", "Disclosed Vendors" and "Publisher Purposes
   Transparency and Consent",
   https://github.com/InteractiveAdvertisingBureau/GDPR-Transparency-and-Consent-Framework
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Final

import msgspec

from ._bits import InvalidConsent, _Bits, add_work, split

__all__ = [
    "MAX_TC_LENGTH",
    "PublisherRestriction",
    "PublisherTC",
    "TCString",
    "VendorSet",
    "decode_tcf",
]

#: Vendor sets written as ranges are expanded into bit masks; all of one TC string's
#: together may span at most this many vendor id positions (32 KiB of masks). Real
#: strings use a few thousand; the bound keeps a short string from making huge masks.
_RANGE_POSITIONS: Final = 1 << 18
#: At most this many list items (vendor range entries; publisher restrictions count
#: four) are decoded from one TC string; a string listing more is refused before they
#: are read. This bounds the decoder's Python-level loops whatever the string's length.
#: Real strings need far fewer: a CMP writes ranges only where they are shorter than a
#: bit field, so fewer entries than the largest vendor id / 17 (under a hundred today).
MAX_ITEMS: Final = 1024
#: The longest TC string decoded (a quarter of :data:`~adcore.consent.MAX_LENGTH`): a real
#: one, with disclosed vendors and publisher restrictions, is one or two thousand
#: characters; this bounds the bit fields a string can make the decoder expand.
MAX_TC_LENGTH: Final = 16384
#: Strings up to this length are cached (4096 entries); longer ones are decoded each time,
#: so the cache holds at most about 4096 x (4 KiB + 32 KiB).
_CACHED_LENGTH: Final = 4096
_CACHE_SIZE: Final = 4096

_SEGMENT_NAMES: Final = {1: "disclosed_vendors", 2: "allowed_vendors", 3: "publisher_tc"}


def _ids(bits: int, width: int, offset: int = 1) -> frozenset[int]:
    """The ids whose bit is set in a ``width``-bit field, id ``offset`` at the top bit."""
    text = format(bits, f"0{width}b") if width else ""
    return frozenset(i + offset for i, c in enumerate(text) if c == "1")


def _bit_ids(text: str) -> frozenset[int]:
    """The 1-based positions of the ``"1"`` characters of a bit text."""
    return frozenset(i + 1 for i, c in enumerate(text) if c == "1")


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
    legitimate interest, 3 undefined (kept, ignored by :func:`~adcore.consent.activities`).
    """

    purpose_id: int
    restriction_type: int
    vendors: VendorSet


class PublisherTC(msgspec.Struct, frozen=True, kw_only=True):
    """The publisher TC segment (type 3): the publisher's own purposes.

    ``purpose_consents`` and ``purpose_legitimate_interests`` hold TCF purpose ids 1-24
    (``PubPurposesConsent``, ``PubPurposesLITransparency``); the custom purpose sets hold
    ids 1 to ``num_custom_purposes``. Vendors should not rely on this segment unless
    they have an agreement with the publisher; :func:`~adcore.consent.activities` does
    not read it.
    """

    purpose_consents: frozenset[int]
    purpose_legitimate_interests: frozenset[int]
    num_custom_purposes: int = 0
    custom_purpose_consents: frozenset[int] = frozenset()
    custom_purpose_legitimate_interests: frozenset[int] = frozenset()


class TCString(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded TCF v2 TC string.

    ``created`` and ``last_updated`` are epoch deciseconds, as encoded (see
    ``created_at`` / ``last_updated_at`` for datetimes). Purpose and special-feature sets
    hold 1-based ids. ``disclosed_vendors``, ``allowed_vendors`` and ``publisher_tc`` are
    the optional segments after the core one, None when the string has none.
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
    disclosed_vendors: VendorSet | None = None
    allowed_vendors: VendorSet | None = None
    publisher_tc: PublisherTC | None = None

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


class _Budget:
    """What one string may still build: list items and vendor id positions.

    List items are range entries and publisher restrictions (4 items each: a
    restriction costs about as much to decode as four entries). Real TC strings list a
    few hundred at most: encoders use ranges only where they are shorter than a bit field.
    """

    __slots__ = ("items", "positions")

    def __init__(self) -> None:
        self.items = MAX_ITEMS
        self.positions = _RANGE_POSITIONS

    def take_items(self, n: int, bits: _Bits, field: str) -> None:
        if n > self.items:
            raise bits.fail(field, f"more than {MAX_ITEMS} range entries and restrictions")
        self.items -= n

    def take_positions(self, n: int, bits: _Bits, field: str) -> None:
        if n > self.positions:
            raise bits.fail(field, f"vendor ranges span more than {_RANGE_POSITIONS} ids")
        self.positions -= n
        add_work(n)


def _letters(bits: _Bits, field: str) -> str:
    value = bits.read(12, field)
    hi, lo = value >> 6, value & 63
    if hi > 25 or lo > 25:
        raise bits.fail(field, f"letter codes {hi}, {lo} are not a..z")
    return chr(65 + hi) + chr(65 + lo)


def _vendor_section(bits: _Bits, field: str, budget: _Budget) -> VendorSet:
    """MaxVendorId(16), IsRangeEncoding(1), then a bit field or Range(Int) entries."""
    max_id = bits.read(16, field)
    if bits.flag(field):
        return _ranges(bits, field, budget, max_id)
    return VendorSet(max_vendor_id=max_id, mask=bits.read(max_id, field))


def _ranges(bits: _Bits, field: str, budget: _Budget, max_id: int | None) -> VendorSet:
    """NumEntries(12) then IsARange(1), Start(16)[, End(16)] per entry; ``max_id`` None:
    the largest id listed is the set's maximum (publisher restrictions)."""
    count = bits.read(12, field)
    budget.take_items(count, bits, field)
    # The hot loop of long strings: entries are read straight off the bit text.
    bits.ensure(bits.pos + 33 * count)
    text, pos, size = bits.bits, bits.pos, bits.size
    entries: list[tuple[int, int]] = []
    append = entries.append
    for _ in range(count):
        is_range = text.startswith("1", pos)
        after = pos + 33 if is_range else pos + 17
        if after > size:
            bits.pos = pos
            raise bits.fail(field, f"needs bits {pos}..{after}, the string has {size}")
        start = int(text[pos + 1 : pos + 17], 2)
        end = int(text[pos + 17 : after], 2) if is_range else start
        if start < 1 or end < start or (max_id is not None and end > max_id):
            raise bits.fail(field, f"bad range {start}..{end} (max vendor id {max_id})")
        append((start, end))
        pos = after
    add_work(pos - bits.pos)
    bits.pos = pos
    if not entries:
        return VendorSet(max_vendor_id=max_id or 0, mask=0)
    top = max(end for _, end in entries) if max_id is None else max_id
    budget.take_positions(top, bits, field)
    entries.sort()
    parts: list[str] = []
    covered = 0  # the highest id written so far
    for start, end in entries:
        if end > covered:
            start = max(start, covered + 1)
            parts.append("0" * (start - covered - 1))
            parts.append("1" * (end - start + 1))
            covered = end
    parts.append("0" * (top - covered))
    return VendorSet(max_vendor_id=top, mask=int("".join(parts), 2))


def _publisher_tc(bits: _Bits) -> PublisherTC:
    field = "publisher_tc"
    consents = _bit_ids(bits.text(24, field))
    lis = _bit_ids(bits.text(24, field))
    n_custom = bits.read(6, field)
    return PublisherTC(
        purpose_consents=consents,
        purpose_legitimate_interests=lis,
        num_custom_purposes=n_custom,
        custom_purpose_consents=_bit_ids(bits.text(n_custom, field)),
        custom_purpose_legitimate_interests=_bit_ids(bits.text(n_custom, field)),
    )


def decode_tcf(s: str) -> TCString:
    """Decode a TCF v2 (v2.2) TC string: its core segment and every other segment.

    Parameters
    ----------
    s : str
        The TC string, base64url without padding, segments joined by ``.``.

    Returns
    -------
    TCString
        Every core-segment field, vendor sets from either encoding (bit field or ranges),
        and the disclosed-vendors, allowed-vendors and publisher TC segments when present.

    Raises
    ------
    InvalidConsent
        Not base64url, a version other than 2, a vendor list version of 0, any field
        running past the end of its segment (including ``NumPubRestrictions``, which is
        required), a letter code outside a..z, a vendor range outside 1..MaxVendorId, or a
        segment after the core one that is empty, of an unknown or repeated type, or
        malformed; ``field`` names the part (``"tcf.vendor_consents"``,
        ``"tcf.publisher_restrictions"``, ``"tcf.disclosed_vendors"``...).

    Notes
    -----
    Work is linear in the length of ``s`` (at most 7 units a character plus the vendor
    positions of range-encoded sets, themselves at most 2**18; see
    :func:`~adcore.consent.decoding_work`). Strings up to 4096 characters are cached per
    string (4096 entries): the same string on many requests is decoded once.

    Examples
    --------
    >>> tc = decode_tcf("COwAdDhOwAdDhN4ABAENAPCgAAQAAv___wAAAFP_AAp_4AI6ACACAA")
    >>> tc.version, tc.cmp_id, tc.vendor_list_version, tc.vendor_consents.max_vendor_id
    (2, 888, 15, 10)
    >>> [(r.purpose_id, r.restriction_type, 32 in r.vendors) for r in tc.publisher_restrictions]
    [(7, 1, True)]
    >>> tc = decode_tcf("CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA")
    >>> sorted(tc.disclosed_vendors)
    [1, 2, 3, 4, 5, 100, 404]
    >>> try:
    ...     decode_tcf("COwAdDhO")
    ... except InvalidConsent as exc:
    ...     print(exc.field, "|", exc)
    tcf.last_updated | last_updated: needs bits 42..78, the string has 48
    """
    if not isinstance(s, str) or not s or len(s) > MAX_TC_LENGTH:
        raise InvalidConsent(
            f"a TC string must be a non-empty str of at most {MAX_TC_LENGTH} characters", "tcf"
        )
    if len(s) <= _CACHED_LENGTH:
        return _decode_cached(s)
    return _decode(s)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _decode_cached(s: str) -> TCString:
    return _decode(s)


def _decode(s: str) -> TCString:
    core, *others = split(s, ".")
    budget = _Budget()
    bits = _Bits(core, "tcf")
    read = bits.read
    version = read(6, "version")
    if version != 2:
        raise InvalidConsent(f"TC string version {version}, expected 2", "tcf.version")
    created = read(36, "created")
    last_updated = read(36, "last_updated")
    cmp_id = read(12, "cmp_id")
    cmp_version = read(12, "cmp_version")
    consent_screen = read(6, "consent_screen")
    language = _letters(bits, "consent_language")
    vendor_list_version = read(12, "vendor_list_version")
    if vendor_list_version < 1:
        raise bits.fail("vendor_list_version", "0, the first Global Vendor List is version 1")
    policy_version = read(6, "policy_version")
    is_service_specific = bits.flag("is_service_specific")
    use_non_standard = bits.flag("use_non_standard_texts")
    special = _bit_ids(bits.text(12, "special_feature_opt_ins"))
    purposes = _bit_ids(bits.text(24, "purpose_consents"))
    purposes_li = _bit_ids(bits.text(24, "purpose_legitimate_interests"))
    p1_treatment = bits.flag("purpose_one_treatment")
    publisher_cc = _letters(bits, "publisher_cc")
    consents = _vendor_section(bits, "vendor_consents", budget)
    lis = _vendor_section(bits, "vendor_legitimate_interests", budget)
    # NumPubRestrictions is required, even when 0: a string cut after the vendor
    # sections is refused rather than read as having no restriction.
    restrictions = []
    n_restrictions = read(12, "publisher_restrictions")
    budget.take_items(4 * n_restrictions, bits, "publisher_restrictions")
    for _ in range(n_restrictions):
        purpose_id = read(6, "publisher_restrictions")
        kind = read(2, "publisher_restrictions")
        vendors = _ranges(bits, "publisher_restrictions", budget, None)
        restrictions.append(
            PublisherRestriction(purpose_id=purpose_id, restriction_type=kind, vendors=vendors)
        )
    disclosed = allowed = None
    publisher = None
    seen: set[int] = set()
    for text in others:
        if not text:
            raise InvalidConsent("an empty segment after a '.'", "tcf.segments")
        seg = _Bits(text, "tcf.segments")
        kind = seg.read(3, "type")
        if kind not in _SEGMENT_NAMES:
            raise InvalidConsent(f"segment type {kind} is not 1, 2 or 3", "tcf.segments")
        if kind in seen:
            raise InvalidConsent(f"two segments of type {kind}", "tcf.segments")
        seen.add(kind)
        seg.prefix = "tcf"
        if kind == 1:
            disclosed = _vendor_section(seg, _SEGMENT_NAMES[1], budget)
        elif kind == 2:
            allowed = _vendor_section(seg, _SEGMENT_NAMES[2], budget)
        else:
            publisher = _publisher_tc(seg)
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
        disclosed_vendors=disclosed,
        allowed_vendors=allowed,
        publisher_tc=publisher,
    )
