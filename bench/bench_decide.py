"""Deciding one request: adcore's ten agents over Numba kernels against the same
pipeline written plainly with NumPy (``numpy_pipeline.py``), in the same run.

Set-up shared by every benchmark here: a sample catalog of ``N_ADS`` ads (``DIM``-dim
embeddings, about a hundred campaigns using every catalog feature), all ten agents on,
tracing off, the default :class:`~adcore.EngineConfig`. Traffic is ``sample_requests``:
podcast and music audio, video and banners, a fifth under GDPR, a few bots. Each engine
gets its own clock that advances ``STEP`` seconds per decision, so request-rate counters
and budget holds evolve as in steady serving instead of piling up at one instant. Every
engine is warmed (kernels at construction, then ``WARM`` decisions) before timing.

Benchmarks (``pytest bench/bench_decide.py``):

- ``decide`` p50 / p99 over ``N_CALLS`` calls timed one by one with ``perf_counter_ns``,
  adcore and NumPy interleaved in blocks (printed; p50 recorded for the ratio table);
- ``decide`` under pytest-benchmark, cycling through the requests;
- the ten agents alone on a filled context (no engine bookkeeping), the kernels' share;
- ``decide`` p50 with one user agent added (a no-op in Python, a fused kernel step)
  against the default plan, and with the learning agents in place of relevance and
  creative;
- ``decide_batch`` of 1,000 requests against 1,000 ``decide`` calls, under
  pytest-benchmark (each on its own engine) and in alternating rounds on one engine;
- decoding plus deciding the OpenRTB 2.6 example "simple banner" from raw JSON bytes.

Before any NumPy timing, ``equivalence`` checks that both pipelines decide the same
(reasons, floors, creatives, scores, bids, multipliers, winners, prices) over a few
thousand requests, with multi-impression, private-deal, first-price, block-list and
exploration cases and identical feedback: timing two different computations would be
worthless. No test asserts on time: this machine is shared.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from numpy_pipeline import numpy_engine

from adcore import Engine, EngineConfig, openrtb
from adcore.catalog import Catalog
from adcore.decision import Decision, Reason
from adcore.demo import DEAL, DEMO_START, sample_catalog, sample_requests
from adcore.events import Click, Complete, Impression, PauseCampaign, ResumeCampaign, Skip
from adcore.features import fill_features

N_ADS = 1000
DIM = 32
N_CALLS = 20_000
BLOCK = 1_000
WARM = 500
STEP = 0.05  # seconds of engine clock per decision (20 requests/s per engine)
BATCH = 1_000
ROUNDS_BATCH = 9
FIRST_BAR_US = 50.0
GOAL_US = 10.0

GROUP_P50 = f"decide p50, 1 request, {N_ADS} ads (per call, {N_CALLS} calls)"
GROUP_DECIDE = f"decide, 1 request, {N_ADS} ads x {DIM} dims"
GROUP_AGENTS = f"ten agents only, 1 request, {N_ADS} ads"
GROUP_BATCH = f"decide_batch {BATCH}"
GROUP_BATCH_ALTERNATING = f"decide_batch {BATCH}, alternating rounds (per decision)"
GROUP_JSON = "decide from JSON bytes"
GROUP_DECODE = "decode JSON bytes only"

SIMPLE_BANNER = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "data"
    / "openrtb"
    / "request_6_2_1_simple_banner.json"
)

Maker = Callable[[Catalog, EngineConfig | None], Engine]
MAKERS: dict[str, Maker] = {"adcore": Engine, "numpy": numpy_engine}


def record_median(group: str, name: str, seconds: float) -> None:
    from conftest import record_median as record  # bench/conftest.py

    record(group, name, seconds)


class Clock:
    """Engine time for one engine: ``STEP`` seconds later on every call."""

    def __init__(self, start: float = DEMO_START, step: float = STEP) -> None:
        self.t = start
        self.step = step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def say(capsys: pytest.CaptureFixture[str], *lines: str) -> None:
    with capsys.disabled():
        print()
        for line in lines:
            print(line)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return sample_catalog(n_ads=N_ADS, dimension=DIM, seed=0)


@pytest.fixture(scope="module")
def traffic() -> list[openrtb.BidRequest]:
    return sample_requests(2000, seed=1)


def warmed(
    maker: Maker,
    catalog: Catalog,
    traffic: Sequence[openrtb.BidRequest],
    clock: Clock,
    config: EngineConfig | None = None,
) -> Engine:
    engine = maker(catalog, config)
    for request in traffic[:WARM]:
        engine.decide(request, now=clock())
    return engine


def cycling(
    engine: Engine, requests: Sequence[openrtb.BidRequest], clock: Clock
) -> Callable[[], Decision]:
    it = itertools.cycle(requests)
    decide = engine.decide

    def step() -> Decision:
        return decide(next(it), now=clock())

    return step


# --------------------------------------------------------------------------- equivalence
def special_requests(base: Sequence[openrtb.BidRequest]) -> list[openrtb.BidRequest]:
    """Cases sample traffic lacks: several impressions (one repeated, so an ad may win
    only one), private auctions with a deal, first price, block lists that hit, MIME,
    duration and currency misfits, repeat listeners (frequency caps) and the OpenRTB 2.6
    example requests."""
    replace = msgspec.structs.replace
    out = []
    for j in range(0, min(len(base), 240) - 3, 3):
        a, b, c = base[j : j + 3]
        imps = [replace(r.imp[0], id=str(i + 1)) for i, r in enumerate((a, b, c, a))]
        if j % 9 == 0:
            deal = openrtb.Pmp(private_auction=1, deals=(openrtb.Deal(id=DEAL, bidfloor=0.5),))
            imps = [replace(imp, pmp=deal) for imp in imps]
        out.append(
            replace(
                a,
                id=f"{a.id}-multi",
                imp=tuple(imps),
                at=1 if j % 2 else 2,
                bcat=("IAB9",) if j % 5 == 0 else a.bcat,
                badv=("brand3.example", "brand17.example") if j % 7 == 0 else (),
            )
        )
    # Inventory misfits: no MIME type an ad has, no variant in the duration window, a
    # floor currency without an exchange rate.
    audio = [r for r in base if r.imp[0].audio is not None][:30]
    for j, r in enumerate(audio):
        imp, media = r.imp[0], r.imp[0].audio
        assert media is not None
        variant = [
            replace(imp, audio=replace(media, mimes=("audio/ogg", "audio/mpeg"))),
            replace(imp, audio=replace(media, mimes=("audio/ogg",))),
            replace(imp, audio=replace(media, minduration=20, maxduration=25)),
            replace(imp, audio=replace(media, minduration=10, maxduration=20)),
            replace(imp, bidfloorcur="EUR"),
        ][j % 5]
        out.append(replace(r, id=f"{r.id}-fit{j}", imp=(variant,)))
    # The same consenting listeners again and again, so frequency caps bind.
    consenting = [
        r for r in base if r.regs is not None and not r.regs.gdpr and not r.regs.us_privacy
    ][:12]
    for rep in range(10):
        out.extend(replace(r, id=f"{r.id}-again{rep}") for r in consenting)
    for path in sorted(SIMPLE_BANNER.parent.glob("request_*.json")):
        out.append(openrtb.decode_request(path.read_bytes()))
    return out


def _same_decision(i: int, da: Decision, db: Decision) -> None:
    assert len(da.slots) == len(db.slots)
    for sa, sb in zip(da.slots, db.slots, strict=True):
        where = f"request {i} ({da.request_id}) imp {sa.imp_id}"
        assert (sa.ad_id, sa.creative_id) == (sb.ad_id, sb.creative_id), where
        # float32 BLAS dot in NumPy vs float64 accumulation in the kernel: ~1e-7 relative
        assert sb.price == pytest.approx(sa.price, rel=1e-6, abs=1e-12), where
        assert abs(sa.price_micros - sb.price_micros) <= 1, where
        assert sb.bid == pytest.approx(sa.bid, rel=1e-6, abs=1e-12), where
        assert sb.propensity == pytest.approx(sa.propensity, rel=1e-12), where


def _same_context(i: int, a: Engine, b: Engine) -> np.ndarray:
    """Assert the agents' results match; returns the reason codes seen."""
    ca, cb = a._context(a._live), b._context(b._live)
    n = ca.n_imp
    where = f"request {i}"
    for f in ("reason", "floor", "creative"):
        np.testing.assert_array_equal(
            getattr(cb, f)[:n], getattr(ca, f)[:n], err_msg=f"{f}, {where}"
        )
    for f in ("avail", "freq_blocked"):
        np.testing.assert_array_equal(getattr(cb, f), getattr(ca, f), err_msg=f"{f}, {where}")
    for f in ("score", "value", "bid", "mult", "interest"):
        np.testing.assert_allclose(
            getattr(cb, f), getattr(ca, f), rtol=1e-5, atol=1e-9, err_msg=f"{f}, {where}"
        )
    assert (cb.fraud_score, cb.focus, cb.personalise, int(cb.user_key)) == (
        ca.fraud_score,
        ca.focus,
        ca.personalise,
        int(ca.user_key),
    ), where
    return np.bincount(ca.reason[:n].ravel(), minlength=len(Reason))


def compare(
    a: Engine,
    b: Engine,
    requests: Sequence[openrtb.BidRequest],
    *,
    feedback: bool = False,
    seed: int = 0,
) -> tuple[int, int, set[str]]:
    """Decide ``requests`` with both engines at the same times, asserting the same
    decisions and agent results; with ``feedback``, report the same impressions, clicks,
    completions and a pause to both. Returns the slots compared, the slots filled and
    the reason codes candidates were given."""
    rng = np.random.default_rng(seed)
    clock = Clock()
    slots = filled = 0
    seen = np.zeros(len(Reason), dtype=np.int64)
    for i, request in enumerate(requests):
        now = clock()
        da = a.decide(request, now=now)
        db = b.decide(request, now=now)
        _same_decision(i, da, db)
        seen += _same_context(i, a, b)
        slots += len(da.slots)
        if not feedback:
            filled += len(da.winners)
            continue
        events: list[Any] = []
        for s in da.winners:
            filled += 1
            assert s.impression_id is not None
            events.append(Impression(impression_id=s.impression_id, timestamp=now + 0.01))
            if rng.random() < 0.3:
                kind = Click if s.mtype == openrtb.MTYPE_BANNER else Complete
                events.append(kind(impression_id=s.impression_id, timestamp=now + 0.02))
        if i == len(requests) // 3:
            events.append(PauseCampaign(campaign_id="c3", by="bench", reason="test", timestamp=now))
        if i == 2 * len(requests) // 3:
            events.append(
                ResumeCampaign(campaign_id="c3", by="bench", reason="test", timestamp=now)
            )
        for e in events:
            for engine in (a, b):
                (
                    engine.control
                    if isinstance(e, (PauseCampaign, ResumeCampaign))
                    else engine.feedback
                )(e)
    for engine in (a, b):
        assert sum(engine.stats().skipped_agents.values()) == 0, "an agent was skipped"
    assert a.stats() == b.stats()
    return slots, filled, {Reason(int(c)).name for c in np.flatnonzero(seen)}


@pytest.fixture(scope="module")
def equivalence(catalog: Catalog, traffic: list[openrtb.BidRequest]) -> str:
    """The NumPy pipeline decides what adcore decides; checked before any NumPy timing."""
    special = special_requests(traffic)
    lines = []
    # An unbounded latency budget: on a shared machine a stall could make one engine skip
    # an optional agent (its fallback decides differently) and the other not.
    plain = EngineConfig(latency_budget_us=1e9)
    exploring = EngineConfig(latency_budget_us=1e9, explore=0.2, seed=5)
    phases: list[tuple[str, EngineConfig, list[openrtb.BidRequest], bool]] = [
        ("fresh engines, no feedback", plain, traffic[:1500] + special, False),
        ("with identical feedback", plain, traffic[:1500] + special, True),
        ("exploration 0.2", exploring, traffic[:600] + special, False),
    ]
    for label, config, requests, feedback in phases:
        a, b = Engine(catalog, config), numpy_engine(catalog, config)
        slots, filled, seen = compare(a, b, requests, feedback=feedback)
        assert filled > slots // 2  # the check saw auctions, not only vetoes
        if feedback:  # every agent's vetoes were exercised
            assert seen >= {r.name for r in Reason} - {"FLIGHT"}, seen  # no flights in demo
        lines.append(
            f"  {label}: {len(requests)} requests, {slots} impressions, "
            f"{filled} filled: identical; reasons seen: "
            f"{', '.join(sorted(seen))}"
        )
    return "\n".join(lines)


def test_numpy_pipeline_decides_like_adcore(
    equivalence: str, capsys: pytest.CaptureFixture[str]
) -> None:
    say(capsys, "NumPy pipeline vs adcore, same winners, creatives and prices:", equivalence)


# --------------------------------------------------------------------------- decide
def alternating_latencies(
    engines: dict[str, Engine],
    clocks: dict[str, Clock],
    traffic: Sequence[openrtb.BidRequest],
    n: int,
) -> dict[str, np.ndarray]:
    """``n`` decide calls per engine, each timed alone (ns), in blocks of ``BLOCK`` that
    alternate between the engines so all see the same machine load."""
    latencies = {name: np.empty(n, dtype=np.int64) for name in engines}
    perf = time.perf_counter_ns
    for start in range(0, n, BLOCK):
        for name, engine in engines.items():
            decide, clock, out = engine.decide, clocks[name], latencies[name]
            for i in range(start, min(start + BLOCK, n)):
                request = traffic[i % len(traffic)]
                now = clock()
                t0 = perf()
                decide(request, now=now)
                out[i] = perf() - t0
    return latencies


def _percentiles(ns: np.ndarray) -> tuple[float, float]:
    p50, p99 = np.percentile(ns, [50, 99])
    return float(p50) / 1000.0, float(p99) / 1000.0


def test_decide_latency_percentiles(
    catalog: Catalog,
    traffic: list[openrtb.BidRequest],
    equivalence: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """p50 / p99 of single decisions, each timed with perf_counter_ns; adcore and NumPy
    alternate in blocks of ``BLOCK`` calls so both see the same machine load."""
    clocks = {name: Clock() for name in MAKERS}
    engines = {name: warmed(make, catalog, traffic, clocks[name]) for name, make in MAKERS.items()}
    latencies = {name: np.empty(N_CALLS, dtype=np.int64) for name in MAKERS}
    perf = time.perf_counter_ns
    n_traffic = len(traffic)
    for start in range(0, N_CALLS, BLOCK):
        for name, engine in engines.items():
            decide, clock, out = engine.decide, clocks[name], latencies[name]
            for i in range(start, start + BLOCK):
                request = traffic[i % n_traffic]
                now = clock()
                t0 = perf()
                decide(request, now=now)
                out[i] = perf() - t0
    lines = [
        f"decide, 1 request, {N_ADS} ads x {DIM} dims, {N_CALLS} calls "
        f"(first bar p50 < {FIRST_BAR_US:.0f} us, goal {GOAL_US:.0f} us):"
    ]
    p50s = {}
    for name, ns in latencies.items():
        p50, p99 = _percentiles(ns)
        p50s[name] = p50
        record_median(GROUP_P50, name, p50 / 1e6)
        lines.append(
            f"  {name:<7} p50 {p50:8.1f} us   p99 {p99:8.1f} us   mean {ns.mean() / 1000:8.1f} us"
        )
    ours = p50s["adcore"]
    lines.append(
        f"  adcore p50 is {ours / FIRST_BAR_US:.2f}x the first bar and "
        f"{ours / GOAL_US:.1f}x the goal; NumPy p50 / adcore p50 = "
        f"{p50s['numpy'] / ours:.2f}"
    )
    say(capsys, *lines)
    for engine in engines.values():
        assert engine.stats().decisions == WARM + N_CALLS


@pytest.mark.parametrize("name", list(MAKERS))
def test_decide(
    timed: Any, name: str, catalog: Catalog, traffic: list[openrtb.BidRequest], equivalence: str
) -> None:
    clock = Clock()
    engine = warmed(MAKERS[name], catalog, traffic, clock)
    decision = timed(GROUP_DECIDE, name, cycling(engine, traffic, clock))
    assert len(decision.slots) == 1


@pytest.mark.parametrize("name", list(MAKERS))
def test_agents_only(
    timed: Any, name: str, catalog: Catalog, traffic: list[openrtb.BidRequest], equivalence: str
) -> None:
    """Feature filling and the ten agents on the engine's context: no validation, locks,
    budget holds or Decision building (the engine's share of ``decide``)."""
    clock = Clock()
    engine = warmed(MAKERS[name], catalog, traffic, clock)
    live = engine._live
    ctx = engine._context(live)
    steps = [(agent.run, live.states[agent.name]) for agent in engine._plan]
    rates = engine.config.exchange_rates
    it = itertools.cycle(traffic)

    def step() -> None:
        fill_features(ctx, next(it), clock(), rates)
        for run, state in steps:
            run(ctx, state)

    timed(GROUP_AGENTS, name, step)


def test_decide_with_user_agents(
    catalog: Catalog, traffic: list[openrtb.BidRequest], capsys: pytest.CaptureFixture[str]
) -> None:
    """p50 of the default plan against the same plan with one user agent: a no-op in
    Python that the auction waits for (the compiled path splits around it), and a kernel
    step fused with the default agents (bids times 1.0). Blocks alternate between the
    engines so all see the same machine load. Goal: within 10 % of the default plan."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from user_steps import DampBids, NoOp

    from adcore.agents import default_agents

    plans = {
        "default plan": None,
        "+ no-op in Python": [*default_agents(), NoOp()],
        "+ kernel step": [*default_agents(), DampBids(1.0)],
    }
    clocks = {name: Clock() for name in plans}
    engines = {
        name: warmed(
            lambda c, cfg, a=agents: Engine(c, cfg, agents=a), catalog, traffic, clocks[name]
        )
        for name, agents in plans.items()
    }
    n = N_CALLS // 2
    latencies = alternating_latencies(engines, clocks, traffic, n)
    base = _percentiles(latencies["default plan"])[0]
    lines = [f"decide p50 with a user agent, {N_ADS} ads, {n} calls each (goal: within 10 %):"]
    for name, ns in latencies.items():
        p50, p99 = _percentiles(ns)
        lines.append(f"  {name:<18} p50 {p50:7.1f} us  p99 {p99:7.1f} us  ratio {p50 / base:.3f}")
    say(capsys, *lines)
    assert [len(e._live.parts) for e in engines.values()] == [3, 5, 3]


def test_decide_with_learners(
    catalog: Catalog, traffic: list[openrtb.BidRequest], capsys: pytest.CaptureFixture[str]
) -> None:
    """p50 of the default plan against the plan with the learning agents (the
    contextual relevance model and the bandit creative agent: the simulator's
    ``learned`` arm), in alternating blocks. Before timing, both engines learn from
    feedback on 4,000 decisions (impressions, every third a click and a completion,
    the others skipped), so the learned model's memory is really in use. Goal: within
    15 %."""
    from adcore.agents import default_agents
    from adcore.sim.baseline import learned_agents

    plans = {"default plan": default_agents(), "with learners": learned_agents()}
    clocks = {name: Clock() for name in plans}
    engines = {
        name: warmed(
            lambda c, cfg, a=agents: Engine(c, cfg, agents=a), catalog, traffic, clocks[name]
        )
        for name, agents in plans.items()
    }
    for name, engine in engines.items():
        for i in range(4000):
            t = clocks[name]()
            for j, slot in enumerate(engine.decide(traffic[i % len(traffic)], now=t).winners):
                iid = slot.impression_id
                assert iid is not None
                engine.feedback(Impression(impression_id=iid, timestamp=t))
                if (i + j) % 3 == 0:
                    engine.feedback(Click(impression_id=iid, timestamp=t + 2.0))
                    engine.feedback(Complete(impression_id=iid, timestamp=t + 2.0))
                else:
                    engine.feedback(Skip(impression_id=iid, timestamp=t + 1.0))
    assert engines["with learners"].agent_state("relevance").model.updates > 500
    n = N_CALLS // 2
    latencies = alternating_latencies(engines, clocks, traffic, n)
    base = _percentiles(latencies["default plan"])[0]
    lines = [f"decide p50 with the learners, {N_ADS} ads, {n} calls each (goal: within 15 %):"]
    for name, ns in latencies.items():
        p50, p99 = _percentiles(ns)
        lines.append(f"  {name:<18} p50 {p50:7.1f} us  p99 {p99:7.1f} us  ratio {p50 / base:.3f}")
    say(capsys, *lines)
    assert [len(e._live.parts) for e in engines.values()] == [3, 3]


# --------------------------------------------------------------------------- batch
def test_decide_batch_decides_like_decide(
    catalog: Catalog, traffic: list[openrtb.BidRequest]
) -> None:
    a, b = Engine(catalog), Engine(catalog)
    clock = Clock()
    times = [clock() for _ in range(300)]
    batch = a.decide_batch(traffic[:300], now=times)
    single = [b.decide(r, now=t) for r, t in zip(traffic[:300], times, strict=True)]
    assert batch == single


@pytest.mark.parametrize("name", ["adcore", f"{BATCH} x decide"])
def test_decide_batch(
    timed: Any, name: str, catalog: Catalog, traffic: list[openrtb.BidRequest]
) -> None:
    clock = Clock()
    engine = warmed(Engine, catalog, traffic, clock)
    requests = traffic[:BATCH]

    if name == "adcore":

        def run() -> list[Decision]:
            return engine.decide_batch(requests, now=[clock() for _ in range(BATCH)])
    else:

        def run() -> list[Decision]:
            times = [clock() for _ in range(BATCH)]
            decide = engine.decide
            return [decide(r, now=t) for r, t in zip(requests, times, strict=True)]

    out = timed(GROUP_BATCH, name, run)
    assert len(out) == BATCH


def test_decide_batch_in_alternating_rounds(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, traffic: list[openrtb.BidRequest]
) -> None:
    """``decide_batch`` of ``BATCH`` requests against a loop of ``decide`` on the same
    engine, in alternating rounds (the order swapping every round), so both see the same
    machine load and the same engine state: the pair above times each on its own engine
    one after the other, which a busy machine skews."""
    clock = Clock()
    engine = warmed(Engine, catalog, traffic, clock)
    requests = traffic[:BATCH]
    decide = engine.decide
    taken: dict[str, list[float]] = {"adcore": [], f"{BATCH} x decide": []}

    def batch() -> int:
        return len(engine.decide_batch(requests, now=[clock() for _ in range(BATCH)]))

    def loop() -> int:
        times = [clock() for _ in range(BATCH)]
        return len([decide(r, now=t) for r, t in zip(requests, times, strict=True)])

    runs = (("adcore", batch), (f"{BATCH} x decide", loop))
    for rnd in range(ROUNDS_BATCH):
        for name, run in runs if rnd % 2 == 0 else runs[::-1]:
            t0 = time.perf_counter()
            assert run() == BATCH
            taken[name].append(time.perf_counter() - t0)
    medians = {name: float(np.median(v)) for name, v in taken.items()}
    for name, median in medians.items():
        record_median(GROUP_BATCH_ALTERNATING, name, median / BATCH)
    ours, loop_s = medians["adcore"], medians[f"{BATCH} x decide"]
    say(
        capsys,
        f"decide_batch of {BATCH} against {BATCH} decide calls, {ROUNDS_BATCH} alternating "
        "rounds on one engine (median per round):",
        f"  decide_batch {ours * 1e3:8.1f} ms   loop {loop_s * 1e3:8.1f} ms   "
        f"loop / batch = {loop_s / ours:.2f}   ({BATCH / ours:,.0f} decisions/s; "
        "goal 300,000/s)",
    )


# --------------------------------------------------------------------------- JSON bytes
def test_decide_from_json_bytes(
    timed: Any, catalog: Catalog, traffic: list[openrtb.BidRequest]
) -> None:
    """Decode (msgspec, validated) and decide the OpenRTB 2.6 "simple banner" example."""
    raw = SIMPLE_BANNER.read_bytes()
    clock = Clock()
    engine = warmed(Engine, catalog, traffic, clock)
    for _ in range(WARM):
        engine.decide(raw, now=clock())
    decision = timed(GROUP_JSON, "adcore", lambda: engine.decide(raw, now=clock()))
    assert decision.request_id == "80ce30c53c16e6ede735f123ef6e32361bfc7b22"
    assert decision.slots[0].ad_id is not None


def test_decode_json_bytes(timed: Any) -> None:
    """The decoding share of the previous benchmark."""
    raw = SIMPLE_BANNER.read_bytes()
    request = timed(GROUP_DECODE, "adcore", openrtb.decode_request, raw)
    assert request.imp[0].banner is not None
