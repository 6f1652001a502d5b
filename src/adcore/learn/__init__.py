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
- Tabular reinforcement learning (:mod:`adcore.learn.qlearning`): :class:`QLearning`,
  epsilon-greedy with the exact probability of every action, for small discrete
  problems such as a bid multiplier per pacing state.
- Drift detectors (:mod:`adcore.learn.drift`): :class:`PageHinkley` and :class:`ADWIN`
  notice when the mean of a monitored stream (a loss, a skip rate) changes.
"""

from .bandits import BanditState, Choice, EpsilonGreedy, LinearThompsonSampling, LinUCB
from .drift import ADWIN, ADWINState, PageHinkley, PageHinkleyState
from .qlearning import QLearning, QState
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
    "QLearning",
    "QState",
    "Row",
    "hash_features",
    "stack_rows",
]
