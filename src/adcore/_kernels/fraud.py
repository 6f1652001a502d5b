"""Invalid-traffic score from request signals."""

from ._jit import helper, kernel
from .counters import counter_add


@helper
def fraud_score(bot_agent, missing_agent, missing_address, rate_count, rate_limit):
    """A score in [0, 1]: 1 for a known bot user agent; otherwise the larger of 0.5 for
    a request without a user agent, 0.2 for one without an IP address, and the request
    rate's excess over its limit (``(count - limit) / limit``, capped at 1)."""
    if bot_agent:
        return 1.0
    score = 0.0
    if missing_agent:
        score = 0.5
    if missing_address and score < 0.2:
        score = 0.2
    if rate_limit > 0 and rate_count > rate_limit:
        excess = (rate_count - rate_limit) / rate_limit
        if excess > 1.0:
            excess = 1.0
        if excess > score:
            score = excess
    return score


@kernel
def score_request(
    keys,
    starts,
    counts,
    key,
    second_key,
    now,
    window,
    bot_agent,
    missing_agent,
    missing_address,
    rate_limit,
    out,
):
    """Count the request against the rate windows of ``key`` (its device, or its address
    when it has no device id; 0: neither, not counted) and of ``second_key`` (its address
    when it has both; 0: none), and return the larger of :func:`fraud_score` with the
    first count and the request's signals and :func:`fraud_score` of the second count
    alone. ``out[0]`` and ``out[1]`` receive the two counts (0 where not counted)."""
    count = 0
    if key != 0:
        count = counter_add(keys, starts, counts, key, now, window, 1)
    out[0] = count
    score = fraud_score(bot_agent, missing_agent, missing_address, count, rate_limit)
    second = 0
    if second_key != 0:
        second = counter_add(keys, starts, counts, second_key, now, window, 1)
        by_address = fraud_score(False, False, False, second, rate_limit)
        if by_address > score:
            score = by_address
    out[1] = second
    return score
