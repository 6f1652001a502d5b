"""Money at the edges: OpenRTB prices are CPM floats, adcore's books are integer
micro-units (1e-6 of the currency), so sums never drift. This is the one place that
converts between them.

Examples
--------
>>> cpm_to_micros(2.5)          # a 2.50 CPM costs 0.0025 per impression
2500
>>> micros_to_cpm(2500)
2.5
>>> to_micros(12.34)            # a budget of 12.34 currency units
12340000
"""

from __future__ import annotations

__all__ = ["MICROS", "cpm_to_micros", "micros_to_cpm", "to_micros"]

MICROS = 1_000_000
"""Micro-units per currency unit."""


def cpm_to_micros(cpm: float) -> int:
    """The price of one impression, in micro-units, at ``cpm`` (rounded to the nearest)."""
    return int(cpm * 1000.0 + 0.5)


def micros_to_cpm(micros: int) -> float:
    """The CPM at which one impression costs ``micros`` micro-units."""
    return micros / 1000.0


def to_micros(amount: float) -> int:
    """``amount`` currency units in micro-units (rounded to the nearest)."""
    return int(round(amount * MICROS))
