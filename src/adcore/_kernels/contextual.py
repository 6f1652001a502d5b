"""Contextual relevance: each ad's action probability from its prior, its embedding
match with the listener's interest and an FTRL-proximal model (:mod:`.ftrl`) of the ad
crossed with the request's context.

For ad ``i`` in a request with context keys ``ctx[0..K-1]`` (device type, local hour, app
or site, content categories: :func:`adcore.features.context_keys`) and embedding match
``m = <embedding_i, interest>`` (0 without an interest), the model's row has
``2 + K`` features, each a slot of the model:

- the ad itself (``splitmix64(ad_key)``), value 1;
- the embedding match (one slot shared by all ads), value ``m``: the model learns how
  much the match is worth on top of the fixed ``scale``;
- the ad crossed with each context key (``splitmix64(ad_key ^ ctx[j])``), value 1;

and its offset is the ad's prior logit plus ``scale * m`` (a prior that holds until
evidence moves it). A slot is the top 63 bits of its hash, taken modulo the model's size.
The probability is ``sigmoid(offset + sum of the features' weights times values)``.
"""

import numpy as np

from ._jit import exact_kernel, helper, kernel
from .bits import splitmix64
from .ftrl import MAX_LOGIT, learn_row, slot_weight
from .logistic import sigmoid

__all__ = ["MATCH_KEY", "contextual_learn", "contextual_probability", "contextual_row"]

MATCH_KEY = np.uint64(0x510E527FADE682D1)
"""The key of the embedding-match feature (the same slot for every ad)."""


@helper
def _slot(key):
    return np.int64(key >> np.uint64(1))


@helper
def contextual_row(idx, val, ad_key, context_keys, match):
    """Fill the row of one ad (see the module docstring): ``idx``/``val`` of length
    ``2 + len(context_keys)``."""
    idx[0] = _slot(splitmix64(ad_key))
    val[0] = 1.0
    idx[1] = _slot(splitmix64(MATCH_KEY))
    val[1] = match
    for j in range(context_keys.shape[0]):
        idx[2 + j] = _slot(splitmix64(ad_key ^ context_keys[j]))
        val[2 + j] = 1.0


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
    model_state,
    model_params,
    cand,
    n_cand,
):
    """``score[i]`` = the action probability of every candidate ad eligible for at least
    one impression, ``match[i]`` its embedding match (both 0 for the others). Only the
    candidates ``cand[:n_cand]`` are looked at; the model does not change."""
    n, d = embeddings.shape
    mask = model_state.shape[0] - 1
    w_match = slot_weight(model_state, _slot(splitmix64(MATCH_KEY)) & mask, model_params)
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
        z = base_logit[i] + scale * m
        z += slot_weight(model_state, _slot(splitmix64(key)) & mask, model_params)
        z += w_match * m
        for j in range(context_keys.shape[0]):
            s = _slot(splitmix64(key ^ context_keys[j])) & mask
            z += slot_weight(model_state, s, model_params)
        if z > MAX_LOGIT:
            z = MAX_LOGIT
        elif z < -MAX_LOGIT:
            z = -MAX_LOGIT
        score[i] = sigmoid(z)


@exact_kernel
def contextual_learn(idx, val, ad_key, context_keys, match, offset, y, model_state, model_params):
    """Learn one outcome of an ad shown in a context: the row of
    :func:`contextual_row` (built in ``idx``/``val``, scratch of length ``2 +
    len(context_keys)``) with ``offset``, label ``y`` (0 or 1), weight 1. Returns the
    prediction before the update, or -1 without any change for a bad value
    (:func:`adcore._kernels.ftrl.learn_row`)."""
    contextual_row(idx, val, ad_key, context_keys, match)
    return learn_row(idx, val, 0, idx.shape[0], offset, y, 1.0, model_state, model_params)
