"""Named market scenarios for the simulator, and user scenarios from TOML or JSON files.

A :class:`Scenario` is a frozen, documented configuration of one simulated day: how much
traffic, of which kinds, from whom, and which advertisers compete for it. The registry
:data:`SCENARIOS` holds the built-in ones; :func:`load_scenario` reads a file whose keys
are a scenario's fields (and an optional ``base``, a built-in scenario to start from).

Examples
--------
>>> from adcore.sim import SCENARIOS, load_scenario
>>> sorted(SCENARIOS)[:3]
['bot-attack', 'budget-crunch', 'cold-start']
>>> SCENARIOS["steady"].requests
100000
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from ..errors import AdcoreError

__all__ = ["SCENARIOS", "InvalidScenario", "Scenario", "load_scenario"]


class InvalidScenario(AdcoreError, ValueError):
    """A scenario file or value that cannot be used; ``field`` names the key."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


_FLAT = (1.0,) * 24
# Listening by UTC hour: low at night, a morning commute, a daytime plateau, an evening peak.
_DIURNAL = (
    0.30, 0.22, 0.18, 0.16, 0.18, 0.30, 0.60, 0.95, 1.20, 1.10, 1.00, 1.00,
    1.05, 1.05, 1.00, 1.00, 1.10, 1.30, 1.45, 1.50, 1.40, 1.15, 0.80, 0.50,
)  # fmt: skip


class Scenario(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One simulated day of an audio-first ad marketplace.

    Parameters
    ----------
    name, description : str
    requests : int
        Bid requests in the day (the traffic is a sample: budgets scale with it).
    listeners : int
        Distinct listeners; a few come back often (frequency capping matters).
    diurnal : tuple of 24 floats
        Relative traffic per UTC hour.
    podcast_share, music_share : float
        Shares of sessions that are podcasts (high focus) and foreground music; the rest
        is background listening.
    video_share, display_share : float
        Shares of requests for a video or a display slot instead of audio.
    pod_share : float
        Share of podcast requests that are ad pods (2-3 slots).
    unusual_share : float
        Listeners whose real interests differ from what their signals suggest.
    bot_share : float
        Requests from bots (never complete, click in bursts).
    eu_share, eu_consent : float
        Share of traffic under GDPR, and the share of it with consent (as signalled).
    us_optout : float
        Share of the other traffic with a US Privacy opt-out of sale.
    advertisers : int
        Competing advertisers (one campaign each).
    budget_scale : float
        Daily budgets relative to what the traffic can absorb (1 = about all of it).
    aggressive : bool
        One advertiser bids high with a budget it would spend by noon without pacing.
    cold_start : bool
        One advertiser is new: its ads' priors are uninformative.
    spike_start, spike_end : float
        UTC hours of a live event (no spike when equal).
    spike_traffic, spike_demand : float
        Traffic multiplier during the event, and the multiplier of outside buyers' bids
        (more demand for the same slots).
    bot_attack_start, bot_attack_end : float
        UTC hours when ``bot_share`` applies (0 to 24 for all day).
    drift_at : float
        UTC hour at which listeners' tastes shift (24: they do not).
    drift_strength : float
        How far they shift: from then on a listener's true interest is the unit vector of
        their interest plus ``drift_strength`` times a trend: the direction of the
        products of a quarter of the advertisers, a different quarter for each device
        type, drawn per seed. 0: no shift. What the engine sees
        of a listener (genres, segments) does not change, so what it learned before the
        shift misleads it after.
    market_price : float
        Median CPM of the best outside bid; each slot draws a log-normal around it.
    market_spread : float
        Log-normal sigma of the outside bid.
    start : float
        The day's first second (Unix time, a UTC midnight).
    """

    name: str = "custom"
    description: str = ""
    requests: int = 100_000
    listeners: int = 20_000
    diurnal: tuple[float, ...] = _DIURNAL
    podcast_share: float = 0.35
    music_share: float = 0.35
    video_share: float = 0.10
    display_share: float = 0.15
    pod_share: float = 0.3
    unusual_share: float = 0.05
    bot_share: float = 0.02
    eu_share: float = 0.25
    eu_consent: float = 0.7
    us_optout: float = 0.08
    advertisers: int = 12
    budget_scale: float = 0.6
    aggressive: bool = False
    cold_start: bool = False
    spike_start: float = 0.0
    spike_end: float = 0.0
    spike_traffic: float = 1.0
    spike_demand: float = 1.0
    bot_attack_start: float = 0.0
    bot_attack_end: float = 24.0
    drift_at: float = 24.0
    drift_strength: float = 0.0
    market_price: float = 1.2
    market_spread: float = 0.6
    start: float = 1_780_012_800.0  # 2026-05-29 00:00:00 UTC

    def validate(self) -> Scenario:
        """Check ranges; raise :class:`InvalidScenario` naming the field."""
        share_fields = (
            "podcast_share",
            "music_share",
            "video_share",
            "display_share",
            "pod_share",
            "unusual_share",
            "bot_share",
            "eu_share",
            "eu_consent",
            "us_optout",
        )
        for f in share_fields:
            v = getattr(self, f)
            if not (0.0 <= v <= 1.0):
                raise InvalidScenario(f"{f} must be a share between 0 and 1, got {v!r}", f)
        checks = [
            ("requests", self.requests >= 100),
            ("listeners", self.listeners >= 10),
            ("advertisers", 2 <= self.advertisers <= 500),
            (
                "diurnal",
                len(self.diurnal) == 24
                and all(w >= 0 and math.isfinite(w) for w in self.diurnal)
                and sum(self.diurnal) > 0,
            ),
            ("podcast_share", self.podcast_share + self.music_share <= 1.0),
            ("display_share", self.video_share + self.display_share <= 1.0),
            ("budget_scale", self.budget_scale > 0 and math.isfinite(self.budget_scale)),
            ("spike_start", 0 <= self.spike_start <= self.spike_end <= 24),
            ("spike_traffic", self.spike_traffic >= 1.0),
            ("spike_demand", self.spike_demand >= 1.0),
            ("bot_attack_start", 0 <= self.bot_attack_start <= self.bot_attack_end <= 24),
            ("drift_at", 0 <= self.drift_at <= 24),
            ("drift_strength", 0 <= self.drift_strength < math.inf),
            ("market_price", self.market_price > 0),
            ("market_spread", self.market_spread >= 0),
            ("start", self.start % 86400 == 0),
        ]
        for f, ok in checks:
            if not ok:
                raise InvalidScenario(f"scenario {self.name!r}: {f} is out of range", f)
        return self


SCENARIOS: dict[str, Scenario] = {
    s.name: s.validate()
    for s in (
        Scenario(
            name="steady",
            description="A normal day: diurnal traffic, a mix of "
            "podcasts, music and background listening, a few bots.",
        ),
        Scenario(
            name="live-event",
            description="A live event from 18:00 to 21:00 UTC doubles traffic and lifts demand.",
            spike_start=18.0,
            spike_end=21.0,
            spike_traffic=2.0,
            spike_demand=1.5,
        ),
        Scenario(
            name="unusual-listeners",
            description="A third of listeners do not behave as their signals suggest.",
            unusual_share=0.33,
        ),
        Scenario(
            name="budget-crunch",
            description="An aggressive advertiser that would "
            "spend its whole budget by noon without pacing.",
            aggressive=True,
        ),
        Scenario(
            name="bot-attack",
            description="From 10:00 to 16:00 UTC a third of the requests come from bots.",
            bot_share=0.33,
            bot_attack_start=10.0,
            bot_attack_end=16.0,
        ),
        Scenario(
            name="cold-start",
            description="A new advertiser with no history joins.",
            cold_start=True,
        ),
        Scenario(
            name="drift",
            description="At 12:00 UTC listeners' tastes shift, on each kind of device "
            "toward other advertisers' products; what was learned in the morning misleads.",
            drift_at=12.0,
            drift_strength=1.0,
        ),
        Scenario(
            name="eu-consent",
            description="Most traffic under GDPR, half of it with consent.",
            eu_share=0.8,
            eu_consent=0.5,
        ),
        Scenario(
            name="quick",
            description="A small day for quick runs and tests.",
            requests=20_000,
            listeners=4_000,
            advertisers=8,
        ),
    )
}
"""The built-in scenarios by name."""


def load_scenario(source: str | Path) -> Scenario:
    """A built-in scenario by name, or one read from a ``.toml`` or ``.json`` file.

    A file's keys are :class:`Scenario` fields; ``base`` names a built-in scenario whose
    values the file overrides.

    Raises
    ------
    InvalidScenario
        Unknown name, unreadable file, unknown key, wrong type or out-of-range value; the
        error's ``field`` names the key.
    """
    if isinstance(source, str) and source in SCENARIOS:
        return SCENARIOS[source]
    path = Path(source)
    if not path.suffix:
        raise InvalidScenario(
            f"unknown scenario {str(source)!r}; built-in: {', '.join(sorted(SCENARIOS))}",
            "scenario",
        )
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InvalidScenario(f"cannot read scenario file {path}: {exc}", None) from None
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text.decode())
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise InvalidScenario(f"scenario files are .toml or .json, not {path.suffix}", None)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidScenario(f"{path}: not valid {path.suffix[1:].upper()}: {exc}", None) from None
    if not isinstance(data, dict):
        raise InvalidScenario(f"{path}: a scenario must be a table of keys", None)
    base_name = data.pop("base", "steady")
    if base_name not in SCENARIOS:
        raise InvalidScenario(f"{path}: unknown base scenario {base_name!r}", "base")
    merged = msgspec.to_builtins(SCENARIOS[base_name])
    merged.update({"name": path.stem, "description": f"from {path.name}"})
    merged.update(data)
    try:
        scenario = msgspec.convert(merged, Scenario)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        field = None
        if "$." in msg:
            field = msg.split("$.", 1)[1].rstrip("`").split("[")[0]
        elif "unknown field `" in msg:
            field = msg.split("`")[1]
        raise InvalidScenario(f"{path}: {msg}", field) from None
    return scenario.validate()
