"""The contextual relevance agent (``adcore.agents.ContextualRelevanceAgent``): its
compiled scoring against the model's own weights and an independent hash, what it
learns from outcomes on the bus (an ad that is clicked on one device and not on
another), its labelling rules (actions, skips, the attribution window, the bound on
waiting impressions), replay, and carrying the model across catalog updates."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from reference.kernels import splitmix64

from adcore import Catalog, Engine, EngineConfig, InvalidConfig, openrtb
from adcore.agents import ContextualRelevanceAgent, default_agents
from adcore.demo import DEMO_START, sample_requests
from adcore.events import Click, Impression, Outcome, Skip
from adcore.features import context_keys, fill_features
from adcore.learn import FTRLProximal

MATCH_KEY = 0x510E527FADE682D1
FOCUS_SALT = 0x1F83D9ABFB41BD6B
BLOCK_BITS = 8
U64 = (1 << 64) - 1


def _engine(catalog: Catalog, **kwargs: object) -> Engine:
    agent = ContextualRelevanceAgent(**kwargs)  # type: ignore[arg-type]
    plan = [a if a.name != "relevance" else agent for a in default_agents()]
    return Engine(catalog, EngineConfig(latency_budget_us=math.inf), agents=plan)


def _row(
    ad_key: int, keys: tuple[int, ...], match: float, focus: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The model's row for an ad in a context, from the module docstring, with the
    reference hash: the ad's block (its hash's bits above BLOCK_BITS + 1) and a place
    in it from the feature's hash. ``focus`` None: no focus feature (the shared match
    feature's slot alone is read from such a row)."""
    low = (1 << BLOCK_BITS) - 1

    def slot(block: int, feature: int) -> int:
        return ((block >> (BLOCK_BITS + 1)) << BLOCK_BITS) | (feature & low)

    h, shared = splitmix64(ad_key), splitmix64(MATCH_KEY)
    slots = [slot(h, h), slot(shared, shared)]
    slots += [slot(h, splitmix64((ad_key ^ k) & U64)) for k in keys]
    values = [1.0, match] + [1.0] * len(keys)
    if focus is not None:
        slots.append(slot(h, splitmix64((ad_key ^ FOCUS_SALT ^ focus) & U64)))
        values.append(1.0)
    return np.array(slots, dtype=np.int64), np.array(values)


def _with_device(request: openrtb.BidRequest, devicetype: int) -> openrtb.BidRequest:
    device = request.device or openrtb.Device()
    return msgspec.structs.replace(
        request, device=msgspec.structs.replace(device, devicetype=devicetype)
    )


def _scores(engine: Engine, request: openrtb.BidRequest, now: float) -> tuple[np.ndarray, ...]:
    """The relevance step run alone on a context filled for ``request`` after the
    agents before it: (score, match, context keys, reasons, focus)."""
    live = engine._live
    ctx = engine._context(live)
    fill_features(ctx, request, now, engine.config.exchange_rates)
    for agent in engine._plan:
        agent.run(ctx, live.states[agent.name])
        if agent.name == "relevance":
            break
    return (
        ctx.score.copy(),
        ctx.match.copy(),
        ctx.context_keys.copy(),
        ctx.reason.copy(),
        np.array([ctx.focus]),
    )


def _outcome(
    kind: str,
    iid: str,
    ad_id: str,
    t: float,
    keys: tuple[int, ...],
    match: float = 0.25,
    focus: int = 0,
) -> Outcome:
    return Outcome(
        kind=kind,
        impression_id=iid,
        ad_id=ad_id,
        campaign_id="c",
        creative_id=ad_id,
        timestamp=t,
        context=keys,
        match=match,
        focus=focus,
    )


def test_scores_are_the_model_s_prediction(catalog: Catalog) -> None:
    """After learning from random outcomes, every scored ad's probability equals the
    model's own prediction of the row built with an independent hash (1e-12)."""
    engine = _engine(catalog)
    state = engine.agent_state("relevance")
    agent = next(a for a in engine._plan if a.name == "relevance")
    rng = np.random.default_rng(0)
    snap = catalog.snapshot
    requests = sample_requests(20, seed=3)
    for j in range(400):  # outcomes of random ads in the requests' contexts
        ad = snap.ad_ids[int(rng.integers(snap.n_ads))]
        req = requests[j % len(requests)]
        scored = _scores(engine, req, DEMO_START)
        keys, f = tuple(int(k) for k in scored[2]), int(scored[4][0])
        t = DEMO_START + j
        agent.learn(_outcome("impression", f"i{j}", ad, t, keys, focus=f), state)
        if rng.random() < 0.3:
            agent.learn(_outcome("click", f"i{j}", ad, t, keys, focus=f), state)
            agent.learn(_outcome("complete", f"i{j}", ad, t, keys, focus=f), state)
    assert state.model.updates > 100
    checked = 0
    for req in requests:
        score, match, keys, _, focus = _scores(engine, req, DEMO_START)
        for i in np.flatnonzero(score > 0)[:20]:
            row = _row(
                int(snap.ad_key[i]), tuple(int(k) for k in keys), float(match[i]), int(focus[0])
            )
            offset = float(snap.ad_base_logit[i]) + state.scale * float(match[i])
            assert score[i] == pytest.approx(state.model.predict(row, offset), rel=1e-12)
            checked += 1
    assert checked > 100


def test_it_learns_that_an_ad_works_on_one_device_only(catalog: Catalog) -> None:
    """Outcomes in which one ad is acted on half the time on phones (device type 4) and
    never on desktops (2), whatever its prior: after 300 impressions on each, its
    probability is within 0.1 of 0.5 on phones and below 0.1 on desktops; an ad never
    shown moves only by what the shared embedding-match feature learned."""
    fast = FTRLProximal(bits=18, alpha=0.2, beta=1.0, l1=0.0, l2=0.1)
    engine = _engine(catalog, window=5.0, model=fast)
    state = engine.agent_state("relevance")
    agent = next(a for a in engine._plan if a.name == "relevance")
    for base in sample_requests(50, seed=4):  # one with ads eligible on both devices
        phone, desktop = _with_device(base, 4), _with_device(base, 2)
        before_phone = _scores(engine, phone, DEMO_START)
        before_desktop = _scores(engine, desktop, DEMO_START)
        eligible = np.flatnonzero((before_phone[0] > 0) & (before_desktop[0] > 0))
        if eligible.size >= 2:
            break
    ad, other = int(eligible[0]), int(eligible[1])
    ad_id = catalog.snapshot.ad_ids[ad]
    keys_phone = tuple(int(k) for k in before_phone[2])
    keys_desktop = tuple(int(k) for k in before_desktop[2])
    m = float(before_phone[1][ad])
    assert m == float(before_desktop[1][ad])
    f = int(before_phone[4][0])
    t = DEMO_START
    for j in range(300):
        t += 1.0
        agent.learn(_outcome("impression", f"p{j}", ad_id, t, keys_phone, m, f), state)
        if j % 2 == 0:
            agent.learn(_outcome("click", f"p{j}", ad_id, t, keys_phone, m, f), state)
            agent.learn(_outcome("complete", f"p{j}", ad_id, t, keys_phone, m, f), state)
        agent.learn(_outcome("impression", f"d{j}", ad_id, t, keys_desktop, m, f), state)
    agent.learn(_outcome("impression", "late", ad_id, t + 1000.0, keys_desktop, m, f), state)
    after_phone = _scores(engine, phone, t)[0]
    after_desktop = _scores(engine, desktop, t)[0]
    assert abs(after_phone[ad] - 0.5) < 0.1
    assert after_desktop[ad] < 0.1
    # Another ad moves only by the weight the shared match feature learned.
    w_match = state.model.weights(_row(0, (), 1.0, None))[1]
    m_other = float(before_phone[1][other])
    logit = lambda p: math.log(p / (1.0 - p))  # noqa: E731
    moved = logit(after_phone[other]) - logit(before_phone[0][other])
    assert moved == pytest.approx(w_match * m_other, rel=1e-9, abs=1e-12)


def test_labels_follow_the_rules(catalog: Catalog) -> None:
    engine = _engine(catalog, window=10.0)
    state = engine.agent_state("relevance")
    agent = next(a for a in engine._plan if a.name == "relevance")
    snap = catalog.snapshot
    keys = context_keys(4, 12, 99, 0)
    click_ad = next(a for i, a in enumerate(snap.ad_ids) if int(snap.ad_action[i]) == 0)
    complete_ad = next(a for i, a in enumerate(snap.ad_ids) if int(snap.ad_action[i]) == 1)
    learn = agent.learn
    learn(_outcome("impression", "a", click_ad, 0.0, keys), state)
    assert state.model.updates == 0 and list(state.pending) == ["a"]
    learn(_outcome("click", "a", click_ad, 1.0, keys), state)  # a positive, at once
    assert state.model.updates == 1 and not state.pending
    learn(_outcome("impression", "b", complete_ad, 2.0, keys), state)
    learn(_outcome("skip", "b", complete_ad, 3.0, keys), state)  # an explicit negative
    assert state.model.updates == 2 and not state.pending
    learn(_outcome("impression", "c", click_ad, 4.0, keys), state)
    learn(_outcome("skip", "c", click_ad, 5.0, keys), state)  # not a label of a click ad
    assert state.model.updates == 2 and list(state.pending) == ["c"]
    learn(_outcome("impression", "d", click_ad, 14.5, keys), state)  # c's window ended
    assert state.model.updates == 3 and list(state.pending) == ["d"]
    learn(_outcome("click", "gone", "no-such-ad", 15.0, keys), state)
    assert state.model.updates == 3


def test_waiting_impressions_are_bounded(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    import adcore.agents.relevance as relevance

    monkeypatch.setattr(relevance, "_MAX_PENDING", 5)
    engine = _engine(catalog, window=1e9)
    state = engine.agent_state("relevance")
    agent = next(a for a in engine._plan if a.name == "relevance")
    ad = catalog.snapshot.ad_ids[0]
    for j in range(8):
        agent.learn(_outcome("impression", f"i{j}", ad, float(j), context_keys(1, 1, 1, 1)), state)
    assert len(state.pending) == 5 and list(state.pending)[0] == "i3"
    assert state.model.updates == 3  # the three oldest, learned as negatives


def test_replaying_the_outcomes_rebuilds_the_model(catalog: Catalog) -> None:
    """A served run with real feedback: the Outcomes on the bus, replayed into a fresh
    agent, rebuild the same model bit for bit."""
    engine = _engine(catalog, window=30.0)
    recorded: list[Outcome] = []
    engine.bus.subscribe(Outcome, recorded.append)
    t = DEMO_START
    for n, request in enumerate(sample_requests(150, seed=7)):
        t += 2.0
        for slot in engine.decide(request, now=t).winners:
            iid = slot.impression_id
            assert iid is not None
            engine.feedback(Impression(impression_id=iid, timestamp=t + 0.5))
            if n % 4 == 0:
                engine.feedback(Click(impression_id=iid, timestamp=t + 9.0))
            elif n % 4 == 1:
                engine.feedback(Skip(impression_id=iid, timestamp=t + 1.0))
    state = engine.agent_state("relevance")
    assert state.model.updates > 50
    assert any(m.context and m.match != 0.0 for m in recorded)
    fresh = _engine(catalog, window=30.0)
    fresh_state = fresh.agent_state("relevance")
    agent = next(a for a in fresh._plan if a.name == "relevance")
    for message in recorded:
        agent.learn(message, fresh_state)
    assert fresh_state.model.state() == state.model.state()
    assert list(fresh_state.pending) == list(state.pending)


def test_a_trained_model_is_copied_and_kept_across_catalog_updates(catalog: Catalog) -> None:
    trained = FTRLProximal(bits=12, alpha=0.2)
    trained.learn((np.array([1], dtype=np.int64), np.array([1.0])), 1)
    engine = _engine(catalog, model=trained)
    state = engine.agent_state("relevance")
    assert state.model is not trained and state.model.state() == trained.state()
    engine.update_catalog(Catalog(catalog.campaigns, catalog.ads[1:]))
    assert engine.agent_state("relevance").model is state.model


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": "ftrl"}, "model"),
        ({"model": FTRLProximal(bits=7)}, "model"),
        ({"window": 0.0}, "window"),
        ({"window": math.inf}, "window"),
        ({"window": True}, "window"),
        ({"relevance_scale": math.nan}, "relevance_scale"),
        ({"drift": "ph"}, "drift"),
        ({"forget": 0.0}, "forget"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidConfig) as err:
        ContextualRelevanceAgent(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_repr_names_what_was_given() -> None:
    assert repr(ContextualRelevanceAgent()) == "ContextualRelevanceAgent()"
    agent = ContextualRelevanceAgent(relevance_scale=1.0, window=5.0)
    assert repr(agent) == "ContextualRelevanceAgent(relevance_scale=1.0, window=5.0)"


def test_a_detected_drift_makes_the_model_forget(catalog: Catalog) -> None:
    """An ad acted on one time in ten for 600 impressions, then nine times in ten: the
    log loss of the model's predictions rises, a Page-Hinkley test on it signals, the
    model forgets, and 200 impressions after the change it predicts a probability
    closer to the new rate than the same model without the test (which still remembers
    the old rate)."""
    from adcore.learn import PageHinkley

    results = {}
    for watched in (False, True):
        drift = PageHinkley(delta=0.05, threshold=20.0) if watched else None
        model = FTRLProximal(bits=12, alpha=0.1, l1=0.0, l2=0.1)
        engine = _engine(catalog, window=5.0, model=model, drift=drift)
        state = engine.agent_state("relevance")
        agent = next(a for a in engine._plan if a.name == "relevance")
        snap = catalog.snapshot
        ad = next(i for i in range(snap.n_ads) if int(snap.ad_action[i]) == 0)
        ad_id, keys = snap.ad_ids[ad], context_keys(4, 9, 7, 0)
        t = DEMO_START
        for j in range(800):
            t += 10.0  # each impression's window ends before the next one
            agent.learn(_outcome("impression", f"i{j}", ad_id, t, keys, 0.0), state)
            if (j % 10 == 0) if j < 600 else (j % 10 != 0):
                agent.learn(_outcome("click", f"i{j}", ad_id, t, keys, 0.0), state)
        agent.learn(_outcome("impression", "end", ad_id, t + 100.0, keys, 0.0), state)
        row = _row(int(snap.ad_key[ad]), keys, 0.0)
        offset = float(snap.ad_base_logit[ad])
        results[watched] = (state.model.predict(row, offset), state.drifts)
    assert results[False][1] == 0 and results[True][1] >= 1
    assert abs(results[True][0] - 0.9) < abs(results[False][0] - 0.9)
