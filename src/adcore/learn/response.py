"""Contextual response models: online logistic regression (FTRL-proximal) over hashed
features, predicting the probability of a listener's action (a click, a completion, a
conversion) from the listener, the ad and the context.

The arithmetic is in :mod:`adcore._kernels.ftrl`; this module holds the model's state and
hyper-parameters, checks inputs at the edge and turns named features into hashed rows
(:func:`hash_features`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._hashing import stable_key
from .._kernels.ftrl import (
    ALPHA,
    CLOCK,
    LAST,
    N,
    Z,
    ftrl_forget,
    ftrl_learn,
    ftrl_learn_rows,
    ftrl_predict,
    ftrl_predict_rows,
    ftrl_refresh,
    ftrl_weights,
)
from ..errors import InvalidInput

__all__ = ["FTRLProximal", "FTRLState", "Row", "hash_features", "stack_rows"]

Row = tuple[NDArray[np.int64], NDArray[np.float64]]
"""A sparse example: feature indices (any int64, taken modulo the model's size) and
their values."""

FeatureValue = str | int | float | bool

_KEYS: dict[str, int] = {}
_MASK63 = (1 << 63) - 1


def _key(text: str) -> int:
    key = _KEYS.get(text)
    if key is None:
        key = stable_key(text) & _MASK63
        if len(_KEYS) >= 100_000:
            _KEYS.clear()
        _KEYS[text] = key
    return key


def hash_features(features: Mapping[str, FeatureValue]) -> Row:
    """A row from named features, by the hashing trick.

    A string (or bool) value is one-hot: index ``hash("name=value")``, value 1. A number
    is a numeric feature: index ``hash("name")``, the number as its value. The hash is
    stable across processes (the same row in every run). Crossed features are named
    features too: ``{"ad x genre": f"{ad}|{genre}"}``.

    Parameters
    ----------
    features : mapping of str to str, bool, int or float

    Returns
    -------
    Row
        ``(indices, values)``, int64 and float64 arrays in the mapping's order.

    Raises
    ------
    InvalidInput
        A name is not a string, or a value is not a string, bool or finite number.

    Examples
    --------
    >>> idx, val = hash_features({"genre": "rock", "hour": 13.0})
    >>> idx.dtype.name, val.tolist()
    ('int64', [1.0, 13.0])
    """
    if not isinstance(features, Mapping):
        raise InvalidInput("features must be a mapping of names to values", "features")
    idx = np.empty(len(features), dtype=np.int64)
    val = np.empty(len(features), dtype=np.float64)
    for j, (name, value) in enumerate(features.items()):
        if not isinstance(name, str):
            raise InvalidInput(f"feature names must be strings, got {name!r}", "features")
        if isinstance(value, str | bool):
            idx[j] = _key(f"{name}={value}")
            val[j] = 1.0
        elif isinstance(value, int | float) and math.isfinite(value):
            idx[j] = _key(name)
            val[j] = float(value)
        else:
            raise InvalidInput(
                f"feature {name!r} must be a string, bool or finite number, got {value!r}",
                f"features[{name!r}]",
            )
    return idx, val


def stack_rows(
    rows: Sequence[Row],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Rows stacked into one CSR batch: ``(indptr, indices, values)``."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    for r, (idx, _) in enumerate(rows):
        indptr[r + 1] = indptr[r] + len(idx)
    if rows:
        idx_all = np.concatenate([np.asarray(i, dtype=np.int64) for i, _ in rows])
        val_all = np.concatenate([np.asarray(v, dtype=np.float64) for _, v in rows])
    else:
        idx_all = np.empty(0, dtype=np.int64)
        val_all = np.empty(0, dtype=np.float64)
    return indptr, idx_all, val_all


class FTRLState(msgspec.Struct, frozen=True, kw_only=True):
    """A model's complete state, for saving and loading (msgspec-encodable)."""

    version: int
    bits: int
    alpha: float
    beta: float
    l1: float
    l2: float
    decay: float
    clock: int
    z: bytes
    n: bytes
    last: bytes


_STATE_VERSION = 1


def _number(value: Any, name: str, low: float, high: float, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number, got {value!r}", name)
    v = float(value)
    if v < low or v > high or (open_low and v == low):
        bound = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
        raise InvalidInput(f"{name} must be in {bound}, got {value!r}", name)
    return v


def _scalar(value: Any, name: str) -> float:
    """A number argument as a float (bools count as 0 and 1)."""
    if isinstance(value, str | bytes):
        raise InvalidInput(f"{name} must be a number, got {value!r}", name)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number, got {value!r}", name) from None


_I64 = np.dtype(np.int64)
_F64 = np.dtype(np.float64)
_STRIDE = (8,)


def _row(row: Any) -> Row:
    """``row`` as two 1-D C-contiguous arrays of one length (int64 indices, float64
    values); the common case, a row from :func:`hash_features`, costs a few checks."""
    if type(row) is tuple and len(row) == 2:
        idx, val = row
        if (
            type(idx) is np.ndarray
            and type(val) is np.ndarray
            and idx.dtype is _I64
            and val.dtype is _F64
            and idx.strides == _STRIDE
            and val.strides == _STRIDE
            and val.shape == idx.shape
        ):
            return idx, val
    return _converted_row(row)


def _converted_row(row: Any) -> Row:
    try:
        idx, val = row
    except (TypeError, ValueError):
        raise InvalidInput("a row must be a pair (indices, values)", "row") from None
    if type(idx) is not np.ndarray or idx.dtype != np.int64 or not idx.flags.c_contiguous:
        try:
            idx = np.require(np.asarray(idx, dtype=np.int64), requirements="C")
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput("a row's indices must be integers", "row") from None
    if type(val) is not np.ndarray or val.dtype != np.float64 or not val.flags.c_contiguous:
        try:
            val = np.require(np.asarray(val, dtype=np.float64), requirements="C")
        except (TypeError, ValueError):
            raise InvalidInput("a row's values must be numbers", "row") from None
    if idx.ndim != 1 or val.shape != idx.shape:
        raise InvalidInput(
            f"a row's indices and values must be 1-D arrays of one length, got shapes "
            f"{idx.shape} and {val.shape}",
            "row",
        )
    return idx, val


class FTRLProximal:
    """Online logistic regression with FTRL-proximal updates over ``2**bits`` hashed
    feature slots (McMahan et al. 2013), with optional forgetting.

    Parameters
    ----------
    bits : int, default 20
        The model has ``2**bits`` slots (8 ``2**bits`` bytes per array; three arrays).
    alpha : float, default 0.1
        Learning-rate scale (``> 0``).
    beta : float, default 1.0
        Learning-rate smoothing (``> 0``: it keeps every weight's denominator positive,
        even for a feature whose gradients underflow to zero).
    l1 : float, default 1.0
        L1 regularisation: a weight is exactly 0 until its ``|z|`` exceeds ``l1``.
    l2 : float, default 1.0
        L2 regularisation.
    decay : float, default 1.0
        Forgetting per update, in ``(0, 1]``: each update multiplies the evidence seen so
        far by ``decay`` (lazily, per slot), so the model follows drift; 1 forgets
        nothing. A half-life of ``h`` updates is ``decay = 0.5 ** (1 / h)``.

    Notes
    -----
    The probability of a row is ``sigmoid(offset + sum w[idx] * val)``; ``offset`` is a
    prior logit (an ad's metadata prior, for cold start). Learning is in place and
    returns the prediction made before the update (progressive validation). Batches equal
    the same single calls in order. Not thread-safe: callers serialise updates.

    References
    ----------
    H. B. McMahan, G. Holt, D. Sculley et al., "Ad click prediction: a view from the
    trenches", KDD 2013.

    Examples
    --------
    >>> from adcore.learn import FTRLProximal, hash_features
    >>> model = FTRLProximal(bits=10, alpha=0.5, l1=0.0)
    >>> rock = hash_features({"genre": "rock"})
    >>> for _ in range(200):
    ...     _ = model.learn(rock, 1)
    >>> model.predict(rock) > 0.9
    True
    """

    def __init__(
        self,
        *,
        bits: int = 20,
        alpha: float = 0.1,
        beta: float = 1.0,
        l1: float = 1.0,
        l2: float = 1.0,
        decay: float = 1.0,
    ) -> None:
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 30:
            raise InvalidInput(f"bits must be an integer in [1, 30], got {bits!r}", "bits")
        self.bits = bits
        self.alpha = _number(alpha, "alpha", 0.0, math.inf, open_low=True)
        self.beta = _number(beta, "beta", 0.0, math.inf, open_low=True)
        self.l1 = _number(l1, "l1", 0.0, math.inf)
        self.l2 = _number(l2, "l2", 0.0, math.inf)
        self.decay = _number(decay, "decay", 0.0, 1.0, open_low=True)
        # Each slot's z, n, last update and stored weight (rows of one array), and the
        # hyper-parameters with the update count: the kernels' two arrays
        # (adcore._kernels.ftrl).
        self._state = np.zeros((4, 1 << bits), dtype=np.float64)
        self._params = np.array(
            [self.alpha, self.beta, self.l1, self.l2, self.decay, 0.0], dtype=np.float64
        )

    def __repr__(self) -> str:
        return (
            f"FTRLProximal(bits={self.bits}, alpha={self.alpha}, beta={self.beta}, "
            f"l1={self.l1}, l2={self.l2}, decay={self.decay})"
        )

    @property
    def updates(self) -> int:
        """How many examples the model has learned."""
        return int(self._params[CLOCK])

    def predict(self, row: Row, offset: float = 0.0) -> float:
        """The probability of the action for ``row`` (``(indices, values)``, as from
        :func:`hash_features`), with prior logit ``offset``."""
        idx, val = _row(row)
        if type(offset) is not float:
            offset = _scalar(offset, "offset")
        p: float = ftrl_predict(idx, val, offset, self._state, self._params)
        if p != p:
            raise InvalidInput("a row's values and the offset must be finite", "row")
        return p

    def learn(self, row: Row, y: float | bool, offset: float = 0.0, weight: float = 1.0) -> float:
        """Learn that ``row`` led to the action (``y`` 1) or not (0), with importance
        ``weight``; returns the probability predicted before the update. A bad row
        raises :class:`~adcore.errors.InvalidInput` and changes nothing."""
        idx, val = _row(row)
        if type(y) is not float:
            y = _scalar(y, "y")
        if type(offset) is not float:
            offset = _scalar(offset, "offset")
        if type(weight) is not float:
            weight = _scalar(weight, "weight")
        p: float = ftrl_learn(idx, val, offset, y, weight, self._state, self._params)
        if p < 0.0:
            raise InvalidInput(
                f"cannot learn y={y!r}, weight={weight!r}, offset={offset!r}: y must be 0 "
                "or 1, the weight a finite number >= 0, the offset and values finite",
                "row",
            )
        return p

    def predict_batch(
        self, rows: Sequence[Row], offsets: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """:meth:`predict` of every row; the model does not change."""
        indptr, idx, val = stack_rows([_row(r) for r in rows])
        off = self._offsets(offsets, len(rows))
        out = np.empty(len(rows), dtype=np.float64)
        ftrl_predict_rows(out, indptr, idx, val, off, self._state, self._params)
        if np.isnan(out).any():
            raise InvalidInput("rows' values and offsets must be finite", "rows")
        return out

    def learn_batch(
        self,
        rows: Sequence[Row],
        ys: ArrayLike,
        offsets: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> NDArray[np.float64]:
        """The same as :meth:`learn` on each row in order (every row is checked first:
        one bad row changes nothing); the predictions made before each update."""
        indptr, idx, val = stack_rows([_row(r) for r in rows])
        m = len(rows)
        y = np.ascontiguousarray(ys, dtype=np.float64)
        if y.shape != (m,):
            raise InvalidInput(f"ys must hold one label per row ({m}), got shape {y.shape}", "ys")
        off = self._offsets(offsets, m)
        w = np.ones(m) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
        if w.shape != (m,):
            raise InvalidInput(
                f"weights must hold one weight per row ({m}), got shape {w.shape}", "weights"
            )
        out = np.empty(m, dtype=np.float64)
        learned = int(ftrl_learn_rows(out, indptr, idx, val, off, y, w, self._state, self._params))
        if learned < 0:
            r = -1 - learned
            raise InvalidInput(
                f"rows[{r}] cannot be learned: y must be 0 or 1, the weight a finite number "
                ">= 0, the offset and values finite",
                f"rows[{r}]",
            )
        return out

    @staticmethod
    def _offsets(offsets: ArrayLike | None, m: int) -> NDArray[np.float64]:
        if offsets is None:
            return np.zeros(m, dtype=np.float64)
        off = np.ascontiguousarray(offsets, dtype=np.float64)
        if off.shape != (m,):
            raise InvalidInput(
                f"offsets must hold one offset per row ({m}), got shape {off.shape}", "offsets"
            )
        return off

    def weights(self, row: Row) -> NDArray[np.float64]:
        """The current weight of each feature of ``row`` (0 where L1 keeps it at zero)."""
        idx, _ = _row(row)
        out = np.empty(len(idx), dtype=np.float64)
        ftrl_weights(out, idx, self._state, self._params)
        return out

    def set_learning_rate(self, alpha: float) -> None:
        """Make ``alpha`` (> 0) the learning rate from the next example on. What the
        model learned (each feature's ``z`` and ``n``) is kept and every stored weight
        recomputed with the new rate, so predictions change at once (by the ratio of
        the rates where L2 is 0). A bad value raises :class:`~adcore.errors.InvalidInput`
        naming ``alpha`` and changes nothing."""
        a = _number(alpha, "alpha", 0.0, math.inf, open_low=True)
        self.alpha = a
        self._params[ALPHA] = a
        ftrl_refresh(self._state, self._params)

    def forget(self, factor: float) -> None:
        """Keep only ``factor`` (in ``(0, 1]``) of what every feature learned: ``z`` and
        ``n`` are scaled, so new evidence moves the weights about as fast as at the
        start (after a detected drift)."""
        f = _number(factor, "factor", 0.0, 1.0, open_low=True)
        ftrl_forget(self._state, self._params, f)

    # ---------------------------------------------------------------- persistence
    def state(self) -> FTRLState:
        """The model's state (hyper-parameters and every slot), a msgspec Struct."""
        return FTRLState(
            version=_STATE_VERSION,
            bits=self.bits,
            alpha=self.alpha,
            beta=self.beta,
            l1=self.l1,
            l2=self.l2,
            decay=self.decay,
            clock=self.updates,
            z=self._state[Z].tobytes(),
            n=self._state[N].tobytes(),
            last=self._state[LAST].astype(np.int64).tobytes(),
        )

    @classmethod
    def from_state(cls, state: FTRLState) -> FTRLProximal:
        """A model restored from :meth:`state` (checked: a bad state raises
        :class:`~adcore.errors.InvalidInput`)."""
        if not isinstance(state, FTRLState):
            raise InvalidInput("state must be an FTRLState", "state")
        if state.version != _STATE_VERSION:
            raise InvalidInput(
                f"unknown model state version {state.version} (this adcore reads {_STATE_VERSION})",
                "state.version",
            )
        model = cls(
            bits=state.bits, alpha=state.alpha, beta=state.beta, l1=state.l1, l2=state.l2,
            decay=state.decay,
        )  # fmt: skip
        size = 1 << state.bits
        for name, raw in (("z", state.z), ("n", state.n), ("last", state.last)):
            if len(raw) != 8 * size:
                raise InvalidInput(
                    f"state.{name} holds {len(raw)} bytes; {8 * size} expected", f"state.{name}"
                )
        z = np.frombuffer(state.z, dtype=np.float64).copy()
        n = np.frombuffer(state.n, dtype=np.float64).copy()
        last = np.frombuffer(state.last, dtype=np.int64).copy()
        if not (np.isfinite(z).all() and np.isfinite(n).all() and (n >= 0).all()):
            raise InvalidInput("state.z and state.n must be finite, n >= 0", "state.z")
        if (
            isinstance(state.clock, bool)
            or not 0 <= state.clock < 2**53
            or (last > state.clock).any()
            or (last < 0).any()
        ):
            raise InvalidInput("state.clock and state.last are inconsistent", "state.clock")
        model._state[Z] = z
        model._state[N] = n
        model._state[LAST] = last
        ftrl_refresh(model._state, model._params)
        model._params[CLOCK] = float(state.clock)
        return model

    def __getstate__(self) -> dict[str, Any]:
        return {"state": msgspec.msgpack.encode(self.state())}

    def __setstate__(self, data: dict[str, Any]) -> None:
        restored = FTRLProximal.from_state(msgspec.msgpack.decode(data["state"], type=FTRLState))
        self.__dict__.update(restored.__dict__)
