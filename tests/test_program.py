"""The compiled request path generated from the agents' kernel steps (adcore._program).

- The default plan is two agents in Python (privacy, fraud) and one compiled segment of
  the other eight, whose generated source calls each declared kernel once, in order.
- A user agent that runs in Python splits the plan into two compiled segments, and
  decides exactly like the default plan (it does nothing).
- A user agent with its own kernel step is fused into the default agents' segment and
  decides exactly like the same work written in Python.
- Traced decisions, decisions with the latency budget at risk (every optional agent
  skipped, segments run one step per call) and decisions in debug mode come from the
  same compiled functions and equal the untraced ones.
- Bad step declarations are refused with PlanError when the engine is built.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import numba
import pytest
from user_steps import DampBids, DampedBidding, NoOp

from adcore import Agent, ContractError, Engine, EngineConfig, KernelStep, PlanError
from adcore._program import BoundSegment, Segment
from adcore.agents import BiddingAgent, default_agents
from adcore.decision import Decision
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.events import Complete, Impression

INF = EngineConfig(latency_budget_us=math.inf, explore=0.1, seed=3, max_imps=4)


@pytest.fixture(scope="module")
def catalog() -> Any:
    return sample_catalog(n_ads=80, seed=7)


@pytest.fixture(scope="module")
def requests() -> list[Any]:
    base = sample_requests(120, seed=8, bot_share=0.05, gdpr_share=0.3)
    replace = msgspec.structs.replace
    # Several impressions and first price as well.
    extra = [
        replace(a, id=f"{a.id}-m", imp=(a.imp[0], replace(b.imp[0], id="2")), at=1)
        for a, b in zip(base[:40:2], base[1:40:2], strict=True)
    ]
    return base + extra


def _decide_all(engine: Engine, requests: Sequence[Any], trace: bool = False) -> list[Decision]:
    """Decide every request, with feedback on the winners (so learners move)."""
    out = []
    for i, r in enumerate(requests):
        t = DEMO_START + 5.0 * i
        d = engine.decide(r, now=t, trace=trace)
        out.append(d)
        for s in d.winners:
            engine.feedback(Impression(impression_id=s.impression_id, timestamp=t))
            if i % 3 == 0:
                engine.feedback(Complete(impression_id=s.impression_id, timestamp=t + 1))
    return out


def _slots(decisions: Sequence[Decision]) -> list[Any]:
    return [d.slots for d in decisions]


def _kinds(engine: Engine) -> list[Any]:
    return [
        p.segment.names if isinstance(p, BoundSegment) else p[0].name for p in engine._live.parts
    ]


def test_default_plan_is_two_python_agents_and_one_segment(
    catalog: Any, requests: list[Any]
) -> None:
    engine = Engine(catalog, INF)
    engine.decide(requests[0], now=DEMO_START)
    assert _kinds(engine) == [
        "privacy",
        "fraud",
        (
            "audience",
            "inventory",
            "safety",
            "relevance",
            "bidding",
            "pacing",
            "creative",
            "auction",
        ),
    ]
    seg = engine._live.parts[2]
    assert isinstance(seg, BoundSegment)
    source = seg.segment.source
    assert source is not None
    for agent in seg.segment.agents:
        assert agent.step is not None
        name = agent.step.kernel.py_func.__name__
        assert source.count(f"import {name} as ") == 1, name
    # one call per step, in plan order
    calls = [source.index(f"# {a.step.kernel.py_func.__name__}\n") for a in seg.segment.agents]  # type: ignore[union-attr]
    assert calls == sorted(calls)


def test_a_python_agent_splits_the_plan_and_decides_like_the_default(
    catalog: Any, requests: list[Any]
) -> None:
    engine = Engine(catalog, INF, agents=[*default_agents(), NoOp()])
    kinds = _kinds(engine)
    assert kinds[:2] == ["privacy", "fraud"]
    assert kinds[3] == "noop" and kinds[4] == ("auction",)
    assert kinds[2][-1] != "auction" and "bidding" in kinds[2]
    default = Engine(catalog, INF)
    assert _slots(_decide_all(engine, requests)) == _slots(_decide_all(default, requests))
    assert engine.ledger.balances() == default.ledger.balances()


def test_a_user_kernel_step_is_fused_and_decides_like_python(
    catalog: Any, requests: list[Any]
) -> None:
    fused = Engine(catalog, INF, agents=[*default_agents(), DampBids(0.5)])
    kinds = _kinds(fused)
    assert len(kinds) == 3 and "damp" in kinds[2]
    assert kinds[2].index("damp") > kinds[2].index("bidding")
    agents = [DampedBidding(0.5) if isinstance(a, BiddingAgent) else a for a in default_agents()]
    python = Engine(catalog, INF, agents=agents)
    a, b = _decide_all(fused, requests), _decide_all(python, requests)
    assert _slots(a) == _slots(b)
    assert sum(len(d.winners) for d in a) > 20
    plain = _decide_all(Engine(catalog, INF), requests)
    assert _slots(a) != _slots(plain)  # the damping matters: the test can fail


@pytest.mark.parametrize(
    "extra", [None, NoOp(), DampBids(0.7)], ids=["default", "python-agent", "user-kernel"]
)
def test_traced_and_budget_at_risk_paths_run_the_same_program(
    catalog: Any, requests: list[Any], extra: Agent | None
) -> None:
    agents = None if extra is None else [*default_agents(), extra]
    fast = Engine(catalog, INF, agents=agents)
    traced = Engine(catalog, INF, agents=agents)
    a = _decide_all(fast, requests)
    b = _decide_all(traced, requests, trace=True)
    assert _slots(a) == _slots(b)
    assert all(d.trace is not None and d.trace.plan == fast.plan for d in b)
    assert [t.agent for t in b[0].trace.agents] == list(fast.plan)  # type: ignore[union-attr]
    # No budget at all: every optional agent falls back, one step per call, traced or not.
    broke = msgspec.structs.replace(INF, latency_budget_us=0.0)
    x = _decide_all(Engine(catalog, broke, agents=agents), requests)
    y_engine = Engine(catalog, broke, agents=agents)
    y = _decide_all(y_engine, requests, trace=True)
    assert _slots(x) == _slots(y)
    skipped = y_engine.stats().skipped_agents
    assert skipped["relevance"] == skipped["creative"] == len(requests)
    assert all(t.skipped for t in y[0].trace.agents if t.agent in ("relevance", "creative"))  # type: ignore[union-attr]


def test_debug_mode_checks_each_step_and_hook(catalog: Any, requests: list[Any]) -> None:
    agents = [*default_agents(), DampBids(0.5)]
    plain = Engine(catalog, INF, agents=agents)
    debug = Engine(catalog, msgspec.structs.replace(INF, debug=True), agents=agents)
    assert _slots(_decide_all(plain, requests[:60])) == _slots(_decide_all(debug, requests[:60]))


# ----------------------------------------------------------------------- bad declarations
@numba.njit
def _not_importable(bid):  # type: ignore[no-untyped-def]  # pragma: no cover - never runs
    return 0


def _agent_with(step: KernelStep | None, run: bool = False) -> Agent:
    body: dict[str, Any] = {
        "name": "bad",
        "reads": frozenset({"bid"}),
        "writes": frozenset(),
        "step": step,
    }
    if run:
        body["run"] = lambda self, ctx, state: None
    return type("Bad", (Agent,), body)()  # type: ignore[no-any-return]


def _inner() -> Any:
    @numba.njit
    def local(bid):  # type: ignore[no-untyped-def]  # pragma: no cover - never runs
        return 0

    return local


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: _agent_with(None), "neither a kernel step nor run"),
        (lambda: _agent_with(KernelStep(lambda bid: 0, ("ctx.bid",))), "not a compiled"),
        (lambda: _agent_with(KernelStep(_inner(), ("ctx.bid",))), "top-level function"),
        (lambda: _agent_with(KernelStep(_not_importable, ("ctx.nope",))), "does not hold"),
        (
            lambda: _agent_with(KernelStep(_not_importable, ("ctx.bid",), returns=("bid",))),
            "not a per-request context value",
        ),
        (lambda: _agent_with(KernelStep(_not_importable, ("ctx.score",))), "neither reads"),
        (
            lambda: _agent_with(KernelStep(_not_importable, ("ctx.bid",), returns=("n_cand",))),
            "does not declare in writes",
        ),
        (lambda: _agent_with(KernelStep(_not_importable, ("bid",))), "must be 'ctx.<name>'"),
        (lambda: _agent_with(KernelStep(_not_importable, ("ctx.",))), "must be 'ctx.<name>'"),
    ],
    ids=["no-step-no-run", "not-compiled", "nested", "unknown-ctx", "returns-array",
         "undeclared-read", "undeclared-return", "no-root", "empty-path"],
)  # fmt: skip
def test_bad_steps_are_refused_when_the_engine_is_built(
    catalog: Any, make: Any, pattern: str
) -> None:
    with pytest.raises(PlanError, match=pattern):
        Engine(catalog, EngineConfig(warmup=False), agents=[*default_agents(), make()])


def test_an_agent_overriding_run_runs_in_python(catalog: Any) -> None:
    """A subclass of a stepped agent that overrides ``run`` (as the simulator's
    learning agents do) runs its override, between compiled segments."""
    agents = [DampedBidding(0.5) if isinstance(a, BiddingAgent) else a for a in default_agents()]
    kinds = _kinds(Engine(catalog, EngineConfig(warmup=False), agents=agents))
    assert "bidding" in kinds and all("bidding" not in k for k in kinds if isinstance(k, tuple))


_COMPILE_ONCE = """
import numpy as np
from user_steps import DampBids
from adcore._program import Segment
seg = Segment([DampBids(0.5)])
fn = seg.program((("float64", 1), ("float64", 1), ("int64", 1), None))
bid, value, cand = np.ones(4), np.zeros(4), np.arange(4)
ptrs = np.array([bid.ctypes.data, value.ctypes.data, cand.ctypes.data], dtype=np.int64)
fn(0, 1, (4,), ptrs, np.array([4, 4, 4], dtype=np.int64), (0.5,))
assert bid.tolist() == [0.5] * 4
print(sum(fn.stats.cache_hits.values()), sum(fn.stats.cache_misses.values()))
"""


def test_a_segment_compiles_once_per_machine(tmp_path: Any) -> None:
    """The generated source is written under ``$ADCORE_CACHE_DIR`` and its machine code
    cached there: a second process loads it without compiling."""
    env = {**os.environ, "ADCORE_CACHE_DIR": str(tmp_path)}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    runs = [
        subprocess.run(
            [sys.executable, "-c", _COMPILE_ONCE], env=env, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    (first_hits, first_misses), (hits, misses) = (
        tuple(int(x) for x in r.stdout.split()) for r in runs
    )
    assert (first_hits, first_misses) == (0, 1)
    assert (hits, misses) == (1, 0)
    files = list((tmp_path / "adcore-plans").glob("adcore_segment_*.py"))
    assert len(files) == 1 and "from user_steps import damp_bids as k0" in files[0].read_text()


def test_the_same_plan_generates_the_same_source(catalog: Any, requests: list[Any]) -> None:
    a, b = Engine(catalog, INF), Engine(catalog, INF)
    a.decide(requests[0], now=DEMO_START)
    b.decide(requests[0], now=DEMO_START)
    (sa,) = (p.segment for p in a._live.parts if isinstance(p, BoundSegment))
    (sb,) = (p.segment for p in b._live.parts if isinstance(p, BoundSegment))
    assert sa is not sb and sa.source is not None and sa.source == sb.source


class _Twice(Agent):
    """Two steps of the same kernel in one plan: each gets its own arguments. (It
    declares it reads the multipliers, not the bids, so that it runs after pacing and
    the plan has no cycle with DampBids.)"""

    name: ClassVar[str] = "twice"
    reads: ClassVar[frozenset[str]] = frozenset({"multiplier", "candidates"})
    writes: ClassVar[frozenset[str]] = frozenset({"bid"})
    step: ClassVar[KernelStep] = DampBids.step

    def bind(self, snapshot: Any, previous: Any, services: Any) -> Any:
        return DampBids(0.5).bind(snapshot, previous, services)


def test_the_same_kernel_in_two_steps(catalog: Any, requests: list[Any]) -> None:
    both = Engine(catalog, INF, agents=[*default_agents(), DampBids(0.5), _Twice()])
    agents = [DampedBidding(0.25) if isinstance(a, BiddingAgent) else a for a in default_agents()]
    python = Engine(catalog, INF, agents=agents)
    assert _slots(_decide_all(both, requests[:80])) == _slots(_decide_all(python, requests[:80]))


class _Drifting(DampBids):
    """Changes its step's state value after every decision: against the contract
    (state values constant, arrays updated in place)."""

    name: ClassVar[str] = "drifting"

    def after(self, ctx: Any, state: Any) -> None:
        state.factor = state.factor * 0.9


def test_debug_mode_catches_a_replaced_step_argument(catalog: Any, requests: list[Any]) -> None:
    debug = Engine(catalog, msgspec.structs.replace(INF, debug=True),
                   agents=[*default_agents(), _Drifting(0.5)])  # fmt: skip
    debug.decide(requests[0], now=DEMO_START)
    with pytest.raises(ContractError, match="state.factor") as err:
        debug.decide(requests[1], now=DEMO_START + 1)
    assert err.value.agent == "drifting" and err.value.fields == ("state.factor",)
    plain = Engine(catalog, INF, agents=[*default_agents(), _Drifting(0.5)])
    for i, r in enumerate(requests[:5]):  # not checked without debug mode
        plain.decide(r, now=DEMO_START + i)


def test_a_step_returning_a_tuple_sets_each_value(catalog: Any) -> None:
    """Generated code unpacks a tuple return into the named context values, and a later
    step of the same segment reads the new value (here: the same step twice)."""
    from user_steps import TwoReturns

    agent = TwoReturns()
    seg = Segment([agent, agent])
    engine = Engine(catalog, EngineConfig(warmup=False))
    ctx = engine._context(engine._live)
    ctx.cand[:6] = [0, 1, 2, 3, 4, 5]
    ctx.n_cand, ctx.has_interest = 6, 0
    bound = seg.bind({"two_returns": None})
    bound.run(ctx)  # 6 -> 3 even (0, 2, 4); then 3 -> 2 even (0, 2); the flag twice
    assert (ctx.n_cand, ctx.has_interest) == (2, 0)
    assert "v_n_cand, v_has_interest = k0(" in (seg.source or "")
    bound.call(ctx, 1, 2)  # the second step alone reads the context's values
    assert (ctx.n_cand, ctx.has_interest) == (1, 1)


def test_reads_if_written_orders_without_requiring_a_writer(catalog: Any) -> None:
    """The auction reads the fraud agent's bid discount when there is a fraud agent
    (so it runs after it, whatever order the agents are given in) and the engine's
    default without one (no PlanError)."""
    from adcore.agents import AuctionAgent, FraudAgent

    class LateFraud(Agent):  # a name the default order puts after the auction
        name: ClassVar[str] = "late_fraud"
        reads: ClassVar[frozenset[str]] = frozenset()
        writes: ClassVar[frozenset[str]] = frozenset({"fraud"})

        def run(self, ctx: Any, state: Any) -> None:
            ctx.bid_factor[0] = 0.5

    assert "fraud" in AuctionAgent.reads_if_written
    without = [a for a in default_agents() if not isinstance(a, FraudAgent)]
    assert "fraud" not in Engine(catalog, EngineConfig(warmup=False), agents=without).plan
    plan = Engine(catalog, EngineConfig(warmup=False), agents=[*without, LateFraud()]).plan
    assert plan.index("late_fraud") < plan.index("auction")


def test_traces_name_the_compiled_segments(catalog: Any, requests: list[Any]) -> None:
    engine = Engine(catalog, INF, agents=[*default_agents(), NoOp()])
    d = engine.decide(requests[0], now=DEMO_START, trace=True)
    assert d.trace is not None
    assert d.trace.segments == tuple(
        p.segment.names for p in engine._live.parts if isinstance(p, BoundSegment)
    )
    assert d.trace.segments[-1] == ("auction",)
    line = engine.explain(d).splitlines()[2]
    assert "-> noop -> [auction]" in line and line.startswith("  plan: privacy -> fraud -> [")
