"""The simulator's trust scenarios: real TCF v2.2 consent strings in the market, no
personal data used without consent on ``eu-consent``, little money on bots on
``bot-attack``."""

from __future__ import annotations

import base64
import math

import msgspec
import numba
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from adcore import Engine, EngineConfig
from adcore.agents import default_agents
from adcore.agents.privacy import request_activities
from adcore.consent import activities, decode_tcf
from adcore.sim import METRICS, SCENARIOS, Market, run_arm, simulate
from adcore.sim._tcstring import tc_string
from adcore.sim.market import SIM_VENDOR_ID

JIT_DISABLED = bool(numba.config.DISABLE_JIT)


def _max_examples(n: int) -> int:
    return max(10, n // 10) if JIT_DISABLED else n


def _bits(s: str) -> str:
    """A base64url string as its bit string, 6 bits a character (no decoder involved)."""
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    return "".join(format(b, "08b") for b in raw)


def _field(bits: str, start: int, width: int) -> int:
    return int(bits[start : start + width], 2)


def _ids(bits: str, start: int, width: int) -> set[int]:
    return {i + 1 for i, c in enumerate(bits[start : start + width]) if c == "1"}


def _market(name: str, requests: int, seed: int = 0) -> Market:
    return Market(msgspec.structs.replace(SCENARIOS[name], requests=requests), seed)


def _gdpr(market: Market, i: int) -> bool:
    return bool(market.listener_eu[int(market.listener[i])])


# --------------------------------------------------------------------------- the strings


def test_market_strings_follow_the_spec_layout() -> None:
    """Read the core segment by the bit offsets of the TCF v2.2 specification (Version at
    0, PolicyVersion at 132, SpecialFeatureOptIns at 140, PurposesConsent at 152,
    PurposesLITransparency at 176, MaxVendorId of the consent section at 213), not
    through adcore's decoder."""
    market = _market("eu-consent", 200)
    for s in (market.tc_consented, market.tc_refused):
        assert s.startswith("C")  # version 2 with a post-2020 timestamp
        assert "=" not in s and "." not in s
    yes, no = _bits(market.tc_consented), _bits(market.tc_refused)
    for b in (yes, no):
        assert _field(b, 0, 6) == 2
        assert _field(b, 6, 36) == _field(b, 42, 36) == int(market.scenario.start) * 10
        assert _field(b, 132, 6) == 4  # TCF v2.2 policy
        assert _ids(b, 140, 12) == set()
    assert _ids(yes, 152, 24) == {1, 2, 3, 4, 7}
    assert _ids(yes, 176, 24) == set()
    assert _ids(no, 152, 24) == {1}
    assert _ids(no, 176, 24) == {2, 7}
    # The consenting listener's vendor section: MaxVendorId, then range encoding (one
    # entry, a single id), shorter than a 1000-bit field.
    assert _field(yes, 213, 16) == SIM_VENDOR_ID
    assert _field(yes, 229, 1) == 1
    assert _field(yes, 230, 12) == 1
    assert _field(yes, 242, 1) == 0 and _field(yes, 243, 16) == SIM_VENDOR_ID
    # The refusing listener's consent section is empty (MaxVendorId 0, bit field).
    assert _field(no, 213, 16) == 0 and _field(no, 229, 1) == 0


def test_decoder_reads_the_market_strings() -> None:
    market = _market("eu-consent", 200)
    yes, no = decode_tcf(market.tc_consented), decode_tcf(market.tc_refused)
    assert yes.version == no.version == 2 and yes.policy_version == 4
    assert yes.purpose_consents == {1, 2, 3, 4, 7}
    assert yes.vendor_consents.ids() == {SIM_VENDOR_ID}
    assert yes.publisher_restrictions == ()
    assert no.purpose_consents == {1}
    assert no.purpose_legitimate_interests == {2, 7}
    assert len(no.vendor_consents) == 0
    assert no.vendor_legitimate_interests.ids() == {SIM_VENDOR_ID}

    def allowed(tc: str, vendor_id: int) -> tuple[bool, bool]:
        a = activities(
            gdpr=1,
            tc_string=tc,
            us_privacy=None,
            gpp=None,
            coppa=None,
            lmt=None,
            dnt=None,
            vendor_id=vendor_id,
        )
        return a.serve, a.personalise

    # Consent: served and personalised. Refusal: a contextual ad only (purpose 2 on
    # legitimate interest). Another vendor gets nothing personal from either string.
    assert allowed(market.tc_consented, SIM_VENDOR_ID) == (True, True)
    assert allowed(market.tc_refused, SIM_VENDOR_ID) == (True, False)
    assert allowed(market.tc_consented, SIM_VENDOR_ID + 1)[1] is False


def test_requests_carry_the_listeners_choice() -> None:
    market = _market("eu-consent", 600)
    seen = set()
    for i in range(market.n_requests):
        request = market.request(i)
        listener = int(market.listener[i])
        assert request.user is not None and request.regs is not None
        if market.listener_eu[listener]:
            assert request.regs.gdpr == 1
            want = market.tc_consented if market.listener_consent[listener] else market.tc_refused
            assert request.user.consent == want
            seen.add(bool(market.listener_consent[listener]))
        else:
            assert request.regs.gdpr == 0 and request.user.consent is None
    assert seen == {True, False}


_PURPOSES = st.frozensets(st.integers(1, 24), max_size=24)
_VENDORS = st.frozensets(st.integers(1, 3000), max_size=12)


@settings(max_examples=_max_examples(2000))
@given(
    purposes=_PURPOSES,
    li_purposes=_PURPOSES,
    specials=st.frozensets(st.integers(1, 12), max_size=12),
    vendors=_VENDORS,
    li_vendors=_VENDORS,
    ranges=st.sampled_from([None, True, False]),
    created=st.integers(0, 2**36 - 1),
)
def test_tc_string_round_trips_through_the_decoder(
    purposes: frozenset[int],
    li_purposes: frozenset[int],
    specials: frozenset[int],
    vendors: frozenset[int],
    li_vendors: frozenset[int],
    ranges: bool | None,
    created: int,
) -> None:
    s = tc_string(
        purposes,
        vendors,
        li_purposes=li_purposes,
        li_vendors=li_vendors,
        special_features=specials,
        created=created,
        ranges=ranges,
    )
    tc = decode_tcf(s)
    assert tc.created == tc.last_updated == created
    assert tc.purpose_consents == purposes
    assert tc.purpose_legitimate_interests == li_purposes
    assert tc.special_feature_opt_ins == specials
    assert tc.vendor_consents.ids() == vendors
    assert tc.vendor_legitimate_interests.ids() == li_vendors
    assert tc.vendor_consents.max_vendor_id == max(vendors, default=0)
    assert (tc.consent_language, tc.publisher_cc) == ("EN", "AA")
    assert tc.publisher_restrictions == ()
    # Spec layout: the consent section's MaxVendorId at bit 213, its encoding at 229.
    bits = _bits(s)
    assert _field(bits, 213, 16) == max(vendors, default=0)
    if ranges is not None:
        assert _field(bits, 229, 1) == int(ranges)


# --------------------------------------------------------------------------- eu-consent


def test_eu_consent_personalises_only_with_consent() -> None:
    """No violation on either arm, and exactly the GDPR requests of consenting listeners
    are personalised. Consent is drawn per listener, independently of traffic, with
    probability ``p = eu_consent``; the request-weighted consent share over the GDPR
    listeners seen, with ``w_j`` their request counts, has variance
    ``p (1 - p) sum(w^2) / sum(w)^2``; four standard deviations bound a fixed seed's
    deviation (a normal tail of 6e-5)."""
    results = simulate(
        "eu-consent", arms=("agents", "monolith", "naive"), requests=3000, seeds=[0], progress=False
    )
    market = Market(results.scenario, 0)
    gdpr = np.array([_gdpr(market, i) for i in range(market.n_requests)])
    consent = market.listener_consent[market.listener]
    truth = float(consent[gdpr].mean())
    for arm in ("agents", "monolith", "naive"):
        m = results.run(arm, 0).metrics
        assert m["consent_violations"] == 0, arm
        assert m["gdpr_personalised_share"] == truth, arm
    _, w = np.unique(market.listener[gdpr], return_counts=True)
    p = results.scenario.eu_consent
    bound = 4.0 * math.sqrt(p * (1 - p) * float((w**2).sum())) / float(w.sum())
    assert 0 < truth and abs(truth - p) <= bound, (truth, bound)
    # Both metrics are in the summary table and the report's order.
    assert {"consent_violations", "gdpr_personalised_share"} <= set(METRICS)
    text = results.format()
    assert "consent violations" in text and "spend on bots" in text
    keys = {row["metric"] for row in results.table()}
    assert {"consent_violations", "gdpr_personalised_share", "bot_spend", "bot_spend_share"} <= keys


def test_engine_decisions_follow_consent() -> None:
    """The privacy agent's trace, on the engine with the simulator's vendor id, says
    personalised exactly for consenting GDPR listeners; without a vendor id nobody under
    GDPR is personalised."""
    market = _market("eu-consent", 400)
    for vendor_id in (SIM_VENDOR_ID, None):
        config = EngineConfig(latency_budget_us=math.inf, vendor_id=vendor_id)
        engine = Engine(market.catalog, config, agents=default_agents())
        personalised = consented = 0
        for i in range(market.n_requests):
            if not _gdpr(market, i):
                continue
            request = market.request(i)
            decision = engine.decide(request, now=float(market.time[i]), trace=True)
            assert decision.trace is not None
            notes = next(a.notes for a in decision.trace.agents if a.agent == "privacy")
            ok = bool(market.listener_consent[int(market.listener[i])])
            expected = ok and vendor_id is not None
            assert notes["personalise"] == int(expected), i
            assert request_activities(request, vendor_id).personalise == expected
            personalised += int(notes["personalise"])
            consented += ok
        assert consented > 0
        assert personalised == (consented if vendor_id is not None else 0)


def test_consent_violations_are_counted() -> None:
    """A market whose refusing listeners send the consenting string: every GDPR request
    of a listener who did not consent is a violation, and the metric counts them all."""
    market = _market("eu-consent", 1500)
    market.tc_refused = market.tc_consented
    expected = sum(
        1
        for i in range(market.n_requests)
        if _gdpr(market, i) and not market.listener_consent[int(market.listener[i])]
    )
    assert expected > 0
    assert run_arm(market, "agents").metrics["consent_violations"] == expected


# --------------------------------------------------------------------------- bot-attack


def test_bot_attack_spends_almost_nothing_on_bots() -> None:
    """Bots are a third of the requests from 10:00 to 16:00 UTC (about a tenth of the
    day's). The naive arm has no fraud filter, so it spends on them roughly in
    proportion (over 3 %); the agents' arm and the monolith veto bot user agents and
    data-center addresses, and spend under 1 % on bots."""
    market = _market("bot-attack", 4000)
    assert market.bot.mean() > 0.05
    ours = run_arm(market, "agents").metrics["bot_spend_share"]
    mono = run_arm(market, "monolith").metrics["bot_spend_share"]
    base = run_arm(market, "baseline").metrics["bot_spend_share"]
    assert ours < 0.01
    assert mono < 0.01
    assert base > 0.03
    assert ours < base
