"""A sample catalog and sample traffic, for the ``adcore demo`` command, examples and
tests. Everything is drawn from a seeded generator: the same seed gives the same
catalog and requests."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import numpy as np

from . import openrtb as rtb
from .catalog import (
    Ad,
    AdFormat,
    BidStrategy,
    Campaign,
    Catalog,
    Creative,
    FrequencyCap,
    Targeting,
)

__all__ = ["DEMO_START", "run_demo", "sample_catalog", "sample_requests", "subset_sum_catalog"]

DEMO_START = 1_780_000_000.0
"""A fixed start time (2026-05-28 20:26:40 UTC) for reproducible demos."""

COUNTRIES = ("USA", "GBR", "DEU", "FRA", "BRA", "SWE")
CATEGORIES = ("IAB1", "IAB2", "IAB3", "IAB9", "IAB12", "IAB17", "IAB19", "IAB20")
GENRES = ("rock", "pop", "jazz", "podcast", "news", "comedy", "hiphop", "classical")
SEGMENTS = tuple(f"seg-{i}" for i in range(12))
SIZES = ((300, 250), (728, 90), (320, 50))
DEAL = "DEAL-PREMIUM-1"
BOT_AGENT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HUMAN_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0",
    "Spotify/8.9.40 Android/34 (Pixel 8)",
)


def _unit(rng: np.random.Generator, d: int) -> tuple[float, ...]:
    v = rng.normal(size=d)
    v /= np.linalg.norm(v)
    return tuple(float(x) for x in v)


def sample_catalog(
    n_ads: int = 200, *, dimension: int = 32, seed: int = 0, n_campaigns: int | None = None
) -> Catalog:
    """A catalog of ``n_ads`` ads in ``n_campaigns`` campaigns (about one per ten ads; a
    campaign buys one format: audio, video or display), using every catalog feature:
    each bid strategy, targeting, frequency caps, segment targeting, exclusions, a
    small-budget priority campaign, a deal and 15 s / 30 s cuts."""
    rng = np.random.default_rng(seed)
    nc = n_campaigns or max(4, n_ads // 10)
    strategies = list(BidStrategy)
    campaigns = []
    for c in range(nc):
        strategy = strategies[(c // 3) % len(strategies)]
        # Target-CPC and -CPA campaigns pay for clicks on every format (rates around 1 %),
        # as do display ads; fixed-CPM and max-value audio and video buy completions
        # (rates around 50 %), so their amounts per action are smaller.
        pays_clicks = strategy in (BidStrategy.TARGET_CPC, BidStrategy.TARGET_CPA)
        scale = 1.0 if c % 3 == 2 or pays_clicks else 0.02
        amount = {
            BidStrategy.FIXED_CPM: float(rng.uniform(1.0, 6.0)),
            BidStrategy.TARGET_CPC: float(rng.uniform(0.3, 1.5)) * scale,
            BidStrategy.TARGET_CPA: float(rng.uniform(10.0, 50.0)) * scale,
            BidStrategy.MAX_VALUE: float(rng.uniform(0.3, 2.0)) * scale,
        }[strategy]
        targeting = Targeting(
            countries=tuple(str(x) for x in rng.choice(COUNTRIES, size=3, replace=False))
            if c % 3 == 1
            else (),
            device_types=(1, 4, 5) if c % 5 == 2 else (),
            hours=tuple(range(6, 23)) if c % 7 == 3 else (),
            segments=tuple(str(x) for x in rng.choice(SEGMENTS, size=3, replace=False))
            if c % 6 == 4
            else (),
        )
        campaigns.append(
            Campaign(
                id=f"c{c}",
                advertiser=f"advertiser-{c}",
                daily_budget=(2 if c == nc - 1 else int(rng.integers(20, 200))) * 1_000_000,
                total_budget=None if c % 4 else int(rng.integers(500, 2000)) * 1_000_000,
                strategy=strategy,
                bid=amount,
                max_bid=float(rng.uniform(4.0, 12.0)),
                conversion_rate=0.02,
                targeting=targeting,
                frequency_cap=FrequencyCap(impressions=3, window=3600.0) if c % 4 == 1 else None,
                excluded_categories=("IAB9",) if c % 8 == 5 else (),
                priority=1 if c == nc - 1 else 0,
                deals=(DEAL,) if c % 9 == 0 else (),
            )
        )
    clicks = [c.strategy in (BidStrategy.TARGET_CPC, BidStrategy.TARGET_CPA) for c in campaigns]
    ads = []
    for i in range(n_ads):
        c = i % nc
        fmt = (AdFormat.AUDIO, AdFormat.VIDEO, AdFormat.DISPLAY)[c % 3]
        emb = _unit(rng, dimension)
        cats = (str(rng.choice(CATEGORIES)) + f"-{int(rng.integers(1, 5))}",)
        if fmt is AdFormat.DISPLAY:
            ads.append(
                Ad(
                    id=f"ad{i}",
                    campaign=f"c{c}",
                    format=fmt,
                    embedding=emb,
                    adomain=(f"brand{c}.example",),
                    categories=cats,
                    mimes=("image/png", "image/jpeg"),
                    sizes=(SIZES[i % len(SIZES)],),
                    base_rate=float(rng.uniform(0.002, 0.02)),
                )
            )
        else:
            mime = "audio/mpeg" if fmt is AdFormat.AUDIO else "video/mp4"
            ads.append(
                Ad(
                    id=f"ad{i}",
                    campaign=f"c{c}",
                    format=fmt,
                    embedding=emb,
                    adomain=(f"brand{c}.example",),
                    categories=cats,
                    mimes=(mime,),
                    # half the video ads are VAST 4.0 only, the rest VAST 2.0 to 4.0
                    protocols=() if fmt is AdFormat.AUDIO else (7,) if i % 2 else (2, 3, 7),
                    duration=30.0,
                    variants=(
                        Creative(id=f"ad{i}-30s", duration=30.0),
                        Creative(id=f"ad{i}-15s", duration=15.0),
                    ),
                    # the prior of the action bought: a completion, or a click (a fiftieth)
                    base_rate=float(rng.uniform(0.2, 0.7)) / (50.0 if clicks[c] else 1.0),
                )
            )
    signals = {}
    for name in (
        [f"cat:{c}" for c in CATEGORIES]
        + [f"genre:{g}" for g in GENRES]
        + [f"seg:{s}" for s in SEGMENTS]
    ):
        signals[name] = _unit(rng, dimension)
    return Catalog(campaigns, ads, dimension=dimension, signals=signals)


def subset_sum_catalog(
    n_ads: int = 1_000, n_campaigns: int = 100, *, n_categories: int = 20, seed: int = 0
) -> Catalog:
    """The hardest catalog known for the pod search, for tests and benchmarks: audio
    ads whose fixed CPM bids are proportional to their durations (5 to 60 s, a few
    percent apart within a campaign), so filling a pod is a subset sum that no value
    bound cuts well and searches run out of any small node budget."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(5.0, 60.0, n_campaigns)
    campaigns = [
        Campaign(
            id=f"c{c}",
            advertiser=f"a{c}",
            daily_budget=10**12,
            strategy=BidStrategy.FIXED_CPM,
            bid=float(base[c] * 0.2),
            max_bid=1000.0,
        )
        for c in range(n_campaigns)
    ]
    ads = [
        Ad(
            id=f"ad{i}",
            campaign=f"c{i % n_campaigns}",
            format=AdFormat.AUDIO,
            embedding=(1.0, 0.0),
            adomain=(f"d{i % n_campaigns}.example",),
            categories=(f"IAB{1 + i % n_categories}",),
            mimes=("audio/mpeg",),
            duration=float(base[i % n_campaigns] * rng.uniform(0.97, 1.03)),
            base_rate=0.5,
        )
        for i in range(n_ads)
    ]
    return Catalog(campaigns, ads, dimension=2)


def sample_requests(
    n: int, *, seed: int = 0, bot_share: float = 0.03, gdpr_share: float = 0.2
) -> list[rtb.BidRequest]:
    """``n`` OpenRTB requests: podcast and music audio, video and banners, from several
    countries and devices, a share under GDPR, some US Privacy opt-outs, some bots."""
    rng = np.random.default_rng(seed)
    out = []
    for r in range(n):
        kind = int(rng.integers(0, 4))
        genre = str(rng.choice(GENRES))
        if kind in (0, 1):
            podcast = kind == 0
            imp = rtb.Imp(
                id="1",
                bidfloor=float(rng.uniform(0.1, 1.5)),
                audio=rtb.Audio(
                    mimes=("audio/mpeg",),
                    minduration=5,
                    maxduration=30 if rng.random() < 0.7 else 15,
                    feed=3 if podcast else 1,
                ),
            )
            if podcast:
                genre = "podcast"
        elif kind == 2:
            imp = rtb.Imp(
                id="1",
                bidfloor=float(rng.uniform(0.5, 3.0)),
                video=rtb.Video(
                    mimes=("video/mp4",),
                    minduration=5,
                    maxduration=30,
                    w=640,
                    h=360,
                    # one player in five takes VAST 2.0 and 3.0 (and wrappers) only
                    protocols=(2, 3, 5, 6) if r % 5 == 0 else (2, 3, 5, 6, 7, 8),
                ),
            )
        else:
            w, h = SIZES[int(rng.integers(0, len(SIZES)))]
            imp = rtb.Imp(
                id="1",
                bidfloor=float(rng.uniform(0.05, 1.0)),
                banner=rtb.Banner(w=w, h=h, mimes=("image/png",)),
            )
        if kind != 3 and rng.random() < 0.1:
            imp = rtb.Imp(
                id="1",
                bidfloor=imp.bidfloor,
                audio=imp.audio,
                video=imp.video,
                pmp=rtb.Pmp(private_auction=0, deals=(rtb.Deal(id=DEAL, bidfloor=2.0),)),
            )
        bot = rng.random() < bot_share
        gdpr = rng.random() < gdpr_share
        country = "DEU" if gdpr else str(rng.choice(COUNTRIES))
        segs = tuple(rtb.Segment(id=str(s)) for s in rng.choice(SEGMENTS, size=2, replace=False))
        category = str(rng.choice(CATEGORIES)) + f"-{int(rng.integers(1, 5))}"
        out.append(
            rtb.BidRequest(
                id=f"req-{seed}-{r}",
                imp=(imp,),
                app=rtb.App(
                    id="app-1",
                    bundle="com.example.player",
                    cat=(category,),
                    content=rtb.Content(
                        genre=genre, cat=(category,), context=3 if kind == 1 else None
                    ),
                ),
                device=rtb.Device(
                    ua=BOT_AGENT if bot else str(rng.choice(HUMAN_AGENTS)),
                    ip=f"203.0.{int(rng.integers(0, 256))}.{int(rng.integers(1, 255))}",
                    devicetype=rtb.DeviceType(int(rng.choice([1, 2, 4, 5, 7]))),
                    geo=rtb.Geo(country=country, utcoffset=int(rng.choice([-300, 0, 60, 120]))),
                ),
                user=rtb.User(
                    id=f"user-{int(rng.integers(0, max(1, n // 4)))}",
                    data=(rtb.Data(id="dp", segment=segs),),
                ),
                regs=rtb.Regs(
                    gdpr=1 if gdpr else 0,
                    us_privacy="1YYN" if (not gdpr and rng.random() < 0.1) else None,
                ),
                bcat=("IAB25", "IAB26") if rng.random() < 0.5 else (),
                at=2,
                tmax=200,
            )
        )
    return out


def run_demo(n_requests: int = 300, *, seed: int = 0, out: TextIO | None = None) -> int:
    """Decide ``n_requests`` sample requests with a sample catalog, report impressions
    for the winners, then print a summary table and one explained decision."""
    from .engine import Engine
    from .events import Click, Impression

    out = out or sys.stdout
    rng = np.random.default_rng(seed + 1)
    catalog = sample_catalog(seed=seed)
    engine = Engine(catalog)
    requests = sample_requests(n_requests, seed=seed)
    explained = None
    latencies = []
    for i, request in enumerate(requests):
        now = DEMO_START + 10.0 * i
        t0 = time.perf_counter_ns()
        decision = engine.decide(request, now=now, trace=(explained is None))
        latencies.append((time.perf_counter_ns() - t0) / 1000.0)
        for slot in decision.winners:
            assert slot.impression_id is not None
            if explained is None:
                explained = decision
            engine.feedback(Impression(impression_id=slot.impression_id, timestamp=now + 1))
            if rng.random() < 0.05:
                engine.feedback(Click(impression_id=slot.impression_id, timestamp=now + 5))
    stats = engine.stats()
    lat = np.array(latencies[1:] or latencies)
    rows = [
        ("requests decided", f"{stats.decisions}"),
        ("impressions filled", f"{stats.filled_impressions}"),
        ("fill rate", f"{stats.filled_impressions / max(1, stats.decisions):.1%}"),
        ("spend", f"{stats.spend_micros / 1e6:.4f} {catalog.currency}"),
        ("decision latency p50", f"{np.percentile(lat, 50):.1f} us"),
        ("decision latency p99", f"{np.percentile(lat, 99):.1f} us"),
        ("optional agents skipped", f"{sum(stats.skipped_agents.values())}"),
    ]
    print(
        "adcore demo: a sample catalog of "
        f"{len(catalog.ads)} ads in {len(catalog.campaigns)} campaigns",
        file=out,
    )
    print("", file=out)
    width = max(len(k) for k, _ in rows)
    print(f"{'metric':<{width}}  value", file=out)
    print(f"{'-' * width}  {'-' * 16}", file=out)
    for k, v in rows:
        print(f"{k:<{width}}  {v}", file=out)
    print("", file=out)
    top = sorted(engine.ledger.balances().values(), key=lambda b: -b.spent_today)[:5]
    print("top campaigns by spend today", file=out)
    for b in top:
        print(
            f"  {b.campaign_id:<6} spent {b.spent_today / 1e6:9.4f} of {b.daily_budget / 1e6:9.2f}",
            file=out,
        )
    print("", file=out)
    if explained is not None:
        print(engine.explain(explained), file=out)
    return 0
