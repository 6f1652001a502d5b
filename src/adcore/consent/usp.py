"""US Privacy (CCPA) strings: four characters such as ``"1YNN"``.

Version ``1``, then explicit notice given, opted out of sale, covered by the Limited
Service Provider Agreement, each ``Y``, ``N`` or ``-`` (not applicable), upper case
only [1]_. The empty string means "not specified": it is no US Privacy string, and
:func:`~adcore.consent.activities` reads it as absent wherever it comes from
(``regs.us_privacy`` or the US Privacy section of a GPP string).

References
----------
.. [1] IAB Tech Lab, "U.S. Privacy String" v1.0,
   https://github.com/InteractiveAdvertisingBureau/USPrivacy
"""

from __future__ import annotations

import functools
from typing import Final

import msgspec

from ._bits import InvalidConsent, add_work

__all__ = ["USPrivacy", "decode_usp"]

_VALUES: Final = frozenset("YN-")
_NAMES: Final = ("notice", "opt_out_sale", "lspa")


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
    """Decode a US Privacy string, strictly as the IAB specification writes it.

    Parameters
    ----------
    s : str
        Four characters: ``1`` then three of ``Y``, ``N``, ``-`` (upper case only).

    Returns
    -------
    USPrivacy

    Raises
    ------
    InvalidConsent
        Not four characters (``field`` ``"usp"``; the empty string, which means "not
        specified", included), a version other than ``1`` (``"usp.version"``) or another
        character, lower case included (``"usp.notice"``, ``"usp.opt_out_sale"``,
        ``"usp.lspa"``).

    Examples
    --------
    >>> decode_usp("1YNN")
    USPrivacy(version=1, notice='Y', opt_out_sale='N', lspa='N')
    >>> decode_usp("1---").opt_out
    False
    >>> try:
    ...     decode_usp("1y--")
    ... except InvalidConsent as exc:
    ...     print(exc.field, "|", exc)
    usp.notice | notice: 'y' is not Y, N or -
    """
    if not isinstance(s, str) or len(s) != 4:
        raise InvalidConsent("a US Privacy string has four characters", "usp")
    return _decode(s)


@functools.lru_cache(maxsize=256)
def _decode(s: str) -> USPrivacy:
    add_work(len(s))
    if s[0] != "1":
        raise InvalidConsent(f"US Privacy version {s[0]!r}, expected '1'", "usp.version")
    for char, name in zip(s[1:], _NAMES, strict=True):
        if char not in _VALUES:
            raise InvalidConsent(f"{name}: {char!r} is not Y, N or -", f"usp.{name}")
    return USPrivacy(version=1, notice=s[1], opt_out_sale=s[2], lspa=s[3])
