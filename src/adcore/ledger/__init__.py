"""Budget ledgers: where spend is held, charged and checked, in integer micro-units."""

from .memory import Balance, InProcessLedger

__all__ = ["Balance", "InProcessLedger"]
