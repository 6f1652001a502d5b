"""The simulator's arms: what each one runs, the ``baseline`` alias, and what each arm's
components are seen to do on a tiny world (1,500 requests from 30 listeners, 30 % bots):
the monolith filters bots, caps frequency and paces; every ad it shows plays its default
cut; the naive arm does none of that."""

from __future__ import annotations

from collections import Counter, defaultdict

import msgspec
import pytest

from adcore import Engine, EngineConfig, InvalidInput
from adcore.agents import DEFAULT_ORDER
from adcore.agents.privacy import request_activities
from adcore.sim import ARMS, SCENARIOS, Market, SimResults, run_arm, simulate
from adcore.sim.market import SIM_VENDOR_ID, SLOT_DISPLAY
from adcore.sim.runner import DEFAULT_ARMS, resolve_arms

TINY = msgspec.structs.replace(
    SCENARIOS["quick"], name="tiny", requests=1500, listeners=30, bot_share=0.3
)
CAP = 6  # the market gives every odd-numbered campaign a cap of 6 impressions a day


@pytest.fixture(scope="module")
def results() -> SimResults:
    return simulate(TINY, arms=("agents", "monolith", "baseline"), seeds=[0], progress=False)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(TINY, 0)


def test_arm_names_and_the_baseline_alias() -> None:
    assert list(ARMS) == [
        "agents",
        "monolith",
        "naive",
        "learned",
        "monolith-learned",
        "supervised",
    ]
    assert len(ARMS) == 6
    assert "baseline" in ARMS and "nope" not in ARMS
    assert ARMS["baseline"] is ARMS["naive"]
    assert ARMS.aliases == {"baseline": "naive"}
    assert DEFAULT_ARMS == ("agents", "monolith")
    assert resolve_arms(["agents", "baseline"]) == ("agents", "naive")
    with pytest.raises(KeyError):
        ARMS["nope"]


@pytest.mark.parametrize(
    ("arms", "message"),
    [
        (("agents", "nope"), "unknown arms"),
        ((), "non-empty"),
        ("agents", "non-empty"),
        (("agents", "naive", "baseline"), "more than once"),
    ],
)
def test_bad_arms_name_the_field(arms: tuple[str, ...], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        simulate("quick", arms=arms, requests=100, progress=False)
    assert info.value.field == "arms"
    assert isinstance(info.value, ValueError)


def test_bad_seeds_name_the_field() -> None:
    for seeds in ([], [1, 1]):
        with pytest.raises(InvalidInput) as info:
            simulate("quick", seeds=seeds, requests=100, progress=False)
        assert info.value.field == "seeds"


def test_alias_results_use_the_canonical_name(results: SimResults) -> None:
    assert results.arms == ("agents", "monolith", "naive")
    assert results.run("baseline", 0) is results.run("naive", 0)
    assert results.run("naive", 0).arm == "naive"
    with pytest.raises(KeyError):
        results.run("nope", 0)


def test_each_arm_runs_its_agents(market: Market) -> None:
    """The monolith's plan is the ten agents' without the creative agent; it configures
    the engine like the agents' arm (default PID pacing). The naive arm drops the fraud
    filter and the creative agent and turns pacing off."""
    plans = {
        name: Engine(market.catalog, EngineConfig(), agents=ARMS[name].agents()).plan
        for name in ARMS
    }
    assert plans["agents"] == DEFAULT_ORDER
    assert plans["monolith"] == tuple(a for a in DEFAULT_ORDER if a != "creative")
    assert "fraud" not in plans["naive"] and "creative" not in plans["naive"]
    config = EngineConfig(pacing_curve=TINY.diurnal)
    assert ARMS["monolith"].configure(config) == config == ARMS["agents"].configure(config)
    naive = ARMS["naive"].configure(config)
    assert (naive.pacing_gain, naive.pacing_ki, naive.pacing_kd) == (0.0, 0.0, 0.0)


def test_run_arm_accepts_the_alias_and_rejects_unknown_arms(market: Market) -> None:
    small = Market(msgspec.structs.replace(TINY, requests=100), 0)
    assert run_arm(small, "baseline").arm == "naive"
    with pytest.raises(InvalidInput) as info:
        run_arm(market, "nope")
    assert info.value.field == "arm"


def test_only_the_agents_adapt_the_cut(results: SimResults, market: Market) -> None:
    """Every audio and video ad of the catalog defaults to its 30 s cut; only the
    creative agent plays the 15 s one."""
    for arm in results.arms:
        run = results.run(arm, 0)
        av = market.ad_format_code[run.shown_ad] != SLOT_DISPLAY
        cuts = Counter(run.shown_duration[av].tolist())
        assert sum(cuts.values()) > 100, arm
        if arm == "agents":
            assert cuts[15.0] > 0 and cuts[30.0] > 0
        else:
            assert set(cuts) == {30.0}, (arm, cuts)


def test_monolith_filters_bots(results: SimResults, market: Market) -> None:
    """Every bot sends from a data-center address, which the fraud agent filters."""
    assert market.bot.sum() > 300
    assert results.run("monolith", 0).metrics["bot_impressions"] == 0
    assert results.run("naive", 0).metrics["bot_impressions"] > 50


def _capped_overshoot(results: SimResults, market: Market, arm: str) -> int:
    """Impressions of a capped campaign shown to a listener (where personalisation was
    allowed, so a cap can know the listener) who had already been shown it ``CAP``
    times in earlier requests."""
    run = results.run(arm, 0)
    by_request: dict[int, list[int]] = defaultdict(list)
    for i, c in zip(run.shown_request.tolist(), run.shown_campaign.tolist(), strict=True):
        by_request[i].append(c)
    seen: Counter[tuple[int, int]] = Counter()
    over = 0
    for i in sorted(by_request):
        if market.bot[i] or not request_activities(market.request(i), SIM_VENDOR_ID).personalise:
            continue
        listener = int(market.listener[i])
        capped = [c for c in by_request[i] if market.catalog.campaigns[c].frequency_cap]
        over += sum(seen[(listener, c)] >= CAP for c in capped)
        for c in capped:
            seen[(listener, c)] += 1
    return over


def test_monolith_caps_frequency(results: SimResults, market: Market) -> None:
    assert all(
        c.frequency_cap is None or c.frequency_cap.impressions == CAP
        for c in market.catalog.campaigns
    )
    assert _capped_overshoot(results, market, "monolith") == 0
    assert _capped_overshoot(results, market, "naive") > 0


def test_monolith_paces(results: SimResults) -> None:
    """Unpaced, campaigns run out of budget hours before the day ends; paced, none runs
    out before the last tenth of the day, and spend follows the traffic more closely."""
    mono = results.run("monolith", 0).metrics
    naive = results.run("naive", 0).metrics
    assert naive["campaigns_out_early"] >= 2
    assert mono["campaigns_out_early"] == 0
    assert mono["pacing_error"] < 0.8 * naive["pacing_error"]


def test_the_learned_arms_differ_from_theirs_only_in_the_learners() -> None:
    for learned, plain in (("learned", "agents"), ("monolith-learned", "monolith")):
        mine = [type(a).__name__ for a in ARMS[learned].agents()]
        theirs = [type(a).__name__ for a in ARMS[plain].agents()]
        learned_names = {
            "RelevanceAgent": "ContextualRelevanceAgent",
            "CreativeAgent": "BanditCreativeAgent",
        }
        assert mine == [learned_names.get(name, name) for name in theirs]
