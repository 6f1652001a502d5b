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

__all__ = ["CURRENCIES", "MAX_MICROS", "MICROS", "cpm_to_micros", "micros_to_cpm", "to_micros"]

MICROS = 1_000_000
"""Micro-units per currency unit."""

MAX_MICROS = 10**15
"""The largest amount the books hold in one entry (a billion currency units): budgets
above it are rejected, so no sum of entries can overflow a 64-bit integer."""

CURRENCIES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF
    DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
    IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
    LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO
    NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH
    UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG
    XDR XOF XPD XPF XPT XSU XTS XUA YER ZAR ZMW ZWG ZWL
    """.split()
)
"""ISO 4217 alphabetic currency codes (current and recently withdrawn ones), which a
catalog's currency and an exchange rate's key must be."""


def cpm_to_micros(cpm: float) -> int:
    """The price of one impression, in micro-units, at ``cpm`` (rounded to the nearest)."""
    return int(cpm * 1000.0 + 0.5)


def micros_to_cpm(micros: int) -> float:
    """The CPM at which one impression costs ``micros`` micro-units."""
    return micros / 1000.0


def to_micros(amount: float) -> int:
    """``amount`` currency units in micro-units (rounded to the nearest)."""
    return int(round(amount * MICROS))
