"""Online logistic regression with FTRL-proximal updates over hashed features.

A model is one float64 array ``state`` of shape ``(4, 2**bits)``: for each hashed feature
slot, the ``z`` and ``n`` of McMahan et al. (2013, algorithm 1), ``last``, the update
count at which the slot was last brought up to date, for forgetting (a count below 2**53
is exact in a float64), and ``w``, the slot's weight as of that update. Without
forgetting a weight changes only when its slot is updated, so predictions read ``w``
alone: one number per feature in a row of its own, instead of deriving it from ``z``
and ``n`` (a square root and a division) and touching three rows of memory. With
forgetting they derive it. Its hyper-parameters and its update count travel in
a second float64 array ``params = (alpha, beta, l1, l2, decay, clock)``: two arrays per
call keep Numba's dispatch cheap (it checks every argument's type). A weight is never
stored: it is derived from its slot's ``z`` and ``n`` when read,

``w = 0`` if ``|z| <= l1``, else ``w = -(z - sign(z) * l1) / ((beta + sqrt(n)) / alpha + l2)``,

so the L1 term keeps rarely useful features at exactly zero. The number of slots is a
power of two and a feature's slot is its index modulo that number (the hashing trick:
any 64-bit feature hash is a valid index). An example is a sparse row: slot indices
``idx`` and values ``val`` (one-hot features have value 1), plus an
``offset`` logit added to the sum (a prior, for example the logit of an ad's action rate
given by its metadata, so an unseen ad starts from its prior: cold start). The predicted
probability is ``sigmoid(offset + sum_j w[idx[j]] * val[j])``, the logit clipped to
``[-MAX_LOGIT, MAX_LOGIT]``.

**Update** on a labelled example ``y`` in {0, 1} with importance ``weight``: with ``p`` the
prediction before the update, for each feature ``g = weight * (p - y) * val``, ``sigma =
(sqrt(n + g^2) - sqrt(n)) / alpha``, ``z += g - sigma * w``, ``n += g^2`` (a slot that appears
twice in one row is updated twice, in order, from the same ``p``).

**Forgetting.** With ``decay < 1`` each slot's ``z`` and ``n`` are multiplied by
``decay ** (clock - last)`` before it is read or updated, where ``clock`` is the number
of updates the model has seen: every update is forgotten geometrically, lazily, slot by
slot, so an update costs the same whatever the number of slots. Weights of features that
stop appearing shrink toward zero, and recent evidence outweighs old, so the model
follows drift. ``decay = 1`` forgets nothing.

References
----------
H. B. McMahan, G. Holt, D. Sculley et al., "Ad click prediction: a view from the
trenches", KDD 2013.
"""

import math

from ._jit import exact_helper, exact_kernel

__all__ = [
    "ALPHA",
    "BETA",
    "CLOCK",
    "DECAY",
    "L1",
    "L2",
    "LAST",
    "MAX_LOGIT",
    "N",
    "W",
    "Z",
    "ftrl_learn",
    "ftrl_learn_rows",
    "ftrl_predict",
    "ftrl_forget",
    "ftrl_predict_rows",
    "ftrl_refresh",
    "decay_factor",
    "decayed_weight",
    "ftrl_weights",
    "learn_row",
    "weight_of",
]

MAX_LOGIT = 35.0
"""The logit is clipped to this magnitude (probabilities within about 6e-16 of 0 and 1)."""

# Rows of ``state``.
Z = 0
N = 1
LAST = 2
W = 3
# Entries of ``params``.
ALPHA = 0
BETA = 1
L1 = 2
L2 = 3
DECAY = 4
CLOCK = 5


@exact_helper
def _sigmoid(t):
    """The logistic function of a clipped logit (``|t| <= MAX_LOGIT``, so ``exp``
    cannot overflow): as :func:`adcore._kernels.logistic.sigmoid`, without fastmath."""
    return 1.0 / (1.0 + math.exp(-t))


# The per-slot helpers take scalars only: a helper taking arrays pays reference counting
# and a call per slot where LLVM does not inline it, many times the slot's arithmetic.


@exact_helper
def decay_factor(gap, decay):
    """How much of a slot's ``z`` and ``n`` remains after ``gap`` updates."""
    if decay < 1.0 and gap > 0.0:
        return decay**gap
    return 1.0


@exact_helper
def weight_of(zs, ns, alpha, beta, l1, l2):
    """A slot's weight from its (decayed) ``z`` and ``n`` (see the module docstring)."""
    if zs <= l1 and zs >= -l1:
        return 0.0
    shrink = l1 if zs > 0.0 else -l1
    return -(zs - shrink) / ((beta + math.sqrt(ns)) / alpha + l2)


@exact_helper
def decayed_weight(zs, ns, gap, decay, alpha, beta, l1, l2):
    """A slot's weight ``gap`` updates after its last one, with forgetting."""
    f = decay_factor(gap, decay)
    return weight_of(zs * f, ns * f, alpha, beta, l1, l2)


@exact_helper
def _logit(idx, val, start, stop, offset, state, params, clock):
    mask = state.shape[1] - 1
    alpha, beta, l1, l2, decay = params[ALPHA], params[BETA], params[L1], params[L2], params[DECAY]
    t = offset
    for j in range(start, stop):
        s = idx[j] & mask
        if decay == 1.0:
            w = state[W, s]
        else:
            w = decayed_weight(
                state[Z, s], state[N, s], clock - state[LAST, s], decay, alpha, beta, l1, l2
            )
        t += w * val[j]
    if t > MAX_LOGIT:
        t = MAX_LOGIT
    elif t < -MAX_LOGIT:
        t = -MAX_LOGIT
    return t


@exact_helper
def _learnable(val, start, stop, offset, y, weight):
    """Whether a row can be learned: finite values and offset, ``y`` 0 or 1, a finite
    importance weight of at least 0."""
    if not (math.isfinite(offset) and (y == 0.0 or y == 1.0)):
        return False
    if not (math.isfinite(weight) and weight >= 0.0):
        return False
    for j in range(start, stop):
        if not math.isfinite(val[j]):
            return False
    return True


@exact_helper
def learn_row(idx, val, start, stop, offset, y, weight, state, params):
    """One FTRL-proximal update of the row ``idx/val[start:stop]`` at the model's clock,
    which it advances by one; the prediction before the update, or -1 (and no change)
    when the row cannot be learned (:func:`_learnable`). For kernels that build rows
    themselves (:mod:`adcore._kernels.contextual`)."""
    if not _learnable(val, start, stop, offset, y, weight):
        return -1.0
    clock = params[CLOCK]
    p = _sigmoid(_logit(idx, val, start, stop, offset, state, params, clock))
    # The update happens at the new clock: bring every slot of the row there first (a slot
    # that appears twice is then not decayed twice).
    mask = state.shape[1] - 1
    alpha, beta, l1, l2, decay = params[ALPHA], params[BETA], params[L1], params[L2], params[DECAY]
    now = clock + 1.0
    for j in range(start, stop):
        s = idx[j] & mask
        f = decay_factor(now - state[LAST, s], decay)
        state[Z, s] *= f
        state[N, s] *= f
        state[LAST, s] = now
    err = weight * (p - y)
    for j in range(start, stop):
        s = idx[j] & mask
        g = err * val[j]
        ns = state[N, s]
        w = weight_of(state[Z, s], ns, alpha, beta, l1, l2)
        sigma = (math.sqrt(ns + g * g) - math.sqrt(ns)) / alpha
        state[Z, s] += g - sigma * w
        state[N, s] = ns + g * g
    for j in range(start, stop):  # the new weights (a slot twice in the row: its last)
        s = idx[j] & mask
        state[W, s] = weight_of(state[Z, s], state[N, s], alpha, beta, l1, l2)
    params[CLOCK] = now
    return p


@exact_kernel
def ftrl_predict(idx, val, offset, state, params):
    """The predicted probability of one row (see the module docstring).

    Parameters
    ----------
    idx : int64 array (k,)
        Feature indices, taken modulo ``state.shape[1]`` (a power of two).
    val : float64 array (k,)
        Feature values.
    offset : float
        Logit added to the row's sum (a prior).
    state : float64 array (4, slots)
        Each slot's ``z``, ``n``, ``last`` and stored weight ``w``.
    params : float64 array (6,)
        ``alpha > 0``, ``beta > 0``, ``l1 >= 0``, ``l2 >= 0``, ``decay`` in ``(0, 1]``
        and the model's update count.

    Returns
    -------
    float
        ``sigmoid(offset + sum w[idx] * val)``, the logit clipped to ``MAX_LOGIT``
        (NaN when a value or the offset is NaN).
    """
    return _sigmoid(_logit(idx, val, 0, idx.shape[0], offset, state, params, params[CLOCK]))


@exact_kernel
def ftrl_predict_rows(out, indptr, idx, val, offset, state, params):
    """:func:`ftrl_predict` of every row of a CSR batch: row ``r`` is
    ``idx/val[indptr[r]:indptr[r + 1]]`` with offset ``offset[r]``; ``out[r]`` receives
    its probability. The model does not change."""
    clock = params[CLOCK]
    for r in range(indptr.shape[0] - 1):
        t = _logit(idx, val, indptr[r], indptr[r + 1], offset[r], state, params, clock)
        out[r] = _sigmoid(t)


@exact_kernel
def ftrl_learn(idx, val, offset, y, weight, state, params):
    """One FTRL-proximal update on a labelled row (see the module docstring), advancing
    the clock ``params[CLOCK]``; returns the probability predicted before the update, or
    -1 without any change when a value or the offset is not finite, ``y`` is not 0 or 1
    or ``weight`` is negative or not finite."""
    return learn_row(idx, val, 0, idx.shape[0], offset, y, weight, state, params)


@exact_kernel
def ftrl_learn_rows(out, indptr, idx, val, offset, y, weight, state, params):
    """Rows of a CSR batch learned one after the other, exactly as the same number of
    :func:`ftrl_learn` calls; ``out[r]`` receives each row's prediction before its
    update. Returns the number of rows learned, or ``-1 - r`` without any change when row
    ``r`` is the first that cannot be learned (every row is checked before any is)."""
    rows = indptr.shape[0] - 1
    for r in range(rows):
        if not _learnable(val, indptr[r], indptr[r + 1], offset[r], y[r], weight[r]):
            return -1 - r
    for r in range(rows):
        out[r] = learn_row(
            idx, val, indptr[r], indptr[r + 1], offset[r], y[r], weight[r], state, params
        )
    return rows


@exact_kernel
def ftrl_weights(out, idx, state, params):
    """``out[j]`` = the current weight of feature ``idx[j]`` (the model does not change)."""
    mask = state.shape[1] - 1
    clock = params[CLOCK]
    alpha, beta, l1, l2, decay = params[ALPHA], params[BETA], params[L1], params[L2], params[DECAY]
    for j in range(idx.shape[0]):
        s = idx[j] & mask
        if decay == 1.0:
            out[j] = state[W, s]
        else:
            out[j] = decayed_weight(
                state[Z, s], state[N, s], clock - state[LAST, s], decay, alpha, beta, l1, l2
            )


@exact_kernel
def ftrl_refresh(state, params):
    """Recompute every slot's stored weight ``w`` from its ``z`` and ``n`` (after a
    state is loaded)."""
    alpha, beta, l1, l2 = params[ALPHA], params[BETA], params[L1], params[L2]
    for s in range(state.shape[1]):
        state[W, s] = weight_of(state[Z, s], state[N, s], alpha, beta, l1, l2)


@exact_kernel
def ftrl_forget(state, params, factor):
    """Forget all but ``factor`` of what every slot learned: ``z`` and ``n`` scaled by
    ``factor`` (in ``(0, 1]``), each slot's stored weight recomputed (after a detected
    drift: recent evidence then moves the weights as fast as at the start)."""
    alpha, beta, l1, l2 = params[ALPHA], params[BETA], params[L1], params[L2]
    for s in range(state.shape[1]):
        state[Z, s] *= factor
        state[N, s] *= factor
        state[W, s] = weight_of(state[Z, s], state[N, s], alpha, beta, l1, l2)
