"""The simulated marketplace: listeners, advertisers, a day of bid requests, and how
people respond to the ads they hear or see.

Everything is drawn from one seed through independent streams (world, traffic,
outcomes), so the same seed gives the same day bit for bit, and two arms compared on
one seed see the same listeners, the same requests, the same outside competition and
the same random draws for every response (common random numbers).
"""

from __future__ import annotations

import base64
import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .. import openrtb as rtb
from ..catalog import Ad, AdFormat, BidStrategy, Campaign, Catalog, Creative, FrequencyCap
from .scenario import Scenario

__all__ = ["SIM_VENDOR_ID", "Behaviour", "Market", "SlotOutcome"]

SIM_VENDOR_ID = 1000
"""The simulator's GVL vendor id: the id its TC strings consent to, and the engine's
``EngineConfig.vendor_id`` in simulated runs."""

DIM = 16
MUSIC_GENRES = ("rock", "pop", "jazz", "hiphop", "classical", "electronic")
TALK_GENRES = ("news", "comedy", "true crime", "sports talk", "business", "science")
SEGMENTS = tuple(f"seg-{i}" for i in range(24))
EU = ("DEU", "FRA", "SWE", "ESP", "ITA", "NLD")
NON_EU = ("USA", "GBR", "BRA", "CAN", "AUS")
HUMAN_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile",
    "Spotify/8.9.40 Android/34 (Pixel 8)",
    "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X)",
)
BOT_AGENTS = ("python-requests/2.31.0", "Mozilla/5.0 (compatible; AdsBot/1.0; +bot)")
SIZES = ((300, 250), (728, 90), (320, 50))
# Bots run on rented cloud servers: addresses in an Amazon EC2 block (3.80.0.0/12, on
# adcore's built-in data-center list), which the fraud agent can recognise.
BOT_IPS = tuple(f"3.80.14.{k}" for k in (11, 12, 13, 14))

# TCF v2.2 purposes: 1 store/access information on a device, 2 use limited data to select
# advertising, 3 create profiles for personalised advertising, 4 use profiles to select
# personalised advertising, 7 measure advertising performance.
CONSENTED_PURPOSES = (1, 2, 3, 4, 7)
# A listener who refused: storage only, no vendor consent; basic (contextual) ads and
# measurement stay possible on legitimate interest, as most CMPs record a refusal.
REFUSED_PURPOSES = (1,)
REFUSED_LI_PURPOSES = (2, 7)

SESSION_PODCAST, SESSION_MUSIC, SESSION_BACKGROUND = 0, 1, 2
SLOT_AUDIO, SLOT_VIDEO, SLOT_DISPLAY = 0, 1, 2


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / np.where(n > 0, n, 1.0))


@dataclass(frozen=True)
class SlotOutcome:
    """What a listener did with one shown ad."""

    click: bool
    complete: bool
    skip: bool
    conversion: bool
    value: float


class Behaviour:
    """How listeners respond, from true relevance, ad length versus attention, fatigue.

    - relevance ``r`` is the cosine of the listener's true interest and the ad's true
      embedding (unusual listeners' true interests differ from their signals);
    - audio and video: ``P(complete) = sigmoid(0.8 + 2 r - length_penalty - 0.35 f)``,
      where the penalty of a 30 s cut is high for a focused podcast listener (1.5), mild
      for foreground music (0.3) or video (0.6) and nil in the background, and ``f`` is
      how many times the listener already heard the campaign today; a skip is the
      opposite of a completion;
    - ``P(click) = sigmoid(-4.6 + 2.5 r - 0.3 f)`` for display, a tenth of that for audio;
    - a click converts with probability ``0.05 (1 + r)``;
    - bots never complete and click in bursts (30 %).
    Values: the campaign's value per click, per completion (a 15 s completion is worth
    60 % of a 30 s one) and per conversion.
    """

    @staticmethod
    def respond(
        market: Market,
        slot: int,
        ad: int,
        duration: float,
        fatigue: int,
        value_click: float,
        value_complete: float,
        value_conversion: float,
    ) -> SlotOutcome:
        """The outcome of showing catalog ad ``ad`` (index in ``market.ad_truth``) in
        ``slot``, using the slot's pre-drawn uniforms."""
        req = market.slot_request[slot]
        u_click, u_complete, u_conv = market.uniforms[slot]
        if market.bot[req]:
            click = u_click < 0.3
            return SlotOutcome(click=click, complete=False, skip=False, conversion=False, value=0.0)
        r = market.affinity(int(market.listener[req]), ad)
        fmt = market.ad_format_code[ad]
        session = market.session[req]
        click_logit = -4.6 + 2.5 * r - 0.3 * fatigue
        if fmt == SLOT_DISPLAY:
            p_click = _sigmoid(click_logit)
            click = u_click < p_click
            complete = skip = False
        else:
            long = duration > 20.0
            if fmt == SLOT_VIDEO:
                penalty = 0.6 if long else 0.2
            elif session == SESSION_PODCAST:
                penalty = 1.5 if long else 0.2
            elif session == SESSION_MUSIC:
                penalty = 0.3 if long else 0.1
            else:
                penalty = 0.0
            p_complete = _sigmoid(0.8 + 2.0 * r - penalty - 0.35 * fatigue)
            complete = u_complete < p_complete
            skip = not complete
            click = u_click < 0.1 * _sigmoid(click_logit)
        conversion = click and u_conv < 0.05 * (1.0 + r)
        value = 0.0
        if click:
            value += value_click
        if complete:
            value += value_complete * (1.0 if duration > 20.0 else 0.6)
        if conversion:
            value += value_conversion
        return SlotOutcome(
            click=click, complete=complete, skip=skip, conversion=conversion, value=value
        )


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class _BitWriter:
    """Big-endian bit writer: fields appended left to right, as the TC string lays them."""

    __slots__ = ("n", "size")

    def __init__(self) -> None:
        self.n = 0
        self.size = 0

    def write(self, value: int, width: int) -> None:
        if width < 0 or not 0 <= value < (1 << width):
            raise ValueError(f"{value} does not fit in {width} bits")
        self.n = (self.n << width) | value
        self.size += width

    def ids(self, ids: frozenset[int], width: int) -> None:
        """A bit field of ``width`` bits whose first (leftmost) bit is id 1."""
        if any(not 1 <= i <= width for i in ids):
            raise ValueError(f"ids {sorted(ids)} are not all in 1..{width}")
        for i in range(1, width + 1):
            self.write(int(i in ids), 1)

    def letters(self, code: str) -> None:
        """Two letters A..Z, 6 bits each (A = 0)."""
        for c in code.upper():
            self.write(ord(c) - 65, 6)

    def base64url(self) -> str:
        """The bits padded with zeros to whole bytes, base64url without ``=`` padding."""
        pad = -self.size % 8
        raw = (self.n << pad).to_bytes((self.size + pad) // 8, "big")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted ids as maximal runs ``(start, end)`` of consecutive ids."""
    runs: list[tuple[int, int]] = []
    for v in sorted(set(ids)):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


def _write_vendors(w: _BitWriter, vendors: frozenset[int], ranges: bool | None) -> None:
    """A vendor section: MaxVendorId (16 bits), IsRangeEncoding (1 bit), then either a
    bit field of MaxVendorId bits or NumEntries (12 bits) of IsARange (1 bit),
    StartOrOnlyVendorId (16 bits) and, for a range, EndVendorId (16 bits). ``ranges``
    None picks the shorter encoding, as CMPs do."""
    max_id = max(vendors, default=0)
    runs = _runs(vendors)
    range_bits = 12 + sum(17 + (16 if a != b else 0) for a, b in runs)
    use_ranges = range_bits < max_id if ranges is None else ranges
    w.write(max_id, 16)
    w.write(int(use_ranges), 1)
    if not use_ranges:
        w.ids(vendors, max_id)
        return
    w.write(len(runs), 12)
    for a, b in runs:
        w.write(int(a != b), 1)
        w.write(a, 16)
        if a != b:
            w.write(b, 16)


def _tc_string(
    purposes: Iterable[int],
    vendors: Iterable[int],
    *,
    li_purposes: Iterable[int] = (),
    li_vendors: Iterable[int] = (),
    special_features: Iterable[int] = (),
    created: int = 17_800_128_000,
    cmp_id: int = 2,
    vendor_list_version: int = 100,
    ranges: bool | None = None,
) -> str:
    """The core segment of a TCF v2.2 TC string (no other segment, no publisher
    restriction).

    Fields, in order and width (bits), as the IAB TCF v2.2 "Consent string and vendor
    list formats" specification lays out the core segment: Version 6 (= 2), Created 36
    and LastUpdated 36 (epoch deciseconds, both ``created``), CmpId 12, CmpVersion 12
    (1), ConsentScreen 6 (1), ConsentLanguage 12 ("EN"), VendorListVersion 12,
    TcfPolicyVersion 6 (4, the policy of TCF v2.2), IsServiceSpecific 1 (1),
    UseNonStandardTexts 1 (0), SpecialFeatureOptIns 12, PurposesConsent 24,
    PurposesLITransparency 24, PurposeOneTreatment 1 (0), PublisherCC 12 ("AA",
    unknown), the vendor consent section, the vendor legitimate-interest section
    (see :func:`_write_vendors`; ``ranges`` forces an encoding) and NumPubRestrictions
    12 (0). Bit fields put id 1 in their first bit. The bits are padded with zeros to
    whole bytes and base64url-encoded without padding characters.

    References
    ----------
    IAB Tech Lab, "Transparency and Consent String with Global Vendor List Format",
    TCF v2.2, https://github.com/InteractiveAdvertisingBureau/GDPR-Transparency-and-Consent-Framework
    """
    w = _BitWriter()
    w.write(2, 6)
    w.write(created, 36)
    w.write(created, 36)
    w.write(cmp_id, 12)
    w.write(1, 12)
    w.write(1, 6)
    w.letters("EN")
    w.write(vendor_list_version, 12)
    w.write(4, 6)
    w.write(1, 1)
    w.write(0, 1)
    w.ids(frozenset(special_features), 12)
    w.ids(frozenset(purposes), 24)
    w.ids(frozenset(li_purposes), 24)
    w.write(0, 1)
    w.letters("AA")
    _write_vendors(w, frozenset(vendors), ranges)
    _write_vendors(w, frozenset(li_vendors), ranges)
    w.write(0, 12)
    return w.base64url()


@functools.lru_cache(maxsize=16)
def _consent_strings(created: int) -> tuple[str, str]:
    """The TC strings of a listener who consented and of one who refused."""
    consented = _tc_string(CONSENTED_PURPOSES, (SIM_VENDOR_ID,), created=created)
    refused = _tc_string(
        REFUSED_PURPOSES,
        (),
        li_purposes=REFUSED_LI_PURPOSES,
        li_vendors=(SIM_VENDOR_ID,),
        created=created,
    )
    return consented, refused


class Market:
    """One seeded day of the scenario: the catalog, the listeners and every request.

    Requests are built lazily by :meth:`request` (OpenRTB Structs); per-slot draws
    (outside competition, response uniforms) are arrays indexed by slot.
    """

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario.validate()
        self.seed = seed
        world, traffic, outcomes = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
        )
        self._build_world(world)
        self._build_traffic(traffic)
        self.uniforms = outcomes.random((self.n_slots, 3))
        # Every EU listener sends one of two TC strings, recorded at the day's start.
        self.tc_consented, self.tc_refused = _consent_strings(int(self.scenario.start) * 10)

    # ------------------------------------------------------------------ world
    def _build_world(self, rng: np.random.Generator) -> None:
        sc = self.scenario
        genres = MUSIC_GENRES + TALK_GENRES
        self.genre_vectors = _unit(rng.normal(size=(len(genres), DIM)))
        self.segment_vectors = _unit(rng.normal(size=(len(SEGMENTS), DIM)))
        n = sc.listeners
        self.listener_music = rng.integers(0, len(MUSIC_GENRES), n)
        self.listener_talk = rng.integers(0, len(TALK_GENRES), n)
        self.listener_segments = np.stack(
            [rng.choice(len(SEGMENTS), 3, replace=False) for _ in range(n)]
        )
        signal = (
            self.genre_vectors[self.listener_music]
            + self.genre_vectors[len(MUSIC_GENRES) + self.listener_talk]
            + self.segment_vectors[self.listener_segments].sum(axis=1)
        )
        interest = _unit(signal + 0.6 * rng.normal(size=(n, DIM)))
        self.unusual = rng.random(n) < sc.unusual_share
        interest[self.unusual] = _unit(rng.normal(size=(int(self.unusual.sum()), DIM)))
        self.interest = interest
        modes = np.array(
            [sc.podcast_share, sc.music_share, max(0.0, 1.0 - sc.podcast_share - sc.music_share)]
        )
        self.listener_mode = rng.dirichlet(modes * 20 + 0.1, size=n)
        self.listener_eu = rng.random(n) < sc.eu_share
        self.listener_consent = rng.random(n) < sc.eu_consent
        self.listener_optout = rng.random(n) < sc.us_optout
        self.listener_country = np.where(
            self.listener_eu, rng.integers(0, len(EU), n), rng.integers(0, len(NON_EU), n)
        )
        self.listener_device = rng.choice(np.array([1, 4, 5, 7]), n, p=[0.15, 0.6, 0.1, 0.15])
        self.listener_agent = rng.integers(0, len(HUMAN_AGENTS), n)
        self.popularity = 1.0 / np.arange(1, n + 1) ** 0.6
        self.popularity /= self.popularity.sum()
        self._build_advertisers(rng)

    def _build_advertisers(self, rng: np.random.Generator) -> None:
        sc = self.scenario
        a_n = sc.advertisers
        centres = _unit(
            self.genre_vectors[rng.integers(0, len(self.genre_vectors), a_n)]
            + 0.7 * rng.normal(size=(a_n, DIM))
        )
        # Money: what an impression is worth to these advertisers, and what the day's
        # traffic could absorb, set the budgets.
        per_imp = sc.market_price / 1000.0
        day_slots = sc.requests * (1.0 + 0.5 * sc.podcast_share * sc.pod_share)
        budget_each = sc.budget_scale * day_slots * per_imp * 1.6 / a_n
        campaigns: list[Campaign] = []
        ads: list[Ad] = []
        truth: list[NDArray[np.float64]] = []
        fmt_codes: list[int] = []
        self.value_click = np.zeros(a_n)
        self.value_complete = np.zeros(a_n)
        self.value_conversion = np.zeros(a_n)
        strategies = (
            BidStrategy.MAX_VALUE,
            BidStrategy.TARGET_CPC,
            BidStrategy.FIXED_CPM,
            BidStrategy.TARGET_CPA,
        )
        for a in range(a_n):
            vc = float(rng.uniform(0.3, 1.2))
            vcomp = float(rng.uniform(0.002, 0.006))
            vconv = float(rng.uniform(5.0, 20.0))
            self.value_click[a], self.value_complete[a], self.value_conversion[a] = (
                vc,
                vcomp,
                vconv,
            )
            strategy = strategies[a % len(strategies)]
            # Each strategy pays for its own action, below what the action is worth to
            # the advertiser: max-value campaigns value a completion (the primary
            # action of their audio and video ads), target-CPC campaigns pay for a click,
            # target-CPA ones for a conversion (5 % of clicks, as the market converts).
            amount = {
                BidStrategy.MAX_VALUE: vcomp,
                BidStrategy.TARGET_CPC: vc * 0.9,
                BidStrategy.FIXED_CPM: float(rng.uniform(0.8, 2.2)),
                BidStrategy.TARGET_CPA: vconv * 0.8,
            }[strategy]
            budget = budget_each * float(rng.uniform(0.6, 1.4))
            cap_share = float(rng.uniform(2.0, 5.0))
            pays_clicks = strategy in (BidStrategy.TARGET_CPC, BidStrategy.TARGET_CPA)
            cold = sc.cold_start and a == a_n - 1
            # Priors of the action each ad is bought for: clicks (about 1.2 % on display,
            # a tenth of that on audio and video) or completions (about 60 %).
            display_prior = 0.01 if cold else 0.012
            av_prior = display_prior / 10.0 if pays_clicks else (0.5 if cold else 0.6)
            # The bid cap in proportion to what the campaign bids at its prior on its
            # most valuable format (1.7 to 4.7 times it; fixed CPM: 2 to 5 CPM), so bids
            # follow relevance below the cap rather than saturating at it.
            if strategy is BidStrategy.FIXED_CPM:
                max_bid = cap_share
            else:
                per_action = amount * (0.05 if strategy is BidStrategy.TARGET_CPA else 1.0)
                typical = 1000.0 * per_action * max(display_prior, av_prior)
                max_bid = typical * (cap_share - 0.3)
            if sc.aggressive and a == 0:
                strategy, amount, max_bid = BidStrategy.FIXED_CPM, 6.0, 8.0
                budget = budget_each * 1.2
            campaigns.append(
                Campaign(
                    id=f"adv{a}",
                    advertiser=f"advertiser {a}",
                    daily_budget=max(1, int(budget * 1_000_000)),
                    strategy=strategy,
                    bid=amount,
                    max_bid=max_bid,
                    conversion_rate=0.05,
                    frequency_cap=FrequencyCap(impressions=6, window=86400.0) if a % 2 else None,
                )
            )
            for k, fmt in enumerate(
                (AdFormat.AUDIO, AdFormat.AUDIO, AdFormat.VIDEO, AdFormat.DISPLAY)
            ):
                e = _unit(centres[a] + 0.5 * rng.normal(size=DIM))
                ad_id = f"adv{a}-{k}"
                # A campaign with history has priors near its ads' real average rates; a
                # new one starts from an uninformative prior.
                if fmt is AdFormat.DISPLAY:
                    base = display_prior
                    ads.append(
                        Ad(
                            id=ad_id,
                            campaign=f"adv{a}",
                            format=fmt,
                            embedding=tuple(float(x) for x in e),
                            adomain=(f"advertiser{a}.example",),
                            categories=("IAB3",),
                            mimes=("image/png",),
                            sizes=(SIZES[a % len(SIZES)],),
                            base_rate=base,
                        )
                    )
                else:
                    mime = "audio/mpeg" if fmt is AdFormat.AUDIO else "video/mp4"
                    ads.append(
                        Ad(
                            id=ad_id,
                            campaign=f"adv{a}",
                            format=fmt,
                            embedding=tuple(float(x) for x in e),
                            adomain=(f"advertiser{a}.example",),
                            categories=("IAB3",),
                            mimes=(mime,),
                            duration=30.0,
                            variants=(
                                Creative(id=f"{ad_id}-30s", duration=30.0),
                                Creative(id=f"{ad_id}-15s", duration=15.0),
                            ),
                            base_rate=av_prior,
                        )
                    )
                truth.append(e)
                fmt_codes.append(
                    {
                        AdFormat.AUDIO: SLOT_AUDIO,
                        AdFormat.VIDEO: SLOT_VIDEO,
                        AdFormat.DISPLAY: SLOT_DISPLAY,
                    }[fmt]
                )
        signals: dict[str, tuple[float, ...]] = {}
        for i, g in enumerate(MUSIC_GENRES + TALK_GENRES):
            signals[f"genre:{g}"] = tuple(float(x) for x in self.genre_vectors[i])
        for i, s in enumerate(SEGMENTS):
            signals[f"seg:{s}"] = tuple(float(x) for x in self.segment_vectors[i])
        self.catalog = Catalog(campaigns, ads, dimension=DIM, signals=signals)
        self.ad_truth = np.array(truth)
        self.ad_format_code = np.array(fmt_codes)
        self.ad_row = {ad.id: i for i, ad in enumerate(ads)}
        self.campaign_row = {c.id: i for i, c in enumerate(campaigns)}

    # ------------------------------------------------------------------ traffic
    def _build_traffic(self, rng: np.random.Generator) -> None:
        sc = self.scenario
        weights = np.array(sc.diurnal, dtype=np.float64)
        if sc.spike_end > sc.spike_start:
            for h in range(24):
                overlap = max(0.0, min(h + 1, sc.spike_end) - max(h, sc.spike_start))
                weights[h] *= 1.0 + (sc.spike_traffic - 1.0) * overlap
        n = sc.requests
        hours = rng.choice(24, size=n, p=weights / weights.sum())
        times = np.sort(sc.start + (hours + rng.random(n)) * 3600.0)
        self.time = times
        self.listener = rng.choice(sc.listeners, size=n, p=self.popularity)
        hour_of = (times - sc.start) / 3600.0
        attack = (hour_of >= sc.bot_attack_start) & (hour_of < sc.bot_attack_end)
        self.bot = attack & (rng.random(n) < sc.bot_share)
        self.bot_agent = rng.random(n) < 0.6  # the rest look human but come from few IPs
        modes = self.listener_mode[self.listener]
        u = rng.random(n)
        self.session = np.where(
            u < modes[:, 0],
            SESSION_PODCAST,
            np.where(u < modes[:, 0] + modes[:, 1], SESSION_MUSIC, SESSION_BACKGROUND),
        )
        v = rng.random(n)
        self.slot_kind = np.where(
            v < sc.display_share,
            SLOT_DISPLAY,
            np.where(v < sc.display_share + sc.video_share, SLOT_VIDEO, SLOT_AUDIO),
        )
        pod = (
            (self.session == SESSION_PODCAST)
            & (self.slot_kind == SLOT_AUDIO)
            & (rng.random(n) < sc.pod_share)
        )
        self.slots_per_request = np.where(pod, rng.integers(2, 4, n), 1)
        self.first_slot = np.concatenate([[0], np.cumsum(self.slots_per_request)[:-1]])
        self.n_slots = int(self.slots_per_request.sum())
        self.slot_request = np.repeat(np.arange(n), self.slots_per_request)
        kind_factor = np.array([1.0, 1.6, 0.5])[self.slot_kind[self.slot_request]]
        self.market_price = kind_factor * np.exp(
            math.log(sc.market_price) + sc.market_spread * rng.normal(size=self.n_slots)
        )
        if sc.spike_end > sc.spike_start:
            slot_hour = hour_of[self.slot_request]
            during = (slot_hour >= sc.spike_start) & (slot_hour < sc.spike_end)
            self.market_price[during] *= sc.spike_demand
        self.floor = np.round(
            kind_factor * sc.market_price * rng.uniform(0.2, 0.6, n)[self.slot_request], 3
        )
        self.display_size = rng.integers(0, len(SIZES), n)
        self.ip_octets = rng.integers(0, 256, (n, 2))
        self.music_genre = rng.integers(0, len(MUSIC_GENRES), n)

    @property
    def n_requests(self) -> int:
        return len(self.time)

    # ------------------------------------------------------------------ ground truth
    def affinity(self, listener: int, ad: int) -> float:
        """The true affinity of ``listener`` for catalog ad ``ad`` (its index in
        :attr:`ad_truth`): the cosine of the listener's true interest and the ad's true
        embedding (both unit vectors), in [-1, 1]. It is the relevance ``r`` that drives
        a human listener's click and completion probabilities (:class:`Behaviour`); the
        engine never sees it. Which requests come from bots is :attr:`bot` (one flag per
        request); a bot's response does not depend on affinity."""
        return float(self.interest[listener] @ self.ad_truth[ad])

    # ------------------------------------------------------------------ requests
    def request(self, i: int) -> rtb.BidRequest:
        """The ``i``-th bid request of the day, as the exchange would send it."""
        listener = int(self.listener[i])
        session = int(self.session[i])
        kind = int(self.slot_kind[i])
        n_slots = int(self.slots_per_request[i])
        floor = float(self.floor[self.first_slot[i]])
        imps: list[rtb.Imp] = []
        for k in range(n_slots):
            if kind == SLOT_DISPLAY:
                w, h = SIZES[int(self.display_size[i])]
                imps.append(
                    rtb.Imp(
                        id=str(k + 1),
                        bidfloor=floor,
                        banner=rtb.Banner(w=w, h=h, mimes=("image/png",)),
                    )
                )
            elif kind == SLOT_VIDEO:
                imps.append(
                    rtb.Imp(
                        id=str(k + 1),
                        bidfloor=floor,
                        video=rtb.Video(
                            mimes=("video/mp4",), minduration=5, maxduration=30, w=640, h=360
                        ),
                    )
                )
            else:
                imps.append(
                    rtb.Imp(
                        id=str(k + 1),
                        bidfloor=floor,
                        audio=rtb.Audio(
                            mimes=("audio/mpeg",),
                            minduration=5,
                            maxduration=30,
                            feed=3 if session == SESSION_PODCAST else 1,
                            podid="pod" if n_slots > 1 else None,
                            slotinpod=1
                            if k == 0
                            else (-1 if k == n_slots - 1 else 0)
                            if n_slots > 1
                            else 0,
                        ),
                    )
                )
        if session == SESSION_PODCAST:
            genre = TALK_GENRES[int(self.listener_talk[listener])]
            context = None
        else:
            genre = MUSIC_GENRES[
                int(self.music_genre[i])
                if session == SESSION_BACKGROUND
                else int(self.listener_music[listener])
            ]
            context = 3
        bot = bool(self.bot[i])
        if bot and self.bot_agent[i]:
            ua = BOT_AGENTS[i % len(BOT_AGENTS)]
        else:
            ua = HUMAN_AGENTS[int(self.listener_agent[listener])]
        if bot:
            # A handful of cloud servers send all the bot traffic.
            ip = BOT_IPS[i % len(BOT_IPS)]
            user_id = f"bot-{i % 8}"
        else:
            a, b = self.ip_octets[i]
            ip = f"203.{a}.{b}.{listener % 250 + 1}"
            user_id = f"listener-{listener}"
        eu = bool(self.listener_eu[listener])
        country = (
            EU[int(self.listener_country[listener])]
            if eu
            else NON_EU[int(self.listener_country[listener])]
        )
        regs = rtb.Regs(
            gdpr=1 if eu else 0,
            us_privacy="1YYN" if (not eu and self.listener_optout[listener]) else None,
        )
        segments = tuple(rtb.Segment(id=SEGMENTS[int(s)]) for s in self.listener_segments[listener])
        return rtb.BidRequest(
            id=f"{self.seed}-{i}",
            imp=tuple(imps),
            app=rtb.App(
                id="player",
                bundle="com.example.player",
                content=rtb.Content(genre=genre, context=context),
            ),
            device=rtb.Device(
                ua=ua,
                ip=ip,
                devicetype=rtb.DeviceType(int(self.listener_device[listener])),
                geo=rtb.Geo(country=country, utcoffset=0),
            ),
            user=rtb.User(
                id=user_id,
                consent=(
                    (self.tc_consented if self.listener_consent[listener] else self.tc_refused)
                    if eu
                    else None
                ),
                data=(rtb.Data(id="dmp", segment=segments),),
            ),
            regs=regs,
            tmax=200,
        )
