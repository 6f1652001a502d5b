"""Coarsening IP addresses before they reach logs and traces."""

from __future__ import annotations

import ipaddress

from adcore.errors import InvalidInput

__all__ = ["truncate_ip"]


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
