"""The auctions of one request: single slots (first or second price, hard and soft
floors, first-price bid shading, epsilon-greedy exploration), ad pods, and position
auctions (GSP, VCG) over all of a request's impressions."""

import numpy as np

from ._jit import helper, kernel
from .bits import splitmix64
from .mechanisms import FIRST_PRICE, GSP, SECOND_PRICE, VCG, multislot_auction, outranks
from .pod import (
    STAT_FILL_BUDGETED,
    STAT_FILL_GAP,
    STAT_NODES,
    STAT_PRICE_BUDGETED,
    pod_auction,
)
from .shading import shade_bid

__all__ = ["FIRST_PRICE", "GSP", "SECOND_PRICE", "VCG", "run_auctions"]


@helper
def _no_winner(k, win_ad, win_bid, win_price, win_micros, win_propensity, win_second):
    win_ad[k] = -1
    win_bid[k] = 0.0
    win_price[k] = 0.0
    win_micros[k] = 0
    win_propensity[k] = 0.0
    win_second[k] = 0.0


@helper
def _rank_ties(g_key, g_idx, value, m):
    """Replace the pod candidates' tie keys ``g_key[:m]`` (seeded hashes) by their
    ranks in the order expected value ``value[g_idx[s]]`` desc, then hash asc: the pod
    search ranks equal bids by these keys, so equal bids go to the higher expected
    value first, then to the lower hash."""
    by_hash = np.argsort(g_key[:m], kind="mergesort")
    ev = np.empty(m, dtype=np.float64)
    for r in range(m):
        ev[r] = -value[g_idx[by_hash[r]]]
    order = by_hash[np.argsort(ev, kind="mergesort")]
    for r in range(m):
        g_key[order[r]] = np.uint64(r)


@helper
def _offers_deals(k, imp_deals):
    """Whether impression ``k`` offers any private deal."""
    for w in range(imp_deals.shape[1]):
        if imp_deals[k, w] != 0:
            return True
    return False


@helper
def _charge(i, price, ad_campaign, avail):
    """Micro-units charged for one impression at ``price`` CPM, taken from ``avail``."""
    micros = np.int64(price * 1000.0 + 0.5)
    c = ad_campaign[i]
    if micros > avail[c]:
        micros = avail[c]
    avail[c] -= micros
    return micros


# What :func:`_gather` collects: the bidders of one single slot, of one pod, or the
# candidates of a position auction (eligible for every impression of the request).
_SINGLE = 0
_POD = 1
_POSITIONS = 2


@helper
def _gather(
    mode,
    k,
    n_imp,
    g_idx,
    g_eff,
    g_floor,
    g_prio,
    g_key,
    g_dur,
    effective,
    won,
    reason,
    bid,
    value,
    mult,
    ad_campaign,
    floor,
    avail,
    camp_cap,
    factor,
    ad_key,
    priority,
    camp_deals,
    imp_deals,
    request_key,
    cand,
    n_cand,
    creative,
    var_duration,
    cpmps,
    poddur,
):
    """The one eligibility pass of every auction: collect the candidates of impression
    ``k`` into ``g_*[:m]`` (in candidate order) and return ``m``.

    A candidate ``i`` of ``cand[:n_cand]`` takes part when it is eligible
    (``reason[k, i] == 0``, for ``_POSITIONS`` in every impression) and has not won an
    earlier impression of the request. Its effective bid is ``bid * mult[campaign] *
    factor`` capped at what its campaign may still commit (``avail / 1000``) and at
    ``camp_cap``; ``effective[i]`` receives it (``_SINGLE`` also zeroes ``effective``
    for the candidates that do not take part). Then, by ``mode``:

    - ``_SINGLE``: a bidder needs ``effective > 0`` and at least its floor;
      ``g_dur`` receives its expected value ``value[i]`` (ties);
    - ``_POD``: the floor is raised to ``cpmps`` times the duration of the ad's chosen
      creative, which ``g_dur`` receives; a bidder also needs that duration to fit
      ``poddur``;
    - ``_POSITIONS``: the floor is the highest of the candidate's floors over the
      request's impressions; every eligible candidate is kept (the position auction
      applies floors), ``g_dur`` receives ``value[i]``.

    ``g_floor`` receives the floor, ``g_key`` the seeded hash ``splitmix64(ad_key ^
    request_key)`` and ``g_prio`` the tier that ranks before the bid: twice the
    campaign's priority, plus one when the campaign holds one of the impression's
    private deals (``camp_deals & imp_deals``, tested only when the impression offers
    any) so that a deal bid meeting its floor outranks the open auction. (Written out
    here rather than in helpers: a helper taking arrays costs a call per candidate where
    LLVM does not inline it.)
    """
    deals = _offers_deals(k, imp_deals)
    m = 0
    for j in range(n_cand):
        i = cand[j]
        if mode == _POSITIONS:
            f = 0.0
            ok = True
            for q in range(n_imp):
                if reason[q, i] != 0:
                    ok = False
                    break
                if floor[q, i] > f:
                    f = floor[q, i]
            if not ok:
                continue
        else:
            if reason[k, i] != 0 or won[i]:
                if mode == _SINGLE:
                    effective[i] = 0.0
                continue
            f = floor[k, i]
        c = ad_campaign[i]
        e = bid[i] * mult[c] * factor
        cap = avail[c] / 1000.0
        if e > cap:
            e = cap
        if e > camp_cap[c]:
            e = camp_cap[c]
        effective[i] = e
        d = value[i]
        if mode == _POD:
            v = creative[k, i]
            d = var_duration[v] if v >= 0 else 0.0
            if cpmps * d > f:
                f = cpmps * d
            if d > poddur:
                continue
        if mode != _POSITIONS and (e <= 0.0 or e < f):
            continue
        g_idx[m] = i
        g_eff[m] = e
        g_floor[m] = f
        p = 2 * priority[i]
        if deals:
            for w in range(imp_deals.shape[1]):
                if camp_deals[c, w] & imp_deals[k, w]:
                    p += 1
                    break
        g_prio[m] = p
        g_key[m] = splitmix64(ad_key[i] ^ request_key)
        g_dur[m] = d
        m += 1
    return m


@helper
def _single_slot(
    k,
    m,
    win_ad,
    win_bid,
    win_price,
    win_micros,
    win_propensity,
    win_second,
    won,
    ad_campaign,
    avail,
    g_idx,
    g_eff,
    g_floor,
    g_prio,
    g_key,
    g_dur,
    mechanism,
    soft_floor,
    explore,
    draws,
    shade,
    sh_tries,
    sh_wins,
    sh_grid,
    slot,
    sh_prior,
    sh_min_tries,
    sh_work,
):
    """Impression ``k`` sold alone to its ``m`` bidders in ``g_*[:m]`` (from
    :func:`_gather`; see :func:`run_auctions`)."""
    if m == 0:
        _no_winner(k, win_ad, win_bid, win_price, win_micros, win_propensity, win_second)
        return
    # The best bidder in the ranking of every auction here (:func:`outranks`: tier,
    # effective bid, expected value, seeded hash), kept in registers.
    best = 0
    bp = g_prio[0]
    be = g_eff[0]
    bv = g_dur[0]
    bk = g_key[0]
    for s in range(1, m):
        if outranks(g_prio[s], g_eff[s], g_dur[s], g_key[s], bp, be, bv, bk):
            best = s
            bp = g_prio[s]
            be = g_eff[s]
            bv = g_dur[s]
            bk = g_key[s]
    best_eff = g_eff[best]
    best_campaign = ad_campaign[g_idx[best]]
    chosen = best
    propensity = 1.0
    if explore > 0.0 and m > 1:
        propensity = 1.0 - explore + explore / m
        if draws[k, 0] < explore:
            chosen = int(draws[k, 1] * m)
            if chosen >= m:
                chosen = m - 1
    # The price is set by competitors: the best bid of another campaign.
    second_eff = 0.0
    for s in range(m):
        if ad_campaign[g_idx[s]] != best_campaign and g_eff[s] > second_eff:
            second_eff = g_eff[s]
    if chosen == best:
        if mechanism == FIRST_PRICE:
            price = best_eff
            if shade:
                price = shade_bid(
                    best_eff,
                    g_floor[best],
                    sh_tries,
                    sh_wins,
                    slot,
                    sh_grid,
                    sh_prior,
                    sh_min_tries,
                    sh_work,
                )
        elif soft_floor > 0.0 and best_eff < soft_floor:
            price = best_eff  # between the hard and the soft floor: pays its bid
        else:
            price = second_eff
            if price < g_floor[best]:
                price = g_floor[best]
            if price < soft_floor:
                price = soft_floor
            if price > best_eff:
                price = best_eff
    else:
        propensity = explore / m
        price = g_floor[chosen]
    i = g_idx[chosen]
    won[i] = 1
    win_ad[k] = i
    win_bid[k] = g_eff[chosen]
    win_price[k] = price
    win_micros[k] = _charge(i, price, ad_campaign, avail)
    win_propensity[k] = propensity
    win_second[k] = second_eff


@helper
def _pod_groups(g_groups, m, i, c, ad_domains, ad_categories, dedupe):
    """Row ``m`` of the separation bitsets: the campaign's bit (never two ads of one
    campaign in a pod), then the ad's domains and categories when asked."""
    w = 0
    for _ in range(g_groups.shape[1]):
        g_groups[m, _] = np.uint64(0)
    g_groups[m, c >> 6] = np.uint64(1) << np.uint64(c & 63)
    n_camp_words = g_groups.shape[1] - ad_domains.shape[1] - ad_categories.shape[1]
    w = n_camp_words
    if dedupe & 1:
        for t in range(ad_domains.shape[1]):
            g_groups[m, w + t] = ad_domains[i, t]
    w += ad_domains.shape[1]
    if dedupe & 2:
        for t in range(ad_categories.shape[1]):
            g_groups[m, w + t] = ad_categories[i, t]


@kernel
def run_auctions(
    win_ad,
    win_bid,
    win_price,
    win_micros,
    win_propensity,
    win_second,
    effective,
    won,
    pod_ad,
    pod_bid,
    pod_price,
    pod_micros,
    pod_n,
    pod_nodes,
    pod_gap,
    pod_budgeted,
    reason,
    bid,
    value,
    mult,
    ad_campaign,
    floor,
    avail,
    camp_cap,
    forced_floor,
    bid_factor,
    ad_key,
    priority,
    camp_deals,
    imp_deals,
    imp_mech,
    imp_soft,
    draws,
    cand,
    slot_weight,
    imp_pod,
    imp_poddur,
    imp_maxseq,
    imp_cpmps,
    imp_dedupe,
    pod_budget,
    pod_request_budget,
    creative,
    var_duration,
    ad_domains,
    ad_categories,
    shade,
    sh_tries,
    sh_wins,
    sh_grid,
    imp_slot,
    sh_prior,
    sh_min_tries,
    sh_work,
    g_idx,
    g_eff,
    g_floor,
    g_prio,
    g_key,
    g_dur,
    g_groups,
    g_sel,
    g_sel2,
    g_price,
    g_work,
    g_stats,
    n_imp,
    n_cand,
    request_key,
    explore,
    multislot,
):
    """Resolve the first ``n_imp`` impressions of a request.

    **Discount.** Every bid is multiplied by ``bid_factor[0]`` (the fraud agent's
    discount of a suspicious request, 1 otherwise).

    **Caps.** ``camp_cap`` caps each campaign's effective bid: its ``max_bid``, or a
    lower human override (:class:`~adcore.events.CapBid`), so a pacing multiplier above 1
    never bids past it. ``forced_floor[0]``, when positive, raises every candidate's
    floor to it first (a human override, :class:`~adcore.events.ForceFloor`).

    **Effective bids.** A candidate is an ad in ``cand[:n_cand]`` (ascending) eligible for
    the impression (``reason[k, i] == 0``) that has not won an earlier impression of the
    request. It bids ``effective = bid * mult[campaign]`` capped at ``camp_cap`` and at what
    its campaign may still commit (``avail`` micro-units, decremented as impressions are
    won), and bids only when ``effective > 0`` and ``effective >= floor[k, i]`` (the
    hard floor). The campaign's ``priority`` ranks first, then whether the campaign holds one of the
    impression's private deals (``camp_deals & imp_deals``; its floor is then the deal's,
    so a deal bid that meets its floor outranks the open auction), then the effective
    bid; ties go to the higher expected value ``value[i]`` (the bidding kernel's, before
    the cap at the campaign's ``max_bid``), then to the lower
    ``splitmix64(ad_key ^ request_key)``, so the result never depends on candidate
    order. ``effective`` keeps each ad's effective bid from the last
    impression it was computed for (for traces).

    **Single slots** (``multislot == 0`` and ``imp_pod[k] == 0``), impression by impression:

    - second price (``imp_mech[k] == 2``): the winner pays the larger of the best bid
      of another campaign (a campaign never sets its own price), its hard floor and the
      soft floor ``imp_soft[k]``, never more than its bid;
      a winner bidding below the soft floor pays its own bid;
    - first price (1): the winner pays its bid, or, with ``shade``, the shaded bid of
      :func:`adcore._kernels.shading.shade_bid` for the impression's placement slot
      ``imp_slot[k]``;
    - with probability ``explore`` (``draws[k, 0]``) a uniformly drawn candidate
      (``draws[k, 1]``) wins instead and pays its floor; ``win_propensity`` is the
      probability the policy had of choosing the winner. ``win_second`` is the best
      bid of another campaign (for reserve-price learning).

    **Ad pods** (``imp_pod[k] == 1``): the candidates fill a pod of total duration
    ``imp_poddur[k]`` with at most ``imp_maxseq[k]`` ads (and ``pod_ad.shape[1]``),
    maximising the sum of effective bids (:func:`adcore._kernels.pod.fill_pod`), equal
    bids ranked by expected value ``value[i]``, then by ``splitmix64(ad_key ^ request_key)``
    (among pods of equal total bid the search keeps the one whose ads come first in that
    order); each ad's duration is its chosen creative's, its floor the larger of the
    hard floor and ``imp_cpmps[k]`` times its duration. No two ads of one campaign share
    a pod, nor (``imp_dedupe[k]`` bit 1) two ads sharing an advertiser domain, nor (bit
    2) an IAB category. Prices: first price pays bids; second price pays VCG prices within the
    pod (:func:`adcore._kernels.pod.pod_prices`), charging each campaign only for what
    it displaces from other campaigns. Each search explores at most
    ``pod_budget`` nodes (:func:`adcore._kernels.pod.pod_auction`), and the searches of
    one request share ``pod_request_budget``: a pod's searches get at most an even share
    of what its request has left (never less than 1 node each). ``pod_nodes[k]``
    receives the nodes of all the impression's searches, ``pod_gap[k]`` the bound on the
    fill's distance from the optimum (0 when exact), ``pod_budgeted[k]`` bit 0 whether
    the fill ran out of budget, bit 1 whether a price search did (all 0 outside pods).
    ``pod_*[k, :pod_n[k]]`` hold the pod in order; ``win_*[k]`` its first ad.

    **Position auctions** (``multislot`` GSP or VCG): the request's impressions are the
    positions of one placement, with weights ``slot_weight``; the candidates are the ads
    eligible for every impression, their floor the highest of their floors, and
    :func:`adcore._kernels.mechanisms.multislot_auction` assigns and prices them: one
    position per campaign, prices set by other campaigns' bids, equal bids ranked by
    expected value.

    Pods and position auctions do not explore (propensity 1).
    """
    n = bid.shape[0]
    nodes_left = pod_request_budget
    for i in range(n):
        won[i] = 0
        effective[i] = 0.0
    for k in range(n_imp):
        pod_n[k] = 0
        pod_nodes[k] = 0
        pod_gap[k] = 0.0
        pod_budgeted[k] = 0
    factor = bid_factor[0]
    forced = forced_floor[0]
    if forced > 0.0:  # a human override: every floor at least this
        for k in range(n_imp):
            for j in range(n_cand):
                i = cand[j]
                if floor[k, i] < forced:
                    floor[k, i] = forced
    positions = multislot == GSP or multislot == VCG
    # The words of the pods' separation bitsets that name a campaign (the rest are the
    # ads' domains and categories): a winner's VCG price leaves out its whole campaign.
    camp_words = g_groups.shape[1] - ad_domains.shape[1] - ad_categories.shape[1]
    for k in range(1 if positions else n_imp):
        mode = _POSITIONS if positions else (_POD if imp_pod[k] else _SINGLE)
        m = _gather(
            mode, k, n_imp, g_idx, g_eff, g_floor, g_prio, g_key, g_dur, effective, won,
            reason, bid, value, mult, ad_campaign, floor, avail, camp_cap, factor, ad_key,
            priority, camp_deals, imp_deals, request_key, cand, n_cand, creative,
            var_duration, imp_cpmps[k], imp_poddur[k],
        )  # fmt: skip
        if mode == _POSITIONS:
            # The pods' scratch serves here: each candidate's campaign (one position per
            # campaign).
            for s in range(m):
                g_sel2[s] = ad_campaign[g_idx[s]]
            multislot_auction(
                g_sel, g_price, g_eff, g_floor, g_prio, g_sel2, g_dur, g_key, slot_weight, m,
                n_imp, multislot, g_work,
            )  # fmt: skip
            for q in range(n_imp):
                s = g_sel[q]
                if s < 0:
                    _no_winner(
                        q, win_ad, win_bid, win_price, win_micros, win_propensity, win_second
                    )
                    continue
                i = g_idx[s]
                won[i] = 1
                win_ad[q] = i
                win_bid[q] = g_eff[s]
                win_price[q] = g_price[q]
                win_micros[q] = _charge(i, g_price[q], ad_campaign, avail)
                win_propensity[q] = 1.0
                nxt = g_sel[q + 1] if q + 1 < n_imp else -1
                win_second[q] = g_eff[nxt] if nxt >= 0 else 0.0
            return
        if mode == _SINGLE:
            _single_slot(
                k, m, win_ad, win_bid, win_price, win_micros, win_propensity, win_second, won,
                ad_campaign, avail, g_idx, g_eff, g_floor, g_prio, g_key, g_dur, imp_mech[k],
                imp_soft[k], explore, draws, shade, sh_tries, sh_wins, sh_grid, imp_slot[k],
                sh_prior, sh_min_tries, sh_work,
            )  # fmt: skip
            continue
        for s in range(m):
            i = g_idx[s]
            _pod_groups(g_groups, s, i, ad_campaign[i], ad_domains, ad_categories, imp_dedupe[k])
        maxseq = imp_maxseq[k]
        if maxseq > pod_ad.shape[1]:
            maxseq = pod_ad.shape[1]
        count = 0
        if m > 1:
            _rank_ties(g_key, g_idx, value, m)
        if m > 0 and maxseq > 0:
            search_budget = nodes_left // (maxseq + 1)  # the fill and a price search per ad
            if search_budget > pod_budget:
                search_budget = pod_budget
            if search_budget < 1:
                search_budget = 1
            count = pod_auction(
                g_sel,
                g_price,
                g_eff,
                g_dur,
                g_groups,
                g_key,
                g_floor,
                m,
                imp_poddur[k],
                maxseq,
                True,
                camp_words,
                imp_mech[k],
                search_budget,
                g_stats,
                g_sel2,
                g_work,
            )
            pod_nodes[k] = np.int64(g_stats[STAT_NODES])
            nodes_left -= pod_nodes[k]
            if nodes_left < 0:
                nodes_left = 0
            pod_gap[k] = g_stats[STAT_FILL_GAP]
            flags = 0
            if g_stats[STAT_FILL_BUDGETED] > 0.0:
                flags |= 1
            if g_stats[STAT_PRICE_BUDGETED] > 0.0:
                flags |= 2
            pod_budgeted[k] = flags
        if count == 0:
            _no_winner(k, win_ad, win_bid, win_price, win_micros, win_propensity, win_second)
            continue
        for t in range(count):
            s = g_sel[t]
            i = g_idx[s]
            won[i] = 1
            pod_ad[k, t] = i
            pod_bid[k, t] = g_eff[s]
            pod_price[k, t] = g_price[t]
            pod_micros[k, t] = _charge(i, g_price[t], ad_campaign, avail)
        pod_n[k] = count
        win_ad[k] = pod_ad[k, 0]
        win_bid[k] = pod_bid[k, 0]
        win_price[k] = pod_price[k, 0]
        win_micros[k] = pod_micros[k, 0]
        win_propensity[k] = 1.0
        win_second[k] = 0.0
