"""What the simulated world is made of: its genres, audience segments, device and ad
vocabulary, and its advertisers (campaigns, ads and what their ads are truly about),
drawn for :class:`adcore.sim.Market`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..catalog import Ad, AdFormat, BidStrategy, Campaign, Catalog, Creative, FrequencyCap
from .scenario import Scenario

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


SESSION_PODCAST, SESSION_MUSIC, SESSION_BACKGROUND = 0, 1, 2
SLOT_AUDIO, SLOT_VIDEO, SLOT_DISPLAY = 0, 1, 2


def unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """``v`` scaled to unit length along its last axis (zero rows stay zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / np.where(n > 0, n, 1.0))


class Advertisers(NamedTuple):
    """A scenario's advertisers as drawn: each one's centre of interest (unit vectors,
    one row per advertiser), its value of a click, a completion and a conversion, the
    catalog of their campaigns and ads, each ad's true embedding (``truth``, rows in
    catalog order) and its slot kind (``format_codes``, ``SLOT_*``)."""

    centres: NDArray[np.float64]
    value_click: NDArray[np.float64]
    value_complete: NDArray[np.float64]
    value_conversion: NDArray[np.float64]
    catalog: Catalog
    truth: NDArray[np.float64]
    format_codes: NDArray[np.int64]


def draw_advertisers(
    rng: np.random.Generator,
    scenario: Scenario,
    genre_vectors: NDArray[np.float64],
    segment_vectors: NDArray[np.float64],
) -> Advertisers:
    """The scenario's advertisers, drawn from ``rng`` around the world's genres (the
    catalog's signals are the genre and segment vectors)."""
    sc = scenario
    a_n = sc.advertisers
    centres = unit(
        genre_vectors[rng.integers(0, len(genre_vectors), a_n)] + 0.7 * rng.normal(size=(a_n, DIM))
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
    value_click = np.zeros(a_n)
    value_complete = np.zeros(a_n)
    value_conversion = np.zeros(a_n)
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
        value_click[a], value_complete[a], value_conversion[a] = (
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
        for k, fmt in enumerate((AdFormat.AUDIO, AdFormat.AUDIO, AdFormat.VIDEO, AdFormat.DISPLAY)):
            e = unit(centres[a] + 0.5 * rng.normal(size=DIM))
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
        signals[f"genre:{g}"] = tuple(float(x) for x in genre_vectors[i])
    for i, s in enumerate(SEGMENTS):
        signals[f"seg:{s}"] = tuple(float(x) for x in segment_vectors[i])
    return Advertisers(
        centres=centres,
        value_click=value_click,
        value_complete=value_complete,
        value_conversion=value_conversion,
        catalog=Catalog(campaigns, ads, dimension=DIM, signals=signals),
        truth=np.array(truth),
        format_codes=np.array(fmt_codes),
    )
