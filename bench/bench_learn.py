"""Learning in the request path: one round of a response model (predict for a decision,
then learn its outcome) in adcore against River, in the same run.

Set-up: a synthetic stream of listener x ad examples whose true click probability is a
logistic function of an ad effect, an ad x genre effect and a device effect (20 ads, 4
genres, 3 devices; about 12 % positives). Each example has three one-hot features. Both
sides run FTRL-proximal logistic regression with the same hyper-parameters:

- adcore: ``FTRLProximal.predict`` then ``FTRLProximal.learn`` on the row from
  ``hash_features`` (named features hashed in Python per round), and the same on rows
  hashed beforehand (what an engine that hashes in its kernels pays);
- River 0.2x: ``LogisticRegression(optimizer=optim.FTRLProximal(...))``,
  ``predict_proba_one`` then ``learn_one`` on the one-hot dict.

Each timing is a block of ``ROUNDS`` rounds continuing one stream (so the models keep
learning across blocks); the table at the end gives per-block medians and the ratio. The
progressive log loss of both (each prediction made before its example is learned) is
printed too: being fast by learning less would be worthless.

Needs the ``bench`` extra (``pip install -e '.[bench]'``).

    .venv/bin/python -m pytest bench/bench_learn.py -q -p no:cacheprovider -s
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from river import linear_model, optim

from adcore.learn import FTRLProximal, hash_features

ROUNDS = 1_000
STREAM = 60_000
HYPER = {"alpha": 0.3, "beta": 1.0, "l1": 0.1, "l2": 0.1}
GROUP_NAMED = f"response model: predict + learn from named features, {ROUNDS} rounds"
GROUP_HASHED = f"response model: predict + learn, adcore on hashed rows, {ROUNDS} rounds"
GOAL_US = 2.0


def _stream(seed: int, n: int) -> tuple[list[dict[str, str]], np.ndarray]:
    truth = np.random.default_rng(1234)
    ad_effect = truth.normal(-2.0, 0.5, 20)
    cross = truth.normal(0.0, 1.0, (20, 4))
    device = np.array([0.0, 0.4, -0.4])
    rng = np.random.default_rng(seed)
    ads, genres, devices = rng.integers(0, 20, n), rng.integers(0, 4, n), rng.integers(0, 3, n)
    p = 1.0 / (1.0 + np.exp(-(ad_effect[ads] + cross[ads, genres] + device[devices])))
    y = (rng.random(n) < p).astype(np.float64)
    feats = [
        {"ad": f"a{a}", "ad x genre": f"a{a}|g{g}", "device": f"d{d}"}
        for a, g, d in zip(ads.tolist(), genres.tolist(), devices.tolist(), strict=True)
    ]
    return feats, y


FEATS, LABELS = _stream(0, STREAM)
ONE_HOT = [{f"{k}={v}": 1.0 for k, v in f.items()} for f in FEATS]
ROWS = [hash_features(f) for f in FEATS]


def _log_loss(y: float, p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


class _Cursor:
    """Where each side is in the stream (wrapping), and its progressive log loss."""

    def __init__(self) -> None:
        self.it: Iterator[int] = itertools.cycle(range(STREAM))
        self.loss = 0.0
        self.seen = 0


def _adcore_round(hashed: bool) -> Callable[[], None]:
    model = FTRLProximal(bits=18, **HYPER)
    cur = _Cursor()
    it, y = cur.it, LABELS.tolist()

    def block() -> None:
        loss = 0.0
        for _ in range(ROUNDS):
            t = next(it)
            row = ROWS[t] if hashed else hash_features(FEATS[t])
            p = model.predict(row)
            model.learn(row, y[t])
            loss += _log_loss(y[t], p)
        cur.loss += loss
        cur.seen += ROUNDS

    block.cursor = cur  # type: ignore[attr-defined]
    return block


def _river_round() -> Callable[[], None]:
    model = linear_model.LogisticRegression(
        optimizer=optim.FTRLProximal(
            alpha=HYPER["alpha"], beta=HYPER["beta"], l1=HYPER["l1"], l2=HYPER["l2"]
        )
    )
    cur = _Cursor()
    it, y = cur.it, LABELS.tolist()

    def block() -> None:
        loss = 0.0
        for _ in range(ROUNDS):
            t = next(it)
            x = ONE_HOT[t]
            p = model.predict_proba_one(x)[True]
            model.learn_one(x, bool(y[t]))
            loss += _log_loss(y[t], p)
        cur.loss += loss
        cur.seen += ROUNDS

    block.cursor = cur  # type: ignore[attr-defined]
    return block


MAKERS: dict[str, Callable[[], Callable[[], None]]] = {
    "adcore": lambda: _adcore_round(hashed=False),
    "adcore, rows hashed beforehand": lambda: _adcore_round(hashed=True),
    "river": _river_round,
}


@pytest.mark.parametrize(
    ("group", "side", "name"),
    [
        (GROUP_NAMED, "adcore", "adcore"),
        (GROUP_NAMED, "river", "river"),
        (GROUP_HASHED, "adcore", "adcore, rows hashed beforehand"),
        (GROUP_HASHED, "river", "river"),
    ],
)
def test_predict_and_learn(
    timed: Any, group: str, side: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    block = MAKERS[name]()
    block()  # compile and warm
    timed(group, side, block)
    cur = block.cursor  # type: ignore[attr-defined]
    with capsys.disabled():
        print(f"\n{name}: progressive log loss {cur.loss / cur.seen:.4f} over {cur.seen} rounds")


def test_per_round_against_the_goal(capsys: pytest.CaptureFixture[str]) -> None:
    """Per-round times of the three, measured in alternating blocks so they share the
    machine's load; printed against the goal (2 us per round)."""
    import time

    blocks = {name: make() for name, make in MAKERS.items()}
    for block in blocks.values():
        block()
    times: dict[str, list[float]] = {name: [] for name in blocks}
    for _ in range(15):
        for name, block in blocks.items():
            t0 = time.perf_counter()
            block()
            times[name].append((time.perf_counter() - t0) / ROUNDS * 1e6)
    med = {name: float(np.median(v)) for name, v in times.items()}
    with capsys.disabled():
        print(f"\nper round (median of 15 blocks of {ROUNDS}), goal {GOAL_US} us:")
        for name, us in med.items():
            print(f"  {name:32s} {us:7.2f} us   river / this = {med['river'] / us:5.2f}x")
    assert all(v > 0 for v in med.values())
