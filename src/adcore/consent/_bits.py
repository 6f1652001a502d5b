"""Reading consent strings bit by bit, in time linear in their length, and counting the work.

Every IAB consent format (TCF v2 segments, GPP headers and sections) is a big-endian bit
stream written 6 bits a character in the base64url alphabet. :class:`_Bits` turns a
segment into a text of ``"0"``/``"1"`` characters (``str.translate``, linear, as far as
the fields read need) and reads fields as slices of it, so reading a field of ``w`` bits
costs ``O(w)`` and a whole segment costs ``O(n)``. (Holding the segment as one big
integer and shifting it for every field, as an earlier version did, costs ``O(n)`` per
field and ``O(n^2)`` per string: 2.4 s for a 65 KB GPP string.)

The decoders count their work in the calling thread: one unit per input character
scanned, per bit read, per section id listed and per vendor id position of a vendor set
built from ranges. :func:`decoding_work` reads the count; tests use it to check that
decoding is linear without timing anything.
"""

from __future__ import annotations

import re
import threading
from typing import Final

from adcore.errors import AdcoreError

#: The longest consent string decoded; longer ones are refused (``field`` ``"tcf"``,
#: ``"usp"`` or ``"gpp"``) before any work. Real strings stay far below.
MAX_LENGTH: Final = 65536

_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_BITS: Final = str.maketrans({c: format(i, "06b") for i, c in enumerate(_ALPHABET)})
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]+")
# Characters of a segment turned into bits up front; more are translated on demand.
_FIRST_CHARS: Final = 64
# Fibonacci-coded integers longer than this (values above 121,392) are refused: GPP uses
# them for section-id offsets and counts, which are small.
_MAX_FIBONACCI_BITS: Final = 25
_FIBONACCI: Final = (1, 2)


class InvalidConsent(AdcoreError, ValueError):
    """A consent string that cannot be decoded.

    Attributes
    ----------
    field : str or None
        The part that failed, as a path: ``"tcf.version"``, ``"tcf.vendor_consents"``,
        ``"tcf.disclosed_vendors"``, ``"usp.opt_out_sale"``, ``"gpp.header.version"``,
        ``"gpp.usnat"``, ``"gpp.usia.sale_opt_out"``...
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class _Work(threading.local):
    units = 0


_WORK: Final = _Work()


def decoding_work() -> int:
    """The work units the consent decoders have spent in the calling thread so far.

    One unit per input character scanned, per bit read, per GPP section id listed and
    per vendor id position of a vendor set built from ranges. A decode served from the
    cache adds nothing. The count only grows; take differences.

    Returns
    -------
    int
        The running total for this thread.

    Examples
    --------
    >>> from adcore.consent import decode_gpp
    >>> s = "DBABLA~BVVqAAEABCA.Q" + "A" * 5000  # over 4096 characters: never cached
    >>> before = decoding_work()
    >>> _ = decode_gpp(s)
    >>> 0 < decoding_work() - before <= 8 * len(s)
    True
    """
    return _WORK.units


def add_work(units: int) -> None:
    """Add ``units`` to the calling thread's :func:`decoding_work` count."""
    _WORK.units += units


def _fibonacci_numbers(n: int) -> tuple[int, ...]:
    out = list(_FIBONACCI)
    while len(out) < n:
        out.append(out[-1] + out[-2])
    return tuple(out)


_FIB: Final = _fibonacci_numbers(_MAX_FIBONACCI_BITS)
_PAIRS: Final = {"00": 0, "01": 1, "10": 2, "11": 3}


class _Bits:
    """A big-endian bit reader over one base64url segment (6 bits a character).

    The segment is validated whole, but turned into bits only as far as the fields read
    need (doubling the translated prefix each time): a long tail nobody reads, such as
    a subsection of which only the first bits matter, is never expanded.
    """

    __slots__ = ("bits", "pos", "prefix", "size", "source")

    def __init__(self, text: str, prefix: str) -> None:
        self.prefix = prefix
        add_work(len(text))
        if not text or _B64URL.fullmatch(text) is None:
            raise InvalidConsent(f"not base64url: {text[:40]!r}", prefix)
        self.source = text
        self.size = 6 * len(text)
        self.bits = text[:_FIRST_CHARS].translate(_TO_BITS)
        self.pos = 0

    def ensure(self, end: int) -> None:
        """Translate the segment at least up to bit ``end`` (capped at its size)."""
        if end > len(self.bits):
            have = len(self.bits) // 6
            want = max(-(-end // 6), 2 * have)
            self.bits += self.source[have:want].translate(_TO_BITS)

    def fail(self, field: str, message: str) -> InvalidConsent:
        return InvalidConsent(f"{field}: {message}", f"{self.prefix}.{field}")

    def read(self, width: int, field: str) -> int:
        """The next ``width`` bits as an unsigned integer."""
        return int(self.text(width, field), 2) if width else 0

    def flag(self, field: str) -> bool:
        return self.read(1, field) == 1

    def text(self, width: int, field: str) -> str:
        """The next ``width`` bits as a text of ``"0"``/``"1"`` characters."""
        end = self.pos + width
        if end > self.size:
            raise self.fail(field, f"needs bits {self.pos}..{end}, the string has {self.size}")
        if end > len(self.bits):
            self.ensure(end)
        start, self.pos = self.pos, end
        add_work(width)
        return self.bits[start:end]

    def fibonacci(self, field: str) -> int:
        """One Fibonacci-coded integer (GPP, "About Fibonacci Encoding"): Zeckendorf bits,
        F(2) first, closed by the first ``11``."""
        window = self.pos + _MAX_FIBONACCI_BITS + 1
        self.ensure(window)
        end = self.bits.find("11", self.pos, window)
        if end < 0:
            if window >= self.size:
                raise self.fail(field, f"a Fibonacci integer runs past bit {self.size}")
            raise self.fail(field, f"a Fibonacci integer longer than {_MAX_FIBONACCI_BITS} bits")
        code = self.bits[self.pos : end + 1]
        add_work(len(code) + 1)
        self.pos = end + 2
        return sum(f for f, bit in zip(_FIB, code, strict=False) if bit == "1")

    def two_bit(self, field: str) -> int:
        """A 2-bit GPP enumeration: 0, 1 or 2 (3 is defined by no section)."""
        return self.two_bits(1, field)[0]

    def two_bits(self, count: int, field: str) -> tuple[int, ...]:
        """An N-Bitfield(2, count) of GPP enumerations, each 0, 1 or 2."""
        values = self.pairs(count, field)
        if 3 in values:
            raise self.fail(field, "value 3 is not defined")
        return values

    def pairs(self, count: int, field: str) -> tuple[int, ...]:
        """The next ``count`` 2-bit values, read as one slice (3 not checked)."""
        text = self.text(2 * count, field)
        return tuple(_PAIRS[text[i : i + 2]] for i in range(0, 2 * count, 2))


def split(text: str, sep: str) -> list[str]:
    """``text.split(sep)``, counted as work (one unit per character)."""
    add_work(len(text))
    return text.split(sep)
