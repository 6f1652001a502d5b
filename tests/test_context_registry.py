"""The context registry (``adcore.context.REGISTRY``): the one declaration of what a
per-request context holds, and the debug mode built on it.

- Every attribute a context holds, fresh and after deciding requests of every kind, is
  registered or structural; every registered array has the declared dtype and shape.
- :func:`changed_outside` catches a write outside an agent's declared fields and a
  replaced array, and allows scratch and consumable fields.
- ``EngineConfig(debug=True)``: an agent breaking its contract raises
  :class:`adcore.ContractError` naming the agent and the fields; well-behaved plans
  decide exactly as without debug.
- ``ADCORE_BOUNDSCHECK=1``: kernels raise ``IndexError`` on an out-of-bounds index.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, ClassVar

import numpy as np
import pytest

from adcore import Agent, Catalog, ContractError, Engine, EngineConfig
from adcore.context import FIELDS, REGISTRY, SCRATCH, Context, changed_outside, watch
from adcore.demo import DEMO_START, sample_catalog, sample_requests

STRUCTURAL = {
    "snapshot",
    "max_imps",
    "max_pod",
    "compiled_args",
    "default_multislot",
    "placement_slots",
    "dims",
    "_bits",
}
"""Attributes set once per context (not per request), outside the registry."""


def _engine(catalog: Catalog, **config: Any) -> Engine:
    return Engine(catalog, EngineConfig(latency_budget_us=float("inf"), **config))


def test_every_field_of_the_registry_is_declared_or_scratch() -> None:
    assert {slot.field for slot in REGISTRY.values()} <= FIELDS | {SCRATCH}
    for name, slot in REGISTRY.items():
        assert (slot.dtype is None) == (slot.shape is None), name
        if slot.dtype is not None:
            np.dtype(slot.dtype)  # a real dtype
        assert not (slot.packed and slot.dtype != "uint64"), name


@pytest.mark.parametrize("n_ads", [1, 60])
def test_a_context_holds_exactly_the_registry(n_ads: int) -> None:
    """Fresh, and after deciding requests of every kind (display, audio, video, pods,
    bots, GDPR) on the traced and the fused path."""
    catalog = sample_catalog(n_ads=n_ads, seed=3)
    engine = _engine(catalog, max_imps=4)
    ctx = engine._context(engine._live)
    assert set(vars(ctx)) == set(REGISTRY) | STRUCTURAL
    for i, request in enumerate(sample_requests(40, seed=2, bot_share=0.2, gdpr_share=0.3)):
        engine.decide(request, now=DEMO_START + i, trace=i % 2 == 0)
    assert set(vars(ctx)) == set(REGISTRY) | STRUCTURAL
    for name, slot in REGISTRY.items():
        value = getattr(ctx, name)
        if slot.dtype is not None:
            assert type(value) is np.ndarray, name
            assert value.dtype == np.dtype(slot.dtype), name
            assert value.shape == ctx.shape_of(name), name


def test_packed_bitsets_share_one_buffer() -> None:
    ctx = Context(sample_catalog(n_ads=20, seed=1).snapshot, 2)
    packed = [name for name, slot in REGISTRY.items() if slot.packed]
    assert len(packed) == 5
    for name in packed:
        assert np.shares_memory(getattr(ctx, name), ctx._bits), name
    ctx._bits.fill(7)
    assert all((getattr(ctx, name) == 7).all() for name in packed)


def test_changed_outside_names_what_an_agent_may_not_change() -> None:
    ctx = Context(sample_catalog(n_ads=20, seed=1).snapshot, 2)
    before = watch(ctx)
    ctx.bid[3] = 1.5  # field "bid"
    ctx.g_eff[0] = 2.0  # scratch: always allowed
    ctx.avail[0] -= 1  # consumable by a reader of "multiplier"
    ctx.fraud_score = 0.5  # a per-request value of field "fraud"
    ctx.consent_reasons.append("x")  # a list changed in place (field "consent")
    reads = frozenset({"multiplier"})
    # in registry order
    assert changed_outside(ctx, before, reads, frozenset()) == [
        "consent_reasons",
        "fraud_score",
        "bid",
    ]
    assert changed_outside(ctx, before, reads, frozenset({"bid", "fraud", "consent"})) == []
    assert changed_outside(ctx, before, frozenset(), frozenset({"bid", "fraud", "consent"})) == [
        "avail"
    ]
    ctx.score = np.zeros(3)  # replaced: wrong shape, even for a writer of "score"
    bad = changed_outside(ctx, before, reads, frozenset({"score", "bid", "fraud", "consent"}))
    assert len(bad) == 1 and bad[0].startswith("score (replaced")


class _Sneaky(Agent):
    """Declares it only reads the winners, and changes bids."""

    name: ClassVar[str] = "sneaky"
    reads: ClassVar[frozenset[str]] = frozenset({"winners"})
    writes: ClassVar[frozenset[str]] = frozenset()

    def run(self, ctx: Any, state: Any) -> None:
        ctx.bid[:] = ctx.bid + 1.0


class _Honest(Agent):
    """Declares what it writes: a no-op logger that reads the winners."""

    name: ClassVar[str] = "logger"
    reads: ClassVar[frozenset[str]] = frozenset({"winners"})
    writes: ClassVar[frozenset[str]] = frozenset()

    def run(self, ctx: Any, state: Any) -> None:
        int(ctx.win_ad[: ctx.n_imp].sum())


def _plan_with(extra: Agent) -> list[Agent]:
    from adcore.agents import default_agents

    return [*default_agents(), extra]


def test_debug_mode_raises_naming_the_agent_and_the_fields() -> None:
    catalog = sample_catalog(n_ads=40, seed=4)
    engine = Engine(
        catalog,
        EngineConfig(latency_budget_us=float("inf"), debug=True),
        agents=_plan_with(_Sneaky()),
    )
    with pytest.raises(ContractError) as err:
        for i, request in enumerate(sample_requests(20, seed=4)):
            engine.decide(request, now=DEMO_START + i)
    assert err.value.agent == "sneaky" and err.value.fields == ("bid",)
    assert "sneaky" in str(err.value) and "bid" in str(err.value)


def test_without_debug_the_same_agent_is_not_checked() -> None:
    catalog = sample_catalog(n_ads=40, seed=4)
    engine = Engine(
        catalog, EngineConfig(latency_budget_us=float("inf")), agents=_plan_with(_Sneaky())
    )
    for i, request in enumerate(sample_requests(5, seed=4)):
        engine.decide(request, now=DEMO_START + i)


@pytest.mark.parametrize("extra", [None, _Honest()], ids=["default", "logger"])
def test_debug_mode_decides_like_the_engine_without_it(extra: Agent | None) -> None:
    catalog = sample_catalog(n_ads=60, seed=5)
    agents = None if extra is None else _plan_with(extra)
    plain = Engine(catalog, EngineConfig(latency_budget_us=float("inf")), agents=agents)
    debug = Engine(catalog, EngineConfig(latency_budget_us=float("inf"), debug=True), agents=agents)
    requests = sample_requests(60, seed=5, bot_share=0.1, gdpr_share=0.3)
    a = [plain.decide(r, now=DEMO_START + i) for i, r in enumerate(requests)]
    b = [debug.decide(r, now=DEMO_START + i) for i, r in enumerate(requests)]
    assert a == b


def test_boundscheck_switch_raises_index_errors() -> None:
    """In a fresh process with ``ADCORE_BOUNDSCHECK=1`` a kernel given a too-short
    output raises ``IndexError`` instead of writing past it."""
    code = (
        "import numpy as np\n"
        "from adcore._kernels._jit import BOUNDSCHECK\n"
        "from adcore._kernels.pacing import budget_available\n"
        "assert BOUNDSCHECK\n"
        "z = np.zeros(3, np.int64)\n"
        "try:\n"
        "    budget_available(np.zeros(4, np.int64), z, z, z, z, z)\n"
        "except IndexError:\n"
        "    print('IndexError')\n"
    )
    env = {**os.environ, "ADCORE_BOUNDSCHECK": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "IndexError"
