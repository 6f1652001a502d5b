"""Contextual bandits in the request path: one round (choose an arm for a context, then
learn its reward) of adcore's bandits against Vowpal Wabbit's ``cb_explore_adf``, in the
same run.

Set-up: 5 arms, contexts of 5 standard-normal features, and a reward that is 1 with
probability ``clip(0.5 + 0.15 * theta_a . x, 0, 1)`` for fixed random ``theta_a`` (seed 0),
so the best arm depends on the context. Every side plays the same stream of contexts and
reward draws (common random numbers):

- adcore: ``LinUCB(alpha=1)``, ``EpsilonGreedy(epsilon=0.1)`` and
  ``LinearThompsonSampling(v=0.5)``: ``choose(x)`` then ``learn(arm, x, reward)``;
- Vowpal Wabbit 9: ``--cb_explore_adf --epsilon 0.1 -q sa``, ``predict`` on the
  multi-line example (a shared context line, one line per arm), an arm drawn from the
  returned distribution, then ``learn`` on the example labelled with the cost (-reward)
  and the probability of the chosen arm. Building the example text is part of its round,
  as it is for any caller of the Python API.

Blocks of ``ROUNDS`` rounds alternate between the sides so they share the machine's
load; per-round medians and the ratio against VW are printed, with each side's mean
reward and the optimum (the best arm's expected reward in every round): being fast by
learning less would be worthless. Needs the ``bench`` extra.

    .venv/bin/python -m pytest bench/bench_bandits.py -q -p no:cacheprovider -s
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
import vowpalwabbit

from adcore.learn import EpsilonGreedy, LinearThompsonSampling, LinUCB

ARMS = 5
DIM = 5
ROUNDS = 500
BLOCKS = 9
GOAL_US = 2.0

_truth = np.random.default_rng(0).normal(size=(ARMS, DIM))
_rng = np.random.default_rng(1)
STREAM = ROUNDS * (BLOCKS + 1)
CONTEXTS = _rng.normal(size=(STREAM, DIM))
UNIFORMS = _rng.random((STREAM, ARMS))  # reward draws, shared by every side
PICKS = _rng.random(STREAM)  # VW's draw from its distribution
MEANS = np.clip(0.5 + 0.15 * CONTEXTS @ _truth.T, 0.0, 1.0)
OPTIMUM = float(MEANS.max(axis=1).mean())


def _reward(t: int, arm: int) -> float:
    return 1.0 if UNIFORMS[t, arm] < MEANS[t, arm] else 0.0


class _Side:
    def __init__(self, round_: Callable[[int], float]) -> None:
        self.round = round_
        self.t = 0
        self.total = 0.0
        self.played = 0

    def block(self) -> None:
        total = 0.0
        for _ in range(ROUNDS):
            total += self.round(self.t % STREAM)
            self.t += 1
        self.total += total
        self.played += ROUNDS


def _adcore(model: LinUCB | EpsilonGreedy | LinearThompsonSampling) -> _Side:
    def round_(t: int) -> float:
        x = CONTEXTS[t]
        arm = model.choose(x).arm
        r = _reward(t, arm)
        model.learn(arm, x, r)
        return r

    return _Side(round_)


def _vw() -> _Side:
    vw = vowpalwabbit.Workspace("--cb_explore_adf --epsilon 0.1 -q sa --quiet")
    actions = [f"|a arm{j}" for j in range(ARMS)]

    def round_(t: int) -> float:
        x = CONTEXTS[t]
        shared = "shared |s " + " ".join(f"f{j}:{x[j]:.6f}" for j in range(DIM))
        pmf = vw.predict([shared, *actions])
        arm = int(np.searchsorted(np.cumsum(pmf), PICKS[t] * sum(pmf)))
        arm = min(arm, ARMS - 1)
        r = _reward(t, arm)
        labelled = list(actions)
        labelled[arm] = f"0:{-r}:{pmf[arm]} {actions[arm]}"
        vw.learn([shared, *labelled])
        return r

    return _Side(round_)


SIDES: dict[str, Callable[[], _Side]] = {
    "adcore LinUCB": lambda: _adcore(LinUCB(ARMS, DIM, alpha=1.0)),
    "adcore epsilon-greedy": lambda: _adcore(EpsilonGreedy(ARMS, DIM, epsilon=0.1, seed=0)),
    "adcore linear Thompson": lambda: _adcore(LinearThompsonSampling(ARMS, DIM, v=0.5, seed=0)),
    "vw cb_explore_adf": _vw,
}


def test_choose_and_learn_against_vowpal_wabbit(capsys: pytest.CaptureFixture[str]) -> None:
    sides = {name: make() for name, make in SIDES.items()}
    for side in sides.values():
        side.block()  # compile and warm
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(BLOCKS):
        for name, side in sides.items():
            t0 = time.perf_counter()
            side.block()
            times[name].append((time.perf_counter() - t0) / ROUNDS * 1e6)
    med = {name: float(np.median(v)) for name, v in times.items()}
    vw = med["vw cb_explore_adf"]
    with capsys.disabled():
        print(
            f"\nchoose + learn per round (median of {BLOCKS} blocks of {ROUNDS}), goal "
            f"{GOAL_US} us; optimum mean reward {OPTIMUM:.3f}:"
        )
        for name, us in med.items():
            side = sides[name]
            print(
                f"  {name:24s} {us:8.2f} us   vw / this = {vw / us:6.2f}x   "
                f"mean reward {side.total / side.played:.3f}"
            )
    assert all(s.played == ROUNDS * (BLOCKS + 1) for s in sides.values())
