"""Per-impression auctions with floors, budgets and optional epsilon-greedy exploration."""

import numpy as np

from ._jit import kernel
from .bits import splitmix64

FIRST_PRICE = 1
SECOND_PRICE = 2


@kernel
def run_auctions(
    win_ad,
    win_bid,
    win_price,
    win_micros,
    win_propensity,
    effective,
    won,
    n_imp,
    reason,
    bid,
    mult,
    ad_campaign,
    floor,
    avail,
    ad_key,
    priority,
    request_key,
    auction_type,
    explore,
    draws,
    cand,
    n_cand,
):
    """Resolve the first ``n_imp`` impressions of a request in order.

    For each impression the candidates are the eligible ads (``reason == 0``) that have not
    won an earlier impression of the request, bidding ``effective = bid * mult[campaign]``
    capped at what the campaign may still spend (``avail`` micro-units, decremented as
    impressions are won), and clearing ``effective >= floor`` with ``effective > 0``.

    The winner comes from the highest ``priority`` present and has the highest effective
    bid within it; ties go to the lower
    ``splitmix64(ad_key ^ request_key)`` so the result does not depend on candidate order.
    Second price (``auction_type == 2``): the winner pays the larger of the highest other
    candidate's effective bid and its own floor, never more than its own bid; first price
    (1): its effective bid.

    With probability ``explore`` (using ``draws[k, 0]``) a uniformly drawn candidate
    (``draws[k, 1]``) wins instead and pays its floor; ``win_propensity`` is the probability
    the policy had of choosing the winner: ``1 - explore + explore / n`` for the best
    candidate, ``explore / n`` for another, ``n`` being the number of candidates.

    Only the ads in ``cand[:n_cand]`` (ascending) are considered; the exploration draw
    counts candidates in that order.

    ``win_ad[k]`` is -1 when no candidate cleared the floor. ``effective`` receives every
    ad's effective bid for the last impression it was computed for (for traces).
    """
    n = bid.shape[0]
    for i in range(n):
        won[i] = 0
        effective[i] = 0.0
    for k in range(n_imp):
        best = -1
        best_eff = 0.0
        best_prio = 0
        best_key = np.uint64(0)
        n_bidders = 0
        for j in range(n_cand):
            i = cand[j]
            if reason[k, i] != 0 or won[i]:
                effective[i] = 0.0
                continue
            c = ad_campaign[i]
            e = bid[i] * mult[c]
            cap = avail[c] / 1000.0
            if e > cap:
                e = cap
            effective[i] = e
            if e <= 0.0 or e < floor[k, i]:
                continue
            n_bidders += 1
            key = splitmix64(ad_key[i] ^ request_key)
            p = priority[i]
            if (
                best < 0
                or p > best_prio
                or (p == best_prio and (e > best_eff or (e == best_eff and key < best_key)))
            ):
                best = i
                best_eff = e
                best_prio = p
                best_key = key
        if best < 0:
            win_ad[k] = -1
            win_bid[k] = 0.0
            win_price[k] = 0.0
            win_micros[k] = 0
            win_propensity[k] = 0.0
            continue
        second_eff = 0.0
        chosen = best
        propensity = 1.0
        target = -1
        if explore > 0.0 and n_bidders > 1:
            share = explore / n_bidders
            propensity = 1.0 - explore + share
            if draws[k, 0] < explore:
                target = int(draws[k, 1] * n_bidders)
                if target >= n_bidders:
                    target = n_bidders - 1
        seen = 0
        for j in range(n_cand):
            i = cand[j]
            if reason[k, i] != 0 or won[i]:
                continue
            e = effective[i]
            if e <= 0.0 or e < floor[k, i]:
                continue
            if seen == target:
                chosen = i
            seen += 1
            if i != best and e > second_eff:
                second_eff = e
        if chosen == best:
            if auction_type == FIRST_PRICE:
                price = best_eff
            else:
                price = second_eff if second_eff > floor[k, best] else floor[k, best]
                if price > best_eff:
                    price = best_eff
        else:
            propensity = explore / n_bidders
            price = floor[k, chosen]
        micros = np.int64(price * 1000.0 + 0.5)
        c = ad_campaign[chosen]
        if micros > avail[c]:
            micros = avail[c]
        avail[c] -= micros
        won[chosen] = 1
        win_ad[k] = chosen
        win_bid[k] = effective[chosen]
        win_price[k] = price
        win_micros[k] = micros
        win_propensity[k] = propensity
