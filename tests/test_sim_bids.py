"""Bids that follow relevance: each bid strategy values the action it pays for, the
relevance agent predicts that action, and the simulator's values and bid caps are in
proportion, so winning bids vary with relevance below their caps instead of saturating.

The engine-level test feeds one audio ad of a target-CPC campaign completions and then
clicks: only clicks move its bid. The simulator test runs a 20,000-request ``steady``
day (seed 0) and looks at every winning bid beside its campaign's ``max_bid``.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from adcore import Ad, BidStrategy, Campaign, Catalog, Engine, EngineConfig, Pacing
from adcore import openrtb as rtb
from adcore.events import Click, Complete, Impression
from adcore.sim.market import Market
from adcore.sim.runner import run_arm
from adcore.sim.scenario import SCENARIOS

T0 = 1_780_000_000.0


def _cpc_audio_engine() -> Engine:
    camp = Campaign(
        id="c",
        advertiser="A",
        daily_budget=10**12,
        bid=1.0,  # 1.0 per click
        max_bid=100.0,
        strategy=BidStrategy.TARGET_CPC,
        pacing=Pacing.ASAP,
    )
    ad = Ad(
        id="a", campaign="c", format="audio", duration=30.0, base_rate=0.002, embedding=(0.0, 0.0)
    )
    return Engine(Catalog([camp], [ad]), EngineConfig(latency_budget_us=math.inf, warmup=False))


def _bid(engine: Engine, r: int) -> float:
    request = rtb.BidRequest(id=f"r{r}", imp=(rtb.Imp(id="1", audio=rtb.Audio()),))
    (slot,) = engine.decide(request, now=T0 + r).slots
    assert slot.impression_id is not None
    return slot.bid


def test_a_cpc_audio_ad_bids_on_its_click_rate_not_its_completion_rate() -> None:
    """At the prior the bid is 0.002 x 1.0 x 1000 = 2 CPM (not a completion rate near 0.6
    times 1000). Completions without clicks lower it (the observed click rate is 0);
    clicks raise it."""
    engine = _cpc_audio_engine()
    first = _bid(engine, 0)
    assert first == pytest.approx(2.0, rel=1e-9)
    for r in range(1, 600):  # shown and completed, never clicked
        request = rtb.BidRequest(id=f"q{r}", imp=(rtb.Imp(id="1", audio=rtb.Audio()),))
        (slot,) = engine.decide(request, now=T0 + r).slots
        iid = slot.impression_id
        assert iid is not None
        engine.feedback(Impression(impression_id=iid, timestamp=T0 + r))
        engine.feedback(Complete(impression_id=iid, timestamp=T0 + r + 1))
    lowered = _bid(engine, 599)
    assert lowered < 0.5 * first
    for r in range(600, 700):  # now every one is clicked
        request = rtb.BidRequest(id=f"k{r}", imp=(rtb.Imp(id="1", audio=rtb.Audio()),))
        (slot,) = engine.decide(request, now=T0 + r).slots
        iid = slot.impression_id
        assert iid is not None
        engine.feedback(Impression(impression_id=iid, timestamp=T0 + r))
        engine.feedback(Click(impression_id=iid, timestamp=T0 + r + 1))
    assert _bid(engine, 900) > 10 * first


@pytest.fixture(scope="module")
def steady() -> tuple[Market, object]:
    market = Market(msgspec.structs.replace(SCENARIOS["steady"], requests=20_000), 0)
    return market, run_arm(market, "agents")


def test_most_winning_bids_are_below_their_cap(steady: tuple[Market, object]) -> None:
    """On ``steady``, at least 80 % of the winning bids are below their campaign's
    ``max_bid`` (measured: 98.5 %; before bids followed their own action, 56-59 % of
    winners bid exactly their cap)."""
    market, run = steady
    cap = np.array([c.max_bid for c in market.catalog.campaigns])
    bids = run.shown_bid  # type: ignore[attr-defined]
    camps = run.shown_campaign  # type: ignore[attr-defined]
    assert len(bids) > 5_000
    below = bids < cap[camps] * (1 - 1e-9)
    assert below.mean() >= 0.8


def test_winning_bids_rise_with_true_relevance(steady: tuple[Market, object]) -> None:
    """For the strategies that bid on a prediction (target CPC and CPA, max value), the
    winning bids of each campaign are not one number, and across human impressions they
    rise with the market's true listener-ad affinity (a positive rank correlation)."""
    market, run = steady
    strategy = [BidStrategy(c.strategy) for c in market.catalog.campaigns]
    bids = run.shown_bid  # type: ignore[attr-defined]
    camps = run.shown_campaign  # type: ignore[attr-defined]
    reqs = run.shown_request  # type: ignore[attr-defined]
    ads = run.shown_ad  # type: ignore[attr-defined]
    human = ~np.asarray(market.bot)[reqs]
    predicted = np.array([strategy[c] is not BidStrategy.FIXED_CPM for c in camps]) & human
    for c in sorted(set(camps[predicted].tolist())):
        assert np.unique(np.round(bids[predicted & (camps == c)], 9)).size > 1, c
    affinity = np.array(
        [market.affinity(int(market.listener[r]), int(a)) for r, a in zip(reqs, ads, strict=True)]
    )
    # within each campaign (its amount fixes the scale), rank correlation of bid and truth
    rhos = []
    for c in sorted(set(camps[predicted].tolist())):
        sel = predicted & (camps == c)
        if sel.sum() < 50:
            continue
        rb = np.argsort(np.argsort(bids[sel]))
        ra = np.argsort(np.argsort(affinity[sel]))
        rhos.append(float(np.corrcoef(rb, ra)[0, 1]))
    assert rhos and float(np.mean(rhos)) > 0.02  # measured 0.045
