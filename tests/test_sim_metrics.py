"""The simulator's metrics, checked against hand computations on a tiny world.

The world: the ``quick`` scenario cut to 1,500 requests from 30 listeners, with bots
sending 30 % of the requests all day. Every metric is recomputed here from the market's
ground truth (which requests are bots, each listener's true interest, each ad's true
embedding and format, the pre-drawn response uniforms, the catalog's budgets) and the
impressions a run logged, with plain loops; the log itself is checked against the
market's response rules and the ledger.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import msgspec
import numpy as np
import pytest

from adcore.cli import main
from adcore.sim import METRICS, SCENARIOS, ArmRun, Market, SimResults, simulate
from adcore.sim.market import SESSION_MUSIC, SESSION_PODCAST, SLOT_AUDIO, SLOT_DISPLAY, SLOT_VIDEO
from adcore.sim.results import VALUE_METRICS, match_spend, pacing_error, value_at_spend

ARMS = ("agents", "monolith", "naive")
TINY = msgspec.structs.replace(
    SCENARIOS["quick"], name="tiny", requests=1500, listeners=30, bot_share=0.3
)
REQUIRED = {
    "relevance",
    "ctr_human",
    "completion_rate",
    "skip_rate",
    "advertiser_value",
    "spend",
    "roas",
    "advertiser_surplus",
    "delivery",
    "revenue",
    "pacing_error",
    "bot_spend",
    "consent_violations",
    "campaigns_out_early",
    "latency_p50_us",
    "latency_p99_us",
}


@pytest.fixture(scope="module")
def results() -> SimResults:
    return simulate(TINY, arms=ARMS, seeds=[0], progress=False)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(TINY, 0)


def _budgets(market: Market) -> np.ndarray:
    return np.array([c.daily_budget for c in market.catalog.campaigns], dtype=np.float64) / 1e6


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _truth(market: Market, request: int, ad: int) -> float:
    listener = int(market.listener[request])
    return float(np.dot(market.interest[listener], market.ad_truth[ad]))


# --------------------------------------------------------------------------- the log


@pytest.mark.parametrize("arm", ARMS)
def test_logged_outcomes_follow_the_markets_rules(
    results: SimResults, market: Market, arm: str
) -> None:
    """Each logged impression's click, completion and skip are what the market's rules
    give for its slot's uniforms, the listener's true affinity for the ad, the cut's
    length and the listener's earlier exposures to the campaign (bots: a click when the
    click uniform is below 0.3, never a completion)."""
    run = results.run(arm, 0)
    assert run.shown_request.size > 100
    exposures: dict[tuple[int, int], int] = defaultdict(int)
    for k in range(run.shown_request.size):
        i, s, ad = int(run.shown_request[k]), int(run.shown_slot[k]), int(run.shown_ad[k])
        c = int(run.shown_campaign[k])
        assert int(market.slot_request[s]) == i
        assert market.catalog.ads[ad].campaign == market.catalog.campaigns[c].id
        u_click, u_complete, _ = market.uniforms[s]
        listener = int(market.listener[i])
        seen = exposures[(listener, c)]
        exposures[(listener, c)] += 1
        got = (bool(run.shown_click[k]), bool(run.shown_complete[k]), bool(run.shown_skip[k]))
        if market.bot[i]:
            assert got == (u_click < 0.3, False, False), k
            continue
        r = _truth(market, i, ad)
        logit = -4.6 + 2.5 * r - 0.3 * seen
        if market.ad_format_code[ad] == SLOT_DISPLAY:
            assert got == (u_click < _sigmoid(logit), False, False), k
            continue
        long = run.shown_duration[k] > 20.0
        if market.ad_format_code[ad] == SLOT_VIDEO:
            penalty = 0.6 if long else 0.2
        elif market.session[i] == SESSION_PODCAST:
            penalty = 1.5 if long else 0.2
        elif market.session[i] == SESSION_MUSIC:
            penalty = 0.3 if long else 0.1
        else:
            penalty = 0.0
        complete = u_complete < _sigmoid(0.8 + 2.0 * r - penalty - 0.35 * seen)
        assert got == (u_click < 0.1 * _sigmoid(logit), complete, not complete), k


@pytest.mark.parametrize("arm", ARMS)
def test_logged_charges_are_the_ledgers_spend(
    results: SimResults, market: Market, arm: str
) -> None:
    """Per campaign, the logged charges add up to the ledger's spend, and the spend by
    the end of each hour is the charges of the impressions decided by then."""
    run = results.run(arm, 0)
    n_camp = len(market.catalog.campaigns)
    hours = np.minimum(23, ((market.time - TINY.start) // 3600).astype(int))
    by_hour = np.zeros((24, n_camp))
    for k in range(run.shown_request.size):
        h = hours[run.shown_request[k]]
        by_hour[h, run.shown_campaign[k]] += run.shown_charge_micros[k]
    np.testing.assert_allclose(run.hourly_spend * 1e6, np.cumsum(by_hour, axis=0), atol=1e-6)
    assert (run.shown_charge_micros >= 0).all()
    assert run.shown_charge_micros.sum() > 0


# --------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("arm", ARMS)
def test_engagement_is_human_and_per_format(results: SimResults, market: Market, arm: str) -> None:
    run = results.run(arm, 0)
    m = run.metrics
    tally: dict[str, float] = defaultdict(float)
    for k in range(run.shown_request.size):
        i, ad = int(run.shown_request[k]), int(run.shown_ad[k])
        click, complete = bool(run.shown_click[k]), bool(run.shown_complete[k])
        if market.bot[i]:
            tally["bot"] += 1
            tally["bot_clicks"] += click
            tally["bot_spend"] += run.shown_charge_micros[k] / 1e6
            continue
        tally["human"] += 1
        tally["affinity"] += _truth(market, i, ad)
        fmt = int(market.ad_format_code[ad])
        name = {SLOT_DISPLAY: "display", SLOT_AUDIO: "audio", SLOT_VIDEO: "video"}[fmt]
        tally[name] += 1
        tally[name + "_clicks"] += click
        tally[name + "_completes"] += complete
        if fmt != SLOT_DISPLAY:
            tally["av_skips"] += bool(run.shown_skip[k])
            tally["seconds"] += run.shown_duration[k] if complete else 0.0
    assert tally["human"] > 100 and tally["display"] > 10 and tally["video"] > 10
    av = tally["audio"] + tally["video"]
    assert m["relevance"] == pytest.approx(tally["affinity"] / tally["human"], rel=1e-12)
    assert m["ctr_human"] == pytest.approx(tally["display_clicks"] / tally["display"])
    assert m["completion_rate_audio"] == pytest.approx(tally["audio_completes"] / tally["audio"])
    assert m["completion_rate_video"] == pytest.approx(tally["video_completes"] / tally["video"])
    assert m["completion_rate"] == pytest.approx(
        (tally["audio_completes"] + tally["video_completes"]) / av
    )
    assert m["skip_rate"] == pytest.approx(tally["av_skips"] / av)
    assert m["seconds_listened"] == pytest.approx(tally["seconds"])
    assert m["bot_impressions"] == tally["bot"]
    assert m["bot_clicks"] == tally["bot_clicks"]
    assert m["bot_spend"] == pytest.approx(tally["bot_spend"], abs=1e-9)


def test_bot_clicks_stay_out_of_the_human_ctr(results: SimResults, market: Market) -> None:
    """The naive arm (no fraud filter) buys bot impressions; the bots' clicks (a click
    uniform below 0.3, counted straight from the market) are reported as bot clicks,
    and the human CTR is the one a display ad gets from listeners (below 5 % in this
    market, where the click probability of a display ad is at most sigmoid(-2.1) = 11 %
    for a perfectly matched ad and near 1 % for a typical one). The monolith, with the
    fraud filter, shows no ad to a bot."""
    naive = results.run("naive", 0)
    bots = market.bot[naive.shown_request]
    by_hand = int(np.sum(market.uniforms[naive.shown_slot[bots], 0] < 0.3))
    assert bots.sum() >= 50
    assert naive.metrics["bot_impressions"] == bots.sum()
    assert naive.metrics["bot_clicks"] == by_hand > 0
    assert naive.metrics["ctr_human"] < 0.05
    assert naive.metrics["bot_spend"] > 0
    for arm in ("agents", "monolith"):
        m = results.run(arm, 0).metrics
        assert m["bot_impressions"] == m["bot_clicks"] == m["bot_spend"] == 0, arm


@pytest.mark.parametrize("arm", ARMS)
def test_money_metrics(results: SimResults, market: Market, arm: str) -> None:
    run = results.run(arm, 0)
    m = run.metrics
    budgets = _budgets(market)
    n_camp = len(budgets)
    spend = np.zeros(n_camp)
    value = np.zeros(n_camp)
    for k in range(run.shown_request.size):
        spend[run.shown_campaign[k]] += run.shown_charge_micros[k] / 1e6
        value[run.shown_campaign[k]] += run.shown_value[k]
    assert m["spend"] == pytest.approx(spend.sum(), abs=1e-9)
    assert m["revenue"] == m["spend"]
    assert m["advertiser_value"] == pytest.approx(value.sum(), rel=1e-12)
    assert m["roas"] == pytest.approx(value.sum() / spend.sum(), rel=1e-9)
    assert m["advertiser_surplus"] == pytest.approx(value.sum() - spend.sum(), rel=1e-9)
    np.testing.assert_allclose(run.delivery, spend / budgets, rtol=1e-9)
    assert m["delivery"] == pytest.approx(spend.sum() / budgets.sum(), rel=1e-9)
    assert m["delivery_min"] == pytest.approx(float(np.min(spend / budgets)), rel=1e-9)
    assert m["campaigns_out_early"] == int(np.sum(run.exhausted_hour < 21.6))
    assert 0 < m["delivery"] <= 1.0


def test_value_at_matched_spend_by_hand(results: SimResults) -> None:
    """Per campaign, the least any arm spent; each arm's value for its first that much
    money, the impression crossing the limit counted pro rata."""
    runs = [results.run(a, 0) for a in ARMS]
    limit = np.min([np.rint(r.spend * 1e6) for r in runs], axis=0)
    for run in runs:
        total = 0.0
        for c in range(len(limit)):
            mine = np.flatnonzero(run.shown_campaign == c)
            if limit[c] >= run.shown_charge_micros[mine].sum():
                total += float(run.shown_value[mine].sum())  # its whole spend: all counts
                continue
            spent = 0.0
            for k in mine:
                q, v = float(run.shown_charge_micros[k]), float(run.shown_value[k])
                if spent >= limit[c] and q > 0:
                    break
                if q > 0:
                    total += v * min(1.0, (limit[c] - spent) / q)
                elif spent < limit[c]:
                    total += v
                spent += q
        assert run.metrics["value_at_matched_spend"] == pytest.approx(total, rel=1e-9), run.arm
        assert run.metrics["value_at_matched_spend"] <= run.metrics["advertiser_value"] + 1e-9
    # The naive arm spends more than the others: its value is cut to matched spend.
    naive = results.run("naive", 0).metrics
    assert naive["value_at_matched_spend"] < naive["advertiser_value"]
    # Matched with itself alone, a run keeps its whole value.
    alone = match_spend([runs[1]])[0]
    assert alone.metrics["value_at_matched_spend"] == pytest.approx(
        runs[1].metrics["advertiser_value"], rel=1e-12
    )


@pytest.mark.parametrize("arm", ARMS)
def test_pacing_error_against_arrived_human_traffic(
    results: SimResults, market: Market, arm: str
) -> None:
    run = results.run(arm, 0)
    budgets = _budgets(market)
    hours = np.minimum(23, ((market.time - TINY.start) // 3600).astype(int))
    arrived = np.array([np.sum((hours == h) & ~market.bot) for h in range(24)], dtype=float)
    share = np.cumsum(arrived) / arrived.sum()
    errors = [
        abs(run.hourly_spend[h, c] / budgets[c] - share[h])
        for h in range(24)
        for c in range(len(budgets))
    ]
    assert run.metrics["pacing_error"] == pytest.approx(sum(errors) / len(errors), rel=1e-9)
    np.testing.assert_allclose(run.planned, share)


def test_consent_and_latency(results: SimResults) -> None:
    for arm in ARMS:
        m = results.run(arm, 0).metrics
        assert m["consent_violations"] == 0
        assert 0 < m["latency_p50_us"] <= m["latency_p99_us"]


# --------------------------------------------------------------------------- functions


def test_value_at_spend_hand_cases() -> None:
    camp = np.array([0, 1, 0, 0, 1, 0])
    charge = np.array([100, 50, 0, 200, 50, 300])
    value = np.array([1.0, 10.0, 2.0, 4.0, 20.0, 8.0])
    # Campaign 0 spends 100, 0, 200, 300 (600 in all); campaign 1 spends 50, 50.
    got = value_at_spend(camp, charge, value, np.array([200, 75]))
    # 0: 1 + 2 (free, before the limit) + 4 * 100/200 = 5; 1: 10 + 20 * 25/50 = 20.
    np.testing.assert_allclose(got, [5.0, 20.0])
    got = value_at_spend(camp, charge, value, np.array([100, 0]))
    # 0: the free impression comes after exactly 100 spent: not below the limit.
    np.testing.assert_allclose(got, [1.0, 0.0])
    got = value_at_spend(camp, charge, value, np.array([600, 10_000]))
    np.testing.assert_allclose(got, [15.0, 30.0])
    # A campaign with no impressions, and a trailing free impression at full spend.
    got = value_at_spend(
        np.array([1, 1]), np.array([40, 0]), np.array([1.0, 2.0]), np.array([5, 40])
    )
    np.testing.assert_allclose(got, [0.0, 3.0])


def test_pacing_error_hand_case() -> None:
    # Two campaigns, budgets 100 and 200; traffic only in hours 0 and 1, 3:1.
    arrived = np.zeros(24)
    arrived[0], arrived[1] = 3.0, 1.0
    spend = np.zeros((24, 2))
    spend[0] = (75.0, 100.0)  # on plan; half the plan (0.5 instead of 0.75)
    spend[1:] = (100.0, 200.0)  # both on plan from hour 1
    assert pacing_error(spend, np.array([100.0, 200.0]), arrived) == pytest.approx(0.25 / 48)
    # A campaign without budget is left out.
    spend3 = np.concatenate([spend, np.zeros((24, 1))], axis=1)
    assert pacing_error(spend3, np.array([100.0, 200.0, 0.0]), arrived) == pytest.approx(0.25 / 48)


# --------------------------------------------------------------------------- summary


def test_summary_table_and_json(results: SimResults, tmp_path: Path) -> None:
    assert REQUIRED <= set(METRICS)
    rows = results.summary()
    assert [r.metric for r in rows] == list(METRICS)
    for r in rows:
        if r.metric in VALUE_METRICS:
            assert r.delivery == {a: results.run(a, 0).metrics["delivery"] for a in ARMS}
        else:
            assert r.delivery is None
    table = results.table()
    assert len(table) == len(ARMS) * len(METRICS)
    assert {t["metric"] for t in table} == set(METRICS)  # older keys stay out
    path = results.write_json(tmp_path / "t.json")
    data = json.loads(path.read_text())
    assert data == table
    text = results.format()
    assert "agents vs monolith" in text and "agents vs naive" in text
    advertiser = next(line for line in text.splitlines() if line.startswith("advertiser value"))
    assert advertiser.count("@") == len(ARMS)


def test_older_metric_keys_remain(results: SimResults, market: Market) -> None:
    """``ctr`` (every format, bots included) and ``spend_vs_budget`` stay in
    ``ArmRun.metrics`` for older code."""
    run: ArmRun = results.run("naive", 0)
    assert run.metrics["ctr"] == pytest.approx(run.shown_click.mean())
    assert run.metrics["spend_vs_budget"] == run.metrics["delivery"]


# --------------------------------------------------------------------------- the CLI


def test_cli_writes_the_json_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new" / "table.json"  # the directory is created
    status = main(
        [
            "simulate",
            "--scenario",
            "quick",
            "--requests",
            "300",
            "--seeds",
            "2",
            "--compare",
            "monolith, baseline",
            "--json",
            str(out),
            "--no-progress",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "agents vs monolith" in printed and "agents vs naive" in printed
    data = json.loads(out.read_text())
    assert isinstance(data, list)
    assert all(set(row) == {"scenario", "arm", "seed", "metric", "value"} for row in data)
    assert {row["arm"] for row in data} == {"agents", "monolith", "naive"}
    assert {row["seed"] for row in data} == {0, 1}
    assert {row["scenario"] for row in data} == {"quick"}
    values: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for row in data:
        assert isinstance(row["value"], float) and math.isfinite(row["value"])
        values[(row["arm"], row["seed"])][row["metric"]] = row["value"]
    assert len(values) == 6
    for m in values.values():
        assert REQUIRED <= set(m)
        assert m["roas"] == pytest.approx(m["advertiser_value"] / m["spend"])
        assert m["advertiser_surplus"] == pytest.approx(m["advertiser_value"] - m["spend"])
        assert 0 < m["delivery"] <= 1
        assert m["consent_violations"] == 0


def test_cli_compare_none(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "simulate",
            "--scenario",
            "quick",
            "--requests",
            "100",
            "--compare",
            "none",
            "--no-progress",
        ]
    )
    assert status == 0
    header = capsys.readouterr().out.splitlines()[2]
    assert header.split() == ["metric", "agents"]


@pytest.mark.parametrize(
    ("compare", "message"),
    [
        ("nope", "unknown arm 'nope'"),
        ("monolith,", "empty arm name"),
        ("monolith,monolith", "named twice"),
        ("naive,baseline", "named twice"),
        ("agents", "agents are always compared"),
    ],
)
def test_cli_bad_compare_is_an_argparse_error(
    compare: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--scenario", "quick", "--compare", compare, "--no-progress"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--compare" in err and message in err


def test_cli_json_bad_paths_are_argparse_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked before simulating: a directory instead of a file, or a file where its
    directory should be."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    for target in (tmp_path, blocker / "t.json"):
        with pytest.raises(SystemExit) as info:
            main(["simulate", "--json", str(target), "--no-progress"])
        assert info.value.code == 2
        assert "--json" in capsys.readouterr().err
