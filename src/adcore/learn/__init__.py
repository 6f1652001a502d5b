"""Learners: models that adapt from feedback, with their arithmetic in kernels.

- Response models (:mod:`adcore.learn.response`): :class:`FTRLProximal`, online logistic
  regression with FTRL-proximal updates over hashed features (:func:`hash_features`),
  for the probability of a click, a completion or a conversion.
- Contextual bandits (:mod:`adcore.learn.bandits`): :class:`LinUCB`,
  :class:`LinearThompsonSampling` and :class:`EpsilonGreedy` keep one linear reward model
  per arm, choose among any subset of the arms per decision, and report with every
  :class:`Choice` the probability of each candidate, so logged decisions can be used
  for off-policy evaluation. A model's :class:`BanditState` snapshot round-trips it
  exactly.
- Drift detectors (:mod:`adcore.learn.drift`): :class:`PageHinkley` and :class:`ADWIN`
  notice when the mean of a monitored stream (a loss, a skip rate) changes.
"""

from .bandits import BanditState, Choice, EpsilonGreedy, LinearThompsonSampling, LinUCB
from .drift import ADWIN, ADWINState, PageHinkley, PageHinkleyState
from .response import FTRLProximal, FTRLState, Row, hash_features, stack_rows

__all__ = [
    "ADWIN",
    "ADWINState",
    "BanditState",
    "Choice",
    "EpsilonGreedy",
    "FTRLProximal",
    "FTRLState",
    "LinUCB",
    "LinearThompsonSampling",
    "PageHinkley",
    "PageHinkleyState",
    "Row",
    "hash_features",
    "stack_rows",
]
