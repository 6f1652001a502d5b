"""Every kernel in ``adcore._kernels`` against its naive reference (``tests/reference``)
and, where NumPy computes the same thing, against NumPy.

Inputs have the dtypes and shapes the engine passes (``adcore.context.Context`` and
``adcore.catalog.CatalogSnapshot``): reasons ``uint8 (max_imps, n_ads)``, bitsets
``uint64 (rows, words)``, ``ad_campaign int32`` with each campaign's ads contiguous
(``camp_ad_ptr``), budgets ``int64`` micro-units, embeddings ``float32``, and so on.
Kernels and references are called by parameter name from one dict of inputs
(:func:`call`), so a reordered signature cannot silently swap arrays. Integer outputs
are compared exactly; float outputs with the tolerance stated at each comparison.

Under ``NUMBA_DISABLE_JIT=1`` (the coverage run) the kernels run as Python: example
counts are cut tenfold, and NumPy's overflow warnings from the wrapping uint64
arithmetic of the hashes (intended, and silent in compiled code) are ignored.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from adcore._kernels import reasons as R
from adcore._kernels.bidding import scale_bids, strategy_bids
from adcore._kernels.bits import splitmix64
from adcore._kernels.counters import (
    PROBES,
    campaign_counts_reached,
    count_campaign,
    counter_add,
    counter_get,
)
from adcore._kernels.creative import (
    FOCUS_BACKGROUND,
    FOCUS_HIGH,
    FOCUS_NORMAL,
    FOCUS_UNKNOWN,
    choose_variants,
)
from adcore._kernels.filters import (
    audience_pass,
    block_lists,
    inventory_fit,
    privacy_filter,
    safety_filter,
    safety_pass,
    targeting_filter,
    veto_all,
)
from adcore._kernels.fraud import fraud_score, score_request
from adcore._kernels.pacing import budget_available, pace
from adcore._kernels.pointers import address_as
from adcore._kernels.scoring import (
    action_probability,
    interest_vector,
    learned_logit_update,
    prior_probability,
)
from adcore.context import MAX_SIZES, MAX_TOKENS, N_FORMATS

try:
    from tests.reference import kernels as ref
    from tests.reference import pacing as ref_pacing
except ImportError:  # pytest run without the project root on sys.path
    from reference import kernels as ref  # type: ignore[no-redef]
    from reference import pacing as ref_pacing  # type: ignore[no-redef]

JIT_DISABLED = bool(numba.config.DISABLE_JIT)

pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in scalar:RuntimeWarning")


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (a tenth without the JIT)."""
    return settings(
        max_examples=max(10, n // 10) if JIT_DISABLED else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@functools.cache
def parameters(fn: Callable[..., Any]) -> tuple[inspect.Parameter, ...]:
    return tuple(inspect.signature(getattr(fn, "py_func", fn)).parameters.values())


def call(fn: Callable[..., Any], inputs: dict[str, Any], **more: Any) -> Any:
    """``fn`` (a kernel or a reference) called with its parameters taken by name from
    ``more``, then ``inputs`` (a reference's optional parameters may be left out)."""
    args = {**inputs, **more}
    missing = [p.name for p in parameters(fn) if p.name not in args and p.default is p.empty]
    if missing:
        raise KeyError(f"{fn.__name__} takes {missing}: the test does not provide them")
    return fn(*(args.get(p.name, p.default) for p in parameters(fn)))


U64 = np.uint64
CODES = st.one_of(st.just(0), st.just(0), st.integers(0, 15))


def as_matrix(rows: Any, like: np.ndarray) -> np.ndarray:
    return np.array(rows, dtype=like.dtype).reshape(like.shape)


def looked_at(w: dict[str, Any]) -> np.ndarray:
    """Per ad: eligible for some impression and in the candidate list."""
    mask = np.zeros(w["n_ads"], dtype=bool)
    mask[w["cand"][: w["n_cand"]]] = True
    return mask & (w["reason"][: w["n_imp"]] == 0).any(axis=0)


# --------------------------------------------------------------------------- strategies


BITS = [0, 1, 2, 3, 63, 64, 65, 127]  # the vocabulary bits every bitset draws from


def words_of(bits: set[int], words: int) -> np.ndarray:
    out = np.zeros(words, dtype=np.uint64)
    for b in bits:
        out[b // 64] |= U64(1 << (b % 64))
    return out


@st.composite
def bitsets(draw: st.DrawFn, rows: int, words: int) -> np.ndarray:
    """``rows`` bitsets over a small vocabulary (so that sets meet), including bits next to
    word boundaries."""
    pool = BITS[: 5 if words == 1 else None]
    out = np.zeros((rows, words), dtype=np.uint64)
    for r in range(rows):
        out[r] = words_of(draw(st.sets(st.sampled_from(pool), max_size=3)), words)
    return out


def flags(draw: st.DrawFn, n: int) -> np.ndarray:
    return np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.uint8)


@st.composite
def layout(draw: st.DrawFn) -> dict[str, Any]:
    """Campaigns, their ads (contiguous, as the catalog stores them), impressions and the
    reason matrix on entry (rows past ``n_imp`` included: kernels must not touch them)."""
    n_camp = draw(st.integers(1, 4))
    per_campaign = draw(st.lists(st.integers(0, 3), min_size=n_camp, max_size=n_camp))
    ad_campaign = np.repeat(np.arange(n_camp, dtype=np.int32), per_campaign)
    n_ads = len(ad_campaign)
    max_imps = draw(st.integers(1, 4))
    reason = np.array(
        draw(st.lists(CODES, min_size=max_imps * n_ads, max_size=max_imps * n_ads)), dtype=np.uint8
    ).reshape(max_imps, n_ads)
    n_imp = draw(st.integers(0, max_imps))
    # The candidate list later stages look at: what inventory fit lists (the ads eligible
    # for some impression), or any ascending subset of the ads. Past n_cand: garbage.
    if draw(st.booleans()):
        listed = ref.candidates(reason, n_imp)
    else:
        listed = sorted(draw(st.sets(st.integers(0, max(n_ads - 1, 0)), max_size=n_ads)))
    cand = np.full(n_ads, -1, dtype=np.int64)
    cand[: len(listed)] = listed
    return dict(
        n_ads=n_ads,
        n_camp=n_camp,
        max_imps=max_imps,
        words=draw(st.integers(1, 2)),
        n_imp=n_imp,
        ad_campaign=ad_campaign,
        camp_ad_ptr=np.concatenate([[0], np.cumsum(per_campaign)]).astype(np.int32),
        reason=reason,
        cand=cand,
        n_cand=len(listed),
    )


@st.composite
def targeting_inputs(draw: st.DrawFn) -> dict[str, Any]:
    w = draw(layout())
    nc, words = w["n_camp"], w["words"]
    edges = st.sampled_from([-math.inf, 0.0, 10.0, 20.0, math.inf])

    def masks(values: st.SearchStrategy[int], most: int) -> np.ndarray:
        return np.array(
            [sum(1 << v for v in draw(st.sets(values, max_size=most))) for _ in range(nc)],
            dtype=np.int64,
        )

    w.update(
        camp_start=np.array(draw(st.lists(edges, min_size=nc, max_size=nc))),
        camp_end=np.array(draw(st.lists(edges, min_size=nc, max_size=nc))),
        now=draw(st.sampled_from([-1.0, 0.0, 5.0, 10.0, 19.5, 20.0, 25.0])),
        camp_countries=draw(bitsets(nc, words)),
        req_country=draw(bitsets(1, words))[0],
        camp_devtypes=masks(st.integers(1, 15), 3),  # OpenRTB device types 1-15
        req_devtype=draw(st.integers(-1, 16)),
        camp_hours=masks(st.integers(0, 23), 4),
        req_hour=draw(st.integers(-1, 23)),
        camp_content=draw(bitsets(nc, words)),
        req_content=draw(bitsets(1, words))[0],
        camp_segments=draw(bitsets(nc, words)),
        req_segments=draw(bitsets(1, words))[0],
    )
    return w


@st.composite
def safety_inputs(draw: st.DrawFn) -> dict[str, Any]:
    w = draw(layout())
    n, nc, words = w["n_ads"], w["n_camp"], w["words"]
    w.update(
        camp_paused=flags(draw, nc),
        camp_freq_blocked=flags(draw, nc),
        camp_excluded=draw(bitsets(nc, words)),
        req_content=draw(bitsets(1, words))[0],
        ad_categories=draw(bitsets(n, words)),
        req_bcat=draw(bitsets(1, words))[0],
        ad_domains=draw(bitsets(n, words)),
        req_badv=draw(bitsets(1, words))[0],
    )
    return w


SIZES = [(300, 250), (728, 90), (320, 50), (160, 600)]
DURATIONS = [0.0, 10.0, 15.0, 30.0, 60.0]
MIME_BITS = [0, 1, 2]
PROTOCOL_BITS = [2, 3, 7]  # VAST 2.0, VAST 3.0, VAST 4.0


@st.composite
def creatives(draw: st.DrawFn, n: int, cuts: list[float] = DURATIONS) -> dict[str, Any]:
    """Formats, variants (through ``var_ptr``) and display sizes (through ``size_ptr``)."""
    var_ptr, durations, mimes, protocols = [0], [], [], []
    size_ptr, sizes = [0], []
    for _ in range(n):
        for _ in range(draw(st.integers(0, 4))):
            durations.append(draw(st.sampled_from(cuts)))
            mimes.append(sum(1 << b for b in draw(st.sets(st.sampled_from(MIME_BITS), max_size=2))))
            protocols.append(
                sum(1 << b for b in draw(st.sets(st.sampled_from(PROTOCOL_BITS), max_size=2)))
            )
        var_ptr.append(len(durations))
        sizes += draw(st.lists(st.sampled_from(SIZES), max_size=2))
        size_ptr.append(len(sizes))
    return dict(
        ad_format=np.array(
            draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int8
        ),
        var_ptr=np.array(var_ptr, dtype=np.int32),
        var_duration=np.array(durations, dtype=np.float64),
        var_mimes=np.array(mimes, dtype=np.uint64),
        var_protocols=np.array(protocols, dtype=np.uint64),
        size_ptr=np.array(size_ptr, dtype=np.int32),
        size_wh=np.array(sizes, dtype=np.int32).reshape(len(sizes), 2),
    )


@st.composite
def impressions(draw: st.DrawFn, max_imps: int, words: int) -> dict[str, Any]:
    def column(strategy: st.SearchStrategy[Any], dtype: Any) -> np.ndarray:
        return np.array(draw(st.lists(strategy, min_size=max_imps, max_size=max_imps)), dtype=dtype)

    def per_format(strategy: st.SearchStrategy[Any], dtype: Any) -> np.ndarray:
        """One column per ad format (display, video, audio), each media object's own."""
        size = max_imps * N_FORMATS
        values = draw(st.lists(strategy, min_size=size, max_size=size))
        return np.array(values, dtype=dtype).reshape(max_imps, N_FORMATS)

    imp_sizes = np.zeros((max_imps, MAX_SIZES, 2), dtype=np.int32)
    imp_nsizes = np.zeros(max_imps, dtype=np.int32)
    for k in range(max_imps):
        listed = draw(st.lists(st.sampled_from(SIZES), max_size=3))
        imp_nsizes[k] = len(listed)
        for t, wh in enumerate(listed):
            imp_sizes[k, t] = wh
    mime_masks = st.one_of(
        st.just(0),
        st.sets(st.sampled_from(MIME_BITS + [63]), min_size=1).map(
            lambda bits: sum(1 << b for b in bits)
        ),
    )
    protocol_masks = st.one_of(
        st.just(0),
        st.sets(st.sampled_from(PROTOCOL_BITS + [0]), min_size=1).map(
            lambda bits: sum(1 << b for b in bits)
        ),
    )
    # Deal floors: drawn for the bits deals can have, a sentinel elsewhere (never read).
    imp_deal_floor = np.full((max_imps, words * 64), 1e9)
    for b in BITS[: 5 if words == 1 else None]:
        imp_deal_floor[:, b] = column(st.sampled_from([0.0, 0.25, 1.0, 3.0, 7.5]), np.float64)
    return dict(
        imp_formats=column(st.integers(0, 7), np.int64),
        imp_mimes=per_format(mime_masks, np.uint64),
        imp_protocols=per_format(protocol_masks, np.uint64),
        imp_mindur=per_format(st.sampled_from([0.0, 5.0, 15.0, 30.0]), np.float64),
        imp_maxdur=per_format(st.sampled_from([0.0, 15.0, 30.0, math.inf]), np.float64),
        imp_sizes=imp_sizes,
        imp_nsizes=imp_nsizes,
        imp_floor=column(st.sampled_from([0.0, 0.5, 1.0, 2.5]), np.float64),
        imp_private=column(st.integers(0, 1), np.uint8),
        imp_currency_ok=column(st.sampled_from([1, 1, 1, 0]), np.uint8),
        imp_deals=draw(bitsets(max_imps, words)),
        imp_deal_floor=imp_deal_floor,
    )


@st.composite
def inventory_inputs(draw: st.DrawFn, cuts: list[float] = DURATIONS) -> dict[str, Any]:
    w = draw(layout())
    n, m, words = w["n_ads"], w["max_imps"], w["words"]
    w.update(draw(creatives(n, cuts)))
    w.update(draw(impressions(m, words)))
    w.update(
        camp_deals=draw(bitsets(w["n_camp"], words)),
        # Whatever was there before: the kernel overwrites every (k < n_imp, ad).
        creative=np.array(
            draw(st.lists(st.integers(-1, 5), min_size=m * n, max_size=m * n)), dtype=np.int32
        ).reshape(m, n),
        floor=np.array(
            draw(st.lists(st.sampled_from([-1.0, 9.0]), min_size=m * n, max_size=m * n))
        ).reshape(m, n),
    )
    return w


@st.composite
def signal_inputs(
    draw: st.DrawFn, values: st.SearchStrategy[float], words: int | None = None
) -> dict[str, Any]:
    """Signal vectors (float32, as the catalog stores them), tokens, and the request's
    content and segment bitsets with each bit's signal row (-1: none)."""
    d = draw(st.integers(1, 8))
    n_signals = draw(st.integers(1, 6))
    if words is None:
        words = draw(st.integers(1, 2))
    vectors = np.array(
        draw(st.lists(values, min_size=d * n_signals, max_size=d * n_signals)), dtype=np.float32
    ).reshape(n_signals, d)
    n_tokens = draw(st.integers(0, MAX_TOKENS))
    tokens = np.zeros(MAX_TOKENS, dtype=np.int32)
    tokens[:n_tokens] = draw(
        st.lists(st.integers(0, n_signals - 1), min_size=n_tokens, max_size=n_tokens)
    )
    rows = st.one_of(st.just(-1), st.integers(0, n_signals - 1))
    w = dict(d=d, token_vectors=vectors, signal_vectors=vectors, tokens=tokens, n_tokens=n_tokens)
    for bits, row_of in (("content", "content_rows"), ("segments", "segment_rows")):
        w[bits] = draw(bitsets(1, words))[0]
        w[row_of] = np.full(words * 64, -1, dtype=np.int32)
        for b in BITS[: 5 if words == 1 else None]:
            w[row_of][b] = draw(rows)
    return w


def rows_used(t: dict[str, Any]) -> np.ndarray:
    """The signal rows an interest vector sums: the tokens, then the rows of the content
    and segment bits that have one."""
    rows = list(t["tokens"][: t["n_tokens"]])
    for bits, row_of in (("content", "content_rows"), ("segments", "segment_rows")):
        for b in range(64 * len(t[bits])):
            if int(t[bits][b // 64]) >> (b % 64) & 1 and t[row_of][b] >= 0:
                rows.append(t[row_of][b])
    return np.array(rows, dtype=np.int64)


# Well-scaled values (0 or 1e-3 <= |x| <= 1e3), stored as float32 as the catalog does.
SCALED = st.one_of(st.just(0.0), st.floats(1e-3, 1e3), st.floats(-1e3, -1e-3))
SCALED_FOR_AUDIENCE = st.one_of(st.just(0.0), st.floats(1e-2, 1e2), st.floats(-1e2, -1e-2))
# Multiples of 1/16 in [-16, 16]: sums of up to 80 of them are exact in float32.
DYADIC = st.integers(-256, 256).map(lambda x: x / 16.0)


def scratch(w: dict[str, Any]) -> np.ndarray:
    """A ``camp_code`` scratch array holding garbage, as between requests."""
    return np.full(w["n_camp"], 99, dtype=np.uint8)


# --------------------------------------------------------------------------- constants, hash


def test_reason_codes_are_the_declared_priority() -> None:
    names = [
        "OK",
        "CURRENCY",
        "FORMAT",
        "SIZE",
        "DURATION",
        "MIME",
        "PROTOCOL",
        "DEAL",
        "FLIGHT",
        "TARGETING",
        "FREQUENCY_CAP",
        "EXCLUDED_CONTENT",
        "BLOCKED_ADVERTISER",
        "BLOCKED_CATEGORY",
        "FRAUD",
        "PRIVACY",
        "OVERRIDE",
    ]
    assert [getattr(R, name) for name in names] == [getattr(ref, name) for name in names]
    assert [getattr(R, name) for name in names] == list(range(17))
    assert R.N_REASONS == 17


def test_splitmix64_known_values() -> None:
    # The first two outputs of the splitmix64 generator seeded with 0 (Vigna's reference C
    # code adds the gamma 0x9E3779B97F4A7C15 to the state, then mixes).
    assert int(splitmix64(U64(0))) == 0xE220A8397B1DCDAF
    assert ref.splitmix64(0) == 0xE220A8397B1DCDAF
    assert int(splitmix64(U64(0x9E3779B97F4A7C15))) == 0x6E789E6AA1B965F4
    assert ref.splitmix64(0x9E3779B97F4A7C15) == 0x6E789E6AA1B965F4


@cases(200)
@given(st.integers(0, 2**64 - 1))
def test_splitmix64_matches_reference(x: int) -> None:
    assert int(splitmix64(U64(x))) == ref.splitmix64(x)


# --------------------------------------------------------------------------- filters


@cases(150)
@given(layout(), st.data())
def test_privacy_filter_matches_reference(w: dict[str, Any], data: st.DataObject) -> None:
    w.update(camp_personal=flags(data.draw, w["n_camp"]), personalise=data.draw(st.booleans()))
    reason, camp_code = w["reason"].copy(), scratch(w)
    call(privacy_filter, w, reason=reason, camp_code=camp_code)
    want, want_camp = call(ref.privacy_filter, w)
    assert_array_equal(camp_code, want_camp)
    assert_array_equal(reason, as_matrix(want, reason))


@cases(200)
@given(targeting_inputs())
def test_targeting_filter_matches_reference(w: dict[str, Any]) -> None:
    reason, camp_code = w["reason"].copy(), scratch(w)
    call(targeting_filter, w, reason=reason, camp_code=camp_code)
    want, want_camp = call(ref.targeting_filter, w)
    assert_array_equal(camp_code, want_camp)
    assert_array_equal(reason, as_matrix(want, reason))


@cases(100)
@given(targeting_inputs())
def test_targeting_filter_matches_numpy(w: dict[str, Any]) -> None:
    """Campaign codes against NumPy's vectorised bitwise tests."""
    camp_code = scratch(w)
    call(targeting_filter, w, reason=w["reason"].copy(), camp_code=camp_code)
    in_flight = (w["camp_start"] <= w["now"]) & (w["now"] < w["camp_end"])
    misses = np.zeros(w["n_camp"], dtype=bool)
    for camp, req in (
        ("camp_countries", "req_country"),
        ("camp_content", "req_content"),
        ("camp_segments", "req_segments"),
    ):
        misses |= w[camp].any(axis=1) & ~(w[camp] & w[req]).any(axis=1)
    dev, hour = w["req_devtype"], w["req_hour"]
    dev_ok = (w["camp_devtypes"] >> dev) & 1 if 0 < dev <= 15 else 0
    misses |= (w["camp_devtypes"] != 0) & (dev_ok == 0)
    hour_ok = (w["camp_hours"] >> hour) & 1 if hour >= 0 else 0
    misses |= (w["camp_hours"] != 0) & (hour_ok == 0)
    assert_array_equal(
        camp_code, np.where(~in_flight, R.FLIGHT, np.where(misses, R.TARGETING, R.OK))
    )


@cases(120)
@given(
    targeting_inputs().flatmap(
        lambda w: st.tuples(st.just(w), signal_inputs(SCALED_FOR_AUDIENCE, words=w["words"]))
    )
)
def test_audience_pass_is_targeting_then_interest_vector(
    args: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    w, t = args
    w = {**w, **t, "content": w["req_content"], "segments": w["req_segments"]}
    reason, camp_code = w["reason"].copy(), scratch(w)
    interest = np.full(t["d"], np.nan, dtype=np.float32)
    flag = call(audience_pass, w, reason=reason, camp_code=camp_code, interest=interest)
    # The same two steps, one kernel each.
    reason2, camp_code2 = w["reason"].copy(), scratch(w)
    call(targeting_filter, w, reason=reason2, camp_code=camp_code2)
    interest2 = np.full(t["d"], np.nan, dtype=np.float32)
    assert flag == call(interest_vector, w, out=interest2)
    assert_array_equal(reason, reason2)
    assert_array_equal(camp_code, camp_code2)
    assert_array_equal(interest, interest2)
    # And the references.
    want_reason, want_camp = call(ref.targeting_filter, w)
    want_interest, want_flag = call(ref.interest_vector, w)
    assert_array_equal(reason, as_matrix(want_reason, reason))
    assert_array_equal(camp_code, want_camp)
    assert flag == want_flag
    if flag:  # tolerance as in test_interest_vector_matches_reference
        rows = w["token_vectors"][rows_used(w)].astype(np.float64)
        norm = float(np.linalg.norm(rows.sum(axis=0)))
        bound = len(rows) * 2.0**-24 * np.abs(rows).sum(axis=0) / norm + 2.0**-23
        assert (np.abs(interest - np.asarray(want_interest)) <= bound).all()


@cases(200)
@given(safety_inputs())
def test_safety_filter_matches_reference(w: dict[str, Any]) -> None:
    reason, camp_code = w["reason"].copy(), scratch(w)
    call(safety_filter, w, reason=reason, camp_code=camp_code)
    want, want_camp = call(ref.safety_filter, w)
    assert_array_equal(camp_code, want_camp)
    assert_array_equal(reason, as_matrix(want, reason))


@cases(120)
@given(safety_inputs(), st.integers(0, 3), st.booleans(), st.data())
def test_safety_pass_is_frequency_caps_then_safety_filter(
    w: dict[str, Any],
    user: int,
    any_cap: bool,
    data: st.DataObject,
) -> None:
    """Caps counted in a table (user 0: none known; ``any_cap`` false: the user is not
    looked up), then the safety filter."""
    nc = w["n_camp"]
    keys, starts, counts = new_table(64)
    w.update(
        keys=keys,
        starts=starts,
        counts=counts,
        user_key=U64(user),
        any_cap=any_cap,
        now=50.0,
        cap_count=np.array(
            data.draw(st.lists(st.integers(0, 2), min_size=nc, max_size=nc)), dtype=np.int64
        ),
        cap_window=np.array(
            data.draw(st.lists(st.sampled_from([10.0, 100.0]), min_size=nc, max_size=nc))
        ),
    )
    for c, when in data.draw(
        st.lists(st.tuples(st.integers(0, nc - 1), st.sampled_from([0.0, 45.0])), max_size=6)
    ):
        count_campaign(keys, starts, counts, U64(max(user, 1)), c, when, w["cap_window"][c])
    reason, camp_code, blocked = w["reason"].copy(), scratch(w), np.full(nc, 9, np.uint8)
    call(safety_pass, w, reason=reason, camp_code=camp_code, camp_freq_blocked=blocked)
    want_reason, want_camp, want_blocked = call(ref.safety_pass, w)
    assert blocked.tolist() == want_blocked
    assert_array_equal(camp_code, want_camp)
    assert_array_equal(reason, as_matrix(want_reason, reason))


@cases(100)
@given(safety_inputs())
def test_block_lists_match_reference_and_numpy(w: dict[str, Any]) -> None:
    reason = w["reason"].copy()
    call(block_lists, w, reason=reason)
    assert_array_equal(reason, as_matrix(call(ref.block_lists, w), reason))
    category = (w["ad_categories"] & w["req_bcat"]).any(axis=1)
    domain = (w["ad_domains"] & w["req_badv"]).any(axis=1)
    code = np.where(category, R.BLOCKED_CATEGORY, np.where(domain, R.BLOCKED_ADVERTISER, 0))
    rows = w["n_imp"]
    assert_array_equal(reason[:rows], np.maximum(w["reason"][:rows], code[None, :]))
    assert_array_equal(reason[rows:], w["reason"][rows:])


@cases(100)
@given(layout(), st.integers(0, 15))
def test_veto_all_matches_reference(w: dict[str, Any], code: int) -> None:
    reason = w["reason"].copy()
    call(veto_all, w, reason=reason, code=code)
    assert_array_equal(reason, as_matrix(call(ref.veto_all, w, code=code), reason))


@cases(250)
@given(inventory_inputs())
def test_inventory_fit_matches_reference(w: dict[str, Any]) -> None:
    reason, creative, floor = w["reason"].copy(), w["creative"].copy(), w["floor"].copy()
    cand = np.full(w["n_ads"], -7, dtype=np.int64)
    n_cand = call(inventory_fit, w, reason=reason, creative=creative, floor=floor, cand=cand)
    want_reason, want_creative, want_floor, want_cand = call(ref.inventory_fit, w)
    assert_array_equal(reason, as_matrix(want_reason, reason))
    assert_array_equal(creative, as_matrix(want_creative, creative))
    assert_array_equal(floor, as_matrix(want_floor, floor))  # floors are selected, not computed
    assert n_cand == len(want_cand)
    assert cand[:n_cand].tolist() == want_cand


FILTERS = ("privacy", "targeting", "safety", "block_lists", "veto_all", "inventory")


@st.composite
def all_filter_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """One layout with the inputs of every filter, and an order to run them in."""
    w = draw(targeting_inputs())
    n, nc, m, words = w["n_ads"], w["n_camp"], w["max_imps"], w["words"]
    w.update(
        camp_paused=flags(draw, nc),
        camp_freq_blocked=flags(draw, nc),
        camp_excluded=draw(bitsets(nc, words)),
        ad_categories=draw(bitsets(n, words)),
        req_bcat=draw(bitsets(1, words))[0],
        ad_domains=draw(bitsets(n, words)),
        req_badv=draw(bitsets(1, words))[0],
        camp_personal=flags(draw, nc),
        personalise=draw(st.booleans()),
        code=draw(st.integers(0, 15)),
        camp_deals=draw(bitsets(nc, words)),
        order=draw(st.permutations(FILTERS)),
    )
    w.update(draw(creatives(n)))
    w.update(draw(impressions(m, words)))
    return w


def apply_filter(name: str, w: dict[str, Any], reason: np.ndarray) -> None:
    kernel = {
        "privacy": privacy_filter,
        "targeting": targeting_filter,
        "safety": safety_filter,
        "block_lists": block_lists,
        "veto_all": veto_all,
        "inventory": inventory_fit,
    }[name]
    shape = reason.shape
    call(
        kernel,
        w,
        reason=reason,
        camp_code=scratch(w),
        creative=np.zeros(shape, dtype=np.int32),
        floor=np.zeros(shape),
        cand=np.zeros(shape[1], dtype=np.int64),
    )


@cases(100)
@given(all_filter_inputs())
def test_reason_codes_only_rise_and_filter_order_does_not_matter(w: dict[str, Any]) -> None:
    """The precedence rule: a filter raises a code to max(current, code) and never lowers
    it, touches no row past ``n_imp``, and so the final codes do not depend on the order
    the filters (agents) ran in."""
    reason = w["reason"].copy()
    n_imp = w["n_imp"]
    for name in w["order"]:
        before = reason.copy()
        apply_filter(name, w, reason)
        assert (reason >= before).all(), f"{name} lowered a code"
        assert_array_equal(reason[n_imp:], before[n_imp:], err_msg=name)
        # What the filter raises to is what it writes on an all-eligible matrix.
        fresh = np.zeros_like(reason)
        apply_filter(name, w, fresh)
        assert_array_equal(reason[:n_imp], np.maximum(before, fresh)[:n_imp], err_msg=name)
    in_declared_order = w["reason"].copy()
    for name in FILTERS:
        apply_filter(name, w, in_declared_order)
    assert_array_equal(reason, in_declared_order)


# --------------------------------------------------------------------------- scoring


@cases(250)
@given(signal_inputs(SCALED))
def test_interest_vector_matches_reference(t: dict[str, Any]) -> None:
    out = np.full(t["d"], np.nan, dtype=np.float32)
    flag = call(interest_vector, t, out=out)
    want, want_flag = call(ref.interest_vector, t)
    assert flag == want_flag
    if not flag:
        assert_array_equal(out, 0.0)
        return
    # Tolerance: the kernel sums in float32 (the dtype of ``out``), the reference in
    # float64. A float32 running sum of n terms is within n * 2**-24 * sum|x| of the exact
    # sum (the classic bound for recursive summation); normalising divides that by the
    # norm; storing the result in float32 adds one rounding (2**-24 relative, |x| <= 1).
    rows = t["token_vectors"][rows_used(t)].astype(np.float64)
    norm = float(np.linalg.norm(rows.sum(axis=0)))
    bound = len(rows) * 2.0**-24 * np.abs(rows).sum(axis=0) / norm + 2.0**-23
    assert (np.abs(out - np.asarray(want)) <= bound).all(), (out, want, bound)


@cases(150)
@given(signal_inputs(DYADIC))
def test_interest_vector_matches_numpy(t: dict[str, Any]) -> None:
    out = np.zeros(t["d"], dtype=np.float32)
    flag = call(interest_vector, t, out=out)
    total = t["token_vectors"][rows_used(t)].astype(np.float64).sum(axis=0)
    norm = np.linalg.norm(total)
    assert flag == (1 if norm > 0 else 0)
    # Sums are exact here; only the normalisation rounds, to float32 (2**-24 relative).
    assert_allclose(out, total / norm if norm > 0 else total, rtol=2e-7, atol=1e-7)


@pytest.mark.parametrize("magnitude", [1e-25, 1e-20, 1e20, 1e30])
def test_interest_vector_normalises_tiny_and_huge_finite_vectors(magnitude: float) -> None:
    """Regression: the squared norm was accumulated from float32 products, which lose
    precision below ~1e-19 (1e-20 gave 0.7071087 for 0.7071068), underflow to 0 below
    ~1e-23 (the kernel returned 0 and left the un-normalised sum in ``out``) and overflow
    above ~1.8e19 (it returned 1 with ``out`` all zeros)."""
    t = dict(
        token_vectors=np.array([[magnitude, 0.0, -magnitude]], dtype=np.float32),
        tokens=np.zeros(MAX_TOKENS, dtype=np.int32),
        n_tokens=1,
        content=np.zeros(1, dtype=np.uint64),
        segments=np.zeros(1, dtype=np.uint64),
        content_rows=np.full(64, -1, dtype=np.int32),
        segment_rows=np.full(64, -1, dtype=np.int32),
    )
    out = np.zeros(3, dtype=np.float32)
    assert call(interest_vector, t, out=out) == 1
    assert_allclose(out, [2**-0.5, 0.0, -(2**-0.5)], rtol=1e-6)


@st.composite
def scoring_inputs(draw: st.DrawFn) -> dict[str, Any]:
    w = draw(layout())
    n = w["n_ads"]
    d = draw(st.integers(1, 8))
    interest = np.array(
        draw(st.lists(st.floats(-1, 1, width=32), min_size=d, max_size=d)), dtype=np.float32
    )
    if draw(st.booleans()):
        interest[:] = 0.0  # no interest known
    w.update(
        embeddings=np.array(
            draw(st.lists(st.floats(-10, 10, width=32), min_size=n * d, max_size=n * d)),
            dtype=np.float32,
        ).reshape(n, d),
        interest=interest,
        base_logit=np.array(draw(st.lists(st.floats(-12, 12), min_size=n, max_size=n))),
        learned_logit=np.array(draw(st.lists(st.floats(-4, 4), min_size=n, max_size=n))),
        scale=draw(st.floats(-10, 10)),
    )
    return w


@cases(250)
@given(scoring_inputs())
def test_action_probability_matches_reference_and_numpy(w: dict[str, Any]) -> None:
    score = np.full(w["n_ads"], np.nan)
    call(action_probability, w, score=score)
    # Tolerance: the kernel computes the dot product in float32 (the embeddings' dtype),
    # products and sum, in any order (it vectorises): within (d + 1) * 2**-24 *
    # sum_j |e_ij x_j| of the exact value (the classic bound for a float32 dot product);
    # the logistic's slope is at most 1/4. Plus float64 rounding.
    d = w["embeddings"].shape[1]
    terms = np.abs(w["embeddings"].astype(np.float64) * w["interest"]).sum(axis=1)
    tol = 0.25 * abs(w["scale"]) * (d + 1) * 2.0**-24 * terms + 1e-14
    want = np.array(call(ref.action_probability, w))
    assert (np.abs(score - want) <= tol).all(), (score, want, tol)
    # NumPy: the float64 matrix-vector product and the logistic function.
    z = (
        w["base_logit"]
        + w["learned_logit"]
        + w["scale"] * (w["embeddings"].astype(np.float64) @ w["interest"].astype(np.float64))
    )
    eligible = looked_at(w)
    with np.errstate(over="ignore"):
        numpy_score = np.where(eligible, 1.0 / (1.0 + np.exp(-z)), 0.0)
    assert (np.abs(score - numpy_score) <= tol).all()
    assert ((score >= 0.0) & (score <= 1.0)).all()
    if not w["interest"].any():  # no interest: the prior and what was learned
        prior = np.full(w["n_ads"], np.nan)
        call(prior_probability, w, score=prior)
        assert_allclose(score, prior, rtol=1e-15, atol=0)


@cases(150)
@given(scoring_inputs())
def test_prior_probability_matches_reference(w: dict[str, Any]) -> None:
    score = np.full(w["n_ads"], np.nan)
    call(prior_probability, w, score=score)
    # The same float64 expression; exp may differ in the last bit.
    assert_allclose(score, call(ref.prior_probability, w), rtol=1e-14, atol=1e-300)


@cases(200)
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-15, 15), min_size=n, max_size=n),
            st.lists(st.tuples(st.floats(0, 1e6), st.floats(0, 1)), min_size=n, max_size=n),
            st.floats(0.01, 1000),
        )
    )
)
def test_learned_logit_update_matches_reference_and_numpy(
    args: tuple[list[float], list[tuple[float, float]], float],
) -> None:
    base, shows_rate, strength = args
    w = dict(
        base_logit=np.array(base),
        shows=np.array([s for s, _ in shows_rate]),
        actions=np.array([s * r for s, r in shows_rate]),
        prior_strength=strength,
    )
    learned = np.full(len(base), np.nan)
    call(learned_logit_update, w, learned=learned)
    # logit(p) at p clamped to [1e-9, 1 - 1e-9]: a relative error of 1e-15 in p moves it
    # by at most 1e-15 / (1 - p) <= 1e-6.
    assert_allclose(learned, call(ref.learned_logit_update, w), rtol=1e-9, atol=1e-6)
    p0 = 1.0 / (1.0 + np.exp(-w["base_logit"]))
    p = np.clip((w["actions"] + strength * p0) / (w["shows"] + strength), 1e-9, 1 - 1e-9)
    assert_allclose(learned, np.log(p / (1 - p)) - w["base_logit"], rtol=1e-9, atol=1e-6)


def test_learned_logit_update_without_evidence_is_zero() -> None:
    base = np.linspace(-10, 10, 21)
    learned = np.full(21, np.nan)
    learned_logit_update(learned, base, np.zeros(21), np.zeros(21), 5.0)
    assert_allclose(learned, 0.0, atol=1e-9)


# --------------------------------------------------------------------------- bidding


@cases(250)
@given(layout(), st.data())
def test_strategy_bids_match_reference_and_numpy(w: dict[str, Any], data: st.DataObject) -> None:
    n, nc = w["n_ads"], w["n_camp"]

    def floats(lo: float, hi: float, size: int) -> np.ndarray:
        return np.array(data.draw(st.lists(st.floats(lo, hi), min_size=size, max_size=size)))

    w.update(
        score=floats(0, 1, n),
        camp_strategy=np.array(
            data.draw(st.lists(st.integers(0, 3), min_size=nc, max_size=nc)), dtype=np.int8
        ),
        camp_amount=floats(0, 100, nc),
        camp_max_bid=floats(0, 50, nc),
        camp_conversion_rate=floats(0, 1, nc),
    )
    bid, value = np.full(n, np.nan), np.full(n, np.nan)
    call(strategy_bids, w, bid=bid, value=value)
    want_bid, want_value = call(ref.strategy_bids, w)
    # Products of up to four factors: reassociation may change the last bits (atol only
    # for subnormal products).
    assert_allclose(bid, want_bid, rtol=1e-14, atol=1e-300)
    assert_allclose(value, want_value, rtol=1e-14, atol=1e-300)
    c = w["ad_campaign"]
    s, amount, p = w["camp_strategy"][c], w["camp_amount"][c], w["score"]
    v = np.select(
        [s == 0, s == 2],
        [amount, p * w["camp_conversion_rate"][c] * amount * 1000.0],
        p * amount * 1000.0,
    )
    eligible = looked_at(w)
    assert_allclose(value, np.where(eligible, v, 0.0), rtol=1e-14, atol=1e-300)
    assert_allclose(
        bid, np.where(eligible, np.minimum(v, w["camp_max_bid"][c]), 0.0), rtol=1e-14, atol=1e-300
    )


# --------------------------------------------------------------------------- pacing


MICROS = st.one_of(st.integers(0, 10**6), st.integers(-(10**3), 10**12))


@cases(250)
@given(
    st.integers(1, 6).flatmap(
        lambda nc: st.lists(
            st.tuples(MICROS, st.one_of(st.just(-1), MICROS), MICROS, MICROS, MICROS),
            min_size=nc,
            max_size=nc,
        )
    )
)
def test_budget_available_matches_reference_and_numpy(rows: list[tuple[int, ...]]) -> None:
    names = ("daily", "total", "spent_today", "spent_total", "held")
    w = {
        name: np.array(col, dtype=np.int64)
        for name, col in zip(names, zip(*rows, strict=True), strict=True)
    }
    avail = np.full(len(rows), -7, dtype=np.int64)
    call(budget_available, w, avail=avail)
    assert_array_equal(avail, call(ref.budget_available, w))
    daily_left = w["daily"] - w["spent_today"] - w["held"]
    total_left = w["total"] - w["spent_total"] - w["held"]
    left = np.where(w["total"] >= 0, np.minimum(daily_left, total_left), daily_left)
    assert_array_equal(avail, np.maximum(left, 0))


@cases(300)
@given(
    st.integers(1, 6).flatmap(
        lambda nc: st.lists(
            st.tuples(
                MICROS,
                st.one_of(st.just(-1), MICROS),
                MICROS,
                MICROS,
                MICROS,
                st.sampled_from([0, 1, 2, 3]),  # pacing strategy
                st.floats(0, 20),  # mu
                st.floats(0, 1),  # u
                st.floats(0, 1),  # p
                st.integers(0, 2**64 - 1),  # campaign key
            ),
            min_size=nc,
            max_size=nc,
        )
    ),
    st.integers(0, 2**64 - 1),
)
def test_pace_is_budget_available_then_strategy_multipliers(
    rows: list[tuple[Any, ...]], request_key: int
) -> None:
    """Each campaign's multiplier comes from its strategy's state, and is 0 once its
    daily budget is committed (spent plus held)."""
    cols = list(zip(*rows, strict=True))
    money = ("daily", "total", "spent_today", "spent_total", "held")
    w: dict[str, Any] = {
        name: np.array(col, dtype=np.int64) for name, col in zip(money, cols[:5], strict=True)
    }
    w.update(
        strategy=np.array(cols[5], dtype=np.int8),
        mu=np.array(cols[6]),
        u=np.array(cols[7]),
        p=np.array(cols[8]),
        camp_key=np.array(cols[9], dtype=np.uint64),
        request_key=np.uint64(request_key),
    )
    avail, mult = np.full(len(rows), -7, dtype=np.int64), np.full(len(rows), np.nan)
    call(pace, w, avail=avail, mult=mult)
    assert_array_equal(avail, call(ref.budget_available, w))
    want = ref_pacing.strategy_multipliers(
        w["strategy"], w["mu"], w["u"], w["p"], w["camp_key"], request_key
    )
    committed = w["spent_today"] + w["held"]
    want = np.where((w["daily"] <= 0) | (committed >= w["daily"]), 0.0, want)
    assert_allclose(mult, want, rtol=1e-15, atol=0)
    assert ((mult >= 0) & (mult <= 1)).all()


# --------------------------------------------------------------------------- creative


@cases(150)
@given(
    inventory_inputs(cuts=[15.0, 15.0, 30.0]),  # cuts of equal length: ties
    st.sampled_from(
        [FOCUS_HIGH, FOCUS_BACKGROUND, FOCUS_HIGH, FOCUS_BACKGROUND, FOCUS_NORMAL, FOCUS_UNKNOWN]
    ),
    st.booleans(),
)
def test_choose_variants_matches_reference(
    w: dict[str, Any], focus: int, all_eligible: bool
) -> None:
    if all_eligible:  # the interesting case: every variant choice is made
        w["reason"][:] = 0
        w["cand"][:] = np.arange(w["n_ads"])
        w["n_cand"] = w["n_ads"]
    creative = w["creative"].copy()
    call(choose_variants, w, creative=creative, focus=focus)
    assert_array_equal(creative, as_matrix(call(ref.choose_variants, w, focus=focus), creative))


# --------------------------------------------------------------------------- fraud


@cases(300)
@given(st.booleans(), st.booleans(), st.booleans(), st.integers(0, 10**6), st.integers(-2, 10**5))
def test_fraud_score_matches_reference(
    bot: bool, no_ua: bool, no_ip: bool, count: int, limit: int
) -> None:
    w = dict(
        bot_agent=bot,
        missing_agent=no_ua,
        missing_address=no_ip,
        rate_count=count,
        rate_limit=limit,
    )
    score = call(fraud_score, w)
    assert score == pytest.approx(call(ref.fraud_score, w), rel=1e-15, abs=0)
    assert 0.0 <= score <= 1.0


@cases(150)
@given(
    st.integers(1, 16),
    st.lists(
        st.tuples(
            st.sampled_from([0, 0, 1, 2, 3, 2**64 - 1]),
            st.sampled_from([0, 0, 2, 7, 2**64 - 1]),
            st.sampled_from([0.0, 0.5, 4.0]),
            st.booleans(),
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(0, 4),
)
def test_score_request_counts_then_scores(
    size: int, requests: list[tuple[Any, ...]], limit: int
) -> None:
    """Each request is counted against its device key and its second (address) key
    (0: none, not counted) in the table, and scored with the larger of the two scores:
    the first count with the request's signals, the second count alone."""
    keys, starts, counts = new_table(size)
    now, window = 0.0, 5.0
    for key, second, step, bot, no_ua, no_ip in requests:
        now += step
        w = dict(
            keys=keys,
            starts=starts,
            counts=counts,
            key=U64(key),
            second_key=U64(second),
            now=now,
            window=window,
            bot_agent=bot,
            missing_agent=no_ua,
            missing_address=no_ip,
            rate_limit=limit,
        )
        want_score, want_count, want_second, table = call(ref.score_request, w)
        out = np.full(2, -3, dtype=np.int64)
        score = call(score_request, w, out=out)
        assert out.tolist() == [want_count, want_second]
        assert score == pytest.approx(want_score, rel=1e-15, abs=0)
        assert (keys.tolist(), starts.tolist(), counts.tolist()) == (
            table.keys,
            table.starts,
            table.counts,
        )


# --------------------------------------------------------------------------- counters


def new_table(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.zeros(size, dtype=np.uint64),
        np.zeros(size, dtype=np.float64),
        np.zeros(size, dtype=np.int64),
    )


Op = tuple[int, float, int]


@st.composite
def counter_ops(draw: st.DrawFn, n_keys: int, max_ops: int = 60) -> list[Op]:
    """(key, time step, amount): time never goes back; keys are non-zero (0 marks an
    empty slot)."""
    keys = draw(st.lists(st.integers(1, 2**64 - 1), min_size=1, max_size=n_keys, unique=True))
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(keys),
                st.sampled_from([0.0, 0.0, 0.5, 1.0, 3.0, 10.0]),
                st.integers(1, 3),
            ),
            min_size=1,
            max_size=max_ops,
        )
    )


@cases(200)
@given(
    st.one_of(st.integers(1, 4), st.integers(1, 40)),
    counter_ops(12),
    st.sampled_from([1.0, 5.0, 30.0]),
)
def test_hashed_counter_matches_reference_table(size: int, ops: list[Op], window: float) -> None:
    """The kernel's table against the documented probing and eviction, slot for slot."""
    keys, starts, counts = new_table(size)
    table = ref.HashedCounter(size)
    every_key = {key for key, _, _ in ops}
    now = 0.0
    for key, step, amount in ops:
        now += step
        got = counter_add(keys, starts, counts, U64(key), now, window, amount)
        assert got == table.add(key, now, window, amount)
        assert (keys.tolist(), starts.tolist(), counts.tolist()) == (
            table.keys,
            table.starts,
            table.counts,
        )
        for other in every_key:
            assert counter_get(keys, starts, counts, U64(other), now, window) == table.get(
                other, now, window
            )


@cases(150)
@given(counter_ops(20), st.sampled_from([1.0, 5.0, 30.0, math.inf]))
def test_large_table_counts_are_exact(ops: list[Op], window: float) -> None:
    """With far more slots than keys, counts equal an exact per-key counter's, and windows
    restart ``window`` seconds after they began."""
    keys, starts, counts = new_table(1 << 14)
    exact = ref.ExactCounter()
    every_key = {key for key, _, _ in ops}
    now = 0.0
    for key, step, amount in ops:
        now += step
        assert counter_add(keys, starts, counts, U64(key), now, window, amount) == exact.add(
            key, now, window, amount
        )
        for other in every_key:
            assert counter_get(keys, starts, counts, U64(other), now, window) == exact.get(
                other, now, window
            )


@cases(200)
@given(st.integers(1, 2 * PROBES), counter_ops(24, max_ops=80))
def test_tiny_table_never_overestimates_without_expiry(size: int, ops: list[Op]) -> None:
    """Under memory pressure (more keys than slots) counts are lost, never invented nor
    attributed to another key: every count is at most the exact count."""
    keys, starts, counts = new_table(size)
    exact = ref.ExactCounter()
    every_key = {key for key, _, _ in ops}
    now, window = 0.0, math.inf
    for key, step, amount in ops:
        now += step
        got = counter_add(keys, starts, counts, U64(key), now, window, amount)
        assert amount <= got <= exact.add(key, now, window, amount)
        for other in every_key:
            assert counter_get(keys, starts, counts, U64(other), now, window) <= exact.get(
                other, now, window
            )


@cases(200)
@given(st.integers(1, 2 * PROBES), counter_ops(24, max_ops=80), st.sampled_from([1.0, 5.0]))
def test_tiny_table_never_exceeds_what_the_last_window_added(
    size: int,
    ops: list[Op],
    window: float,
) -> None:
    """With windows and evictions, a count never exceeds what was added for the key in the
    last ``window`` seconds (a slot's window never starts before the key's first count in
    it)."""
    keys, starts, counts = new_table(size)
    events = ref.SlidingCounter()
    every_key = {key for key, _, _ in ops}
    now = 0.0
    for key, step, amount in ops:
        now += step
        events.add(key, now, amount)
        assert counter_add(keys, starts, counts, U64(key), now, window, amount) <= events.get(
            key, now, window
        )
        for other in every_key:
            assert counter_get(keys, starts, counts, U64(other), now, window) <= events.get(
                other, now, window
            )


def test_an_evicted_key_that_comes_back_starts_a_new_window() -> None:
    """The documented behaviour under eviction (and why counts are bounded by the last
    ``window`` seconds of events, not by the exact fixed-window count). One slot, window
    10: K at 0, J at 1 (evicts K), K at 5 (evicts J: K's window is now [5, 15)), K at 11:
    the table counts 2 where an exact counter, whose window for K restarted at 10, counts
    1; both K events at 5 and 11 are in the last 10 seconds."""
    keys, starts, counts = new_table(1)
    exact, events = ref.ExactCounter(), ref.SlidingCounter()
    got = []
    for key, now in ((3, 0.0), (5, 1.0), (3, 5.0), (3, 11.0)):
        got.append(int(counter_add(keys, starts, counts, U64(key), now, 10.0, 1)))
        exact.add(key, now, 10.0, 1)
        events.add(key, now, 1)
    assert got == [1, 1, 1, 2]
    assert exact.get(3, 11.0, 10.0) == 1
    assert got[-1] <= events.get(3, 11.0, 10.0) == 2
    assert counter_get(keys, starts, counts, U64(3), 14.9, 10.0) == 2
    assert counter_get(keys, starts, counts, U64(3), 15.0, 10.0) == 0


def test_counter_window_resets_after_window_seconds() -> None:
    keys, starts, counts = new_table(64)
    k = U64(12345)
    assert counter_get(keys, starts, counts, k, 0.0, 10.0) == 0
    assert counter_add(keys, starts, counts, k, 100.0, 10.0, 1) == 1
    assert counter_add(keys, starts, counts, k, 105.0, 10.0, 2) == 3
    assert counter_get(keys, starts, counts, k, 109.999, 10.0) == 3
    assert counter_get(keys, starts, counts, k, 110.0, 10.0) == 0  # the window is [100, 110)
    assert counter_add(keys, starts, counts, k, 110.0, 10.0, 1) == 1
    assert counter_get(keys, starts, counts, k, 119.0, 10.0) == 1
    assert counter_get(keys, starts, counts, k, 120.0, 10.0) == 0


@cases(150)
@given(
    st.integers(1, 2**63),
    st.integers(1, 5).flatmap(
        lambda nc: st.tuples(
            st.lists(st.integers(0, 4), min_size=nc, max_size=nc),
            st.lists(st.sampled_from([1.0, 10.0, 100.0]), min_size=nc, max_size=nc),
            st.lists(
                st.tuples(st.integers(0, nc - 1), st.sampled_from([0.0, 2.0, 20.0])), max_size=25
            ),
        )
    ),
)
def test_frequency_caps_block_at_the_exact_count(
    user: int,
    camps: tuple[list[int], list[float], list[tuple[int, float]]],
) -> None:
    cap_count, cap_window, shows = camps
    nc = len(cap_count)
    keys, starts, counts = new_table(1 << 12)
    exact = ref.ExactCounter()
    caps = np.array(cap_count, dtype=np.int64)
    windows = np.array(cap_window)
    blocked = np.full(nc, 7, dtype=np.uint8)
    now = 0.0
    for c, step in shows:
        now += step
        got = count_campaign(keys, starts, counts, U64(user), c, now, cap_window[c])
        assert got == exact.add(ref.campaign_key(user, c), now, cap_window[c], 1)
        campaign_counts_reached(blocked, keys, starts, counts, U64(user), now, caps, windows)
        want = [
            int(
                cap_count[j] > 0
                and exact.get(ref.campaign_key(user, j), now, cap_window[j]) >= cap_count[j]
            )
            for j in range(nc)
        ]
        assert blocked.tolist() == want
    campaign_counts_reached(blocked, keys, starts, counts, U64(0), now, caps, windows)
    assert not blocked.any()  # no user key (unknown or no consent): nothing is blocked


@numba.njit
def _add_one_through_address(address, n):  # type: ignore[no-untyped-def]
    view = numba.carray(address_as(address, np.float64), (n,))
    view[0] += 1.0
    return view.sum()


def test_an_array_rebuilt_from_its_address_is_the_same_memory() -> None:
    """What compiled segments do with every array argument: the address and shape give
    back the same memory (writes show in the caller's array), compiled or as Python."""
    x = np.arange(4.0)
    assert _add_one_through_address(x.ctypes.data, 4) == 7.0
    assert x.tolist() == [1.0, 1.0, 2.0, 3.0]


def test_scale_bids_multiplies_candidates_and_caps_them() -> None:
    bid = np.array([1.0, 2.0, 3.0, 4.0])
    per_ad = np.array([0.5, 2.0, 1.0, 2.0])
    max_bid = np.array([9.0, 3.0, 9.0, 9.0])
    cand = np.array([0, 1, 2], dtype=np.int64)  # ad 3 is not a candidate
    assert scale_bids(bid, cand, 3, per_ad, max_bid) == 2
    assert bid.tolist() == [0.5, 3.0, 3.0, 4.0]
