"""The logistic function and its inverse, in the numerically stable forms every kernel
that turns a logit into a probability uses (relevance scoring, fused scoring auctions,
the learners' response models)."""

import math

from ._jit import helper

__all__ = ["logit", "sigmoid"]


@helper
def sigmoid(z):
    """``1 / (1 + exp(-z))``, computed so that no intermediate overflows: for ``z < 0``
    as ``exp(z) / (1 + exp(z))``. NaN stays NaN."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@helper
def logit(p):
    """``log(p / (1 - p))`` for ``0 < p < 1``."""
    return math.log(p / (1.0 - p))
