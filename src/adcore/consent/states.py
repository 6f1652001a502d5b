"""The GPP US sections: US National (section 7) and every US state section (8 to 27).

Each section's layout is declared once, in :data:`_LAYOUTS`, field by field as its IAB
Privacy technical specification writes it [1]_; one decoder reads every layout. Every
field is a 2-bit enumeration (0 not applicable, 1 and 2 as the field defines; 3 is
defined by none and makes the section invalid) or a list of them (an N-Bitfield(2, n)),
after a 6-bit version. Sections with a GPC subsection carry it after a ``.``
(SubsectionType 1, then the Gpc bit) [2]_.

The sensitive-data categories of each state are also mapped onto the sixteen categories
of the US National section (:data:`SENSITIVE_CATEGORIES`), so that
:func:`~adcore.consent.activities` applies one set of rules to every section.

Sections 24 to 27 (Maryland, Indiana, Kentucky, Rhode Island) are decoded as the IAB
reference implementation (iabgpp-es) writes them: the core subsection's fields from its
MspaVersion on, then, after a ``.``, the GPC subsection (Maryland) or the Sensitive Data
Consents subsection (an N-Bitfield(2, 8) without a type prefix). Their specification,
published for public comment in October 2025, also sketches a section header (SectionID,
Version, SubSections) that no encoder writes.

References
----------
.. [1] IAB Privacy, "MSPA US National Technical Specification" (versions 1 and 2) and the
   "GPP Extension: <State> Privacy Technical Specification" documents, Sections/US-National
   and Sections/US-States in
   https://github.com/InteractiveAdvertisingBureau/Global-Privacy-Platform
.. [2] IAB Tech Lab, "Section Information", Reusable Subsections: Global Privacy Control.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Final, NamedTuple

import msgspec

from ._bits import MAX_LENGTH, InvalidConsent, _Bits, split

__all__ = [
    "GPP_US_SECTIONS",
    "SENSITIVE_CATEGORIES",
    "USNational",
    "USState",
    "decode_us_section",
]

#: The sixteen sensitive-data categories of the US National section (version 2), in its
#: order; version 1 has the first twelve.
SENSITIVE_CATEGORIES: Final = (
    "racial or ethnic origin",
    "religious or philosophical beliefs",
    "health (condition, diagnosis, treatment)",
    "sex life or sexual orientation",
    "citizenship or immigration status",
    "genetic data",
    "biometric data",
    "precise geolocation",
    "social security, driver's licence, state id or passport number",
    "account log-in, financial account, debit or credit card number",
    "union membership",
    "contents of mail, email and text messages",
    "consumer health data",
    "status as a victim of crime",
    "national origin",
    "status as transgender or nonbinary",
)
#: Index of "precise geolocation" in :data:`SENSITIVE_CATEGORIES`.
PRECISE_GEO: Final = 7


class USNational(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The core (and optional GPC) subsection of the GPP US National section (id 7).

    Notices: 0 not applicable, 1 notice given, 2 not given. Opt-outs: 0 not applicable,
    1 opted out, 2 did not opt out. Consents (``sensitive_data_processing``,
    ``known_child_sensitive_data_consents``, ``personal_data_consents``): 0 not
    applicable, 1 no consent, 2 consent. The first layout has 12 sensitive-data
    categories and 2 known-child ones (ages 13-16, under 13), the second (version 2 of the
    specification) 16 and 3 (ages 16-17 added). Core segments of 66 bits or fewer are read
    with the first layout, longer ones with the second, whatever their version field (1
    or 2), as the IAB reference implementations do: their encoders write the second layout
    under version 1. ``gpc`` is None when the GPC subsection is absent.
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


class USState(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A decoded GPP US state section (ids 8 to 27).

    Fields keep the specification's names; a field the state's section does not have is
    None. Enumerations are as in :class:`USNational`: notices 0 not applicable, 1 given,
    2 not given; opt-outs 0 not applicable, 1 opted out, 2 did not opt out; consents
    0 not applicable, 1 no consent, 2 consent. ``sensitive_data_processing`` and
    ``known_child_sensitive_data_consents`` are tuples in the state's own category order
    (a single Int(2) field becomes a 1-tuple); in California, Utah and Iowa the
    sensitive-data values are opt-outs (1 opted out, 2 did not opt out) rather than
    consents. Iowa's ``SensitiveDataOptOutNotice`` is
    ``sensitive_data_processing_opt_out_notice`` here. In sections 24 to 27 ``version``
    is the MspaVersion field, ``mspa_mode`` replaces the two MSPA mode fields (0 not
    applicable, 1 opt-out option mode, 2 service provider mode), and
    ``sensitive_data_processing`` is None when the optional subsection is absent.
    ``gpc`` is None when the section has no GPC subsection.
    """

    section_id: int
    version: int
    mspa_covered_transaction: int
    sharing_notice: int | None = None
    processing_notice: int | None = None
    sale_opt_out_notice: int | None = None
    sharing_opt_out_notice: int | None = None
    targeted_advertising_opt_out_notice: int | None = None
    sensitive_data_processing_opt_out_notice: int | None = None
    sensitive_data_limit_use_notice: int | None = None
    sale_opt_out: int | None = None
    sharing_opt_out: int | None = None
    targeted_advertising_opt_out: int | None = None
    sensitive_data_processing: tuple[int, ...] | None = None
    known_child_sensitive_data_consents: tuple[int, ...] | None = None
    personal_data_consents: int | None = None
    additional_data_processing_consent: int | None = None
    mspa_opt_out_option_mode: int | None = None
    mspa_service_provider_mode: int | None = None
    mspa_mode: int | None = None
    gpc: bool | None = None

    @property
    def prefix(self) -> str:
        """The section's client-side API prefix (``"usca"``, ``"usia"``...)."""
        return _LAYOUTS[self.section_id].prefix

    @property
    def state(self) -> str:
        """The state's name."""
        return _LAYOUTS[self.section_id].state

    def sensitive_categories(self) -> dict[int, int]:
        """The sensitive-data values by :data:`SENSITIVE_CATEGORIES` index.

        A state category covering several US National ones (California's "racial or
        ethnic origin, religious or philosophical beliefs, or union membership") gives its
        value to each; categories the state does not have are absent.
        """
        return _map_sensitive(self.section_id, self.sensitive_data_processing)


class _Layout(NamedTuple):
    prefix: str
    state: str
    # (attribute, n): n == 0 is one Int(2); n > 0 an N-Bitfield(2, n) tuple.
    core: tuple[tuple[str, int], ...]
    # "gpc": GPC subsections; "sensitive": one Sensitive Data Consents subsection;
    # "": none defined (extra subsections are ignored, as the reference decoders do).
    subsection: str
    # Per state sensitive-data category: the US National categories it covers.
    sensitive: tuple[tuple[int, ...], ...]


def _same(n: int) -> tuple[tuple[int, ...], ...]:
    return tuple((i,) for i in range(n))


_MSPA: Final = (
    ("mspa_covered_transaction", 0),
    ("mspa_opt_out_option_mode", 0),
    ("mspa_service_provider_mode", 0),
)
# The eight sensitive-data categories most states list, in the US National order (racial
# or ethnic origin ... biometric data, precise geolocation).
_EIGHT: Final = _same(8)


def _opt_outs(
    notice: str, n_sensitive: int, child: int, extra: tuple[str, ...]
) -> tuple[tuple[str, int], ...]:
    """The core most states share: their Sharing or Processing notice, the sale and
    targeted-advertising notices and opt-outs, SensitiveDataProcessing(n_sensitive),
    KnownChildSensitiveDataConsents (an Int(2) when ``child`` is 0), the ``extra`` fields
    (AdditionalDataProcessingConsent), then the three MSPA fields."""
    return (
        (notice, 0),
        ("sale_opt_out_notice", 0),
        ("targeted_advertising_opt_out_notice", 0),
        ("sale_opt_out", 0),
        ("targeted_advertising_opt_out", 0),
        ("sensitive_data_processing", n_sensitive),
        ("known_child_sensitive_data_consents", child),
        *((name, 0) for name in extra),
        *_MSPA,
    )


_ADDITIONAL: Final = ("additional_data_processing_consent",)
_CORE_2025: Final = (
    ("mspa_covered_transaction", 0),
    ("mspa_mode", 0),
    ("processing_notice", 0),
    ("sale_opt_out_notice", 0),
    ("targeted_advertising_opt_out_notice", 0),
    ("sale_opt_out", 0),
    ("targeted_advertising_opt_out", 0),
)

_LAYOUTS: Final[Mapping[int, _Layout]] = types.MappingProxyType(
    {
        8: _Layout(
            "usca",
            "California",
            (
                ("sale_opt_out_notice", 0),
                ("sharing_opt_out_notice", 0),
                ("sensitive_data_limit_use_notice", 0),
                ("sale_opt_out", 0),
                ("sharing_opt_out", 0),
                ("sensitive_data_processing", 9),
                ("known_child_sensitive_data_consents", 2),
                ("personal_data_consents", 0),
                *_MSPA,
            ),
            "gpc",
            # SSN etc., account log-in, precise geolocation, race/religion/union,
            # communications, genetic, biometric, health, sex life.
            ((8,), (9,), (7,), (0, 1, 10), (11,), (5,), (6,), (2,), (3,)),
        ),
        9: _Layout("usva", "Virginia", _opt_outs("sharing_notice", 8, 0, ()), "", _EIGHT),
        10: _Layout("usco", "Colorado", _opt_outs("sharing_notice", 7, 0, ()), "gpc", _same(7)),
        11: _Layout(
            "usut",
            "Utah",
            (
                ("sharing_notice", 0),
                ("sale_opt_out_notice", 0),
                ("targeted_advertising_opt_out_notice", 0),
                ("sensitive_data_processing_opt_out_notice", 0),
                ("sale_opt_out", 0),
                ("targeted_advertising_opt_out", 0),
                ("sensitive_data_processing", 8),
                ("known_child_sensitive_data_consents", 0),
                *_MSPA,
            ),
            "",
            # race, religion, sexual orientation, citizenship, health, genetic, biometric,
            # specific geolocation.
            ((0,), (1,), (3,), (4,), (2,), (5,), (6,), (7,)),
        ),
        12: _Layout("usct", "Connecticut", _opt_outs("sharing_notice", 8, 3, ()), "gpc", _EIGHT),
        13: _Layout(
            "usfl", "Florida", _opt_outs("processing_notice", 8, 3, _ADDITIONAL), "", _EIGHT
        ),
        14: _Layout(
            "usmt", "Montana", _opt_outs("sharing_notice", 8, 3, _ADDITIONAL), "gpc", _EIGHT
        ),
        15: _Layout(
            "usor",
            "Oregon",
            _opt_outs("processing_notice", 11, 3, _ADDITIONAL),
            "gpc",
            # race, religion, health, sexual orientation, transgender, citizenship,
            # national origin, crime victim, genetic, biometric, precise geolocation.
            ((0,), (1,), (2,), (3,), (15,), (4,), (14,), (13,), (5,), (6,), (7,)),
        ),
        16: _Layout(
            "ustx", "Texas", _opt_outs("processing_notice", 8, 0, _ADDITIONAL), "gpc", _EIGHT
        ),
        17: _Layout(
            "usde",
            "Delaware",
            _opt_outs("processing_notice", 9, 5, _ADDITIONAL),
            "gpc",
            (*_EIGHT, (15,)),  # ... and transgender or nonbinary
        ),
        18: _Layout(
            "usia",
            "Iowa",
            (
                ("processing_notice", 0),
                ("sale_opt_out_notice", 0),
                ("targeted_advertising_opt_out_notice", 0),
                ("sensitive_data_processing_opt_out_notice", 0),
                ("sale_opt_out", 0),
                ("targeted_advertising_opt_out", 0),
                ("sensitive_data_processing", 8),
                ("known_child_sensitive_data_consents", 0),
                *_MSPA,
            ),
            "gpc",
            _EIGHT,
        ),
        19: _Layout(
            "usne", "Nebraska", _opt_outs("processing_notice", 8, 0, _ADDITIONAL), "gpc", _EIGHT
        ),
        20: _Layout(
            "usnh",
            "New Hampshire",
            _opt_outs("processing_notice", 8, 3, _ADDITIONAL),
            "gpc",
            _EIGHT,
        ),
        21: _Layout(
            "usnj",
            "New Jersey",
            _opt_outs("processing_notice", 10, 5, _ADDITIONAL),
            "gpc",
            (*_EIGHT, (15,), (9,)),  # ... transgender or nonbinary, financial information
        ),
        22: _Layout(
            "ustn", "Tennessee", _opt_outs("processing_notice", 8, 0, _ADDITIONAL), "gpc", _EIGHT
        ),
        23: _Layout(
            "usmn", "Minnesota", _opt_outs("processing_notice", 8, 0, _ADDITIONAL), "gpc", _EIGHT
        ),
        24: _Layout("usmd", "Maryland", (*_CORE_2025, *((n, 0) for n in _ADDITIONAL)), "gpc", ()),
        25: _Layout(
            "usin",
            "Indiana",
            (
                *_CORE_2025,
                ("known_child_sensitive_data_consents", 0),
                *((n, 0) for n in _ADDITIONAL),
            ),
            "sensitive",
            _EIGHT,
        ),
        26: _Layout(
            "usky",
            "Kentucky",
            (
                *_CORE_2025,
                ("known_child_sensitive_data_consents", 0),
                *((n, 0) for n in _ADDITIONAL),
            ),
            "sensitive",
            _EIGHT,
        ),
        27: _Layout(
            "usri",
            "Rhode Island",
            (
                *_CORE_2025,
                ("known_child_sensitive_data_consents", 0),
                *((n, 0) for n in _ADDITIONAL),
            ),
            "sensitive",
            _EIGHT,
        ),
    }
)

#: Every GPP US section decoded: section id to client-side API prefix.
GPP_US_SECTIONS: Final[Mapping[int, str]] = types.MappingProxyType(
    {7: "usnat", **{sid: layout.prefix for sid, layout in _LAYOUTS.items()}}
)
_SUBSECTION_GPC: Final = 1


def _map_sensitive(section_id: int, values: tuple[int, ...] | None) -> dict[int, int]:
    out: dict[int, int] = {}
    if values is None:
        return out
    for value, covered in zip(values, _LAYOUTS[section_id].sensitive, strict=True):
        for category in covered:
            out[category] = max(out.get(category, 0), value, key=_severity)
    return out


def _severity(value: int) -> int:
    """Orders 0 (not applicable) < 2 (consent) < 1 (refused), to keep the strictest."""
    return (0, 2, 1)[value]


def _gpc(parts: list[str], field: str) -> bool | None:
    """The GPC subsection after a section's core, None without one.

    Only the first subsection is read, as the reference decoders do; it is a GPC one when
    its SubsectionType is 1 (other types are not defined, and ignored).
    """
    if not parts:
        return None
    sub = _Bits(parts[0], field)
    if sub.read(2, "subsection_type") != _SUBSECTION_GPC:
        return None
    return sub.flag("gpc")


def _usnat(text: str) -> USNational:
    core, *rest = split(text, ".")
    bits = _Bits(core, "gpp.usnat")
    version = bits.read(6, "version")
    if version not in (1, 2):
        raise InvalidConsent(f"US National version {version}, expected 1 or 2", "gpp.usnat")
    n_sensitive, n_child = (12, 2) if bits.size <= 66 else (16, 3)
    notices = bits.two_bits(6, "notices")
    sale, sharing, targeted = bits.two_bits(3, "opt_outs")
    sensitive = bits.two_bits(n_sensitive, "sensitive_data_processing")
    child = bits.two_bits(n_child, "known_child_sensitive_data_consents")
    personal, covered, opt_out_mode, provider_mode = bits.two_bits(4, "mspa")
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
        gpc=_gpc(rest, "gpp.usnat.gpc"),
    )


def _state(section_id: int, text: str) -> USState:
    layout = _LAYOUTS[section_id]
    prefix = f"gpp.{layout.prefix}"
    core, *rest = split(text, ".")
    bits = _Bits(core, prefix)
    version = bits.read(6, "version")
    if version != 1:
        raise InvalidConsent(f"{layout.state} section version {version}, expected 1", prefix)
    fields: dict[str, int | tuple[int, ...] | bool | None] = {}
    widths = [n or 1 for _, n in layout.core]
    if bits.pos + 2 * sum(widths) <= bits.size:
        # The whole core in one slice; a 3 is then blamed on the field that holds it.
        values = bits.pairs(sum(widths), "core")
        at = 0
        for (name, n), width in zip(layout.core, widths, strict=True):
            chunk = values[at : at + width]
            if 3 in chunk:
                raise bits.fail(name, "value 3 is not defined")
            fields[name] = chunk if n else chunk[0]
            at += width
    else:  # cut short: read field by field, to name the one that runs past the end
        for name, n in layout.core:
            fields[name] = bits.two_bits(n, name) if n else bits.two_bit(name)
    if layout.subsection == "gpc":
        fields["gpc"] = _gpc(rest, f"{prefix}.gpc")
    elif layout.subsection == "sensitive" and rest:
        sub = _Bits(rest[0], f"{prefix}.sensitive_data_consents")
        fields["sensitive_data_processing"] = sub.two_bits(8, "sensitive_data_processing")
    child = fields.get("known_child_sensitive_data_consents")
    if isinstance(child, int):
        fields["known_child_sensitive_data_consents"] = (child,)
    return msgspec.convert({"section_id": section_id, "version": version, **fields}, USState)


def decode_us_section(section_id: int, text: str) -> USNational | USState:
    """Decode the text of one GPP US section (the part between two ``~``).

    Parameters
    ----------
    section_id : int
        7 (US National) or a state's id, 8 to 27 (see :data:`GPP_US_SECTIONS`).
    text : str
        The section: its core subsection and any subsections after ``.``.

    Returns
    -------
    USNational or USState

    Raises
    ------
    InvalidConsent
        Not base64url, a version this decoder does not know, a field cut short, or a
        2-bit value of 3; ``field`` is ``"gpp.<prefix>..."`` (``"gpp.usia.sale_opt_out"``;
        ``"gpp.<prefix>"`` alone for a non-str or a text over ``MAX_LENGTH``). An unknown
        ``section_id`` raises with ``field`` ``"gpp.sections"``.

    Examples
    --------
    >>> ia = decode_us_section(18, "BVVkklWA.YA")
    >>> ia.state, ia.sale_opt_out, ia.targeted_advertising_opt_out, ia.gpc
    ('Iowa', 1, 1, True)
    >>> ia.sensitive_data_processing
    (2, 1, 0, 2, 1, 0, 2, 1)
    """
    if section_id != 7 and section_id not in _LAYOUTS:
        raise InvalidConsent(f"section {section_id!r} is not a US section", "gpp.sections")
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        raise InvalidConsent(
            f"a section must be a str of at most {MAX_LENGTH} characters",
            f"gpp.{GPP_US_SECTIONS[section_id]}",
        )
    return _usnat(text) if section_id == 7 else _state(section_id, text)
