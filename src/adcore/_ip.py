"""IP address text to numbers: the one parser of the package, with a bounded cache.

:func:`parse` turns an address string into ``(version, value)``: ``(4, n)`` for an IPv4
address and ``(6, n)`` for an IPv6 one, ``n`` its 32- or 128-bit number, or ``None`` if
the string is not an address. It accepts exactly the strings :func:`ipaddress.ip_address`
accepts (as of Python 3.11), with the same numbers, up to :data:`MAX_CHARS`
characters:

- IPv4: four decimal octets ``0`` to ``255`` separated by dots, ASCII digits only, no
  leading zeros (``01.2.3.4`` is refused, as glibc's ``inet_pton`` refuses it), no
  surrounding whitespace;
- IPv6: eight groups of one to four hexadecimal digits (either case) separated by
  colons, or fewer with one ``::`` standing for at least one group of zeros; the last 32
  bits may be written as an IPv4 address (``::ffff:1.2.3.4``); a zone id ``%name``
  (RFC 4007) may follow: any non-empty text without ``%``, accepted and ignored. No
  ``/`` anywhere.

A string longer than :data:`MAX_CHARS` is refused without being read: the longest
address text is 45 characters (six four-digit groups and a dotted quad), so 64 leaves
room for a zone id of up to 18 characters (interface names are at most 15). That bound
is the one place where the answer can differ from :func:`ipaddress.ip_address`, which
takes zone ids of any length.

Parsing a string costs a split, four dictionary lookups (IPv4: the 256 octet spellings
map to their values) or one regular-expression match and one integer conversion (IPv6).
In front of it, :func:`parse` keeps the answers for recent strings in two generations
of at most :data:`GENERATION` entries each: a lookup tries the young one, then the old
one (moving the answer to the young one); when the young generation is full it becomes
the old one and the previous old one is dropped. So the cache holds at most
``2 * GENERATION`` strings of at most :data:`MAX_CHARS` characters whatever the traffic,
a string stays in it at least until ``GENERATION`` other strings have been added after
it, and a stream of distinct strings costs one parse each and evicts in constant time.
Concurrent callers need no lock: each step is one dictionary operation, and a lost
insertion only costs a later parse.

Examples
--------
>>> parse("192.0.2.1")
(4, 3221225985)
>>> parse("2001:DB8::1%eth0") == (6, 0x20010DB8 << 96 | 1)
True
>>> parse("::ffff:192.0.2.1") == (6, 0xFFFF << 32 | 3221225985)
True
>>> parse("192.0.2.01") is None, parse(" 192.0.2.1") is None, parse("1::2::3") is None
(True, True, True)
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["GENERATION", "MAX_CHARS", "cache_info", "mapped_halves", "parse", "parse_uncached"]

MAX_CHARS: Final = 64
"""Longest string read as an address (the longest address text is 45 characters)."""
GENERATION: Final = 2048
"""Strings per cache generation; the cache holds at most twice as many."""

_M64: Final = (1 << 64) - 1
_MAPPED_V4: Final = 0xFFFF << 32  # ::ffff:0:0/96, where IPv4 addresses live in IPv6
_INVALID: Final = (0, 0)  # the cached answer for a string that is not an address

# The 256 ways to write an octet: "0" to "255", no leading zeros, ASCII digits only.
_OCTETS: Final = {str(i): i for i in range(256)}

# Groups of one to four hex digits, at most one "::" (nothing else: no empty group, no
# single leading or trailing colon). The group counts are checked after the match. The
# quantifiers are possessive (no backtracking, about twice as fast): a group is always
# all the hex digits up to the next colon, and ":group" never starts a "::".
_HEXTET = "[0-9a-fA-F]{1,4}+"
_GROUPS = f"(?:{_HEXTET}(?::{_HEXTET})*+)?"
_IPV6: Final = re.compile(f"{_GROUPS}(?:::{_GROUPS})?")

# "%4s" pads a group to four characters with spaces, turned into zeros before int().
_PAD: Final = tuple("%4s" * k for k in range(9))
_ZEROS: Final = tuple("0000" * k for k in range(9))


def _ipv4(text: str) -> int | None:
    parts = text.split(".")
    if len(parts) != 4:
        return None
    octets = _OCTETS
    a = octets.get(parts[0])
    b = octets.get(parts[1])
    c = octets.get(parts[2])
    d = octets.get(parts[3])
    if a is None or b is None or c is None or d is None:
        return None
    return a << 24 | b << 16 | c << 8 | d


def _ipv6(addr: str) -> int | None:
    """The number of IPv6 text without a zone id, or ``None``."""
    low = 0
    if "." in addr:  # the last 32 bits as a dotted quad: parse it, put two zero groups
        cut = addr.rfind(":")
        if cut < 0:
            return None
        v4 = _ipv4(addr[cut + 1 :])
        if v4 is None:
            return None
        low = v4
        addr = addr[: cut + 1] + "0:0"
    if _IPV6.fullmatch(addr) is None:
        return None
    head, double, tail = addr.partition("::")
    if double:
        hi = head.split(":") if head else []
        lo = tail.split(":") if tail else []
        zeros = 8 - len(hi) - len(lo)
        if zeros < 1:  # "::" stands for at least one group
            return None
        digits = _PAD[len(hi)] % tuple(hi) + _ZEROS[zeros] + _PAD[len(lo)] % tuple(lo)
    else:
        groups = head.split(":")
        if len(groups) != 8:
            return None
        digits = _PAD[8] % tuple(groups)
    return int(digits.replace(" ", "0"), 16) | low


def parse_uncached(text: str) -> tuple[int, int] | None:
    """``(version, value)`` of the address ``text``, or ``None``: :func:`parse` without
    the cache.

    Examples
    --------
    >>> parse_uncached("10.0.0.1"), parse_uncached("::1"), parse_uncached("fe80::1%")
    ((4, 167772161), (6, 1), None)
    """
    if len(text) > MAX_CHARS:
        return None
    parts = text.split(".")
    if len(parts) == 4:  # IPv4 first (most traffic): _ipv4, inlined
        octets = _OCTETS
        a = octets.get(parts[0])
        b = octets.get(parts[1])
        c = octets.get(parts[2])
        d = octets.get(parts[3])
        if a is not None and b is not None and c is not None and d is not None:
            return 4, a << 24 | b << 16 | c << 8 | d
    if ":" not in text or "/" in text:
        return None
    addr, percent, zone = text.partition("%")
    if percent and (not zone or "%" in zone):
        return None
    value = _ipv6(addr)
    return None if value is None else (6, value)


_young: dict[str, tuple[int, int]] = {}
_old: dict[str, tuple[int, int]] = {}


def parse(text: str) -> tuple[int, int] | None:
    """``(version, value)`` of the address ``text`` (``version`` 4 or 6), or ``None`` if
    it is not one; cached (see the module docstring).

    Examples
    --------
    >>> parse("203.0.113.7"), parse("203.0.113.7") is parse("203.0.113.7")
    ((4, 3405803783), True)
    >>> parse("203.0.113.256") is None
    True
    """
    hit = _young.get(text)
    if hit is None:
        hit = _old.get(text)
        if hit is None:
            if len(text) > MAX_CHARS:
                return None  # not cached: the cache holds short strings only
            hit = parse_uncached(text) or _INVALID
        young = _young
        if len(young) >= GENERATION:
            young = _next_generation()
        young[text] = hit
    return None if hit is _INVALID else hit


def _next_generation() -> dict[str, tuple[int, int]]:
    """Make the young generation the old one (dropping the old one); a new, empty young
    generation."""
    global _young, _old
    _old = _young
    _young = {}
    return _young


def cache_info() -> tuple[int, int]:
    """``(entries, capacity)``: strings held by the cache of :func:`parse` now, and the
    most it ever holds.

    Examples
    --------
    >>> entries, capacity = cache_info()
    >>> entries <= capacity == 2 * GENERATION
    True
    """
    return len(_young) + len(_old), 2 * GENERATION


def mapped_halves(version: int, value: int) -> tuple[int, int]:
    """An address as two unsigned 64-bit halves ``(hi, lo)`` of one 128-bit space, IPv4
    as IPv4-mapped IPv6 (``a.b.c.d`` is ``::ffff:a.b.c.d``, RFC 4291, 2.5.5.2).

    Examples
    --------
    >>> mapped_halves(4, 0x01020304) == mapped_halves(6, 0xFFFF01020304) == (0, 0xFFFF01020304)
    True
    """
    if version == 4:
        return 0, _MAPPED_V4 | value
    return value >> 64, value & _M64
