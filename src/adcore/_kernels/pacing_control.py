"""Budget pacing controllers: per-campaign state updated once per pacing interval, and a
bid multiplier per campaign for each request.

Every campaign runs one strategy, ``strategy[c]`` (``int8`` codes below):

- ``ASAP``: no pacing; the campaign bids in full until its budget is gone.
- ``DUAL``: adaptive pacing [1]_; bids are shaded by ``1 / (1 + mu)`` and the dual
  variable ``mu`` follows a projected subgradient step on the interval's spend against
  its target (:func:`dual_update`).
- ``PID``: a PID controller [2]_ on the share of the daily budget behind plan; its output
  ``u`` is the multiplier (:func:`pid_update`).
- ``THROTTLE``: probabilistic throttling; the campaign takes part in a request with
  probability ``p`` and then bids in full (:func:`throttle_update`).

**Catching up.** A campaign behind plan may bid above its own bid: PID and dual
multipliers range up to the campaign's ceiling ``ceiling[c] >= 1``
(:func:`catch_up_ceiling`): for a fixed CPM the multiplier that bids its ``max_bid``,
for the strategies whose bids follow a predicted rate ``max_multiplier``, with the
auction capping every effective bid at ``max_bid``. Throttling cannot raise a bid;
behind plan it stops throttling (``p = 1``).

The update kernels each touch only the campaigns on their own strategy, so the caller
runs all of them every interval on the same arrays. :func:`strategy_multipliers` turns
the state into the multiplier for one request. The planned spend curve comes from a
traffic forecast over ``B`` equal bins of the UTC day, learned from the day's request
counts (:func:`forecast_update`, :func:`planned_share`, :func:`remaining_requests`).

Money (``daily``, ``spent_today``, ``held``, ``last_spent``) is ``int64`` micro-units;
controller state and multipliers are ``float64``. At the start of a UTC day the caller
resets ``last_spent`` to 0 along with ``spent_today``, and the planned share to 0.

References
----------
.. [1] S. R. Balseiro and Y. Gur, "Learning in Repeated Auctions with Budgets: Regret
   Minimization and Equilibrium", Management Science 65(9):3952-3968, 2019.
.. [2] K. J. Astrom and T. Hagglund, "Advanced PID Control", ISA, 2006 (ch. 3,
   conditional integration as anti-windup).
"""

import numpy as np

from ._jit import helper, kernel
from .bidding import FIXED_CPM
from .bits import splitmix64

ASAP = 0
DUAL = 1
PID = 2
THROTTLE = 3

SECONDS_PER_DAY = 86400.0

# PID pacing behind plan: the shortfall is measured against what is left of the plan,
# never less than REMAINING_FLOOR of the budget, and weighted by CATCH_UP_WEIGHT: a
# catch-up gain from kp / 2 at midnight to 5 kp over the plan's last tenth.
REMAINING_FLOOR = 0.1
CATCH_UP_WEIGHT = 0.5

_SHIFT53 = np.uint64(11)
_INV_2_53 = 2.0**-53


@helper
def unit_uniform(x):
    """A ``float64`` in [0, 1) from the top 53 bits of the ``uint64`` ``x``:
    ``(x >> 11) * 2**-53``."""
    return float(x >> _SHIFT53) * _INV_2_53


@kernel
def catch_up_ceiling(ceiling, camp_strategy, camp_amount, camp_max_bid, max_multiplier):
    """Each campaign's highest pacing multiplier, in ``[1, max_multiplier]``.

    A fixed-CPM campaign bids ``top = min(amount, max_bid)`` on every request, so its
    ceiling is the float just below the rounded quotient ``max_bid / top`` (clipped to
    ``[1, max_multiplier]``): bidding ``ceiling[c]`` times its CPM is bidding its
    ``max_bid`` to an ulp, and the controller never winds up past the point where a
    higher multiplier changes nothing. Exactness: the rounded quotient is at most half
    an ulp above ``max_bid / top``, so ``k < max_bid / top`` and ``top * k < max_bid``
    exactly; rounding is monotonic, so ``top * m * f <= max_bid`` for every multiplier
    ``m <= ceiling[c]`` and discount ``f <= 1``, in any order of evaluation.

    The other strategies bid in proportion to a predicted action rate, far below
    ``max_bid`` on most requests, so their ceiling is ``max_multiplier``: the auction
    caps every effective bid at its campaign's ``max_bid``
    (:func:`adcore._kernels.auction.run_auctions`), and a campaign behind plan raises
    its low bids up to that cap. A campaign whose bids cannot be positive (``amount <=
    0`` or ``max_bid <= 0``) gets 1.

    Parameters
    ----------
    ceiling : float64 (n_campaigns,)
        Output, each at least 1.
    camp_strategy : int8 (n_campaigns,)
        Bid strategy codes (:mod:`adcore._kernels.bidding`).
    camp_amount, camp_max_bid : float64 (n_campaigns,)
        ``Campaign.bid`` and ``Campaign.max_bid``.
    max_multiplier : float
        Upper end for every campaign (``EngineConfig.pacing_max_multiplier``), >= 1.
    """
    for c in range(ceiling.shape[0]):
        a = camp_amount[c]
        m = camp_max_bid[c]
        if not (a > 0.0 and m > 0.0):
            ceiling[c] = 1.0
            continue
        if camp_strategy[c] != FIXED_CPM:
            ceiling[c] = max_multiplier
            continue
        top = a if a < m else m
        k = np.nextafter(m / top, 0.0)
        if k > max_multiplier:
            k = max_multiplier
        if k < 1.0:
            k = 1.0
        ceiling[c] = k


@helper
def dual_floor(ceiling):
    """The lowest ``mu`` of dual pacing under the multiplier ceiling ``ceiling >= 1``,
    so that ``1 / (1 + mu) <= ceiling`` in floating point for every ``mu`` at or above
    it: ``min(0, up(up(1 / ceiling) - 1))``, ``up`` the next float towards infinity.

    Exactness: ``q = up(1 / ceiling)`` is above ``1 / ceiling``; ``up(q - 1)`` is above
    ``q - 1``, and between -1 and -0.5 adding 1 is exact (Sterbenz), so ``1 + mu > 1 /
    ceiling`` and the rounded reciprocal is at most ``ceiling``; the same holds for any
    larger ``mu``. A few ulps of ``1 + mu`` are lost, a relative ``ceiling * 2**-52`` of
    the multiplier at most. (A check ``1 / (1 + mu) > ceiling`` computed here could be
    folded away by the JIT's reassociation.)"""
    q = np.nextafter(1.0 / ceiling, np.inf)
    mu = np.nextafter(q - 1.0, np.inf)
    return mu if mu < 0.0 else 0.0


@kernel
def clamp_to_ceiling(mu, u, strategy, ceiling):
    """Bring carried-over state within new ceilings (a catalog swap may lower a
    campaign's ``max_bid``): ``u[c] = min(u[c], ceiling[c])`` for ``PID`` campaigns and
    ``mu[c] = max(mu[c], dual_floor(ceiling[c]))`` for ``DUAL`` ones, so no multiplier
    exceeds its ceiling before the next update."""
    for c in range(strategy.shape[0]):
        if strategy[c] == PID:
            if u[c] > ceiling[c]:
                u[c] = ceiling[c]
        elif strategy[c] == DUAL:
            lo = dual_floor(ceiling[c])
            if mu[c] < lo:
                mu[c] = lo


@kernel
def dual_update(
    mu, strategy, daily, spent_today, last_spent, ceiling, planned_prev, planned_now, step, mu_max
):
    """One interval of adaptive pacing (Balseiro and Gur, 2019) for the ``DUAL`` campaigns.

    Bids are ``value / (1 + mu[c])``; ``mu`` is the dual variable of the budget
    constraint, moved by a projected subgradient step on (spend - target). For each
    campaign with ``strategy[c] == DUAL``:

    - ``spent = spent_today[c] - last_spent[c]``, the money spent in the interval just
      ended (since the previous update);
    - ``remaining = max(daily[c] - last_spent[c], 0)``, the budget left at its start;
    - ``target = remaining * share``, with ``share = (planned_now - planned_prev) /
      (1 - planned_prev)``, at least 0 (0 when ``planned_prev >= 1``): the remaining
      budget spread evenly over the remaining planned traffic, so that a campaign behind or
      ahead of plan re-targets the rest of the day instead of catching up at once;
    - the step ``g = step * (spent - target) / max(target, daily[c] * 1e-6)`` is taken
      on ``z``, a coordinate equal to ``mu`` for ``mu >= 0`` and to ``1 - m`` below, with
      ``m = 1 / (1 + mu)`` the multiplier: ``z = clip(z + g, 1 - ceiling[c], mu_max)``,
      then ``mu[c] = z`` for ``z >= 0`` and ``1 / (1 - z) - 1`` (the multiplier ``1 -
      z``) below, raised to :func:`dual_floor` so that ``1 / (1 + mu[c]) <=
      ceiling[c]`` exactly;
    - ``last_spent[c] = spent_today[c]``.

    Above 0 this is Balseiro and Gur's update. Below 0 (catching up: the campaign spends
    less than its target even bidding its value) the multiplier moves linearly, by
    ``-g``, up to ``ceiling[c]``; were the step taken on ``mu`` there, a step would move
    the multiplier by ``m**2`` times as much, 4 to 100 times at ceilings of 2 to 10,
    and the loop would swing from bound to bound. Both pieces have slope -1 at 0, so the
    map is smooth there.

    Normalisation: Balseiro and Gur step by ``eps * (z_t - rho)`` with spend ``z_t`` and
    per-period target ``rho`` in value units. Dividing the subgradient by the interval's
    target makes the step dimensionless (the relative overspend), so one ``step`` suits any
    budget size, interval length and traffic share; the floor of a millionth of the daily
    budget keeps the division finite when the target is 0 (nothing planned, or no budget
    left), where any spend drives ``mu`` to ``mu_max``. A campaign with ``daily[c] <= 0``
    gets ``mu[c] = mu_max``.

    Parameters
    ----------
    mu : float64 (n_campaigns,)
        Dual variables, updated in place.
    strategy : int8 (n_campaigns,)
        Strategy codes; only ``DUAL`` campaigns are touched.
    daily, spent_today : int64 (n_campaigns,)
        Daily budget and spend so far today, micro-units.
    last_spent : int64 (n_campaigns,)
        ``spent_today`` at the previous update; set to ``spent_today`` in place.
    ceiling : float64 (n_campaigns,)
        Highest multiplier per campaign, >= 1 (:func:`catch_up_ceiling`; all 1: the
        multiplier never exceeds 1, ``mu >= 0``).
    planned_prev, planned_now : float
        Planned share of the day's spend at the previous update and now, in [0, 1]
        (e.g. :func:`planned_share`).
    step : float
        Step size (relative overspend to ``mu``).
    mu_max : float
        Upper end of the projection (``value / (1 + mu_max)`` is the most shaded bid).

    References
    ----------
    S. R. Balseiro and Y. Gur, "Learning in Repeated Auctions with Budgets: Regret
    Minimization and Equilibrium", Management Science 65(9):3952-3968, 2019.
    """
    share = 0.0
    if planned_prev < 1.0:
        share = (planned_now - planned_prev) / (1.0 - planned_prev)
        if share < 0.0:
            share = 0.0
    for c in range(strategy.shape[0]):
        if strategy[c] != DUAL:
            continue
        if daily[c] <= 0:
            mu[c] = mu_max
            last_spent[c] = spent_today[c]
            continue
        spent = spent_today[c] - last_spent[c]
        remaining = daily[c] - last_spent[c]
        if remaining < 0:
            remaining = 0
        target = remaining * share
        scale = daily[c] * 1e-6
        if target > scale:
            scale = target
        z = mu[c]
        if z < 0.0:
            z = 1.0 - 1.0 / (1.0 + z)
        z = z + step * (spent - target) / scale
        lo = 1.0 - ceiling[c]
        if z < lo:
            z = lo
        if z > mu_max:
            z = mu_max
        if z >= 0.0:
            mu[c] = z
        else:
            below = 1.0 / (1.0 - z) - 1.0
            floor = dual_floor(ceiling[c])
            mu[c] = below if below > floor else floor
        last_spent[c] = spent_today[c]


@helper
def plan_target(plan0, share0, planned_now):
    """The committed share of the daily budget planned by now for a campaign whose plan
    was anchored when the planned share was ``plan0`` and its committed share ``share0``:
    ``share0 + (1 - share0) * (planned_now - plan0) / (1 - plan0)``, 1 when ``plan0 >=
    1``; exactly ``planned_now`` when both anchors are 0 (a day paced from midnight)."""
    if plan0 >= 1.0:
        return 1.0
    return share0 + (1.0 - share0) * (planned_now - plan0) / (1.0 - plan0)


@kernel
def pid_update(
    u,
    integral,
    prev_error,
    strategy,
    daily,
    spent_today,
    held,
    plan0,
    share0,
    ceiling,
    planned_now,
    dt_hours,
    kp,
    ki,
    kd,
    min_multiplier,
):
    """One interval of the PID pacing controller for the ``PID`` campaigns.

    For each campaign with ``strategy[c] == PID`` and ``daily[c] > 0``:

    - ``gap = target - (spent_today[c] + held[c]) / daily[c]``, the share of the daily
      budget the campaign is behind plan (negative when ahead), where ``target =
      plan_target(plan0[c], share0[c], planned_now)``: the plan runs from the
      campaign's anchor (its committed share ``share0[c]`` when the planned share was
      ``plan0[c]``: 0 and 0 at midnight; where pacing started later, as for an engine
      or a campaign started during the day, the rest of the budget over the rest of the
      planned traffic, so nothing missed before is caught up) to the whole budget at the
      end of the day;
    - ``error = gap`` ahead of plan (``gap <= 0``); behind it, ``error =
      CATCH_UP_WEIGHT * gap / max(1 - target, REMAINING_FLOOR)``: the shortfall as a
      share of what is left of the plan (to end on budget the campaign must spend ``1 +
      gap / (1 - target)`` times the plan's rate from now on), at half weight
      (``CATCH_UP_WEIGHT = 0.5``). A proportional controller on ``gap`` alone settles
      behind plan by ``(u* - 1) / kp`` wherever the campaign needs a multiplier ``u* >
      1``, and ends the day that far short; on the shortfall of what is left, that lag
      shrinks with the rest of the plan. The gain behind plan thus runs from ``kp / 2``
      at the start of the plan to ``5 * kp`` over its last tenth (``REMAINING_FLOOR =
      0.1``): slowing down is urgent (spend cannot be undone), catching up grows urgent
      as the day runs out, and campaigns behind together do not bid each other up
      early in the day. Ahead of plan the budget cap ends the day on budget anyway, and
      the error is the plain gap;
    - ``derivative = (error - prev_error[c]) / dt_hours``; the derivative term
      ``kd * derivative`` is 0 when ``kd == 0`` or ``dt_hours <= 0``;
    - anti-windup by conditional integration (Astrom and Hagglund, 2006): with the
      output before integrating, ``v = 1 + kp * error + ki * integral[c] + kd *
      derivative``, the integral is left alone when the output is saturated in the
      direction of the error (``v >= ceiling[c]`` and ``error > 0``, or ``v <=
      min_multiplier`` and ``error < 0``); otherwise ``integral[c] += error *
      dt_hours``. When ``ki > 0``, ``integral[c]`` is then clamped to ``[-1 / ki,
      max(1, ceiling[c] - 1) / ki]``: the integral term alone can hold the output
      anywhere in its range and no further;
    - ``u[c] = clip(1 + kp * error + ki * integral[c] + kd * derivative,
      min_multiplier, ceiling[c])``;
    - ``prev_error[c] = error``.

    A campaign with ``daily[c] <= 0`` gets ``u[c] = min_multiplier`` and its state is left
    alone. With ``ki = kd = 0``, zero anchors and ``ceiling = 1`` this is the
    proportional controller ``clip(1 - kp * (committed_share - planned_now),
    min_multiplier, 1)``, with ``committed_share = (spent_today + held) / daily`` (behind
    plan both are 1). A
    campaign that has committed its whole budget keeps a multiplier here; the budget cap
    (:func:`adcore._kernels.pacing.pace`) stops its bidding. The caller sets
    ``prev_error`` to 0 at the start of a day (or to the first error, to avoid a
    derivative kick).

    Parameters
    ----------
    u, integral, prev_error : float64 (n_campaigns,)
        Multiplier, integral of the error (budget share x hours) and previous error;
        updated in place.
    strategy : int8 (n_campaigns,)
        Strategy codes; only ``PID`` campaigns are touched.
    daily, spent_today, held : int64 (n_campaigns,)
        Daily budget, spend so far today and money held for decided, not yet shown ads.
    plan0, share0 : float64 (n_campaigns,)
        Each campaign's plan anchor: the planned share and its committed share when its
        plan for today started (0 and 0 from midnight).
    ceiling : float64 (n_campaigns,)
        Highest multiplier per campaign, >= 1 (:func:`catch_up_ceiling`).
    planned_now : float
        Planned share of the day's spend now.
    dt_hours : float
        Hours since the previous update.
    kp, ki, kd : float
        Proportional (per budget share), integral (per budget share-hour) and derivative
        (per budget share per hour) gains.
    min_multiplier : float
        Lower end of the output range.

    References
    ----------
    K. J. Astrom and T. Hagglund, "Advanced PID Control", ISA, 2006 (anti-windup by
    conditional integration).
    """
    for c in range(strategy.shape[0]):
        if strategy[c] != PID:
            continue
        if daily[c] <= 0:
            u[c] = min_multiplier
            continue
        top = ceiling[c]
        target = plan_target(plan0[c], share0[c], planned_now)
        error = target - (spent_today[c] + held[c]) / daily[c]
        if error > 0.0:
            left = 1.0 - target
            if left < REMAINING_FLOOR:
                left = REMAINING_FLOOR
            error = CATCH_UP_WEIGHT * error / left
        d_term = 0.0
        if kd != 0.0 and dt_hours > 0.0:
            d_term = kd * ((error - prev_error[c]) / dt_hours)
        v = 1.0 + kp * error + ki * integral[c] + d_term
        saturated = (v >= top and error > 0.0) or (v <= min_multiplier and error < 0.0)
        i = integral[c]
        if not saturated:
            i = i + error * dt_hours
        if ki > 0.0:
            reach = top - 1.0
            if reach < 1.0:
                reach = 1.0
            high = reach / ki
            low = -1.0 / ki
            if i > high:
                i = high
            if i < low:
                i = low
        integral[c] = i
        out = 1.0 + kp * error + ki * i + d_term
        if out > top:
            out = top
        if out < min_multiplier:
            out = min_multiplier
        u[c] = out
        prev_error[c] = error


@kernel
def throttle_update(
    p,
    spend_per_request,
    strategy,
    daily,
    spent_today,
    held,
    last_spent,
    requests,
    remaining_requests,
    smoothing,
    p_min,
):
    """One interval of probabilistic throttling for the ``THROTTLE`` campaigns.

    A throttled campaign takes part in a request with probability ``p[c]`` and then bids
    in full. For each campaign with ``strategy[c] == THROTTLE``:

    - ``spent = spent_today[c] - last_spent[c]``, spend in the interval just ended;
    - when ``requests > 0`` and ``p[c] > 0``, the observed spend per request at full
      participation, ``spent / (requests * p[c])``, is blended into
      ``spend_per_request[c]``: it replaces a value of 0 or less (no estimate yet),
      otherwise ``spend_per_request[c] = (1 - smoothing) * spend_per_request[c] +
      smoothing * observed``;
    - with ``left = daily[c] - spent_today[c] - held[c]``: ``p[c] = 0`` when
      ``left <= 0``; else ``p[c] = 1`` while ``spend_per_request[c] <= 0``; else
      ``p[c] = clip(left / remaining_requests / spend_per_request[c], p_min, 1)``, the
      share of the remaining requests the remaining budget pays for;
    - ``last_spent[c] = spent_today[c]``.

    Throttling never raises a bid: a campaign behind plan (its remaining budget buys
    more than the remaining requests at full participation) catches up by taking part
    in every request, ``p = 1``.

    Parameters
    ----------
    p : float64 (n_campaigns,)
        Participation probabilities, updated in place.
    spend_per_request : float64 (n_campaigns,)
        Smoothed spend per request at full participation (micro-units), 0 before the
        first observation; updated in place.
    strategy : int8 (n_campaigns,)
        Strategy codes; only ``THROTTLE`` campaigns are touched.
    daily, spent_today, held : int64 (n_campaigns,)
        Daily budget, spend so far today and money held, micro-units.
    last_spent : int64 (n_campaigns,)
        ``spent_today`` at the previous update; set to ``spent_today`` in place.
    requests : int or float
        Requests seen in the interval just ended.
    remaining_requests : float
        Forecast requests still to come today, > 0 (e.g. :func:`remaining_requests`).
    smoothing : float
        Weight of the new observation, in (0, 1].
    p_min : float
        Lower end of ``p`` while budget remains (keeps the estimate fed).
    """
    for c in range(strategy.shape[0]):
        if strategy[c] != THROTTLE:
            continue
        spent = spent_today[c] - last_spent[c]
        if requests > 0 and p[c] > 0.0:
            observed = spent / (requests * p[c])
            if spend_per_request[c] <= 0.0:
                spend_per_request[c] = observed
            else:
                prior = spend_per_request[c]
                spend_per_request[c] = (1.0 - smoothing) * prior + smoothing * observed
        left = daily[c] - spent_today[c] - held[c]
        if left <= 0:
            p[c] = 0.0
        elif spend_per_request[c] <= 0.0:
            p[c] = 1.0
        else:
            q = left / remaining_requests / spend_per_request[c]
            if q > 1.0:
                q = 1.0
            if q < p_min:
                q = p_min
            p[c] = q
        last_spent[c] = spent_today[c]


@kernel
def strategy_multipliers(mult, strategy, mu, u, p, camp_key, request_key):
    """Each campaign's bid multiplier for one request.

    ``mult[c]`` is 1 for ``ASAP`` (and any code not listed), ``1 / (1 + mu[c])`` for
    ``DUAL``, ``u[c]`` for ``PID``, and for ``THROTTLE`` 1 if
    ``unit_uniform(splitmix64(camp_key[c] ^ request_key)) < p[c]`` else 0, where
    ``unit_uniform(x) = (x >> 11) * 2**-53``: a draw that is the same for the same
    (campaign, request) and independent across requests. A multiplier of 0 makes the
    campaign sit out the request. The update kernels keep ``u[c]`` and ``1 / (1 +
    mu[c])`` within the campaign's ceiling (:func:`catch_up_ceiling`); above 1 the
    campaign is catching up.

    Parameters
    ----------
    mult : float64 (n_campaigns,)
        Output.
    strategy : int8 (n_campaigns,)
        Strategy codes.
    mu, u, p : float64 (n_campaigns,)
        State of :func:`dual_update`, :func:`pid_update` and :func:`throttle_update`.
    camp_key : uint64 (n_campaigns,)
        A key per campaign.
    request_key : uint64
        The request's key.
    """
    for c in range(strategy.shape[0]):
        s = strategy[c]
        if s == DUAL:
            mult[c] = 1.0 / (1.0 + mu[c])
        elif s == PID:
            mult[c] = u[c]
        elif s == THROTTLE:
            draw = unit_uniform(splitmix64(camp_key[c] ^ request_key))
            mult[c] = 1.0 if draw < p[c] else 0.0
        else:
            mult[c] = 1.0


@kernel
def forecast_update(forecast, counts, alpha, days_seen):
    """Fold one finished day's request counts into the traffic forecast.

    ``forecast[b] = counts[b]`` when ``days_seen == 0`` (the first day), else
    ``forecast[b] = (1 - alpha) * forecast[b] + alpha * counts[b]``: an exponentially
    weighted mean over days of the requests in each of the ``B`` equal bins of the UTC
    day (bin ``b`` covers seconds ``[b, b + 1) * 86400 / B``).

    Parameters
    ----------
    forecast : float64 (B,)
        Forecast requests per bin; updated in place.
    counts : int64 or float64 (B,)
        Requests seen in each bin on the day just ended.
    alpha : float
        Weight of the new day, in (0, 1].
    days_seen : int
        Days folded in before this one.
    """
    for b in range(forecast.shape[0]):
        if days_seen == 0:
            forecast[b] = counts[b]
        else:
            forecast[b] = (1.0 - alpha) * forecast[b] + alpha * counts[b]


@helper
def _bin_position(n_bins, seconds_of_day):
    """(bin, fraction of it elapsed) for ``seconds_of_day`` clipped to [0, 86400]."""
    s = seconds_of_day
    if s < 0.0:
        s = 0.0
    if s > SECONDS_PER_DAY:
        s = SECONDS_PER_DAY
    pos = s * n_bins / SECONDS_PER_DAY
    b = int(pos)
    if b >= n_bins:
        return n_bins, 0.0
    return b, pos - b


@kernel
def planned_share(forecast, seconds_of_day):
    """The forecast share of the day's traffic before ``seconds_of_day`` (UTC).

    With ``total = sum(forecast)``, ``b`` the bin holding ``seconds_of_day`` and ``f`` the
    fraction of it elapsed, the share is ``(sum(forecast[:b]) + forecast[b] * f) /
    total`` (linear within a bin), 1 from the end of the day on. When ``total <= 0`` the
    curve is flat: ``seconds_of_day / 86400``. Times are clipped to [0, 86400].

    The partial sums are accumulated in one sequential pass in bin order, the same for
    every ``seconds_of_day``, so for a forecast of non-negative counts the share is
    non-decreasing in time, never above 1 (the numerator is at most a partial sum of the
    total), 0 at midnight and 1 at the end of the day.

    Parameters
    ----------
    forecast : float64 (B,)
        Forecast requests per bin (:func:`forecast_update`).
    seconds_of_day : float
        Seconds since 00:00 UTC.

    Returns
    -------
    float
        The planned share of the day's spend, in [0, 1].
    """
    n = forecast.shape[0]
    b, f = _bin_position(n, seconds_of_day)
    total = 0.0
    before = 0.0
    for i in range(n):
        if i == b:
            before = total
        total += forecast[i]
    if total <= 0.0:
        s = seconds_of_day
        if s < 0.0:
            s = 0.0
        if s > SECONDS_PER_DAY:
            s = SECONDS_PER_DAY
        return s / SECONDS_PER_DAY
    if b >= n:
        return 1.0
    return (before + forecast[b] * f) / total


@kernel
def remaining_requests(forecast, seconds_of_day):
    """Forecast requests from ``seconds_of_day`` (UTC) to midnight, at least 1.0.

    ``forecast[b] * (1 - f) + sum(forecast[b + 1:])`` with ``b`` the bin holding
    ``seconds_of_day`` and ``f`` the fraction of it elapsed (linear within a bin, as
    :func:`planned_share`), raised to 1.0. Times are clipped to [0, 86400]. A forecast
    of zeros gives 1.0: before the first day is seen, seed the forecast with a prior.

    Parameters
    ----------
    forecast : float64 (B,)
        Forecast requests per bin.
    seconds_of_day : float
        Seconds since 00:00 UTC.

    Returns
    -------
    float
        The forecast requests still to come today, >= 1.
    """
    n = forecast.shape[0]
    b, f = _bin_position(n, seconds_of_day)
    left = 0.0
    if b < n:
        left = forecast[b] * (1.0 - f)
        for i in range(b + 1, n):
            left += forecast[i]
    if left < 1.0:
        left = 1.0
    return left
