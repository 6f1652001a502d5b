"""Coarsening IP addresses before they reach logs and traces."""

from __future__ import annotations

from adcore import _ip
from adcore.errors import InvalidInput

__all__ = ["truncate_ip"]

_KEEP_V4 = 0xFFFFFF00  # the /24
_KEEP_V6_GROUPS = 0xFFFFFFFFFFFFFF00  # the /56: the first four groups, the last byte cleared


def truncate_ip(ip: str) -> str:
    """Coarsen an IP address for logs and traces: IPv4 to its /24, IPv6 to its /56.

    The address is read by the package's IP parser (what :func:`ipaddress.ip_address`
    accepts, after stripping surrounding whitespace, up to 64 characters); the result is
    written as :mod:`ipaddress` writes it (RFC 5952 for IPv6).

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
    if not isinstance(ip, str):
        raise InvalidInput(f"not an IP address: {ip!r}", "ip")
    parsed = _ip.parse(ip.strip())
    if parsed is None:
        raise InvalidInput(f"not an IP address: {ip[:80]!r}", "ip")
    version, value = parsed
    if version == 4:
        value &= _KEEP_V4
        return f"{value >> 24}.{value >> 16 & 0xFF}.{value >> 8 & 0xFF}.0"
    top = value >> 64 & _KEEP_V6_GROUPS
    # The last four groups are zero and no other run of zero groups is as long, so the
    # compressed form is the first groups up to the last non-zero one, then "::".
    groups = [top >> 48, top >> 32 & 0xFFFF, top >> 16 & 0xFFFF, top & 0xFFFF]
    while groups and not groups[-1]:
        groups.pop()
    return ":".join(f"{g:x}" for g in groups) + "::"
