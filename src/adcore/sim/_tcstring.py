"""Writing TCF v2.2 TC strings: the consent strings the simulated listeners send.

Only the core segment, bit by bit as the IAB specification lays it out; the engine's
decoder (:mod:`adcore.consent`) reads them back, and a test checks the round trip.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

__all__ = ["tc_string"]


class _BitWriter:
    """Big-endian bit writer: fields appended left to right, as the TC string lays them."""

    __slots__ = ("n", "size")

    def __init__(self) -> None:
        self.n = 0
        self.size = 0

    def write(self, value: int, width: int) -> None:
        if width < 0 or not 0 <= value < (1 << width):
            raise ValueError(f"{value} does not fit in {width} bits")
        self.n = (self.n << width) | value
        self.size += width

    def ids(self, ids: frozenset[int], width: int) -> None:
        """A bit field of ``width`` bits whose first (leftmost) bit is id 1."""
        if any(not 1 <= i <= width for i in ids):
            raise ValueError(f"ids {sorted(ids)} are not all in 1..{width}")
        for i in range(1, width + 1):
            self.write(int(i in ids), 1)

    def letters(self, code: str) -> None:
        """Two letters A..Z, 6 bits each (A = 0)."""
        for c in code.upper():
            self.write(ord(c) - 65, 6)

    def base64url(self) -> str:
        """The bits padded with zeros to whole bytes, base64url without ``=`` padding."""
        pad = -self.size % 8
        raw = (self.n << pad).to_bytes((self.size + pad) // 8, "big")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted ids as maximal runs ``(start, end)`` of consecutive ids."""
    runs: list[tuple[int, int]] = []
    for v in sorted(set(ids)):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


def _write_vendors(w: _BitWriter, vendors: frozenset[int], ranges: bool | None) -> None:
    """A vendor section: MaxVendorId (16 bits), IsRangeEncoding (1 bit), then either a
    bit field of MaxVendorId bits or NumEntries (12 bits) of IsARange (1 bit),
    StartOrOnlyVendorId (16 bits) and, for a range, EndVendorId (16 bits). ``ranges``
    None picks the shorter encoding, as CMPs do."""
    max_id = max(vendors, default=0)
    runs = _runs(vendors)
    range_bits = 12 + sum(17 + (16 if a != b else 0) for a, b in runs)
    use_ranges = range_bits < max_id if ranges is None else ranges
    w.write(max_id, 16)
    w.write(int(use_ranges), 1)
    if not use_ranges:
        w.ids(vendors, max_id)
        return
    w.write(len(runs), 12)
    for a, b in runs:
        w.write(int(a != b), 1)
        w.write(a, 16)
        if a != b:
            w.write(b, 16)


def tc_string(
    purposes: Iterable[int],
    vendors: Iterable[int],
    *,
    li_purposes: Iterable[int] = (),
    li_vendors: Iterable[int] = (),
    special_features: Iterable[int] = (),
    created: int = 17_800_128_000,
    cmp_id: int = 2,
    vendor_list_version: int = 100,
    ranges: bool | None = None,
) -> str:
    """The core segment of a TCF v2.2 TC string (no other segment, no publisher
    restriction).

    Fields, in order and width (bits), as the IAB TCF v2.2 "Consent string and vendor
    list formats" specification lays out the core segment: Version 6 (= 2), Created 36
    and LastUpdated 36 (epoch deciseconds, both ``created``), CmpId 12, CmpVersion 12
    (1), ConsentScreen 6 (1), ConsentLanguage 12 ("EN"), VendorListVersion 12,
    TcfPolicyVersion 6 (4, the policy of TCF v2.2), IsServiceSpecific 1 (1),
    UseNonStandardTexts 1 (0), SpecialFeatureOptIns 12, PurposesConsent 24,
    PurposesLITransparency 24, PurposeOneTreatment 1 (0), PublisherCC 12 ("AA",
    unknown), the vendor consent section, the vendor legitimate-interest section
    (see :func:`_write_vendors`; ``ranges`` forces an encoding) and NumPubRestrictions
    12 (0). Bit fields put id 1 in their first bit. The bits are padded with zeros to
    whole bytes and base64url-encoded without padding characters.

    References
    ----------
    IAB Tech Lab, "Transparency and Consent String with Global Vendor List Format",
    TCF v2.2, https://github.com/InteractiveAdvertisingBureau/GDPR-Transparency-and-Consent-Framework
    """
    w = _BitWriter()
    w.write(2, 6)
    w.write(created, 36)
    w.write(created, 36)
    w.write(cmp_id, 12)
    w.write(1, 12)
    w.write(1, 6)
    w.letters("EN")
    w.write(vendor_list_version, 12)
    w.write(4, 6)
    w.write(1, 1)
    w.write(0, 1)
    w.ids(frozenset(special_features), 12)
    w.ids(frozenset(purposes), 24)
    w.ids(frozenset(li_purposes), 24)
    w.write(0, 1)
    w.letters("AA")
    _write_vendors(w, frozenset(vendors), ranges)
    _write_vendors(w, frozenset(li_vendors), ranges)
    w.write(0, 12)
    return w.base64url()
