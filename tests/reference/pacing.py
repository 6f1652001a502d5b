"""Plain-Python references for the pacing controllers in
``adcore._kernels.pacing_control``.

Written from the kernels' docstrings: loops over Python ints and floats, state returned
as new lists instead of arrays updated in place. Inputs may be NumPy arrays or lists.
"""

from __future__ import annotations

import math
from typing import Any

from .kernels import splitmix64

ASAP, DUAL, PID, THROTTLE = 0, 1, 2, 3
FIXED_CPM, TARGET_CPC, TARGET_CPA, MAX_VALUE = 0, 1, 2, 3
DAY = 86400.0


def _clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def catch_up_ceiling(
    camp_strategy: Any,
    camp_amount: Any,
    camp_max_bid: Any,
    max_multiplier: float,
) -> list[float]:
    """Each campaign's highest multiplier: 1 when it cannot bid; for a fixed CPM the
    float below max_bid over its bid, clipped to [1, max_multiplier]; for the others
    max_multiplier (the auction caps their effective bids at max_bid)."""
    out = []
    for c in range(len(camp_strategy)):
        s, a, m = int(camp_strategy[c]), float(camp_amount[c]), float(camp_max_bid[c])
        if not (a > 0.0 and m > 0.0):
            out.append(1.0)
        elif s != FIXED_CPM:
            out.append(float(max_multiplier))
        else:
            out.append(_clip(math.nextafter(m / min(a, m), 0.0), 1.0, max_multiplier))
    return out


def dual_floor(ceiling: float) -> float:
    """The lowest mu of dual pacing under a multiplier ceiling."""
    q = math.nextafter(1.0 / ceiling, math.inf)
    return min(0.0, math.nextafter(q - 1.0, math.inf))


def dual_update(
    mu: Any,
    strategy: Any,
    daily: Any,
    spent_today: Any,
    last_spent: Any,
    planned_prev: float,
    planned_now: float,
    step: float,
    mu_max: float,
    ceiling: Any = None,
) -> tuple[list[float], list[int]]:
    """(mu, last_spent) after one interval of adaptive pacing; the step is taken on
    ``z`` (``mu`` above 0, one minus the multiplier below), clipped to ``[1 -
    ceiling, mu_max]``. No ``ceiling``: all 1."""
    new_mu = [float(x) for x in mu]
    new_last = [int(x) for x in last_spent]
    if planned_prev >= 1.0:
        share = 0.0
    else:
        share = _clip((planned_now - planned_prev) / (1.0 - planned_prev), 0.0, 1.0)
    for c in range(len(strategy)):
        if int(strategy[c]) != DUAL:
            continue
        d = int(daily[c])
        if d <= 0:
            new_mu[c] = mu_max
        else:
            spent = int(spent_today[c]) - int(last_spent[c])
            remaining = max(d - int(last_spent[c]), 0)
            target = remaining * share
            scale = max(target, d * 1e-6)
            top = 1.0 if ceiling is None else float(ceiling[c])
            mu = new_mu[c]
            z = mu if mu >= 0 else 1.0 - 1.0 / (1.0 + mu)
            z = _clip(z + step * (spent - target) / scale, 1.0 - top, mu_max)
            new_mu[c] = z if z >= 0 else max(1.0 / (1.0 - z) - 1.0, dual_floor(top))
        new_last[c] = int(spent_today[c])
    return new_mu, new_last


def pid_update(
    u: Any,
    integral: Any,
    prev_error: Any,
    strategy: Any,
    daily: Any,
    spent_today: Any,
    held: Any,
    planned_now: float,
    dt_hours: float,
    kp: float,
    ki: float,
    kd: float,
    min_multiplier: float,
    plan0: Any = None,
    share0: Any = None,
    ceiling: Any = None,
) -> tuple[list[float], list[float], list[float]]:
    """(u, integral, prev_error) after one interval of the PID controller. No anchors:
    0 (the plan from midnight); no ``ceiling``: all 1."""
    new_u = [float(x) for x in u]
    new_i = [float(x) for x in integral]
    new_e = [float(x) for x in prev_error]
    for c in range(len(strategy)):
        if int(strategy[c]) != PID:
            continue
        d = int(daily[c])
        if d <= 0:
            new_u[c] = min_multiplier
            continue
        p0 = 0.0 if plan0 is None else float(plan0[c])
        s0 = 0.0 if share0 is None else float(share0[c])
        top = 1.0 if ceiling is None else float(ceiling[c])
        target = 1.0 if p0 >= 1.0 else s0 + (1.0 - s0) * (planned_now - p0) / (1.0 - p0)
        error = target - (int(spent_today[c]) + int(held[c])) / d
        if error > 0:  # behind: the shortfall of what is left of the plan, half weight
            error = 0.5 * error / max(1.0 - target, 0.1)
        d_term = 0.0
        if kd != 0 and dt_hours > 0:
            d_term = kd * ((error - new_e[c]) / dt_hours)
        before = 1.0 + kp * error + ki * new_i[c] + d_term
        pushing_up = before >= top and error > 0
        pushing_down = before <= min_multiplier and error < 0
        if not (pushing_up or pushing_down):
            new_i[c] += error * dt_hours
        if ki > 0:
            new_i[c] = _clip(new_i[c], -1.0 / ki, max(1.0, top - 1.0) / ki)
        out = 1.0 + kp * error + ki * new_i[c] + d_term
        new_u[c] = max(min_multiplier, min(top, out))
        new_e[c] = error
    return new_u, new_i, new_e


def proportional_multipliers(
    daily: Any,
    spent_today: Any,
    held: Any,
    planned_fraction: float,
    gain: float,
    min_multiplier: float,
) -> list[float]:
    """The proportional pacing rule ``clip(1 - gain * (committed - planned), min, 1)``,
    ``committed = (spent_today + held) / daily``; 0 for a campaign with no budget left."""
    out = []
    for c in range(len(daily)):
        d = int(daily[c])
        committed = int(spent_today[c]) + int(held[c])
        if d <= 0 or committed >= d:
            out.append(0.0)
            continue
        out.append(_clip(1.0 - gain * (committed / d - planned_fraction), min_multiplier, 1.0))
    return out


def throttle_update(
    p: Any,
    spend_per_request: Any,
    strategy: Any,
    daily: Any,
    spent_today: Any,
    held: Any,
    last_spent: Any,
    requests: float,
    remaining_requests: float,
    smoothing: float,
    p_min: float,
) -> tuple[list[float], list[float], list[int]]:
    """(p, spend_per_request, last_spent) after one interval of throttling."""
    new_p = [float(x) for x in p]
    new_s = [float(x) for x in spend_per_request]
    new_last = [int(x) for x in last_spent]
    for c in range(len(strategy)):
        if int(strategy[c]) != THROTTLE:
            continue
        spent = int(spent_today[c]) - int(last_spent[c])
        if requests > 0 and new_p[c] > 0:
            observed = spent / (requests * new_p[c])
            if new_s[c] <= 0:
                new_s[c] = observed
            else:
                new_s[c] = (1.0 - smoothing) * new_s[c] + smoothing * observed
        left = int(daily[c]) - int(spent_today[c]) - int(held[c])
        if left <= 0:
            new_p[c] = 0.0
        elif new_s[c] <= 0:
            new_p[c] = 1.0
        else:
            new_p[c] = max(p_min, min(1.0, left / remaining_requests / new_s[c]))
        new_last[c] = int(spent_today[c])
    return new_p, new_s, new_last


def unit_uniform(x: int) -> float:
    """The top 53 bits of a 64-bit integer as a float in [0, 1)."""
    return (int(x) >> 11) / 2.0**53


def strategy_multipliers(
    strategy: Any, mu: Any, u: Any, p: Any, camp_key: Any, request_key: int
) -> list[float]:
    """Each campaign's bid multiplier for the request ``request_key``."""
    out = []
    for c in range(len(strategy)):
        s = int(strategy[c])
        if s == DUAL:
            out.append(1.0 / (1.0 + float(mu[c])))
        elif s == PID:
            out.append(float(u[c]))
        elif s == THROTTLE:
            draw = unit_uniform(splitmix64(int(camp_key[c]) ^ int(request_key)))
            out.append(1.0 if draw < float(p[c]) else 0.0)
        else:
            out.append(1.0)
    return out


def forecast_update(forecast: Any, counts: Any, alpha: float, days_seen: int) -> list[float]:
    """The forecast after folding in one day's counts."""
    if days_seen == 0:
        return [float(x) for x in counts]
    return [
        (1.0 - alpha) * float(f) + alpha * float(n) for f, n in zip(forecast, counts, strict=True)
    ]


def _position(n_bins: int, seconds_of_day: float) -> tuple[int, float]:
    s = _clip(seconds_of_day, 0.0, DAY)
    pos = s * n_bins / DAY
    b = int(pos)
    if b >= n_bins:
        return n_bins, 0.0
    return b, pos - b


def planned_share(forecast: Any, seconds_of_day: float) -> float:
    """Share of the forecast day's traffic before ``seconds_of_day``."""
    values = [float(x) for x in forecast]
    total = sum(values)
    if total <= 0:
        return _clip(seconds_of_day, 0.0, DAY) / DAY
    b, f = _position(len(values), seconds_of_day)
    if b >= len(values):
        return 1.0
    before = 0.0
    for i in range(b):
        before += values[i]
    return min(1.0, (before + values[b] * f) / total)


def remaining_requests(forecast: Any, seconds_of_day: float) -> float:
    """Forecast requests from ``seconds_of_day`` to midnight, at least 1."""
    values = [float(x) for x in forecast]
    b, f = _position(len(values), seconds_of_day)
    left = 0.0
    if b < len(values):
        left = values[b] * (1.0 - f)
        for i in range(b + 1, len(values)):
            left += values[i]
    return max(1.0, left)
