"""Checks of plain values at adcore's edges that never raise on odd input.

``math.isfinite(10**400)`` raises ``OverflowError`` and ``float("x")`` ``ValueError``;
the edges (events, catalogs, configs) must answer every value with their own documented
exception instead, so they ask these first.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

__all__ = ["finite", "number"]

_FLOAT_MAX_INT = 2**1023  # well inside the float range, so float(x) cannot overflow


def number(x: Any) -> TypeGuard[int | float]:
    """``x`` is an int or float (not a bool) that converts to a float without overflow."""
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return -_FLOAT_MAX_INT < x < _FLOAT_MAX_INT
    return isinstance(x, float)


def finite(x: Any) -> TypeGuard[int | float]:
    """``x`` is a finite int or float (not a bool) that converts to a float exactly
    enough: no overflow, no NaN, no infinity."""
    return number(x) and math.isfinite(x)
