"""The pacing tables of ``docs/pacing.md``, measured: seed 0 of ``steady`` and
``live-event`` (100,000 requests each), the ``agents`` arm.

1. Which campaigns have enough supply: paced to a plan that asks for the whole budget in
   the first hour (each bids at its pacing ceiling from the first request), a campaign
   that spends its whole budget before noon has it. For throttling, which cannot raise
   a bid, the same with every campaign bidding in full (as soon as possible).
2. Each campaign's delivery (spend / daily budget) on the whole day, as the arm runs by
   default (PID pacing that catches up, against the forecast it learns).
3. Delivery, pacing error, advertiser value and ROAS of the whole day for every pacing
   strategy, and for PID given the scenario's true traffic curve or kept at most 1.

``tests/test_pacing_sim.py`` checks the targets on the same days; this script prints the
numbers behind them as Markdown. Run from the project root (about ten minutes on one
core)::

    python bench/pacing_table.py
"""

from __future__ import annotations

import sys
import time

import msgspec
import numpy as np

from adcore import Catalog, Pacing
from adcore.sim import SCENARIOS, Market, run_arm
from adcore.sim.results import ArmRun
from adcore.sim.runner import _engine_config

NOON = 12.0
FRONT_LOADED = (1.0,) + (0.0,) * 23
SCENARIO_NAMES = ("steady", "live-event")
STRATEGY = {0: "fixed CPM", 1: "target CPC", 2: "target CPA", 3: "max value"}


def market(scenario: str, pacing: Pacing | None = None, *, morning: bool = False) -> Market:
    m = Market(SCENARIOS[scenario], 0)
    if pacing is not None:
        cat = m.catalog
        campaigns = [msgspec.structs.replace(c, pacing=pacing) for c in cat.campaigns]
        m.catalog = Catalog(campaigns, list(cat.ads), dimension=cat.dimension, signals=cat.signals)
    if morning:
        noon = m.scenario.start + NOON * 3600.0
        m.time = m.time[: int(np.searchsorted(m.time, noon))]
    return m


def run(scenario: str, label: str, **kw: object) -> ArmRun:
    start = time.perf_counter()
    out = run_arm(**kw)  # type: ignore[arg-type]
    print(f"  {scenario} {label}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return out


def supplied(scenario: str, at_ceiling: bool) -> np.ndarray:
    if at_ceiling:
        config = msgspec.structs.replace(
            _engine_config(SCENARIOS[scenario]), pacing_curve=FRONT_LOADED
        )
        day = run(
            scenario, "supply at ceiling",
            market=market(scenario, Pacing.PID, morning=True), arm="agents", config=config,
        )  # fmt: skip
    else:
        day = run(
            scenario, "supply in full",
            market=market(scenario, Pacing.ASAP, morning=True), arm="agents",
        )  # fmt: skip
    return np.asarray(day.exhausted_hour < NOON)


def variants(scenario: str) -> dict[str, ArmRun]:
    base = _engine_config(SCENARIOS[scenario])
    sc = SCENARIOS[scenario]
    weights = np.array(sc.diurnal, dtype=np.float64)
    true_curve = tuple(float(w) for w in weights / weights.sum())
    out = {}
    for pacing in (Pacing.ASAP, Pacing.PID, Pacing.DUAL, Pacing.THROTTLE):
        m = market(scenario, None if pacing is Pacing.PID else pacing)
        out[pacing.value] = run(scenario, pacing.value, market=m, arm="agents")
    out["pid, true curve, catching up"] = run(
        scenario, "true curve", market=market(scenario), arm="agents",
        config=msgspec.structs.replace(base, pacing_curve=true_curve),
    )  # fmt: skip
    out["pid, learned forecast, no catching up"] = run(
        scenario, "no catching up", market=market(scenario), arm="agents",
        config=msgspec.structs.replace(base, pacing_max_multiplier=1.0),
    )  # fmt: skip
    return out


def main() -> None:
    days = {s: variants(s) for s in SCENARIO_NAMES}
    supply = {(s, c): supplied(s, c) for s in SCENARIO_NAMES for c in (True, False)}
    campaigns = Market(SCENARIOS["steady"], 0).catalog.campaigns
    codes = {"fixed_cpm": 0, "target_cpc": 1, "target_cpa": 2, "max_value": 3}
    print("| campaign | strategy | bid / max bid | supply (steady, live-event) |", end="")
    print(" `steady` | `live-event` |")
    print("| --- | --- | --- | --- | --- | --- |")
    for c, camp in enumerate(campaigns):
        marks = ", ".join("yes" if supply[(s, True)][c] else "no" for s in SCENARIO_NAMES)
        share = [days[s]["pid"].spend[c] / days[s]["pid"].daily_budget[c] for s in SCENARIO_NAMES]
        strategy = STRATEGY[codes[camp.strategy.value]]
        print(
            f"| `{camp.id}` | {strategy} | {camp.bid:.3g} / {camp.max_bid:.3g} | {marks} "
            f"| {share[0]:.3f} | {share[1]:.3f} |"
        )
    for s in SCENARIO_NAMES:
        ids = [campaigns[c].id for c in np.flatnonzero(supply[(s, False)])]
        print(f"\nSupply bidding in full (throttling) on `{s}`: {', '.join(ids)}")
    print("\n| seed 0 | pacing | delivery | pacing error | value | ROAS |")
    print("| --- | --- | --- | --- | --- | --- |")
    for s in SCENARIO_NAMES:
        for k, (label, day) in enumerate(days[s].items()):
            m = day.metrics
            name = f"`{label}`" if "," not in label else label
            if label == "pid":
                name = "`pid` (the `agents` arm)"
            print(
                f"| {'`' + s + '`' if k == 0 else ''} | {name} | {m['delivery']:.3f} "
                f"| {m['pacing_error']:.3f} | {m['advertiser_value']:.1f} | {m['roas']:.2f} |"
            )


if __name__ == "__main__":
    main()
