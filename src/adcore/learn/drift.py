"""Drift detectors: the Page-Hinkley test and ADWIN, for monitoring a stream of numbers
(a model's loss, a skip rate) and noticing when its mean changes. The arithmetic is in
:mod:`adcore._kernels.drift`.

Examples
--------
>>> import numpy as np
>>> from adcore.learn import ADWIN, PageHinkley
>>> rng = np.random.default_rng(0)
>>> stream = np.r_[rng.normal(0.0, 1.0, 1000), rng.normal(2.0, 1.0, 1000)]
>>> test = PageHinkley(delta=0.1, threshold=25.0)
>>> alarms = [t for t, x in enumerate(stream) if test.update(x)]
>>> 1000 <= alarms[0] < 1100
True
>>> window = ADWIN(delta=0.002)
>>> changes = [t for t, x in enumerate(stream) if window.update(x)]
>>> 1000 <= changes[0] < 1200, round(window.mean, 1)
(True, 2.0)
"""

from __future__ import annotations

import math
from typing import Any, Literal

import msgspec
import numpy as np

from .._kernels.drift import ADWIN_BUCKET, ADWIN_LEVELS, adwin_update, page_hinkley_update
from ..errors import InvalidInput

__all__ = ["ADWIN", "ADWINState", "PageHinkley", "PageHinkleyState"]

_DIRECTIONS = {"up": 1, "down": -1, "both": 0}


def _positive(value: Any, name: str, *, below_one: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number, got {value!r}", name)
    v = float(value)
    if v <= 0.0 or (below_one and v >= 1.0):
        bound = "in (0, 1)" if below_one else "> 0"
        raise InvalidInput(f"{name} must be {bound}, got {value!r}", name)
    return v


def _count(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInput(f"{name} must be an integer >= {low}, got {value!r}", name)
    return value


def _value(x: Any) -> float:
    if isinstance(x, bool | str | bytes):
        raise InvalidInput(f"x must be a finite number, got {x!r}", "x")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InvalidInput(f"x must be a finite number, got {x!r}", "x") from None
    if not math.isfinite(v):
        raise InvalidInput(f"x must be a finite number, got {x!r}", "x")
    return v


class PageHinkleyState(msgspec.Struct, frozen=True, kw_only=True):
    """A :class:`PageHinkley` test's arguments and state."""

    delta: float
    threshold: float
    min_samples: int
    direction: Literal["up", "down", "both"]
    state: tuple[float, float, float, float, float, float]
    alarms: int


class PageHinkley:
    """The Page-Hinkley test for a change in the mean of a stream.

    Parameters
    ----------
    delta : float, default 0.005
        The size of change tolerated (> 0).
    threshold : float, default 50.0
        How far the cumulative deviation must rise above its minimum to signal (> 0):
        larger means fewer false alarms and later detection.
    min_samples : int, default 30
        Values seen (since the start or the last signal) before any signal.
    direction : {"up", "down", "both"}, default "up"
        Which changes to signal (a loss that rises: "up").

    Notes
    -----
    After a signal the test starts afresh. ``alarms`` counts the signals.

    References
    ----------
    E. S. Page, "Continuous inspection schemes", Biometrika 41(1/2), 1954.

    Examples
    --------
    Ten zeros, then threes: after the first 3 the sum of deviations has risen 2.72 above
    its minimum (-0.10), after the second 5.21, past the threshold of 5; the test then
    starts afresh.

    >>> test = PageHinkley(delta=0.01, threshold=5.0, min_samples=5)
    >>> [test.update(x) for x in [0.0] * 10 + [3.0] * 3]
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    """

    def __init__(
        self,
        *,
        delta: float = 0.005,
        threshold: float = 50.0,
        min_samples: int = 30,
        direction: Literal["up", "down", "both"] = "up",
    ) -> None:
        self.delta = _positive(delta, "delta")
        self.threshold = _positive(threshold, "threshold")
        self.min_samples = _count(min_samples, "min_samples", 1)
        if direction not in _DIRECTIONS:
            raise InvalidInput(
                f"direction must be 'up', 'down' or 'both', got {direction!r}", "direction"
            )
        self.direction: Literal["up", "down", "both"] = direction
        self._state = np.zeros(6)
        self._alarms = 0

    def __repr__(self) -> str:
        return (
            f"PageHinkley(delta={self.delta!r}, threshold={self.threshold!r}, "
            f"min_samples={self.min_samples!r}, direction={self.direction!r})"
        )

    def update(self, x: float) -> int:
        """Add ``x``; 1 for an upward change, -1 for a downward one, else 0."""
        v = x if type(x) is float and math.isfinite(x) else _value(x)
        signal = int(
            page_hinkley_update(
                self._state, v, self.delta, self.threshold, self.min_samples,
                _DIRECTIONS[self.direction],
            )
        )  # fmt: skip
        if signal:
            self._alarms += 1
        return signal

    @property
    def alarms(self) -> int:
        """Changes signalled so far."""
        return self._alarms

    @property
    def mean(self) -> float:
        """The mean of the values since the start or the last signal."""
        return float(self._state[1])

    def state(self) -> PageHinkleyState:
        """The test's arguments and state (msgspec)."""
        s = self._state.tolist()
        return PageHinkleyState(
            delta=self.delta,
            threshold=self.threshold,
            min_samples=self.min_samples,
            direction=self.direction,
            state=(s[0], s[1], s[2], s[3], s[4], s[5]),
            alarms=self._alarms,
        )

    @classmethod
    def from_state(cls, state: PageHinkleyState) -> PageHinkley:
        """A test restored from :meth:`state`."""
        if not isinstance(state, PageHinkleyState):
            raise InvalidInput("state must be a PageHinkleyState", "state")
        out = cls(
            delta=state.delta,
            threshold=state.threshold,
            min_samples=state.min_samples,
            direction=state.direction,
        )
        values = np.array(state.state, dtype=np.float64)
        if not np.isfinite(values).all() or values[0] < 0:
            raise InvalidInput("state.state must be finite, its count >= 0", "state.state")
        out._state[:] = values
        out._alarms = _count(state.alarms, "state.alarms", 0)
        return out

    def __reduce__(self) -> tuple[Any, tuple[PageHinkleyState]]:
        return (PageHinkley.from_state, (self.state(),))


class ADWINState(msgspec.Struct, frozen=True, kw_only=True):
    """An :class:`ADWIN` detector's arguments and window (buckets as little-endian
    float64 bytes)."""

    delta: float
    max_buckets: int
    clock: int
    min_side: int
    buckets: bytes
    counts: tuple[int, ...]
    totals: tuple[float, float, float, float]
    changes: int


class ADWIN:
    """ADWIN: an adaptive window over a stream that drops its older part when the mean
    has changed (Bifet and Gavaldà 2007, ADWIN2 with an exponential histogram).

    Parameters
    ----------
    delta : float, default 0.002
        Confidence in (0, 1): while the mean is constant, a part of the window is dropped
        with probability at most ``delta``.
    max_buckets : int, default 5
        Buckets per level of the histogram before two merge (memory and precision).
    clock : int, default 32
        Check for a change every ``clock`` values.
    min_side : int, default 5
        The fewest values on each side of a split.

    References
    ----------
    A. Bifet, R. Gavaldà, "Learning from time-changing data with adaptive windowing",
    SIAM International Conference on Data Mining, 2007.

    Examples
    --------
    >>> w = ADWIN()
    >>> any(w.update(0.0) for _ in range(500)), w.width
    (False, 500)
    """

    def __init__(
        self, *, delta: float = 0.002, max_buckets: int = 5, clock: int = 32, min_side: int = 5
    ) -> None:
        self.delta = _positive(delta, "delta", below_one=True)
        self.max_buckets = _count(max_buckets, "max_buckets", 2)
        self.clock = _count(clock, "clock", 1)
        self.min_side = _count(min_side, "min_side", 1)
        self._buckets = np.zeros((ADWIN_LEVELS, self.max_buckets + 1, ADWIN_BUCKET))
        self._counts = np.zeros(ADWIN_LEVELS, dtype=np.int64)
        self._totals = np.zeros(4)
        self._changes = 0

    def __repr__(self) -> str:
        return (
            f"ADWIN(delta={self.delta!r}, max_buckets={self.max_buckets!r}, "
            f"clock={self.clock!r}, min_side={self.min_side!r})"
        )

    def update(self, x: float) -> bool:
        """Add ``x``; whether the window dropped its older part (a change)."""
        v = x if type(x) is float and math.isfinite(x) else _value(x)
        changed = bool(
            adwin_update(
                self._buckets, self._counts, self._totals, v, self.delta, self.max_buckets,
                self.clock, self.min_side,
            )
        )  # fmt: skip
        if changed:
            self._changes += 1
        return changed

    @property
    def width(self) -> int:
        """Values in the window."""
        return int(self._totals[0])

    @property
    def mean(self) -> float:
        """The window's mean (0 when empty)."""
        n = self._totals[0]
        return float(self._totals[1] / n) if n else 0.0

    @property
    def variance(self) -> float:
        """The window's variance (0 when empty)."""
        n = self._totals[0]
        return float(self._totals[2] / n) if n else 0.0

    @property
    def changes(self) -> int:
        """Changes detected so far."""
        return self._changes

    def state(self) -> ADWINState:
        """The detector's arguments and window (msgspec)."""
        t = self._totals.tolist()
        return ADWINState(
            delta=self.delta,
            max_buckets=self.max_buckets,
            clock=self.clock,
            min_side=self.min_side,
            buckets=self._buckets.astype("<f8").tobytes(),
            counts=tuple(self._counts.tolist()),
            totals=(t[0], t[1], t[2], t[3]),
            changes=self._changes,
        )

    @classmethod
    def from_state(cls, state: ADWINState) -> ADWIN:
        """A detector restored from :meth:`state`."""
        if not isinstance(state, ADWINState):
            raise InvalidInput("state must be an ADWINState", "state")
        out = cls(
            delta=state.delta,
            max_buckets=state.max_buckets,
            clock=state.clock,
            min_side=state.min_side,
        )
        if len(state.buckets) != out._buckets.nbytes or len(state.counts) != ADWIN_LEVELS:
            raise InvalidInput("state.buckets or state.counts has the wrong size", "state")
        counts = np.array(state.counts, dtype=np.int64)
        if (counts < 0).any() or (counts > state.max_buckets).any():
            raise InvalidInput("state.counts out of range", "state.counts")
        out._buckets[:] = np.frombuffer(state.buckets, dtype="<f8").reshape(out._buckets.shape)
        out._counts[:] = counts
        out._totals[:] = state.totals
        out._changes = _count(state.changes, "state.changes", 0)
        return out

    def __reduce__(self) -> tuple[Any, tuple[ADWINState]]:
        return (ADWIN.from_state, (self.state(),))
