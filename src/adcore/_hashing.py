"""Stable 64-bit keys of strings: the same in every process and run (unlike ``hash``)."""

from __future__ import annotations

import zlib

import numpy as np


def stable_key(text: str) -> int:
    """A non-zero 64-bit key of ``text`` (two CRC-32s with different seeds)."""
    b = text.encode()
    return ((zlib.crc32(b, 0x9E3779B9) << 32) | zlib.crc32(b)) | 1


_CACHE: dict[str, np.uint64] = {}


def cached_key(text: str) -> np.uint64:
    """:func:`stable_key` as a NumPy uint64, cached for ids that recur (users, devices).

    The cache is bounded: it is emptied when it reaches 100,000 entries.
    """
    key = _CACHE.get(text)
    if key is None:
        key = np.uint64(stable_key(text))
        if len(_CACHE) >= 100_000:
            _CACHE.clear()
        _CACHE[text] = key
    return key
