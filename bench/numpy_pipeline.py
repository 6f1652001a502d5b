"""The reference competitor of the decide benchmarks: adcore's ten-agent decision
pipeline written plainly with NumPy (vectorised array operations, no Numba, no Python
loops over ads or campaigns).

Each class below is one of adcore's ten agents with the same name, the same declared
reads and writes and the same context arrays, but whose ``run`` computes with NumPy
instead of calling adcore's Numba kernels. Plugged into an ordinary
:class:`adcore.Engine` (:func:`numpy_engine`), they make the *same* pipeline: request
validation, feature filling (:func:`adcore.features.fill_features`), budget holds and the
returned ``Decision`` are shared code, so a timing comparison measures what the kernels
are for: the agents' per-request work.

Python loops remain only over the impressions of a request (at most ``max_imps``), the
words of a bitset, the creative variant / display size *slots* of an ad (ads' variants
and sizes are laid out as padded ``(slots, n_ads)`` tables, so each slot is one vector
operation over all ads) and the 8 probes of a hashed counter. Request-independent
arrays derived from the catalog snapshot (these tables, per-ad copies of campaign fields,
``intp`` gather indices) are built once per snapshot in ``bind``, as a careful NumPy
implementation would; every per-request result is computed per request.

The benchmarks check that this pipeline decides what adcore decides (same eligibility
reasons, floors, creatives, winners and prices) before timing it. The one intended
numerical difference: the embedding match is a float32 BLAS matrix-vector product here,
while adcore's kernel accumulates in float64, so scores, bids and second prices agree to
about 1e-7 relative, not bit for bit.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, ClassVar

import numpy as np

from adcore import Engine
from adcore._hashing import stable_key
from adcore._kernels import reasons as R
from adcore.agents import (
    AuctionAgent,
    AudienceAgent,
    BiddingAgent,
    CreativeAgent,
    FraudAgent,
    InventoryAgent,
    PacingAgent,
    PrivacyAgent,
    RelevanceAgent,
    SafetyAgent,
)
from adcore.agents.audience import _keywords, focus_state
from adcore.agents.fraud import _impossible_ip
from adcore.agents.pacing import count_request
from adcore.agents.privacy import request_activities
from adcore.catalog import Catalog, CatalogSnapshot
from adcore.config import EngineConfig
from adcore.context import MAX_TOKENS, Context
from adcore.events import Outcome, PauseCampaign, ResumeCampaign

__all__ = ["NUMPY_AGENTS", "numpy_agents", "numpy_engine"]

# Mirrors of adcore's kernel constants (plain ints).
_FIXED_CPM, _TARGET_CPA = 0, 2
_FOCUS_HIGH, _FOCUS_BACKGROUND = 1, 2
_PROBES = 8
_FIRST_PRICE = 1
_DUAL, _PID, _THROTTLE = 1, 2, 3

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_U_GOLDEN, _U_M1, _U_M2 = np.uint64(_GOLDEN), np.uint64(_M1), np.uint64(_M2)
_U30, _U27, _U31, _U1 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(1)
_BIT_SHIFTS = np.arange(64, dtype=np.uint64)
_U8 = np.uint8


# --------------------------------------------------------------------------- helpers
def splitmix64_int(x: int) -> int:
    """splitmix64 of one key, in Python integers."""
    z = (x + _GOLDEN) & _M64
    z = ((z ^ (z >> 30)) * _M1) & _M64
    z = ((z ^ (z >> 27)) * _M2) & _M64
    return z ^ (z >> 31)


def splitmix64_array(x: np.ndarray) -> np.ndarray:
    """splitmix64 of a uint64 array (array arithmetic wraps modulo 2**64)."""
    z = x + _U_GOLDEN
    z = (z ^ (z >> _U30)) * _U_M1
    z = (z ^ (z >> _U27)) * _U_M2
    return z ^ (z >> _U31)


def counter_add(
    keys: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    key: int,
    now: float,
    window: float,
    amount: int,
) -> int:
    """adcore's hashed windowed counter (``_kernels.counters.counter_add``), one key."""
    size = keys.shape[0]
    h = splitmix64_int(key) % size
    victim = -1
    victim_free = False
    oldest = math.inf
    for p in range(_PROBES):
        s = (h + p) % size
        ks = int(keys[s])
        if ks == key:
            if now - starts[s] >= window:
                starts[s] = now
                counts[s] = 0
            counts[s] += amount
            return int(counts[s])
        if ks == 0 or now - starts[s] >= window:
            if not victim_free:
                victim = s
                victim_free = True
            if ks == 0:
                break
        elif not victim_free and starts[s] < oldest:
            victim = s
            oldest = float(starts[s])
    keys[victim] = key
    starts[victim] = now
    counts[victim] = amount
    return amount


def bit_matrix(words: np.ndarray) -> np.ndarray:
    """Bitsets ``(..., words)`` of uint64 as booleans ``(..., words * 64)``."""
    bits = (words[..., None] >> _BIT_SHIFTS) & _U1
    return bits.reshape(*words.shape[:-1], words.shape[-1] * 64).astype(bool)


class _Bitsets:
    """Rows of bitsets, stored one contiguous column per 64-bit word."""

    def __init__(self, rows: np.ndarray) -> None:
        self.columns = [np.ascontiguousarray(rows[:, w]) for w in range(rows.shape[1])]
        self.nonempty = rows.any(axis=1)
        self.any = bool(self.nonempty.any())

    def hits(self, request_bits: np.ndarray) -> np.ndarray:
        """Rows sharing at least one bit with ``request_bits``."""
        cols = self.columns
        hit = (cols[0] & request_bits[0]) != 0
        for w in range(1, len(cols)):
            hit |= (cols[w] & request_bits[w]) != 0
        return hit


def _slots(ptr: np.ndarray, values: np.ndarray, fill: Any) -> tuple[np.ndarray, np.ndarray]:
    """A CSR layout (``ptr``, ``values``) as a padded ``(slots, rows)`` table and the table
    of indices into ``values`` (-1 where padded)."""
    n = ptr.shape[0] - 1
    counts = np.diff(ptr)
    width = int(counts.max()) if n else 0
    index = np.full((width, n), -1, dtype=np.intp)
    table = np.full((width, n), fill, dtype=values.dtype)
    for s in range(width):  # slots, not ads
        has = counts > s
        index[s, has] = ptr[:-1][has] + s
        table[s, has] = values[index[s, has]]
    return table, index


class _Tables:
    """Request-independent arrays derived from one snapshot, built once."""

    def __init__(self, snap: CatalogSnapshot) -> None:
        n = snap.n_ads
        self.n_ads = n
        self.camp_idx = snap.ad_campaign.astype(np.intp)
        self.format_bit = np.left_shift(1, snap.ad_format.astype(np.int64))
        self.format_idx = snap.ad_format.astype(np.intp)  # column of per-format limits
        self.is_display = snap.ad_format == 0
        self.is_media = ~self.is_display
        self.any_display = bool(self.is_display.any())
        self.personal_code = (snap.camp_personal[self.camp_idx] * R.PRIVACY).astype(_U8)
        # Creative variants, one row per variant slot; padding has duration NaN (fits
        # no window) and is never display.
        self.var_dur, self.var_idx = _slots(snap.var_ptr, snap.var_duration, np.nan)
        self.var_mimes, _ = _slots(snap.var_ptr, snap.var_mimes, 0)
        self.var_protocols, _ = _slots(snap.var_ptr, snap.var_protocols, 0)
        self.var_any_protocol = self.var_protocols == 0
        self.var_display = (self.var_idx >= 0) & self.is_display
        self.var_negdur = -self.var_dur
        # Display sizes as one int64 code per size, padding -1.
        codes = (snap.size_wh[:, 0].astype(np.int64) << 32) | snap.size_wh[:, 1].astype(np.int64)
        self.size_code, _ = _slots(snap.size_ptr, codes, -1)
        # Targeting and safety bitsets.
        self.countries = _Bitsets(snap.camp_countries)
        self.content = _Bitsets(snap.camp_content)
        self.segments = _Bitsets(snap.camp_segments)
        self.dev_targeted = snap.camp_devtypes != 0
        self.hour_targeted = snap.camp_hours != 0
        self.excluded = _Bitsets(snap.camp_excluded)
        self.ad_categories = _Bitsets(snap.ad_categories)
        self.ad_domains = _Bitsets(snap.ad_domains)
        self.camp_deal_bits = bit_matrix(snap.camp_deals)
        # Frequency caps.
        self.capped = np.flatnonzero(snap.camp_cap_count > 0)
        self.capped_offset = (self.capped + 1).astype(np.uint64)
        self.cap_count = snap.camp_cap_count[self.capped]
        self.cap_window = snap.camp_cap_window[self.capped]
        # Bidding, per ad.
        c = self.camp_idx
        strategy = snap.camp_strategy[c]
        self.fixed = strategy == _FIXED_CPM
        self.amount = snap.camp_amount[c]
        self.conversion = np.where(strategy == _TARGET_CPA, snap.camp_conversion_rate[c], 1.0)
        self.max_bid = snap.camp_max_bid[c]
        # Signal rows by kind ("cat", "genre", "kw", "seg") and value.
        self.signal_rows: dict[str, dict[str, int]] = {}
        for name, row in snap.signals.index.items():
            kind, _, value = name.partition(":")
            self.signal_rows.setdefault(kind, {})[value] = row
        # Auction.
        self.priority = snap.ad_priority
        self.has_priority = bool(n) and bool((snap.ad_priority != snap.ad_priority[0]).any())


_TABLES: weakref.WeakKeyDictionary[CatalogSnapshot, _Tables] = weakref.WeakKeyDictionary()


def tables(snap: CatalogSnapshot) -> _Tables:
    """The snapshot's derived tables, built on first use."""
    t = _TABLES.get(snap)
    if t is None:
        t = _TABLES[snap] = _Tables(snap)
    return t


def _raise(reason: np.ndarray, codes: Any) -> None:
    np.maximum(reason, codes, out=reason)


def _eligible(ctx: Context) -> np.ndarray:
    """Ads eligible in at least one impression of the request."""
    n = ctx.n_imp
    if n == 1:
        return ctx.reason[0] == 0
    if n == 0:
        return np.zeros(ctx.reason.shape[1], dtype=bool)
    return ctx.reason[:n].min(axis=0) == 0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


# --------------------------------------------------------------------------- agents
class NumpyPrivacy(PrivacyAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        self._vendor_id = services.config.vendor_id
        return tables(snapshot)

    def run(self, ctx: Context, state: _Tables) -> None:
        request = ctx.request
        # Consent strings are decoded by the same Python code (adcore.consent): there is
        # no array work in it to write in NumPy.
        allowed = request_activities(request, self._vendor_id)
        ctx.activities = allowed
        ctx.consent_reasons = [] if allowed.personalise else list(allowed.reasons)
        personalise = allowed.serve and allowed.personalise
        ctx.personalise = personalise
        user = request.user
        device = request.device
        snap = ctx.snapshot
        if not allowed.serve:
            _raise(ctx.reason[: ctx.n_imp], R.PRIVACY)
            return
        if personalise and user is not None:
            uid = user.id or user.buyeruid or (device.ifa if device is not None else None)
            if uid:
                ctx.user_key = np.uint64(stable_key(uid))
            segs = snap.segments
            if len(segs):
                for data in user.data:
                    segs.fill(ctx.req_segments, (s.id for s in data.segment if s.id))
        if not personalise and snap.any_personal:
            _raise(ctx.reason[: ctx.n_imp], state.personal_code)


class NumpyFraud(FraudAgent):
    def run(self, ctx: Context, state: Any) -> None:
        device = ctx.request.device
        ua = device.ua if device is not None else None
        ip = (device.ip or device.ipv6) if device is not None else None
        ident = (device.ifa or ip) if device is not None else None
        bot = bool(ua) and self._is_bot(ua, state)  # type: ignore[arg-type]
        count = 0
        keys = [ident] if ident else []
        if device is not None and device.ifa and ip:
            keys.append(ip)  # rates per device and per IP address: the busier counts
        with state.lock:
            for k in keys:
                count = max(
                    count,
                    counter_add(
                        state.keys, state.starts, state.counts, stable_key(k), ctx.now,
                        state.window, 1,
                    ),
                )  # fmt: skip
        if bot:
            score = 1.0
        else:
            score = 0.5 if not ua else 0.0
            if not ip and score < 0.2:
                score = 0.2
            if state.limit > 0 and count > state.limit:
                score = max(score, min(1.0, (count - state.limit) / state.limit))
        datacenter = bool(ip) and state.ranges is not None and self._in_datacenter(ip, state)
        if datacenter and state.datacenter_score > score:
            score = state.datacenter_score
        impossible = bool(ip) and _impossible_ip(ip)  # type: ignore[arg-type]
        if impossible and state.impossible_score > score:
            score = state.impossible_score
        ctx.fraud_score = score
        signals = []
        if bot:
            signals.append("bot_user_agent")
        if not ua:
            signals.append("no_user_agent")
        if not ip:
            signals.append("no_ip")
        if count > state.limit:
            signals.append("request_rate")
        if datacenter:
            signals.append("datacenter_ip")
        if impossible:
            signals.append("impossible_ip")
        ctx.fraud_signals = signals
        if score >= state.threshold:
            _raise(ctx.reason[: ctx.n_imp], R.FRAUD)
        elif score >= state.discount:
            ctx.bid_factor[0] = 1.0 - score


class NumpyAudience(AudienceAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        return tables(snapshot)

    def run(self, ctx: Context, state: _Tables) -> None:
        snap = ctx.snapshot
        t = state
        # Targeting, per campaign, then broadcast to the campaigns' ads.
        now = ctx.now
        flight = (now < snap.camp_start) | (now >= snap.camp_end)
        devtype = ctx.req_devtype
        devbit = 1 << devtype if 0 < devtype <= 15 else 0
        bad = t.dev_targeted & ((snap.camp_devtypes & devbit) == 0)
        hourbit = 1 << ctx.req_hour if ctx.req_hour >= 0 else 0
        bad |= t.hour_targeted & ((snap.camp_hours & hourbit) == 0)
        for target, req in (
            (t.countries, ctx.req_country),
            (t.content, ctx.req_content),
            (t.segments, ctx.req_segments),
        ):
            if target.any:
                bad |= target.nonempty & ~target.hits(req)
        code = ctx.camp_code
        code[:] = bad
        code *= _U8(R.TARGETING)
        code[flight] = R.FLIGHT
        _raise(ctx.reason[: ctx.n_imp], code[t.camp_idx])

        # Focus state and interest vector.
        request = ctx.request
        ctx.focus = focus_state(request)
        # Genre and keyword signals are tokens; category and segment signals come from
        # the request's bitsets (segments are set only with consent), in bit order.
        rows = t.signal_rows
        found: list[int] = []
        if rows:
            where = request.site if request.site is not None else request.app
            if where is not None:
                content = where.content
                by = rows.get("genre")
                if by and content is not None and content.genre:
                    r = by.get(content.genre.lower())
                    if r is not None:
                        found.append(r)
                by = rows.get("kw")
                if by:
                    words = _keywords(where.keywords)
                    if content is not None:
                        words += _keywords(content.keywords)
                    found += [r for r in map(by.get, words) if r is not None]
        n = min(len(found), MAX_TOKENS)
        ctx.tokens[:n] = found[:n]
        ctx.n_tokens = n
        picked = [ctx.tokens[:n]]
        for bits, table in (
            (ctx.req_content, snap.cat_signal),
            (ctx.req_segments, snap.seg_signal),
        ):
            on = np.flatnonzero(np.unpackbits(bits.view(np.uint8), bitorder="little"))
            found_rows = table[on]
            picked.append(found_rows[found_rows >= 0])
        all_rows = np.concatenate(picked)
        ctx.interest.fill(0.0)
        ctx.has_interest = 0
        if all_rows.size:
            v = snap.signal_vectors[all_rows].sum(axis=0, dtype=np.float32)
            v64 = v.astype(np.float64)
            norm = float(v64 @ v64)
            if norm > 0.0:
                ctx.interest[:] = v64 * (1.0 / math.sqrt(norm))
                ctx.has_interest = 1


class NumpyInventory(InventoryAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        if services.config.reserve != "off":
            raise ValueError("the NumPy pipeline does not learn reserve prices")
        return tables(snapshot)

    def observes(self, state: Any) -> bool:
        return False  # no reserve learning (checked in bind)

    def run(self, ctx: Context, state: _Tables) -> None:
        t = state
        for k in range(ctx.n_imp):
            reason, creative, floor = ctx.reason[k], ctx.creative[k], ctx.floor[k]
            floor.fill(ctx.imp_floor[k])
            if not ctx.imp_currency_ok[k]:
                creative.fill(-1)
                _raise(reason, R.CURRENCY)
                continue
            code = ((t.format_bit & int(ctx.imp_formats[k])) == 0).view(_U8) * _U8(R.FORMAT)
            nsizes = int(ctx.imp_nsizes[k])
            if nsizes and t.any_display:
                want = [(int(w) << 32) | int(h) for w, h in ctx.imp_sizes[k, :nsizes]]
                fits = np.zeros(t.n_ads, dtype=bool)
                for slot in t.size_code:  # size slots, not ads
                    for c in want:
                        fits |= slot == c
                code[(code == R.OK) & t.is_display & ~fits] = R.SIZE
            # The first creative variant that fits both the duration window and a MIME
            # type; walk the slots backwards so the earliest fitting one is kept.
            # Each ad is held to the limits of its own format's media object.
            lo = ctx.imp_mindur[k][t.format_idx]
            hi = ctx.imp_maxdur[k][t.format_idx]
            mimes = ctx.imp_mimes[k][t.format_idx]
            any_mime = mimes == 0
            protocols = ctx.imp_protocols[k][t.format_idx]
            any_protocol = protocols == 0
            chosen = np.full(t.n_ads, -1, dtype=np.intp)
            any_duration = np.zeros(t.n_ads, dtype=bool)
            typed = np.zeros(t.n_ads, dtype=bool)
            for s in range(t.var_idx.shape[0] - 1, -1, -1):
                d = t.var_dur[s]
                dur_ok = t.var_display[s] | ((d >= lo) & (d <= hi))
                any_duration |= dur_ok
                mime_ok = dur_ok & (any_mime | ((t.var_mimes[s] & mimes) != 0))
                typed |= mime_ok
                fit = mime_ok & (
                    any_protocol | t.var_any_protocol[s] | ((t.var_protocols[s] & protocols) != 0)
                )
                np.copyto(chosen, t.var_idx[s], where=fit)
            ok = code == R.OK
            missing = ok & (chosen < 0)
            if missing.any():
                code[missing & typed] = R.PROTOCOL
                code[missing & ~typed & any_duration] = R.MIME
                code[missing & ~any_duration] = R.DURATION
                ok &= ~missing
            creative[:] = np.where(ok, chosen, -1)
            # Deals: the lowest floor among the impression's deals the campaign holds.
            if ctx.imp_deals[k].any():
                held = t.camp_deal_bits & bit_matrix(ctx.imp_deals[k])
                camp_best = np.where(held, ctx.imp_deal_floor[k], np.inf).min(axis=1)
                best = camp_best[t.camp_idx]
                has = ok & (best < np.inf)
                np.copyto(floor, best, where=has)
                if ctx.imp_private[k]:
                    code[ok & ~has] = R.DEAL
            elif ctx.imp_private[k]:
                code[ok] = R.DEAL
            _raise(reason, code)


class NumpySafety(SafetyAgent):
    def run(self, ctx: Context, state: Any) -> None:
        snap = ctx.snapshot
        t = tables(snap)
        blocked = ctx.freq_blocked
        blocked.fill(0)
        if ctx.user_key and snap.any_cap:
            key = splitmix64_array(ctx.user_key + t.capped_offset) | _U1
            size = np.uint64(state.keys.shape[0])
            h = splitmix64_array(key) % size
            count = np.zeros(key.size, dtype=np.int64)
            done = np.zeros(key.size, dtype=bool)
            for p in range(_PROBES):  # probes, not campaigns
                s = ((h + np.uint64(p)) % size).astype(np.intp)
                found = state.keys[s]
                hit = ~done & (found == key)
                live = hit & (ctx.now - state.starts[s] < t.cap_window)
                count[live] = state.counts[s[live]]
                done |= hit | (found == 0)
                if done.all():
                    break
            blocked[t.capped] = count >= t.cap_count
        # Precedence is the numeric order: OVERRIDE > EXCLUDED_CONTENT > FREQUENCY_CAP.
        code = ctx.camp_code
        code[:] = blocked
        code *= _U8(R.FREQUENCY_CAP)
        if t.excluded.any:
            code[t.excluded.hits(ctx.req_content)] = R.EXCLUDED_CONTENT
        code[state.paused != 0] = R.OVERRIDE
        reason = ctx.reason[: ctx.n_imp]
        _raise(reason, code[t.camp_idx])
        # Block lists: BLOCKED_CATEGORY > BLOCKED_ADVERTISER.
        if ctx.req_badv.any():
            _raise(reason, t.ad_domains.hits(ctx.req_badv).view(_U8) * _U8(R.BLOCKED_ADVERTISER))
        if ctx.req_bcat.any():
            _raise(reason, t.ad_categories.hits(ctx.req_bcat).view(_U8) * _U8(R.BLOCKED_CATEGORY))

    def learn(self, message: Any, state: Any) -> None:
        if isinstance(message, Outcome):
            snap = state.snapshot
            c = snap.campaign_index.get(message.campaign_id)
            if (
                message.kind != "impression"
                or message.user_key == 0
                or c is None
                or snap.camp_cap_count[c] <= 0
            ):
                return
            key = splitmix64_int((int(message.user_key) + c + 1) & _M64) | 1
            with state.lock:
                counter_add(
                    state.keys,
                    state.starts,
                    state.counts,
                    key,
                    float(message.timestamp),
                    float(snap.camp_cap_window[c]),
                    1,
                )
        elif isinstance(message, (PauseCampaign, ResumeCampaign)):
            super().learn(message, state)


def _learned_logit(
    base_logit: np.ndarray, shows: np.ndarray, actions: np.ndarray, prior_strength: float
) -> np.ndarray:
    p0 = _sigmoid(base_logit)
    p = np.clip((actions + prior_strength * p0) / (shows + prior_strength), 1e-9, 1.0 - 1e-9)
    return np.log(p / (1.0 - p)) - base_logit


class NumpyRelevance(RelevanceAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        state = super().bind(snapshot, None, services)
        if previous is not None:
            old = previous.snapshot.ad_index
            for i, aid in enumerate(snapshot.ad_ids):  # once per catalog swap
                j = old.get(aid)
                if j is not None:
                    state.shows[i] = previous.shows[j]
                    state.actions[i] = previous.actions[j]
            state.learned[:] = _learned_logit(
                snapshot.ad_base_logit, state.shows, state.actions, state.prior_strength
            )
        return state

    def run(self, ctx: Context, state: Any) -> None:
        snap = ctx.snapshot
        dot = snap.ad_embedding @ ctx.interest
        z = snap.ad_base_logit + state.learned + state.scale * dot.astype(np.float64)
        ctx.score[:] = _sigmoid(z) * _eligible(ctx)

    def fallback(self, ctx: Context, state: Any) -> None:
        z = ctx.snapshot.ad_base_logit + state.learned
        ctx.score[:] = _sigmoid(z) * _eligible(ctx)

    def learn(self, message: Any, state: Any) -> None:
        snap = state.snapshot
        i = snap.ad_index.get(message.ad_id)
        if i is None:
            return
        if message.kind == "impression":
            state.shows[i] += 1.0
        elif message.kind == ("click" if snap.ad_action[i] == 0 else "complete"):
            state.actions[i] += 1.0
        else:
            return
        s = slice(i, i + 1)
        state.learned[s] = _learned_logit(
            snap.ad_base_logit[s], state.shows[s], state.actions[s], state.prior_strength
        )


class NumpyBidding(BiddingAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        return tables(snapshot)

    def run(self, ctx: Context, state: _Tables) -> None:
        t = state
        # value: fixed CPM, else p * (conversion rate for target CPA) * amount * 1000
        v = ctx.score * t.conversion
        v *= t.amount
        v *= 1000.0
        np.copyto(v, t.amount, where=t.fixed)
        eligible = _eligible(ctx)
        np.multiply(v, eligible, out=ctx.value)
        np.multiply(np.minimum(v, t.max_bid), eligible, out=ctx.bid)


class NumpyPacing(PacingAgent):
    def run(self, ctx: Context, state: Any) -> None:
        # Controller state is updated once per pacing interval (not per request), by the
        # same code as adcore's; per request, the multipliers in NumPy.
        count_request(ctx, state)
        ledger = state.ledger
        daily, held = ledger.daily, ledger.held
        committed = ledger.spent_today + held
        a = daily - committed
        b = np.where(ledger.total >= 0, ledger.total - ledger.spent_total - held, a)
        np.maximum(np.minimum(a, b), 0, out=ctx.avail)
        live = committed < daily  # also excludes daily <= 0
        strategy = state.strategy
        m = np.ones(daily.shape)
        np.copyto(m, 1.0 / (1.0 + state.mu), where=strategy == _DUAL)
        np.copyto(m, state.u, where=strategy == _PID)
        throttled = strategy == _THROTTLE
        if throttled.any():
            draws = splitmix64_array(state.camp_key ^ ctx.request_key) >> np.uint64(11)
            m[throttled] = (draws.astype(np.float64) * 2.0**-53 < state.p)[throttled]
        np.multiply(m, live, out=ctx.mult)


class NumpyCreative(CreativeAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        return tables(snapshot)

    def run(self, ctx: Context, state: _Tables) -> None:
        focus = ctx.focus
        if focus != _FOCUS_HIGH and focus != _FOCUS_BACKGROUND:
            return
        t = state
        keys = t.var_dur if focus == _FOCUS_HIGH else t.var_negdur  # the smallest key wins
        for k in range(ctx.n_imp):
            lo = ctx.imp_mindur[k][t.format_idx]
            hi = ctx.imp_maxdur[k][t.format_idx]
            mimes = ctx.imp_mimes[k][t.format_idx]
            any_mime = mimes == 0
            protocols = ctx.imp_protocols[k][t.format_idx]
            any_protocol = protocols == 0
            eligible = t.is_media & (ctx.reason[k] == 0)
            best = np.full(t.n_ads, -1, dtype=np.intp)
            best_key = np.full(t.n_ads, np.inf)
            for s in range(t.var_idx.shape[0]):  # variant slots, not ads
                d = t.var_dur[s]
                fit = eligible & (d >= lo) & (d <= hi)
                fit &= any_mime | ((t.var_mimes[s] & mimes) != 0)
                fit &= (
                    any_protocol | t.var_any_protocol[s] | ((t.var_protocols[s] & protocols) != 0)
                )
                better = fit & (keys[s] < best_key)  # strict: ties keep the earlier one
                np.copyto(best_key, keys[s], where=better)
                np.copyto(best, t.var_idx[s], where=better)
            np.copyto(ctx.creative[k], best, where=best >= 0, casting="same_kind")


class NumpyAuction(AuctionAgent):
    """Single slots only (first or second price, hard and soft floors, deal priority):
    the benchmark's traffic has no pods or position auctions, and no bid shading."""

    learns_from: ClassVar[tuple[type, ...]] = ()  # nothing to learn without bid shading

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        cfg = services.config
        if cfg.bid_shading or cfg.multislot is not None:
            raise ValueError("the NumPy pipeline sells single slots without bid shading")
        return tables(snapshot)

    def observes(self, state: Any) -> bool:
        return False  # no bid shading (checked in bind)

    def run(self, ctx: Context, state: _Tables) -> None:
        if ctx.multislot or ctx.imp_pod[: ctx.n_imp].any():
            raise ValueError("the NumPy pipeline sells single slots only")
        t = state
        camp = t.camp_idx
        snap = ctx.snapshot
        won = ctx.won.view(bool)
        won.fill(False)
        avail = ctx.avail
        bid_x_mult = np.minimum(
            ctx.bid * ctx.mult[camp] * ctx.bid_factor[0], snap.camp_max_bid[camp]
        )
        for k in range(ctx.n_imp):
            eligible = (ctx.reason[k] == 0) & ~won
            e = np.minimum(bid_x_mult, avail[camp] / 1000.0)
            e *= eligible
            ctx.effective[:] = e
            floor = ctx.floor[k]
            cand = np.flatnonzero((e > 0.0) & (e >= floor))
            if cand.size == 0:
                ctx.win_ad[k] = -1
                ctx.win_bid[k] = ctx.win_price[k] = ctx.win_second[k] = 0.0
                ctx.win_micros[k] = 0
                ctx.win_propensity[k] = 0.0
                continue
            ce = e[cand]
            top, te = cand, ce
            # The highest priority present first, a private deal on this impression next.
            deal = (snap.camp_deals[camp[cand]] & ctx.imp_deals[k]).any(axis=1)
            if t.has_priority or deal.any():
                cp = 2 * t.priority[cand] + deal
                sel = cp == cp.max()
                top, te = cand[sel], ce[sel]
            tied = top[te == te.max()]
            if tied.size > 1:  # the higher expected value, then the lower tie key wins
                tv = ctx.value[tied]
                tied = tied[tv == tv.max()]
            if tied.size > 1:
                keys = splitmix64_array(ctx.snapshot.ad_key[tied] ^ ctx.request_key)
                best = int(tied[np.argmin(keys)])
            else:
                best = int(tied[0])
            best_eff = float(e[best])
            others = ce[camp[cand] != camp[best]]  # other campaigns set the price
            second = max(float(others.max()), 0.0) if others.size else 0.0
            n_cand = cand.size
            chosen = best
            propensity = 1.0
            explore = ctx.explore
            if explore > 0.0 and n_cand > 1:
                propensity = 1.0 - explore + explore / n_cand
                if ctx.draws[k, 0] < explore:
                    chosen = int(cand[min(int(ctx.draws[k, 1] * n_cand), n_cand - 1)])
            soft = float(ctx.imp_soft[k])
            if chosen == best:
                if ctx.imp_mech[k] == _FIRST_PRICE or best_eff < soft:
                    price = best_eff
                else:
                    price = second if second > floor[best] else float(floor[best])
                    price = min(max(price, soft), best_eff)
            else:
                propensity = explore / n_cand
                price = float(floor[chosen])
            c = int(camp[chosen])
            micros = min(int(np.int64(price * 1000.0 + 0.5)), int(avail[c]))
            avail[c] -= micros
            won[chosen] = True
            ctx.win_ad[k] = chosen
            ctx.win_bid[k] = e[chosen]
            ctx.win_price[k] = price
            ctx.win_micros[k] = micros
            ctx.win_propensity[k] = propensity
            ctx.win_second[k] = second


NUMPY_AGENTS = (
    NumpyPrivacy,
    NumpyFraud,
    NumpyAudience,
    NumpyInventory,
    NumpySafety,
    NumpyRelevance,
    NumpyBidding,
    NumpyPacing,
    NumpyCreative,
    NumpyAuction,
)


def numpy_agents() -> list[Any]:
    """Fresh instances of the ten NumPy agents, in adcore's default order."""
    return [cls() for cls in NUMPY_AGENTS]


def numpy_engine(catalog: Catalog, config: EngineConfig | None = None) -> Engine:
    """An :class:`adcore.Engine` whose ten agents compute with NumPy instead of Numba."""
    return Engine(catalog, config, agents=numpy_agents())
