"""Running arms over a simulated day, and collecting what happened.

An arm is a way of deciding: a list of agents and an engine configuration. The built-in
arms (:data:`ARMS`):

- ``agents``: the ten agents with their default configuration;
- ``monolith``: what a strong team runs today with one model (see
  :mod:`adcore.sim.baseline`): one online-learned response model ranking by bid times
  predicted action rate, default PID pacing, the fraud filter, frequency caps, brand
  safety and consent handling; no creative adaptation (every ad plays its default cut);
- ``naive`` (alias ``baseline``): a strawman kept for reference: the same response model
  without pacing, fraud filter, frequency caps or creative adaptation.

Every arm decides the same seeded market (common random numbers), so differences come
from the agents, not from the traffic.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import msgspec
import numpy as np
from numpy.typing import NDArray

from .. import openrtb as rtb
from ..agents import Agent, default_agents
from ..agents.privacy import request_activities
from ..config import EngineConfig
from ..decision import Decision, SlotDecision
from ..engine import Engine
from ..errors import InvalidInput
from ..events import Click, Complete, Conversion, Impression, Skip
from .baseline import baseline_agents, baseline_config, monolith_agents
from .market import (
    SIM_VENDOR_ID,
    SLOT_AUDIO,
    SLOT_DISPLAY,
    SLOT_VIDEO,
    Behaviour,
    Market,
    SlotOutcome,
)
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


@dataclass(frozen=True)
class Arm:
    """A way of deciding: a name, its agents and how it configures the engine."""

    name: str
    agents: Callable[[], list[Agent]]
    configure: Callable[[EngineConfig], EngineConfig] = field(default=lambda c: c)


class ArmRegistry(Mapping[str, Arm]):
    """Arms by name. Lookups also accept an alias (``ARMS["baseline"]`` is the
    ``naive`` arm); iteration, ``len`` and ``keys()`` give canonical names only."""

    def __init__(self, arms: Sequence[Arm], aliases: Mapping[str, str]) -> None:
        self._arms = {a.name: a for a in arms}
        unknown = sorted(set(aliases.values()) - set(self._arms))
        if unknown:
            raise ValueError(f"aliases name unknown arms {unknown}")
        self._aliases = dict(aliases)

    @property
    def aliases(self) -> dict[str, str]:
        """Alias -> canonical name."""
        return dict(self._aliases)

    def canonical(self, name: str) -> str:
        """The canonical name of ``name`` (an arm's name or an alias); KeyError if
        neither."""
        real = self._aliases.get(name, name)
        if real not in self._arms:
            raise KeyError(name)
        return real

    def __getitem__(self, name: str) -> Arm:
        return self._arms[self.canonical(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arms)

    def __len__(self) -> int:
        return len(self._arms)

    def __repr__(self) -> str:
        return f"ArmRegistry({list(self._arms)}, aliases={self._aliases})"


ARMS: ArmRegistry = ArmRegistry(
    [
        Arm("agents", default_agents),
        Arm("monolith", monolith_agents),
        Arm("naive", baseline_agents, baseline_config),
    ],
    {"baseline": "naive"},
)
"""The built-in arms: ``agents`` (the ten agents), ``monolith`` (one response model with
standard pacing, fraud filter, frequency caps, safety and consent; no creative agent)
and ``naive`` (alias ``baseline``: no pacing, fraud filter, frequency caps or creative
agent)."""

DEFAULT_ARMS: tuple[str, ...] = ("agents", "monolith")
"""What :func:`simulate` compares by default: the ten agents against the monolith."""


def resolve_arms(arms: Sequence[str]) -> tuple[str, ...]:
    """``arms`` as canonical names, checked: known (aliases allowed), not repeated, at
    least one. Raises :class:`~adcore.InvalidInput` naming ``arms``."""
    if isinstance(arms, str) or not arms:
        raise InvalidInput(f"arms must be a non-empty sequence of arm names, got {arms!r}", "arms")
    known = sorted([*ARMS, *ARMS.aliases])
    unknown = [a for a in arms if not isinstance(a, str) or a not in ARMS]
    if unknown:
        raise InvalidInput(f"unknown arms {unknown}; known: {known}", "arms")
    names = tuple(ARMS.canonical(a) for a in arms)
    repeated = sorted({a for a in names if names.count(a) > 1})
    if repeated:
        raise InvalidInput(f"arms {repeated} are listed more than once", "arms")
    return names


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
    return _play(engine, market, i, market.request(i), fatigue, trace=trace)


def _play(
    engine: Engine,
    market: Market,
    i: int,
    request: rtb.BidRequest,
    fatigue: dict[tuple[int, int], int],
    *,
    trace: bool,
) -> tuple[Decision, list[Shown], float]:
    now = float(market.time[i])
    t0 = time.perf_counter_ns()
    decision = engine.decide(request, now=now, trace=trace)
    decide_us = (time.perf_counter_ns() - t0) / 1000.0
    first = int(market.first_slot[i])
    listener = int(market.listener[i])
    shown: list[Shown] = []
    for k, slot in enumerate(decision.slots):
        s = first + k
        if slot.ad_id is None or slot.impression_id is None or slot.campaign_id is None:
            continue
        if slot.bid < market.market_price[s]:  # the outside market outbids us
            continue
        iid = slot.impression_id
        row = engine.catalog.snapshot.campaign_index[slot.campaign_id]
        before = int(engine.ledger.spent_total[row])
        engine.feedback(Impression(impression_id=iid, timestamp=now))
        charged = int(engine.ledger.spent_total[row]) - before
        c = market.campaign_row[slot.campaign_id]
        ad = market.ad_row[slot.ad_id]
        seen = fatigue.get((listener, c), 0)
        fatigue[(listener, c)] = seen + 1
        outcome = Behaviour.respond(
            market,
            s,
            ad,
            slot.duration,
            seen,
            float(market.value_click[c]),
            float(market.value_complete[c]),
            float(market.value_conversion[c]),
        )
        later = now + 1.0
        if outcome.click:
            engine.feedback(Click(impression_id=iid, timestamp=later))
        if outcome.complete:
            engine.feedback(Complete(impression_id=iid, timestamp=later))
        if outcome.skip:
            engine.feedback(Skip(impression_id=iid, timestamp=later))
        if outcome.conversion:
            engine.feedback(
                Conversion(
                    impression_id=iid, timestamp=later, value=float(market.value_conversion[c])
                )
            )
        shown.append(
            Shown(
                slot=s,
                decision=slot,
                campaign=c,
                ad=ad,
                audio_video=market.ad_format_code[ad] != SLOT_DISPLAY,
                outcome=outcome,
                charged_micros=charged,
            )
        )
    return decision, shown, decide_us


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


def run_arm(
    market: Market,
    arm: Arm | str,
    *,
    config: EngineConfig | None = None,
    progress: _Progress | None = None,
    trace_every: int = 500,
) -> ArmRun:
    """Decide every request of ``market`` with ``arm`` (an :class:`Arm`, or a name or
    alias in :data:`ARMS`) through the real engine, show the winning ads the outside
    market lets through, play the listeners' responses back as feedback, and measure
    (see ``docs/simulator.md`` for every metric)."""
    if isinstance(arm, str):
        if arm not in ARMS:
            raise InvalidInput(f"unknown arm {arm!r}; known: {sorted(ARMS)}", "arm")
        arm = ARMS[arm]
    sc = market.scenario
    engine_config = arm.configure(config or _engine_config(sc))
    engine = Engine(market.catalog, engine_config, agents=arm.agents())
    vendor_id = engine_config.vendor_id
    n_camp = len(market.catalog.campaigns)
    n = market.n_requests
    hourly_spend = np.zeros((24, n_camp))
    hourly = {
        k: np.zeros(24)
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
    counts: dict[str, float] = dict.fromkeys(_COUNTS, 0)
    log: dict[str, list[Any]] = {
        k: []
        for k in (
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
    }
    value = np.zeros(n_camp)
    bot_spend = 0
    fatigue: dict[tuple[int, int], int] = {}
    exhausted = np.full(n_camp, np.nan)
    latency = np.zeros(n)
    agent_us: dict[str, list[float]] = {}
    ledger = engine.ledger
    daily = np.array([c.daily_budget for c in market.catalog.campaigns], dtype=np.float64)
    campaign_ids = [c.id for c in market.catalog.campaigns]
    hour_mark = 0
    for i in range(n):
        now = float(market.time[i])
        hour = min(23, int((now - sc.start) // 3600))
        while hour_mark < hour:
            hourly_spend[hour_mark] = ledger.spent_total[_order(engine, campaign_ids)]
            hour_mark += 1
        traced = trace_every > 0 and i % trace_every == 0
        request = market.request(i)
        decision, shown, latency[i] = _play(engine, market, i, request, fatigue, trace=traced)
        bot = bool(market.bot[i])
        listener = int(market.listener[i])
        counts["requests"] += 1
        counts["bot_requests" if bot else "human_requests"] += 1
        if request.regs is not None and request.regs.gdpr == 1:
            # What the privacy agent allowed, against what the listener really chose.
            personalised = request_activities(request, vendor_id).personalise
            counts["gdpr_requests"] += 1
            counts["gdpr_personalised"] += personalised
            consented = bool(market.listener_eu[listener] and market.listener_consent[listener])
            counts["consent_violations"] += personalised and not consented
        if traced and decision.trace is not None:
            for a in decision.trace.agents:
                agent_us.setdefault(a.agent, []).append(a.elapsed_us)
        hourly["requests"][hour] += 1
        if not bot:
            hourly["human_requests"][hour] += 1
        counts["slots"] += len(decision.slots)
        counts["lost_outside"] += len(decision.winners) - len(shown)
        for item in shown:
            slot, c, outcome = item.decision, item.campaign, item.outcome
            counts["shown"] += 1
            hourly["shown"][hour] += 1
            hourly["price_sum"][hour] += slot.price
            counts["clicks"] += outcome.click
            counts["completes"] += outcome.complete
            counts["skips"] += outcome.skip
            counts["conversions"] += outcome.conversion
            counts["av_shown"] += item.audio_video
            value[c] += outcome.value
            if bot:
                counts["bot_shown"] += 1
                counts["bot_clicks"] += outcome.click
                bot_spend += item.charged_micros
            else:
                _count_human(counts, hourly, hour, market, listener, item)
            log["request"].append(i)
            log["slot"].append(item.slot)
            log["ad"].append(item.ad)
            log["campaign"].append(c)
            log["charge"].append(item.charged_micros)
            log["value"].append(outcome.value)
            log["click"].append(outcome.click)
            log["complete"].append(outcome.complete)
            log["skip"].append(outcome.skip)
            log["duration"].append(slot.duration)
            log["bid"].append(slot.bid)  # the winner's effective bid (CPM)
            if np.isnan(exhausted[c]) and slot.campaign_id is not None:
                b = ledger.balance(slot.campaign_id)
                if b.available <= 0.001 * b.daily_budget:
                    exhausted[c] = (now - sc.start) / 3600.0
        if progress is not None and (i % 1000 == 999 or i == n - 1):
            progress.advance(
                1000 if i % 1000 == 999 else (i % 1000) + 1, f"{arm.name} seed {market.seed}"
            )
    while hour_mark < 24:
        hourly_spend[hour_mark] = ledger.spent_total[_order(engine, campaign_ids)]
        hour_mark += 1
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
        exhausted_hour=exhausted,
        latency_us=latency,
        agent_us=agent_us,
        campaign_ids=campaign_ids,
        shown={k: np.asarray(v) for k, v in log.items()},
    )


def _count_human(
    counts: dict[str, float],
    hourly: dict[str, NDArray[np.float64]],
    hour: int,
    market: Market,
    listener: int,
    item: Shown,
) -> None:
    """Tally one ad shown to a human listener: affinity, and the format's action."""
    outcome = item.outcome
    counts["human_shown"] += 1
    counts["human_affinity"] += market.affinity(listener, item.ad)
    counts["human_clicks"] += outcome.click
    fmt = int(market.ad_format_code[item.ad])
    if fmt == SLOT_DISPLAY:
        counts["human_display"] += 1
        counts["human_display_clicks"] += outcome.click
        return
    if fmt == SLOT_AUDIO:
        counts["human_audio"] += 1
        counts["human_audio_completes"] += outcome.complete
    elif fmt == SLOT_VIDEO:
        counts["human_video"] += 1
        counts["human_video_completes"] += outcome.complete
    counts["human_av_skips"] += outcome.skip
    if outcome.complete:
        counts["seconds_listened"] += item.decision.duration
    hourly["av_shown"][hour] += 1
    hourly["completes"][hour] += outcome.complete
    hourly["skips"][hour] += outcome.skip


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
