"""Agents a user might write, for ``test_program.py``: one with its own compiled kernel
(declared as a kernel step, so the engine fuses it with adcore's), the same work in
Python, and a no-op that runs in Python between compiled segments. Kernels live at the
top level of an importable module, as the engine's generated code imports them."""

from __future__ import annotations

from typing import Any, ClassVar

import numba

from adcore import Agent
from adcore.agents import BiddingAgent, KernelStep


@numba.njit(nogil=True)
def damp_bids(bid, value, cand, n_cand, factor):  # type: ignore[no-untyped-def]
    """Multiply each candidate's bid by ``factor`` (value unchanged); returns how many
    bids changed."""
    changed = 0
    for j in range(n_cand):
        i = cand[j]
        if bid[i] > 0.0:
            bid[i] *= factor
            changed += 1
    return changed


class _DampState:
    def __init__(self, factor: float) -> None:
        self.factor = factor


class DampBids(Agent):
    """Bids times a constant, in a kernel step fused with the default agents'."""

    name: ClassVar[str] = "damp"
    reads: ClassVar[frozenset[str]] = frozenset({"bid", "candidates"})
    writes: ClassVar[frozenset[str]] = frozenset({"bid"})
    step: ClassVar[KernelStep] = KernelStep(
        damp_bids,
        ("ctx.bid", "ctx.value", "ctx.cand", "ctx.n_cand", "state.factor"),
    )

    def __init__(self, factor: float = 0.5) -> None:
        self.factor = factor

    def bind(self, snapshot: Any, previous: Any, services: Any) -> Any:
        return _DampState(self.factor)


class DampedBidding(BiddingAgent):
    """The bidding agent, then the same damping in Python: the reference for DampBids."""

    def __init__(self, factor: float = 0.5) -> None:
        self.factor = factor

    def run(self, ctx: Any, state: Any) -> None:
        super().run(ctx, state)
        cand = ctx.cand[: ctx.n_cand]
        ctx.bid[cand] *= self.factor


class NoOp(Agent):
    """Does nothing, in Python. It declares that it adjusts the pacing multipliers, so
    the auction waits for it: the plan's compiled agents split around it."""

    name: ClassVar[str] = "noop"
    reads: ClassVar[frozenset[str]] = frozenset({"bid"})
    writes: ClassVar[frozenset[str]] = frozenset({"multiplier"})

    def run(self, ctx: Any, state: Any) -> None:
        return None


@numba.njit(nogil=True)
def count_and_flag(cand, n_cand, has_interest):  # type: ignore[no-untyped-def]
    """Returns two values: the candidates with an even index, and the interest flag
    flipped."""
    even = 0
    for j in range(n_cand):
        if cand[j] % 2 == 0:
            even += 1
    return even, 1 - has_interest


class TwoReturns(Agent):
    """A step whose kernel returns a tuple into two context values."""

    name: ClassVar[str] = "two_returns"
    reads: ClassVar[frozenset[str]] = frozenset({"candidates", "interest"})
    writes: ClassVar[frozenset[str]] = frozenset({"candidates", "interest"})
    step: ClassVar[KernelStep] = KernelStep(
        count_and_flag,
        ("ctx.cand", "ctx.n_cand", "ctx.has_interest"),
        returns=("n_cand", "has_interest"),
    )
