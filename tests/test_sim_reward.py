"""The shared reward: each weight moves the reward by exactly its term, version 0 is
still one choice of weights away, delivery is the budget-weighted mean share delivered,
and bad weights are refused naming the weight."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adcore import InvalidInput
from adcore.sim.reward import (
    REWARD_VERSION,
    RewardTerms,
    RewardWeights,
    delivery_score,
    shared_reward,
)

TERMS = RewardTerms(
    value=3.0,
    spend=0.5,
    delivery=0.4,
    completes=100,
    skips=50,
    invalid_spend=0.02,
    consent_violations=2,
)
ZERO = RewardWeights(**dict.fromkeys(RewardWeights.__struct_fields__, 0.0))

# Each weight alone, at 1, gives this (the formula's sign times the term).
ALONE = {
    "value": 3.0,
    "spend": -0.5,
    "revenue": 0.5,
    "delivery": 0.4,
    "complete": 100.0,
    "skip": -50.0,
    "invalid": -0.02,
    "consent": -2.0,
}


def test_version() -> None:
    assert REWARD_VERSION == 1


@pytest.mark.parametrize("name", sorted(ALONE))
def test_each_weight_moves_the_reward_by_its_term(name: str) -> None:
    assert set(ALONE) == set(RewardWeights.__struct_fields__)
    alone = msgspec.structs.replace(ZERO, **{name: 1.0})
    assert shared_reward(TERMS, alone) == pytest.approx(ALONE[name], rel=1e-12)
    doubled = msgspec.structs.replace(ZERO, **{name: 2.0})
    assert shared_reward(TERMS, doubled) == pytest.approx(2 * ALONE[name], rel=1e-12)


@given(
    weights=st.builds(
        RewardWeights,
        **{name: st.floats(0.0, 10.0, allow_nan=False) for name in RewardWeights.__struct_fields__},
    ),
    value=st.floats(0.0, 100.0),
    spend=st.floats(0.0, 100.0),
    delivery=st.floats(0.0, 100.0),
    completes=st.integers(0, 10_000),
    skips=st.integers(0, 10_000),
)
def test_the_reward_is_the_weighted_sum_of_its_terms(
    weights: RewardWeights,
    value: float,
    spend: float,
    delivery: float,
    completes: int,
    skips: int,
) -> None:
    terms = RewardTerms(
        value=value, spend=spend, delivery=delivery, completes=completes, skips=skips
    )
    expected = sum(
        getattr(weights, name) * sign
        for name, sign in (
            ("value", value),
            ("spend", -spend),
            ("revenue", spend),
            ("delivery", delivery),
            ("complete", completes),
            ("skip", -skips),
        )
    )
    assert shared_reward(terms, weights) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_defaults_count_the_value_created_and_the_budgets_delivered() -> None:
    """With the default weights a payment moves money from advertisers to the platform
    and adds nothing: the reward does not change with spend alone."""
    assert shared_reward(TERMS) == shared_reward(TERMS, RewardWeights())
    more_spend = msgspec.structs.replace(TERMS, spend=5.0)
    assert shared_reward(more_spend) == pytest.approx(shared_reward(TERMS), rel=1e-12)
    expected = 3.0 + 0.4 + 0.001 * (100 - 50) - 0.02 - 2.0
    assert shared_reward(TERMS) == pytest.approx(expected, rel=1e-12)


def test_version_0_is_a_choice_of_weights() -> None:
    """Version 0 rewarded value less spend plus completions less skips."""
    old = RewardWeights(revenue=0.0, delivery=0.0, invalid=0.0, consent=0.0)
    expected = 3.0 - 0.5 + 0.001 * 100 - 0.001 * 50
    assert shared_reward(TERMS, old) == pytest.approx(expected, rel=1e-12)


def test_weights_round_trip_and_are_frozen() -> None:
    weights = RewardWeights(delivery=2.0, consent=10.0)
    raw = msgspec.json.encode(weights)
    assert msgspec.json.decode(raw, type=RewardWeights) == weights
    with pytest.raises(AttributeError):
        weights.value = 2.0  # type: ignore[misc]
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(b'{"valeu": 1.0}', type=RewardWeights)


@pytest.mark.parametrize("name", sorted(ALONE))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -0.5, "1", True, None, 10**400])
def test_bad_weights_are_refused_naming_them(name: str, bad: Any) -> None:
    weights = msgspec.structs.replace(RewardWeights(), **{name: bad})
    with pytest.raises(InvalidInput, match=name) as info:
        weights.validate()
    assert info.value.field == f"reward_weights.{name}"


def test_good_weights_validate() -> None:
    assert RewardWeights().validate() == RewardWeights()
    assert ZERO.validate() is ZERO


@pytest.mark.parametrize(
    ("spent", "budgets", "expected"),
    [
        # Two campaigns of 1 each, half and all delivered: total budget 2 times 0.75.
        ([500_000, 1_000_000], [1_000_000, 1_000_000], 1.5),
        # Delivering past a budget counts as the whole budget, no more.
        ([500_000, 2_000_000], [1_000_000, 1_000_000], 1.5),
        # A small campaign left unserved counts as much as a large one.
        ([3_000_000, 0], [3_000_000, 1_000_000], 2.0),
        ([0, 1_000_000], [3_000_000, 1_000_000], 2.0),
        # Campaigns without a budget are left out.
        ([100, 1_000_000], [0, 1_000_000], 1.0),
        ([0, 0], [0, 0], 0.0),
        ([], [], 0.0),
    ],
)
def test_delivery_score(spent: list[int], budgets: list[int], expected: float) -> None:
    assert delivery_score(spent, budgets) == pytest.approx(expected, rel=1e-12)


@given(st.lists(st.tuples(st.integers(0, 10**10), st.integers(1, 10**10)), min_size=1, max_size=20))
def test_delivery_is_between_nothing_and_the_total_budget(pairs: list[tuple[int, int]]) -> None:
    spent, budgets = (np.array(x, dtype=np.int64) for x in zip(*pairs, strict=True))
    d = delivery_score(spent, budgets)
    total = budgets.sum() / 1e6
    assert -1e-12 <= d <= total * (1 + 1e-12)
    # More spend never lowers it.
    assert delivery_score(spent + 1000, budgets) >= d


@pytest.mark.parametrize(
    ("spent", "budgets"),
    [([1, 2], [1]), ([[1, 2]], [[1, 2]]), (5, 5)],
)
def test_delivery_score_refuses_mismatched_shapes(spent: Any, budgets: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        delivery_score(spent, budgets)
    assert info.value.field == "valid_spend_micros"
