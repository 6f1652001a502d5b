"""Pacing in the simulator: whole simulated days of the ``steady`` and ``live-event``
scenarios (seed 0), decided by the ``agents`` arm with its default configuration: PID
pacing that catches up (multipliers up to each campaign's ceiling, effective bids capped
at ``max_bid`` in the auction) against the traffic forecast the engine learns itself (never the
scenario's curve: on a first day, a flat plan). Dual pacing and throttling run the same
days with every campaign switched to them.

"Enough supply" is measured, not assumed: a campaign has it when, bidding as high as
pacing may raise it from the first request on (every campaign paced to a plan that asks
for its whole budget in the first hour, so each bids at its ceiling until its budget is
gone, against competitors doing the same), it spends its whole daily budget before
noon: the traffic it can win is at least twice its budget. Throttling cannot raise a
bid, so for it the same test is run with every campaign bidding in full (as soon as
possible). Only the mornings of those two days are simulated. Campaigns without enough
supply depend on their competitors leaving traffic to them; their spend is reported in
``docs/pacing.md``, not bounded.
"""

from __future__ import annotations

from functools import cache

import msgspec
import numpy as np
import pytest

from adcore import BidStrategy, Catalog, Pacing
from adcore.sim import ARMS, SCENARIOS, Market, run_arm
from adcore.sim.results import ArmRun
from adcore.sim.runner import _engine_config

NOON = 12.0
# At the ceiling: a plan asking for the whole budget in the first hour.
FRONT_LOADED = (1.0,) + (0.0,) * 23


def _market(scenario: str, pacing: Pacing | None = None, *, morning: bool = False) -> Market:
    market = Market(SCENARIOS[scenario], 0)
    if pacing is not None:
        cat = market.catalog
        campaigns = [msgspec.structs.replace(c, pacing=pacing) for c in cat.campaigns]
        market.catalog = Catalog(
            campaigns, list(cat.ads), dimension=cat.dimension, signals=cat.signals
        )
    if morning:  # the requests before noon only
        noon = market.scenario.start + NOON * 3600.0
        market.time = market.time[: int(np.searchsorted(market.time, noon))]
    return market


@cache
def _day(scenario: str, pacing: Pacing | None) -> ArmRun:
    """A whole day of the ``agents`` arm; ``pacing`` switches every campaign to it
    (None: the market's own campaigns, all on the default PID pacing)."""
    return run_arm(_market(scenario, pacing), "agents")


@cache
def _morning(scenario: str, at_ceiling: bool) -> ArmRun:
    """The morning of the supply test: every campaign at its pacing ceiling, or bidding
    in full (as soon as possible)."""
    if at_ceiling:
        config = msgspec.structs.replace(
            _engine_config(SCENARIOS[scenario]), pacing_curve=FRONT_LOADED
        )
        return run_arm(_market(scenario, Pacing.PID, morning=True), "agents", config=config)
    return run_arm(_market(scenario, Pacing.ASAP, morning=True), "agents")


def _supplied(scenario: str, at_ceiling: bool) -> np.ndarray:
    morning = _morning(scenario, at_ceiling)
    out = morning.exhausted_hour < NOON
    assert out.sum() >= len(out) // 3  # the test is not vacuous: a third at least
    return np.asarray(out)


def _fixed_cpm(scenario: str) -> np.ndarray:
    campaigns = Market(SCENARIOS[scenario], 0).catalog.campaigns
    return np.array([c.strategy == BidStrategy.FIXED_CPM for c in campaigns])


BOUNDS = [("steady", 0.02), ("live-event", 0.05)]


@pytest.mark.parametrize("arm", ["agents", "monolith"])
def test_the_arms_learn_their_traffic_forecast_and_may_catch_up(arm: str) -> None:
    """The engine of the ``agents`` and ``monolith`` arms is not given the scenario's
    traffic curve (it learns its own forecast) and lets campaigns catch up."""
    for scenario in SCENARIOS.values():
        config = ARMS[arm].configure(_engine_config(scenario))
        assert config.pacing_curve is None
        assert config.pacing_max_multiplier > 1.0


@pytest.mark.parametrize(("scenario", "bound"), BOUNDS, ids=["steady", "live"])
def test_every_supplied_campaign_of_the_agents_arm_ends_on_budget(
    scenario: str, bound: float
) -> None:
    """The targets, for the ``agents`` arm as it runs by default: every campaign with
    enough supply at its ceiling, every fixed-CPM campaign among them, ends the day
    within 2 % of its daily budget on ``steady`` and within 5 % on ``live-event``, and
    none exhausts it before the last tenth of the day (the budget is spread, not
    burnt). Measured on seed 0: 99.4 % to 100 % (``docs/pacing.md``)."""
    day = _day(scenario, None)
    supplied = _supplied(scenario, at_ceiling=True)
    fixed = _fixed_cpm(scenario)
    assert fixed.any() and (supplied | ~fixed).all()  # every fixed-CPM campaign counts
    share = day.spend / day.daily_budget
    assert (np.abs(share[supplied] - 1.0) <= bound).all(), share
    out = day.exhausted_hour[supplied]
    assert (np.isnan(out) | (out >= 0.9 * 24)).all(), out


def test_fixed_cpm_campaigns_catch_up_above_their_cpm_never_above_max_bid() -> None:
    """On ``live-event`` (the harder day) the fixed-CPM campaigns win impressions at
    effective bids above their CPM (catching up), and no winning bid of any campaign
    exceeds its ``max_bid``."""
    day = _day("live-event", None)
    campaigns = Market(SCENARIOS["live-event"], 0).catalog.campaigns
    cpm = np.array([c.bid for c in campaigns])
    cap = np.array([c.max_bid for c in campaigns])
    bids, camps = day.shown_bid, day.shown_campaign
    assert (bids <= cap[camps]).all()
    fixed = np.flatnonzero(_fixed_cpm("live-event"))
    for c in fixed:
        assert (bids[camps == c] > cpm[c] * (1 + 1e-9)).any(), c


@pytest.mark.parametrize(("scenario", "bound"), BOUNDS, ids=["steady", "live"])
@pytest.mark.parametrize("pacing", [Pacing.DUAL, Pacing.THROTTLE])
def test_other_strategies_spend_supplied_budgets(
    scenario: str, bound: float, pacing: Pacing
) -> None:
    """Dual pacing (which catches up too) and throttling (which cannot raise a bid: its
    supply is measured bidding in full) meet the same targets on the campaigns with
    enough supply for them."""
    day = _day(scenario, pacing)
    supplied = _supplied(scenario, at_ceiling=pacing is not Pacing.THROTTLE)
    share = day.spend / day.daily_budget
    assert (np.abs(share[supplied] - 1.0) <= bound).all(), share
    out = day.exhausted_hour[supplied]
    assert (np.isnan(out) | (out >= 0.9 * 24)).all(), out


@pytest.mark.parametrize("scenario", ["steady", "live-event"])
@pytest.mark.parametrize("kind", ["pid", "dual", "throttle", "ceiling", "asap"])
def test_spend_never_exceeds_a_budget(scenario: str, kind: str) -> None:
    """Exactly, in micro-units, for every campaign and every strategy, at the ceiling
    and bidding in full."""
    if kind in ("ceiling", "asap"):
        day = _morning(scenario, at_ceiling=kind == "ceiling")
    else:
        day = _day(scenario, None if kind == "pid" else Pacing(kind))
    assert (day.spend <= day.daily_budget).all()
    assert (np.diff(day.hourly_spend, axis=0) >= 0).all()  # spend only grows
