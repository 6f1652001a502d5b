"""Membership of IP addresses in a set of address ranges (CIDR blocks), by binary search.

Addresses are 128-bit numbers: an IPv6 address as is, an IPv4 address ``a.b.c.d`` as its
IPv4-mapped IPv6 address ``::ffff:a.b.c.d`` (RFC 4291, section 2.5.5.2), so one table
holds both families. Each number is passed as two ``uint64`` halves, ``hi`` (the first 64
bits) and ``lo`` (the last 64), compared lexicographically.

A set of ranges is four ``uint64`` arrays ``starts_hi, starts_lo, ends_hi, ends_lo``, of
which the first ``n`` entries are used: closed intervals ``[start, end]`` (``end`` is the
last address of the range, so ``::/0`` is representable), sorted by start and pairwise
disjoint (the Python side, :class:`adcore.ivt.IpRanges`, merges overlapping and adjacent
blocks before filling them).
"""

from ._jit import kernel


@kernel
def ip_in_ranges(starts_hi, starts_lo, ends_hi, ends_lo, n, ip_hi, ip_lo):
    """Whether the address ``(ip_hi, ip_lo)`` lies in one of the ``n`` ranges.

    Binary search for the last range whose start is at most the address (``O(log n)``
    comparisons of 128-bit numbers), then a comparison with that range's end. The ranges
    must be sorted by start and disjoint (see the module docstring); with ``n == 0`` the
    answer is ``False``.

    Parameters
    ----------
    starts_hi, starts_lo, ends_hi, ends_lo : uint64 arrays, length >= n
        First and last address of each range, as (high, low) 64-bit halves.
    n : int
        Number of ranges in use.
    ip_hi, ip_lo : uint64
        The address, as (high, low) halves.

    Returns
    -------
    bool
        ``start[i] <= ip <= end[i]`` for some ``i < n``.
    """
    lo = 0
    hi = n
    while lo < hi:  # invariant: starts[:lo] <= ip < starts[hi:]
        mid = (lo + hi) >> 1
        s_hi = starts_hi[mid]
        if s_hi < ip_hi or (s_hi == ip_hi and starts_lo[mid] <= ip_lo):
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return False
    e_hi = ends_hi[lo - 1]
    return ip_hi < e_hi or (ip_hi == e_hi and ip_lo <= ends_lo[lo - 1])


@kernel
def ips_in_ranges(starts_hi, starts_lo, ends_hi, ends_lo, n, ips_hi, ips_lo, out):
    """``out[k] = ip_in_ranges(..., ips_hi[k], ips_lo[k])`` for every ``k``.

    Parameters
    ----------
    starts_hi, starts_lo, ends_hi, ends_lo, n
        The ranges, as for :func:`ip_in_ranges`.
    ips_hi, ips_lo : uint64 arrays, shape (m,)
        The addresses.
    out : bool array, shape (m,)
        Receives whether each address lies in a range.
    """
    for k in range(ips_hi.shape[0]):
        out[k] = ip_in_ranges(starts_hi, starts_lo, ends_hi, ends_lo, n, ips_hi[k], ips_lo[k])
