"""The default plan from audience to auction in one call.

When the engine runs the default agents untraced, the audience, inventory, safety,
relevance, bidding, pacing, creative and auction agents' kernels run here, in plan
order, in one compiled call: the same kernels their agents call one by one, so the
results are the same, without eight dispatches from Python. (Privacy and fraud run
before it: they hold Python-side logic and a lock.)
"""

from ._jit import kernel
from .auction import run_auctions
from .bidding import strategy_bids
from .creative import FOCUS_BACKGROUND, FOCUS_HIGH, choose_variants
from .filters import audience_pass, inventory_fit, safety_pass
from .pacing import pace
from .scoring import action_probability


@kernel
def audience_to_auction(
    reason,
    camp_ad_ptr,
    camp_code,
    camp_start,
    camp_end,
    camp_countries,
    req_country,
    camp_devtypes,
    camp_hours,
    camp_content,
    req_content,
    camp_segments,
    req_segments,
    interest,
    tokens,
    signal_vectors,
    cat_signal,
    seg_signal,
    creative,
    floor,
    ad_format,
    ad_campaign,
    var_ptr,
    var_duration,
    var_mimes,
    size_ptr,
    size_wh,
    imp_formats,
    imp_mimes,
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
    camp_paused,
    camp_freq_blocked,
    camp_excluded,
    ad_categories,
    req_bcat,
    ad_domains,
    req_badv,
    freq_keys,
    freq_starts,
    freq_counts,
    cap_count,
    cap_window,
    score,
    embeddings,
    base_logit,
    learned,
    scale,
    bid,
    value,
    camp_strategy,
    camp_amount,
    camp_max_bid,
    camp_conversion_rate,
    pacing,
    auction,
    n_imp,
    now,
    req_devtype,
    req_hour,
    n_tokens,
    user_key,
    focus,
    request_key,
    explore,
    multislot,
):
    """Run the audience ... auction agents' kernels in plan order; returns
    ``(has_interest, n_cand)``. ``user_key`` is 0 when no frequency cap applies.
    ``pacing`` is the tuple of :func:`adcore._kernels.pacing.pace`'s arguments but the
    request key, ``auction`` that of :func:`adcore._kernels.auction.run_auctions`'s
    array arguments (see ``adcore.agents.auction.AuctionAgent.arrays``)."""
    has_interest = audience_pass(
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
        cat_signal,
        seg_signal,
    )
    n_cand = inventory_fit(
        reason,
        creative,
        floor,
        n_imp,
        ad_format,
        ad_campaign,
        var_ptr,
        var_duration,
        var_mimes,
        size_ptr,
        size_wh,
        imp_formats,
        imp_mimes,
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
    )
    safety_pass(
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
        freq_keys,
        freq_starts,
        freq_counts,
        user_key,
        now,
        cap_count,
        cap_window,
    )
    action_probability(
        score, reason, n_imp, embeddings, interest, base_logit, learned, scale, cand, n_cand
    )
    strategy_bids(
        bid,
        value,
        reason,
        n_imp,
        score,
        ad_campaign,
        camp_strategy,
        camp_amount,
        camp_max_bid,
        camp_conversion_rate,
        cand,
        n_cand,
    )
    pace(*pacing, request_key)
    if n_cand > 0 and (focus == FOCUS_HIGH or focus == FOCUS_BACKGROUND):
        choose_variants(
            creative,
            reason,
            n_imp,
            ad_format,
            var_ptr,
            var_duration,
            var_mimes,
            imp_mimes,
            imp_mindur,
            imp_maxdur,
            focus,
            cand,
            n_cand,
        )
    run_auctions(*auction, n_imp, n_cand, request_key, explore, multislot)
    return has_interest, n_cand
