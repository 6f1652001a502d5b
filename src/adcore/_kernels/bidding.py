"""Bids from each campaign's strategy and the predicted action probability (CPM)."""

from ._jit import kernel

FIXED_CPM = 0
TARGET_CPC = 1
TARGET_CPA = 2
MAX_VALUE = 3


@kernel
def strategy_bids(
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
):
    """Write each eligible ad's expected value and bid in CPM (currency per 1000 shows).

    - fixed CPM: value = bid = the campaign's CPM;
    - target CPC: value = p * CPC * 1000;
    - target CPA: value = p * conversion_rate * CPA * 1000;
    - maximise value: value = p * value_per_action * 1000.

    The bid is the value capped at the campaign's max bid. Ineligible ads get 0. Only
    the candidates ``cand[:n_cand]`` are looked at.
    """
    for i in range(score.shape[0]):
        bid[i] = 0.0
        value[i] = 0.0
    for j in range(n_cand):
        i = cand[j]
        eligible = False
        for k in range(n_imp):
            if reason[k, i] == 0:
                eligible = True
                break
        if not eligible:
            bid[i] = 0.0
            value[i] = 0.0
            continue
        c = ad_campaign[i]
        s = camp_strategy[c]
        p = score[i]
        if s == FIXED_CPM:
            v = camp_amount[c]
        elif s == TARGET_CPC:
            v = p * camp_amount[c] * 1000.0
        elif s == TARGET_CPA:
            v = p * camp_conversion_rate[c] * camp_amount[c] * 1000.0
        else:
            v = p * camp_amount[c] * 1000.0
        value[i] = v
        bid[i] = min(v, camp_max_bid[c])


@kernel
def scale_bids(bid, cand, n_cand, per_ad, max_bid):
    """Multiply each candidate's bid by its campaign's multiplier (``per_ad``, laid out
    per ad) and cap it at its campaign's max bid (``max_bid``, per ad); returns how many
    bids changed."""
    changed = 0
    for j in range(n_cand):
        i = cand[j]
        b = bid[i] * per_ad[i]
        if b > max_bid[i]:
            b = max_bid[i]
        if b != bid[i]:
            bid[i] = b
            changed += 1
    return changed
