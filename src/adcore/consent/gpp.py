"""Global Privacy Platform strings: the header, and every US section decoded.

A GPP string is ``header~section~section...`` [1]_. The header is Type (6 bits, 3),
Version (6 bits, 1: the only version the specification defines) and the section ids as
a Range(Fibonacci). The US sections (US National, 7, and the states, 8 to 27) are decoded
by :mod:`adcore.consent.states`; the others (TCF EU, 2; TCF Canada, 5; US Privacy, 6;
ids this decoder does not know) are kept as text, to be decoded by the caller that
needs them (:func:`~adcore.consent.activities` decodes 2 and 6 when they apply).

References
----------
.. [1] IAB Tech Lab, "Global Privacy Platform String" v1.0, Core/Consent String
   Specification.md, https://github.com/InteractiveAdvertisingBureau/Global-Privacy-Platform
"""

from __future__ import annotations

import functools
from typing import Final

import msgspec

from ._bits import MAX_LENGTH, InvalidConsent, _Bits, add_work, split
from .states import GPP_US_SECTIONS, USNational, USState, decode_us_section

__all__ = [
    "GPP_SID_TCF_EU",
    "GPP_SID_USNAT",
    "GPP_SID_USP",
    "GPPString",
    "decode_gpp",
]

#: GPP section ids of the signals :func:`~adcore.consent.activities` reads besides the
#: US ones.
GPP_SID_TCF_EU: Final = 2
GPP_SID_USP: Final = 6
GPP_SID_USNAT: Final = 7

_HEADER_TYPE: Final = 3
_VERSION: Final = 1
#: A GPP string may carry at most this many sections (the specification defines 27);
#: one with more is refused before its header is read.
MAX_SECTIONS: Final = 256
#: Strings up to this length are cached (4096 entries); longer ones are decoded each time.
_CACHED_LENGTH: Final = 4096
_CACHE_SIZE: Final = 4096


class GPPString(msgspec.Struct, frozen=True, kw_only=True):
    """A GPP string: header version, section ids in order, raw sections, decoded US ones.

    ``sections[i]`` is the raw text of section ``section_ids[i]``; ``usnat`` is the
    decoded US National section when the string has one, ``states`` the decoded US state
    sections in the string's order.
    """

    version: int
    section_ids: tuple[int, ...]
    sections: tuple[str, ...]
    usnat: USNational | None = None
    states: tuple[USState, ...] = ()

    def section(self, section_id: int) -> str | None:
        """The raw text of section ``section_id``, or None when absent."""
        for sid, text in zip(self.section_ids, self.sections, strict=True):
            if sid == section_id:
                return text
        return None

    def state(self, section_id: int) -> USState | None:
        """The decoded US state section ``section_id`` (8 to 27), or None when absent."""
        for s in self.states:
            if s.section_id == section_id:
                return s
        return None


def _header(text: str, n_sections: int) -> tuple[int, tuple[int, ...]]:
    bits = _Bits(text, "gpp.header")
    kind = bits.read(6, "type")
    if kind != _HEADER_TYPE:
        raise InvalidConsent(f"GPP header type {kind}, expected 3", "gpp.header")
    version = bits.read(6, "version")
    if version != _VERSION:
        raise InvalidConsent(
            f"GPP version {version}; the specification defines version 1", "gpp.header.version"
        )
    ids: list[int] = []
    last = 0
    # Each range lists at least one section and the check below stops at the first range
    # past the string's sections: at most n_sections + 1 ranges are read.
    for _ in range(bits.read(12, "section_ids")):
        is_range = bits.flag("section_ids")
        start = last + bits.fibonacci("section_ids")
        end = start + bits.fibonacci("section_ids") if is_range else start
        # Check before expanding: a range cannot list more ids than there are sections.
        if len(ids) + end - start + 1 > n_sections:
            raise InvalidConsent(
                f"the header lists more than the {n_sections} sections the string has",
                "gpp.sections",
            )
        ids.extend(range(start, end + 1))
        last = end
    add_work(len(ids))
    return version, tuple(ids)


def decode_gpp(s: str) -> GPPString:
    """Decode a GPP string: its header, raw sections, and every US section.

    Parameters
    ----------
    s : str
        ``header~section~section...``. The header's section ids (a Fibonacci-coded range)
        must match the number of sections that follow.

    Returns
    -------
    GPPString
        US National (7) and the US state sections (8 to 27) decoded; the other sections
        kept as raw text.

    Raises
    ------
    InvalidConsent
        ``field`` ``"gpp"`` (empty, too long), ``"gpp.header..."`` (not base64url, type
        not 3, truncated; ``"gpp.header.version"``: a version other than 1),
        ``"gpp.sections"`` (count differs from the header, or more than
        :data:`MAX_SECTIONS`) or ``"gpp.<prefix>..."`` (a
        US section is malformed: ``"gpp.usnat..."``, ``"gpp.usia..."``).

    Notes
    -----
    Work is linear in the length of ``s`` (at most 8 units a character, see
    :func:`~adcore.consent.decoding_work`). Strings up to 4096 characters are cached
    (4096 entries).

    Examples
    --------
    >>> g = decode_gpp("DBABLA~BVVVkkkklWA.YA")
    >>> g.section_ids, g.usnat.sale_opt_out, g.usnat.targeted_advertising_opt_out, g.usnat.gpc
    ((7,), 1, 1, True)
    >>> decode_gpp("DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN").section(6)
    '1YNN'
    """
    if not isinstance(s, str) or not s or len(s) > MAX_LENGTH:
        raise InvalidConsent(
            f"a GPP string must be a non-empty str of at most {MAX_LENGTH} characters", "gpp"
        )
    if len(s) <= _CACHED_LENGTH:
        return _decode_cached(s)
    return _decode(s)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _decode_cached(s: str) -> GPPString:
    return _decode(s)


def _decode(s: str) -> GPPString:
    header, *sections = split(s, "~")
    if len(sections) > MAX_SECTIONS:
        raise InvalidConsent(
            f"{len(sections)} sections, more than the {MAX_SECTIONS} accepted", "gpp.sections"
        )
    version, ids = _header(header, len(sections))
    if len(ids) != len(sections):
        raise InvalidConsent(
            f"the header lists {len(ids)} sections, the string has {len(sections)}",
            "gpp.sections",
        )
    usnat: USNational | None = None
    states: list[USState] = []
    for sid, text in zip(ids, sections, strict=True):
        if sid in GPP_US_SECTIONS:
            decoded = decode_us_section(sid, text)
            if isinstance(decoded, USNational):
                usnat = decoded
            else:
                states.append(decoded)
    return GPPString(
        version=version,
        section_ids=ids,
        sections=tuple(sections),
        usnat=usnat,
        states=tuple(states),
    )
