"""The contract every learner in ``adcore.learn.__all__`` keeps (discovered, not listed):
a docstring with an example, constructor arguments stored under their own names and
immutable defaults, same inputs (and seed) giving the same state, inputs not mutated,
the state round-tripping through msgspec and pickling with identical behaviour after,
and a bad call changing nothing."""

from __future__ import annotations

import copy
import inspect
import pickle
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
import pytest

import adcore.learn as learn_module
from adcore.errors import InvalidInput
from adcore.learn import FTRLProximal, QLearning, hash_features

LEARNERS = sorted(
    (
        obj
        for name in learn_module.__all__
        if inspect.isclass(obj := getattr(learn_module, name))
        and hasattr(obj, "learn")
        and hasattr(obj, "state")
        and hasattr(obj, "from_state")
    ),
    key=lambda cls: cls.__name__,
)


def test_the_learners_are_discovered() -> None:
    names = {cls.__name__ for cls in LEARNERS}
    assert names == {
        "EpsilonGreedy",
        "FTRLProximal",
        "LinUCB",
        "LinearThompsonSampling",
        "QLearning",
    }


# How to drive each kind of learner: (make, feed, probe). ``feed`` learns a fixed stream
# of examples; ``probe`` returns what the learner would do next (predictions, choices).
RNG_SEED = 3


def _ftrl_stream() -> list[tuple[Any, float]]:
    rng = np.random.default_rng(RNG_SEED)
    return [
        (hash_features({"ad": f"a{rng.integers(5)}", "hour": float(rng.integers(24))}), y)
        for y in (rng.random(60) < 0.3).astype(float).tolist()
    ]


def _bandit_stream() -> list[tuple[int, np.ndarray, float]]:
    rng = np.random.default_rng(RNG_SEED)
    return [(int(rng.integers(4)), rng.normal(size=3), float(rng.random())) for _ in range(60)]


def _q_stream() -> list[tuple[int, int, float, int]]:
    rng = np.random.default_rng(RNG_SEED)
    return [
        (int(rng.integers(4)), int(rng.integers(3)), float(rng.random()), int(rng.integers(4)))
        for _ in range(60)
    ]


def _make(cls: type) -> Any:
    if cls is QLearning:
        return cls(4, 3, alpha=0.2, epsilon=0.3, seed=7)
    if cls is FTRLProximal:
        return cls(bits=8, alpha=0.3, decay=0.99)
    return cls(4, 3, seed=7)


def _feed(model: Any, stream: list[Any]) -> None:
    if isinstance(model, QLearning):
        for state, action, reward, following in stream:
            model.learn(state, action, reward, following)
    elif isinstance(model, FTRLProximal):
        for row, y in stream:
            model.learn(row, y)
    else:
        for arm, x, r in stream:
            model.learn(arm, x, r)


def _probe(model: Any) -> list[Any]:
    if isinstance(model, QLearning):
        return [model.choose(s % 4) for s in range(10)]
    if isinstance(model, FTRLProximal):
        return [model.predict(row) for row, _ in _ftrl_stream()[:10]]
    xs = np.random.default_rng(11).normal(size=(10, 3))
    return [model.choose(x) for x in xs]


def _stream(cls: type) -> list[Any]:
    if cls is QLearning:
        return _q_stream()
    return _ftrl_stream() if cls is FTRLProximal else _bandit_stream()


ids: Callable[[type], str] = lambda cls: cls.__name__  # noqa: E731


@pytest.mark.parametrize("cls", LEARNERS, ids=ids)
def test_declaration(cls: type) -> None:
    assert cls.__doc__ and ">>>" in cls.__doc__, "a docstring with an example"
    assert inspect.getmodule(cls).__doc__  # type: ignore[union-attr]
    for p in inspect.signature(cls.__init__).parameters.values():
        assert not isinstance(p.default, list | dict | set | np.ndarray), p.name


@pytest.mark.parametrize("cls", LEARNERS, ids=ids)
def test_constructor_arguments_are_kept_under_their_names(cls: type) -> None:
    model = _make(cls)
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind is p.VAR_KEYWORD:
            continue
        assert hasattr(model, p.name), f"{cls.__name__} does not keep {p.name}"
    learned = (
        [k for k in vars(model) if not k.startswith("_")] if hasattr(model, "__dict__") else []
    )
    assert all(k in inspect.signature(cls.__init__).parameters for k in learned), learned


@pytest.mark.parametrize("cls", LEARNERS, ids=ids)
def test_same_inputs_same_state(cls: type) -> None:
    a, b = _make(cls), _make(cls)
    _feed(a, _stream(cls))
    _feed(b, _stream(cls))
    assert a.state() == b.state()
    assert _probe(a) == _probe(b)


@pytest.mark.parametrize("cls", LEARNERS, ids=ids)
def test_inputs_are_not_mutated(cls: type) -> None:
    stream = _stream(cls)
    copies = copy.deepcopy(stream)
    _feed(_make(cls), stream)
    _probe(_make(cls))

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, tuple | list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        if isinstance(a, np.ndarray):
            return a.dtype == b.dtype and np.array_equal(a, b)
        return bool(a == b)

    assert same(stream, copies)


@pytest.mark.parametrize("cls", LEARNERS, ids=ids)
@pytest.mark.parametrize("via", ["msgpack", "json", "pickle"])
def test_state_round_trips(cls: type, via: str) -> None:
    model = _make(cls)
    _feed(model, _stream(cls)[:30])
    state = model.state()
    if via == "pickle":
        copy = pickle.loads(pickle.dumps(model))
    else:
        codec = msgspec.msgpack if via == "msgpack" else msgspec.json
        copy = cls.from_state(codec.decode(codec.encode(state), type=type(state)))
    assert copy.state() == state
    assert repr(copy) == repr(model)
    rest = _stream(cls)[30:]
    _feed(model, rest)
    _feed(copy, rest)
    assert copy.state() == model.state()
    assert _probe(copy) == _probe(model)


@pytest.mark.parametrize("cls", LEARNERS, ids=ids)
def test_a_bad_call_changes_nothing(cls: type) -> None:
    model = _make(cls)
    _feed(model, _stream(cls)[:10])
    before = model.state()
    with pytest.raises(InvalidInput):
        if isinstance(model, QLearning):
            model.learn(0, 0, float("nan"), 1)
        elif isinstance(model, FTRLProximal):
            model.learn(_ftrl_stream()[0][0], float("nan"))
        else:
            model.learn(0, np.array([1.0, float("nan"), 0.0]), 1.0)
    assert model.state() == before
