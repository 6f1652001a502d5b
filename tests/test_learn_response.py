"""The FTRL-proximal response model (``adcore.learn.FTRLProximal``): its kernels against a
plain-Python reference, batches against single calls, what it learns on synthetic data
with a known answer (fixed seeds, stated bounds), forgetting under drift, persistence and
bad input."""

from __future__ import annotations

import math
import pickle

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.ftrl import ReferenceFTRL

from adcore.errors import InvalidInput
from adcore.learn import FTRLProximal, FTRLState, hash_features

BITS = 4  # 16 slots: collisions and repeated slots in one row happen often


def _rows(draw: st.DrawFn, n: int) -> list[tuple[list[int], list[float], float, float, float]]:
    out = []
    for _ in range(n):
        k = draw(st.integers(0, 5))
        idx = draw(st.lists(st.integers(-(2**40), 2**40), min_size=k, max_size=k))
        val = draw(
            st.lists(
                st.floats(-3.0, 3.0, allow_nan=False, allow_subnormal=False),
                min_size=k,
                max_size=k,
            )
        )
        y = float(draw(st.integers(0, 1)))
        offset = draw(st.floats(-4.0, 4.0, allow_subnormal=False))
        weight = draw(st.sampled_from([1.0, 0.5, 2.0, 0.0]))
        out.append((idx, val, y, offset, weight))
    return out


@st.composite
def sequences(draw: st.DrawFn) -> tuple[dict[str, float], list]:  # type: ignore[type-arg]
    hyper = {
        "alpha": draw(st.sampled_from([0.05, 0.5, 2.0])),
        "beta": draw(st.sampled_from([0.1, 1.0])),
        "l1": draw(st.sampled_from([0.0, 0.3, 1.0])),
        "l2": draw(st.sampled_from([0.0, 1.0])),
        "decay": draw(st.sampled_from([1.0, 0.99, 0.7])),
    }
    return hyper, _rows(draw, draw(st.integers(1, 30)))


def _arrays(idx: list[int], val: list[float]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(idx, dtype=np.int64), np.array(val, dtype=np.float64)


@settings(max_examples=150, deadline=None)
@given(sequences())
def test_the_kernels_follow_the_reference(case: tuple[dict[str, float], list]) -> None:  # type: ignore[type-arg]
    hyper, rows = case
    model = FTRLProximal(bits=BITS, **hyper)
    ref = ReferenceFTRL(1 << BITS, **hyper)
    probe = _arrays(list(range(1 << BITS)), [1.0] * (1 << BITS))
    for idx, val, y, offset, weight in rows:
        p = model.learn(_arrays(idx, val), y, offset, weight)
        q = ref.learn(idx, val, y, offset, weight)
        assert p == pytest.approx(q, rel=1e-9, abs=1e-12)
        assert model.predict(_arrays(idx, val), offset) == pytest.approx(
            ref.predict(idx, val, offset), rel=1e-9, abs=1e-12
        )
        expected = [ref.weight(i) for i in range(1 << BITS)]
        np.testing.assert_allclose(model.weights(probe), expected, rtol=1e-9, atol=1e-12)
    assert model.updates == len(rows)


@settings(max_examples=60, deadline=None)
@given(sequences())
def test_a_batch_equals_single_calls(case: tuple[dict[str, float], list]) -> None:  # type: ignore[type-arg]
    hyper, rows = case
    single = FTRLProximal(bits=BITS, **hyper)
    batch = FTRLProximal(bits=BITS, **hyper)
    expected = [single.learn(_arrays(i, v), y, o, w) for i, v, y, o, w in rows]
    arrays = [_arrays(i, v) for i, v, *_ in rows]
    before = batch.predict_batch(arrays, [r[3] for r in rows])
    fresh = FTRLProximal(bits=BITS, **hyper)
    assert before.tolist() == [fresh.predict(a, r[3]) for a, r in zip(arrays, rows, strict=True)]
    got = batch.learn_batch(
        arrays, [r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows]
    )
    assert got.tolist() == expected
    assert single.state() == batch.state()


def _logistic_data(seed: int, n: int) -> tuple[list[dict[str, str]], np.ndarray, np.ndarray]:
    """Listeners of 4 genres on 3 devices seeing 20 ads: the true logit is an ad effect
    plus an ad x genre effect plus a device effect."""
    truth = np.random.default_rng(1234)  # the same true model for every sample
    ad_effect = truth.normal(-2.0, 0.5, 20)
    cross = truth.normal(0.0, 1.0, (20, 4))
    rng = np.random.default_rng(seed)
    device = np.array([0.0, 0.4, -0.4])
    ads = rng.integers(0, 20, n)
    genres = rng.integers(0, 4, n)
    devices = rng.integers(0, 3, n)
    logit = ad_effect[ads] + cross[ads, genres] + device[devices]
    p = 1.0 / (1.0 + np.exp(-logit))
    y = (rng.random(n) < p).astype(np.float64)
    feats = [
        {"ad": f"a{a}", "ad x genre": f"a{a}|g{g}", "device": f"d{d}"}
        for a, g, d in zip(ads.tolist(), genres.tolist(), devices.tolist(), strict=True)
    ]
    return feats, y, p


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_it_learns_a_known_logistic_model_and_is_calibrated() -> None:
    """After 40,000 examples the held-out log loss is within 0.01 nats of the true
    model's (the Bayes optimum) and far below a constant rate's; predictions are
    calibrated: in each decile of predicted probability the mean prediction is within
    four binomial standard errors (plus 0.005 of model error) of the observed rate of its
    2,000 rows; and the predicted probabilities track the true ones (mean absolute error
    < 0.02)."""
    train, y_train, _ = _logistic_data(0, 40_000)
    test, y_test, p_true = _logistic_data(1, 20_000)
    model = FTRLProximal(bits=16, alpha=0.3, beta=1.0, l1=0.1, l2=0.1)
    model.learn_batch([hash_features(f) for f in train], y_train)
    p = model.predict_batch([hash_features(f) for f in test])
    assert _log_loss(y_test, p) < _log_loss(y_test, p_true) + 0.01
    assert _log_loss(y_test, p) < _log_loss(y_test, np.full_like(p, y_train.mean())) - 0.03
    assert float(np.mean(np.abs(p - p_true))) < 0.02
    order = np.argsort(p)
    for chunk in np.array_split(order, 10):
        mean = p[chunk].mean()
        se = math.sqrt(mean * (1.0 - mean) / chunk.size)
        assert abs(mean - y_test[chunk].mean()) < 4.0 * se + 0.005


def test_forgetting_follows_drift() -> None:
    """A feature whose action rate moves from 0.05 to 0.5 halfway through 20,000
    examples. Both models end near 0.5 (FTRL's step size shrinks only as the square
    root of the gradients seen), but the one that forgets (half-life 1,000 updates)
    recovers sooner: 500 examples after the shift it predicts within 0.05 of 0.5 while
    the other is still more than 0.05 short, and over the 2,000 examples after the shift
    its mean error is at most 0.7 times the other's."""
    rng = np.random.default_rng(7)
    rate = np.r_[np.full(10_000, 0.05), np.full(10_000, 0.5)]
    y = (rng.random(rate.size) < rate).astype(float)
    row = hash_features({"show": "x"})
    forgetting = FTRLProximal(bits=8, alpha=0.5, l1=0.0, l2=0.0, decay=0.5 ** (1 / 1000))
    keeping = FTRLProximal(bits=8, alpha=0.5, l1=0.0, l2=0.0)
    p_forget = forgetting.learn_batch([row] * rate.size, y)
    p_keep = keeping.learn_batch([row] * rate.size, y)
    assert abs(p_forget[10_500] - 0.5) < 0.05 < 0.5 - p_keep[10_500]
    after = slice(10_000, 12_000)
    error_forget = np.abs(p_forget[after] - 0.5).mean()
    assert error_forget <= 0.7 * np.abs(p_keep[after] - 0.5).mean()
    assert abs(forgetting.predict(row) - 0.5) < 0.05 and abs(keeping.predict(row) - 0.5) < 0.05


def test_an_unseen_row_predicts_its_prior_and_l1_keeps_rare_noise_at_zero() -> None:
    model = FTRLProximal(bits=12, l1=2.0)
    row = hash_features({"ad": "new", "genre": "jazz"})
    assert model.predict(row, offset=-1.5) == pytest.approx(1.0 / (1.0 + math.exp(1.5)))
    model.learn(row, 1, offset=-1.5)
    # One example moves |z| by less than l1: the weights stay exactly zero.
    assert model.weights(row).tolist() == [0.0, 0.0]


def test_the_state_round_trips_and_pickles() -> None:
    feats, y, _ = _logistic_data(3, 500)
    rows = [hash_features(f) for f in feats]
    model = FTRLProximal(bits=10, alpha=0.2, decay=0.999)
    model.learn_batch(rows[:400], y[:400])
    encoded = msgspec.msgpack.encode(model.state())
    restored = FTRLProximal.from_state(msgspec.msgpack.decode(encoded, type=FTRLState))
    copied = pickle.loads(pickle.dumps(model))
    for other in (restored, copied):
        assert repr(other) == repr(model)
        assert other.learn_batch(rows[400:], y[400:]).tolist() == (
            FTRLProximal.from_state(model.state()).learn_batch(rows[400:], y[400:]).tolist()
        )


def _state_of(model: FTRLProximal) -> FTRLState:
    return model.state()


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"bits": 0}, "bits must be an integer in"),
        ({"bits": 31}, "bits must be an integer in"),
        ({"bits": 4.0}, "bits must be an integer in"),
        ({"alpha": 0.0}, r"alpha must be in \(0"),
        ({"alpha": math.nan}, "alpha must be a finite number"),
        ({"beta": -1.0}, "beta must be in"),
        ({"beta": 0.0}, r"beta must be in \(0"),
        ({"l1": -0.1}, "l1 must be in"),
        ({"l2": math.inf}, "l2 must be a finite number"),
        ({"decay": 0.0}, r"decay must be in \(0"),
        ({"decay": 1.5}, "decay must be in"),
        ({"decay": True}, "decay must be a finite number"),
    ],
)
def test_bad_hyper_parameters_are_refused(kwargs: dict[str, object], pattern: str) -> None:
    with pytest.raises(InvalidInput, match=pattern) as err:
        FTRLProximal(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == next(iter(kwargs))


GOOD = (np.array([1, 2], dtype=np.int64), np.array([1.0, 0.5]))


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda m: m.learn(GOOD, 2), "y must be 0 or 1"),
        (lambda m: m.learn(GOOD, "1"), "y must be a number"),
        (lambda m: m.learn(GOOD, None), "y must be a number"),
        (lambda m: m.predict(GOOD, offset="x"), "offset must be a number"),
        (lambda m: m.learn(GOOD, 1, weight=-1.0), "weight a finite number >= 0"),
        (lambda m: m.learn(GOOD, 1, offset=math.nan), "offset and values finite"),
        (lambda m: m.learn((GOOD[0], np.array([1.0, math.inf])), 1), "values finite"),
        (lambda m: m.learn((GOOD[0], np.array([1.0])), 1), "1-D arrays of one length"),
        (lambda m: m.learn(GOOD[0], 1), "1-D arrays of one length"),
        (lambda m: m.learn(np.arange(3), 1), "a row must be a pair"),
        (lambda m: m.learn((["a"], [1.0]), 1), "indices must be integers"),
        (lambda m: m.learn(([1], ["x"]), 1), "values must be numbers"),
        (lambda m: m.predict((GOOD[0], np.array([math.nan, 1.0]))), "must be finite"),
        (lambda m: m.learn_batch([GOOD, GOOD], [1, 1], weights=[1.0]), "one weight per row"),
        (lambda m: m.learn_batch([GOOD, GOOD], [1]), "one label per row"),
        (lambda m: m.learn_batch([GOOD, GOOD], [1, 0.5]), r"rows\[1\] cannot be learned"),
        (lambda m: m.predict_batch([GOOD], offsets=[0.0, 1.0]), "one offset per row"),
        (lambda m: hash_features({"x": math.nan}), "must be a string, bool or finite"),
        (lambda m: hash_features({1: "x"}), "feature names must be strings"),
        (lambda m: hash_features([("x", 1)]), "features must be a mapping"),
    ],
)
def test_bad_input_raises_and_changes_nothing(call: object, pattern: str) -> None:
    model = FTRLProximal(bits=6)
    model.learn(GOOD, 1)
    before = model.state()
    with pytest.raises(InvalidInput, match=pattern):
        call(model)  # type: ignore[operator]
    assert model.state() == before


def test_a_bad_state_is_refused() -> None:
    model = FTRLProximal(bits=4)
    model.learn(GOOD, 1)
    good = model.state()
    for bad, pattern in (
        (msgspec.structs.replace(good, version=99), "unknown model state version"),
        (msgspec.structs.replace(good, z=good.z[:-8]), "state.z holds"),
        (msgspec.structs.replace(good, clock=0), "inconsistent"),
        (
            msgspec.structs.replace(good, n=np.full(16, -1.0).tobytes()),
            "n >= 0",
        ),
    ):
        with pytest.raises(InvalidInput, match=pattern):
            FTRLProximal.from_state(bad)


def test_hashing_is_stable_and_typed() -> None:
    a = hash_features({"genre": "rock", "hour": 13, "live": True})
    b = hash_features({"genre": "rock", "hour": 13, "live": True})
    assert a[0].tolist() == b[0].tolist() and a[1].tolist() == [1.0, 13.0, 1.0]
    assert hash_features({"genre": "pop"})[0][0] != a[0][0]
    assert (a[0] >= 0).all()
