"""Vocabularies: the strings of one kind in a catalog (categories, domains, MIME types,
countries, segments, deals, signals), numbered as the bits of a bitset.

A :class:`~adcore.catalog.CatalogSnapshot` keeps one :class:`Vocabulary` per kind;
requests are turned into bitsets over it, which the kernels intersect with the catalog's.

Examples
--------
>>> from adcore.catalog import Vocabulary, category_closure
>>> category_closure(["IAB2-1", "IAB7"])
['IAB2-1', 'IAB2', 'IAB7']
>>> v = Vocabulary(["IAB2", "IAB7", "IAB2"])
>>> len(v), v.words, v.bits(["IAB7", "unknown"]).tolist()
(2, 1, [2])
>>> v.words_of(("IAB2-1",), parents=True)
((0, np.uint64(1)),)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

__all__ = ["Vocabulary", "category_closure"]


def category_closure(categories: Iterable[str]) -> list[str]:
    """Categories with their IAB parents: ``IAB2-1`` brings ``IAB2``."""
    out: list[str] = []
    for cat in categories:
        out.append(cat)
        if cat.startswith("IAB") and "-" in cat:
            out.append(cat.rsplit("-", 1)[0])
    return out


class Vocabulary:
    """Strings of one kind (categories, domains, ...) numbered as bits of a bitset."""

    __slots__ = ("_cache", "index", "words")

    _CACHE_SIZE = 4096

    def __init__(self, items: Iterable[str]) -> None:
        self.index: dict[str, int] = {}
        for item in items:
            if item not in self.index:
                self.index[item] = len(self.index)
        self.words = max(1, (len(self.index) + 63) // 64)
        self._cache: dict[tuple[bool, tuple[str, ...]], tuple[tuple[int, np.uint64], ...]] = {}

    def words_of(
        self, items: tuple[str, ...], parents: bool = False
    ) -> tuple[tuple[int, np.uint64], ...]:
        """The non-zero words ``(index, value)`` of the bitset of ``items`` (with their IAB
        parents when ``parents``), cached: the same lists (block lists, category lists)
        recur request after request."""
        key = (parents, items)
        hit = self._cache.get(key)
        if hit is None:
            index = self.index
            acc = 0
            for item in category_closure(items) if parents else items:
                b = index.get(item)
                if b is not None:
                    acc |= 1 << b
            words = []
            w = 0
            while acc:
                chunk = acc & 0xFFFFFFFFFFFFFFFF
                if chunk:
                    words.append((w, np.uint64(chunk)))
                acc >>= 64
                w += 1
            hit = tuple(words)
            if len(self._cache) >= self._CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def __len__(self) -> int:
        return len(self.index)

    def bits(self, items: Iterable[str]) -> NDArray[np.uint64]:
        """A fresh bitset of the known ``items`` (unknown ones are ignored)."""
        out = np.zeros(self.words, dtype=np.uint64)
        self.fill(out, items)
        return out

    def fill(self, out: NDArray[np.uint64], items: Iterable[str]) -> None:
        """Set the bits of the known ``items`` in ``out`` (which is not cleared)."""
        index = self.index
        acc = 0
        for item in items:
            b = index.get(item)
            if b is not None:
                acc |= 1 << b
        w = 0
        while acc:
            chunk = acc & 0xFFFFFFFFFFFFFFFF
            if chunk:
                out[w] = out[w] | np.uint64(chunk)
            acc >>= 64
            w += 1
