"""Stable 64-bit keys of strings: the same in every process and run (unlike ``hash``)."""

from __future__ import annotations

import zlib


def stable_key(text: str) -> int:
    """A non-zero 64-bit key of ``text`` (two CRC-32s with different seeds)."""
    b = text.encode()
    return ((zlib.crc32(b, 0x9E3779B9) << 32) | zlib.crc32(b)) | 1
