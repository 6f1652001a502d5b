"""The simulator's market loop written in plain Python: the competitor of ``run_arm``.

:func:`run_plain` plays the same seeded :class:`~adcore.sim.Market` as
``run_arm(market, "agents")``: the same requests (read from the market's arrays), the same
catalog (its :class:`~adcore.catalog.Campaign` and :class:`~adcore.catalog.Ad` objects and
signal vectors), the same outside competition and the same pre-drawn response uniforms.
Before the loop the market's arrays are turned into Python lists (``tolist``); inside it
there is no NumPy and no Numba, only lists, dicts, tuples and floats.

Per request it does the work of the ten agents and of the runner:

- fraud: known-bot user agent (the engine's patterns, cached per user agent) and a
  request-rate counter per IP address over ``fraud_rate_window``; score at the threshold
  or above vetoes the request;
- privacy: personalise only outside GDPR and without a US Privacy opt-out (the engine
  fails closed under GDPR); only then the user key and segments are used;
- audience: every campaign's flight, country, device type, hour, content and segment
  targeting; the interest vector, the normalised sum of the genre's signal vector and,
  with consent, the listener's segment vectors; the focus state;
- safety: paused campaigns and per-user frequency caps (counted on impressions);
- inventory, per slot and ad: format, display size, MIME type and duration fit (the
  first fitting variant), the slot's floor;
- relevance: ``sigmoid(logit(base_rate) + learned + relevance_scale * embedding . interest)``,
  with ``learned`` the same empirical-Bayes shrinkage of observed action rates as the
  relevance agent (updated on every impression and action);
- bidding (the four strategies, capped at the max bid), pacing (the planned-spend
  multiplier and what each campaign may still commit), creative (shortest cut under high
  focus, longest in the background);
- auction, per slot: second price with floors among the eligible ads that have not won
  an earlier slot of the request, effective bids capped at the campaign's budget;
- the runner: outside competition, budget holds (settled on impression, released after
  ``hold_ttl`` when the outside market took the slot), the listener's response
  (:func:`respond`, the same model as :meth:`adcore.sim.Behaviour.respond`), spend, value,
  fatigue, hourly accounting and budget exhaustion.

How it differs from the engine, on purpose: no OpenRTB request objects (no building,
validation or feature extraction from them), no ``Decision``/``SlotDecision`` structs,
impression ids or feedback event objects, no event bus, no traces or latency timing;
unbounded dicts instead of hashed counter tables (fraud rates, frequency caps); embedding
products in float64 instead of float32; ties broken by a cheap integer hash instead of
the engine's ``splitmix64`` of ad and request keys. Its decisions are therefore close to
the engine's but not identical; the benchmark checks the aggregate outcomes agree.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from adcore.catalog import AdFormat, BidStrategy
from adcore.config import EngineConfig
from adcore.sim import Market
from adcore.sim.market import (
    BOT_AGENTS,
    EU,
    HUMAN_AGENTS,
    MUSIC_GENRES,
    NON_EU,
    SEGMENTS,
    SESSION_BACKGROUND,
    SESSION_MUSIC,
    SESSION_PODCAST,
    SIZES,
    SLOT_AUDIO,
    SLOT_DISPLAY,
    SLOT_VIDEO,
    TALK_GENRES,
)

__all__ = ["PlainRun", "plain_config", "respond", "run_plain"]

FOCUS_NORMAL, FOCUS_HIGH, FOCUS_BACKGROUND = 0, 1, 2
_SPOKEN_WORDS = ("podcast", "talk", "news", "spoken", "audiobook", "comedy", "interview")
_STRATEGY = {
    BidStrategy.FIXED_CPM: 0,
    BidStrategy.TARGET_CPC: 1,
    BidStrategy.TARGET_CPA: 2,
    BidStrategy.MAX_VALUE: 3,
}
_FORMAT = {AdFormat.AUDIO: SLOT_AUDIO, AdFormat.VIDEO: SLOT_VIDEO, AdFormat.DISPLAY: SLOT_DISPLAY}
_MIME_OF_SLOT = {SLOT_AUDIO: "audio/mpeg", SLOT_VIDEO: "video/mp4", SLOT_DISPLAY: "image/png"}
_MIN_DURATION, _MAX_DURATION = 5.0, 30.0  # the market's audio and video slots
_MASK64 = (1 << 64) - 1


def plain_config(market: Market) -> EngineConfig:
    """The configuration ``run_arm`` gives the engine for ``market``."""
    return EngineConfig(
        latency_budget_us=float("inf"),
        pacing_curve=market.scenario.diurnal,
        hold_ttl=60.0,
        seed=0,
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
        """A few of :class:`adcore.sim.ArmRun`'s metrics, computed the same way."""
        n = self.counts
        shown, av = n["shown"], n["av_shown"]
        revenue = sum(self.spend_micros) / 1e6
        return {
            "ctr": n["clicks"] / shown if shown else 0.0,
            "completion_rate": n["completes"] / av if av else 0.0,
            "skip_rate": n["skips"] / av if av else 0.0,
            "fill_rate": shown / n["slots"] if n["slots"] else 0.0,
            "revenue": revenue,
            "advertiser_value": sum(self.value),
            "spend_vs_budget": revenue / (sum(self.daily_micros) / 1e6),
        }


def _spoken(genre: str) -> bool:
    low = genre.lower()
    return any(w in low for w in _SPOKEN_WORDS)


def run_plain(market: Market, config: EngineConfig | None = None) -> PlainRun:
    """Decide, show and account for every request of ``market`` in plain Python (see
    the module docstring)."""
    cfg = config or plain_config(market)
    sc = market.scenario
    catalog = market.catalog
    start = sc.start

    # ---------------------------------------------------------------- catalog, as lists
    camps = catalog.campaigns
    n_camp = len(camps)
    camp_row = {c.id: k for k, c in enumerate(camps)}
    strategy = [_STRATEGY[BidStrategy(c.strategy)] for c in camps]
    amount = [float(c.bid) for c in camps]
    max_bid = [float(c.max_bid) for c in camps]
    conv_rate = [float(c.conversion_rate) for c in camps]
    priority = [int(c.priority) for c in camps]
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

    ads = catalog.ads
    n_ads = len(ads)
    ad_camp = [camp_row[a.campaign] for a in ads]
    ad_fmt = [_FORMAT[AdFormat(a.format)] for a in ads]
    ad_emb = [list(a.embedding) for a in ads]
    ad_base = [math.log(a.base_rate / (1.0 - a.base_rate)) for a in ads]
    ad_sizes = [frozenset((int(w), int(h)) for w, h in a.sizes) for a in ads]
    ad_variants: list[list[tuple[float, frozenset[str]]]] = []
    for a in ads:
        if a.variants:
            vs = [(v.duration, frozenset(v.mimes or a.mimes)) for v in a.variants]
        else:
            vs = [(a.duration, frozenset(a.mimes))]
        ad_variants.append(vs)
    ad_key = [(i + 1) * 0x9E3779B97F4A7C15 & _MASK64 for i in range(n_ads)]
    is_action_click = [f == SLOT_DISPLAY for f in ad_fmt]
    signals = catalog.signals
    genre_vec = [list(signals[f"genre:{g.lower()}"]) for g in MUSIC_GENRES + TALK_GENRES]
    seg_vec = [list(signals[f"seg:{s}"]) for s in SEGMENTS]
    talk_spoken = [_spoken(g) for g in TALK_GENRES]
    music_spoken = [_spoken(g) for g in MUSIC_GENRES]

    scale = cfg.relevance_scale
    strength = cfg.prior_strength
    gain = cfg.pacing_gain
    min_mult = cfg.pacing_min_multiplier
    threshold = cfg.fraud_block_threshold
    rate_limit = cfg.fraud_rate_limit
    rate_window = cfg.fraud_rate_window
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
    spent = [0] * n_camp
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
    counts = dict.fromkeys(
        (
            "slots",
            "shown",
            "clicks",
            "completes",
            "skips",
            "conversions",
            "av_shown",
            "lost_outside",
            "bot_shown",
        ),
        0,
    )
    hourly = {
        k: [0.0] * 24 for k in ("av_shown", "skips", "completes", "shown", "price_sum", "requests")
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

    for i in range(len(times)):
        now = times[i]
        hour = min(23, int((now - start) // 3600))
        while len(hourly_spend) < hour:
            hourly_spend.append(spent[:])
        if now >= next_maintenance:  # release expired holds, at most once a second
            next_maintenance = now + 1.0
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

        # fraud: user agent and request rate per IP address
        if bot and bot_agent_of[i]:
            ua = BOT_AGENTS[i % len(BOT_AGENTS)]
        else:
            ua = HUMAN_AGENTS[l_agent[listener]]
        known_bot = bot_cache.get(ua)
        if known_bot is None:
            low = ua.lower()
            known_bot = bot_cache[ua] = any(p in low for p in patterns)
        if bot:
            ip = -1 - (i % 4)
        else:
            a_, b_ = octets_of[i]
            ip = (a_ << 16) | (b_ << 8) | (listener % 250 + 1)
        rate = rates.get(ip)
        if rate is None or now - rate[0] >= rate_window:
            rates[ip] = rate = [now, 0.0]
        rate[1] += 1.0
        score = 1.0 if known_bot else 0.0
        if rate[1] > rate_limit:
            score = max(score, min(1.0, (rate[1] - rate_limit) / rate_limit))
        if score >= threshold:
            continue

        # privacy
        eu = l_eu[listener]
        personalise = not eu and not l_optout[listener]
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

        # pacing: planned spend, multipliers, what each campaign may still commit
        seconds = now % 86400.0
        if cumulative is None:
            planned = seconds / 86400.0
        else:
            h = int(seconds // 3600.0)
            before = cumulative[h - 1] if h > 0 else 0.0
            planned = before + (cumulative[h] - before) * (seconds - h * 3600.0) / 3600.0
        for c in range(n_camp):
            left = daily[c] - spent[c] - held[c]
            if total[c] >= 0:
                left = min(left, total[c] - spent[c] - held[c])
            avail[c] = left if left > 0 else 0
            committed = spent[c] + held[c]
            if daily[c] <= 0 or committed >= daily[c]:
                mult[c] = 0.0
            else:
                m = 1.0 - gain * (committed / daily[c] - planned)
                mult[c] = min_mult if m < min_mult else (1.0 if m > 1.0 else m)

        # inventory, relevance, bidding, creative and auction, slot by slot
        slot_mime = _MIME_OF_SLOT[kind]
        size = SIZES[size_of[i]]
        floor = floor_of[first]
        bids: dict[int, float] = {}
        won: set[int] = set()
        winners: list[tuple[int, float, float, int, float] | None] = []
        for _k in range(n_slots):
            cands: list[tuple[int, float, int, float]] = []
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
                bid = bids.get(a)
                if bid is None:
                    emb = ad_emb[a]
                    dot = 0.0
                    for j in range(len(emb)):
                        dot += emb[j] * interest[j]
                    p = _sigmoid(ad_base[a] + learned[a] + scale * dot)
                    st = strategy[c]
                    if st == 0:
                        v = amount[c]
                    elif st == 2:
                        v = p * conv_rate[c] * amount[c] * 1000.0
                    else:
                        v = p * amount[c] * 1000.0
                    bid = bids[a] = v if v < max_bid[c] else max_bid[c]
                eff = bid * mult[c]
                cap = avail[c] / 1000.0
                if eff > cap:
                    eff = cap
                if eff > 0.0 and eff >= floor:
                    cands.append((a, eff, priority[c], duration))
            if not cands:
                winners.append(None)
                continue
            best, best_eff, best_prio, best_duration = cands[0]
            best_key = (ad_key[best] ^ i) * 0xBF58476D1CE4E5B9 & _MASK64
            for a, eff, prio, duration in cands[1:]:
                if prio < best_prio or (prio == best_prio and eff < best_eff):
                    continue
                key = (ad_key[a] ^ i) * 0xBF58476D1CE4E5B9 & _MASK64
                if prio > best_prio or eff > best_eff or key < best_key:
                    best, best_eff, best_prio, best_duration, best_key = (
                        a,
                        eff,
                        prio,
                        duration,
                        key,
                    )
            second = 0.0
            for a, eff, _, _ in cands:
                if a != best and eff > second:
                    second = eff
            price = second if second > floor else floor
            if price > best_eff:
                price = best_eff
            c = ad_camp[best]
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
            key = (listener, c)
            seen = fatigue.get(key, 0)
            fatigue[key] = seen + 1
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
            if bot:
                counts["bot_shown"] += 1
                bot_spend += micros
            if ad_fmt[a] != SLOT_DISPLAY:
                counts["av_shown"] += 1
                hourly["av_shown"][hour] += 1.0
            value[c] += worth
            if click:
                counts["clicks"] += 1
                if is_action_click[a]:
                    actions[a] += 1.0
                    learn(a)
            if complete:
                counts["completes"] += 1
                hourly["completes"][hour] += 1.0
                actions[a] += 1.0
                learn(a)
            if skip:
                counts["skips"] += 1
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
