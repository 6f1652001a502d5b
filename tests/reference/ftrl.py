"""Plain-Python reference of FTRL-proximal logistic regression with lazy forgetting
(``adcore._kernels.ftrl``), written from the kernel module's docstring: dictionaries of
Python floats, one slot at a time."""

from __future__ import annotations

import math
from collections.abc import Sequence


class ReferenceFTRL:
    """The model over ``size`` slots (a power of two)."""

    def __init__(
        self, size: int, alpha: float, beta: float, l1: float, l2: float, decay: float
    ) -> None:
        self.size = size
        self.alpha, self.beta, self.l1, self.l2, self.decay = alpha, beta, l1, l2, decay
        self.z: dict[int, float] = {}
        self.n: dict[int, float] = {}
        self.last: dict[int, int] = {}
        self.clock = 0

    def _slot(self, index: int) -> int:
        return index % self.size  # Python's modulo of a negative int is non-negative

    def _state(self, s: int, at: int) -> tuple[float, float]:
        factor = self.decay ** (at - self.last.get(s, 0))
        return self.z.get(s, 0.0) * factor, self.n.get(s, 0.0) * factor

    def _weight(self, z: float, n: float) -> float:
        if abs(z) <= self.l1:
            return 0.0
        sign = 1.0 if z > 0 else -1.0
        return -(z - sign * self.l1) / ((self.beta + math.sqrt(n)) / self.alpha + self.l2)

    def weight(self, index: int) -> float:
        return self._weight(*self._state(self._slot(index), self.clock))

    def predict(self, idx: Sequence[int], val: Sequence[float], offset: float = 0.0) -> float:
        t = offset + sum(self.weight(i) * v for i, v in zip(idx, val, strict=True))
        t = max(-35.0, min(35.0, t))
        return 1.0 / (1.0 + math.exp(-t))

    def learn(
        self,
        idx: Sequence[int],
        val: Sequence[float],
        y: float,
        offset: float = 0.0,
        weight: float = 1.0,
    ) -> float:
        p = self.predict(idx, val, offset)
        new_clock = self.clock + 1
        for i in set(self._slot(i) for i in idx):
            self.z[i], self.n[i] = self._state(i, new_clock)
            self.last[i] = new_clock
        for i, v in zip(idx, val, strict=True):
            s = self._slot(i)
            g = weight * (p - y) * v
            w = self._weight(self.z[s], self.n[s])
            sigma = (math.sqrt(self.n[s] + g * g) - math.sqrt(self.n[s])) / self.alpha
            self.z[s] += g - sigma * w
            self.n[s] += g * g
        self.clock = new_clock
        return p
