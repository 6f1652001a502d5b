"""Contextual relevance: each ad's action probability from its prior, its embedding
match with the listener's interest and an FTRL-proximal model (:mod:`.ftrl`) of the ad
crossed with the request's context.

For ad ``i`` in a request with context keys ``ctx[0..K-1]`` (device type, local hour, app
or site, content categories: :func:`adcore.features.context_keys`) and embedding match
``m = <embedding_i, interest>`` (0 without an interest), the model's row has
``3 + K`` features, each a slot of the model:

- the ad itself (hash ``h = splitmix64(ad_key)``), value 1;
- the embedding match (one slot shared by all ads, hash ``splitmix64(MATCH_KEY)``), value
  ``m``: the model learns how much the match is worth on top of the fixed ``scale``;
- the ad crossed with each context key (hash ``splitmix64(ad_key ^ ctx[j])``), value 1;
- the ad crossed with the listener's focus state ``f`` (hash ``splitmix64(ad_key ^
  (FOCUS_SALT ^ f))``), value 1;

and its offset is the ad's prior logit plus ``scale * m`` (a prior that holds until
evidence moves it). A feature's slot keeps its ad's block: the bits above
``BLOCK_BITS`` come from ``h >> (BLOCK_BITS + 1)`` (the match feature's from its own
hash), the low ``BLOCK_BITS`` from the feature's hash, and the model takes the slot
modulo its size (at least ``2**BLOCK_BITS`` slots for the blocks to exist).
The probability is ``sigmoid(offset + sum of the features' weights times values)``.
"""

import numpy as np

from ._jit import exact_kernel, helper, kernel
from .bits import splitmix64
from .ftrl import (
    ALPHA,
    BETA,
    CLOCK,
    DECAY,
    L1,
    L2,
    LAST,
    MAX_LOGIT,
    N,
    W,
    Z,
    decayed_weight,
    learn_row,
)
from .logistic import sigmoid

__all__ = ["MATCH_KEY", "contextual_learn", "contextual_probability", "contextual_row"]

MATCH_KEY = np.uint64(0x510E527FADE682D1)
"""The key of the embedding-match feature (the same slot for every ad)."""

FOCUS_SALT = np.uint64(0x1F83D9ABFB41BD6B)
"""Mixed with the listener's focus state into the focus key crossed with each ad."""


BLOCK_BITS = 8
"""An ad's features share a block of ``2**BLOCK_BITS`` slots (6 KB of the model)."""


@helper
def _slot(block_hash, feature_hash):
    """A feature's slot: the block of ``block_hash`` (its ad's, so one ad's features sit
    together in memory: scoring an ad touches one small region of the model, not one
    random place per feature) and a place in it from ``feature_hash``. 63 bits, so the
    slot is a non-negative int64 whatever the model's size."""
    low = np.uint64((1 << BLOCK_BITS) - 1)
    high = (block_hash >> np.uint64(BLOCK_BITS + 1)) << np.uint64(BLOCK_BITS)
    return np.int64(high | (feature_hash & low))


@helper
def contextual_row(idx, val, ad_key, context_keys, focus, match):
    """Fill the row of one ad (see the module docstring): ``idx``/``val`` of length
    ``3 + len(context_keys)``."""
    block = splitmix64(ad_key)
    idx[0] = _slot(block, block)
    val[0] = 1.0
    shared = splitmix64(MATCH_KEY)
    idx[1] = _slot(shared, shared)
    val[1] = match
    k = context_keys.shape[0]
    for j in range(k):
        idx[2 + j] = _slot(block, splitmix64(ad_key ^ context_keys[j]))
        val[2 + j] = 1.0
    idx[2 + k] = _slot(block, splitmix64(ad_key ^ (FOCUS_SALT ^ np.uint64(focus))))
    val[2 + k] = 1.0


@helper
def _weight_at(state, s, clock, decay, alpha, beta, l1, l2):
    """Slot ``s``'s current weight (see :mod:`.ftrl`)."""
    if decay == 1.0:
        return state[W, s]
    return decayed_weight(
        state[Z, s], state[N, s], clock - state[LAST, s], decay, alpha, beta, l1, l2
    )


@kernel
def contextual_probability(
    score,
    match,
    reason,
    n_imp,
    embeddings,
    interest,
    base_logit,
    scale,
    ad_key,
    context_keys,
    focus,
    model_state,
    model_params,
    cand,
    n_cand,
):
    """``score[i]`` = the action probability of every candidate ad eligible for at least
    one impression, ``match[i]`` its embedding match (both 0 for the others). Only the
    candidates ``cand[:n_cand]`` are looked at; the model does not change."""
    n, d = embeddings.shape
    mask = model_state.shape[1] - 1
    alpha, beta = model_params[ALPHA], model_params[BETA]
    l1, l2 = model_params[L1], model_params[L2]
    decay, clock = model_params[DECAY], model_params[CLOCK]
    n_keys = context_keys.shape[0]
    focus_key = FOCUS_SALT ^ np.uint64(focus)
    shared = splitmix64(MATCH_KEY)
    w_match = _weight_at(
        model_state, _slot(shared, shared) & mask, clock, decay, alpha, beta, l1, l2
    )
    for i in range(n):
        score[i] = 0.0
        match[i] = 0.0
    for c in range(n_cand):
        i = cand[c]
        eligible = False
        for k in range(n_imp):
            if reason[k, i] == 0:
                eligible = True
                break
        if not eligible:
            continue
        dot = np.float32(0.0)
        for j in range(d):
            dot += embeddings[i, j] * interest[j]
        m = np.float64(dot)
        match[i] = m
        key = ad_key[i]
        block = splitmix64(key)
        z = base_logit[i] + scale * m
        z += w_match * m
        # The ad and its crosses (stored weights; derived only with forgetting).
        for j in range(-1, n_keys + 1):
            if j < 0:
                h = block
            elif j < n_keys:
                h = splitmix64(key ^ context_keys[j])
            else:
                h = splitmix64(key ^ focus_key)
            s = _slot(block, h) & mask
            if decay == 1.0:
                z += model_state[W, s]
            else:
                z += decayed_weight(
                    model_state[Z, s], model_state[N, s], clock - model_state[LAST, s],
                    decay, alpha, beta, l1, l2,
                )  # fmt: skip
        if z > MAX_LOGIT:
            z = MAX_LOGIT
        elif z < -MAX_LOGIT:
            z = -MAX_LOGIT
        score[i] = sigmoid(z)


@exact_kernel
def contextual_learn(
    idx, val, ad_key, context_keys, focus, match, offset, y, model_state, model_params
):
    """Learn one outcome of an ad shown in a context: the row of
    :func:`contextual_row` (built in ``idx``/``val``, scratch of length ``3 +
    len(context_keys)``) with ``offset``, label ``y`` (0 or 1), weight 1. Returns the
    prediction before the update, or -1 without any change for a bad value
    (:func:`adcore._kernels.ftrl.learn_row`)."""
    contextual_row(idx, val, ad_key, context_keys, focus, match)
    return learn_row(idx, val, 0, idx.shape[0], offset, y, 1.0, model_state, model_params)
