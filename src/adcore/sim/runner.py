"""Running arms over a simulated day, and collecting what happened.

An arm is a way of deciding: a list of agents and an engine configuration. The built-in
arms (:data:`ARMS`):

- ``agents``: the ten agents with their default configuration;
- ``monolith``: what a strong team runs today with one model (see
  :mod:`adcore.sim.baseline`): one online-learned response model ranking by bid times
  predicted action rate, default PID pacing, the fraud filter, frequency caps, brand
  safety and consent handling; no creative adaptation (every ad plays its default cut);
- ``naive`` (alias ``baseline``): a strawman kept for reference: the same response model
  without pacing, fraud filter, frequency caps or creative adaptation;
- ``learned`` and ``monolith-learned``: ``agents`` and ``monolith`` with the contextual
  relevance agent (an FTRL-proximal model of each ad in its context) as their response
  model instead of per-ad counting; ``learned`` also chooses cuts with the bandit
  creative agent instead of the fixed rule.

Every arm decides the same seeded market (common random numbers), so differences come
from the agents, not from the traffic.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import msgspec
import numpy as np
from numpy.typing import NDArray

from .. import openrtb as rtb
from ..agents.privacy import request_activities
from ..config import EngineConfig
from ..decision import Decision, SlotDecision
from ..engine import Engine
from ..errors import InvalidInput
from ..events import Click, Complete, Conversion, Impression, Skip
from .arms import ARMS, DEFAULT_ARMS, Arm, ArmRegistry, resolve_arms
from .behaviour import Behaviour, SlotOutcome
from .market import SIM_VENDOR_ID, SLOT_AUDIO, SLOT_DISPLAY, SLOT_VIDEO, Market
from .results import ArmRun, SimResults, match_spend
from .scenario import Scenario, load_scenario

__all__ = [
    "ARMS",
    "DEFAULT_ARMS",
    "Arm",
    "ArmRegistry",
    "Shown",
    "play_request",
    "resolve_arms",
    "run_arm",
    "simulate",
]


def _engine_config(scenario: Scenario) -> EngineConfig:
    # No latency budget: a simulated day must not depend on how busy the machine is. The
    # vendor id is the one the market's consenting listeners give consent to. Traffic
    # from data centres known to send non-human traffic is general invalid traffic, to be
    # filtered, not merely scored (MRC, "Invalid Traffic Detection and Filtration
    # Guidelines Addendum", 2015): no simulated listener listens from a data centre, and
    # every simulated bot runs in one. No pacing curve: the pacing agent is not told the
    # scenario's traffic; it learns its forecast from the requests it sees, as in
    # production (on a simulated first day, a flat plan). Campaigns behind plan catch up,
    # up to ten times their own bids and never past their max bids (every built-in
    # fixed-CPM campaign reaches its max bid below 10).
    return EngineConfig(
        latency_budget_us=float("inf"),
        pacing_max_multiplier=10.0,
        hold_ttl=60.0,
        seed=0,
        vendor_id=SIM_VENDOR_ID,
        fraud_datacenter_score=1.0,
        # The market builds its requests as typed Structs: no need to re-check types.
        trusted_structs=True,
    )


class _Progress:
    def __init__(self, total: int, out: TextIO | None) -> None:
        self.total = total
        self.done = 0
        self.out = out
        self.started = time.perf_counter()
        self.shown = -1

    def advance(self, n: int, label: str) -> None:
        self.done += n
        if self.out is None:
            return
        pct = int(100 * self.done / max(1, self.total))
        if pct == self.shown and self.done < self.total:
            return
        self.shown = pct
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
        self.out.write(f"\r[{bar}] {pct:3d}% {label:<22} {rate:9.0f} req/s")
        if self.done >= self.total:
            self.out.write("\n")
        self.out.flush()


@dataclass(frozen=True)
class Shown:
    """One slot the engine won and the outside market let through, and what followed."""

    slot: int
    decision: SlotDecision
    campaign: int
    ad: int
    audio_video: bool
    outcome: SlotOutcome
    charged_micros: int = 0
    """What the ledger charged for the impression (micro-units): its clearing price,
    less what the campaign's budget could no longer cover."""


def play_request(
    engine: Engine,
    market: Market,
    i: int,
    fatigue: dict[tuple[int, int], int],
    *,
    trace: bool = False,
) -> tuple[Decision, list[Shown], float]:
    """Decide request ``i`` of ``market`` with ``engine``; for every slot it won that the
    outside market does not outbid, report the impression, draw the listener's response
    (``fatigue`` counts earlier exposures per listener and campaign, and is updated) and
    report it as feedback events one second later. Returns the decision, what was shown,
    and how long ``Engine.decide`` took (microseconds)."""
    request = market.request(i)
    row = market._row(i)
    decision, seen, _, decide_us = _Player(engine, market, fatigue).play(
        i, request, market._time(i), row[0], row[4], trace
    )
    shown = [
        Shown(
            slot=s,
            decision=slot,
            campaign=c,
            ad=ad,
            audio_video=market._ad_format[ad] != SLOT_DISPLAY,
            outcome=outcome,
            charged_micros=charged,
        )
        for s, slot, c, ad, outcome, charged in seen
    ]
    return decision, shown, decide_us


_Seen = tuple[int, SlotDecision, int, int, SlotOutcome, int]
"""A slot shown: its index, the engine's decision for it, the campaign's and the ad's
rows in the market, the listener's response and what the ledger charged (micro-units)."""


class _Player:
    """Decides a market's requests with one engine and plays what it shows: the
    outside market's check, the impression, the listener's response and the feedback
    events (what :func:`run_arm` and :func:`play_request` share)."""

    __slots__ = (
        "ad_row",
        "campaign_row",
        "decide",
        "engine",
        "fatigue",
        "feedback",
        "ledger",
        "ledger_row",
        "market",
        "respond",
        "values",
    )

    def __init__(self, engine: Engine, market: Market, fatigue: dict[tuple[int, int], int]) -> None:
        self.engine = engine
        self.market = market
        self.fatigue = fatigue
        self.decide = engine.decide
        self.feedback = engine.feedback
        self.respond = Behaviour.respond
        self.ledger = engine.ledger
        self.ledger_row = engine.catalog.snapshot.campaign_index
        self.campaign_row = market.campaign_row
        self.ad_row = market.ad_row
        self.values = list(
            zip(
                market.value_click.tolist(),
                market.value_complete.tolist(),
                market.value_conversion.tolist(),
                strict=True,
            )
        )

    def play(
        self, i: int, request: rtb.BidRequest, now: float, listener: int, first: int, trace: bool
    ) -> tuple[Decision, list[_Seen], int, float]:
        """Decide request ``i`` (``request``, at ``now``, from ``listener``, whose first
        slot is ``first``) and play the slots it won. Returns the decision, the slots
        shown, how many slots an ad won, and how long the decision took (us)."""
        t0 = time.perf_counter_ns()
        decision = self.decide(request, now=now, trace=trace)
        decide_us = (time.perf_counter_ns() - t0) / 1000.0
        market = self.market
        slot_values = market._slot
        seen: list[_Seen] = []
        won = 0
        s = first - 1
        for slot in decision.slots:
            s += 1
            if slot.ad_id is None:
                continue
            won += 1
            iid, cid = slot.impression_id, slot.campaign_id
            if iid is None or cid is None:
                continue
            if slot.bid < slot_values(s)[3]:  # the outside market outbids us
                continue
            row = self.ledger_row[cid]
            ledger = self.ledger
            before = ledger.spent_total.item(row)
            feedback = self.feedback
            feedback(Impression(impression_id=iid, timestamp=now))
            charged: int = ledger.spent_total.item(row) - before
            c = self.campaign_row[cid]
            ad = self.ad_row[slot.ad_id]
            key = (listener, c)
            exposures = self.fatigue.get(key, 0)
            self.fatigue[key] = exposures + 1
            value_click, value_complete, value_conversion = self.values[c]
            outcome = self.respond(
                market,
                s,
                ad,
                slot.duration,
                exposures,
                value_click,
                value_complete,
                value_conversion,
            )
            later = now + 1.0
            if outcome.click:
                feedback(Click(impression_id=iid, timestamp=later))
            if outcome.complete:
                feedback(Complete(impression_id=iid, timestamp=later))
            if outcome.skip:
                feedback(Skip(impression_id=iid, timestamp=later))
            if outcome.conversion:
                feedback(Conversion(impression_id=iid, timestamp=later, value=value_conversion))
            seen.append((s, slot, c, ad, outcome, charged))
        return decision, seen, won, decide_us


_COUNTS = (
    "requests",
    "human_requests",
    "bot_requests",
    "slots",
    "shown",
    "lost_outside",
    "clicks",
    "completes",
    "skips",
    "conversions",
    "av_shown",
    "human_shown",
    "human_affinity",
    "human_display",
    "human_display_clicks",
    "human_audio",
    "human_audio_completes",
    "human_video",
    "human_video_completes",
    "human_av_skips",
    "human_clicks",
    "seconds_listened",
    "bot_shown",
    "bot_clicks",
    "gdpr_requests",
    "gdpr_personalised",
    "consent_violations",
)

_LOGGED = (
    "request",
    "slot",
    "ad",
    "campaign",
    "charge",
    "value",
    "click",
    "complete",
    "skip",
    "duration",
    "bid",
)
"""What run_arm logs per ad shown (the ``shown_*`` arrays of :class:`ArmRun`)."""


def run_arm(
    market: Market,
    arm: Arm | str,
    *,
    config: EngineConfig | None = None,
    progress: _Progress | None = None,
    trace_every: int = 500,
    load_models: str | os.PathLike[str] | None = None,
    save_models: str | os.PathLike[str] | None = None,
) -> ArmRun:
    """Decide every request of ``market`` with ``arm`` (an :class:`Arm`, or a name or
    alias in :data:`ARMS`) through the real engine, show the winning ads the outside
    market lets through, play the listeners' responses back as feedback, and measure
    (see ``docs/simulator.md`` for every metric). With ``load_models``, the engine
    starts from the models saved in that directory (:meth:`adcore.Engine.load_models`);
    with ``save_models``, it saves what it learned there at the end of the day."""
    if isinstance(arm, str):
        if arm not in ARMS:
            raise InvalidInput(f"unknown arm {arm!r}; known: {sorted(ARMS)}", "arm")
        arm = ARMS[arm]
    sc = market.scenario
    engine_config = arm.configure(config or _engine_config(sc))
    engine = Engine(market.catalog, engine_config, agents=arm.agents())
    if arm.attach is not None:
        arm.attach(engine)
    if load_models is not None:
        engine.load_models(load_models)
    vendor_id = engine_config.vendor_id
    n_camp = len(market.catalog.campaigns)
    n = market.n_requests
    hourly_spend = np.zeros((24, n_camp))
    counts: dict[str, float] = dict.fromkeys(_COUNTS, 0)
    played: list[tuple[int, list[_Seen]]] = []  # (request, what it showed) when it did
    fatigue: dict[tuple[int, int], int] = {}
    exhausted: list[float | None] = [None] * n_camp
    latency: list[float] = []
    agent_us: dict[str, list[float]] = {}
    ledger = engine.ledger
    daily = np.array([c.daily_budget for c in market.catalog.campaigns], dtype=np.float64)
    campaign_ids = [c.id for c in market.catalog.campaigns]
    order = _order(engine, campaign_ids)
    ledger_row = engine.catalog.snapshot.campaign_index
    consented = (market.listener_eu & market.listener_consent).tolist()
    play = _Player(engine, market, fatigue).play
    request_of = market.request
    start = sc.start
    label = f"{arm.name} seed {market.seed}"
    slots = gdpr = personalised_gdpr = violations = lost_outside = 0
    hour_mark = 0
    times: list[float] = []
    rows: list[Any] = []
    first = 0
    for i in range(n):
        j = i - first
        if j >= len(rows):
            block = market._block(i)
            first, times, rows = block.start, block.times, block.requests
            j = i - first
        now = times[j]
        hour = min(23, int((now - start) // 3600))
        while hour_mark < hour:
            hourly_spend[hour_mark] = ledger.spent_total[order]
            hour_mark += 1
        request = request_of(i)
        row = rows[j]
        listener = row[0]
        decision, seen, won, decide_us = play(
            i, request, now, listener, row[4], trace_every > 0 and i % trace_every == 0
        )
        latency.append(decide_us)
        regs = request.regs
        if regs is not None and regs.gdpr == 1:
            # What the privacy agent allowed, against what the listener really chose.
            personalise = request_activities(request, vendor_id).personalise
            gdpr += 1
            personalised_gdpr += personalise
            violations += personalise and not consented[listener]
        if decision.trace is not None:
            for a in decision.trace.agents:
                agent_us.setdefault(a.agent, []).append(a.elapsed_us)
        slots += len(decision.slots)
        if won:
            lost_outside += won - len(seen)
        if seen:
            played.append((i, seen))
            for _, slot, c, _, _, _ in seen:
                if exhausted[c] is None and slot.campaign_id is not None:
                    # The campaign's balance, as the engine's in-process ledger reports
                    # it (InProcessLedger.balance), read from its books.
                    r = ledger_row[slot.campaign_id]
                    held = ledger.held.item(r)
                    budget = ledger.daily.item(r)
                    available = budget - ledger.spent_today.item(r) - held
                    total = ledger.total.item(r)
                    if total >= 0:
                        available = min(available, total - ledger.spent_total.item(r) - held)
                    if max(available, 0) <= 0.001 * budget:
                        exhausted[c] = (now - start) / 3600.0
        if progress is not None and (i % 1000 == 999 or i == n - 1):
            progress.advance(1000 if i % 1000 == 999 else (i % 1000) + 1, label)
    while hour_mark < 24:
        hourly_spend[hour_mark] = ledger.spent_total[order]
        hour_mark += 1
    counts["slots"] = slots
    counts["lost_outside"] = lost_outside
    counts["gdpr_requests"] = gdpr
    counts["gdpr_personalised"] = personalised_gdpr
    counts["consent_violations"] = violations
    if save_models is not None:
        engine.save_models(save_models)
    log = _log(played)
    hourly, value, bot_spend = _tally(market, n, log, counts)
    spend = hourly_spend[-1]
    return ArmRun.build(
        arm=arm.name,
        seed=market.seed,
        scenario=sc,
        counts=counts,
        spend_micros=spend,
        daily_micros=daily,
        value=value,
        bot_spend_micros=bot_spend,
        hourly_spend_micros=hourly_spend,
        hourly=hourly,
        exhausted_hour=np.array([np.nan if h is None else h for h in exhausted]),
        latency_us=np.array(latency, dtype=np.float64),
        agent_us=agent_us,
        campaign_ids=campaign_ids,
        shown={k: log[k] for k in _LOGGED},
    )


def _log(played: list[tuple[int, list[_Seen]]]) -> dict[str, NDArray[Any]]:
    """The day's log of shown ads, one array per column (the :data:`_LOGGED` columns,
    then ``price`` and ``conversion``), in the order they were shown."""
    rows = [
        (
            i,
            s,
            ad,
            c,
            charged,
            outcome.value,
            outcome.click,
            outcome.complete,
            outcome.skip,
            slot.duration,
            slot.bid,  # the winner's effective bid (CPM)
            slot.price,
            outcome.conversion,
        )
        for i, seen in played
        for s, slot, c, ad, outcome, charged in seen
    ]
    names = (*_LOGGED, "price", "conversion")
    types = (np.int64,) * 5 + (np.float64, np.bool_, np.bool_, np.bool_) + (np.float64,) * 3
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return {
        name: np.asarray(column, dtype=dtype)
        for name, column, dtype in zip(names, columns, (*types, np.bool_), strict=True)
    }


def _tally(
    market: Market,
    n: int,
    log: dict[str, NDArray[Any]],
    counts: dict[str, float],
) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.float64], int]:
    """Count what the day's log of shown ads says, in whole arrays: the request and
    engagement counts (into ``counts``), the hourly tallies, each campaign's value and
    the spend on bots. Sums of floats run in the order the ads were shown, as a running
    total would."""
    sc = market.scenario
    hours = np.minimum(23, ((market.time[:n] - sc.start) // 3600).astype(np.int64))
    bot = np.asarray(market.bot[:n], dtype=np.bool_)
    req, ad, click, complete, skip = (
        log[k] for k in ("request", "ad", "click", "complete", "skip")
    )
    fmt = np.asarray(market.ad_format_code, dtype=np.int64)[ad]
    shown_bot = bot[req]
    shown_hour = hours[req]
    human = ~shown_bot
    av = fmt != SLOT_DISPLAY
    human_av = human & av

    def count(mask: NDArray[np.bool_]) -> int:
        return int(np.count_nonzero(mask))

    bots = count(bot)
    counts["requests"] = n
    counts["human_requests"] = n - bots
    counts["bot_requests"] = bots
    counts["shown"] = int(req.size)
    counts["clicks"] = count(click)
    counts["completes"] = count(complete)
    counts["skips"] = count(skip)
    counts["conversions"] = count(log["conversion"])
    counts["av_shown"] = count(av)
    counts["human_shown"] = count(human)
    taste_of = market.taste[req[human]].tolist()  # the true interest when shown
    affinity = market._affinity
    affinities = [affinity(taste, a) for taste, a in zip(taste_of, ad[human].tolist(), strict=True)]
    counts["human_affinity"] = _running_sum(affinities)
    for name, code in (("display", SLOT_DISPLAY), ("audio", SLOT_AUDIO), ("video", SLOT_VIDEO)):
        of = human & (fmt == code)
        counts[f"human_{name}"] = count(of)
        if code == SLOT_DISPLAY:
            counts["human_display_clicks"] = count(of & click)
        else:
            counts[f"human_{name}_completes"] = count(of & complete)
    counts["human_av_skips"] = count(human_av & skip)
    counts["human_clicks"] = count(human & click)
    counts["seconds_listened"] = _running_sum(log["duration"][human_av & complete].tolist())
    counts["bot_shown"] = count(shown_bot)
    counts["bot_clicks"] = count(shown_bot & click)

    def per_hour(mask: NDArray[np.bool_] | None, hour: NDArray[np.int64]) -> NDArray[np.float64]:
        chosen = hour if mask is None else hour[mask]
        return np.bincount(chosen, minlength=24).astype(np.float64)

    price_sum = np.zeros(24)
    np.add.at(price_sum, shown_hour, log["price"])
    affinity_sum = np.zeros(24)
    np.add.at(affinity_sum, shown_hour[human], np.asarray(affinities, dtype=np.float64))
    hourly = {
        "av_shown": per_hour(human_av, shown_hour),
        "skips": per_hour(human_av & skip, shown_hour),
        "completes": per_hour(human_av & complete, shown_hour),
        "shown": per_hour(None, shown_hour),
        "price_sum": price_sum,
        "human_shown": per_hour(human, shown_hour),
        "affinity_sum": affinity_sum,
        "requests": per_hour(None, hours),
        "human_requests": per_hour(~bot, hours),
    }
    value = np.zeros(len(market.catalog.campaigns))
    np.add.at(value, log["campaign"], log["value"])
    bot_spend = int(log["charge"][shown_bot].sum())
    return hourly, value, bot_spend


def _running_sum(values: Iterable[float]) -> float:
    """The values added one after the other, from 0 (as a running total adds them)."""
    total = 0.0
    for v in values:
        total += v
    return total


def _order(engine: Engine, campaign_ids: Sequence[str]) -> list[int]:
    index = engine.catalog.snapshot.campaign_index
    return [index[c] for c in campaign_ids]


def simulate(
    scenario: Scenario | str = "steady",
    *,
    arms: Sequence[str] = DEFAULT_ARMS,
    seeds: Sequence[int] | int = 1,
    requests: int | None = None,
    progress: TextIO | None | bool = True,
) -> SimResults:
    """Run ``arms`` over one simulated day per seed of ``scenario`` and compare them.

    Parameters
    ----------
    scenario : Scenario or str
        A scenario, a built-in name, or a ``.toml``/``.json`` file.
    arms : sequence of str
        Names (or aliases, such as ``baseline`` for ``naive``) from :data:`ARMS`; the
        first is compared against the others. Default: ``agents`` and ``monolith``.
    seeds : int or sequence of int
        How many seeds (0, 1, ...) or which seeds. Each seed is one market, which every
        arm sees identically (common random numbers).
    requests : int, optional
        Override the scenario's number of requests (budgets scale with it).
    progress : bool or text stream
        Draw a progress bar (on standard error by default).

    Returns
    -------
    SimResults
        Its runs carry ``value_at_matched_spend`` matched across the arms of each seed
        (:func:`~adcore.sim.results.match_spend`).

    Raises
    ------
    InvalidInput
        Unknown or repeated arms (``field`` ``"arms"``), or no seeds (``"seeds"``).
    InvalidScenario
        A scenario that cannot be loaded or is out of range.
    """
    names = resolve_arms(arms)
    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario.validate()
    if requests is not None:
        sc = msgspec.structs.replace(sc, requests=int(requests)).validate()
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise InvalidInput("at least one seed is needed", "seeds")
    if len(set(seed_list)) != len(seed_list):
        raise InvalidInput(f"seeds are repeated: {seed_list}", "seeds")
    out: TextIO | None
    if progress is True:
        out = sys.stderr
    elif progress is False or progress is None:
        out = None
    else:
        out = progress
    bar = _Progress(sc.requests * len(seed_list) * len(names), out)
    runs = []
    for seed in seed_list:
        market = Market(sc, seed)
        for arm in names:
            runs.append(run_arm(market, arm, progress=bar))
    return SimResults(scenario=sc, runs=match_spend(runs), arms=names)
