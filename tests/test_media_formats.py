"""Each media object of an impression keeps its own limits, through the public engine API.

An impression may offer a banner, a video and an audio object at once. Durations, MIME
types, protocols and sizes apply per format, to ads of that format only; an ad whose format has no
object in the impression never fills it; a pod impression (the audio object's pod when it
has a ``poddur``, else the video object's) is filled by ads of the pod's format only.

The properties draw catalogs of display, video and audio ads (each with its own cuts,
MIME types, protocols and sizes, any MIME type on any format) and impressions with random
combinations of media objects, decide them on the fast path and on the traced per-agent
path, and check every filled slot against an oracle written from the rules above. The
kernel against its plain-Python reference is in test_kernels.py.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adcore import (
    Ad,
    AdFormat,
    Campaign,
    Catalog,
    Creative,
    Decision,
    Engine,
    EngineConfig,
    InvalidCatalog,
    Pacing,
    Reason,
)
from adcore import openrtb as rtb
from adcore.context import MAX_SIZES

T0 = 1_780_000_000.0
E = (0.1, 0.2)
EXACT = EngineConfig(latency_budget_us=math.inf, warmup=False)
MIMES = ("audio/mpeg", "audio/ogg", "video/mp4", "video/webm", "image/png")
ASKED_MIMES = (*MIMES, "text/unknown")  # a type no creative has
PROTOCOLS = (2, 3, 7, 9)  # VAST 2.0, VAST 3.0, VAST 4.0, DAAST 1.0
ASKED_PROTOCOLS = (*PROTOCOLS, 500)  # an exchange-specific value no creative can declare
SIZES = ((300, 250), (728, 90), (320, 50))
CUTS = (0.0, 5.0, 15.0, 30.0, 60.0)
FORMATS = ("display", "video", "audio")
OBJECT = {"display": "banner", "video": "video", "audio": "audio"}

Media = rtb.Banner | rtb.Video | rtb.Audio


def _campaign(i: int, bid: float) -> Campaign:
    return Campaign(
        id=f"c{i}",
        advertiser=f"A{i}",
        daily_budget=10**12,
        bid=bid,
        max_bid=100.0,
        pacing=Pacing.ASAP,
    )


def _engine(catalog: Catalog) -> Engine:
    return Engine(catalog, config=EXACT)


# --------------------------------------------------------------------------- the oracle


def variants_of(ad: Ad) -> dict[str, Creative]:
    """The ad's cuts by id, as the catalog reads them (no cut: the ad itself; a cut
    without MIME types or protocols: the ad's)."""
    cuts = ad.variants or (
        Creative(id=ad.id, duration=ad.duration, mimes=ad.mimes, protocols=ad.protocols),
    )
    return {
        v.id: Creative(
            id=v.id,
            duration=v.duration,
            mimes=v.mimes or ad.mimes,
            protocols=v.protocols or ad.protocols,
        )
        for v in cuts
    }


def media_of(imp: rtb.Imp, fmt: str) -> Media | None:
    """The impression's media object for ads of format ``fmt``."""
    obj: Media | None = getattr(imp, OBJECT[fmt])
    return obj


def pod_of(imp: rtb.Imp) -> tuple[str, rtb.Video | rtb.Audio] | None:
    """The format and media object of the impression's pod: audio's, else video's."""
    if imp.audio is not None and imp.audio.poddur:
        return "audio", imp.audio
    if imp.video is not None and imp.video.poddur:
        return "video", imp.video
    return None


def banner_sizes(banner: rtb.Banner) -> set[tuple[int, int]]:
    sizes = set()
    if banner.w is not None and banner.h is not None:
        sizes.add((banner.w, banner.h))
    sizes.update((f.w, f.h) for f in banner.format if f.w is not None and f.h is not None)
    return sizes


def cut_fits(ad: Ad, cut: Creative, imp: rtb.Imp) -> bool:
    """Whether ``cut`` of ``ad`` meets the limits of the ad's own format's media object
    (and the impression sells that format: a pod sells its own format only)."""
    fmt = str(ad.format)
    obj = media_of(imp, fmt)
    if obj is None:
        return False
    pod = pod_of(imp)
    if pod is not None and pod[0] != fmt:
        return False
    if obj.mimes and not set(cut.mimes) & set(obj.mimes):
        return False
    if isinstance(obj, rtb.Banner):
        listed = banner_sizes(obj)
        return not listed or bool(listed & set(ad.sizes))
    # protocols: either side listing none accepts
    if obj.protocols and cut.protocols and not set(cut.protocols) & set(obj.protocols):
        return False
    top = obj.maxduration if obj.maxduration else math.inf
    return obj.minduration <= cut.duration <= top


def check_decision(catalog: Catalog, request: rtb.BidRequest, decision: Decision) -> None:
    """Every filled slot's ad and cut meet the limits of their own format's media object;
    pod slots hold ads of the pod's format only, within the pod's duration and length."""
    ads = {a.id: a for a in catalog.ads}
    imps = {imp.id: imp for imp in request.imp}
    per_imp: dict[str, list[float]] = {}
    for s in decision.slots:
        if not s.filled:
            continue
        assert s.ad_id is not None and s.creative_id is not None
        ad, imp = ads[s.ad_id], imps[s.imp_id]
        cut = variants_of(ad)[s.creative_id]
        assert media_of(imp, str(ad.format)) is not None, (s, imp)  # format offered
        assert cut_fits(ad, cut, imp), (s, cut, imp)
        pod = pod_of(imp)
        if pod is None:
            assert s.slot_in_pod == 0, s
        else:
            assert s.slot_in_pod >= 1 and str(ad.format) == pod[0], (s, imp)
            per_imp.setdefault(imp.id, []).append(cut.duration)
    for imp_id, durations in per_imp.items():
        pod = pod_of(imps[imp_id])
        assert pod is not None
        poddur = pod[1].poddur
        assert poddur is not None and sum(durations) <= poddur
        if pod[1].maxseq:
            assert len(durations) <= pod[1].maxseq


def slots_of(decision: Decision) -> list[tuple[Any, ...]]:
    return [(s.imp_id, s.ad_id, s.creative_id, s.slot_in_pod, s.price) for s in decision.slots]


# --------------------------------------------------------------------------- strategies


def mime_lists(pool: tuple[str, ...] = MIMES) -> st.SearchStrategy[tuple[str, ...]]:
    return st.sets(st.sampled_from(pool), max_size=2).map(lambda s: tuple(sorted(s)))


def protocol_lists(pool: tuple[int, ...] = PROTOCOLS) -> st.SearchStrategy[tuple[int, ...]]:
    return st.sets(st.sampled_from(pool), max_size=2).map(lambda s: tuple(sorted(s)))


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    """One campaign per ad (a pod may hold them all), each ad of a random format with
    random cuts, MIME types (any type on any format) and sizes."""
    campaigns, ads = [], []
    for i in range(draw(st.integers(1, 8))):
        campaigns.append(_campaign(i, draw(st.sampled_from([1.0, 2.0, 3.0, 5.0]))))
        cuts = tuple(
            Creative(
                id=f"a{i}-{j}",
                duration=draw(st.sampled_from(CUTS)),
                mimes=draw(mime_lists()),
                protocols=draw(protocol_lists()),
            )
            for j in range(draw(st.integers(0, 3)))
        )
        ads.append(
            Ad(
                id=f"a{i}",
                campaign=f"c{i}",
                format=AdFormat(draw(st.sampled_from(FORMATS))),
                embedding=E,
                duration=draw(st.sampled_from(CUTS)),
                mimes=draw(mime_lists()),
                protocols=draw(protocol_lists()),
                sizes=tuple(draw(st.lists(st.sampled_from(SIZES), max_size=2, unique=True))),
                variants=cuts,
            )
        )
    return Catalog(campaigns, ads)


@st.composite
def media_limits(draw: st.DrawFn) -> dict[str, Any]:
    return dict(
        mimes=draw(mime_lists(ASKED_MIMES)),
        protocols=draw(protocol_lists(ASKED_PROTOCOLS)),
        minduration=draw(st.sampled_from([0, 0, 5, 15, 30])),
        maxduration=draw(st.sampled_from([None, 0, 5, 15, 30, 60])),
        poddur=draw(st.sampled_from([None, None, 0, 15, 30, 60, 120])),
        maxseq=draw(st.sampled_from([None, 1, 2, 3])),
    )


@st.composite
def impressions(draw: st.DrawFn, imp_id: str) -> rtb.Imp:
    """An impression with a random non-empty set of media objects, each with its own
    limits."""
    kinds = draw(st.sets(st.sampled_from(FORMATS), min_size=1))
    banner = video = audio = None
    if "display" in kinds:
        wh = draw(st.one_of(st.none(), st.sampled_from(SIZES)))
        listed = draw(st.lists(st.sampled_from(SIZES), max_size=2))
        banner = rtb.Banner(
            w=wh[0] if wh else None,
            h=wh[1] if wh else None,
            format=tuple(rtb.Format(w=w, h=h) for w, h in listed),
            mimes=draw(mime_lists(ASKED_MIMES)),
        )
    if "video" in kinds:
        video = rtb.Video(**draw(media_limits()))
    if "audio" in kinds:
        # feed 3 (podcast) or 1 (music) turns on the creative agent's cut choice
        audio = rtb.Audio(**draw(media_limits()), feed=draw(st.sampled_from([None, 1, 3])))
    return rtb.Imp(id=imp_id, banner=banner, video=video, audio=audio)


@st.composite
def requests(draw: st.DrawFn) -> rtb.BidRequest:
    """One or two impressions; spoken-word content (high focus: the shortest fitting cut)
    or none, so the creative agent's cut choice is exercised on every format."""
    n = draw(st.integers(1, 2))
    genre = draw(st.sampled_from([None, "podcast"]))
    site = rtb.Site(content=rtb.Content(genre=genre)) if genre else None
    return rtb.BidRequest(
        id="r",
        imp=tuple(draw(impressions(str(k))) for k in range(n)),
        site=site,
        at=draw(st.sampled_from([1, 2])),
    )


FORMAT_CASES = settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- properties


@FORMAT_CASES
@given(catalogs(), requests())
def test_every_filled_slot_meets_its_own_formats_limits(
    catalog: Catalog, request: rtb.BidRequest
) -> None:
    """On the fast path and on the traced per-agent path alike: each filled slot's ad has
    a format the impression offers and meets that format's media object's limits (and
    not another's); pods hold ads of the pod's format only; both paths decide alike."""
    fast = _engine(catalog).decide(request, now=T0)
    traced = _engine(catalog).decide(request, now=T0, trace=True)
    check_decision(catalog, request, fast)
    check_decision(catalog, request, traced)
    assert slots_of(fast) == slots_of(traced)


@FORMAT_CASES
@given(catalogs(), impressions("1"))
def test_an_impression_fills_when_some_ad_fits_its_own_format(
    catalog: Catalog, imp: rtb.Imp
) -> None:
    """The limits are not stricter than the rules: a single impression sold alone is
    filled exactly when some ad has a cut meeting the limits of its format's object (all
    campaigns bid, without targeting, floor or pacing)."""
    request = rtb.BidRequest(id="r", imp=(imp,))
    decision = _engine(catalog).decide(request, now=T0)
    check_decision(catalog, request, decision)
    fits = any(cut_fits(ad, cut, imp) for ad in catalog.ads for cut in variants_of(ad).values())
    if pod_of(imp) is None:
        assert decision.slots[0].filled == fits
    elif not fits:
        assert not decision.slots[0].filled


@FORMAT_CASES
@given(catalogs(), requests())
def test_eligible_ads_are_exactly_those_meeting_their_own_formats_limits(
    catalog: Catalog, request: rtb.BidRequest
) -> None:
    """Per impression, the ads the trace counts as eligible are exactly those with a cut
    meeting the limits of their own format's media object: no ad of a format the
    impression lacks (or outside its pod's format), and no ad held to another format's
    limits (the campaigns have no targeting, so only inventory fit can veto)."""
    decision = _engine(catalog).decide(request, now=T0, trace=True)
    assert decision.trace is not None
    want = [
        sum(any(cut_fits(ad, cut, imp) for cut in variants_of(ad).values()) for ad in catalog.ads)
        for imp in request.imp
    ]
    assert list(decision.trace.eligible) == want


# --------------------------------------------------------------------------- regressions


@pytest.mark.parametrize("trace", [False, True])
def test_audio_durations_do_not_apply_to_video_ads(trace: bool) -> None:
    """Audio allows 60 s, video 5 s: a 30 s video ad does not fit; with video allowing
    30 s and audio 5 s it does."""
    spot = Ad(id="v30", campaign="c0", format=AdFormat.VIDEO, duration=30.0, embedding=E)
    engine = _engine(Catalog([_campaign(0, 2.0)], [spot]))
    strict = rtb.Imp(id="1", video=rtb.Video(maxduration=5), audio=rtb.Audio(maxduration=60))
    decision = engine.decide(rtb.BidRequest(id="r1", imp=(strict,)), now=T0, trace=trace)
    assert not decision.slots[0].filled
    loose = rtb.Imp(id="1", video=rtb.Video(maxduration=30), audio=rtb.Audio(maxduration=5))
    decision = engine.decide(rtb.BidRequest(id="r2", imp=(loose,)), now=T0, trace=trace)
    assert decision.slots[0].ad_id == "v30"
    # minduration too: audio's 0 does not lift video's 45
    high = rtb.Imp(id="1", video=rtb.Video(minduration=45), audio=rtb.Audio(minduration=0))
    decision = engine.decide(rtb.BidRequest(id="r3", imp=(high,)), now=T0, trace=trace)
    assert not decision.slots[0].filled


@pytest.mark.parametrize("trace", [False, True])
def test_mime_lists_are_not_merged_across_formats(trace: bool) -> None:
    """Banner MIME types [audio/mpeg] and audio [audio/ogg]: an audio/mpeg audio ad does
    not fit (and a display ad in audio/ogg does not either); each fits its own list."""
    ads = [
        Ad(
            id="mpeg",
            campaign="c0",
            format=AdFormat.AUDIO,
            duration=30.0,
            mimes=("audio/mpeg",),
            embedding=E,
        ),
        Ad(
            id="ogg-banner",
            campaign="c1",
            format=AdFormat.DISPLAY,
            mimes=("audio/ogg",),
            embedding=E,
        ),
    ]
    engine = _engine(Catalog([_campaign(0, 2.0), _campaign(1, 1.0)], ads))
    crossed = rtb.Imp(
        id="1", banner=rtb.Banner(mimes=("audio/mpeg",)), audio=rtb.Audio(mimes=("audio/ogg",))
    )
    decision = engine.decide(rtb.BidRequest(id="r1", imp=(crossed,)), now=T0, trace=trace)
    assert not decision.slots[0].filled
    straight = rtb.Imp(
        id="1", banner=rtb.Banner(mimes=("audio/ogg",)), audio=rtb.Audio(mimes=("audio/mpeg",))
    )
    decision = engine.decide(rtb.BidRequest(id="r2", imp=(straight,)), now=T0, trace=trace)
    assert decision.slots[0].ad_id == "mpeg"
    if trace:
        assert decision.trace is not None and decision.trace.eligible == (2,)


@pytest.mark.parametrize("trace", [False, True])
def test_display_ads_never_fill_pod_slots(trace: bool) -> None:
    """A banner next to an audio pod: the display ad (zero duration, the highest bid) is
    not sold as a pod slot; the audio ad is. Without the pod the banner is on sale."""
    ads = [
        Ad(id="banner", campaign="c0", format=AdFormat.DISPLAY, sizes=((300, 250),), embedding=E),
        Ad(id="spot", campaign="c1", format=AdFormat.AUDIO, duration=30.0, embedding=E),
    ]
    engine = _engine(Catalog([_campaign(0, 5.0), _campaign(1, 2.0)], ads))
    banner = rtb.Banner(w=300, h=250)
    pod = rtb.Imp(id="1", banner=banner, audio=rtb.Audio(poddur=60, maxseq=3))
    decision = engine.decide(rtb.BidRequest(id="r1", imp=(pod,)), now=T0, trace=trace)
    assert [(s.ad_id, s.slot_in_pod) for s in decision.slots] == [("spot", 1)]
    single = rtb.Imp(id="1", banner=banner, audio=rtb.Audio())
    decision = engine.decide(rtb.BidRequest(id="r2", imp=(single,)), now=T0, trace=trace)
    assert [(s.ad_id, s.slot_in_pod) for s in decision.slots] == [("banner", 0)]


@pytest.mark.parametrize("trace", [False, True])
def test_one_pod_per_impression_audio_first(trace: bool) -> None:
    """Audio and video both with a poddur: the audio pod is sold, of audio ads only;
    video with a poddur next to audio without one: the video pod, of video ads only."""
    ads = [
        Ad(id="v1", campaign="c0", format=AdFormat.VIDEO, duration=15.0, embedding=E),
        Ad(id="a1", campaign="c1", format=AdFormat.AUDIO, duration=15.0, embedding=E),
        Ad(id="a2", campaign="c2", format=AdFormat.AUDIO, duration=15.0, embedding=E),
        Ad(id="v2", campaign="c3", format=AdFormat.VIDEO, duration=15.0, embedding=E),
    ]
    camps = [_campaign(i, bid) for i, bid in enumerate([4.0, 3.0, 2.0, 1.0])]
    engine = _engine(Catalog(camps, ads))
    both = rtb.Imp(id="1", video=rtb.Video(poddur=60), audio=rtb.Audio(poddur=60))
    decision = engine.decide(rtb.BidRequest(id="r1", imp=(both,)), now=T0, trace=trace)
    assert sorted(str(s.ad_id) for s in decision.slots) == ["a1", "a2"]
    video_pod = rtb.Imp(id="1", video=rtb.Video(poddur=60), audio=rtb.Audio())
    decision = engine.decide(rtb.BidRequest(id="r2", imp=(video_pod,)), now=T0, trace=trace)
    assert sorted(str(s.ad_id) for s in decision.slots) == ["v1", "v2"]
    assert [s.slot_in_pod for s in decision.slots] == [1, 2]


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("feed", [1, 3])  # music: the longest fitting cut; podcast: shortest
def test_cut_choice_uses_its_own_formats_limits(trace: bool, feed: int) -> None:
    """The creative agent picks among the cuts that fit the ad's own format's object:
    with video allowing 5 to 15 s and audio 20 to 60 s, a video ad's 10 s cut, never its
    30 s or 2 s cut."""
    cuts = tuple(Creative(id=f"v-{d}s", duration=float(d)) for d in (2, 10, 30))
    spot = Ad(id="v", campaign="c0", format=AdFormat.VIDEO, variants=cuts, embedding=E)
    engine = _engine(Catalog([_campaign(0, 2.0)], [spot]))
    imp = rtb.Imp(
        id="1",
        video=rtb.Video(minduration=5, maxduration=15),
        audio=rtb.Audio(minduration=20, maxduration=60, feed=feed),
    )
    decision = engine.decide(rtb.BidRequest(id="r", imp=(imp,)), now=T0, trace=trace)
    assert decision.slots[0].creative_id == "v-10s"


def test_banner_sizes_apply_to_display_ads_only() -> None:
    """A banner size list no video ad has (video ads have no sizes) does not keep a video
    ad out; a display ad of another size is kept out."""
    ads = [
        Ad(id="small", campaign="c0", format=AdFormat.DISPLAY, sizes=((320, 50),), embedding=E),
        Ad(id="spot", campaign="c1", format=AdFormat.VIDEO, duration=15.0, embedding=E),
    ]
    engine = _engine(Catalog([_campaign(0, 5.0), _campaign(1, 1.0)], ads))
    imp = rtb.Imp(id="1", banner=rtb.Banner(w=300, h=250), video=rtb.Video())
    decision = engine.decide(rtb.BidRequest(id="r1", imp=(imp,)), now=T0, trace=True)
    assert decision.slots[0].ad_id == "spot"
    assert decision.trace is not None and decision.trace.eligible == (1,)


def test_banner_sizes_past_the_bound_are_ignored() -> None:
    """A banner lists at most ``MAX_SIZES`` sizes that count (bounded work per request):
    an ad of the 16th listed size fits; one of only the 17th does not."""
    listed = tuple(rtb.Format(w=100 + t, h=50) for t in range(MAX_SIZES + 4))
    imp = rtb.Imp(id="1", banner=rtb.Banner(format=listed))
    for t, filled in ((MAX_SIZES - 1, True), (MAX_SIZES, False)):
        ad = Ad(id="b", campaign="c0", format=AdFormat.DISPLAY, sizes=((100 + t, 50),), embedding=E)
        engine = _engine(Catalog([_campaign(0, 2.0)], [ad]))
        decision = engine.decide(rtb.BidRequest(id="r", imp=(imp,)), now=T0)
        assert decision.slots[0].filled is filled


@pytest.mark.parametrize("trace", [False, True])
def test_protocols_are_matched_per_format(trace: bool) -> None:
    """A VAST 4.0 video ad does not fill a player taking VAST 2.0 and 3.0 only (the trace
    names PROTOCOL), even when the audio object next to it takes VAST 4.0; it fills when
    video takes 4.0. A cut declaring no protocol inherits the ad's; an ad declaring none
    is not checked."""
    vast4 = Ad(
        id="v4", campaign="c0", format=AdFormat.VIDEO, duration=15.0, protocols=(7,), embedding=E
    )
    engine = _engine(Catalog([_campaign(0, 2.0)], [vast4]))
    old = rtb.Imp(id="1", video=rtb.Video(protocols=(2, 3)), audio=rtb.Audio(protocols=(7,)))
    decision = engine.decide(rtb.BidRequest(id="r1", imp=(old,)), now=T0, trace=trace)
    assert not decision.slots[0].filled
    if trace:
        assert decision.trace is not None
        inventory = next(a for a in decision.trace.agents if a.agent == "inventory")
        assert inventory.filtered == {Reason.PROTOCOL.name.lower(): 1}
    new = rtb.Imp(id="1", video=rtb.Video(protocols=(3, 7)))
    decision = engine.decide(rtb.BidRequest(id="r2", imp=(new,)), now=T0, trace=trace)
    assert decision.slots[0].ad_id == "v4"
    # the cut that inherits VAST 4.0 is skipped; the one declaring VAST 2.0 is chosen
    cuts = (
        Creative(id="inherits", duration=15.0),
        Creative(id="v2", duration=30.0, protocols=(2,)),
    )
    mixed = Ad(
        id="m", campaign="c0", format=AdFormat.VIDEO, protocols=(7,), variants=cuts, embedding=E
    )
    engine = _engine(Catalog([_campaign(0, 2.0)], [mixed]))
    decision = engine.decide(rtb.BidRequest(id="r3", imp=(old,)), now=T0, trace=trace)
    assert decision.slots[0].creative_id == "v2"
    # undeclared: fits any player; exchange-specific values (500+) match no declared one
    plain = Ad(id="p", campaign="c0", format=AdFormat.VIDEO, duration=15.0, embedding=E)
    engine = _engine(Catalog([_campaign(0, 2.0)], [plain, vast4]))
    custom = rtb.Imp(id="1", video=rtb.Video(protocols=(500,)))
    decision = engine.decide(rtb.BidRequest(id="r4", imp=(custom,)), now=T0, trace=trace)
    assert decision.slots[0].ad_id == "p"


@pytest.mark.parametrize("bad", [0, 64, -1, True, "7", 2.0])
def test_protocols_outside_one_to_63_are_rejected(bad: Any) -> None:
    camp = _campaign(0, 2.0)
    with pytest.raises(InvalidCatalog) as err:
        Catalog(
            [camp],
            [Ad(id="a", campaign="c0", format=AdFormat.VIDEO, protocols=(bad,), embedding=E)],
        )
    assert err.value.field == "ads[0].protocols[0]"
    cut = Creative(id="x", duration=5.0, protocols=(bad,))
    with pytest.raises(InvalidCatalog) as err:
        Catalog(
            [camp], [Ad(id="a", campaign="c0", format=AdFormat.VIDEO, variants=(cut,), embedding=E)]
        )
    assert err.value.field == "ads[0].variants[0].protocols[0]"


def test_the_response_names_the_protocol_served() -> None:
    """``Bid.protocol`` is the highest declared protocol the player accepts: VAST 3.0 for
    a player taking 2 and 3 from an ad declaring 3 and 7; 7 when the player lists none;
    absent when the ad declares none."""
    ads = [
        Ad(
            id="v",
            campaign="c0",
            format=AdFormat.VIDEO,
            duration=15.0,
            protocols=(3, 7),
            embedding=E,
        ),
        Ad(id="plain", campaign="c1", format=AdFormat.AUDIO, duration=15.0, embedding=E),
    ]
    engine = _engine(Catalog([_campaign(0, 2.0), _campaign(1, 1.0)], ads))

    def served(imp: rtb.Imp) -> list[int | None]:
        response = engine.decide(rtb.BidRequest(id="r", imp=(imp,)), now=T0).to_bid_response()
        return [b.protocol for sb in response.seatbid for b in sb.bid]

    assert served(rtb.Imp(id="1", video=rtb.Video(protocols=(2, 3)))) == [3]
    assert served(rtb.Imp(id="1", video=rtb.Video())) == [7]
    assert served(rtb.Imp(id="1", audio=rtb.Audio(protocols=(9,)))) == [None]
