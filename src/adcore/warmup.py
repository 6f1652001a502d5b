"""Compiling every kernel before the first live request.

Numba compiles a kernel for each new combination of argument types on its first call,
which takes far longer than a decision. :func:`warm` runs the agents' whole plan, their
fallbacks and their learning on a small synthetic catalog and synthetic requests that
use every feature, against throwaway state, so every kernel signature the engine will
use is compiled (or loaded from Numba's on-disk cache) before serving.

The synthetic data is built here, deterministically, and kept small. The catalog has
every format (display in several sizes, audio, video with its protocols and 15 s / 30 s
cuts), every bid strategy and pacing mode, each kind of targeting, flights, frequency
caps, exclusions, a priority campaign and a deal. The requests are podcasts and music,
video for newer and older players, banners, deals (private auctions too), several
impressions at once, first and second price, soft floors, block lists, bots, GDPR and
US Privacy signals, apps and sites. Ad pods and position auctions (GSP, VCG) are not
among them: they run inside kernels compiled here, and a custom plan may sell single
slots only (a test decides pods and position auctions after the warm-up and checks
that nothing more compiles). Nothing comes from the sample data of :mod:`adcore.demo`,
so production start-up does not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np

from . import openrtb as rtb
from ._program import BoundSegment, Segment, parts
from .agents import Agent, Services
from .bus import Bus
from .catalog import (
    Ad,
    AdFormat,
    BidStrategy,
    Campaign,
    Catalog,
    Creative,
    FrequencyCap,
    Pacing,
    Targeting,
)
from .config import EngineConfig
from .context import new_context
from .events import Outcome
from .features import fill_features
from .ivt import ClickValidator
from .ledger import InProcessLedger
from .openrtb import nesting_depth

__all__ = ["warm"]

_START = 1_780_000_000.0  # a fixed time (2026-05-28 20:26:40 UTC): reproducible
_CATEGORIES = ("IAB1", "IAB2", "IAB3", "IAB9", "IAB12", "IAB17")
_GENRES = ("rock", "podcast", "news", "jazz")
_SEGMENTS = tuple(f"seg-{i}" for i in range(6))
_COUNTRIES = ("USA", "GBR", "DEU", "FRA")
_SIZES = ((300, 250), (728, 90), (320, 50))
_DEAL = "DEAL-WARMUP"
_FORMATS = (AdFormat.AUDIO, AdFormat.VIDEO, AdFormat.DISPLAY)
_MIMES = {
    AdFormat.AUDIO: ("audio/mpeg",),
    AdFormat.VIDEO: ("video/mp4",),
    AdFormat.DISPLAY: ("image/png", "image/jpeg"),
}
_N_CAMPAIGNS = 12  # every (format, bid strategy) pair: 12 = 3 x 4, and index mod 3, mod 4
_ADS_PER_CAMPAIGN = 3
_BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
_HUMAN = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile"


def _unit(rng: np.random.Generator, d: int) -> tuple[float, ...]:
    v = rng.normal(size=d)
    v /= np.linalg.norm(v)
    return tuple(float(x) for x in v)


def _campaign(c: int) -> Campaign:
    strategies = tuple(BidStrategy)
    pacings = tuple(Pacing)
    return Campaign(
        id=f"w{c}",
        advertiser=f"advertiser-{c}",
        daily_budget=(2 if c == _N_CAMPAIGNS - 1 else 50 + 10 * c) * 1_000_000,
        total_budget=1_000 * 1_000_000 if c % 4 == 0 else None,
        start=_START - 3600.0 if c % 5 == 1 else None,
        end=_START + 3600.0 if c % 5 == 1 else None,
        strategy=strategies[c % len(strategies)],
        bid=1.0 + 0.25 * c,
        max_bid=8.0,
        conversion_rate=0.02,
        targeting=Targeting(
            countries=_COUNTRIES[:3] if c % 3 == 1 else (),
            device_types=(1, 4, 5) if c % 5 == 2 else (),
            hours=tuple(range(6, 23)) if c % 7 == 3 else (),
            content_categories=(_CATEGORIES[0],) if c % 11 == 6 else (),
            segments=_SEGMENTS[:3] if c % 6 == 4 else (),
        ),
        frequency_cap=FrequencyCap(impressions=3, window=3600.0) if c % 4 == 1 else None,
        excluded_categories=("IAB9",) if c % 8 == 5 else (),
        priority=1 if c == _N_CAMPAIGNS - 1 else 0,
        deals=(_DEAL,) if c % 9 == 0 else (),
        pacing=pacings[c % len(pacings)],
    )


def _ad(i: int, c: int, rng: np.random.Generator, dimension: int) -> Ad:
    fmt = _FORMATS[c % 3]
    display = fmt is AdFormat.DISPLAY
    cuts = (
        ()
        if display
        else (
            Creative(id=f"w{c}-ad{i}-30s", duration=30.0),
            Creative(id=f"w{c}-ad{i}-15s", duration=15.0),
        )
    )
    # half the video ads take VAST 4.0 only, the others VAST 2.0 to 4.0
    protocols = ((7,) if i % 2 else (2, 3, 7)) if fmt is AdFormat.VIDEO else ()
    return Ad(
        id=f"w{c}-ad{i}",
        campaign=f"w{c}",
        format=fmt,
        embedding=_unit(rng, dimension),
        adomain=(f"brand{c}.example",),
        categories=(f"{_CATEGORIES[(c + i) % len(_CATEGORIES)]}-{1 + i % 4}",),
        mimes=_MIMES[fmt],
        sizes=(_SIZES[i % len(_SIZES)],) if display else (),
        protocols=protocols,
        duration=0.0 if display else 30.0,
        variants=cuts,
        base_rate=0.01 if display else 0.4,
    )


def _catalog(dimension: int) -> Catalog:
    """A dozen campaigns of three ads each (see the module docstring)."""
    rng = np.random.default_rng(7)
    campaigns = [_campaign(c) for c in range(_N_CAMPAIGNS)]
    ads = [_ad(i, c, rng, dimension) for c in range(_N_CAMPAIGNS) for i in range(_ADS_PER_CAMPAIGN)]
    names = (
        [f"cat:{c}" for c in _CATEGORIES]
        + [f"genre:{g}" for g in _GENRES]
        + [f"seg:{s}" for s in _SEGMENTS]
    )
    signals = {name: _unit(rng, dimension) for name in names}
    return Catalog(campaigns, ads, dimension=dimension, signals=signals)


def _imps() -> dict[str, rtb.Imp]:
    """One impression of each kind: audio, video, banners, deals, a soft floor."""
    podcast = rtb.Audio(mimes=("audio/mpeg",), minduration=5, maxduration=30, feed=3)
    music = rtb.Audio(mimes=("audio/mpeg",), minduration=5, maxduration=15, feed=1)
    video = rtb.Video(
        mimes=("video/mp4",),
        minduration=5,
        maxduration=30,
        w=640,
        h=360,
        protocols=(2, 3, 5, 6, 7, 8),
    )
    deal = (rtb.Deal(id=_DEAL, bidfloor=2.0),)
    replace = msgspec.structs.replace
    banners = {
        f"banner-{w}x{h}": rtb.Imp(
            id="1", bidfloor=0.1, banner=rtb.Banner(w=w, h=h, mimes=("image/png",))
        )
        for w, h in _SIZES
    }
    return {
        "podcast": rtb.Imp(id="1", bidfloor=0.5, audio=podcast),
        "music": rtb.Imp(id="1", bidfloor=0.2, audio=music),
        "video": rtb.Imp(id="1", bidfloor=1.0, video=video),
        "video-vast3": rtb.Imp(id="1", bidfloor=1.0, video=replace(video, protocols=(2, 3, 5, 6))),
        **banners,
        "audio-deal": rtb.Imp(id="1", bidfloor=0.5, audio=podcast, pmp=rtb.Pmp(deals=deal)),
        "video-private": rtb.Imp(
            id="1", bidfloor=1.0, video=video, pmp=rtb.Pmp(private_auction=1, deals=deal)
        ),
        "soft-floor": rtb.Imp(
            id="1", bidfloor=0.3, audio=music, ext={"adcore": {"soft_floor": 2.0}}
        ),
    }


def _requests(max_imps: int) -> list[rtb.BidRequest]:
    """Requests of every kind, each impression alone and several together (at most
    ``max_imps``), from listeners of each privacy and traffic kind."""
    imps = _imps()
    # (user agent, country, GDPR, US Privacy, device type, UTC offset, advertising id)
    who = (
        (_HUMAN, "USA", 0, None, rtb.DeviceType(4), -300, None),
        (_BOT, "GBR", 0, None, rtb.DeviceType(2), 0, None),
        (_HUMAN, "DEU", 1, None, rtb.DeviceType(1), 120, None),
        (_HUMAN, "USA", 0, "1YYN", rtb.DeviceType(5), -300, "ifa-1"),
        (_HUMAN, "FRA", 0, None, rtb.DeviceType(7), 60, None),
    )
    out = []
    for r, imp in enumerate(imps.values()):
        ua, country, gdpr, usp, devtype, offset, ifa = who[r % len(who)]
        genre = _GENRES[r % len(_GENRES)]
        category = f"{_CATEGORIES[r % len(_CATEGORIES)]}-{1 + r % 4}"
        content = rtb.Content(genre=genre, cat=(category,), context=3 if r % 2 else None)
        app = site = None
        if r % 4:
            app = rtb.App(id="app-1", bundle="com.example.player", cat=(category,), content=content)
        else:
            site = rtb.Site(id="site-1", domain="news.example", cat=(category,), content=content)
        out.append(
            rtb.BidRequest(
                id=f"warm-{r}",
                imp=(imp,),
                app=app,
                site=site,
                device=rtb.Device(
                    ua=ua,
                    ip=f"203.0.113.{1 + r}",
                    ifa=ifa,
                    devicetype=devtype,
                    geo=rtb.Geo(country=country, utcoffset=offset),
                ),
                user=rtb.User(
                    id=f"user-{r % 3}",
                    data=(rtb.Data(id="dp", segment=(rtb.Segment(id=_SEGMENTS[r % 6]),)),),
                ),
                regs=rtb.Regs(gdpr=gdpr, us_privacy=usp),
                bcat=("IAB25", "IAB26") if r % 2 else (),
                badv=("brand5.example",) if r % 3 == 2 else (),
                at=1 if r % 5 == 4 else 2,
                tmax=200,
            )
        )
    # Several impressions in one request, at first price.
    together = ("podcast", "video", "banner-300x250", "audio-deal")
    many = tuple(
        msgspec.structs.replace(imps[name], id=str(k + 1)) for k, name in enumerate(together)
    )
    out.append(msgspec.structs.replace(out[0], id="warm-many", imp=many[:max_imps], at=1))
    return out


def warm(
    plan: Sequence[Agent],
    catalog: Catalog,
    config: EngineConfig,
    program: tuple[Segment | Agent, ...] | None = None,
) -> None:
    """Run ``plan`` on synthetic data shaped like ``catalog`` (see module docstring):
    each agent on its own, then the plan's parts (``program``, from
    :func:`adcore._program.parts` when omitted) as the engine runs them, each compiled
    segment whole and one step per call."""
    scratch = _catalog(catalog.dimension)
    snap = scratch.snapshot
    ledger = InProcessLedger()
    ledger.bind(snap)
    services = Services(config, ledger, Bus())
    states = {a.name: a.bind(snap, None, services) for a in plan}
    # Binding again with a previous state exercises the carry-over kernels.
    states = {a.name: a.bind(snap, states[a.name], services) for a in plan}
    ctx = new_context(snap, config)
    ctx.explore = 0.1
    bound = tuple(
        p.bind(states) if isinstance(p, Segment) else (p, states[p.name])
        for p in (program if program is not None else parts(plan))
    )
    for request in _requests(config.max_imps):
        fill_features(ctx, request, _START, config.exchange_rates)
        for agent in plan:
            agent.run(ctx, states[agent.name])
            if agent.optional:
                agent.fallback(ctx, states[agent.name])
        for agent in plan:
            if agent.observes(states[agent.name]):
                agent.after(ctx, states[agent.name])
        for stepwise in (False, True):
            fill_features(ctx, request, _START, config.exchange_rates)
            for part in bound:
                if not isinstance(part, BoundSegment):
                    part[0].run(ctx, part[1])
                elif not stepwise:
                    part.run(ctx)
                else:
                    part.prepare(ctx)
                    for i in range(len(part.states)):
                        part.call(ctx, i, i + 1)
    # The request edge: the nesting scanners run before a raw request is decoded.
    for fmt in ("json", "msgpack"):
        nesting_depth(b"\x91\x90[[]]", fmt, limit=config.max_request_depth)
    # Feedback-side checks the engine runs outside agents: click validation.
    clicks = ClickValidator(slots=64)
    clicks.record_impression(1, _START)
    clicks.check_click(1, _START, _START + 5.0)
    ad = scratch.ads[0]
    capped = next(c for c in scratch.campaigns if c.frequency_cap is not None)
    for kind in ("impression", "complete", "click", "skip"):
        for ad_id, cid in ((ad.id, ad.campaign), (ad.id, capped.id)):
            message = Outcome(
                kind=kind,
                impression_id="warmup",
                ad_id=ad_id,
                campaign_id=cid,
                creative_id=ad.id,
                timestamp=_START,
                user_key=12345,
                price_micros=1500,
                first_price=True,
                context=(1, 2, 3, 4),
                match=0.5,
                focus=1,
                creative_rule=0,
            )
            for agent in plan:
                if Outcome in agent.learns_from:
                    agent.learn(message, states[agent.name])
