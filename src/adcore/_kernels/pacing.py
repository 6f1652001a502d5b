"""Budget pacing: a multiplier per campaign from spend against the planned spend curve."""

from ._jit import helper, kernel


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


@helper
def pacing_multipliers(mult, daily, spent_today, held, planned_fraction, gain, min_multiplier):
    """``mult[c] = clip(1 - gain * (committed_fraction - planned_fraction), min, 1)``.

    ``committed_fraction`` is (spent today + held) / daily budget. A campaign behind its
    plan bids in full; one ahead of it is damped in proportion to how far ahead it is;
    one with no daily budget left gets 0.
    """
    for c in range(mult.shape[0]):
        if daily[c] <= 0:
            mult[c] = 0.0
            continue
        committed = spent_today[c] + held[c]
        if committed >= daily[c]:
            mult[c] = 0.0
            continue
        ahead = committed / daily[c] - planned_fraction
        m = 1.0 - gain * ahead
        if m > 1.0:
            m = 1.0
        if m < min_multiplier:
            m = min_multiplier
        mult[c] = m


@kernel
def pace(
    avail,
    mult,
    daily,
    total,
    spent_today,
    spent_total,
    held,
    planned_fraction,
    gain,
    min_multiplier,
):
    """The pacing agent's work in one call: :func:`budget_available` then
    :func:`pacing_multipliers`."""
    budget_available(avail, daily, total, spent_today, spent_total, held)
    pacing_multipliers(mult, daily, spent_today, held, planned_fraction, gain, min_multiplier)
