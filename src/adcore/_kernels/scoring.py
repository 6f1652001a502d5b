"""Relevance: the listener's interest vector and each ad's predicted action probability."""

import math

import numpy as np

from ._jit import helper, kernel
from .logistic import logit, sigmoid


@helper
def add_bit_rows(out, bits, rows, vectors):
    """Add ``vectors[rows[b]]`` to ``out`` for every bit ``b`` set in ``bits`` whose row
    is not -1."""
    d = out.shape[0]
    for w in range(bits.shape[0]):
        word = bits[w]
        b = 0
        while word:
            if word & np.uint64(1):
                row = rows[w * 64 + b]
                if row >= 0:
                    for j in range(d):
                        out[j] += vectors[row, j]
            word = word >> np.uint64(1)
            b += 1


@helper
def interest_vector(
    out, tokens, n_tokens, token_vectors, content, content_rows, segments, segment_rows
):
    """``out`` = the L2-normalised sum of the signal vectors present in the request:
    ``token_vectors[tokens[:n_tokens]]``, and the vector of every category set in the
    ``content`` bitset and every segment set in ``segments`` that has one
    (``content_rows`` / ``segment_rows`` map a bit to its row, -1 for none).

    Returns 1 when the result is non-zero (an interest is known), else 0 (``out`` all 0).
    """
    d = out.shape[0]
    for j in range(d):
        out[j] = 0.0
    for t in range(n_tokens):
        row = tokens[t]
        for j in range(d):
            out[j] += token_vectors[row, j]
    add_bit_rows(out, content, content_rows, token_vectors)
    add_bit_rows(out, segments, segment_rows, token_vectors)
    # The norm in float64: float32 squares of tiny or huge components under- or overflow.
    norm = 0.0
    for j in range(d):
        x = np.float64(out[j])
        norm += x * x
    if norm <= 0.0 or not math.isfinite(norm):
        for j in range(d):
            out[j] = 0.0
        return 0
    inv = 1.0 / math.sqrt(norm)
    for j in range(d):
        out[j] = np.float64(out[j]) * inv
    return 1


@kernel
def action_probability(
    score, reason, n_imp, embeddings, interest, base_logit, learned_logit, scale, cand, n_cand
):
    """``score[i] = sigmoid(base_logit[i] + learned_logit[i] + scale * <embeddings[i], interest>)``
    for ads eligible in at least one impression; 0 for the others.

    ``interest`` all zero (unknown) leaves the prior and what was learned. Only the
    candidates ``cand[:n_cand]`` are looked at.
    """
    n, d = embeddings.shape
    for i in range(n):
        score[i] = 0.0
    for c in range(n_cand):
        i = cand[c]
        eligible = False
        for k in range(n_imp):
            if reason[k, i] == 0:
                eligible = True
                break
        if not eligible:
            score[i] = 0.0
            continue
        dot = np.float32(0.0)  # float32 accumulation vectorises (embeddings are float32)
        for j in range(d):
            dot += embeddings[i, j] * interest[j]
        score[i] = sigmoid(base_logit[i] + learned_logit[i] + scale * dot)


@kernel
def prior_probability(score, reason, n_imp, base_logit, learned_logit, cand, n_cand):
    """The fallback when relevance is skipped: the ad's prior plus what was learned."""
    for i in range(base_logit.shape[0]):
        score[i] = 0.0
    for c in range(n_cand):
        i = cand[c]
        eligible = False
        for k in range(n_imp):
            if reason[k, i] == 0:
                eligible = True
                break
        if not eligible:
            score[i] = 0.0
        else:
            score[i] = sigmoid(base_logit[i] + learned_logit[i])


@kernel
def learned_logit_update(learned, base_logit, shows, actions, prior_strength):
    """Empirical-Bayes shrinkage of each ad's observed action rate towards its prior.

    With ``p0 = sigmoid(base_logit)`` and a Beta prior worth ``prior_strength`` shows,
    ``p = (actions + prior_strength * p0) / (shows + prior_strength)`` and
    ``learned = logit(p) - base_logit``.
    """
    for i in range(learned.shape[0]):
        z = base_logit[i]
        p = (actions[i] + prior_strength * sigmoid(z)) / (shows[i] + prior_strength)
        p = min(max(p, 1e-9), 1.0 - 1e-9)
        learned[i] = logit(p) - z
