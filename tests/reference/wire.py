"""Naive reference for ``adcore._kernels.wire``: decode with a trusted library, then
recurse over the decoded value."""

from __future__ import annotations

from typing import Any


def depth(value: Any) -> int:
    """Nesting of lists and dicts in a decoded payload (a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max((max(depth(k), depth(v)) for k, v in value.items()), default=0)
    if isinstance(value, list | tuple):
        return 1 + max((depth(v) for v in value), default=0)
    return 0
