"""The fraud agent: scores each request for invalid traffic and vetoes it above a
threshold.

Signals: a user agent matching a known bot or crawler pattern
(``bot_patterns``), a missing user agent or IP address, the device's
request rates per device (advertising id) and per IP address over fixed windows
(hashed counters in bounded memory), and an IP address in a data-center range
(:class:`adcore.ivt.IpRanges`, the built-in list of public cloud blocks by default,
``datacenter_cidrs`` to replace it; scored ``fraud_datacenter_score``),
and an address no device can send from (malformed, loopback, unspecified, link-local,
multicast; scored ``fraud_impossible_ip_score``). The address is read by the package's
one parser (:func:`adcore._ip.parse`, cached), and both address signals are remembered
per address text in a table that is emptied when it reaches 65,536 entries.
The score combines them (:func:`adcore._kernels.fraud.fraud_score`, then the largest
signal); at ``fraud_block_threshold`` or above the whole request is vetoed with
``FRAUD``; from ``fraud_discount_threshold`` up to it every bid is discounted by the
score (multiplied by ``1 - score``). Clicks are validated at feedback by
:class:`adcore.ivt.ClickValidator`.

The settings named here are :class:`~adcore.EngineConfig` fields, and those the agent
takes (its class docstring lists them) are also arguments of its constructor, which
replace the engine's values for that agent.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .. import _ip
from .._hashing import cached_key
from .._kernels import reasons as R
from .._kernels.filters import veto_all
from .._kernels.fraud import score_request
from ..catalog import CatalogSnapshot
from ..context import Context
from ..ivt import IpRanges
from .base import Agent, Services

__all__ = ["FraudAgent"]

_UA_CHARS = 1024  # characters of a user agent matched against the bot patterns
_UA_CACHE = 20_000  # user agents remembered (at most about 20 MiB)

_NO_KEY = np.uint64(0)
_SIGNALS = (
    "bot_user_agent",
    "no_user_agent",
    "no_ip",
    "request_rate",
    "datacenter_ip",
    "impossible_ip",
)


_IP_CACHE = 65_536  # address texts whose signals are remembered (a few MiB at most)


def _impossible(version: int, value: int) -> bool:
    """Loopback, unspecified, link-local or multicast: the ``is_*`` properties of
    :mod:`ipaddress` (Python 3.11) of the same names, on the parsed number. An
    IPv4-mapped IPv6 address is judged as IPv6, as those properties judge it."""
    if version == 4:
        return (
            value >> 24 == 127  # 127.0.0.0/8
            or value == 0
            or value >> 16 == 0xA9FE  # 169.254.0.0/16
            or value >> 28 == 0xE  # 224.0.0.0/4
        )
    return (
        value <= 1  # ::1 and ::
        or value >> 118 == 0x3FA  # fe80::/10
        or value >> 120 == 0xFF  # ff00::/8
    )


def _impossible_ip(ip: str) -> bool:
    """An address no user's device can send from: malformed, loopback, unspecified,
    link-local or multicast."""
    parsed = _ip.parse(ip)
    return parsed is None or _impossible(*parsed)


# The four possible (datacenter, impossible) answers, shared by every cache entry.
_SIGNAL_PAIRS = {(dc, bad): (dc, bad) for dc in (False, True) for bad in (False, True)}


def _ip_signals(ip: str, ranges: IpRanges | None) -> tuple[bool, bool]:
    """``(datacenter, impossible)`` for the address text ``ip``."""
    parsed = _ip.parse(ip)
    if parsed is None:
        return _SIGNAL_PAIRS[False, True]
    datacenter = ranges is not None and ranges.contains_parsed(_ip.mapped_halves(*parsed))
    return _SIGNAL_PAIRS[datacenter, _impossible(*parsed)]


class _FraudState:
    def __init__(
        self, slots: int, patterns: tuple[str, ...], threshold: float, limit: int, window: float
    ) -> None:
        self.keys = np.zeros(slots, dtype=np.uint64)
        self.starts = np.zeros(slots, dtype=np.float64)
        self.counts = np.zeros(slots, dtype=np.int64)
        self.lock = threading.Lock()
        self.patterns = tuple(p.lower() for p in patterns)
        self.threshold = threshold
        self.limit = limit
        self.window = window
        self.bot_cache: dict[str, bool] = {}
        self.count = np.zeros(2, dtype=np.int64)  # the last request's two rate counts
        self.ranges: IpRanges | None = None
        self.discount = 1.0
        self.impossible_score = 0.0
        self.datacenter_score = 0.0
        self.ip_cache: dict[str, tuple[bool, bool]] = {}  # (datacenter, impossible)


class FraudAgent(Agent):
    """Invalid-traffic scoring and request-level veto.

    Takes, keyword-only, the :class:`~adcore.EngineConfig` fields it uses, named like
    them: None (the default) takes the engine's value; any other value is checked by
    EngineConfig's rules (:class:`~adcore.InvalidConfig` naming the field) and replaces
    the engine's for this agent.
    The click-validation fields (``click_*``) stay in EngineConfig only: the engine
    validates clicks at feedback.

    Parameters
    ----------
    bot_patterns : tuple of str, optional
        Case-insensitive user-agent substrings of known bots
        (``EngineConfig.bot_patterns``).
    fraud_block_threshold : float, optional
        Requests scored at or above it get no bid (``EngineConfig.fraud_block_threshold``).
    fraud_discount_threshold : float, optional
        From it up to the block threshold every bid is multiplied by ``1 - score``
        (``EngineConfig.fraud_discount_threshold``).
    fraud_rate_limit : int, optional
        More requests per device or IP address in the window raise the score
        (``EngineConfig.fraud_rate_limit``).
    fraud_rate_window : float, optional
        The window of the rate limit, in seconds (``EngineConfig.fraud_rate_window``).
    fraud_datacenter_score : float, optional
        The score of a data-center address, 0 turning the check off
        (``EngineConfig.fraud_datacenter_score``).
    fraud_impossible_ip_score : float, optional
        The score of an address no device can send from
        (``EngineConfig.fraud_impossible_ip_score``).
    datacenter_cidrs : tuple of str, optional
        The data-center ranges (``EngineConfig.datacenter_cidrs``). None takes the
        engine's, which is the built-in list unless the engine's configuration names
        others.
    counter_slots : int, optional
        Slots of the request-rate counter table (``EngineConfig.counter_slots``).

    Examples
    --------
    >>> FraudAgent(fraud_block_threshold=0.5, bot_patterns=["bot", "crawler"])
    FraudAgent(bot_patterns=('bot', 'crawler'), fraud_block_threshold=0.5)
    """

    name: ClassVar[str] = "fraud"
    reads: ClassVar[frozenset[str]] = frozenset({"request"})
    writes: ClassVar[frozenset[str]] = frozenset({"fraud", "reason"})
    parameters: ClassVar[tuple[str, ...]] = (
        "bot_patterns",
        "fraud_block_threshold",
        "fraud_discount_threshold",
        "fraud_rate_limit",
        "fraud_rate_window",
        "fraud_datacenter_score",
        "fraud_impossible_ip_score",
        "datacenter_cidrs",
        "counter_slots",
    )

    bot_patterns: tuple[str, ...] | None = None
    fraud_block_threshold: float | None = None
    fraud_discount_threshold: float | None = None
    fraud_rate_limit: int | None = None
    fraud_rate_window: float | None = None
    fraud_datacenter_score: float | None = None
    fraud_impossible_ip_score: float | None = None
    datacenter_cidrs: tuple[str, ...] | None = None
    counter_slots: int | None = None

    def __init__(
        self,
        *,
        bot_patterns: Sequence[str] | None = None,
        fraud_block_threshold: float | None = None,
        fraud_discount_threshold: float | None = None,
        fraud_rate_limit: int | None = None,
        fraud_rate_window: float | None = None,
        fraud_datacenter_score: float | None = None,
        fraud_impossible_ip_score: float | None = None,
        datacenter_cidrs: Sequence[str] | None = None,
        counter_slots: int | None = None,
    ) -> None:
        self._set_parameters(
            bot_patterns=bot_patterns,
            fraud_block_threshold=fraud_block_threshold,
            fraud_discount_threshold=fraud_discount_threshold,
            fraud_rate_limit=fraud_rate_limit,
            fraud_rate_window=fraud_rate_window,
            fraud_datacenter_score=fraud_datacenter_score,
            fraud_impossible_ip_score=fraud_impossible_ip_score,
            datacenter_cidrs=datacenter_cidrs,
            counter_slots=counter_slots,
        )

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        if isinstance(previous, _FraudState):
            return previous  # request-rate counters do not depend on the catalog
        cfg = self.settings(services.config)
        state = _FraudState(
            cfg.counter_slots,
            cfg.bot_patterns,
            cfg.fraud_block_threshold,
            cfg.fraud_rate_limit,
            cfg.fraud_rate_window,
        )
        state.discount = cfg.fraud_discount_threshold
        state.impossible_score = cfg.fraud_impossible_ip_score
        if cfg.fraud_datacenter_score > 0:
            cidrs = cfg.datacenter_cidrs
            state.ranges = IpRanges.default() if cidrs is None else IpRanges(cidrs)
            state.datacenter_score = cfg.fraud_datacenter_score
        return state

    def _address_signals(self, ip: str, state: _FraudState) -> tuple[bool, bool]:
        """``(datacenter, impossible)`` for the address text ``ip``, remembered in
        ``state.ip_cache`` (emptied when it reaches ``_IP_CACHE`` entries; a text too
        long to be an address is answered without being read or remembered)."""
        hit = state.ip_cache.get(ip)
        if hit is None:
            hit = _ip_signals(ip, state.ranges)
            if len(ip) <= _ip.MAX_CHARS:
                if len(state.ip_cache) >= _IP_CACHE:
                    state.ip_cache.clear()
                state.ip_cache[ip] = hit
        return hit

    def _in_datacenter(self, ip: str, state: _FraudState) -> bool:
        return state.ranges is not None and self._address_signals(ip, state)[0]

    def _is_bot(self, ua: str, state: _FraudState) -> bool:
        # Bounded work and memory whatever the user agent: real ones are a few hundred
        # characters, so only the first _UA_CHARS are matched and cached.
        ua = ua[:_UA_CHARS]
        hit = state.bot_cache.get(ua)
        if hit is None:
            low = ua.lower()
            hit = any(p in low for p in state.patterns)
            if len(state.bot_cache) > _UA_CACHE:
                state.bot_cache.clear()
            state.bot_cache[ua] = hit
        return hit

    def run(self, ctx: Context, state: _FraudState) -> None:
        device = ctx.request.device
        if device is not None:
            ua = device.ua
            ip = device.ip or device.ipv6
            ifa = device.ifa
        else:
            ua = ip = ifa = None
        bot = self._is_bot(ua, state) if ua else False
        # Request rates per device (advertising id) and per IP address, each over its
        # own sliding window in the same bounded table; the busier one counts.
        first = cached_key(ifa) if ifa else (cached_key(ip) if ip else _NO_KEY)
        second = cached_key(ip) if (ifa and ip) else _NO_KEY
        with state.lock:
            score = score_request(
                state.keys,
                state.starts,
                state.counts,
                first,
                second,
                ctx.now,
                state.window,
                bot,
                not ua,
                not ip,
                state.limit,
                state.count,
            )
            counted = state.count
            over = int(counted[0]) > state.limit or int(counted[1]) > state.limit
        if ip:
            datacenter, impossible = self._address_signals(ip, state)
        else:
            datacenter = impossible = False
        if datacenter and state.datacenter_score > score:
            score = state.datacenter_score
        if impossible and state.impossible_score > score:
            score = state.impossible_score
        ctx.fraud_score = score
        ctx.fraud_flags = (bot, not ua, not ip, over, datacenter, impossible)
        if score >= state.threshold:
            veto_all(ctx.reason, ctx.n_imp, R.FRAUD)
        elif score >= state.discount:
            ctx.bid_factor[0] = 1.0 - score  # suspicious: bid less

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        return {
            "fraud_score": round(ctx.fraud_score, 4),
            "signals": ",".join(n for n, on in zip(_SIGNALS, ctx.fraud_flags, strict=True) if on)
            or "-",
        }
