"""The Q-learning bidder trained through AdMarketEnv: its state, a short training loop
that learns to bid, and named errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from adcore import InvalidInput
from adcore.sim.bidder import MULTIPLIERS, QBidder
from adcore.sim.env import CAMPAIGN_OBSERVATION_FIELDS, OBSERVATION_FIELDS, AdMarketEnv


def _observation(day: float, planned: float, spent: list[float]) -> np.ndarray:
    market = dict.fromkeys(OBSERVATION_FIELDS["bidding"], 0.5)
    market.update(day_fraction=day, planned_fraction=planned)
    rows = []
    for s in spent:
        row = dict.fromkeys(CAMPAIGN_OBSERVATION_FIELDS["bidding"], 0.3)
        row["spent_fraction"] = s
        rows += [row[f] for f in CAMPAIGN_OBSERVATION_FIELDS["bidding"]]
    return np.array([market[f] for f in OBSERVATION_FIELDS["bidding"]] + rows, np.float32)


def test_a_campaign_state_is_its_hour_bucket_and_pace() -> None:
    bidder = QBidder(hours=4, pace_band=0.05)
    # At 40 % of the day (bucket 1 of 4), with 30 % of the budget planned by then.
    obs = _observation(0.4, 0.3, [0.1, 0.3, 0.34, 0.36, 0.9])
    assert bidder.states(obs, 5).tolist() == [3, 4, 4, 5, 5]
    assert bidder.states(_observation(1.0, 1.0, [1.0]), 1).tolist() == [3 * 3 + 1]
    states, actions, multipliers = bidder.act(obs, 5, explore=False)
    assert actions.tolist() == [0] * 5  # untrained: the first of equal values
    assert multipliers.dtype == np.float32 and multipliers.tolist() == [MULTIPLIERS[0]] * 5


def test_a_short_training_loop_learns_to_bid() -> None:
    """Twelve short days with the shared reward: starting from a table whose greedy
    choice is not to bid (multiplier 0, so the day's return is 0), the bidder learns to
    bid where bidding paid, and its greedy policy earns a positive return on a day it
    never saw."""
    env = AdMarketEnv("quick", requests=1500, steps_per_day=6, seed=0)
    bidder = QBidder((0.0, 1.0), hours=2, alpha=0.2, gamma=0.5, epsilon=0.2, seed=1)
    unseen = AdMarketEnv("quick", requests=1500, steps_per_day=6, seed=100)
    assert bidder.train(unseen, 1, explore=False) == [0.0]
    returns = bidder.train(env, 12)
    assert len(returns) == 12 and all(np.isfinite(returns))
    assert int(bidder.model.visits.sum()) == 12 * 6 * len(env.campaign_ids)
    assert (bidder.model.policy() == 1).any()  # some state now bids
    before = bidder.model.values
    (greedy,) = bidder.train(unseen, 1, explore=False)
    assert greedy > 0.0
    np.testing.assert_array_equal(bidder.model.values, before)  # evaluating learns nothing


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"multipliers": (0.5, 2.5)}, "multipliers"),
        ({"multipliers": ()}, "multipliers"),
        ({"multipliers": ("a",)}, "multipliers"),
        ({"hours": 0}, "hours"),
        ({"pace_band": 1.0}, "pace_band"),
        ({"epsilon": 2.0}, "epsilon"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        QBidder(**kwargs)
    assert err.value.field == field


def test_bad_observations_and_episodes_are_named() -> None:
    bidder = QBidder()
    with pytest.raises(InvalidInput) as err:
        bidder.states(np.zeros(3), 2)
    assert err.value.field == "observation"
    env = AdMarketEnv("quick", requests=200, steps_per_day=2, seed=0)
    with pytest.raises(InvalidInput) as err:
        bidder.train(env, 0)
    assert err.value.field == "episodes"
