"""``adcore.auctions``: the validating wrappers agree with the plain-Python references
of their kernels, and bad arguments raise ``InvalidInput`` naming the argument."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcore import InvalidInput
from adcore.auctions import batch_auctions, best_pod, position_auction, score_auction

try:
    from tests.reference import batch as ref_batch
    from tests.reference import mechanisms as ref_mech
except ImportError:  # pytest run without the project root on sys.path
    from reference import batch as ref_batch  # type: ignore[no-redef]
    from reference import mechanisms as ref_mech  # type: ignore[no-redef]

BIDS = st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.0, 3.5, 5.0])
MECH = {"first_price": 1, "second_price": 2, "gsp": 3, "vcg": 4}


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.lists(st.lists(BIDS, min_size=n, max_size=n), min_size=1, max_size=5)
    ),
    st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    st.sampled_from(["first_price", "second_price"]),
)
def test_batch_auctions_match_the_reference(
    bids: list[list[float]], floor: float, mechanism: str
) -> None:
    win, price = batch_auctions(bids, floor, mechanism=mechanism)
    n = len(bids[0])
    want = ref_batch.batch_auctions(bids, [floor] * len(bids), list(range(n)), MECH[mechanism])
    assert win.tolist() == want[0]
    assert price.tolist() == pytest.approx(want[1], rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 12),
    st.sampled_from(["first_price", "second_price"]),
    st.integers(0, 2**32 - 1),
)
def test_score_auction_picks_the_best_bid(n: int, mechanism: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    emb = (rng.integers(-8, 9, (n, 4)) / 8).astype(np.float32)  # exact float32 products
    interest = (rng.integers(-8, 9, 4) / 8).astype(np.float32)
    base = rng.normal(-3, 1, n)
    value = rng.uniform(100, 500, n)
    win, price = score_auction(emb, interest, base, value, scale=2.0, mechanism=mechanism)
    bids = ref_batch.score_bids(emb, interest, base, value, 2.0)
    want, want_price = ref_batch.single_auction(bids, 0.0, list(range(n)), MECH[mechanism])
    assert win == want
    assert price == pytest.approx(want_price, rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(BIDS, min_size=1, max_size=7),
    st.lists(st.sampled_from([1.0, 0.7, 0.5, 0.2]), min_size=1, max_size=4),
    st.sampled_from(list(MECH)),
)
def test_position_auction_matches_the_reference(
    bids: list[float], weights: list[float], mechanism: str
) -> None:
    w = sorted(weights, reverse=True)
    win, price = position_auction(bids, 0.25, w, mechanism=mechanism)
    n = len(bids)
    want = ref_mech.multislot_auction(
        bids, [0.25] * n, [0] * n, list(range(n)), w, n, len(w), MECH[mechanism]
    )
    assert win.tolist() == want["win"]
    assert price.tolist() == pytest.approx(want["price"], rel=1e-12, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([1.0, 2.0, 3.0, 4.5]), min_size=1, max_size=8),
    st.lists(st.sampled_from([10.0, 15.0, 30.0]), min_size=8, max_size=8),
    st.lists(st.integers(0, 3), min_size=8, max_size=8),
    st.sampled_from([30.0, 45.0, 60.0]),
    st.integers(1, 4),
)
def test_best_pod_is_the_brute_force_optimum(
    values: list[float], durations: list[float], groups: list[int], poddur: float, maxseq: int
) -> None:
    n = len(values)
    chosen, price = best_pod(values, durations[:n], poddur, maxseq, floors=0.5, groups=groups[:n])
    bits = np.zeros((n, 1), dtype=np.uint64)
    for i in range(n):
        bits[i, 0] = np.uint64(1) << np.uint64(groups[i])
    best = ref_mech.brute_force_pod(values, durations[:n], bits, n, poddur, maxseq, True)
    assert sum(values[i] for i in chosen) == pytest.approx(best, abs=1e-9)
    assert sum(durations[i] for i in chosen) <= poddur
    assert len({groups[i] for i in chosen}) == len(chosen) <= maxseq
    for i, p in zip(chosen, price, strict=True):
        assert 0.5 <= p <= values[i]


BAD: list[tuple[Any, dict[str, Any], str]] = [
    (batch_auctions, dict(bids=[1.0, 2.0]), "bids"),
    (batch_auctions, dict(bids=[[1.0, float("nan")]]), "bids"),
    (batch_auctions, dict(bids=[[1.0, -2.0]]), "bids"),
    (batch_auctions, dict(bids=[[1.0]], floors=[0.1, 0.2]), "floors"),
    (batch_auctions, dict(bids=[[1.0]], mechanism="dutch"), "mechanism"),
    (batch_auctions, dict(bids=[[1.0, 2.0]], tiekeys=[1]), "tiekeys"),
    (position_auction, dict(bids=[1.0], weights=[0.5, 1.0]), "weights"),
    (position_auction, dict(bids=[1.0], weights=[]), "weights"),
    (position_auction, dict(bids=[1.0], priority=[1, 2]), "priority"),
    (position_auction, dict(bids=[1.0], mechanism="english"), "mechanism"),
    (best_pod, dict(values=[1.0], durations=[1.0, 2.0], poddur=30, maxseq=2), "durations"),
    (best_pod, dict(values=[1.0], durations=[1.0], poddur=30, maxseq=0), "maxseq"),
    (best_pod, dict(values=[1.0], durations=[1.0], poddur=float("inf"), maxseq=1), "poddur"),
    (best_pod, dict(values=[1.0], durations=[1.0], poddur=30, maxseq=1, groups=[1, 2]), "groups"),
    (
        score_auction,
        dict(embeddings=[[0.1, 0.2]], interest=[0.1], base_logit=[0.0], value=[1.0]),
        "interest",
    ),
    (
        score_auction,
        dict(embeddings=[[0.1]], interest=[0.1], base_logit=[0.0], value=[-1.0]),
        "value",
    ),
    (
        score_auction,
        dict(embeddings=[[0.1]], interest=[0.1], base_logit=[0.0], value=[1.0], floor=-1),
        "floor",
    ),
]


@pytest.mark.parametrize(("fn", "kwargs", "field"), BAD)
def test_bad_arguments_name_the_argument(fn: Any, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        fn(**kwargs)
    assert err.value.field == field
