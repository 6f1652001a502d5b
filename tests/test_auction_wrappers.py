"""``adcore.auctions``: the wrappers' two paths and their checks.

A call whose arrays are already what the kernel takes (C-contiguous ndarrays of its dtype)
with plain numbers and defaults takes a fast path; anything else (lists, strided views,
other dtypes, read-only, Fortran-ordered or byte-swapped arrays, 0-d arrays, NumPy
integers) is converted first. Both must give bit-identical results (signed zeros
included), and every bad argument must raise ``InvalidInput`` naming it, whichever path
the call would take. Inputs are never changed and results never share memory with
anything else. What the fast path keeps between calls (default arrays, arrays of a
scalar floor, the pod kernel's work arrays) never changes a result, on one thread or
several.

The compiled value check behind both paths (``conforms``) is compared with NumPy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcore import InvalidInput
from adcore._kernels.mechanisms import FINITE, NONNEGATIVE, WEIGHTS, conforms
from adcore.auctions import PodFill, batch_auctions, best_pod, fill_pod, position_auction

# Values exact in float32 and in int64 (after rounding where integral), so other dtypes
# can carry them unchanged.
PRICES = np.array([0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 3.5, 5.0])
SEEDS = st.integers(0, 2**32 - 1)


class Sub(np.ndarray):
    """An ndarray subclass: the wrappers treat it as any other array-like."""


def same(a: Any, b: Any) -> bool:
    """The same array, bit for bit: dtype, shape and bytes (so -0.0 differs from 0.0)."""
    return (
        isinstance(a, np.ndarray)
        and isinstance(b, np.ndarray)
        and a.dtype == b.dtype
        and a.shape == b.shape
        and a.tobytes() == b.tobytes()
    )


def same_pod(a: PodFill, b: PodFill) -> bool:
    return (
        same(a.chosen, b.chosen)
        and same(a.prices, b.prices)
        and (a.exact, a.gap, a.nodes, a.exact_prices) == (b.exact, b.gap, b.nodes, b.exact_prices)
        and [type(x) for x in a[2:]] == [type(x) for x in b[2:]]
    )


def read_only(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b.flags.writeable = False
    return b


def strided(a: np.ndarray) -> np.ndarray:
    """A non-contiguous view with ``a``'s values."""
    wide = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), dtype=a.dtype)
    wide[..., ::2] = a
    return wide[..., ::2]


def unaligned(a: np.ndarray) -> np.ndarray:
    """A read-only, misaligned copy of ``a`` (C-contiguous)."""
    raw = np.frombuffer(b"\0" + a.tobytes(), dtype=a.dtype, offset=1, count=a.size)
    return raw.reshape(a.shape)


def other_forms(a: np.ndarray) -> list[Any]:
    """``a``'s values in forms that do not take the fast path."""
    forms: list[Any] = [read_only(a), a.astype(a.dtype.newbyteorder(">")), a.view(Sub)]
    if np.shape(a.tolist()) == a.shape:  # not for (0, n): lists lose the shape
        forms.append(a.tolist())
    if a.size:
        forms += [strided(a), unaligned(a)]
    if a.ndim == 2 and min(a.shape) > 1:
        forms.append(np.asfortranarray(a))
    if a.dtype.kind == "f":
        forms.append(a.astype(np.float32))
        if np.array_equal(a, np.round(a)):
            forms.append(a.astype(np.int64))
    return forms


# --------------------------------------------------------------------------- the check
@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from([np.nan, np.inf, -np.inf, -1.0, -0.0, 0.0, 0.25, 1.0, 2.0, 1e30]),
        max_size=9,
    ),
    st.sampled_from([np.float64, np.float32]),
    st.booleans(),
)
def test_conforms_matches_numpy(values: list[float], dtype: Any, square: bool) -> None:
    a = np.array(values, dtype=dtype)
    if square and a.size == 9:
        a = a.reshape(3, 3)
    finite = bool(np.isfinite(a).all())
    want = {
        FINITE: finite,
        NONNEGATIVE: finite and bool((a >= 0).all()),
        WEIGHTS: finite and bool((a > 0).all()) and bool((np.diff(a.ravel()) <= 0).all()),
    }
    for rule, expected in want.items():
        assert bool(conforms(a, rule)) is expected, (rule, a)


# --------------------------------------------------------------------------- batch_auctions
def floors_forms(floor: float, m: int) -> list[Any]:
    """One floor for ``m`` auctions, as a number of each kind and as arrays."""
    forms: list[Any] = [floor, np.float64(floor), np.full(m, floor), [floor] * m, np.array(floor)]
    if floor == int(floor) and str(floor)[0] != "-":
        forms.append(int(floor))
    return forms


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 4),
    st.integers(0, 5),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.0]),
    st.sampled_from(["first_price", "second_price"]),
    st.booleans(),
    SEEDS,
)
def test_batch_auctions_paths_agree(
    m: int, n: int, floor: float, mechanism: str, keyed: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    bids = rng.choice(PRICES, size=(m, n))
    keys = rng.permutation(n).astype(np.uint64) if keyed else None
    win, price = batch_auctions(bids, floor, keys, mechanism=mechanism)
    assert win.dtype == np.int64 and price.dtype == np.float64 and win.shape == (m,)
    for f in floors_forms(floor, m):
        for b in [bids, *other_forms(bids)]:
            w2, p2 = batch_auctions(b, f, keys, mechanism=mechanism)
            assert same(w2, win) and same(p2, price), (b, f)
    if keys is not None:
        for k in [keys.tolist(), keys.astype(np.int64), strided(keys)]:
            w2, p2 = batch_auctions(bids, floor, k, mechanism=mechanism)
            assert same(w2, win) and same(p2, price)
    if floor == 0.0 and str(floor) == "0.0" and keys is None and mechanism == "second_price":
        w2, p2 = batch_auctions(bids)
        assert same(w2, win) and same(p2, price)


def test_batch_auctions_negative_zero_floor_is_kept() -> None:
    """A floor of -0.0 prices an uncontested winner at -0.0 on both paths, as it always
    has (the floor is passed through, not replaced by a cached +0.0)."""
    bids = np.array([[1.0, 0.0]])
    fast = batch_auctions(bids, -0.0)[1]
    slow = batch_auctions(bids.tolist(), [-0.0])[1]
    assert same(fast, slow) and np.signbit(fast[0])
    assert not np.signbit(batch_auctions(bids, 0.0)[1][0])


# --------------------------------------------------------------------------- position_auction
WEIGHT_SETS = [[1.0], [1.0, 0.5], [1.0, 1.0, 0.25], [2.0, 1.0, 0.5, 0.5]]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 6),
    st.sampled_from(WEIGHT_SETS),
    st.sampled_from(["first_price", "second_price", "gsp", "vcg"]),
    st.sampled_from([0.0, -0.0, 0.5, 1.0]),
    st.sets(st.sampled_from(["priority", "campaigns", "values", "tiekeys"])),
    SEEDS,
)
def test_position_auction_paths_agree(
    n: int, weights: list[float], mechanism: str, floor: float, given_: set[str], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    bids = rng.choice(PRICES, size=n)
    extra: dict[str, np.ndarray] = {}
    if "priority" in given_:
        extra["priority"] = rng.integers(0, 2, n)
    if "campaigns" in given_:
        extra["campaigns"] = rng.integers(0, 3, n)
    if "values" in given_:
        extra["values"] = rng.choice(np.array([-1.0, 0.0, 2.0, 5.0]), size=n)
    if "tiekeys" in given_:
        extra["tiekeys"] = rng.permutation(n).astype(np.uint64)
    w = np.array(weights)
    floor_forms: list[Any] = [floor, np.full(n, floor), [floor] * n]
    win, price = position_auction(bids, floor, w, mechanism=mechanism, **extra)
    assert win.shape == price.shape == (len(weights),)
    for b in [bids, *other_forms(bids)]:
        for ws in [w, weights, tuple(weights), *other_forms(w)]:
            for f in floor_forms:
                w2, p2 = position_auction(b, f, ws, mechanism=mechanism, **extra)
                assert same(w2, win) and same(p2, price), (b, ws, f)
    for name, value in extra.items():
        for form in other_forms(value):
            w2, p2 = position_auction(bids, floor, w, mechanism=mechanism, **{**extra, name: form})
            assert same(w2, win) and same(p2, price), (name, form)
    if weights == [1.0] and str(floor) == "0.0":
        w2, p2 = position_auction(bids, mechanism=mechanism, **extra)
        assert same(w2, win) and same(p2, price)


# --------------------------------------------------------------------------- fill_pod
@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from([0, 1, 3, 6, 12, 33, 40]),
    st.sampled_from([30.0, 45.0, 60.0]),
    st.integers(1, 4),
    st.sampled_from([None, "labels", "bitsets"]),
    st.sampled_from([0.0, -0.0, 0.5, 2.0, "array"]),
    st.sampled_from(["first_price", "second_price"]),
    st.sampled_from([None, 1, 3, 64]),
    st.booleans(),
    SEEDS,
)
def test_fill_pod_paths_agree(
    n: int,
    poddur: float,
    maxseq: int,
    grouping: str | None,
    floor: Any,
    mechanism: str,
    budget: int | None,
    keyed: bool,
    seed: int,
) -> None:
    """Candidates with value 0, below their floor or longer than the pod are left out
    (so the kept ones are copied); up to 32 candidates and beyond (the two ways
    eligibility is read)."""
    rng = np.random.default_rng(seed)
    values = rng.choice(PRICES, size=n)
    durations = rng.choice(np.array([0.0, 10.0, 15.0, 30.0, 75.0]), size=n)
    floors = rng.choice(PRICES, size=n) if floor == "array" else floor
    groups: Any = None
    if grouping == "labels":
        groups = [f"adv{i}" for i in rng.integers(0, 4, n)]
    elif grouping == "bitsets":
        groups = np.zeros((n, 1), np.uint64)
        groups[:, 0] = np.uint64(1) << rng.integers(0, 5, n).astype(np.uint64)
    keys = (rng.permutation(n) * 7).astype(np.uint64) if keyed else None
    kw = dict(groups=groups, tiekeys=keys, mechanism=mechanism, node_budget=budget)
    pod = fill_pod(values, durations, poddur, maxseq, floors=floors, **kw)
    assert pod.chosen.dtype == np.int64 and pod.prices.dtype == np.float64
    for v in [values, *other_forms(values)]:
        for d in [durations, durations.tolist(), strided(durations)]:
            again = fill_pod(v, d, poddur, maxseq, floors=floors, **kw)
            assert same_pod(again, pod), (v, d)
    slow_scalars = fill_pod(
        values, durations, np.array(poddur), np.int64(maxseq), floors=floors, **kw
    )
    assert same_pod(slow_scalars, pod)
    if isinstance(floors, float):
        floor_forms: list[Any] = [np.full(n, floors), [floors] * n]
        for f in floor_forms:
            assert same_pod(fill_pod(values, durations, poddur, maxseq, floors=f, **kw), pod)
    if isinstance(groups, np.ndarray):
        for g in [groups.tolist(), read_only(groups), np.asfortranarray(groups)]:
            again = fill_pod(
                values, durations, poddur, maxseq, floors=floors, **{**kw, "groups": g}
            )
            assert same_pod(again, pod)
    if keys is not None:
        again = fill_pod(
            values, durations, poddur, maxseq, floors=floors, **{**kw, "tiekeys": keys.tolist()}
        )
        assert same_pod(again, pod)
    chosen, prices = best_pod(values, durations, poddur, maxseq, floors=floors, **kw)
    assert same(chosen, pod.chosen) and same(prices, pod.prices)


# --------------------------------------------------------------------------- bad arguments
NAN, INF = float("nan"), float("inf")
B2 = [[1.0, 2.0]]  # one auction of two bids
B3 = [3.0, 1.0, 2.0]  # three candidates
V, D = [4.0, 3.0, 2.0], [30.0, 15.0, 15.0]

# (function, arguments, the argument named, a pattern of the message)
BAD: list[tuple[Callable[..., Any], dict[str, Any], str, str]] = [
    # batch_auctions
    (batch_auctions, dict(bids=[[1.0, NAN]]), "bids", "finite"),
    (batch_auctions, dict(bids=[[INF, 1.0]]), "bids", "finite"),
    (batch_auctions, dict(bids=[[1.0, -2.0]]), "bids", ">= 0"),
    (batch_auctions, dict(bids=[1.0, 2.0]), "bids", "2 dimension"),
    (batch_auctions, dict(bids=[[[1.0]]]), "bids", "2 dimension"),
    (batch_auctions, dict(bids=[]), "bids", "2 dimension"),
    (batch_auctions, dict(bids=[["a", "b"]]), "bids", "convert"),
    (batch_auctions, dict(bids=[[1.0], [2.0, 3.0]]), "bids", "inhomogeneous"),
    (batch_auctions, dict(bids=B2, floors=NAN), "floors", "finite"),
    (batch_auctions, dict(bids=B2, floors=-1.0), "floors", ">= 0"),
    (batch_auctions, dict(bids=B2, floors=INF), "floors", "finite"),
    (batch_auctions, dict(bids=B2, floors="x"), "floors", "convert"),
    (batch_auctions, dict(bids=B2, floors=[0.1, 0.2]), "floors", "length 1"),
    (batch_auctions, dict(bids=B2, floors=[[0.1]]), "floors", "1 dimension"),
    (batch_auctions, dict(bids=B2, floors=[NAN]), "floors", "finite"),
    (batch_auctions, dict(bids=B2, floors=[-0.5]), "floors", ">= 0"),
    (batch_auctions, dict(bids=B2, tiekeys=[1]), "tiekeys", "length 2"),
    (batch_auctions, dict(bids=B2, tiekeys=[-1, 2]), "tiekeys", "bounds"),
    (batch_auctions, dict(bids=B2, tiekeys=[[1, 2]]), "tiekeys", "1 dimension"),
    (batch_auctions, dict(bids=B2, mechanism="dutch"), "mechanism", "one of"),
    (batch_auctions, dict(bids=B2, mechanism="gsp"), "mechanism", "one of"),
    (batch_auctions, dict(bids=B2, mechanism=None), "mechanism", "one of"),
    # position_auction
    (position_auction, dict(bids=[1.0, NAN]), "bids", "finite"),
    (position_auction, dict(bids=[1.0, -1.0]), "bids", ">= 0"),
    (position_auction, dict(bids=[[1.0]]), "bids", "1 dimension"),
    (position_auction, dict(bids=["x"]), "bids", "convert"),
    (position_auction, dict(bids=B3, floors=[0.1]), "floors", "length 3"),
    (position_auction, dict(bids=B3, floors=-0.1), "floors", ">= 0"),
    (position_auction, dict(bids=B3, floors=[0.0, NAN, 0.0]), "floors", "finite"),
    (position_auction, dict(bids=B3, weights=[0.5, 1.0]), "weights", "non-increasing"),
    (position_auction, dict(bids=B3, weights=[]), "weights", "> 0"),
    (position_auction, dict(bids=B3, weights=[1.0, 0.0]), "weights", "> 0"),
    (position_auction, dict(bids=B3, weights=[1.0, -0.5]), "weights", "> 0"),
    (position_auction, dict(bids=B3, weights=[NAN]), "weights", "finite"),
    (position_auction, dict(bids=B3, weights=[INF, 1.0]), "weights", "finite"),
    (position_auction, dict(bids=B3, weights=[[1.0]]), "weights", "1 dimension"),
    (position_auction, dict(bids=B3, weights=["a"]), "weights", "convert"),
    (position_auction, dict(bids=B3, priority=[1, 2]), "priority", "length 3"),
    (position_auction, dict(bids=B3, priority=["a", "b", "c"]), "priority", "invalid literal"),
    (position_auction, dict(bids=B3, campaigns=[0, 1]), "campaigns", "length 3"),
    (position_auction, dict(bids=B3, campaigns=[[0, 1, 2]]), "campaigns", "1 dimension"),
    (position_auction, dict(bids=B3, values=[1.0, NAN, 1.0]), "values", "finite"),
    (position_auction, dict(bids=B3, values=[1.0]), "values", "length 3"),
    (position_auction, dict(bids=B3, tiekeys=[0, 1]), "tiekeys", "length 3"),
    (position_auction, dict(bids=B3, mechanism="english"), "mechanism", "one of"),
    # fill_pod
    (fill_pod, dict(values=[1.0, NAN], durations=[1.0, 1.0], poddur=30, maxseq=1), "values",
     "finite"),
    (fill_pod, dict(values=[-1.0], durations=[1.0], poddur=30, maxseq=1), "values", ">= 0"),
    (fill_pod, dict(values=[[1.0]], durations=[1.0], poddur=30, maxseq=1), "values",
     "1 dimension"),
    (fill_pod, dict(values=V, durations=[30.0, 15.0], poddur=45, maxseq=2), "durations",
     "length 3"),
    (fill_pod, dict(values=V, durations=[30.0, -1.0, 15.0], poddur=45, maxseq=2), "durations",
     ">= 0"),
    (fill_pod, dict(values=V, durations=[30.0, INF, 15.0], poddur=45, maxseq=2), "durations",
     "finite"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, floors=[0.5]), "floors",
     "length 3"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, floors=NAN), "floors", "finite"),
    (fill_pod, dict(values=V, durations=D, poddur=NAN, maxseq=2), "poddur", "finite"),
    (fill_pod, dict(values=V, durations=D, poddur=INF, maxseq=2), "poddur", "finite"),
    (fill_pod, dict(values=V, durations=D, poddur=-1.0, maxseq=2), "poddur", ">= 0"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=0), "maxseq", ">= 1"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=1.5), "maxseq", "integer"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=True), "maxseq", "integer"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, groups=[1, 2]), "groups",
     "length 3"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, groups=[[1], [2]]), "groups",
     "length 3"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, groups=[[1], [2, 3], [4]]),
     "groups", "inhomogeneous"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, tiekeys=[1, 2]), "tiekeys",
     "length 3"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, mechanism="vcg"), "mechanism",
     "one of"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, node_budget=0), "node_budget",
     "integer"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, node_budget=True),
     "node_budget", "integer"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, node_budget=2**62 + 1),
     "node_budget", "integer"),
    (fill_pod, dict(values=V, durations=D, poddur=45, maxseq=2, node_budget=2.0),
     "node_budget", "integer"),
    (best_pod, dict(values=V, durations=D, poddur=45, maxseq=2, floors=-1.0), "floors", ">= 0"),
]  # fmt: skip

ARRAY_ARGS = {"bids", "floors", "weights", "priority", "campaigns", "values", "durations"}


def as_arrays(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """``kwargs`` with every list of numbers as the ndarray the fast path takes (the
    kernel's dtype, C-contiguous); None when no argument converts."""
    dtypes = {"priority": np.int64, "campaigns": np.int64, "tiekeys": np.uint64}
    out, changed = dict(kwargs), False
    for name, value in kwargs.items():
        if name in ARRAY_ARGS | {"tiekeys"} and isinstance(value, list):
            try:
                out[name] = np.array(value, dtype=dtypes.get(name, np.float64))
            except (TypeError, ValueError, OverflowError):
                continue
            changed = True
    return out if changed else None


@pytest.mark.parametrize(("fn", "kwargs", "field", "pattern"), BAD)
def test_bad_arguments_name_the_argument(
    fn: Callable[..., Any], kwargs: dict[str, Any], field: str, pattern: str
) -> None:
    """As lists (the general path) and, where they convert, as the ndarrays the fast
    path takes: the same exception, argument and message."""
    with pytest.raises(InvalidInput) as err:
        fn(**kwargs)
    assert err.value.field == field
    assert re.search(pattern, str(err.value)), str(err.value)
    arrays = as_arrays(kwargs)
    if arrays is not None:
        with pytest.raises(InvalidInput) as again:
            fn(**arrays)
        assert (again.value.field, str(again.value)) == (field, str(err.value))


def test_the_first_bad_argument_is_named() -> None:
    """Checks run in the documented order: with several bad arguments the first in the
    signature is named, whatever path the good ones would take."""
    bids = np.array([[1.0, NAN]])
    with pytest.raises(InvalidInput, match="bids"):
        batch_auctions(bids, floors=np.array([NAN, 1.0]), tiekeys=np.zeros(1, np.uint64))
    with pytest.raises(InvalidInput, match="floors must be finite"):  # before its length
        batch_auctions(np.ones((1, 2)), floors=np.array([NAN, 1.0]))
    with pytest.raises(InvalidInput, match="floors must have length"):  # before its sign
        batch_auctions(np.ones((1, 2)), floors=np.array([-1.0, 1.0]))
    with pytest.raises(InvalidInput) as err:
        fill_pod(np.ones(3), np.ones(3), NAN, 0, floors=-1.0, groups=[1])
    assert err.value.field == "floors"


# --------------------------------------------------------------------------- pods checked in Python
BIG = float(np.finfo(np.float64).max)
POD_VALUES = [
    [4.0, 3.0, 2.0],
    [NAN, 3.0, 2.0],
    [4.0, NAN, 2.0],
    [4.0, 3.0, NAN],
    [INF, 3.0, 2.0],
    [4.0, 3.0, -INF],
    [INF, -INF, 2.0],
    [4.0, -1.0, 2.0],
    [-0.0, 3.0, 0.0],
    [BIG, BIG, 2.0],  # valid, though their sum overflows
    [BIG, 0.0, 0.0],
]


def outcome(call: Callable[[], Any]) -> Any:
    """What a call gives: its pod, or the field and message of the InvalidInput raised."""
    try:
        return call()
    except InvalidInput as exc:
        return (exc.field, str(exc))


@pytest.mark.parametrize("floors", [0.0, 1.5, [0.0, 3.5, 1.0]])
@pytest.mark.parametrize("values", POD_VALUES)
def test_pod_values_and_durations_checked_in_python(values: list[float], floors: Any) -> None:
    """A few candidates' values and durations are checked in Python (their sums and
    least values), not by the compiled check: whatever a NaN's or an infinity's place,
    and when valid values sum past the largest float, an ndarray call gives what the
    converting path gives (the same pod, or the same error)."""
    for name in ("values", "durations"):
        arrays = {"values": [4.0, 3.0, 2.0], "durations": [30.0, 15.0, 15.0]}
        arrays[name] = values
        f = floors if isinstance(floors, float) else np.array(floors)

        def call(as_array: bool, arrays: dict[str, list[float]] = arrays, f: Any = f) -> Any:
            args = {k: np.array(v) if as_array else v for k, v in arrays.items()}
            return fill_pod(args["values"], args["durations"], 60.0, 3, floors=f)

        with np.errstate(over="ignore"):  # the pod's sums overflow, as kernels allow
            fast, slow = outcome(lambda: call(True)), outcome(lambda: call(False))
        if isinstance(slow, PodFill):
            assert isinstance(fast, PodFill) and same_pod(fast, slow), (name, values)
        else:
            assert fast == slow, (name, values)
            assert slow[0] == name


# --------------------------------------------------------------------------- kept arrays
def test_results_do_not_depend_on_earlier_calls() -> None:
    """Defaults, arrays of a scalar floor and the pod's work arrays are kept between
    calls: each call, past as many floors, sizes and pods as any cache holds, gives what
    a call with nothing kept (the same arguments as lists) gives."""
    rng = np.random.default_rng(11)
    for i in range(300):
        n = 1 + i % 7
        floor = float(rng.choice(PRICES[1:])) + i / 1000
        bids = rng.choice(PRICES, size=(2, n))
        assert all(map(same, batch_auctions(bids, floor), batch_auctions(bids.tolist(), floor)))
        assert all(
            map(same, position_auction(bids[0], floor), position_auction(bids[0].tolist(), floor))
        )
        durations = rng.choice(np.array([10.0, 15.0, 30.0]), size=n)
        pods = [
            fill_pod(b, d, 45.0, 1 + i % 4, floors=floor)
            for b, d in ((bids[1], durations), (bids[1].tolist(), durations.tolist()))
        ]
        assert same_pod(*pods)


def test_concurrent_pods_are_each_right() -> None:
    """Threads filling pods of the same size at once (the kernels release the GIL) each
    get their own pod: no two calls share work arrays."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    cases = [
        (rng.choice(PRICES, size=6), rng.choice(np.array([15.0, 30.0]), size=6)) for _ in range(64)
    ]
    want = [fill_pod(v.tolist(), d.tolist(), 60.0, 3) for v, d in cases]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            got = list(pool.map(lambda c: fill_pod(c[0], c[1], 60.0, 3), cases))
            assert all(map(same_pod, got, want))


def test_mechanism_names_are_compared_by_value() -> None:
    """A mechanism name built at run time (not the interned literal) works the same."""
    second, gsp = "".join(["second", "_price"]), "".join(["g", "sp"])
    bids = np.array([[1.0, 3.0, 2.0]])
    assert all(map(same, batch_auctions(bids, mechanism=second), batch_auctions(bids)))
    b = np.array([3.0, 1.0, 2.0])
    w = np.array([1.0, 0.5])
    assert all(map(same, position_auction(b, 0.0, w, mechanism=gsp), position_auction(b, 0.0, w)))
    v, d = np.array([4.0, 3.0, 2.0]), np.array([30.0, 15.0, 15.0])
    assert same_pod(fill_pod(v, d, 45.0, 3, mechanism=second), fill_pod(v, d, 45.0, 3))


# --------------------------------------------------------------------------- no side effects
def test_inputs_are_left_alone_and_results_are_fresh() -> None:
    rng = np.random.default_rng(5)
    bids = rng.choice(PRICES, size=(3, 4))
    b1 = rng.choice(PRICES, size=4)
    v, d = rng.choice(PRICES[2:], size=5), np.full(5, 15.0)
    args = [bids, b1, v, d]
    copies = [a.copy() for a in args]
    calls: list[Callable[[], Any]] = [
        lambda: batch_auctions(bids),
        lambda: batch_auctions(bids, 0.5, np.arange(4, dtype=np.uint64)),
        lambda: position_auction(b1, 0.5, np.array([1.0, 0.5])),
        lambda: position_auction(b1),
        lambda: tuple(fill_pod(v, d, 45.0, 3))[:2],
        lambda: tuple(fill_pod(v, d, 45.0, 3, floors=np.full(5, 2.0)))[:2],
        lambda: best_pod(v, d, 45.0, 3, groups=["a", "b", "a", "c", "b"]),
    ]
    for call in calls:
        first = call()
        expected = [a.copy() for a in first]
        for a in first:  # callers may write into what they get back
            a[...] = 99
        second = call()
        for a, b in zip(second, expected, strict=True):
            assert same(a, b)
        outputs = [*first, *second]
        for i, a in enumerate(outputs):
            assert a.base is None and a.flags.owndata and a.flags.writeable
            for b in outputs[i + 1 :] + args:
                assert not np.shares_memory(a, b)
    for a, c in zip(args, copies, strict=True):
        assert same(a, c)


def test_bad_calls_change_nothing() -> None:
    bids = np.array([[1.0, 2.0], [3.0, -1.0]])
    copy = bids.copy()
    with pytest.raises(InvalidInput):
        batch_auctions(bids)
    assert same(bids, copy)
    assert same(batch_auctions(np.abs(bids))[1], np.array([1.0, 1.0]))
