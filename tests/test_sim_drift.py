"""The ``drift`` scenario: listeners' tastes shift mid-day, per device type, and nothing
else about the day changes."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from adcore.sim import SCENARIOS, InvalidScenario, Market, run_arm

SMALL = msgspec.structs.replace(SCENARIOS["drift"], requests=3000, listeners=300)


def test_the_drift_scenario_is_registered_with_a_shift_at_noon() -> None:
    sc = SCENARIOS["drift"]
    assert sc.drift_at == 12.0 and sc.drift_strength > 0
    # Every other built-in scenario keeps its tastes all day.
    assert all(s.drift_strength == 0 for name, s in SCENARIOS.items() if name != "drift")


def test_only_the_true_interest_changes_and_only_after_the_shift() -> None:
    drifting = Market(SMALL, 5)
    still = Market(msgspec.structs.replace(SMALL, drift_strength=0.0), 5)
    for name in ("time", "listener", "bot", "session", "market_price", "uniforms", "interest"):
        np.testing.assert_array_equal(getattr(drifting, name), getattr(still, name))
    assert drifting.catalog.ads == still.catalog.ads
    assert drifting.request(100) == still.request(100)
    np.testing.assert_array_equal(still.taste, still.listener)
    assert still.interest_after is still.interest

    n = len(drifting.interest)
    after = drifting.time >= SMALL.start + 12 * 3600
    assert 0 < after.sum() < len(after)
    np.testing.assert_array_equal(drifting.taste, drifting.listener + n * after)
    assert not np.allclose(drifting.interest_after, drifting.interest)
    np.testing.assert_allclose(np.linalg.norm(drifting.interest_after, axis=1), 1.0)
    listener, ad = 7, 3
    expected = float(drifting.interest_after[listener] @ drifting.ad_truth[ad])
    assert drifting.affinity(listener, ad, after_drift=True) == pytest.approx(expected, abs=1e-15)
    assert drifting.affinity(listener, ad) == still.affinity(listener, ad)


def test_each_device_warms_to_its_own_trend_advertisers() -> None:
    market = Market(SMALL, 2)
    assert sorted(market.trend_advertisers) == sorted(np.unique(market.listener_device).tolist())
    campaign_of_ad = np.array(
        [market.campaign_row[ad.campaign] for ad in market.catalog.ads], dtype=np.int64
    )
    change = market.interest_after @ market.ad_truth.T - market.interest @ market.ad_truth.T
    picks = set()
    for device, chosen in market.trend_advertisers.items():
        assert len(chosen) == SMALL.advertisers // 4
        picks.add(chosen)
        of = market.listener_device == device
        trend = np.isin(campaign_of_ad, chosen)
        # The device's listeners gain more affinity for the trend's ads than for the rest.
        assert change[of][:, trend].mean() > change[of][:, ~trend].mean() + 0.1
    assert len(picks) > 1  # devices do not all follow one trend


def test_the_day_is_tallied_with_the_taste_at_the_time_shown() -> None:
    market = Market(SMALL, 1)
    run = run_arm(market, "agents")
    ads, reqs = run.shown_ad, run.shown_request
    human = ~market.bot[reqs]
    hours = np.minimum(23, ((market.time[reqs] - SMALL.start) // 3600).astype(np.int64))
    expected = np.zeros(24)
    rows = zip(reqs[human].tolist(), ads[human].tolist(), hours[human].tolist(), strict=True)
    for r, a, h in rows:
        later = market.time[r] >= market.drift_time
        expected[h] += market.affinity(int(market.listener[r]), a, after_drift=bool(later))
    np.testing.assert_allclose(run.hourly["affinity_sum"], expected, rtol=1e-12, atol=1e-12)
    per_hour = np.bincount(hours[human], minlength=24)
    np.testing.assert_array_equal(run.hourly["human_shown"], per_hour)
    assert run.metrics["relevance"] == pytest.approx(expected.sum() / human.sum(), rel=1e-12)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("drift_at", -1.0),
        ("drift_at", 24.5),
        ("drift_strength", -0.1),
        ("drift_strength", math.nan),
    ],
)
def test_bad_drift_values_name_their_field(field: str, value: float) -> None:
    with pytest.raises(InvalidScenario) as err:
        msgspec.structs.replace(SCENARIOS["steady"], **{field: value}).validate()
    assert err.value.field == field
