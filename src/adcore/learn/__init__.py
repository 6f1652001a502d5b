"""Learners: models that adapt from feedback, with their arithmetic in kernels.

- :class:`FTRLProximal`: a contextual response model, online logistic regression with
  FTRL-proximal updates over hashed features (:func:`hash_features`), for the
  probability of a click, a completion or a conversion.
"""

from .response import FTRLProximal, FTRLState, Row, hash_features, stack_rows

__all__ = ["FTRLProximal", "FTRLState", "Row", "hash_features", "stack_rows"]
