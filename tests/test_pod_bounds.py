"""Bounded work in ad pods, through the engine and the public wrappers: every pod search
stops after ``EngineConfig.pod_node_budget`` nodes, the trace says how each pod was
found (exact or budgeted, nodes, gap), and the decisions stay valid whatever the budget.

The kernels' own budget properties (feasibility, at least the greedy pods, the gap
bounds the optimum, nodes within the budget) are in test_mechanism_properties.py.
Everything here asserts on work counters (nodes explored), never on time.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pytest

from adcore import (
    Catalog,
    Decision,
    Engine,
    EngineConfig,
    InvalidConfig,
    InvalidInput,
    PodSearch,
)
from adcore.auctions import best_pod, fill_pod
from adcore.demo import DEMO_START, sample_catalog, subset_sum_catalog

try:
    from tests.reference import mechanisms as ref
except ImportError:  # pytest run without the project root on sys.path
    from reference import mechanisms as ref  # type: ignore[no-redef]

ISSUE_REQUEST = (
    b'{"id":"r","imp":[{"id":"1","audio":{"maxduration":29,"poddur":120}}],'
    b'"device":{"devicetype":4}}'
)
"""The 100-byte request that took seconds with the unbounded search."""

BUDGET = EngineConfig().pod_node_budget
REQUEST_BUDGET = EngineConfig().pod_request_node_budget
MAX_POD = EngineConfig().max_pod
MAX_IMPS = EngineConfig().max_imps


def engine(catalog: Catalog, **config: Any) -> Engine:
    return Engine(catalog, EngineConfig(latency_budget_us=math.inf, **config))


def hard_catalog(n_ads: int = 300, n_campaigns: int = 60, seed: int = 0) -> Catalog:
    """Pods over it are subset sums that run out of any small node budget."""
    return subset_sum_catalog(n_ads, n_campaigns, n_categories=7, seed=seed)


def pod_request(n_imps: int, poddur: int = 240, **audio: Any) -> bytes:
    imp = [
        {"id": str(k), "audio": {"poddur": poddur, "mimes": ["audio/mpeg"], **audio}}
        for k in range(n_imps)
    ]
    return json.dumps({"id": "r", "imp": imp}).encode()


def pods_of(decision: Decision) -> list[PodSearch | None]:
    assert decision.trace is not None
    return list(decision.trace.pods)


def winners_per_imp(decision: Decision) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in decision.winners:
        out[s.imp_id] = out.get(s.imp_id, 0) + 1
    return out


def auction_notes(decision: Decision) -> dict[str, Any]:
    assert decision.trace is not None
    return next(a.notes for a in decision.trace.agents if a.agent == "auction")


# --------------------------------------------------------------------------- the issue's request


@pytest.mark.parametrize("n_ads", [200, 1000])
def test_the_issue_request_is_decided_within_the_documented_nodes(n_ads: int) -> None:
    """The 100-byte audio pod request: one pod impression, so at most ``(k + 1) *
    budget`` nodes for its ``k`` winners, at most ``(max_pod + 1) * budget`` in all; it
    fills the pod, and (the class and duration bounds cut it well) exactly."""
    e = engine(sample_catalog(n_ads=n_ads), trace=True)
    d = e.decide(ISSUE_REQUEST, now=DEMO_START)
    (pod,) = pods_of(d)
    assert pod is not None
    k = len(d.winners)
    assert 1 <= k <= MAX_POD
    assert 1 <= pod.nodes <= (k + 1) * BUDGET <= (MAX_POD + 1) * BUDGET
    assert (pod.method, pod.prices, pod.gap) == ("exact", "exact", 0.0)
    assert sum(s.duration for s in d.winners) <= 120.0
    notes = auction_notes(d)
    assert notes["pod_nodes"] == pod.nodes and notes["pod_search"] == "exact"
    assert "pod search exact" in e.explain(d)


# --------------------------------------------------------------------------- budgeted pods


def check_pods(decision: Decision, poddur: float) -> None:
    """Each pod impression's ads fit its duration, one per campaign, and pay between
    their floor (0 here) and their bid."""
    by_imp: dict[str, list[Any]] = {}
    for s in decision.winners:
        by_imp.setdefault(s.imp_id, []).append(s)
    for slots in by_imp.values():
        assert sum(s.duration for s in slots) <= poddur + 1e-9
        assert len(slots) <= MAX_POD
        assert len({s.campaign_id for s in slots}) == len(slots)
        assert [s.slot_in_pod for s in slots] == list(range(1, len(slots) + 1))
        for s in slots:
            assert 0.0 <= s.price <= s.bid


@pytest.mark.parametrize("budget", [1, 3, BUDGET])
def test_budgeted_pods_stay_valid_and_say_so(budget: int) -> None:
    """On a catalog where the searches run out, every pod is still a valid pod with
    prices within [floor, bid]; the trace reports the budgeted method, a positive gap,
    and at most ``(k + 1) * budget`` nodes per impression."""
    e = engine(hard_catalog(), trace=True, pod_node_budget=budget)
    d = e.decide(pod_request(2), now=DEMO_START)
    check_pods(d, 240.0)
    counts = winners_per_imp(d)
    pods = pods_of(d)
    assert len(pods) == 2
    for k, pod in enumerate(pods):
        assert pod is not None
        assert pod.nodes <= (counts.get(str(k), 0) + 1) * budget
        assert pod.method == "budgeted" and pod.gap > 0.0
        assert pod.prices == "budgeted"
    assert auction_notes(d)["pod_search"] == "budgeted"
    text = e.explain(d)
    assert "pod search budgeted" in text and "prices budgeted" in text


def pod_work(config: dict[str, Any]) -> tuple[int, int, list[int]]:
    """``max_imps`` 240 s pod impressions on a catalog where every search runs out:
    the nodes of all the request's searches, how many searches ran, and the nodes per
    impression (each checked against the per-search budget)."""
    e = engine(hard_catalog(), trace=True, **config)
    d = e.decide(pod_request(MAX_IMPS), now=DEMO_START)
    check_pods(d, 240.0)
    counts = winners_per_imp(d)
    per_search = config.get("pod_node_budget", BUDGET)
    nodes, searches = [], 0
    for k, pod in enumerate(pods_of(d)):
        assert pod is not None and pod.method == "budgeted"
        assert pod.nodes <= (counts.get(str(k), 0) + 1) * per_search
        nodes.append(pod.nodes)
        searches += counts.get(str(k), 0) + 1
    return sum(nodes), searches, nodes


def test_worst_case_request_stays_within_the_documented_bound() -> None:
    """The most pod work one request can ask for under the default configuration:
    ``max_imps`` pod impressions on a catalog where every search runs out. The searches
    share ``pod_request_node_budget``; once it is spent each later search still gets one
    node (the greedy fill): at most the request budget plus one node per search."""
    total, searches, nodes = pod_work({})
    assert total <= REQUEST_BUDGET + searches
    assert total > (MAX_POD + 1) * BUDGET  # the first pods did use their whole budgets
    assert nodes[-1] <= MAX_POD + 1  # the last pod found the request's budget spent


def test_without_a_request_budget_every_pod_gets_its_own() -> None:
    """With the request budget out of the way, every pod's searches run out of their own
    budget: more work than the default allows, up to ``(max_pod + 1) * pod_node_budget``
    a pod."""
    total, _, nodes = pod_work({"pod_request_node_budget": (1 << 31) - 1})
    assert all(n >= BUDGET for n in nodes)
    assert REQUEST_BUDGET < total <= MAX_IMPS * (MAX_POD + 1) * BUDGET


@pytest.mark.parametrize("request_budget", [1, 100])
def test_a_spent_request_budget_still_fills_valid_pods(request_budget: int) -> None:
    """The request budget bounds the nodes, not the answer: with it spent, every pod is
    still filled and valid (a greedy pod), and the fast path decides as the agents."""
    cat = hard_catalog(seed=3)
    config = {"pod_request_node_budget": request_budget}
    traced = engine(cat, trace=True, **config).decide(pod_request(3), now=DEMO_START)
    fast = engine(cat, **config).decide(pod_request(3), now=DEMO_START)
    check_pods(traced, 240.0)
    assert fast.slots == traced.slots
    assert set(winners_per_imp(traced)) == {"0", "1", "2"}
    searches = len(traced.winners) + 3
    assert sum(p.nodes for p in pods_of(traced) if p) <= request_budget + searches


def test_first_price_pods_search_once() -> None:
    """With first price, each pod impression runs only its fill search."""
    e = engine(hard_catalog(), trace=True, pod_node_budget=5)
    raw = json.loads(pod_request(2))
    raw["at"] = 1
    d = e.decide(json.dumps(raw).encode(), now=DEMO_START)
    for pod in pods_of(d):
        assert pod is not None
        assert pod.prices == "bids" and pod.nodes == 5
    for s in d.winners:
        assert s.price == s.bid


def test_a_larger_budget_never_finds_a_worse_pod_here() -> None:
    """The exact search (the largest budget) reaches the optimum the budgeted search's
    gap bounds: budgeted value + gap >= exact value >= budgeted value."""
    cat = hard_catalog(n_ads=120, n_campaigns=24, seed=2)
    request = pod_request(1, poddur=120)
    small = engine(cat, trace=True, pod_node_budget=4).decide(request, now=DEMO_START)
    unlimited = (1 << 31) - 1
    exact = engine(
        cat, trace=True, pod_node_budget=unlimited, pod_request_node_budget=unlimited
    ).decide(request, now=DEMO_START)
    (pod,) = pods_of(small)
    (exact_pod,) = pods_of(exact)
    assert pod is not None and exact_pod is not None
    assert pod.method == "budgeted" and exact_pod.method == "exact"
    assert exact_pod.nodes > 4 * (len(small.winners) + 1)
    got = sum(s.bid for s in small.winners)
    best = sum(s.bid for s in exact.winners)
    assert got <= best * (1 + 1e-12)
    assert got + pod.gap >= best * (1 - 1e-12)


@pytest.mark.parametrize("budget", [2, BUDGET])
def test_fast_path_decides_budgeted_pods_like_the_agents(budget: int) -> None:
    """The fused fast path (untraced) passes the node budget and the pod outputs through
    its one compiled call: it decides exactly as the per-agent path (traced) does."""
    cat = hard_catalog(seed=1)
    fast = engine(cat, pod_node_budget=budget)
    agents = engine(cat, pod_node_budget=budget, trace=True)
    t = DEMO_START
    for n_imps, poddur in itertools.product((1, 3), (60, 240)):
        t += 5.0
        request = pod_request(n_imps, poddur=poddur)
        a = fast.decide(request, now=t)
        b = agents.decide(request, now=t)
        assert a.trace is None and b.trace is not None
        assert a.slots == b.slots


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("bad", [0, -1, 1 << 31, 2**63, True, 1.5, "64", None])
@pytest.mark.parametrize("field", ["pod_node_budget", "pod_request_node_budget"])
def test_pod_node_budget_is_validated(bad: Any, field: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        EngineConfig(**{field: bad}).validate()
    assert info.value.field == field


def test_default_budget_is_shared_by_the_engine_and_the_wrappers() -> None:
    import inspect

    default = inspect.signature(fill_pod).parameters["node_budget"].default
    assert default == inspect.signature(best_pod).parameters["node_budget"].default == BUDGET


# --------------------------------------------------------------------------- public wrappers


def subset_sum(n: int = 24, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    durations = rng.uniform(5.0, 40.0, n)
    return durations * rng.uniform(0.99, 1.01, n), durations


def test_fill_pod_reports_how_it_searched() -> None:
    values, durations = subset_sum()
    exact = fill_pod(values, durations, 120.0, 5, node_budget=None)
    assert exact.exact and exact.exact_prices and exact.gap == 0.0
    best = ref.brute_force_pod(values, durations, np.zeros((24, 1), np.uint64), 24, 120.0, 5, False)
    assert math.isclose(float(values[exact.chosen].sum()), best, rel_tol=1e-9)
    small = fill_pod(values, durations, 120.0, 5, node_budget=2)
    assert not small.exact and not small.exact_prices and small.gap > 0.0
    k = len(small.chosen)
    assert 1 <= k and small.nodes <= (k + 1) * 2
    got = float(values[small.chosen].sum())
    assert got <= best * (1 + 1e-12) and got + small.gap >= best * (1 - 1e-9)
    assert durations[small.chosen].sum() <= 120.0 + 1e-9
    assert np.all(small.prices >= 0.0) and np.all(small.prices <= values[small.chosen])
    chosen, prices = best_pod(values, durations, 120.0, 5, node_budget=2)
    assert chosen.tolist() == small.chosen.tolist()
    assert prices.tolist() == small.prices.tolist()
    first = fill_pod(values, durations, 120.0, 5, node_budget=2, mechanism="first_price")
    assert first.exact_prices and first.nodes == 2
    assert first.prices.tolist() == values[first.chosen].tolist()


@pytest.mark.parametrize("bad", [0, -3, 1 << 63, True, 2.0, "10"])
def test_fill_pod_rejects_bad_budgets(bad: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        fill_pod([1.0], [1.0], 30.0, 1, node_budget=bad)
    assert info.value.field == "node_budget"
