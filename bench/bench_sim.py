"""Simulation speed: simulated requests per second through the real engine, on one core.

A simulated day is ``run_arm(market, "agents")``: every request of a seeded
:class:`~adcore.sim.Market` built as an OpenRTB request, decided by an
:class:`~adcore.Engine` with all ten agents, the winners checked against the outside
market, the listeners' responses (:class:`~adcore.sim.Behaviour`) played back as
feedback, and everything measured. The engine is built inside the timed call (with its
kernels already compiled, as ``run_arm`` does for every arm and seed); the market is
built outside it.

The competitor, timed in the same run over the same market, is the same market loop in
plain Python (``plain_market.py``: lists, dicts and floats, no NumPy or Numba inside the
loop, learning and frequency caps included; its docstring lists how it differs). The
ratio table at the end of the session reads plain-python / adcore: above 1 means the
simulator is faster than the plain loop.

Benchmarks (``pytest bench/bench_sim.py -s``):

- one simulated day of ``N_REQUESTS`` requests of the ``quick`` scenario, ``ROUNDS``
  rounds each for ``adcore`` and ``plain-python``, alternating so both see the same load
  (wall time per round, recorded for the ratio table, and the thread's CPU time);
- the report: requests per second of both, the projected time of a 10-million-request
  day at that rate (the goal is under a minute), the ratio to the ~15,000 auctions per
  second quoted for a widely used public auction simulator written in Python (quoted,
  not measured here), and a check that both loops produced the same day in aggregate;
- where ``run_arm`` spends its time per request: ``Market.request``,
  ``Engine.decide`` (and within it feature filling and building the ``Decision``),
  ``Engine.feedback`` (and within it the bus delivering to the learning agents) and
  ``Behaviour.respond``, timed by wrapping each; each agent's median from the traced
  decisions;
- informational: CPU time per request of both loops with 32, 128 and 512 ads.

Nothing asserts on time: the machine is shared. The tests assert that the plain loop's
``respond`` is the simulator's behaviour model, and that both loops agree on the day's
aggregate outcomes (fill, completions, skips, spend) within a few per cent, so the ratio
compares the same work.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import numpy as np
import pytest
from plain_market import PlainRun, respond, run_plain

import adcore.engine
from adcore._run import Runner
from adcore.bus import Bus
from adcore.engine import Engine
from adcore.sim import SCENARIOS, ArmRun, Behaviour, Market, run_arm

SCENARIO = "quick"
N_REQUESTS = 20_000
SEED = 0
ROUNDS = 3
DAY = 10_000_000  # requests in the day the goal is about
GOAL_SECONDS = 60.0
PUBLIC_SIM_RATE = 15_000.0  # auctions/s quoted for a public Python auction simulator
SCALING_REQUESTS = 3_000
AGREE = 0.03  # relative tolerance on the aggregate outcomes of the two loops

GROUP = f"simulated day, {SCENARIO} scenario, {N_REQUESTS} requests"
NAMES = ("adcore", "plain-python")

_RUNS: dict[str, Any] = {}  # name -> the last round's result
_WALL: dict[str, list[float]] = {}  # name -> wall seconds per round
_CPU: dict[str, list[float]] = {}  # name -> CPU seconds (this thread) per round


def record_median(group: str, name: str, seconds: float) -> None:
    from conftest import record_median as record  # bench/conftest.py

    record(group, name, seconds)


def say(capsys: pytest.CaptureFixture[str], *lines: str) -> None:
    with capsys.disabled():
        print()
        for line in lines:
            print(line)


@pytest.fixture(scope="module")
def market() -> Market:
    scenario = msgspec.structs.replace(SCENARIOS[SCENARIO], requests=N_REQUESTS)
    return Market(scenario, SEED)


@pytest.fixture(scope="module")
def warm() -> None:
    """Compile (or load from Numba's cache) every kernel and warm the Python caches on a
    small day before anything is timed."""
    small = msgspec.structs.replace(SCENARIOS[SCENARIO], requests=500)
    run_arm(Market(small, SEED + 1), "agents")


def simulated_day(name: str, market: Market) -> Callable[[], Any]:
    if name == "adcore":
        return lambda: run_arm(market, "agents")
    return lambda: run_plain(market)


# --------------------------------------------------------------------------- checks
def test_plain_respond_is_the_behaviour_model(market: Market) -> None:
    """The plain loop's ``respond`` gives the simulator's outcomes, draw for draw."""
    rng = np.random.default_rng(7)
    interest = market.interest.tolist()
    truth = market.ad_truth.tolist()
    uniforms = market.uniforms.tolist()
    n_ads = len(truth)
    checked = 0
    for s in rng.choice(market.n_slots, size=5000, replace=False).tolist():
        req = int(market.slot_request[s])
        ad = int(rng.integers(n_ads))
        duration = float(rng.choice([0.0, 15.0, 30.0]))
        fatigue = int(rng.integers(0, 8))
        values = (float(rng.uniform(0.3, 1.2)), 0.004, float(rng.uniform(5.0, 20.0)))
        want = Behaviour.respond(market, s, ad, duration, fatigue, *values)
        got = respond(
            bool(market.bot[req]),
            interest[int(market.listener[req])],
            truth[ad],
            int(market.ad_format_code[ad]),
            int(market.session[req]),
            tuple(uniforms[s]),
            duration,
            fatigue,
            *values,
        )
        assert got[:4] == (want.click, want.complete, want.skip, want.conversion)
        assert got[4] == pytest.approx(want.value, rel=1e-12, abs=1e-15)
        checked += 1
    assert checked == 5000


# --------------------------------------------------------------------------- timing
def test_simulated_day(warm: None, market: Market, capsys: pytest.CaptureFixture[str]) -> None:
    """``ROUNDS`` rounds of each loop, alternating (adcore, plain-python, adcore, ...) so
    both see the same load on a shared machine; each round's wall time (recorded for the
    ratio table) and the thread's CPU time (what one core spent, whatever else ran)."""
    for name in NAMES:
        _WALL[name] = []
        _CPU[name] = []
    for _ in range(ROUNDS):
        for name in NAMES:
            day = simulated_day(name, market)
            gc.collect()  # no garbage from the previous round is collected on this one
            w0, c0 = time.perf_counter(), time.thread_time()
            result = day()
            _CPU[name].append(time.thread_time() - c0)
            _WALL[name].append(time.perf_counter() - w0)
            assert result.metrics["fill_rate"] > 0.0
            _RUNS[name] = result
    lines = [f"{GROUP}: {ROUNDS} rounds each, alternating"]
    for name in NAMES:
        record_median(GROUP, name, statistics.median(_WALL[name]))
        walls = " ".join(f"{w:.3f}" for w in _WALL[name])
        cpus = " ".join(f"{c:.3f}" for c in _CPU[name])
        lines.append(f"  {name:<13} wall s: {walls}   cpu s: {cpus}")
    say(capsys, *lines)


def _aggregates(run: ArmRun | PlainRun) -> dict[str, float]:
    m = run.metrics
    keys = ("fill_rate", "completion_rate", "skip_rate", "spend_vs_budget", "revenue")
    out = {k: float(m[k]) for k in keys}
    out["ctr"] = float(m["ctr"])
    out["advertiser_value"] = float(m["advertiser_value"])
    return out


def test_report(warm: None, market: Market, capsys: pytest.CaptureFixture[str]) -> None:
    """Requests per second, the projected 10M-request day, and the two loops' agreement
    (a loop missing because of ``-k`` is run here once)."""
    for name in NAMES:
        if name not in _RUNS:
            w0, c0 = time.perf_counter(), time.thread_time()
            _RUNS[name] = simulated_day(name, market)()
            _CPU[name] = [time.thread_time() - c0]
            _WALL[name] = [time.perf_counter() - w0]
    n = market.n_requests
    slots = market.n_slots
    lines = [
        f"simulated day: scenario {SCENARIO!r}, {n} requests ({slots} slots), seed {SEED}, "
        f"{len(market.catalog.ads)} ads / {len(market.catalog.campaigns)} campaigns, one core",
        "  (median over rounds; 'cpu' counts only this thread's CPU time)",
    ]
    wall = {name: statistics.median(_WALL[name]) for name in NAMES}
    cpu = {name: statistics.median(_CPU[name]) for name in NAMES}
    for name in NAMES:
        rate = n / wall[name]
        day = DAY / rate
        lines.append(
            f"  {name:<13} {rate:8.0f} requests/s ({n / cpu[name]:6.0f} cpu)  "
            f"{slots / wall[name]:8.0f} slots/s  {1e6 / rate:6.1f} us/request  "
            f"10M-request day: {day:6.0f} s = {day / 60:4.1f} min "
            f"({day / GOAL_SECONDS:4.1f}x the 60 s goal; {DAY / (n / cpu[name]):5.0f} s cpu)"
        )
    lines.append(
        f"  plain-python / adcore time ratio: wall {wall['plain-python'] / wall['adcore']:.2f}x, "
        f"cpu {cpu['plain-python'] / cpu['adcore']:.2f}x (above 1: adcore faster)"
    )
    per_request = n / wall["adcore"] / PUBLIC_SIM_RATE
    per_slot = slots / wall["adcore"] / PUBLIC_SIM_RATE
    lines.append(
        f"  adcore against the ~{PUBLIC_SIM_RATE:,.0f} auctions/s quoted for a public Python "
        f"auction simulator (quoted, not measured here): {per_request:.2f}x in requests, "
        f"{per_slot:.2f}x in slots (auctions)"
    )
    ref = _aggregates(_RUNS["adcore"])
    plain = _aggregates(_RUNS["plain-python"])
    lines.append("  the same day in aggregate:      adcore  plain-python")
    for key in ref:
        lines.append(f"    {key:<24} {ref[key]:11.5g} {plain[key]:11.5g}")
    say(capsys, *lines)
    for key in ("fill_rate", "completion_rate", "skip_rate", "spend_vs_budget", "revenue"):
        assert plain[key] == pytest.approx(ref[key], rel=AGREE), key


# --------------------------------------------------------------------------- profile
class _Clock:
    """Accumulates the wall time of wrapped calls, by part."""

    def __init__(self) -> None:
        self.ns: dict[str, int] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        ns, calls = self.ns, self.calls
        ns[part] = 0
        calls[part] = 0
        clock = time.perf_counter_ns

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                ns[part] += clock() - t0
                calls[part] += 1

        return timed


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Clock]:
    clock = _Clock()
    monkeypatch.setattr(Market, "request", clock.wrap("Market.request", Market.request))
    monkeypatch.setattr(Engine, "decide", clock.wrap("Engine.decide", Engine.decide))
    monkeypatch.setattr(
        adcore.engine,
        "fill_features",
        clock.wrap("  fill_features", adcore.engine.fill_features),
    )
    monkeypatch.setattr(Runner, "finish", clock.wrap("  finish (Decision)", Runner.finish))
    monkeypatch.setattr(Engine, "feedback", clock.wrap("Engine.feedback", Engine.feedback))
    monkeypatch.setattr(Bus, "publish", clock.wrap("  Bus.publish (learners)", Bus.publish))
    monkeypatch.setattr(
        Behaviour, "respond", staticmethod(clock.wrap("Behaviour.respond", Behaviour.respond))
    )
    yield clock


def test_where_the_time_goes(
    warm: None, market: Market, parts: _Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    """One instrumented day: each part's share of the wall time, and that share of the
    thread's CPU time per request (shares are steadier than absolute times on a busy
    machine). Each wrapper costs about half a microsecond per call, some 5 us per request
    in all, part of it inside the parts that contain wrapped calls."""
    gc.collect()
    t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
    run = run_arm(market, "agents")
    cpu = time.thread_time_ns() - c0
    total = time.perf_counter_ns() - t0
    n = market.n_requests
    assert run.metrics["fill_rate"] > 0.0
    top = ("Market.request", "Engine.decide", "Engine.feedback", "Behaviour.respond")
    rest = total - sum(parts.ns[p] for p in top)
    lines = [
        f"where run_arm spends its time: {total / 1e9:.2f} s wall, {cpu / 1e9:.2f} s cpu "
        f"for {n} requests ({cpu / n / 1000:.1f} us cpu per request)",
        f"  {'part':<26} {'share':>6}  {'us cpu/request':>14}  calls",
    ]
    for part, ns in [*parts.ns.items(), ("run_arm loop (the rest)", rest)]:
        share = ns / total
        lines.append(
            f"  {part:<26} {100 * share:5.1f}%  {share * cpu / n / 1000:14.1f}  "
            f"{parts.calls.get(part, n)}"
        )
    traced = len(next(iter(run.agent_us.values()), []))
    lines.append(f"  agents inside decide, median us over the {traced} traced requests:")
    lines.append(
        "    " + "  ".join(f"{a} {statistics.median(us):.1f}" for a, us in run.agent_us.items())
    )
    say(capsys, *lines)


# --------------------------------------------------------------------------- scaling
@pytest.mark.parametrize("advertisers", [8, 32, 128])
def test_catalog_size(warm: None, advertisers: int, capsys: pytest.CaptureFixture[str]) -> None:
    """Informational: CPU time per request of both loops as the catalog grows (4 ads per
    advertiser, ``SCALING_REQUESTS`` requests). The plain loop's work grows with the
    number of ads in Python; the engine's mostly does not."""
    scenario = msgspec.structs.replace(
        SCENARIOS[SCENARIO], requests=SCALING_REQUESTS, advertisers=advertisers
    )
    market = Market(scenario, SEED)
    cpu = {}
    for name in NAMES:
        day = simulated_day(name, market)
        gc.collect()
        c0 = time.thread_time()
        day()
        cpu[name] = (time.thread_time() - c0) / market.n_requests * 1e6
    say(
        capsys,
        f"catalog of {4 * advertisers} ads ({advertisers} campaigns), {SCALING_REQUESTS} "
        f"requests: adcore {cpu['adcore']:.1f} us/request cpu, plain-python "
        f"{cpu['plain-python']:.1f}, ratio {cpu['plain-python'] / cpu['adcore']:.2f}x",
    )
