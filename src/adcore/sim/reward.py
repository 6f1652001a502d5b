"""The shared reward of the simulator's learning agents: one definition, versioned.

Every agent of :class:`adcore.sim.env.AdMarketEnv` gets the same reward, and learners
built on the simulator reuse this module, so a return means the same thing everywhere.
The reward of a step (any stretch of decided requests, up to a whole day) is
:func:`shared_reward` of what happened in it (:class:`RewardTerms`) under named weights
(:class:`RewardWeights`)::

    reward = value    * advertiser value        (what the shown ads were worth)
           - spend    * spend                   (what the advertisers paid)
           + revenue  * spend                   (what the platform earned)
           + delivery * delivery                (budgets delivered, see below)
           + complete * completions
           - skip     * skips
           - invalid  * invalid spend           (spend on bot traffic)
           - consent  * consent violations

With the default weights the three money terms add up to the advertisers' surplus
(value less spend) plus the platform's revenue, that is the value created: a payment
moves money from an advertiser to the platform and creates none. Advertisers are
treated as value maximisers with budgets (as in the autobidding literature, e.g.
Aggarwal, Badanidiyuru and Mehta, "Autobidding with constraints", WINE 2019): a budget
is what an advertiser asked to have spent for it, so delivering it counts, up to the
day's total budget. Spend on bots creates no value and costs once more; each consent
violation costs far more than any one impression earns.

Version 0 (``value * V - spend * S + complete * completions - skip * skips``) counted
spend only as the advertisers' cost and budgets not at all, so a policy that halved
every bid and left half of every budget unspent could score best.

``delivery`` is measured in currency so it scales with the day like value and spend.
With ``B_c`` a campaign's daily budget, ``v_c`` its valid spend so far (spend on human
traffic), ``N`` the campaigns with a budget and ``B`` the sum of their budgets, the day's
delivery so far is :func:`delivery_score`::

    D = B / N * sum_c min(1, v_c / B_c)

the mean share of each campaign's budget delivered, times the total budget, so a small
campaign left unserved counts as much as a large one. A step's delivery term is the
change of ``D`` over the step; an episode's add up to ``D`` at its end.

:data:`REWARD_VERSION` changes whenever this definition does.

Examples
--------
>>> from adcore.sim.reward import RewardTerms, RewardWeights, shared_reward
>>> terms = RewardTerms(value=3.0, spend=0.5, delivery=0.4, completes=100, skips=50)
>>> round(shared_reward(terms), 6)
3.45
>>> round(shared_reward(terms, RewardWeights(revenue=0.0, delivery=0.0)), 6)
2.55
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from numpy.typing import ArrayLike

from .._checks import finite
from ..errors import InvalidInput
from ..money import MICROS

__all__ = ["REWARD_VERSION", "RewardTerms", "RewardWeights", "delivery_score", "shared_reward"]

REWARD_VERSION = 1
"""The version of the reward's definition (:func:`shared_reward` and the default
:class:`RewardWeights`). Version 1 added revenue, delivery, invalid spend and consent
violations to version 0's ``value * value - spend * spend + complete * completions -
skip * skips``, which ``RewardWeights(revenue=0, delivery=0, invalid=0, consent=0)``
still gives."""


class RewardWeights(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The named weights of :func:`shared_reward`; every one is finite and >= 0 (the
    signs are in the formula).

    Parameters
    ----------
    value : float
        Per currency unit of advertiser value (clicks, completions, conversions at the
        campaigns' values).
    spend : float
        Per currency unit the advertisers paid (subtracted).
    revenue : float
        Per currency unit the platform earned (the same spend, added).
    delivery : float
        Per currency unit of budget delivered (:func:`delivery_score`).
    complete : float
        Per completed audio or video ad. The default, 0.001, is about what one
        impression costs at the built-in scenarios' median outside CPM of 1.2.
    skip : float
        Per skipped audio or video ad (subtracted).
    invalid : float
        Per currency unit spent on bot traffic (subtracted, on top of ``spend``).
    consent : float
        Per consent violation (subtracted): a personalised decision on a GDPR request
        from a listener who did not consent.
    """

    value: float = 1.0
    spend: float = 1.0
    revenue: float = 1.0
    delivery: float = 1.0
    complete: float = 0.001
    skip: float = 0.001
    invalid: float = 1.0
    consent: float = 1.0

    def validate(self) -> RewardWeights:
        """Check every weight; raise :class:`~adcore.InvalidInput` naming the first bad
        one (``"reward_weights.value"``). Returns ``self``."""
        for name in self.__struct_fields__:
            w = getattr(self, name)
            if not finite(w) or w < 0:
                raise InvalidInput(
                    f"reward weight {name} must be a finite number >= 0, got {w!r}",
                    f"reward_weights.{name}",
                )
        return self


class RewardTerms(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What happened in a step, as :func:`shared_reward` weighs it.

    Parameters
    ----------
    value : float
        Advertiser value of the ads shown (currency units).
    spend : float
        What was charged for them (currency units): the advertisers' cost and the
        platform's revenue.
    delivery : float
        The change of :func:`delivery_score` over the step (currency units).
    completes, skips : int
        Audio and video ads played to the end, and skipped.
    invalid_spend : float
        The part of ``spend`` charged on bot traffic (currency units).
    consent_violations : int
        Personalised decisions on GDPR requests from listeners who did not consent.
    """

    value: float = 0.0
    spend: float = 0.0
    delivery: float = 0.0
    completes: int = 0
    skips: int = 0
    invalid_spend: float = 0.0
    consent_violations: int = 0


_DEFAULT = RewardWeights()


def shared_reward(terms: RewardTerms, weights: RewardWeights = _DEFAULT) -> float:
    """The shared reward of a step (see the module's docstring for the formula).

    Parameters
    ----------
    terms : RewardTerms
        What happened in the step.
    weights : RewardWeights, optional
        The defaults when omitted.

    Returns
    -------
    float
    """
    w, t = weights, terms
    return float(
        w.value * t.value
        - w.spend * t.spend
        + w.revenue * t.spend
        + w.delivery * t.delivery
        + w.complete * t.completes
        - w.skip * t.skips
        - w.invalid * t.invalid_spend
        - w.consent * t.consent_violations
    )


def delivery_score(valid_spend_micros: ArrayLike, daily_budget_micros: ArrayLike) -> float:
    """The day's delivery so far, in currency units:
    ``B / N * sum_c min(1, v_c / B_c)`` over the campaigns with a budget ``B_c > 0``
    (``N`` of them, budgets summing to ``B``), ``v_c`` their valid spend (both in
    micro-units, one entry per campaign). 0 when no campaign has a budget.

    >>> delivery_score([500_000, 2_000_000], [1_000_000, 1_000_000])
    1.5
    """
    v = np.asarray(valid_spend_micros, dtype=np.float64)
    b = np.asarray(daily_budget_micros, dtype=np.float64)
    if v.shape != b.shape or v.ndim != 1:
        raise InvalidInput(
            f"valid spend {v.shape} and budgets {b.shape} must be two vectors of one length",
            "valid_spend_micros",
        )
    has = b > 0
    n = int(has.sum())
    if n == 0:
        return 0.0
    share = np.minimum(1.0, np.maximum(0.0, v[has]) / b[has])
    total = float(b[has].sum()) / MICROS
    out = total / n * float(share.sum())
    return out if math.isfinite(out) else 0.0
