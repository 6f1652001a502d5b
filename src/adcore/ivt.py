"""Invalid-traffic detection building blocks: data-center addresses and click validation.

Two checks for the fraud agent, usable on their own:

- **General invalid traffic** (:class:`IpRanges`): is a request's IP address in a known
  data-center or cloud block? Addresses of both families live in one 128-bit space, IPv4
  as IPv4-mapped IPv6 (``1.2.3.4`` is ``::ffff:1.2.3.4``); the blocks are merged into
  sorted, disjoint ranges and looked up by binary search in a Numba kernel
  (:mod:`adcore._kernels.ipranges`).
- **Sophisticated invalid traffic** (:class:`ClickValidator`): a click without an
  impression, a click faster than a human could make it, and a source (publisher, app,
  device) whose click-through rate over a window is abnormally high. Counts live in a
  fixed-size hashed table (:mod:`adcore._kernels.counters`), so memory does not grow with
  the number of sources.

Bad arguments raise :class:`adcore.errors.InvalidInput` naming the argument; to look up
an address taken from a request without raising, use :func:`try_parse_ip` and
:meth:`IpRanges.contains_parsed`. Address text is read by the package's one parser
(:mod:`adcore._ip`: the acceptance of :func:`ipaddress.ip_address`, two to five times
faster, behind a bounded cache); :mod:`ipaddress` itself only reads configured CIDR
blocks, once.

Examples
--------
>>> from adcore.ivt import ClickValidator, IpRanges
>>> ranges = IpRanges.from_cidrs(["203.0.113.0/25", "203.0.113.128/25", "2001:db8::/32"])
>>> len(ranges), ranges.contains("203.0.113.200"), ranges.contains("2001:db9::1")
(2, True, False)
>>> clicks = ClickValidator(min_seconds=1.0)
>>> clicks.check_click(7, shown_at=100.0, now=100.2)
(False, 'click_too_fast')
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _ip
from ._kernels.counters import counter_add as _counter_add
from ._kernels.counters import counter_get as _counter_get
from ._kernels.ipranges import ip_in_ranges as _ip_in_ranges
from ._kernels.ipranges import ips_in_ranges as _ips_in_ranges
from .errors import InvalidInput

__all__ = [
    "ABNORMAL_CTR",
    "CLICK_TOO_FAST",
    "CLICK_WITHOUT_IMPRESSION",
    "ClickValidator",
    "IpRanges",
    "parse_ip",
    "try_parse_ip",
]

_M64 = (1 << 64) - 1
_MAPPED_V4 = 0xFFFF << 32  # ::ffff:0:0/96, where IPv4 addresses live in the IPv6 space

# ----------------------------------------------------------------------------- addresses


def try_parse_ip(ip: object) -> tuple[int, int] | None:
    """The address ``ip`` as ``(hi, lo)`` 64-bit halves, or ``None`` if it is not one.

    Never raises: for addresses taken from requests, where a malformed value must not
    stop the decision. See :func:`parse_ip`.

    Examples
    --------
    >>> try_parse_ip("1.2.3.4") == try_parse_ip("::ffff:1.2.3.4")
    True
    >>> try_parse_ip("1.2.3") is None, try_parse_ip(None) is None
    (True, True)
    """
    if not isinstance(ip, str):
        return None
    parsed = _ip.parse(ip)
    if parsed is None:
        return None
    return _ip.mapped_halves(*parsed)


def parse_ip(ip: str) -> tuple[int, int]:
    """An IPv4 or IPv6 address as two unsigned 64-bit halves ``(hi, lo)`` of its 128-bit
    number, IPv4 ``a.b.c.d`` mapped to ``::ffff:a.b.c.d``.

    Accepts exactly what :func:`ipaddress.ip_address` accepts (no surrounding
    whitespace, no leading zeros in IPv4 octets; an IPv6 zone id ``%eth0`` is accepted
    and ignored), up to 64 characters: a longer string is refused unread (the longest
    address text is 45 characters). Answers for recent strings are cached, at most
    4,096 of them.

    Raises
    ------
    InvalidInput
        ``field="ip"``: ``ip`` is not a string holding an address.

    Examples
    --------
    >>> parse_ip("1.2.3.4")
    (0, 281470698652420)
    >>> parse_ip("2001:db8::1") == (0x20010DB8 << 32, 1)
    True
    """
    if not isinstance(ip, str):
        raise InvalidInput(f"ip must be a string, got {type(ip).__name__}", "ip")
    parsed = try_parse_ip(ip)
    if parsed is None:
        raise InvalidInput(f"not an IPv4 or IPv6 address: {ip[:80]!r}", "ip")
    return parsed


def _block(cidr: object, field: str) -> tuple[int, int]:
    """The first and last address of a CIDR block, in the 128-bit space."""
    if not isinstance(cidr, str):
        raise InvalidInput(f"{field} must be a string, got {type(cidr).__name__}", field)
    try:
        net = ipaddress.ip_network(cidr.strip(), strict=True)
    except ValueError as exc:
        raise InvalidInput(f"{field}: {exc}", field) from None
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.version == 4:
        return first | _MAPPED_V4, last | _MAPPED_V4
    return first, last


def _halves(values: list[int]) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    hi = np.array([v >> 64 for v in values], dtype=np.uint64)
    lo = np.array([v & _M64 for v in values], dtype=np.uint64)
    hi.flags.writeable = False
    lo.flags.writeable = False
    return hi, lo


class IpRanges:
    """A set of IP address blocks (IPv4 and IPv6), merged for fast membership tests.

    Build one with :meth:`from_cidrs`, :meth:`from_file` or :meth:`default`. Blocks are
    parsed with :func:`ipaddress.ip_network` (strict: no host bits set; a bare address is
    a one-address block), placed in one 128-bit space (IPv4 as IPv4-mapped IPv6, so
    ``1.2.3.0/24`` is ``::ffff:1.2.3.0/120`` and matches ``::ffff:1.2.3.4`` too), sorted,
    and overlapping or adjacent blocks merged. A lookup is a binary search over the merged
    ranges (kernel :func:`adcore._kernels.ipranges.ip_in_ranges`).

    One consequence of the shared space: an IPv6 block that covers ``::ffff:0:0/96``
    (``::/0``, ``::/64``, ...) contains every IPv4 address, as RFC 4291 says it should.

    Parameters
    ----------
    cidrs : iterable of str
        The blocks.

    Examples
    --------
    >>> r = IpRanges(["10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25"])
    >>> len(r), "10.0.1.255" in r, "10.0.2.0" in r
    (1, True, False)
    >>> r.contains_many(["10.0.0.1", "::ffff:10.0.0.1", "::1"]).tolist()
    [True, True, False]
    """

    def __init__(self, cidrs: Iterable[str] = ()) -> None:
        if isinstance(cidrs, str):
            raise InvalidInput("cidrs must be an iterable of CIDR strings, not a string", "cidrs")
        self.cidrs: tuple[str, ...] = tuple(cidrs)
        blocks = sorted(_block(c, f"cidrs[{i}]") for i, c in enumerate(self.cidrs))
        starts: list[int] = []
        ends: list[int] = []
        for first, last in blocks:
            if ends and first <= ends[-1] + 1:  # overlapping or adjacent: extend
                ends[-1] = max(ends[-1], last)
            else:
                starts.append(first)
                ends.append(last)
        self._starts_hi, self._starts_lo = _halves(starts)
        self._ends_hi, self._ends_lo = _halves(ends)
        self._n = len(starts)

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> IpRanges:
        """The set of the blocks ``cidrs`` (e.g. ``["3.80.0.0/12", "2600:1f18::/33"]``)."""
        return cls(cidrs)

    @classmethod
    def from_file(cls, path: str | Path) -> IpRanges:
        """The blocks listed in a text file: one CIDR a line; ``#`` starts a comment;
        blank lines are skipped (the format of ``adcore/data/datacenter_cidrs.txt``)."""
        return cls._from_text(Path(path).read_text(encoding="utf-8"), str(path))

    @classmethod
    def default(cls) -> IpRanges:
        """A small built-in list of public cloud and hosting blocks (AWS, Google Cloud,
        DigitalOcean, Linode, Oracle Cloud; see the header of
        ``adcore/data/datacenter_cidrs.txt`` for the sources). Read on first call, then
        shared: the returned object is immutable."""
        return _default_ranges()

    @classmethod
    def _from_text(cls, text: str, source: str) -> IpRanges:
        cidrs = []
        for number, line in enumerate(text.splitlines(), start=1):
            cidr = line.split("#", 1)[0].strip()
            if cidr:
                try:
                    _block(cidr, "cidr")
                except InvalidInput as exc:
                    raise InvalidInput(f"{source}, line {number}: {exc}", "cidrs") from None
                cidrs.append(cidr)
        return cls(cidrs)

    def __len__(self) -> int:
        """The number of disjoint ranges after merging."""
        return self._n

    def __repr__(self) -> str:
        return f"IpRanges({len(self.cidrs)} blocks, {self._n} ranges)"

    def __contains__(self, ip: object) -> bool:
        parsed = try_parse_ip(ip)
        return parsed is not None and self.contains_parsed(parsed)

    def arrays(
        self,
    ) -> tuple[NDArray[np.uint64], NDArray[np.uint64], NDArray[np.uint64], NDArray[np.uint64], int]:
        """``(starts_hi, starts_lo, ends_hi, ends_lo, n)``: the arguments the kernels take
        (read-only arrays), for callers that run the lookup inside their own kernel."""
        return self._starts_hi, self._starts_lo, self._ends_hi, self._ends_lo, self._n

    def contains(self, ip: str) -> bool:
        """Whether the address ``ip`` (IPv4 or IPv6 text) lies in one of the blocks.

        Raises
        ------
        InvalidInput
            ``field="ip"``: not an address (see :func:`parse_ip`).
        """
        return self.contains_parsed(parse_ip(ip))

    def contains_parsed(self, address: tuple[int, int]) -> bool:
        """:meth:`contains` for an address already parsed by :func:`parse_ip` or
        :func:`try_parse_ip`."""
        hi, lo = address
        return bool(
            _ip_in_ranges(
                self._starts_hi,
                self._starts_lo,
                self._ends_hi,
                self._ends_lo,
                self._n,
                np.uint64(hi),
                np.uint64(lo),
            )
        )

    def contains_many(self, ips: Iterable[str]) -> NDArray[np.bool_]:
        """Whether each address lies in one of the blocks, as a boolean array.

        Raises
        ------
        InvalidInput
            ``field="ips[k]"``: the ``k``-th element is not an address.
        """
        if isinstance(ips, str):
            raise InvalidInput("ips must be an iterable of address strings, not a string", "ips")
        his: list[int] = []
        los: list[int] = []
        for k, ip in enumerate(ips):
            parsed = try_parse_ip(ip)
            if parsed is None:
                raise InvalidInput(f"ips[{k}] is not an IPv4 or IPv6 address: {ip!r}", f"ips[{k}]")
            his.append(parsed[0])
            los.append(parsed[1])
        out = np.zeros(len(his), dtype=np.bool_)
        _ips_in_ranges(
            self._starts_hi,
            self._starts_lo,
            self._ends_hi,
            self._ends_lo,
            self._n,
            np.array(his, dtype=np.uint64),
            np.array(los, dtype=np.uint64),
            out,
        )
        return out


@functools.lru_cache(maxsize=1)
def _default_ranges() -> IpRanges:
    text = resources.files("adcore").joinpath("data/datacenter_cidrs.txt").read_text("utf-8")
    return IpRanges._from_text(text, "datacenter_cidrs.txt")


# ----------------------------------------------------------------------------- clicks

CLICK_WITHOUT_IMPRESSION = "click_without_impression"
"""Reason: a click with no impression it could follow (``shown_at is None``)."""
CLICK_TOO_FAST = "click_too_fast"
"""Reason: a click less than ``min_seconds`` after its impression (or before it)."""
ABNORMAL_CTR = "abnormal_ctr"
"""Reason: the source's clicks exceed ``max_ctr`` times its impressions in its window."""

_CLICK = 1 << 32  # a click adds to the high half of a source's count, an impression to the low
_LOW32 = (1 << 32) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix64(x: int) -> int:
    """splitmix64 (the finaliser of :func:`adcore._kernels.bits.splitmix64`) on ints."""
    z = (x + _GOLDEN) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInput(f"{name} must be a number, got {type(value).__name__}", name)
    x = float(value)
    if not math.isfinite(x):
        raise InvalidInput(f"{name} must be finite, got {x}", name)
    return x


class ClickValidator:
    """Click validation in bounded memory: three rules for sophisticated invalid traffic.

    A click is invalid, with the first reason that applies, when

    1. ``"click_without_impression"``: no impression was recorded for it
       (``shown_at is None``);
    2. ``"click_too_fast"``: it came less than ``min_seconds`` after its impression;
    3. ``"abnormal_ctr"``: its source (a hashed publisher, app or device id) has, in its
       current window, at least ``min_impressions`` impressions and more than ``max_ctr``
       clicks per impression (this click included).

    Every click counts toward its source's click-through, valid or not. A source's
    window starts at its first impression or click and lasts ``ctr_window`` seconds;
    then its counts start again from zero.

    Memory is one table of ``slots`` slots (24 bytes each) whatever the number of
    sources: the hashed counters of :mod:`adcore._kernels.counters`, with a source's
    impressions and clicks packed into one slot (impressions in the low 32 bits of the
    count, clicks above), so they share one window and are evicted together. Hence the
    bound: a source's counts are the *exact* numbers of its impressions and clicks from
    one of its events, less than ``ctr_window`` seconds ago, to now (from the start of
    its window; after an eviction, from its first event after it). So they never exceed
    its true counts over the last ``ctr_window`` seconds, and an ``"abnormal_ctr"``
    verdict always describes real traffic: the source did make more than ``max_ctr``
    clicks per impression over such a stretch, with at least ``min_impressions``
    impressions. With many more slots than active sources, counts equal exact per-window
    counts. Two sources share counts only if their salted 64-bit hashes agree in all but
    the lowest bit (probability about ``n**2 / 2**64`` for ``n`` sources). A source may
    have at most 2**32 - 1 impressions in one window.

    Parameters
    ----------
    min_seconds : float
        Shortest plausible time from impression to click.
    ctr_window : float
        Length of a source's counting window, in seconds (``inf``: never restarts).
    max_ctr : float
        Highest plausible clicks per impression of a source.
    min_impressions : int
        Impressions a source needs in its window before its click-through is judged.
    slots : int
        Size of the counting table.
    seed : int or None
        Salts the hash of source keys, so that which sources share probe sequences is
        not predictable from their keys; use a secret seed in production. ``None`` draws
        a fresh salt.

    Examples
    --------
    >>> v = ClickValidator(min_impressions=10, max_ctr=0.2)
    >>> v.check_click(1, shown_at=None, now=0.0)
    (False, 'click_without_impression')
    >>> for t in range(10):
    ...     v.record_impression(2, now=float(t))
    >>> v.check_click(2, shown_at=5.0, now=12.0), v.check_click(2, shown_at=6.0, now=13.0)
    ((True, ''), (True, ''))
    >>> v.check_click(2, shown_at=7.0, now=14.0)  # 3 clicks for 10 impressions
    (False, 'abnormal_ctr')
    >>> v.source_counts(2, now=14.0)
    (10, 3)
    """

    def __init__(
        self,
        *,
        min_seconds: float = 1.0,
        ctr_window: float = 3600.0,
        max_ctr: float = 0.2,
        min_impressions: int = 50,
        slots: int = 1 << 16,
        seed: int | None = 0,
    ) -> None:
        self.min_seconds = _finite(min_seconds, "min_seconds")
        if self.min_seconds < 0:
            raise InvalidInput("min_seconds must be >= 0", "min_seconds")
        if isinstance(ctr_window, bool) or not isinstance(ctr_window, (int, float)):
            raise InvalidInput("ctr_window must be a number", "ctr_window")
        if not ctr_window > 0:  # also rejects NaN
            raise InvalidInput(f"ctr_window must be > 0, got {ctr_window}", "ctr_window")
        self.ctr_window = float(ctr_window)
        self.max_ctr = _finite(max_ctr, "max_ctr")
        if self.max_ctr < 0:
            raise InvalidInput("max_ctr must be >= 0", "max_ctr")
        if isinstance(min_impressions, bool) or not isinstance(min_impressions, int):
            raise InvalidInput("min_impressions must be an int", "min_impressions")
        if not 1 <= min_impressions <= _LOW32:
            raise InvalidInput("min_impressions must be in [1, 2**32 - 1]", "min_impressions")
        self.min_impressions = min_impressions
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise InvalidInput(f"slots must be a positive int, got {slots!r}", "slots")
        self.slots = slots
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidInput("seed must be an int or None", "seed")
        self.seed = seed
        self._salt = int(np.random.default_rng(seed).integers(0, 2**64, dtype=np.uint64))
        self._keys = np.zeros(slots, dtype=np.uint64)
        self._starts = np.zeros(slots, dtype=np.float64)
        self._counts = np.zeros(slots, dtype=np.int64)

    def __repr__(self) -> str:
        return (
            f"ClickValidator(min_seconds={self.min_seconds}, ctr_window={self.ctr_window}, "
            f"max_ctr={self.max_ctr}, min_impressions={self.min_impressions}, "
            f"slots={self.slots}, seed={self.seed})"
        )

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the counting table: ``24 * slots``, fixed at construction."""
        return int(self._keys.nbytes + self._starts.nbytes + self._counts.nbytes)

    def _key(self, source_key: int) -> np.uint64:
        if isinstance(source_key, bool) or not isinstance(source_key, (int, np.integer)):
            raise InvalidInput(
                f"source_key must be an int, got {type(source_key).__name__}", "source_key"
            )
        k = int(source_key)
        if not 0 <= k <= _M64:
            raise InvalidInput("source_key must be in [0, 2**64)", "source_key")
        return np.uint64(_mix64(k ^ self._salt) | 1)  # key 0 marks an empty slot

    def _add(self, source_key: int, now: float, amount: int) -> int:
        key = self._key(source_key)
        t = _finite(now, "now")
        return int(
            _counter_add(
                self._keys, self._starts, self._counts, key, t, self.ctr_window, np.int64(amount)
            )
        )

    def record_impression(self, source_key: int, now: float) -> None:
        """Count an impression of ``source_key`` at time ``now`` (seconds)."""
        self._add(source_key, now, 1)

    def check_click(self, source_key: int, shown_at: float | None, now: float) -> tuple[bool, str]:
        """Count a click of ``source_key`` at ``now`` and judge it.

        Parameters
        ----------
        source_key : int
            The source's key, in ``[0, 2**64)`` (e.g. a stable hash of the publisher id).
        shown_at : float or None
            When the impression clicked was shown; ``None`` if none is known.
        now : float
            When the click happened.

        Returns
        -------
        (valid, reason)
            ``(True, "")``, or ``(False, reason)`` with the first rule that failed.
        """
        shown = None if shown_at is None else _finite(shown_at, "shown_at")
        count = self._add(source_key, now, _CLICK)
        if shown is None:
            return False, CLICK_WITHOUT_IMPRESSION
        if float(now) - shown < self.min_seconds:
            return False, CLICK_TOO_FAST
        impressions, clicks = count & _LOW32, count >> 32
        if impressions >= self.min_impressions and clicks > self.max_ctr * impressions:
            return False, ABNORMAL_CTR
        return True, ""

    def source_counts(self, source_key: int, now: float) -> tuple[int, int]:
        """``(impressions, clicks)`` of ``source_key`` in its window at time ``now``
        (``(0, 0)`` once the window has ended or the source was evicted)."""
        key = self._key(source_key)
        t = _finite(now, "now")
        count = int(_counter_get(self._keys, self._starts, self._counts, key, t, self.ctr_window))
        return count & _LOW32, count >> 32
