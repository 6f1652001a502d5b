"""Drift detectors (``adcore.learn.PageHinkley``, ``adcore.learn.ADWIN``): the
Page-Hinkley kernel against a plain-Python reference; ADWIN's window against the stream
it summarises; detection delays and false alarms on fixed-seed streams with stated
bounds; persistence and bad input."""

from __future__ import annotations

import math
import pickle

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcore.errors import InvalidInput
from adcore.learn import ADWIN, ADWINState, PageHinkley, PageHinkleyState


def _reference_page_hinkley(
    xs: list[float], delta: float, threshold: float, min_samples: int, direction: int
) -> list[int]:
    """The test as the module docstring defines it, in plain Python."""
    out = []
    n, mean, up, up_min, down, down_min = 0, 0.0, 0.0, 0.0, 0.0, 0.0
    for x in xs:
        n += 1
        mean += (x - mean) / n
        up += x - mean - delta
        down += mean - x - delta
        up_min, down_min = min(up_min, up), min(down_min, down)
        signal = 0
        if n >= min_samples:
            if direction >= 0 and up - up_min > threshold:
                signal = 1
            elif direction <= 0 and down - down_min > threshold:
                signal = -1
        if signal:
            n, mean, up, up_min, down, down_min = 0, 0.0, 0.0, 0.0, 0.0, 0.0
        out.append(signal)
    return out


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=300),
    st.sampled_from([0.0001, 0.1, 1.0]),
    st.sampled_from([1.0, 5.0, 20.0]),
    st.integers(1, 40),
    st.sampled_from(["up", "down", "both"]),
)
def test_page_hinkley_follows_the_reference(
    xs: list[float], delta: float, threshold: float, min_samples: int, direction: str
) -> None:
    test = PageHinkley(
        delta=delta, threshold=threshold, min_samples=min_samples,
        direction=direction,  # type: ignore[arg-type]
    )  # fmt: skip
    got = [test.update(x) for x in xs]
    code = {"up": 1, "down": -1, "both": 0}[direction]
    assert got == _reference_page_hinkley(xs, delta, threshold, min_samples, code)
    assert test.alarms == sum(1 for g in got if g)


def test_page_hinkley_detects_a_shift_and_stays_quiet_without_one() -> None:
    """Unit-variance normal streams, delta 0.1, threshold 50 (fixed seeds 0-4): no alarm
    in 5,000 values of a constant mean; a rise of 1.0 after 2,000 values is signalled
    within 100 values (the sum gains about 0.9 per value), a fall only with "down". For
    a constant mean the sum is a random walk with drift -0.1, which rises 50 above its
    minimum with probability about exp(-2 * 0.1 * 50) = 5e-5 per excursion."""
    for seed in range(5):
        rng = np.random.default_rng(seed)
        quiet = PageHinkley(delta=0.1, threshold=50.0, direction="both")
        assert not any(quiet.update(x) for x in rng.normal(0.0, 1.0, 5000).tolist())
        stream = np.r_[rng.normal(0.0, 1.0, 2000), rng.normal(1.0, 1.0, 1000)].tolist()
        test = PageHinkley(delta=0.1, threshold=50.0)
        first = next(t for t, x in enumerate(stream) if test.update(x))
        assert 2000 <= first < 2100
        fall = (-np.asarray(stream)).tolist()
        assert not any(PageHinkley(delta=0.1, threshold=50.0).update(x) for x in fall)
        down = PageHinkley(delta=0.1, threshold=50.0, direction="down")
        assert 2000 <= next(t for t, x in enumerate(fall) if down.update(x)) < 2100


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=2000),
    st.integers(2, 6),
    st.integers(1, 40),
)
def test_adwin_s_window_is_a_suffix_of_the_stream(
    xs: list[float], max_buckets: int, clock: int
) -> None:
    """Whatever it drops, the window is always the last ``width`` values: its mean and
    variance equal NumPy's over them."""
    w = ADWIN(delta=0.01, max_buckets=max_buckets, clock=clock, min_side=3)
    for t, x in enumerate(xs):
        w.update(x)
        if t % 97 == 0 or t == len(xs) - 1:
            tail = np.asarray(xs[t + 1 - w.width : t + 1])
            assert 1 <= w.width <= t + 1
            assert w.mean == pytest.approx(tail.mean(), rel=1e-9, abs=1e-9)
            assert w.variance == pytest.approx(tail.var(), rel=1e-6, abs=1e-9)


def test_adwin_finds_a_change_and_no_change_where_there_is_none() -> None:
    """Bernoulli streams (fixed seeds 0-4), delta 0.002: no change in 10,000 values at a
    constant rate of 0.3; a jump to 0.7 after 5,000 values is found within 500 values,
    and by the end the window holds essentially only values from after the jump (it
    drops whole buckets, so up to 100 older values may stay, too few to matter) with a
    mean within 0.05 of 0.7."""
    for seed in range(5):
        rng = np.random.default_rng(seed)
        quiet = ADWIN(delta=0.002)
        assert not any(quiet.update(x) for x in (rng.random(10_000) < 0.3).astype(float).tolist())
        assert quiet.width == 10_000
        stream = np.r_[rng.random(5000) < 0.3, rng.random(5000) < 0.7].astype(float).tolist()
        w = ADWIN(delta=0.002)
        changes = [t for t, x in enumerate(stream) if w.update(x)]
        assert changes and 5000 <= changes[0] < 5500
        assert w.width <= 5100 and abs(w.mean - 0.7) < 0.05


def test_states_round_trip() -> None:
    rng = np.random.default_rng(3)
    xs = rng.normal(0.0, 1.0, 3000).tolist()
    ph, ad = PageHinkley(threshold=10.0), ADWIN(clock=8)
    for x in xs[:1500]:
        ph.update(x)
        ad.update(x)
    copies = [
        (
            PageHinkley.from_state(
                msgspec.msgpack.decode(msgspec.msgpack.encode(ph.state()), type=PageHinkleyState)
            ),
            ADWIN.from_state(msgspec.json.decode(msgspec.json.encode(ad.state()), type=ADWINState)),
        ),
        (pickle.loads(pickle.dumps(ph)), pickle.loads(pickle.dumps(ad))),
    ]
    tail = xs[1500:] + [5.0] * 200
    expected = ([ph.update(x) for x in tail], [ad.update(x) for x in tail])
    for p, a in copies:
        assert ([p.update(x) for x in tail], [a.update(x) for x in tail]) == expected
        assert (p.state(), a.state()) == (ph.state(), ad.state())


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: PageHinkley(delta=0.0), "delta"),
        (lambda: PageHinkley(threshold=math.inf), "threshold"),
        (lambda: PageHinkley(min_samples=0), "min_samples"),
        (lambda: PageHinkley(direction="sideways"), "direction"),  # type: ignore[arg-type]
        (lambda: PageHinkley().update(math.nan), "x"),
        (lambda: PageHinkley().update("1"), "x"),  # type: ignore[arg-type]
        (lambda: ADWIN(delta=1.0), "delta"),
        (lambda: ADWIN(max_buckets=1), "max_buckets"),
        (lambda: ADWIN(clock=0), "clock"),
        (lambda: ADWIN().update(math.inf), "x"),
        (lambda: ADWIN.from_state("state"), "state"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_refused(make: object, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        make()  # type: ignore[operator]
    assert err.value.field == field


def test_a_bad_value_changes_nothing() -> None:
    w = ADWIN()
    for x in range(100):
        w.update(float(x % 3))
    before = w.state()
    with pytest.raises(InvalidInput):
        w.update(math.nan)
    assert w.state() == before
