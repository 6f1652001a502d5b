"""The simulator's market loop written in plain Python: the competitor of ``run_arm``.

:func:`run_plain` plays the same seeded :class:`~adcore.sim.Market` as
``run_arm(market, "agents")``: the same requests (read from the market's arrays), the same
catalog (its :class:`~adcore.catalog.Campaign` and :class:`~adcore.catalog.Ad` objects and
signal vectors), the same outside competition and the same pre-drawn response uniforms,
under the configuration ``run_arm`` gives the engine (:func:`plain_config`). Before the
loop the market's arrays are turned into Python lists (``tolist``); inside it there is no
NumPy and no Numba, only lists, dicts, tuples and floats.

Per request it does the work of the ten agents and of the runner:

- fraud: known-bot user agent (the engine's patterns, cached per user agent), a
  request-rate counter per IP address over ``fraud_rate_window``, and the address
  checked against the engine's built-in data-center blocks (scored
  ``fraud_datacenter_score``) and for addresses no device sends from; a score at the
  block threshold or above vetoes the request, one from the discount threshold up to it
  multiplies every bid by ``1 - score``;
- privacy: personalise where the listener's consent string grants it (EU) or without a
  US Privacy opt-out (elsewhere); only then are the user key and segments used;
- audience: every campaign's flight, country, device type, hour, content and segment
  targeting; the interest vector, the normalised sum of the genre's signal vector and,
  with consent, the listener's segment vectors; the focus state;
- safety: paused campaigns and per-user frequency caps (counted on impressions);
- inventory, per slot and ad: format, display size, MIME type and duration fit (the
  first fitting variant), the slot's floor;
- relevance: ``sigmoid(logit(base_rate) + learned + relevance_scale * embedding . interest)``,
  the probability of the action the ad is bought for (a click for display ads and for
  campaigns paying per click or acquisition, else a completion), with ``learned`` the
  same empirical-Bayes shrinkage of the ad's observed rate of that action as the
  relevance agent (updated on every impression and action);
- bidding: the four strategies' expected values, bids capped at the max bid;
- pacing: what each campaign may still commit, and its multiplier from a PID controller
  updated every ``pacing_interval`` seconds (each campaign's plan anchored when pacing
  starts, a shortfall-scaled gain behind plan, conditional integration, multipliers up
  to a catch-up ceiling: ``pacing_max_multiplier``, or for a fixed CPM the multiplier
  that bids its max bid); the plan is flat, as the engine's learned traffic forecast is
  before it has seen a whole day (a market is one UTC day);
- creative: shortest cut under high focus, longest in the background;
- auction, per slot: among the eligible ads that have not won an earlier slot of the
  request, effective bids (bid x multiplier x fraud discount) capped at the campaign's
  max bid and at what it may still commit; priority, then effective bid, then expected
  value ranks them; second price set by the best bid of another campaign, with floors;
- the runner: outside competition, budget holds (settled on impression, released after
  ``hold_ttl`` when the outside market took the slot), the listener's response
  (:func:`respond`, the same model as :meth:`adcore.sim.Behaviour.respond`), spend, value,
  fatigue, hourly accounting and budget exhaustion.

How it differs from the engine, on purpose: no OpenRTB request objects (no building,
validation or feature extraction from them: consent, addresses and content are read from
the market's arrays, not decoded from the request's strings), no ``Decision``/
``SlotDecision`` structs, impression ids or feedback event objects, no event bus, no
traces or latency timing; unbounded dicts instead of hashed counter tables (fraud rates,
frequency caps); embedding products in float64 instead of float32; the last ties (equal
effective bid and expected value) broken by a cheap integer hash instead of the engine's
``splitmix64`` of ad and request keys; only the pacing strategies the market's campaigns
use (PID, and ASAP) and no private deals (:func:`run_plain` refuses a catalog needing
others). Its decisions are therefore close to the engine's but not identical; the
benchmark checks the aggregate outcomes agree.
"""

from __future__ import annotations

import ipaddress
import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

from adcore.catalog import AdFormat, BidStrategy, Catalog, Pacing
from adcore.config import EngineConfig
from adcore.ivt import IpRanges
from adcore.sim import Market
from adcore.sim.market import (
    BOT_AGENTS,
    BOT_IPS,
    EU,
    HUMAN_AGENTS,
    MUSIC_GENRES,
    NON_EU,
    SEGMENTS,
    SESSION_BACKGROUND,
    SESSION_MUSIC,
    SESSION_PODCAST,
    SIM_VENDOR_ID,
    SIZES,
    SLOT_AUDIO,
    SLOT_DISPLAY,
    SLOT_VIDEO,
    TALK_GENRES,
)

__all__ = ["PlainRun", "plain_config", "respond", "run_plain"]

FOCUS_NORMAL, FOCUS_HIGH, FOCUS_BACKGROUND = 0, 1, 2
_SPOKEN_WORDS = ("podcast", "talk", "news", "spoken", "audiobook", "comedy", "interview")
_FIXED_CPM, _TARGET_CPC, _TARGET_CPA, _MAX_VALUE = 0, 1, 2, 3
_STRATEGY = {
    BidStrategy.FIXED_CPM: _FIXED_CPM,
    BidStrategy.TARGET_CPC: _TARGET_CPC,
    BidStrategy.TARGET_CPA: _TARGET_CPA,
    BidStrategy.MAX_VALUE: _MAX_VALUE,
}
_FORMAT = {AdFormat.AUDIO: SLOT_AUDIO, AdFormat.VIDEO: SLOT_VIDEO, AdFormat.DISPLAY: SLOT_DISPLAY}
_MIME_OF_SLOT = {SLOT_AUDIO: "audio/mpeg", SLOT_VIDEO: "video/mp4", SLOT_DISPLAY: "image/png"}
_MIN_DURATION, _MAX_DURATION = 5.0, 30.0  # the market's audio and video slots
_MASK64 = (1 << 64) - 1
_DAY = 86400.0
# PID pacing behind plan (as the engine's controller): the shortfall against what is
# left of the plan, never less than a tenth of the budget, at half weight.
_REMAINING_FLOOR = 0.1
_CATCH_UP_WEIGHT = 0.5


def plain_config(market: Market) -> EngineConfig:
    """The configuration ``run_arm`` gives the engine for ``market``: no latency budget,
    no pacing curve (the plan is learned), catch-up up to ten times a bid, the market's
    vendor id, data-center traffic blocked."""
    return EngineConfig(
        latency_budget_us=float("inf"),
        pacing_max_multiplier=10.0,
        hold_ttl=60.0,
        seed=0,
        vendor_id=SIM_VENDOR_ID,
        fraud_datacenter_score=1.0,
        trusted_structs=True,
        warmup=False,
    )


def _sigmoid(z: float) -> float:
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def respond(
    bot: bool,
    interest: list[float],
    truth: list[float],
    fmt: int,
    session: int,
    uniforms: tuple[float, float, float],
    duration: float,
    fatigue: int,
    value_click: float,
    value_complete: float,
    value_conversion: float,
) -> tuple[bool, bool, bool, bool, float]:
    """:meth:`adcore.sim.Behaviour.respond` on plain values: ``(click, complete, skip,
    conversion, value)``."""
    u_click, u_complete, u_conv = uniforms
    if bot:
        return u_click < 0.3, False, False, False, 0.0
    r = 0.0
    for x, y in zip(interest, truth, strict=True):
        r += x * y
    click_logit = -4.6 + 2.5 * r - 0.3 * fatigue
    if fmt == SLOT_DISPLAY:
        click = u_click < _sigmoid(click_logit)
        complete = skip = False
    else:
        long = duration > 20.0
        if fmt == SLOT_VIDEO:
            penalty = 0.6 if long else 0.2
        elif session == SESSION_PODCAST:
            penalty = 1.5 if long else 0.2
        elif session == SESSION_MUSIC:
            penalty = 0.3 if long else 0.1
        else:
            penalty = 0.0
        complete = u_complete < _sigmoid(0.8 + 2.0 * r - penalty - 0.35 * fatigue)
        skip = not complete
        click = u_click < 0.1 * _sigmoid(click_logit)
    conversion = click and u_conv < 0.05 * (1.0 + r)
    value = 0.0
    if click:
        value += value_click
    if complete:
        value += value_complete * (1.0 if duration > 20.0 else 0.6)
    if conversion:
        value += value_conversion
    return click, complete, skip, conversion, value


@dataclass(frozen=True)
class PlainRun:
    """What :func:`run_plain` measured (money in micro-units, campaigns in catalog order)."""

    counts: dict[str, int]
    spend_micros: list[int]
    daily_micros: list[int]
    value: list[float]
    hourly_spend_micros: list[list[int]]
    hourly: dict[str, list[float]]
    exhausted_hour: list[float]

    @property
    def metrics(self) -> dict[str, float]:
        """A few of :class:`adcore.sim.ArmRun`'s metrics, computed the same way
        (completion and skip rates over the audio and video ads shown to humans)."""
        n = self.counts
        shown, human_av = n["shown"], n["human_av_shown"]
        revenue = sum(self.spend_micros) / 1e6
        return {
            "ctr": n["clicks"] / shown if shown else 0.0,
            "completion_rate": n["human_completes"] / human_av if human_av else 0.0,
            "skip_rate": n["human_skips"] / human_av if human_av else 0.0,
            "fill_rate": shown / n["slots"] if n["slots"] else 0.0,
            "revenue": revenue,
            "advertiser_value": sum(self.value),
            "spend_vs_budget": revenue / (sum(self.daily_micros) / 1e6),
        }


def _spoken(genre: str) -> bool:
    low = genre.lower()
    return any(w in low for w in _SPOKEN_WORDS)


def _ipv4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def _ipv4_ranges(cidrs: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """The IPv4 blocks of ``cidrs`` merged into disjoint ranges: their sorted first
    addresses and their last addresses."""
    blocks = sorted(
        (int(net.network_address), int(net.broadcast_address))
        for net in (ipaddress.ip_network(c, strict=False) for c in cidrs)
        if net.version == 4
    )
    starts: list[int] = []
    ends: list[int] = []
    for lo, hi in blocks:
        if ends and lo <= ends[-1] + 1:
            ends[-1] = max(ends[-1], hi)
        else:
            starts.append(lo)
            ends.append(hi)
    return starts, ends


def _impossible_ipv4(ip: int) -> bool:
    """Loopback, unspecified, link-local or multicast."""
    return ip >> 24 == 127 or ip == 0 or ip >> 16 == 0xA9FE or ip >> 28 == 0xE


def _ceiling(strategy: int, amount: float, max_bid: float, max_multiplier: float) -> float:
    """The highest pacing multiplier of a campaign: for a fixed CPM the float just below
    ``max_bid / bid`` (bidding its max bid), else ``max_multiplier``; within
    ``[1, max_multiplier]``."""
    if not (amount > 0.0 and max_bid > 0.0):
        return 1.0
    if strategy != _FIXED_CPM:
        return max_multiplier
    top = amount if amount < max_bid else max_bid
    k = math.nextafter(max_bid / top, 0.0)
    return min(max(k, 1.0), max_multiplier)


def _check_supported(catalog: Catalog) -> None:
    """Refuse catalogs needing what the plain loop does not implement."""
    for c in catalog.campaigns:
        if Pacing(c.pacing) not in (Pacing.PID, Pacing.ASAP):
            raise ValueError(f"campaign {c.id!r}: the plain loop paces PID and ASAP campaigns only")
        if c.deals:
            raise ValueError(f"campaign {c.id!r}: the plain loop has no private deals")


def run_plain(market: Market, config: EngineConfig | None = None) -> PlainRun:
    """Decide, show and account for every request of ``market`` in plain Python (see
    the module docstring)."""
    cfg = config or plain_config(market)
    sc = market.scenario
    catalog = market.catalog
    _check_supported(catalog)
    start = sc.start

    # ---------------------------------------------------------------- catalog, as lists
    camps = catalog.campaigns
    n_camp = len(camps)
    camp_row = {c.id: k for k, c in enumerate(camps)}
    strategy = [_STRATEGY[BidStrategy(c.strategy)] for c in camps]
    pid = [Pacing(c.pacing) == Pacing.PID for c in camps]
    amount = [float(c.bid) for c in camps]
    max_bid = [float(c.max_bid) for c in camps]
    conv_rate = [float(c.conversion_rate) for c in camps]
    tier = [2 * int(c.priority) for c in camps]  # the engine's rank before the bid
    daily = [int(c.daily_budget) for c in camps]
    total = [-1 if c.total_budget is None else int(c.total_budget) for c in camps]
    flight = [
        (-math.inf if c.start is None else c.start, math.inf if c.end is None else c.end)
        for c in camps
    ]
    t_countries = [frozenset(c.targeting.countries) for c in camps]
    t_devices = [frozenset(c.targeting.device_types) for c in camps]
    t_hours = [frozenset(c.targeting.hours) for c in camps]
    t_content = [frozenset(c.targeting.content_categories) for c in camps]
    t_segments = [frozenset(c.targeting.segments) for c in camps]
    personal = [bool(s) for s in t_segments]
    excluded = [frozenset(c.excluded_categories) for c in camps]
    cap_count = [0 if c.frequency_cap is None else c.frequency_cap.impressions for c in camps]
    cap_window = [1.0 if c.frequency_cap is None else c.frequency_cap.window for c in camps]
    paused = [False] * n_camp
    pays_clicks = [s in (_TARGET_CPC, _TARGET_CPA) for s in strategy]
    ceiling = [
        _ceiling(strategy[c], amount[c], max_bid[c], cfg.pacing_max_multiplier)
        for c in range(n_camp)
    ]

    ads = catalog.ads
    n_ads = len(ads)
    ad_camp = [camp_row[a.campaign] for a in ads]
    ad_fmt = [_FORMAT[AdFormat(a.format)] for a in ads]
    ad_emb = [list(a.embedding) for a in ads]
    ad_base = [math.log(a.base_rate / (1.0 - a.base_rate)) for a in ads]
    ad_sizes = [frozenset((int(w), int(h)) for w, h in a.sizes) for a in ads]
    ad_variants: list[list[tuple[float, frozenset[str]]]] = []
    for ad in ads:
        if ad.variants:
            vs = [(v.duration, frozenset(v.mimes or ad.mimes)) for v in ad.variants]
        else:
            vs = [(ad.duration, frozenset(ad.mimes))]
        ad_variants.append(vs)
    ad_key = [(i + 1) * 0x9E3779B97F4A7C15 & _MASK64 for i in range(n_ads)]
    # The action each ad is bought for, which relevance predicts and learns: a click
    # for display ads and for campaigns paying per click or acquisition, else a completion.
    learns_clicks = [ad_fmt[a] == SLOT_DISPLAY or pays_clicks[ad_camp[a]] for a in range(n_ads)]
    signals = catalog.signals
    genre_vec = [list(signals[f"genre:{g.lower()}"]) for g in MUSIC_GENRES + TALK_GENRES]
    seg_vec = [list(signals[f"seg:{s}"]) for s in SEGMENTS]
    talk_spoken = [_spoken(g) for g in TALK_GENRES]
    music_spoken = [_spoken(g) for g in MUSIC_GENRES]

    scale = cfg.relevance_scale
    strength = cfg.prior_strength
    kp, ki, kd = cfg.pacing_gain, cfg.pacing_ki, cfg.pacing_kd
    min_mult = cfg.pacing_min_multiplier
    interval = cfg.pacing_interval
    block_at = cfg.fraud_block_threshold
    discount_at = cfg.fraud_discount_threshold
    rate_limit = cfg.fraud_rate_limit
    rate_window = cfg.fraud_rate_window
    dc_score = cfg.fraud_datacenter_score
    bad_ip_score = cfg.fraud_impossible_ip_score
    hold_ttl = cfg.hold_ttl
    patterns = tuple(p.lower() for p in cfg.bot_patterns)
    curve = cfg.pacing_curve
    cumulative: list[float] | None = None
    if curve is not None:
        weight_sum = sum(curve)
        acc = 0.0
        cumulative = []
        for w in curve:
            acc += w
            cumulative.append(acc / weight_sum)
    dc_starts: list[int] = []
    dc_ends: list[int] = []
    if dc_score > 0.0:
        cidrs = cfg.datacenter_cidrs
        dc_starts, dc_ends = _ipv4_ranges(
            IpRanges.default().cidrs if cidrs is None else tuple(cidrs)
        )
    bot_ips = [_ipv4(ip) for ip in BOT_IPS]

    # ---------------------------------------------------------------- market, as lists
    times = market.time.tolist()
    listener_of = market.listener.tolist()
    session_of = market.session.tolist()
    kind_of = market.slot_kind.tolist()
    n_slots_of = market.slots_per_request.tolist()
    first_of = market.first_slot.tolist()
    bot_of = market.bot.tolist()
    bot_agent_of = market.bot_agent.tolist()
    size_of = market.display_size.tolist()
    octets_of = market.ip_octets.tolist()
    music_genre_of = market.music_genre.tolist()
    floor_of = market.floor.tolist()
    outside = market.market_price.tolist()
    uniforms = [tuple(u) for u in market.uniforms.tolist()]
    l_music = market.listener_music.tolist()
    l_talk = market.listener_talk.tolist()
    l_segs = market.listener_segments.tolist()
    l_eu = market.listener_eu.tolist()
    l_consent = market.listener_consent.tolist()
    l_optout = market.listener_optout.tolist()
    l_country = market.listener_country.tolist()
    l_device = market.listener_device.tolist()
    l_agent = market.listener_agent.tolist()
    true_interest = market.interest.tolist()
    ad_truth = market.ad_truth.tolist()
    v_click = market.value_click.tolist()
    v_complete = market.value_complete.tolist()
    v_conversion = market.value_conversion.tolist()

    # ---------------------------------------------------------------- state
    spent = [0] * n_camp  # one UTC day: today's spend is all the spend
    held = [0] * n_camp
    shows = [0.0] * n_ads
    actions = [0.0] * n_ads
    learned = [0.0] * n_ads
    rates: dict[int, list[float]] = {}
    freq: dict[tuple[int, int], list[float]] = {}
    fatigue: dict[tuple[int, int], int] = {}
    bot_cache: dict[str, bool] = {}
    holds: deque[tuple[float, int, int]] = deque()
    next_maintenance = -math.inf
    # PID pacing: multiplier, integral, previous error and plan anchor per campaign; the
    # controllers' clock.
    u = [1.0] * n_camp
    integral = [0.0] * n_camp
    prev_error = [0.0] * n_camp
    plan0 = [math.nan] * n_camp
    share0 = [0.0] * n_camp
    pacing_day = -1
    last_update = -math.inf
    next_update = -math.inf
    counts = dict.fromkeys(
        (
            "slots",
            "shown",
            "clicks",
            "completes",
            "skips",
            "conversions",
            "av_shown",
            "human_av_shown",
            "human_completes",
            "human_skips",
            "lost_outside",
            "bot_shown",
        ),
        0,
    )
    hourly = {
        k: [0.0] * 24
        for k in (
            "av_shown",
            "skips",
            "completes",
            "shown",
            "price_sum",
            "requests",
            "human_requests",
        )
    }
    hourly_spend: list[list[int]] = []
    value = [0.0] * n_camp
    exhausted = [math.nan] * n_camp
    bot_spend = 0
    camp_ok = [True] * n_camp
    avail = [0] * n_camp
    mult = [1.0] * n_camp

    def learn(a: int) -> None:
        p0 = _sigmoid(ad_base[a])
        p = (actions[a] + strength * p0) / (shows[a] + strength)
        p = min(max(p, 1e-9), 1.0 - 1e-9)
        learned[a] = math.log(p / (1.0 - p)) - ad_base[a]

    def planned_share(now: float) -> float:
        seconds = now % _DAY
        if cumulative is None:
            return seconds / _DAY
        h = int(seconds // 3600.0)
        before = cumulative[h - 1] if h > 0 else 0.0
        return before + (cumulative[h] - before) * (seconds - h * 3600.0) / 3600.0

    def update_pacing(now: float) -> None:
        """One pacing interval: a new day resets the controllers, campaigns not yet
        anchored start their plan now, then every PID controller steps."""
        nonlocal pacing_day, last_update, next_update
        day = int(now // _DAY)
        if day != pacing_day:
            continued = pacing_day >= 0 and day == pacing_day + 1
            for c in range(n_camp):
                plan0[c] = 0.0 if continued else math.nan
                share0[c] = 0.0
                prev_error[c] = 0.0
                integral[c] = 0.0
            pacing_day = day
            last_update = day * _DAY
        planned = planned_share(now)
        dt_hours = max(0.0, now - last_update) / 3600.0
        for c in range(n_camp):
            lo, hi = flight[c]
            if plan0[c] != plan0[c] or now < lo or now >= hi:  # NaN: not anchored yet
                plan0[c] = planned
                share0[c] = (spent[c] + held[c]) / max(daily[c], 1) if daily[c] > 0 else 0.0
            if not pid[c]:
                continue
            if daily[c] <= 0:
                u[c] = min_mult
                continue
            top = ceiling[c]
            if plan0[c] >= 1.0:
                target = 1.0
            else:
                target = share0[c] + (1.0 - share0[c]) * (planned - plan0[c]) / (1.0 - plan0[c])
            error = target - (spent[c] + held[c]) / daily[c]
            if error > 0.0:
                error = _CATCH_UP_WEIGHT * error / max(1.0 - target, _REMAINING_FLOOR)
            d_term = 0.0
            if kd != 0.0 and dt_hours > 0.0:
                d_term = kd * ((error - prev_error[c]) / dt_hours)
            v = 1.0 + kp * error + ki * integral[c] + d_term
            i_c = integral[c]
            if not ((v >= top and error > 0.0) or (v <= min_mult and error < 0.0)):
                i_c += error * dt_hours  # conditional integration (anti-windup)
            if ki > 0.0:
                i_c = min(max(i_c, -1.0 / ki), max(1.0, top - 1.0) / ki)
            integral[c] = i_c
            out = 1.0 + kp * error + ki * i_c + d_term
            u[c] = min_mult if out < min_mult else (top if out > top else out)
            prev_error[c] = error
        last_update = now
        next_update = now + interval

    for i in range(len(times)):
        now = times[i]
        hour = min(23, int((now - start) // 3600))
        while len(hourly_spend) < hour:
            hourly_spend.append(spent[:])
        if now >= next_maintenance:  # release expired holds, at most once a second
            next_maintenance = min(now + 1.0, (now // _DAY + 1.0) * _DAY)
            while holds and holds[0][0] <= now:
                _, c, micros = holds.popleft()
                held[c] = max(0, held[c] - micros)
        hourly["requests"][hour] += 1.0
        listener = listener_of[i]
        session = session_of[i]
        kind = kind_of[i]
        n_slots = n_slots_of[i]
        first = first_of[i]
        bot = bot_of[i]
        counts["slots"] += n_slots
        if not bot:
            hourly["human_requests"][hour] += 1.0

        # privacy: the EU listener's consent string, elsewhere a US Privacy opt-out
        eu = l_eu[listener]
        personalise = l_consent[listener] if eu else not l_optout[listener]

        # fraud: user agent, request rate per IP address, the address itself
        if bot and bot_agent_of[i]:
            ua = BOT_AGENTS[i % len(BOT_AGENTS)]
        else:
            ua = HUMAN_AGENTS[l_agent[listener]]
        known_bot = bot_cache.get(ua)
        if known_bot is None:
            low = ua.lower()
            known_bot = bot_cache[ua] = any(p in low for p in patterns)
        if bot:
            ip = bot_ips[i % len(bot_ips)]
        else:
            a_, b_ = octets_of[i]
            ip = (203 << 24) | (a_ << 16) | (b_ << 8) | (listener % 250 + 1)
        rate = rates.get(ip)
        if rate is None or now - rate[0] >= rate_window:
            rates[ip] = rate = [now, 0.0]
        rate[1] += 1.0
        score = 1.0 if known_bot else 0.0
        if rate[1] > rate_limit:
            score = max(score, min(1.0, (rate[1] - rate_limit) / rate_limit))
        k_ = bisect_right(dc_starts, ip) - 1
        if k_ >= 0 and ip <= dc_ends[k_] and dc_score > score:
            score = dc_score
        if _impossible_ipv4(ip) and bad_ip_score > score:
            score = bad_ip_score
        factor = 1.0 - score if discount_at <= score < block_at else 1.0

        # pacing: every request counts, vetoed or not; the controllers step once per
        # pacing interval
        if now >= next_update or now < last_update:
            update_pacing(now)
        if score >= block_at:
            continue

        user = 0
        segments: tuple[int, ...] = ()
        if personalise:
            user = -1 - (i % 8) if bot else listener + 1
            segments = tuple(l_segs[listener])
        seg_ids = frozenset(SEGMENTS[s] for s in segments)

        # audience: targeting, interest vector, focus (the market's requests carry no
        # content categories nor block lists)
        content: frozenset[str] = frozenset()
        country = EU[l_country[listener]] if eu else NON_EU[l_country[listener]]
        device = l_device[listener]
        req_hour = int((now // 3600.0) % 24)
        if session == SESSION_PODCAST:
            genre = 6 + l_talk[listener]
            spoken = talk_spoken[l_talk[listener]]
            music_context = False
        else:
            g = music_genre_of[i] if session == SESSION_BACKGROUND else l_music[listener]
            genre = g
            spoken = music_spoken[g]
            music_context = True
        for c in range(n_camp):
            lo, hi = flight[c]
            ok = lo <= now < hi
            if ok and t_countries[c] and country not in t_countries[c]:
                ok = False
            if ok and t_devices[c] and device not in t_devices[c]:
                ok = False
            if ok and t_hours[c] and req_hour not in t_hours[c]:
                ok = False
            if ok and t_content[c] and not (t_content[c] & content):
                ok = False
            if ok and t_segments[c] and not (t_segments[c] & seg_ids):
                ok = False
            if ok and personal[c] and not personalise:
                ok = False
            camp_ok[c] = ok
        interest = genre_vec[genre][:]
        for s in segments:
            vec = seg_vec[s]
            for j in range(len(interest)):
                interest[j] += vec[j]
        norm = math.sqrt(sum(x * x for x in interest))
        if norm > 0.0:
            interest = [x / norm for x in interest]
        if kind == SLOT_AUDIO:
            focus = FOCUS_HIGH if session == SESSION_PODCAST or spoken else FOCUS_BACKGROUND
        elif spoken:
            focus = FOCUS_HIGH
        elif music_context:
            focus = FOCUS_BACKGROUND
        else:
            focus = FOCUS_NORMAL

        # safety: pauses, content exclusions, frequency caps
        for c in range(n_camp):
            if not camp_ok[c]:
                continue
            if paused[c] or excluded[c] & content:
                camp_ok[c] = False
            elif user and cap_count[c] > 0:
                f = freq.get((user, c))
                if f is not None and now - f[0] < cap_window[c] and f[1] >= cap_count[c]:
                    camp_ok[c] = False

        # pacing: what each campaign may still commit, and its multiplier
        for c in range(n_camp):
            committed = spent[c] + held[c]
            left = daily[c] - committed
            if total[c] >= 0:
                left = min(left, total[c] - committed)
            avail[c] = left if left > 0 else 0
            if daily[c] <= 0 or committed >= daily[c]:
                mult[c] = 0.0
            else:
                mult[c] = u[c] if pid[c] else 1.0

        # inventory, relevance, bidding, creative and auction, slot by slot
        slot_mime = _MIME_OF_SLOT[kind]
        size = SIZES[size_of[i]]
        floor = floor_of[first]
        bids: dict[int, tuple[float, float]] = {}  # ad -> (bid, expected value)
        won: set[int] = set()
        winners: list[tuple[int, float, float, int, float] | None] = []
        for _k in range(n_slots):
            cands: list[tuple[int, float, int]] = []
            best = -1
            best_eff = best_value = 0.0
            best_tier = best_key = 0
            best_duration = 0.0
            for a in range(n_ads):
                c = ad_camp[a]
                if not camp_ok[c] or ad_fmt[a] != kind or a in won:
                    continue
                duration = 0.0
                if kind == SLOT_DISPLAY:
                    if size not in ad_sizes[a] or slot_mime not in ad_variants[a][0][1]:
                        continue
                else:
                    chosen = -1.0
                    for d, mimes in ad_variants[a]:
                        if not (_MIN_DURATION <= d <= _MAX_DURATION and slot_mime in mimes):
                            continue
                        if chosen < 0.0:
                            chosen = d
                            if focus == FOCUS_NORMAL:
                                break
                        elif (focus == FOCUS_HIGH and d < chosen) or (
                            focus == FOCUS_BACKGROUND and d > chosen
                        ):
                            chosen = d
                    if chosen < 0.0:
                        continue
                    duration = chosen
                priced = bids.get(a)
                if priced is None:
                    emb = ad_emb[a]
                    dot = 0.0
                    for j in range(len(emb)):
                        dot += emb[j] * interest[j]
                    p = _sigmoid(ad_base[a] + learned[a] + scale * dot)
                    st = strategy[c]
                    if st == _FIXED_CPM:
                        v = amount[c]
                    elif st == _TARGET_CPA:
                        v = p * conv_rate[c] * amount[c] * 1000.0
                    else:
                        v = p * amount[c] * 1000.0
                    priced = bids[a] = (v if v < max_bid[c] else max_bid[c], v)
                bid, worth = priced
                eff = bid * mult[c] * factor
                cap = avail[c] / 1000.0
                if eff > cap:
                    eff = cap
                if eff > max_bid[c]:
                    eff = max_bid[c]
                if eff <= 0.0 or eff < floor:
                    continue
                cands.append((a, eff, c))
                # rank: tier, effective bid, expected value, then a hash of ad and request
                t = tier[c]
                if best >= 0 and t < best_tier:
                    continue
                if best < 0 or t > best_tier or eff > best_eff:
                    better = True
                elif eff < best_eff:
                    better = False
                elif worth != best_value:
                    better = worth > best_value
                else:
                    key = (ad_key[a] ^ i) * 0xBF58476D1CE4E5B9 & _MASK64
                    better = key < best_key
                if better:
                    best, best_eff, best_tier, best_value, best_duration = (
                        a,
                        eff,
                        t,
                        worth,
                        duration,
                    )
                    best_key = (ad_key[a] ^ i) * 0xBF58476D1CE4E5B9 & _MASK64
            if best < 0:
                winners.append(None)
                continue
            c = ad_camp[best]
            second = 0.0  # the best bid of another campaign
            for _, eff, other in cands:
                if other != c and eff > second:
                    second = eff
            price = second if second > floor else floor
            if price > best_eff:
                price = best_eff
            micros = int(price * 1000.0 + 0.5)
            if micros > avail[c]:
                micros = avail[c]
            avail[c] -= micros
            won.add(best)
            held[c] += micros  # the engine's budget hold
            winners.append((best, best_eff, price, micros, best_duration))

        # the runner: outside competition, responses, spend and accounting
        for k, win in enumerate(winners):
            if win is None:
                continue
            s = first + k
            a, eff, price, micros, duration = win
            c = ad_camp[a]
            if eff < outside[s]:
                counts["lost_outside"] += 1
                holds.append((now + hold_ttl, c, micros))
                continue
            held[c] = max(0, held[c] - micros)  # settle the hold as spend
            left = daily[c] - spent[c] - held[c]
            if total[c] >= 0:
                left = min(left, total[c] - spent[c] - held[c])
            charged = min(micros, max(left, 0))
            spent[c] += charged
            if user and cap_count[c] > 0:
                f = freq.get((user, c))
                if f is None or now - f[0] >= cap_window[c]:
                    freq[(user, c)] = [now, 1.0]
                else:
                    f[1] += 1.0
            shows[a] += 1.0
            learn(a)
            pair = (listener, c)
            seen = fatigue.get(pair, 0)
            fatigue[pair] = seen + 1
            click, complete, skip, conversion, worth = respond(
                bot,
                true_interest[listener],
                ad_truth[a],
                ad_fmt[a],
                session,
                uniforms[s],
                duration,
                seen,
                v_click[c],
                v_complete[c],
                v_conversion[c],
            )
            counts["shown"] += 1
            hourly["shown"][hour] += 1.0
            hourly["price_sum"][hour] += price
            av = ad_fmt[a] != SLOT_DISPLAY
            if bot:
                counts["bot_shown"] += 1
                bot_spend += charged
            if av:
                counts["av_shown"] += 1
                if not bot:
                    counts["human_av_shown"] += 1
                    hourly["av_shown"][hour] += 1.0
            value[c] += worth
            if click:
                counts["clicks"] += 1
                if learns_clicks[a]:
                    actions[a] += 1.0
                    learn(a)
            if complete:
                counts["completes"] += 1
                if not bot:
                    counts["human_completes"] += 1
                    hourly["completes"][hour] += 1.0
                if not learns_clicks[a]:
                    actions[a] += 1.0
                    learn(a)
            if skip:
                counts["skips"] += 1
                if not bot:
                    counts["human_skips"] += 1
                    hourly["skips"][hour] += 1.0
            if conversion:
                counts["conversions"] += 1
            if exhausted[c] != exhausted[c]:  # NaN: not exhausted yet
                left = daily[c] - spent[c] - held[c]
                if left <= 0.001 * daily[c]:
                    exhausted[c] = (now - start) / 3600.0
    while len(hourly_spend) < 24:
        hourly_spend.append(spent[:])
    counts["bot_spend_micros"] = bot_spend
    return PlainRun(
        counts=counts,
        spend_micros=spent,
        daily_micros=daily,
        value=value,
        hourly_spend_micros=hourly_spend,
        hourly=hourly,
        exhausted_hour=exhausted,
    )
