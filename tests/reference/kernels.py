"""Plain-Python references for the Numba kernels in ``adcore._kernels``.

Each function is written from the kernel's docstring (and the module docstrings), not
from its code: loops over Python ints and floats, sets instead of bit tricks where that
reads more plainly, new lists returned instead of arrays written in place. Inputs may be
NumPy arrays or nested lists; outputs are plain Python values.

Bitsets (``uint64`` words, bit ``b`` of the set in word ``b // 64``) are turned into Python
sets of bit numbers with :func:`bit_set`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MASK64 = (1 << 64) - 1

# The declared veto priority (adcore/_kernels/reasons.py): a higher code takes precedence.
OK = 0
CURRENCY = 1
FORMAT = 2
SIZE = 3
DURATION = 4
MIME = 5
PROTOCOL = 6
DEAL = 7
FLIGHT = 8
TARGETING = 9
FREQUENCY_CAP = 10
EXCLUDED_CONTENT = 11
BLOCKED_ADVERTISER = 12
BLOCKED_CATEGORY = 13
FRAUD = 14
PRIVACY = 15
OVERRIDE = 16

FIXED_CPM, TARGET_CPC, TARGET_CPA, MAX_VALUE = 0, 1, 2, 3
FOCUS_UNKNOWN, FOCUS_HIGH, FOCUS_BACKGROUND, FOCUS_NORMAL = 0, 1, 2, 3
FIRST_PRICE, SECOND_PRICE = 1, 2
PROBES = 8

Matrix = list[list[Any]]


# --------------------------------------------------------------------------- hashing


def splitmix64(x: int) -> int:
    """Vigna's splitmix64 output function for state ``x`` (add the golden gamma, then
    the two xor-shift-multiply rounds and a final xor-shift), on Python ints mod 2**64."""
    z = (int(x) + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def bit_set(words: Sequence[Any]) -> set[int]:
    """The bit numbers set in a bitset of 64-bit words."""
    out: set[int] = set()
    for w, word in enumerate(words):
        value = int(word)
        for b in range(64):
            if value >> b & 1:
                out.add(w * 64 + b)
    return out


def listed(cand: Any, n_cand: int | None, n: int) -> list[int]:
    """The ads a candidate list names (``cand[:n_cand]``), or all ``n`` without a list."""
    if cand is None:
        return list(range(n))
    return [int(i) for i in cand[:n_cand]]


def candidates(reason: Any, n_imp: int) -> list[int]:
    """The ads eligible (reason 0) for at least one of the first ``n_imp`` impressions,
    ascending: the candidate list later stages look at."""
    n = len(reason[0]) if len(reason) else 0
    return [i for i in range(n) if any(int(reason[k][i]) == 0 for k in range(n_imp))]


def _copy(matrix: Any) -> Matrix:
    return [[int(x) for x in row] for row in matrix]


def _raise_rows(reason: Any, n_imp: int, ad_codes: Sequence[int]) -> Matrix:
    """``reason`` with every row below ``n_imp`` raised to ``ad_codes`` (never lowered)."""
    out = _copy(reason)
    for k in range(n_imp):
        for i, code in enumerate(ad_codes):
            out[k][i] = max(out[k][i], code)
    return out


# --------------------------------------------------------------------------- filters


def privacy_filter(
    reason: Any, n_imp: int, ad_campaign: Any, camp_personal: Any, personalise: bool
) -> tuple[Matrix, list[int]]:
    """PRIVACY for ads of campaigns that need personal data when personalisation is off."""
    camp = [PRIVACY if (int(p) and not personalise) else OK for p in camp_personal]
    codes = [camp[int(c)] for c in ad_campaign]
    return _raise_rows(reason, n_imp, codes), camp


def targeting_codes(
    camp_start: Any,
    camp_end: Any,
    now: float,
    camp_countries: Any,
    req_country: Any,
    camp_devtypes: Any,
    req_devtype: int,
    camp_hours: Any,
    req_hour: int,
    camp_content: Any,
    req_content: Any,
    camp_segments: Any,
    req_segments: Any,
) -> list[int]:
    """Per campaign: FLIGHT outside ``[start, end)``, else TARGETING when any targeted
    dimension misses. An empty target set means any; an unknown request value (device type
    0, hour -1) matches only campaigns that do not target that dimension."""
    countries, content, segments = (
        bit_set(req_country),
        bit_set(req_content),
        bit_set(req_segments),
    )
    out = []
    for c in range(len(camp_start)):
        if not (float(camp_start[c]) <= now < float(camp_end[c])):
            out.append(FLIGHT)
            continue
        misses = []
        devtypes = {t for t in range(64) if int(camp_devtypes[c]) >> t & 1}
        if devtypes:
            misses.append(req_devtype not in devtypes)
        hours = {h for h in range(64) if int(camp_hours[c]) >> h & 1}
        if hours:
            misses.append(req_hour not in hours)
        for wanted, have in (
            (bit_set(camp_countries[c]), countries),
            (bit_set(camp_content[c]), content),
            (bit_set(camp_segments[c]), segments),
        ):
            if wanted:
                misses.append(not (wanted & have))
        out.append(TARGETING if any(misses) else OK)
    return out


def targeting_filter(
    reason: Any,
    n_imp: int,
    ad_campaign: Any,
    camp_start: Any,
    camp_end: Any,
    now: float,
    camp_countries: Any,
    req_country: Any,
    camp_devtypes: Any,
    req_devtype: int,
    camp_hours: Any,
    req_hour: int,
    camp_content: Any,
    req_content: Any,
    camp_segments: Any,
    req_segments: Any,
) -> tuple[Matrix, list[int]]:
    """The targeting filter: :func:`targeting_codes` broadcast to each campaign's ads."""
    camp = targeting_codes(
        camp_start,
        camp_end,
        now,
        camp_countries,
        req_country,
        camp_devtypes,
        req_devtype,
        camp_hours,
        req_hour,
        camp_content,
        req_content,
        camp_segments,
        req_segments,
    )
    return _raise_rows(reason, n_imp, [camp[int(c)] for c in ad_campaign]), camp


def safety_codes(
    camp_paused: Any, camp_freq_blocked: Any, camp_excluded: Any, req_content: Any
) -> list[int]:
    """Per campaign, the highest applicable of OVERRIDE (paused), EXCLUDED_CONTENT (an
    excluded category is in the content) and FREQUENCY_CAP (cap reached)."""
    content = bit_set(req_content)
    out = []
    for c in range(len(camp_paused)):
        applicable = [OK]
        if int(camp_paused[c]):
            applicable.append(OVERRIDE)
        if bit_set(camp_excluded[c]) & content:
            applicable.append(EXCLUDED_CONTENT)
        if int(camp_freq_blocked[c]):
            applicable.append(FREQUENCY_CAP)
        out.append(max(applicable))
    return out


def block_list_codes(
    ad_categories: Any, req_bcat: Any, ad_domains: Any, req_badv: Any
) -> list[int]:
    """Per ad, the highest of BLOCKED_CATEGORY and BLOCKED_ADVERTISER that applies."""
    bcat, badv = bit_set(req_bcat), bit_set(req_badv)
    out = []
    for i in range(len(ad_categories)):
        applicable = [OK]
        if bit_set(ad_categories[i]) & bcat:
            applicable.append(BLOCKED_CATEGORY)
        if bit_set(ad_domains[i]) & badv:
            applicable.append(BLOCKED_ADVERTISER)
        out.append(max(applicable))
    return out


def block_lists(
    reason: Any, n_imp: int, ad_categories: Any, req_bcat: Any, ad_domains: Any, req_badv: Any
) -> Matrix:
    return _raise_rows(
        reason, n_imp, block_list_codes(ad_categories, req_bcat, ad_domains, req_badv)
    )


def safety_filter(
    reason: Any,
    n_imp: int,
    ad_campaign: Any,
    camp_paused: Any,
    camp_freq_blocked: Any,
    camp_excluded: Any,
    req_content: Any,
    ad_categories: Any,
    req_bcat: Any,
    ad_domains: Any,
    req_badv: Any,
) -> tuple[Matrix, list[int]]:
    camp = safety_codes(camp_paused, camp_freq_blocked, camp_excluded, req_content)
    blocks = block_list_codes(ad_categories, req_bcat, ad_domains, req_badv)
    codes = [max(camp[int(c)], b) for c, b in zip(ad_campaign, blocks, strict=True)]
    return _raise_rows(reason, n_imp, codes), camp


def veto_all(reason: Any, n_imp: int, code: int) -> Matrix:
    return _raise_rows(reason, n_imp, [code] * len(reason[0]))


def protocol_fits(offered: Any, accepted: Any) -> bool:
    """A variant's protocols against an impression's: either side empty (0) accepts."""
    return int(offered) == 0 or int(accepted) == 0 or bool(int(offered) & int(accepted))


def inventory_fit(
    reason: Any,
    creative: Any,
    floor: Any,
    n_imp: int,
    ad_format: Any,
    ad_campaign: Any,
    var_ptr: Any,
    var_duration: Any,
    var_mimes: Any,
    var_protocols: Any,
    size_ptr: Any,
    size_wh: Any,
    imp_formats: Any,
    imp_mimes: Any,
    imp_protocols: Any,
    imp_mindur: Any,
    imp_maxdur: Any,
    imp_sizes: Any,
    imp_nsizes: Any,
    imp_floor: Any,
    imp_private: Any,
    imp_currency_ok: Any,
    camp_deals: Any,
    imp_deals: Any,
    imp_deal_floor: Any,
) -> tuple[Matrix, Matrix, Matrix, list[int]]:
    """Reason, default creative and floor per (impression, ad), and the candidate list.

    The checks in order, the first that fails giving the code: the floor's currency, the
    format, the display size (when the impression lists sizes), then a variant that fits
    the duration window (audio and video), the MIME types (0 = any) and the protocols
    (0 on either side = any), all read from the column of the ad's own format
    (``imp_mimes[k][format]`` etc.): DURATION when no variant fits the window, MIME when
    some do but none has an accepted type, PROTOCOL when some have but none an accepted
    protocol;
    last, deals: the floor is the lowest floor of the impression's deals the campaign
    holds, else the impression's; without a held deal a private auction gives DEAL.
    The candidates are the ads then eligible for some impression (:func:`candidates`).
    """
    out_reason = _copy(reason)
    out_creative = _copy(creative)
    out_floor = [[float(x) for x in row] for row in floor]
    for k in range(n_imp):
        imp_size_set = {
            (int(imp_sizes[k][t][0]), int(imp_sizes[k][t][1])) for t in range(int(imp_nsizes[k]))
        }
        deals_offered = bit_set(imp_deals[k])
        for i in range(len(ad_format)):
            fmt = int(ad_format[i])
            out_creative[k][i] = -1
            out_floor[k][i] = float(imp_floor[k])
            code = OK
            if not int(imp_currency_ok[k]):
                code = CURRENCY
            elif not (int(imp_formats[k]) >> fmt) & 1:
                code = FORMAT
            if code == OK and fmt == 0 and imp_size_set:
                ad_sizes = {
                    (int(size_wh[s][0]), int(size_wh[s][1]))
                    for s in range(int(size_ptr[i]), int(size_ptr[i + 1]))
                }
                if not (ad_sizes & imp_size_set):
                    code = SIZE
            if code == OK:
                lo, hi = float(imp_mindur[k][fmt]), float(imp_maxdur[k][fmt])
                wanted = int(imp_mimes[k][fmt])
                variants = range(int(var_ptr[i]), int(var_ptr[i + 1]))
                in_window = [v for v in variants if fmt == 0 or lo <= float(var_duration[v]) <= hi]
                typed = [v for v in in_window if wanted == 0 or int(var_mimes[v]) & wanted]
                accepted = [
                    v for v in typed if protocol_fits(var_protocols[v], imp_protocols[k][fmt])
                ]
                if accepted:
                    out_creative[k][i] = accepted[0]
                else:
                    code = PROTOCOL if typed else MIME if in_window else DURATION
            if code == OK:
                held = bit_set(camp_deals[int(ad_campaign[i])]) & deals_offered
                if held:
                    out_floor[k][i] = min(float(imp_deal_floor[k][b]) for b in held)
                elif int(imp_private[k]):
                    code = DEAL
            out_reason[k][i] = max(out_reason[k][i], code)
    return out_reason, out_creative, out_floor, candidates(out_reason, n_imp)


# --------------------------------------------------------------------------- scoring


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def interest_vector(
    tokens: Any,
    n_tokens: int,
    token_vectors: Any,
    content: Any = (),
    content_rows: Any = (),
    segments: Any = (),
    segment_rows: Any = (),
) -> tuple[list[float], int]:
    """The L2-normalised sum (1), or all zeros (0) when the sum is 0, of the signal rows
    present: ``tokens[:n_tokens]``, and the row of each bit set in the ``content`` and
    ``segments`` bitsets that has one (``*_rows[bit]``, -1 for none)."""
    d = len(token_vectors[0]) if len(token_vectors) else 0
    rows = [int(tokens[t]) for t in range(n_tokens)]
    for bits, row_of in ((content, content_rows), (segments, segment_rows)):
        rows += [int(row_of[b]) for b in sorted(bit_set(bits)) if int(row_of[b]) >= 0]
    total = [0.0] * d
    for r in rows:
        for j in range(d):
            total[j] += float(token_vectors[r][j])
    norm = math.sqrt(sum(x * x for x in total))
    if norm == 0.0:
        return [0.0] * d, 0
    return [x / norm for x in total], 1


def _eligible_somewhere(reason: Any, n_imp: int, i: int) -> bool:
    return any(int(reason[k][i]) == 0 for k in range(n_imp))


def action_probability(
    reason: Any,
    n_imp: int,
    embeddings: Any,
    interest: Any,
    base_logit: Any,
    learned_logit: Any,
    scale: float,
    cand: Any = None,
    n_cand: int | None = None,
) -> list[float]:
    """Per ad, sigmoid(base + learned + scale * <embedding, interest>) for the listed ads
    (all without a list) eligible for some impression; 0 for the others."""
    out = [0.0] * len(embeddings)
    for i in listed(cand, n_cand, len(embeddings)):
        if _eligible_somewhere(reason, n_imp, i):
            dot = sum(float(e) * float(x) for e, x in zip(embeddings[i], interest, strict=True))
            out[i] = sigmoid(float(base_logit[i]) + float(learned_logit[i]) + scale * dot)
    return out


def prior_probability(
    reason: Any,
    n_imp: int,
    base_logit: Any,
    learned_logit: Any,
    cand: Any = None,
    n_cand: int | None = None,
) -> list[float]:
    out = [0.0] * len(base_logit)
    for i in listed(cand, n_cand, len(base_logit)):
        if _eligible_somewhere(reason, n_imp, i):
            out[i] = sigmoid(float(base_logit[i]) + float(learned_logit[i]))
    return out


def learned_logit_update(
    base_logit: Any, shows: Any, actions: Any, prior_strength: float
) -> list[float]:
    """logit(p) - base, p the Beta-shrunk action rate clamped to [1e-9, 1 - 1e-9]."""
    out = []
    for z, n, a in zip(base_logit, shows, actions, strict=True):
        p0 = sigmoid(float(z))
        p = (float(a) + prior_strength * p0) / (float(n) + prior_strength)
        p = min(max(p, 1e-9), 1.0 - 1e-9)
        out.append(math.log(p) - math.log1p(-p) - float(z))
    return out


# --------------------------------------------------------------------------- bidding


def strategy_bids(
    reason: Any,
    n_imp: int,
    score: Any,
    ad_campaign: Any,
    camp_strategy: Any,
    camp_amount: Any,
    camp_max_bid: Any,
    camp_conversion_rate: Any,
    cand: Any = None,
    n_cand: int | None = None,
) -> tuple[list[float], list[float]]:
    """(bid, value) per ad in CPM; 0 for ads eligible in no impression or not listed."""
    bids, values = [0.0] * len(score), [0.0] * len(score)
    for i in listed(cand, n_cand, len(score)):
        if not _eligible_somewhere(reason, n_imp, i):
            continue
        c = int(ad_campaign[i])
        p, amount, strategy = float(score[i]), float(camp_amount[c]), int(camp_strategy[c])
        if strategy == FIXED_CPM:
            v = amount
        elif strategy == TARGET_CPA:
            v = 1000.0 * p * float(camp_conversion_rate[c]) * amount
        else:  # target CPC and maximise value: the expected value of an action
            v = 1000.0 * p * amount
        values[i] = v
        bids[i] = min(v, float(camp_max_bid[c]))
    return bids, values


# --------------------------------------------------------------------------- pacing


def budget_available(
    daily: Any, total: Any, spent_today: Any, spent_total: Any, held: Any
) -> list[int]:
    out = []
    for c in range(len(daily)):
        left = [int(daily[c]) - int(spent_today[c]) - int(held[c])]
        if int(total[c]) >= 0:
            left.append(int(total[c]) - int(spent_total[c]) - int(held[c]))
        out.append(max(0, min(left)))
    return out


def choose_variants(
    creative: Any,
    reason: Any,
    n_imp: int,
    ad_format: Any,
    var_ptr: Any,
    var_duration: Any,
    var_mimes: Any,
    var_protocols: Any,
    imp_mimes: Any,
    imp_protocols: Any,
    imp_mindur: Any,
    imp_maxdur: Any,
    focus: int,
    cand: Any = None,
    n_cand: int | None = None,
) -> Matrix:
    out = _copy(creative)
    if focus not in (FOCUS_HIGH, FOCUS_BACKGROUND):
        return out
    for k in range(n_imp):
        for i in listed(cand, n_cand, len(ad_format)):
            fmt = int(ad_format[i])
            if int(reason[k][i]) != 0 or fmt == 0:
                continue
            lo, hi = float(imp_mindur[k][fmt]), float(imp_maxdur[k][fmt])
            wanted = int(imp_mimes[k][fmt])
            fits = [
                v
                for v in range(int(var_ptr[i]), int(var_ptr[i + 1]))
                if lo <= float(var_duration[v]) <= hi
                and (wanted == 0 or int(var_mimes[v]) & wanted)
                and protocol_fits(var_protocols[v], imp_protocols[k][fmt])
            ]
            if not fits:
                continue
            sign = 1.0 if focus == FOCUS_HIGH else -1.0
            out[k][i] = min(fits, key=lambda v: (sign * float(var_duration[v]), v))
    return out


# --------------------------------------------------------------------------- fraud


def fraud_score(
    bot_agent: bool, missing_agent: bool, missing_address: bool, rate_count: int, rate_limit: int
) -> float:
    if bot_agent:
        return 1.0
    parts = [0.0]
    if missing_agent:
        parts.append(0.5)
    if missing_address:
        parts.append(0.2)
    if rate_limit > 0 and rate_count > rate_limit:
        parts.append(min(1.0, (rate_count - rate_limit) / rate_limit))
    return max(parts)


# --------------------------------------------------------------------------- counters


class ExactCounter:
    """Exact counts per key in fixed windows that start at the key's first count (after
    the previous window ended) and last ``window`` seconds. Unbounded memory."""

    def __init__(self) -> None:
        self.start: dict[int, float] = {}
        self.count: dict[int, int] = {}

    def add(self, key: int, now: float, window: float, amount: int) -> int:
        if key not in self.start or now - self.start[key] >= window:
            self.start[key] = now
            self.count[key] = 0
        self.count[key] += amount
        return self.count[key]

    def get(self, key: int, now: float, window: float) -> int:
        if key not in self.start or now - self.start[key] >= window:
            return 0
        return self.count[key]


class SlidingCounter:
    """Every event kept: the total added for a key in the last ``window`` seconds
    (``now - t < window``)."""

    def __init__(self) -> None:
        self.events: dict[int, list[tuple[float, int]]] = {}

    def add(self, key: int, now: float, amount: int) -> None:
        self.events.setdefault(key, []).append((now, amount))

    def get(self, key: int, now: float, window: float) -> int:
        return sum(a for t, a in self.events.get(key, []) if now - t < window)


class HashedCounter:
    """The documented hashed table: ``size`` slots, linear probing over at most ``PROBES``
    slots from ``splitmix64(key) % size``, key 0 for an empty slot. A missing key takes
    the first probed slot that is empty or expired; when every probed slot holds another
    live key, the one whose window started earliest (the first such, on a tie) is evicted.
    """

    def __init__(self, size: int) -> None:
        self.keys = [0] * size
        self.starts = [0.0] * size
        self.counts = [0] * size

    @classmethod
    def of(cls, keys: Any, starts: Any, counts: Any) -> HashedCounter:
        """A table holding a copy of the kernels' arrays."""
        table = cls(len(keys))
        table.keys = [int(k) for k in keys]
        table.starts = [float(t) for t in starts]
        table.counts = [int(c) for c in counts]
        return table

    def _probes(self, key: int) -> list[int]:
        size = len(self.keys)
        h = splitmix64(key) % size
        out = []
        for p in range(PROBES):
            s = (h + p) % size
            out.append(s)
            if self.keys[s] == 0:
                break  # an empty slot ends every probe sequence
        return out

    def get(self, key: int, now: float, window: float) -> int:
        for s in self._probes(key):
            if self.keys[s] == key:
                return self.counts[s] if now - self.starts[s] < window else 0
        return 0

    def add(self, key: int, now: float, window: float, amount: int) -> int:
        probes = self._probes(key)
        for s in probes:
            if self.keys[s] == key:
                if now - self.starts[s] >= window:
                    self.starts[s], self.counts[s] = now, 0
                self.counts[s] += amount
                return self.counts[s]
        free = [s for s in probes if self.keys[s] == 0 or now - self.starts[s] >= window]
        if free:
            victim = free[0]
        else:
            victim = min(probes, key=lambda s: (self.starts[s], probes.index(s)))
        self.keys[victim], self.starts[victim], self.counts[victim] = key, now, amount
        return amount


def campaign_key(user_key: int, campaign: int) -> int:
    """The counter key of (user, campaign)."""
    return splitmix64((user_key + campaign + 1) & MASK64) | 1


def campaign_counts_reached(
    keys: Any, starts: Any, counts: Any, user_key: int, now: float, cap_count: Any, cap_window: Any
) -> list[int]:
    """Per campaign, 1 when the user's count in the table reached the campaign's cap
    (a cap of 0: none; user key 0: nothing blocked)."""
    table = HashedCounter.of(keys, starts, counts)
    return [
        int(
            int(user_key) != 0
            and int(cap) > 0
            and table.get(campaign_key(int(user_key), c), now, float(window)) >= int(cap)
        )
        for c, (cap, window) in enumerate(zip(cap_count, cap_window, strict=True))
    ]


# --------------------------------------------------------------------------- one call per agent


def score_request(
    keys: Any,
    starts: Any,
    counts: Any,
    key: int,
    second_key: int,
    now: float,
    window: float,
    bot_agent: bool,
    missing_agent: bool,
    missing_address: bool,
    rate_limit: int,
) -> tuple[float, int, int, HashedCounter]:
    """(fraud score, the first key's count in its window, the second key's, the table
    after counting): each key is counted unless it is 0, the first with the request's
    signals, the second (an address beside a device id) by its rate alone; the score is
    the larger of the two."""
    table = HashedCounter.of(keys, starts, counts)
    count = table.add(int(key), now, window, 1) if int(key) != 0 else 0
    score = fraud_score(bot_agent, missing_agent, missing_address, count, rate_limit)
    second = table.add(int(second_key), now, window, 1) if int(second_key) != 0 else 0
    if int(second_key) != 0:
        score = max(score, fraud_score(False, False, False, second, rate_limit))
    return score, count, second, table


def safety_pass(
    reason: Any,
    n_imp: int,
    ad_campaign: Any,
    camp_paused: Any,
    camp_excluded: Any,
    req_content: Any,
    ad_categories: Any,
    req_bcat: Any,
    ad_domains: Any,
    req_badv: Any,
    keys: Any,
    starts: Any,
    counts: Any,
    user_key: int,
    any_cap: bool,
    now: float,
    cap_count: Any,
    cap_window: Any,
) -> tuple[Matrix, list[int], list[int]]:
    """(reason, campaign codes, frequency-capped campaigns): the caps reached (none when
    no campaign is capped, ``any_cap`` false: the user is not looked up), then the
    safety filter."""
    blocked = campaign_counts_reached(
        keys, starts, counts, user_key if any_cap else 0, now, cap_count, cap_window
    )
    reason_out, camp = safety_filter(
        reason,
        n_imp,
        ad_campaign,
        camp_paused,
        blocked,
        camp_excluded,
        req_content,
        ad_categories,
        req_bcat,
        ad_domains,
        req_badv,
    )
    return reason_out, camp, blocked


# --------------------------------------------------------------------------- auction


def run_auctions(
    n_imp: int,
    reason: Any,
    bid: Any,
    value: Any,
    mult: Any,
    ad_campaign: Any,
    floor: Any,
    avail: Any,
    ad_key: Any,
    priority: Any,
    camp_deals: Any,
    imp_deals: Any,
    request_key: int,
    imp_mech: Any,
    imp_soft: Any,
    explore: float,
    draws: Any,
    cand: Any = None,
    n_cand: int | None = None,
) -> dict[str, Any]:
    """The single-slot auctions of one request, impression by impression (see
    ``run_auctions``), among the listed ads (``cand[:n_cand]``; all ads without a list).

    Ranking: campaign priority, then a private deal of the impression held by the ad's
    campaign (``camp_deals[c] & imp_deals[k]``), then the effective bid, then the expected
    value, then the tie key. Prices: first
    price (``imp_mech[k] == 1``) the bid; second price the larger of the best bid of
    another campaign, the floor and the soft floor ``imp_soft[k]``, capped at the bid, or
    the bid itself when it is under the soft floor.

    Returns ``win_ad``, ``win_bid``, ``win_price``, ``win_micros``, ``win_propensity``,
    ``win_second`` (per impression), ``avail`` (after the wins), ``won`` (per ad),
    ``effective`` (each ad's effective bid in the last impression, 0 where it was not a
    bidder) and ``n_cand`` (how many bid in each impression).
    """
    n = len(bid)
    left = [int(a) for a in avail]
    won = [0] * n
    res: dict[str, Any] = {
        key: []
        for key in (
            "win_ad",
            "win_bid",
            "win_price",
            "win_micros",
            "win_propensity",
            "win_second",
            "n_cand",
        )
    }
    effective = [0.0] * n
    for k in range(n_imp):
        effective = [0.0] * n
        bidders = []  # in list order
        for i in listed(cand, n_cand, n):
            if int(reason[k][i]) != 0 or won[i]:
                continue
            c = int(ad_campaign[i])
            e = min(float(bid[i]) * float(mult[c]), left[c] / 1000.0)
            effective[i] = e
            if e > 0.0 and e >= float(floor[k][i]):
                bidders.append(i)
        res["n_cand"].append(len(bidders))
        if not bidders:
            for key, none in (
                ("win_ad", -1),
                ("win_bid", 0.0),
                ("win_price", 0.0),
                ("win_micros", 0),
                ("win_propensity", 0.0),
                ("win_second", 0.0),
            ):
                res[key].append(none)
            continue

        def tier(i: int, k: int = k) -> int:
            c = int(ad_campaign[i])
            deal = any(
                int(camp_deals[c][w]) & int(imp_deals[k][w]) for w in range(len(imp_deals[k]))
            )
            return 2 * int(priority[i]) + int(deal)

        ranked = sorted(
            bidders,
            key=lambda i: (
                -tier(i),
                -effective[i],
                -float(value[i]),
                splitmix64(int(ad_key[i]) ^ int(request_key)),
            ),
        )
        best = ranked[0]
        m = len(bidders)
        chosen, propensity = best, 1.0
        if explore > 0.0 and m > 1:
            propensity = 1.0 - explore + explore / m
            if float(draws[k][0]) < explore:
                chosen = bidders[min(int(float(draws[k][1]) * m), m - 1)]
                if chosen != best:
                    propensity = explore / m
        rivals = [i for i in bidders if int(ad_campaign[i]) != int(ad_campaign[best])]
        runner_up = max([effective[i] for i in rivals], default=0.0)
        soft = float(imp_soft[k])
        if chosen != best:
            price = float(floor[k][chosen])
        elif int(imp_mech[k]) == FIRST_PRICE or effective[best] < soft:
            price = effective[best]
        else:
            price = min(max(runner_up, float(floor[k][best]), soft), effective[best])
        c = int(ad_campaign[chosen])
        micros = min(int(price * 1000.0 + 0.5), left[c])
        left[c] -= micros
        won[chosen] = 1
        res["win_ad"].append(chosen)
        res["win_bid"].append(effective[chosen])
        res["win_price"].append(price)
        res["win_micros"].append(micros)
        res["win_propensity"].append(propensity)
        res["win_second"].append(runner_up)
    res["avail"] = left
    res["won"] = won
    res["effective"] = effective
    return res
