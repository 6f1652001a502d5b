"""Budget pacing per request: what each campaign may still commit, and its bid
multiplier from its pacing strategy's state (see :mod:`adcore._kernels.pacing_control`)."""

from ._jit import helper, kernel
from .pacing_control import strategy_multipliers


@helper
def budget_available(avail, daily, total, spent_today, spent_total, held):
    """Micro-units each campaign may still commit now: the smaller of what is left of the
    daily and of the total budget, after money held for decided, not yet shown ads.
    A negative ``total`` means no lifetime cap."""
    for c in range(avail.shape[0]):
        a = daily[c] - spent_today[c] - held[c]
        if total[c] >= 0:
            b = total[c] - spent_total[c] - held[c]
            if b < a:
                a = b
        avail[c] = a if a > 0 else 0


@kernel
def pace(
    avail,
    mult,
    daily,
    total,
    spent_today,
    spent_total,
    held,
    strategy,
    mu,
    u,
    p,
    camp_key,
    request_key,
):
    """The pacing agent's work for one request: :func:`budget_available`, then each
    campaign's multiplier from its strategy's state
    (:func:`adcore._kernels.pacing_control.strategy_multipliers`); 0 for a campaign
    that has committed its whole daily budget. A campaign behind plan may get a
    multiplier above 1, never above its ceiling
    (:func:`adcore._kernels.pacing_control.catch_up_ceiling`); the auction caps
    ``bid * mult`` at the campaign's ``max_bid``."""
    budget_available(avail, daily, total, spent_today, spent_total, held)
    strategy_multipliers(mult, strategy, mu, u, p, camp_key, request_key)
    for c in range(mult.shape[0]):
        if daily[c] <= 0 or spent_today[c] + held[c] >= daily[c]:
            mult[c] = 0.0
