"""The simulated marketplace: listeners, advertisers, a day of bid requests, and how
people respond to the ads they hear or see.

Everything is drawn from one seed through independent streams (world, traffic,
outcomes), so the same seed gives the same day bit for bit, and two arms compared on
one seed see the same listeners, the same requests, the same outside competition and
the same random draws for every response (common random numbers).
"""

from __future__ import annotations

import functools
import math
import operator
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from .. import openrtb as rtb
from ._tcstring import tc_string
from ._world import (
    BOT_AGENTS as BOT_AGENTS,
)
from ._world import (
    BOT_IPS as BOT_IPS,
)
from ._world import (
    DIM as DIM,
)
from ._world import (
    EU as EU,
)
from ._world import (
    HUMAN_AGENTS as HUMAN_AGENTS,
)
from ._world import (
    MUSIC_GENRES as MUSIC_GENRES,
)
from ._world import (
    NON_EU as NON_EU,
)
from ._world import (
    SEGMENTS as SEGMENTS,
)
from ._world import (
    SESSION_BACKGROUND as SESSION_BACKGROUND,
)
from ._world import (
    SESSION_MUSIC as SESSION_MUSIC,
)
from ._world import (
    SESSION_PODCAST as SESSION_PODCAST,
)
from ._world import (
    SIZES as SIZES,
)
from ._world import (
    SLOT_AUDIO as SLOT_AUDIO,
)
from ._world import (
    SLOT_DISPLAY as SLOT_DISPLAY,
)
from ._world import (
    SLOT_VIDEO as SLOT_VIDEO,
)
from ._world import (
    TALK_GENRES as TALK_GENRES,
)
from ._world import (
    draw_advertisers,
    unit,
)
from .scenario import Scenario

__all__ = ["SIM_VENDOR_ID", "Market"]

SIM_VENDOR_ID = 1000
"""The simulator's GVL vendor id: the id its TC strings consent to, and the engine's
``EngineConfig.vendor_id`` in simulated runs."""

# TCF v2.2 purposes: 1 store/access information on a device, 2 use limited data to select
# advertising, 3 create profiles for personalised advertising, 4 use profiles to select
# personalised advertising, 7 measure advertising performance.
CONSENTED_PURPOSES = (1, 2, 3, 4, 7)
# A listener who refused: storage only, no vendor consent; basic (contextual) ads and
# measurement stay possible on legitimate interest, as most CMPs record a refusal.
REFUSED_PURPOSES = (1,)
REFUSED_LI_PURPOSES = (2, 7)


@functools.lru_cache(maxsize=16)
def _consent_strings(created: int) -> tuple[str, str]:
    """The TC strings of a listener who consented and of one who refused."""
    consented = tc_string(CONSENTED_PURPOSES, (SIM_VENDOR_ID,), created=created)
    refused = tc_string(
        REFUSED_PURPOSES,
        (),
        li_purposes=REFUSED_LI_PURPOSES,
        li_vendors=(SIM_VENDOR_ID,),
        created=created,
    )
    return consented, refused


class Market:
    """One seeded day of the scenario: the catalog, the listeners and every request.

    Every random value of the day is drawn up front, in whole-day arrays (per request:
    its time, listener, session, slot kind, floor...; per slot: the outside competition
    and the response uniforms). Requests are built lazily by :meth:`request` (OpenRTB
    Structs), from those arrays read as plain Python values a block of requests at a
    time; the parts of a request that depend only on its listener (user, consent,
    regulations, geography), on its content genre or on its slots are built once and
    shared between requests (they are frozen, and the engine never changes a request).
    The arrays are the day: they are not to be modified once requests have been read.

    ``seed`` draws the world (catalog, listeners) and the day's traffic and responses;
    ``day`` > 0 keeps the world of ``seed`` and draws another day of traffic and
    responses (training over several days: :func:`adcore.sim.train`). Day 0 is the
    market of ``seed`` alone.

    When the scenario's tastes drift (``drift_strength`` > 0), each listener has a second
    true interest, :attr:`interest_after`, from ``drift_at`` on: moved toward the products
    of a quarter of the advertisers, a different quarter per device type
    (:attr:`trend_advertisers`, by device type), drawn from ``seed`` alone, so every day
    of a seed's world drifts the same way. :attr:`taste` is, per request, the row of the
    listener's true interest at that time: the listener's index before the shift, that
    plus the number of listeners after it.
    """

    def __init__(self, scenario: Scenario, seed: int, day: int = 0) -> None:
        self.scenario = scenario.validate()
        self.seed = seed
        self.day = day
        world, traffic, outcomes = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
        )
        if day:  # the same world (catalog, listeners), another day's traffic and responses
            traffic, outcomes = (
                np.random.default_rng(s) for s in np.random.SeedSequence((seed, day)).spawn(2)
            )
        self._build_world(world)
        self._build_traffic(traffic)
        self._build_drift()
        self.uniforms = outcomes.random((self.n_slots, 3))
        # Every EU listener sends one of two TC strings, recorded at the day's start.
        self.tc_consented, self.tc_refused = _consent_strings(int(self.scenario.start) * 10)
        # Plain Python views of the arrays and shared request parts, built on first use.
        self._blocks: dict[int, _Block] = {}
        self._current = _Block.empty()
        self._listener_rows: list[_ListenerRow] | None = None
        self._people: list[_Person | None] = [None] * len(self.listener_eu)
        self._bot_users: dict[tuple[int, int], rtb.User] = {}
        self._apps: dict[tuple[str, int | None], rtb.App] = {}
        self._regs: dict[tuple[int, str | None], rtb.Regs] = {}
        self._geos: dict[str, rtb.Geo] = {}
        self._imps: dict[tuple[int, int, float, int, bool], tuple[rtb.Imp, ...]] = {}
        self._affinities: dict[int, float] = {}
        self._interest_rows: list[NDArray[np.float64]] | None = None
        self._truth_rows: list[NDArray[np.float64]] = []
        self._ad_format: list[int] = self.ad_format_code.tolist()
        self._n_ads = len(self._ad_format)

    # ------------------------------------------------------------------ world
    def _build_world(self, rng: np.random.Generator) -> None:
        sc = self.scenario
        genres = MUSIC_GENRES + TALK_GENRES
        self.genre_vectors = unit(rng.normal(size=(len(genres), DIM)))
        self.segment_vectors = unit(rng.normal(size=(len(SEGMENTS), DIM)))
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
        interest = unit(signal + 0.6 * rng.normal(size=(n, DIM)))
        self.unusual = rng.random(n) < sc.unusual_share
        interest[self.unusual] = unit(rng.normal(size=(int(self.unusual.sum()), DIM)))
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

    def _build_drift(self) -> None:
        sc = self.scenario
        n = len(self.interest)
        self.drift_time = sc.start + sc.drift_at * 3600.0
        after = self.time >= self.drift_time
        self.trend_advertisers: dict[int, tuple[int, ...]] = {}
        self.interest_after = self.interest
        self.taste = self.listener.copy()
        if sc.drift_strength > 0 and after.any():
            # Its own generator, so the other draws of the day are those of a market
            # without drift. Each device type trends toward its own quarter of the
            # advertisers (a product that catches on with the listeners of one kind of
            # device), so what changes can be learned from the request's context.
            rng = np.random.default_rng(np.random.SeedSequence((self.seed, _DRIFT_SEED)))
            k = max(1, sc.advertisers // 4)
            devices = np.unique(self.listener_device)
            trends = np.zeros((len(devices), DIM))
            for j, d in enumerate(devices.tolist()):
                chosen = np.sort(rng.choice(sc.advertisers, k, replace=False))
                self.trend_advertisers[d] = tuple(chosen.tolist())
                trends[j] = unit(self.advertiser_centres[chosen].sum(axis=0))
            trend = trends[np.searchsorted(devices, self.listener_device)]
            self.interest_after = unit(self.interest + sc.drift_strength * trend)
            self.taste = self.listener + n * after

    def _build_advertisers(self, rng: np.random.Generator) -> None:
        drawn = draw_advertisers(rng, self.scenario, self.genre_vectors, self.segment_vectors)
        self.advertiser_centres = drawn.centres
        self.value_click = drawn.value_click
        self.value_complete = drawn.value_complete
        self.value_conversion = drawn.value_conversion
        self.catalog = drawn.catalog
        self.ad_truth = drawn.truth
        self.ad_format_code = drawn.format_codes
        self.ad_row = {ad.id: i for i, ad in enumerate(drawn.catalog.ads)}
        self.campaign_row = {c.id: i for i, c in enumerate(drawn.catalog.campaigns)}

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
    def affinity(self, listener: int, ad: int, *, after_drift: bool = False) -> float:
        """The true affinity of ``listener`` for catalog ad ``ad`` (its index in
        :attr:`ad_truth`): the cosine of the listener's true interest (after the
        scenario's drift of tastes with ``after_drift``) and the ad's true embedding
        (both unit vectors), in [-1, 1]. It is the relevance ``r`` that drives a human
        listener's click and completion probabilities (:class:`~adcore.sim.Behaviour`);
        the engine never sees it. Which requests come from bots is :attr:`bot` (one flag
        per request); a bot's response does not depend on affinity."""
        interest = self.interest_after if after_drift else self.interest
        return float(interest[listener] @ self.ad_truth[ad])

    def _affinity(self, taste: int, ad: int) -> float:
        """:meth:`affinity` of a valid :attr:`taste` row and ad index, remembered: the
        same product, computed once per pair (and so the same value, bit for bit)."""
        key = taste * self._n_ads + ad
        r = self._affinities.get(key)
        if r is None:
            if len(self._affinities) >= _MAX_AFFINITIES:
                self._affinities.clear()
            if self._interest_rows is None:
                self._interest_rows = list(self.interest)
                if self.interest_after is not self.interest:
                    self._interest_rows += list(self.interest_after)
                self._truth_rows = list(self.ad_truth)
            # The same dot product as affinity's (one BLAS call on two vectors).
            r = self._affinities[key] = float(self._interest_rows[taste].dot(self._truth_rows[ad]))
        return r

    # ------------------------------------------------------------------ blocks
    def _block(self, i: int) -> _Block:
        """The block holding request ``i`` (from 0 to the number of requests drawn, less
        one), made the current one."""
        b = i // _BLOCK_REQUESTS
        block = self._blocks.get(b)
        if block is None:
            if len(self._blocks) >= _KEPT_BLOCKS:
                self._blocks.pop(next(iter(self._blocks)), None)
            block = self._blocks[b] = self._read_block(b * _BLOCK_REQUESTS)
        self._current = block
        return block

    def _read_block(self, start: int) -> _Block:
        """Requests ``start`` to ``start + _BLOCK_REQUESTS - 1`` (or the day's last) and
        their slots, as Python values, read from the day's arrays in one pass each."""
        stop = min(start + _BLOCK_REQUESTS, len(self.listener))
        rows = slice(start, stop)
        first = self.first_slot[rows]
        slot0 = int(first[0])
        slot1 = int(first[-1] + self.slots_per_request[stop - 1])
        octets = self.ip_octets[rows]
        requests = list(
            zip(
                self.listener[rows].tolist(),
                self.session[rows].tolist(),
                self.slot_kind[rows].tolist(),
                self.slots_per_request[rows].tolist(),
                first.tolist(),
                self.floor[first].tolist(),
                self.display_size[rows].tolist(),
                octets[:, 0].tolist(),
                octets[:, 1].tolist(),
                self.music_genre[rows].tolist(),
                self.bot[rows].tolist(),
                self.bot_agent[rows].tolist(),
                strict=True,
            )
        )
        of = self.slot_request[slot0:slot1]
        u = self.uniforms[slot0:slot1]
        slots = list(
            zip(
                u[:, 0].tolist(),
                u[:, 1].tolist(),
                u[:, 2].tolist(),
                self.market_price[slot0:slot1].tolist(),
                self.bot[of].tolist(),
                self.taste[of].tolist(),
                self.session[of].tolist(),
                strict=True,
            )
        )
        return _Block(start, stop, requests, self.time[rows].tolist(), slot0, slot1, slots)

    def _slot(self, slot: int) -> _SlotRow:
        """Slot ``slot``'s values: its three uniforms, the outside competition's price,
        and its request's bot flag, :attr:`taste` row and session."""
        block = self._current
        if block.slot0 <= slot < block.slot1:
            return block.slots[slot - block.slot0]
        req = int(self.slot_request[slot])
        u = self.uniforms
        return (
            u.item(slot, 0),
            u.item(slot, 1),
            u.item(slot, 2),
            self.market_price.item(slot),
            bool(self.bot[req]),
            int(self.taste[req]),
            int(self.session[req]),
        )

    def _time(self, i: int) -> float:
        """Request ``i``'s time, from the current block when it holds it."""
        block = self._current
        j = i - block.start
        if 0 <= j < len(block.times):
            return block.times[j]
        return float(self.time[i])

    def _row(self, i: int) -> _RequestRow:
        """Request ``i``'s values (``i`` may count from the end, as for the arrays)."""
        block = self._current
        j = i - block.start
        if 0 <= j < block.size:
            return block.requests[j]
        n = len(self.listener)
        k = operator.index(i)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError(f"request {i} is out of range for a day of {n} requests")
        block = self._block(k)
        return block.requests[k - block.start]

    # ------------------------------------------------------------------ requests
    def _person(self, listener: int) -> _Person:
        """What every request of ``listener`` shares, built on the first one."""
        rows = self._listener_rows
        if rows is None:
            rows = self._listener_rows = list(
                zip(
                    self.listener_eu.tolist(),
                    self.listener_consent.tolist(),
                    self.listener_optout.tolist(),
                    self.listener_country.tolist(),
                    self.listener_device.tolist(),
                    self.listener_agent.tolist(),
                    self.listener_talk.tolist(),
                    self.listener_music.tolist(),
                    self.listener_segments.tolist(),
                    strict=True,
                )
            )
        eu, consented, optout, c, device, agent, talk, music, segments = rows[listener]
        country = EU[c] if eu else NON_EU[c]
        regs_key = (1 if eu else 0, "1YYN" if (not eu and optout) else None)
        regs = self._regs.get(regs_key)
        if regs is None:
            regs = self._regs[regs_key] = rtb.Regs(gdpr=regs_key[0], us_privacy=regs_key[1])
        geo = self._geos.get(country)
        if geo is None:
            geo = self._geos[country] = rtb.Geo(country=country, utcoffset=0)
        data = (rtb.Data(id="dmp", segment=tuple(_SEGMENTS[s] for s in segments)),)
        consent = (self.tc_consented if consented else self.tc_refused) if eu else None
        person = _Person(
            user=rtb.User(id=f"listener-{listener}", consent=consent, data=data),
            consent=consent,
            data=data,
            regs=regs,
            geo=geo,
            devicetype=_DEVICE_TYPES[device],
            agent=HUMAN_AGENTS[agent],
            ip_tail=f".{listener % 250 + 1}",
            podcast_app=self._app(TALK_GENRES[talk], None),
            music_app=self._app(MUSIC_GENRES[music], 3),
        )
        self._people[listener] = person
        return person

    def _app(self, genre: str, context: int | None) -> rtb.App:
        app = self._apps.get((genre, context))
        if app is None:
            app = self._apps[(genre, context)] = rtb.App(
                id="player",
                bundle="com.example.player",
                content=rtb.Content(genre=genre, context=context),
            )
        return app

    def _imps_of(
        self, kind: int, n_slots: int, floor: float, size: int, session: int
    ) -> tuple[rtb.Imp, ...]:
        """The impressions of a request: ``n_slots`` slots of ``kind`` at ``floor``
        (display: in size ``size``; audio: a podcast's feed when ``session`` is one)."""
        podcast = kind == SLOT_AUDIO and session == SESSION_PODCAST
        key = (kind, n_slots, floor, size if kind == SLOT_DISPLAY else -1, podcast)
        imps = self._imps.get(key)
        if imps is not None:
            return imps
        built: list[rtb.Imp] = []
        for k in range(n_slots):
            if kind == SLOT_DISPLAY:
                w, h = SIZES[size]
                built.append(
                    rtb.Imp(
                        id=str(k + 1),
                        bidfloor=floor,
                        banner=rtb.Banner(w=w, h=h, mimes=("image/png",)),
                    )
                )
            elif kind == SLOT_VIDEO:
                built.append(
                    rtb.Imp(
                        id=str(k + 1),
                        bidfloor=floor,
                        video=rtb.Video(
                            mimes=("video/mp4",), minduration=5, maxduration=30, w=640, h=360
                        ),
                    )
                )
            else:
                built.append(
                    rtb.Imp(
                        id=str(k + 1),
                        bidfloor=floor,
                        audio=rtb.Audio(
                            mimes=("audio/mpeg",),
                            minduration=5,
                            maxduration=30,
                            feed=3 if podcast else 1,
                            podid="pod" if n_slots > 1 else None,
                            slotinpod=1
                            if k == 0
                            else (-1 if k == n_slots - 1 else 0)
                            if n_slots > 1
                            else 0,
                        ),
                    )
                )
        if len(self._imps) >= _MAX_SHARED_IMPS:
            self._imps.clear()
        imps = self._imps[key] = tuple(built)
        return imps

    def request(self, i: int) -> rtb.BidRequest:
        """The ``i``-th bid request of the day, as the exchange would send it."""
        (listener, session, kind, n_slots, _, floor, size, ip_a, ip_b, music, bot, bot_agent) = (
            self._row(i)
        )
        person = self._people[listener] or self._person(listener)
        if session == SESSION_PODCAST:
            app = person.podcast_app
        elif session == SESSION_BACKGROUND:
            app = self._app(MUSIC_GENRES[music], 3)
        else:
            app = person.music_app
        if bot:
            # A handful of cloud servers send all the bot traffic.
            ua = BOT_AGENTS[i % len(BOT_AGENTS)] if bot_agent else person.agent
            ip = BOT_IPS[i % len(BOT_IPS)]
            key = (i % 8, listener)
            user = self._bot_users.get(key)
            if user is None:
                user = self._bot_users[key] = rtb.User(
                    id=f"bot-{i % 8}", consent=person.consent, data=person.data
                )
        else:
            ua = person.agent
            ip = f"203.{ip_a}.{ip_b}{person.ip_tail}"
            user = person.user
        return rtb.BidRequest(
            id=f"{self.seed}-{i}",
            imp=self._imps_of(kind, n_slots, floor, size, session),
            app=app,
            device=rtb.Device(ua=ua, ip=ip, devicetype=person.devicetype, geo=person.geo),
            user=user,
            regs=person.regs,
            tmax=200,
        )


_SEGMENTS = tuple(rtb.Segment(id=s) for s in SEGMENTS)
_DEVICE_TYPES = {int(t): t for t in rtb.DeviceType}

_BLOCK_REQUESTS = 4096
"""Requests read from the day's arrays at a time."""
_KEPT_BLOCKS = 4
"""Blocks a market keeps (two runs interleaved over one market each keep theirs)."""
_MAX_AFFINITIES = 1 << 20
_DRIFT_SEED = 0xD21F7
"""Mixed with the seed for the drift's own generator."""
_MAX_SHARED_IMPS = 1 << 16

_RequestRow = tuple[int, int, int, int, int, float, int, int, int, int, bool, bool]
"""Per request: listener, session, slot kind, slots, first slot, floor, display size,
the two random octets of a human's address, background music genre, bot, bot agent."""
_ListenerRow = tuple[bool, bool, bool, int, int, int, int, int, list[int]]
"""Per listener: EU, consented, opted out (US), country, device type, user agent, talk
genre, music genre, segments."""
_SlotRow = tuple[float, float, float, float, bool, int, int]
"""Per slot: the click, completion and conversion uniforms, the outside competition's
price, and its request's bot flag, taste row (:attr:`Market.taste`) and session."""


class _Block:
    """Requests ``start`` to ``stop - 1`` (their rows and times) and their slots
    ``slot0`` to ``slot1 - 1`` as Python values."""

    __slots__ = ("requests", "size", "slot0", "slot1", "slots", "start", "stop", "times")

    def __init__(
        self,
        start: int,
        stop: int,
        requests: list[_RequestRow],
        times: list[float],
        slot0: int,
        slot1: int,
        slots: list[_SlotRow],
    ) -> None:
        self.start, self.stop, self.size = start, stop, stop - start
        self.requests = requests
        self.times = times  # shorter than the block if the day's times were cut short
        self.slot0, self.slot1 = slot0, slot1
        self.slots = slots

    @classmethod
    def empty(cls) -> _Block:
        return cls(0, 0, [], [], 0, 0, [])


class _Person(NamedTuple):
    """The parts of a listener's requests that every one of them shares."""

    user: rtb.User
    consent: str | None
    data: tuple[rtb.Data, ...]
    regs: rtb.Regs
    geo: rtb.Geo
    devicetype: rtb.DeviceType
    agent: str
    ip_tail: str
    podcast_app: rtb.App
    music_app: rtb.App
