"""Eligibility filters: each raises candidates' reason codes (never lowers them).

``reason`` has shape ``(max_imps, n_ads)``; only the first ``n_imp`` rows are used.
Campaign-level checks are computed once per campaign into ``camp_code`` (a scratch
array of length ``n_campaigns``) and broadcast to the campaign's ads, which the catalog
stores contiguously: campaign ``c`` owns ads ``camp_ad_ptr[c]:camp_ad_ptr[c + 1]``.
"""

import numpy as np

from . import reasons as R
from ._jit import helper, kernel
from .counters import campaign_counts_reached
from .scoring import interest_vector


@helper
def broadcast_campaign_codes(reason, n_imp, camp_ad_ptr, camp_code):
    """Raise every ad's reason to its campaign's code in ``camp_code``; the ads of
    campaign ``c`` are ``camp_ad_ptr[c]:camp_ad_ptr[c + 1]``."""
    for c in range(camp_code.shape[0]):
        code = camp_code[c]
        if code:
            for k in range(n_imp):
                for i in range(camp_ad_ptr[c], camp_ad_ptr[c + 1]):
                    if reason[k, i] < code:
                        reason[k, i] = code


@kernel
def privacy_filter(reason, n_imp, camp_ad_ptr, camp_code, camp_personal, personalise):
    """PRIVACY for ads of campaigns that need personal data when personalisation is not
    allowed."""
    for c in range(camp_code.shape[0]):
        camp_code[c] = R.PRIVACY if (camp_personal[c] and not personalise) else R.OK
    broadcast_campaign_codes(reason, n_imp, camp_ad_ptr, camp_code)


@helper
def targeting_filter(
    reason,
    n_imp,
    camp_ad_ptr,
    camp_code,
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
):
    """FLIGHT for ads of campaigns outside their flight, TARGETING when geo, device type, daypart,
    content category or audience segment targeting does not match.

    An empty target set means "any". ``req_devtype`` 0 and ``req_hour`` -1 mean unknown:
    they match only campaigns that do not target that dimension.

    Bitset tests are written out as loops over words: calling a helper that takes the
    arrays costs reference counting on every call, many times the test itself.
    """
    for c in range(camp_code.shape[0]):
        code = R.OK
        if now < camp_start[c] or now >= camp_end[c]:
            code = R.FLIGHT
        elif camp_devtypes[c] != 0 and (
            req_devtype <= 0 or req_devtype > 15 or not (camp_devtypes[c] >> req_devtype) & 1
        ):
            code = R.TARGETING
        elif camp_hours[c] != 0 and (req_hour < 0 or not (camp_hours[c] >> req_hour) & 1):
            code = R.TARGETING
        else:
            targeted = False
            hit = False
            for w in range(camp_countries.shape[1]):
                if camp_countries[c, w]:
                    targeted = True
                    if camp_countries[c, w] & req_country[w]:
                        hit = True
            if targeted and not hit:
                code = R.TARGETING
            targeted = False
            hit = False
            for w in range(camp_content.shape[1]):
                if camp_content[c, w]:
                    targeted = True
                    if camp_content[c, w] & req_content[w]:
                        hit = True
            if targeted and not hit:
                code = R.TARGETING
            targeted = False
            hit = False
            for w in range(camp_segments.shape[1]):
                if camp_segments[c, w]:
                    targeted = True
                    if camp_segments[c, w] & req_segments[w]:
                        hit = True
            if targeted and not hit:
                code = R.TARGETING
        camp_code[c] = code
    broadcast_campaign_codes(reason, n_imp, camp_ad_ptr, camp_code)


@helper
def safety_filter(
    reason,
    n_imp,
    camp_ad_ptr,
    camp_code,
    camp_paused,
    camp_freq_blocked,
    camp_excluded,
    req_content,
    ad_categories,
    req_bcat,
    ad_domains,
    req_badv,
):
    """OVERRIDE for paused campaigns, EXCLUDED_CONTENT when the page's content categories
    hit a campaign's exclusions, FREQUENCY_CAP when the user reached the campaign's cap;
    then the request's block lists (:func:`block_lists`)."""
    for c in range(camp_code.shape[0]):
        code = R.OK
        if camp_paused[c]:
            code = R.OVERRIDE
        else:
            for w in range(camp_excluded.shape[1]):
                if camp_excluded[c, w] & req_content[w]:
                    code = R.EXCLUDED_CONTENT
                    break
            if code == R.OK and camp_freq_blocked[c]:
                code = R.FREQUENCY_CAP
        camp_code[c] = code
    broadcast_campaign_codes(reason, n_imp, camp_ad_ptr, camp_code)
    block_lists(reason, n_imp, ad_categories, req_bcat, ad_domains, req_badv)


@helper
def block_lists(reason, n_imp, ad_categories, req_bcat, ad_domains, req_badv):
    """BLOCKED_CATEGORY for ads in a blocked category (or a sub-category of one),
    BLOCKED_ADVERTISER for ads whose advertiser domain is blocked."""
    for i in range(ad_categories.shape[0]):
        code = R.OK
        for w in range(ad_categories.shape[1]):
            if ad_categories[i, w] & req_bcat[w]:
                code = R.BLOCKED_CATEGORY
                break
        if code == R.OK:
            for w in range(ad_domains.shape[1]):
                if ad_domains[i, w] & req_badv[w]:
                    code = R.BLOCKED_ADVERTISER
                    break
        if code:
            for k in range(n_imp):
                if reason[k, i] < code:
                    reason[k, i] = code


@kernel
def veto_all(reason, n_imp, code):
    """Raise every candidate's reason to ``code`` (a request-level veto)."""
    for k in range(n_imp):
        for i in range(reason.shape[1]):
            if reason[k, i] < code:
                reason[k, i] = code


@kernel
def inventory_fit(
    reason,
    creative,
    floor,
    n_imp,
    ad_format,
    ad_campaign,
    var_ptr,
    var_duration,
    var_mimes,
    var_protocols,
    size_ptr,
    size_wh,
    imp_formats,
    imp_mimes,
    imp_protocols,
    imp_mindur,
    imp_maxdur,
    imp_sizes,
    imp_nsizes,
    imp_floor,
    imp_private,
    imp_currency_ok,
    camp_deals,
    imp_deals,
    imp_deal_floor,
    cand,
):
    """Match every ad against every impression: format, size (display), duration, MIME
    type and protocol (a creative variant must fit all three), currency, and
    private-auction deals.

    Each media object keeps its own limits, and an ad is held to those of its own
    format's object only: ``imp_mimes``, ``imp_protocols``, ``imp_mindur`` and
    ``imp_maxdur`` have shape ``(max_imps, 3)``, one column per ad format code (0
    display, 1 video, 2 audio), and ad ``i`` reads column ``ad_format[i]``. Sizes
    (``imp_sizes[k, :imp_nsizes[k]]``, the banner's; none listed means any) and the MIME
    types of column 0 apply to display ads; durations never do (column 0's are not
    read). A variant that fits the duration window and the MIME types but no protocol
    gives PROTOCOL.

    Writes the first fitting variant into ``creative`` (the default choice) and the
    candidate's floor into ``floor``: the impression's floor, or the lowest floor among
    the impression's deals the ad's campaign holds. Ads without a deal are not eligible
    for a private auction (DEAL).

    ``imp_formats`` has bit 0 for display, 1 for video, 2 for audio (a pod impression
    sets only its pod's bit); a MIME bitset of 0 means "any"; so does a protocol bitset
    of 0 on either side (an impression listing no protocols, a variant declaring none);
    ``imp_deals[k]`` is the bitset of the deals (by deal vocabulary bit) impression ``k``
    offers, and ``imp_deal_floor[k, bit]`` their floors.

    Finally lists in ``cand`` (ascending) the ads still eligible for at least one
    impression, and returns how many: later stages look only at them.
    """
    for k in range(n_imp):
        for i in range(ad_format.shape[0]):
            creative[k, i] = -1
            floor[k, i] = imp_floor[k]
            fmt = ad_format[i]
            if not imp_currency_ok[k]:
                code = R.CURRENCY
            elif not (imp_formats[k] >> fmt) & 1:
                code = R.FORMAT
            else:
                code = R.OK
                if fmt == 0 and imp_nsizes[k] > 0:
                    fits = False
                    for s in range(size_ptr[i], size_ptr[i + 1]):
                        for t in range(imp_nsizes[k]):
                            if (
                                size_wh[s, 0] == imp_sizes[k, t, 0]
                                and size_wh[s, 1] == imp_sizes[k, t, 1]
                            ):
                                fits = True
                                break
                        if fits:
                            break
                    if not fits:
                        code = R.SIZE
                if code == R.OK:
                    any_duration = False
                    chosen = -1
                    lo = imp_mindur[k, fmt]
                    hi = imp_maxdur[k, fmt]
                    any_mime = False
                    mimes = imp_mimes[k, fmt]
                    protocols = imp_protocols[k, fmt]
                    for v in range(var_ptr[i], var_ptr[i + 1]):
                        d = var_duration[v]
                        dur_ok = fmt == 0 or (d >= lo and d <= hi)
                        if dur_ok:
                            any_duration = True
                            if mimes == 0 or (var_mimes[v] & mimes) != 0:
                                any_mime = True
                                vp = var_protocols[v]
                                if protocols == 0 or vp == 0 or (vp & protocols) != 0:
                                    chosen = v
                                    break
                    if chosen < 0:
                        if any_mime:
                            code = R.PROTOCOL
                        elif any_duration:
                            code = R.MIME
                        else:
                            code = R.DURATION
                    else:
                        creative[k, i] = chosen
                if code == R.OK:
                    c = ad_campaign[i]
                    best = np.inf
                    for w in range(imp_deals.shape[1]):
                        held = camp_deals[c, w] & imp_deals[k, w]
                        if held:
                            for b in range(64):
                                if (held >> np.uint64(b)) & np.uint64(1):
                                    f = imp_deal_floor[k, w * 64 + b]
                                    if f < best:
                                        best = f
                    if best < np.inf:
                        floor[k, i] = best
                    elif imp_private[k]:
                        code = R.DEAL
            if reason[k, i] < code:
                reason[k, i] = code
    n_cand = 0
    if n_imp == 1:
        row = reason[0]
        for i in range(ad_format.shape[0]):
            if row[i] == 0:
                cand[n_cand] = i
                n_cand += 1
        return n_cand
    for i in range(ad_format.shape[0]):
        for k in range(n_imp):
            if reason[k, i] == 0:
                cand[n_cand] = i
                n_cand += 1
                break
    return n_cand


@kernel
def audience_pass(
    reason,
    n_imp,
    camp_ad_ptr,
    camp_code,
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
    interest,
    tokens,
    n_tokens,
    signal_vectors,
    content_rows,
    segment_rows,
):
    """The audience agent's work in one call: :func:`targeting_filter`, then the interest
    vector (:func:`adcore._kernels.scoring.interest_vector`) from the tokens and the
    request's content and segment bitsets; returns 1 when an interest is known."""
    targeting_filter(
        reason,
        n_imp,
        camp_ad_ptr,
        camp_code,
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
    return interest_vector(
        interest,
        tokens,
        n_tokens,
        signal_vectors,
        req_content,
        content_rows,
        req_segments,
        segment_rows,
    )


@kernel
def safety_pass(
    reason,
    n_imp,
    camp_ad_ptr,
    camp_code,
    camp_paused,
    camp_freq_blocked,
    camp_excluded,
    req_content,
    ad_categories,
    req_bcat,
    ad_domains,
    req_badv,
    keys,
    starts,
    counts,
    user_key,
    any_cap,
    now,
    cap_count,
    cap_window,
):
    """The safety agent's work in one call: which campaigns the user has reached the
    frequency cap of (:func:`adcore._kernels.counters.campaign_counts_reached`; none
    without a user key, or when no campaign of the snapshot is capped: ``any_cap``
    false), then :func:`safety_filter`."""
    campaign_counts_reached(
        camp_freq_blocked,
        keys,
        starts,
        counts,
        user_key if any_cap else np.uint64(0),
        now,
        cap_count,
        cap_window,
    )
    safety_filter(
        reason,
        n_imp,
        camp_ad_ptr,
        camp_code,
        camp_paused,
        camp_freq_blocked,
        camp_excluded,
        req_content,
        ad_categories,
        req_bcat,
        ad_domains,
        req_badv,
    )
