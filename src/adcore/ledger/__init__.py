"""Budget ledgers: where spend is held, charged and checked, in integer micro-units.

:class:`InProcessLedger` (the default) keeps one process's books; :class:`RedisLedger`
(extra ``adcore[redis]``) shares budgets across a fleet through leases in Redis, and
:class:`FeedbackPublisher` / :class:`FeedbackConsumer` carry feedback between processes
through Redis Streams. The ``redis`` package is imported only when one of them is built.
"""

from .base import Ledger
from .memory import Balance, InProcessLedger
from .redis import FleetBalance, RedisLedger
from .streams import FeedbackConsumer, FeedbackPublisher, StreamEvent

__all__ = [
    "Balance",
    "FeedbackConsumer",
    "FeedbackPublisher",
    "FleetBalance",
    "InProcessLedger",
    "Ledger",
    "RedisLedger",
    "StreamEvent",
]
