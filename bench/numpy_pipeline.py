"""The reference competitor of the decide benchmarks: adcore's ten-agent decision
pipeline written plainly with NumPy (vectorised array operations, no Numba, no Python
loops over ads).

Each class below is one of adcore's ten agents with the same name, the same declared
reads and writes, the same state (``bind``) and the same context arrays, but whose
``run`` computes with NumPy instead of calling adcore's Numba kernels. Plugged into an
ordinary :class:`adcore.Engine` (:func:`numpy_engine`), they make the *same* pipeline:
request validation, feature filling (:func:`adcore.features.fill_features`), budget holds
and the returned ``Decision`` are shared code, so a timing comparison measures exactly
what the kernels are for, the per-request work of the agents.

Loops remain only over impressions of a request (at most ``max_imps``) and over the 8
probes of a hashed counter; everything per ad or per campaign is an array operation.
Request-independent arrays derived from the catalog snapshot (per-ad copies of campaign
fields, bit matrices) are computed once in ``bind``, as a NumPy implementation would.

The benchmark checks that this pipeline decides exactly what adcore decides (same
eligibility reasons, floors, creatives, winners and prices) before timing it.
"""

from __future__ import annotations

import math
from typing import Any

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
from adcore.agents.pacing import planned_fraction
from adcore.agents.privacy import _gdpr_applies
from adcore.catalog import Catalog, CatalogSnapshot
from adcore.config import EngineConfig
from adcore.context import MAX_TOKENS, Context
from adcore.events import Outcome, PauseCampaign, ResumeCampaign

__all__ = ["NUMPY_AGENTS", "numpy_agents", "numpy_engine"]

# Mirrors of adcore's kernel constants (plain ints).
_FIXED_CPM, _TARGET_CPC, _TARGET_CPA = 0, 1, 2
_FOCUS_HIGH, _FOCUS_BACKGROUND = 1, 2
_PROBES = 8
_FIRST_PRICE = 1

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_U_GOLDEN, _U_M1, _U_M2 = np.uint64(_GOLDEN), np.uint64(_M1), np.uint64(_M2)
_U30, _U27, _U31, _U1 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(1)
_BIT_SHIFTS = np.arange(64, dtype=np.uint64)


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


def counter_add(keys: np.ndarray, starts: np.ndarray, counts: np.ndarray, key: int,
                now: float, window: float, amount: int) -> int:
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


def _raise(reason_row: np.ndarray, codes: np.ndarray) -> None:
    np.maximum(reason_row, codes, out=reason_row)


def _eligible(ctx: Context) -> np.ndarray:
    """Ads eligible in at least one impression of the request."""
    return (ctx.reason[: ctx.n_imp] == 0).any(axis=0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


# --------------------------------------------------------------------------- agents
class NumpyPrivacy(PrivacyAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        return (snapshot.camp_personal[snapshot.ad_campaign] * R.PRIVACY).astype(np.uint8)

    def run(self, ctx: Context, state: np.ndarray) -> None:
        request = ctx.request
        reasons: list[str] = []
        regs = request.regs
        device = request.device
        if regs is not None and regs.coppa:
            reasons.append("coppa")
        if device is not None and device.lmt:
            reasons.append("lmt")
        if device is not None and device.dnt:
            reasons.append("dnt")
        if regs is not None and regs.us_privacy:
            usp = regs.us_privacy
            if len(usp) == 4 and usp[2] in "Yy":
                reasons.append("us_privacy_opt_out")
        if _gdpr_applies(request):
            reasons.append("gdpr_no_verified_consent")
        ctx.consent_reasons = reasons
        personalise = not reasons
        ctx.personalise = personalise
        user = request.user
        snap = ctx.snapshot
        if personalise and user is not None:
            uid = user.id or user.buyeruid or (device.ifa if device is not None else None)
            if uid:
                ctx.user_key = np.uint64(stable_key(uid))
            segs = snap.segments
            if len(segs):
                for data in user.data:
                    segs.fill(ctx.req_segments, (s.id for s in data.segment if s.id))
        if not personalise and snap.any_personal:
            ctx.camp_code[:] = snap.camp_personal * R.PRIVACY
            _raise(ctx.reason[: ctx.n_imp], state)


class NumpyFraud(FraudAgent):
    def run(self, ctx: Context, state: Any) -> None:
        device = ctx.request.device
        ua = device.ua if device is not None else None
        ip = (device.ip or device.ipv6) if device is not None else None
        ident = (device.ifa or ip) if device is not None else None
        bot = bool(ua) and self._is_bot(ua, state)  # type: ignore[arg-type]
        count = 0
        if ident:
            with state.lock:
                count = counter_add(state.keys, state.starts, state.counts, stable_key(ident),
                                    ctx.now, state.window, 1)
        if bot:
            score = 1.0
        else:
            score = 0.5 if not ua else 0.0
            if not ip and score < 0.2:
                score = 0.2
            if state.limit > 0 and count > state.limit:
                score = max(score, min(1.0, (count - state.limit) / state.limit))
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
        ctx.fraud_signals = signals
        if score >= state.threshold:
            _raise(ctx.reason[: ctx.n_imp], np.uint8(R.FRAUD))


class NumpyAudience(AudienceAgent):
    def run(self, ctx: Context, state: Any) -> None:
        snap = ctx.snapshot
        # Targeting, per campaign, then broadcast to the campaigns' ads.
        now = ctx.now
        flight = (now < snap.camp_start) | (now >= snap.camp_end)
        dev = snap.camp_devtypes
        devtype = ctx.req_devtype
        if 0 < devtype <= 15:
            bad = (dev != 0) & (((dev >> devtype) & 1) == 0)
        else:
            bad = dev != 0
        hours = snap.camp_hours
        if ctx.req_hour >= 0:
            bad |= (hours != 0) & (((hours >> ctx.req_hour) & 1) == 0)
        else:
            bad |= hours != 0
        for target, req in ((snap.camp_countries, ctx.req_country),
                            (snap.camp_content, ctx.req_content),
                            (snap.camp_segments, ctx.req_segments)):
            bad |= target.any(axis=1) & ~(target & req).any(axis=1)
        code = ctx.camp_code
        code[:] = np.where(flight, R.FLIGHT, np.where(bad, R.TARGETING, R.OK))
        _raise(ctx.reason[: ctx.n_imp], code[snap.ad_campaign])

        # Focus state and interest vector.
        request = ctx.request
        ctx.focus = focus_state(request)
        signals = snap.signals.index
        if signals:
            names = ["cat:" + c for c in ctx.content_cats]
            where = request.site if request.site is not None else request.app
            if where is not None:
                names += ["kw:" + k for k in _keywords(where.keywords)]
                content = where.content
                if content is not None:
                    if content.genre:
                        names.append("genre:" + content.genre.lower())
                    names += ["kw:" + k for k in _keywords(content.keywords)]
            if ctx.personalise and request.user is not None:
                names += ["seg:" + s.id for d in request.user.data for s in d.segment if s.id]
            rows = [r for r in map(signals.get, names) if r is not None][:MAX_TOKENS]
            ctx.n_tokens = len(rows)
            ctx.tokens[: len(rows)] = rows
        ctx.interest.fill(0.0)
        ctx.has_interest = 0
        if ctx.n_tokens:
            v = snap.signal_vectors[ctx.tokens[: ctx.n_tokens]].sum(axis=0, dtype=np.float32)
            v64 = v.astype(np.float64)
            norm = float(v64 @ v64)
            if norm > 0.0:
                ctx.interest[:] = v64 * (1.0 / math.sqrt(norm))
                ctx.has_interest = 1


class _InventoryState:
    def __init__(self, snap: CatalogSnapshot) -> None:
        self.format_bit = np.left_shift(1, snap.ad_format.astype(np.int64))
        self.is_display = snap.ad_format == 0
        self.any_display = bool(self.is_display.any())
        self.var_display = self.is_display[snap.var_ad]
        self.size_ad = np.repeat(np.arange(snap.n_ads), np.diff(snap.size_ptr))
        self.camp_deal_bits = bit_matrix(snap.camp_deals)


class NumpyInventory(InventoryAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        return _InventoryState(snapshot)

    def run(self, ctx: Context, state: _InventoryState) -> None:
        snap = ctx.snapshot
        var_ad = snap.var_ad
        for k in range(ctx.n_imp):
            reason, creative, floor = ctx.reason[k], ctx.creative[k], ctx.floor[k]
            creative.fill(-1)
            floor.fill(ctx.imp_floor[k])
            if not ctx.imp_currency_ok[k]:
                _raise(reason, np.uint8(R.CURRENCY))
                continue
            code = np.where(state.format_bit & int(ctx.imp_formats[k]), R.OK,
                            R.FORMAT).astype(np.uint8)
            nsizes = int(ctx.imp_nsizes[k])
            if nsizes and state.any_display:
                want = ctx.imp_sizes[k, :nsizes]
                hit = (snap.size_wh[:, None, :] == want[None, :, :]).all(axis=2).any(axis=1)
                fits = np.zeros(snap.n_ads, dtype=bool)
                fits[state.size_ad[hit]] = True
                code[(code == R.OK) & state.is_display & ~fits] = R.SIZE
            # The first creative variant that fits both duration and MIME type.
            d = snap.var_duration
            dur_ok = state.var_display | ((d >= ctx.imp_mindur[k]) & (d <= ctx.imp_maxdur[k]))
            mimes = ctx.imp_mimes[k]
            fit = dur_ok if mimes == 0 else dur_ok & ((snap.var_mimes & mimes) != 0)
            idx = np.flatnonzero(fit)
            owner = var_ad[idx]
            first = np.ones(idx.size, dtype=bool)
            first[1:] = owner[1:] != owner[:-1]
            chosen = np.full(snap.n_ads, -1, dtype=np.int64)
            chosen[owner[first]] = idx[first]
            ok = code == R.OK
            missing = ok & (chosen < 0)
            if missing.any():
                any_dur = np.zeros(snap.n_ads, dtype=bool)
                any_dur[var_ad[dur_ok]] = True
                code[missing] = np.where(any_dur[missing], R.MIME, R.DURATION)
                ok &= ~missing
            creative[ok] = chosen[ok]
            # Deals: the lowest floor among the impression's deals the campaign holds.
            if ctx.imp_deals[k].any():
                held = state.camp_deal_bits & bit_matrix(ctx.imp_deals[k])
                camp_best = np.where(held, ctx.imp_deal_floor[k], np.inf).min(axis=1)
                best = camp_best[snap.ad_campaign]
                has = ok & (best < np.inf)
                floor[has] = best[has]
                if ctx.imp_private[k]:
                    code[ok & ~has] = R.DEAL
            elif ctx.imp_private[k]:
                code[ok] = R.DEAL
            _raise(reason, code)


class _SafetyExtra:
    def __init__(self, snap: CatalogSnapshot) -> None:
        self.capped = np.flatnonzero(snap.camp_cap_count > 0)
        self.capped_offset = (self.capped + 1).astype(np.uint64)
        self.cap_count = snap.camp_cap_count[self.capped]
        self.cap_window = snap.camp_cap_window[self.capped]


class NumpySafety(SafetyAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        state = super().bind(snapshot, previous, services)
        state.numpy = _SafetyExtra(snapshot)
        return state

    def run(self, ctx: Context, state: Any) -> None:
        snap = ctx.snapshot
        blocked = ctx.freq_blocked
        blocked.fill(0)
        if ctx.user_key and snap.any_cap:
            x = state.numpy
            key = splitmix64_array(ctx.user_key + x.capped_offset) | _U1
            size = np.uint64(state.keys.shape[0])
            h = splitmix64_array(key) % size
            count = np.zeros(key.size, dtype=np.int64)
            done = np.zeros(key.size, dtype=bool)
            for p in range(_PROBES):
                s = ((h + np.uint64(p)) % size).astype(np.intp)
                found = state.keys[s]
                hit = ~done & (found == key)
                live = hit & (ctx.now - state.starts[s] < x.cap_window)
                count[live] = state.counts[s[live]]
                done |= hit | (found == 0)
                if done.all():
                    break
            blocked[x.capped] = count >= x.cap_count
        code = ctx.camp_code
        excluded = (snap.camp_excluded & ctx.req_content).any(axis=1)
        code[:] = np.where(state.paused != 0, R.OVERRIDE,
                           np.where(excluded, R.EXCLUDED_CONTENT,
                                    np.where(blocked != 0, R.FREQUENCY_CAP, R.OK)))
        ad_code = code[snap.ad_campaign]
        if ctx.req_bcat.any() or ctx.req_badv.any():
            bcat = (snap.ad_categories & ctx.req_bcat).any(axis=1)
            badv = (snap.ad_domains & ctx.req_badv).any(axis=1)
            lists = np.where(bcat, R.BLOCKED_CATEGORY,
                             np.where(badv, R.BLOCKED_ADVERTISER, R.OK)).astype(np.uint8)
            np.maximum(ad_code, lists, out=ad_code)
        _raise(ctx.reason[: ctx.n_imp], ad_code)

    def learn(self, message: Any, state: Any) -> None:
        if isinstance(message, Outcome):
            snap = state.snapshot
            c = snap.campaign_index.get(message.campaign_id)
            if (message.kind != "impression" or message.user_key == 0 or c is None
                    or snap.camp_cap_count[c] <= 0):
                return
            key = splitmix64_int((int(message.user_key) + c + 1) & _M64) | 1
            with state.lock:
                counter_add(state.keys, state.starts, state.counts, key,
                            float(message.timestamp), float(snap.camp_cap_window[c]), 1)
        elif isinstance(message, (PauseCampaign, ResumeCampaign)):
            super().learn(message, state)


def _learned_logit(base_logit: np.ndarray, shows: np.ndarray, actions: np.ndarray,
                   prior_strength: float) -> np.ndarray:
    p0 = _sigmoid(base_logit)
    p = np.clip((actions + prior_strength * p0) / (shows + prior_strength), 1e-9, 1.0 - 1e-9)
    return np.log(p / (1.0 - p)) - base_logit


class NumpyRelevance(RelevanceAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        state = super().bind(snapshot, None, services)
        if previous is not None:
            old = previous.snapshot.ad_index
            for i, aid in enumerate(snapshot.ad_ids):
                j = old.get(aid)
                if j is not None:
                    state.shows[i] = previous.shows[j]
                    state.actions[i] = previous.actions[j]
            state.learned[:] = _learned_logit(snapshot.ad_base_logit, state.shows,
                                              state.actions, state.prior_strength)
        return state

    def run(self, ctx: Context, state: Any) -> None:
        snap = ctx.snapshot
        dot = snap.ad_embedding @ ctx.interest
        z = snap.ad_base_logit + state.learned + state.scale * dot.astype(np.float64)
        ctx.score[:] = np.where(_eligible(ctx), _sigmoid(z), 0.0)

    def fallback(self, ctx: Context, state: Any) -> None:
        z = ctx.snapshot.ad_base_logit + state.learned
        ctx.score[:] = np.where(_eligible(ctx), _sigmoid(z), 0.0)

    def learn(self, message: Any, state: Any) -> None:
        snap = state.snapshot
        i = snap.ad_index.get(message.ad_id)
        if i is None:
            return
        if message.kind == "impression":
            state.shows[i] += 1.0
        elif message.kind == ("click" if snap.ad_format[i] == 0 else "complete"):
            state.actions[i] += 1.0
        else:
            return
        s = slice(i, i + 1)
        state.learned[s] = _learned_logit(snap.ad_base_logit[s], state.shows[s],
                                          state.actions[s], state.prior_strength)


class _BiddingState:
    def __init__(self, snap: CatalogSnapshot) -> None:
        c = snap.ad_campaign
        self.strategy = snap.camp_strategy[c]
        self.amount = snap.camp_amount[c]
        self.max_bid = snap.camp_max_bid[c]
        self.conversion_rate = snap.camp_conversion_rate[c]


class NumpyBidding(BiddingAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        return _BiddingState(snapshot)

    def run(self, ctx: Context, state: _BiddingState) -> None:
        p = ctx.score
        s = state.strategy
        per_action = np.where(s == _TARGET_CPA, p * state.conversion_rate * state.amount,
                              p * state.amount) * 1000.0
        v = np.where(s == _FIXED_CPM, state.amount, per_action)
        eligible = _eligible(ctx)
        ctx.value[:] = np.where(eligible, v, 0.0)
        ctx.bid[:] = np.where(eligible, np.minimum(v, state.max_bid), 0.0)


class NumpyPacing(PacingAgent):
    def run(self, ctx: Context, state: Any) -> None:
        ledger = state.ledger
        planned = planned_fraction(ctx.now, state.cumulative)
        daily, held = ledger.daily, ledger.held
        a = daily - ledger.spent_today - held
        b = np.where(ledger.total >= 0, ledger.total - ledger.spent_total - held, a)
        np.maximum(np.minimum(a, b), 0, out=ctx.avail)
        committed = ledger.spent_today + held
        live = (daily > 0) & (committed < daily)
        fraction = np.divide(committed, daily, out=np.zeros(daily.shape), where=live)
        m = np.clip(1.0 - state.gain * (fraction - planned), state.floor, 1.0)
        ctx.mult[:] = np.where(live, m, 0.0)


class _CreativeState:
    def __init__(self, snap: CatalogSnapshot) -> None:
        self.var_start = snap.var_ptr[:-1]
        self.media_var = snap.ad_format[snap.var_ad] != 0


class NumpyCreative(CreativeAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        return _CreativeState(snapshot)

    def run(self, ctx: Context, state: _CreativeState) -> None:
        focus = ctx.focus
        if focus != _FOCUS_HIGH and focus != _FOCUS_BACKGROUND:
            return
        snap = ctx.snapshot
        if snap.var_ad.size == 0:
            return
        var_ad = snap.var_ad
        d = snap.var_duration
        key = d if focus == _FOCUS_HIGH else -d  # the smallest key wins
        for k in range(ctx.n_imp):
            fit = state.media_var & (ctx.reason[k][var_ad] == 0)
            fit &= (d >= ctx.imp_mindur[k]) & (d <= ctx.imp_maxdur[k])
            mimes = ctx.imp_mimes[k]
            if mimes != 0:
                fit &= (snap.var_mimes & mimes) != 0
            masked = np.where(fit, key, np.inf)
            best_key = np.minimum.reduceat(masked, state.var_start)
            idx = np.flatnonzero(fit & (masked == best_key[var_ad]))
            owner = var_ad[idx]
            first = np.ones(idx.size, dtype=bool)  # ties keep the earlier variant
            first[1:] = owner[1:] != owner[:-1]
            ctx.creative[k, owner[first]] = idx[first]

    def fallback(self, ctx: Context, state: Any) -> None:
        """Keep the inventory agent's default variants."""


class _AuctionState:
    def __init__(self, snap: CatalogSnapshot) -> None:
        self.priority = snap.ad_priority
        self.has_priority = bool((snap.ad_priority != snap.ad_priority[0]).any()) \
            if snap.n_ads else False


class NumpyAuction(AuctionAgent):
    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Any) -> Any:
        return _AuctionState(snapshot)

    def run(self, ctx: Context, state: _AuctionState) -> None:
        snap = ctx.snapshot
        camp = snap.ad_campaign
        won = ctx.won.view(bool)
        won.fill(False)
        avail = ctx.avail
        bid_x_mult = ctx.bid * ctx.mult[camp]
        for k in range(ctx.n_imp):
            eligible = (ctx.reason[k] == 0) & ~won
            e = np.minimum(bid_x_mult, avail[camp] / 1000.0)
            e = np.where(eligible, e, 0.0)
            ctx.effective[:] = e
            floor = ctx.floor[k]
            cand = np.flatnonzero(eligible & (e > 0.0) & (e >= floor))
            if cand.size == 0:
                ctx.win_ad[k] = -1
                ctx.win_bid[k] = ctx.win_price[k] = 0.0
                ctx.win_micros[k] = 0
                ctx.win_propensity[k] = 0.0
                continue
            ce = e[cand]
            top = cand
            te = ce
            if state.has_priority:
                cp = state.priority[cand]
                sel = cp == cp.max()
                top, te = cand[sel], ce[sel]
            tied = top[te == te.max()]
            if tied.size > 1:  # the lower tie key wins
                keys = splitmix64_array(snap.ad_key[tied] ^ ctx.request_key)
                best = int(tied[np.argmin(keys)])
            else:
                best = int(tied[0])
            best_eff = float(e[best])
            others = ce[cand != best]
            second = float(others.max()) if others.size else 0.0
            second = max(second, 0.0)
            n_cand = cand.size
            chosen = best
            propensity = 1.0
            explore = ctx.explore
            if explore > 0.0 and n_cand > 1:
                propensity = 1.0 - explore + explore / n_cand
                if ctx.draws[k, 0] < explore:
                    chosen = int(cand[min(int(ctx.draws[k, 1] * n_cand), n_cand - 1)])
            if chosen == best:
                if ctx.auction_type == _FIRST_PRICE:
                    price = best_eff
                else:
                    price = second if second > floor[best] else float(floor[best])
                    price = min(price, best_eff)
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


NUMPY_AGENTS = (NumpyPrivacy, NumpyFraud, NumpyAudience, NumpyInventory, NumpySafety,
                NumpyRelevance, NumpyBidding, NumpyPacing, NumpyCreative, NumpyAuction)


def numpy_agents() -> list[Any]:
    """Fresh instances of the ten NumPy agents, in adcore's default order."""
    return [cls() for cls in NUMPY_AGENTS]


def numpy_engine(catalog: Catalog, config: EngineConfig | None = None) -> Engine:
    """An :class:`adcore.Engine` whose ten agents compute with NumPy instead of Numba."""
    return Engine(catalog, config, agents=numpy_agents())
