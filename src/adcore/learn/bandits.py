"""Disjoint linear contextual bandits that choose among candidates and say how likely
each choice was.

Each arm (a creative variant, a layout, ...) has its own ridge-regression model of the
reward of a context ``x`` of ``dimension`` features. A policy looks at any subset of the
arms per decision, with one context for all candidates or one row each, and returns a
:class:`Choice`: the arm, its propensity (the probability the policy had of choosing
it), and the probability of every candidate. Three policies:

- :class:`LinUCB` chooses the largest upper confidence bound (deterministic);
- :class:`LinearThompsonSampling` chooses the largest score sampled from the posterior,
  and computes every candidate's exact probability of winning;
- :class:`EpsilonGreedy` chooses the best estimate, or explores uniformly.

Every argument is checked before anything changes; a bad one raises
:class:`~adcore.errors.InvalidInput` naming it. A model round-trips exactly through
:meth:`~LinUCB.state` / :meth:`~LinUCB.from_state` (a msgspec :class:`BanditState`) and
through :mod:`pickle`, random generator included. Models are not thread-safe.

Examples
--------
>>> from adcore.learn import LinearThompsonSampling
>>> model = LinearThompsonSampling(n_arms=3, dimension=2, v=0.5, seed=7)
>>> model.learn(arm=1, x=[1.0, 0.0], reward=1.0)
>>> choice = model.choose([1.0, 0.0], arms=[0, 1])
>>> choice.arm in (0, 1), len(choice.probabilities)
(True, 2)
>>> round(sum(choice.probabilities), 9)
1.0
>>> choice.propensity == choice.probabilities[[0, 1].index(choice.arm)]
True

References
----------
L. Li, W. Chu, J. Langford, R. E. Schapire, "A contextual-bandit approach to
personalized news article recommendation", WWW 2010.
S. Agrawal, N. Goyal, "Thompson sampling for contextual bandits with linear payoffs",
ICML 2013.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal, Self

import msgspec
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._kernels.bandits import (
    bandit_init,
    bandit_update,
    bandit_update_batch,
    epsilon_greedy_choose,
    linucb_choose,
    thompson_choose,
    thompson_work_size,
)
from ..errors import InvalidInput

__all__ = ["BanditState", "Choice", "EpsilonGreedy", "LinUCB", "LinearThompsonSampling"]

Policy = Literal["linucb", "linear_thompson", "epsilon_greedy"]

_F64 = np.dtype("<f8")
_I64 = np.dtype("<i8")
_U64 = (1 << 64) - 1


class Choice(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What a policy chose for one decision.

    Attributes
    ----------
    arm : int
        The arm chosen.
    propensity : float
        The probability the policy had of choosing it, given its state and the
        candidates: what inverse propensity scoring divides by.
    probabilities : tuple of float
        The probability of each candidate, in the order of the candidates passed
        (all arms, in order, when none were); they sum to 1.
    """

    arm: int
    propensity: float
    probabilities: tuple[float, ...]


class BanditState(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Everything a bandit model is: its arguments, what it learned, its generator.

    Arrays are little-endian bytes in C order, so the state encodes as JSON or MessagePack
    and decodes to the same bits.

    Attributes
    ----------
    policy : str
        ``"linucb"``, ``"linear_thompson"`` or ``"epsilon_greedy"``.
    n_arms, dimension : int
        The model's shape.
    exploration : float
        ``alpha``, ``v`` or ``epsilon``, as the policy names it.
    ridge : float
        The ridge penalty.
    seed : int or None
        The seed the model was built with.
    a_inv : bytes
        float64 ``(n_arms, dimension, dimension)``: each arm's inverse design matrix.
    b : bytes
        float64 ``(n_arms, dimension)``: each arm's sum of reward times context.
    counts : bytes
        int64 ``(n_arms,)``: observations learned per arm.
    rng : tuple of int
        The PCG64 generator's state: high and low 64 bits of its state, high and low 64
        bits of its increment, ``has_uint32``, ``uinteger``.
    """

    policy: Policy
    n_arms: int
    dimension: int
    exploration: float
    ridge: float
    seed: int | None
    a_inv: bytes
    b: bytes
    counts: bytes
    rng: tuple[int, int, int, int, int, int]


def _int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise InvalidInput(f"{name} must be an integer, got {type(value).__name__}", name)
    if value < low:
        raise InvalidInput(f"{name} must be >= {low}, got {value}", name)
    return int(value)


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise InvalidInput(f"{name} must be a real number, got {type(value).__name__}", name)
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise InvalidInput(f"{name} must be finite, got {value!r}", name)
    return out


def _floats(value: Any, name: str) -> NDArray[np.float64]:
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name}: {exc}", name) from None
    if raw.dtype.kind not in "biufO":
        raise InvalidInput(f"{name} must hold real numbers, got dtype {raw.dtype}", name)
    try:
        a = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"{name}: {exc}", name) from None
    if not np.isfinite(a).all():
        raise InvalidInput(f"{name} must be finite", name)
    return a


def _indices(value: Any, name: str, n_arms: int) -> NDArray[np.int64]:
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name}: {exc}", name) from None
    if a.ndim != 1:
        raise InvalidInput(f"{name} must have 1 dimension, got {a.ndim}", name)
    if a.size and a.dtype.kind not in "iu":
        raise InvalidInput(f"{name} must hold integers, got dtype {a.dtype}", name)
    if a.size and (a.min() < 0 or a.max() >= n_arms):
        raise InvalidInput(f"{name} must be in [0, {n_arms}), got {a.min()}..{a.max()}", name)
    return np.ascontiguousarray(a, dtype=np.int64)


def _pack_rng(rng: np.random.Generator) -> tuple[int, int, int, int, int, int]:
    state = rng.bit_generator.state
    s, inc = state["state"]["state"], state["state"]["inc"]
    return (s >> 64, s & _U64, inc >> 64, inc & _U64, state["has_uint32"], state["uinteger"])


def _unpack_rng(packed: Any) -> np.random.Generator:
    if (
        not isinstance(packed, tuple | list)
        or len(packed) != 6
        or not all(isinstance(p, int) and not isinstance(p, bool) for p in packed)
        or not all(0 <= p <= _U64 for p in packed)
        or packed[4] not in (0, 1)
        or packed[5] >= 1 << 32
    ):
        raise InvalidInput("state.rng must be six integers of a PCG64 state", "state.rng")
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": packed[0] << 64 | packed[1], "inc": packed[2] << 64 | packed[3]},
        "has_uint32": packed[4],
        "uinteger": packed[5],
    }
    return rng


def _array_bytes(data: Any, dtype: np.dtype[Any], shape: tuple[int, ...], name: str) -> Any:
    size = dtype.itemsize * math.prod(shape)
    if not isinstance(data, bytes) or len(data) != size:
        raise InvalidInput(f"{name} must be {size} bytes (shape {shape})", name)
    a = np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    if dtype.kind == "f" and not np.isfinite(a).all():
        raise InvalidInput(f"{name} must be finite", name)
    if dtype.kind == "i" and (a < 0).any():
        raise InvalidInput(f"{name} must be >= 0", name)
    return a


class _LinearBandit(ABC):
    """The state, learning, validation and snapshots common to the three policies."""

    _POLICY: ClassVar[Policy]
    _EXPLORATION: ClassVar[str]
    """The name of the policy's exploration argument."""

    def __init__(self, n_arms: int, dimension: int, *, ridge: float, seed: int | None) -> None:
        self.n_arms = _int(n_arms, "n_arms", 1)
        self.dimension = _int(dimension, "dimension", 1)
        self.ridge = _real(ridge, "ridge")
        if self.ridge <= 0.0:
            raise InvalidInput(f"ridge must be > 0, got {ridge!r}", "ridge")
        self.seed = None if seed is None else _int(seed, "seed", 0)
        self._a_inv = np.empty((self.n_arms, self.dimension, self.dimension))
        self._b = np.empty((self.n_arms, self.dimension))
        self._counts = np.empty(self.n_arms, dtype=np.int64)
        bandit_init(self._a_inv, self._b, self._counts, self.ridge)
        self._all = np.arange(self.n_arms, dtype=np.int64)
        self._work = np.empty(self.dimension)
        self._rng = np.random.default_rng(self.seed)

    @property
    def _exploration(self) -> float:
        return float(getattr(self, self._EXPLORATION))

    @property
    def exploration(self) -> float:
        """The policy's exploration setting: LinUCB's ``alpha``, linear Thompson
        sampling's ``v``, ε-greedy's ``epsilon``. Setting it checks the value as the
        constructor does (:class:`~adcore.errors.InvalidInput` naming the argument,
        nothing changed) and takes effect from the next choice."""
        return self._exploration

    @exploration.setter
    def exploration(self, value: float) -> None:
        high = 1.0 if self._EXPLORATION == "epsilon" else math.inf
        setattr(self, self._EXPLORATION, _check_exploration(value, self._EXPLORATION, high))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_arms={self.n_arms}, dimension={self.dimension}, "
            f"{self._EXPLORATION}={self._exploration!r}, ridge={self.ridge!r}, "
            f"seed={self.seed!r})"
        )

    # ------------------------------------------------------------------ choosing

    def choose(self, x: ArrayLike, arms: ArrayLike | None = None) -> Choice:
        """Choose one of the candidate arms for context ``x``.

        Parameters
        ----------
        x : array_like, shape (dimension,) or (k, dimension)
            The context: one for every candidate, or one row per candidate (finite).
        arms : array_like of int, shape (k,), optional
            The candidates: distinct arms in ``[0, n_arms)``, at least one. All arms, in
            order, by default.

        Returns
        -------
        Choice
            The arm, its propensity and every candidate's probability.
        """
        candidates = self._all if arms is None else self._candidates(arms)
        k = candidates.shape[0]
        contexts = self._contexts(x, k)
        position, probabilities = self._choose(candidates, contexts)
        probs = tuple(probabilities[:k].tolist())
        return Choice(
            arm=int(candidates[position]), propensity=probs[position], probabilities=probs
        )

    @abstractmethod
    def _choose(
        self, arms: NDArray[np.int64], x: NDArray[np.float64]
    ) -> tuple[int, NDArray[np.float64]]:
        """The position chosen among ``arms`` for contexts ``x`` (k, dimension), and
        the probability of every position."""

    def _candidates(self, arms: ArrayLike) -> NDArray[np.int64]:
        a = _indices(arms, "arms", self.n_arms)
        if a.shape[0] == 0:
            raise InvalidInput("arms must not be empty", "arms")
        if np.unique(a).shape[0] != a.shape[0]:
            raise InvalidInput("arms must be distinct", "arms")
        return a

    def _contexts(self, x: ArrayLike, k: int) -> NDArray[np.float64]:
        a = _floats(x, "x")
        d = self.dimension
        if a.ndim == 1 and a.shape[0] == d:
            return np.ascontiguousarray(np.broadcast_to(a, (k, d)))
        if a.ndim == 2 and a.shape == (k, d):
            return np.ascontiguousarray(a)
        raise InvalidInput(f"x must have shape ({d},) or ({k}, {d}), got {a.shape}", "x")

    # ------------------------------------------------------------------ learning

    def learn(self, arm: int, x: ArrayLike, reward: float) -> None:
        """Learn that ``arm``, shown in context ``x`` (dimension,), earned ``reward``."""
        index = _int(arm, "arm", 0)
        if index >= self.n_arms:
            raise InvalidInput(f"arm must be < n_arms = {self.n_arms}, got {index}", "arm")
        context = _floats(x, "x")
        if context.shape != (self.dimension,):
            raise InvalidInput(f"x must have shape ({self.dimension},), got {context.shape}", "x")
        r = _real(reward, "reward")
        bandit_update(
            self._a_inv, self._b, self._counts, index, np.ascontiguousarray(context), r,
            self._work,
        )  # fmt: skip

    def learn_batch(self, arms: ArrayLike, xs: ArrayLike, rewards: ArrayLike) -> None:
        """Learn ``m`` observations in order, as ``m`` calls of :meth:`learn` would.

        Parameters
        ----------
        arms : array_like of int, shape (m,)
            The arms shown, in ``[0, n_arms)``.
        xs : array_like, shape (m, dimension)
            Their contexts (finite).
        rewards : array_like, shape (m,)
            Their rewards (finite).
        """
        a = _indices(arms, "arms", self.n_arms)
        m = a.shape[0]
        contexts = _floats(xs, "xs")
        if contexts.shape != (m, self.dimension):
            raise InvalidInput(
                f"xs must have shape ({m}, {self.dimension}), got {contexts.shape}", "xs"
            )
        r = _floats(rewards, "rewards")
        if r.shape != (m,):
            raise InvalidInput(f"rewards must have shape ({m},), got {r.shape}", "rewards")
        if m:
            bandit_update_batch(
                self._a_inv, self._b, self._counts, a, np.ascontiguousarray(contexts),
                np.ascontiguousarray(r), self._work,
            )  # fmt: skip

    @property
    def counts(self) -> tuple[int, ...]:
        """Observations learned per arm."""
        return tuple(self._counts.tolist())

    # ------------------------------------------------------------------ snapshots

    def state(self) -> BanditState:
        """A snapshot of the model: arguments, learned arrays and generator state."""
        return BanditState(
            policy=self._POLICY,
            n_arms=self.n_arms,
            dimension=self.dimension,
            exploration=self._exploration,
            ridge=self.ridge,
            seed=self.seed,
            a_inv=self._a_inv.astype(_F64).tobytes(),
            b=self._b.astype(_F64).tobytes(),
            counts=self._counts.astype(_I64).tobytes(),
            rng=_pack_rng(self._rng),
        )

    @classmethod
    def from_state(cls, state: BanditState) -> Self:
        """The model a :meth:`state` snapshot was taken of, checked.

        Raises
        ------
        InvalidInput
            If ``state`` is not a :class:`BanditState` of this policy, or any of its
            fields is out of range or of the wrong size (``field`` names it).
        """
        if not isinstance(state, BanditState):
            raise InvalidInput(f"state must be a BanditState, got {type(state).__name__}", "state")
        if state.policy != cls._POLICY:
            raise InvalidInput(
                f"state.policy must be {cls._POLICY!r} for {cls.__name__}, got {state.policy!r}",
                "state.policy",
            )
        model = cls(
            state.n_arms,
            state.dimension,
            ridge=state.ridge,
            seed=state.seed,
            **{cls._EXPLORATION: state.exploration},
        )
        n, d = model.n_arms, model.dimension
        a_inv = _array_bytes(state.a_inv, _F64, (n, d, d), "state.a_inv")
        b = _array_bytes(state.b, _F64, (n, d), "state.b")
        counts = _array_bytes(state.counts, _I64, (n,), "state.counts")
        model._rng = _unpack_rng(state.rng)
        model._a_inv, model._b, model._counts = a_inv, b, counts
        return model

    def __reduce__(self) -> tuple[Any, tuple[BanditState]]:
        return (type(self).from_state, (self.state(),))


def _check_exploration(value: Any, name: str, high: float = math.inf) -> float:
    out = _real(value, name)
    if not 0.0 <= out <= high:
        bound = f"in [0, {high:g}]" if math.isfinite(high) else ">= 0"
        raise InvalidInput(f"{name} must be {bound}, got {value!r}", name)
    return out


class LinUCB(_LinearBandit):
    """Disjoint LinUCB: choose the candidate with the largest upper confidence bound
    ``theta_a . x + alpha * sqrt(x^T A_a^-1 x)``.

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 1).
    dimension : int
        Number of context features (>= 1).
    alpha : float, default 1.0
        Width of the confidence bound (>= 0); Li et al. take ``1 + sqrt(ln(2 / delta) / 2)``
        for a bound holding with probability ``1 - delta``.
    ridge : float, default 1.0
        The ridge penalty ``lambda`` (> 0): ``A_a = lambda * I + sum x x^T``.
    seed : int or None, default None
        Recorded for a uniform interface with the other policies; LinUCB draws nothing.

    Notes
    -----
    The policy is deterministic: the chosen candidate has probability 1 and the others
    0 (ties go to the first candidate among equal bounds). Off-policy estimators that
    divide by propensities cannot evaluate other policies from its logs.

    References
    ----------
    L. Li, W. Chu, J. Langford, R. E. Schapire, "A contextual-bandit approach to
    personalized news article recommendation", WWW 2010 (Algorithm 1).

    Examples
    --------
    >>> model = LinUCB(n_arms=2, dimension=1, alpha=0.0)
    >>> model.learn_batch([0, 1], [[1.0], [1.0]], [0.2, 0.8])
    >>> model.choose([1.0])
    Choice(arm=1, propensity=1.0, probabilities=(0.0, 1.0))
    """

    _POLICY = "linucb"
    _EXPLORATION = "alpha"

    def __init__(
        self,
        n_arms: int,
        dimension: int,
        *,
        alpha: float = 1.0,
        ridge: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.alpha = _check_exploration(alpha, "alpha")
        super().__init__(n_arms, dimension, ridge=ridge, seed=seed)

    def _choose(
        self, arms: NDArray[np.int64], x: NDArray[np.float64]
    ) -> tuple[int, NDArray[np.float64]]:
        scores = np.empty(arms.shape[0])
        position = int(linucb_choose(arms, x, self._a_inv, self._b, self.alpha, scores))
        probabilities = np.zeros(arms.shape[0])
        probabilities[position] = 1.0
        return position, probabilities


class LinearThompsonSampling(_LinearBandit):
    """Linear Thompson sampling with disjoint arms: choose the candidate with the
    largest score ``x . theta~_a``, ``theta~_a ~ N(theta_a, v^2 A_a^-1)``.

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 1).
    dimension : int
        Number of context features (>= 1).
    v : float, default 1.0
        Scale of the posterior (>= 0). Agrawal and Goyal's regret bound takes
        ``v = R sqrt(24 / eps * d * ln(1 / delta))`` for ``R``-sub-Gaussian noise; far
        smaller values explore enough in practice. 0 makes the policy greedy.
    ridge : float, default 1.0
        The ridge penalty ``lambda`` (> 0).
    seed : int or None, default None
        Seed of the generator that draws the scores.

    Notes
    -----
    A candidate's sampled score is ``m_a + s_a z_a`` with ``m_a = theta_a . x_a``,
    ``s_a = v sqrt(x_a^T A_a^-1 x_a)`` and ``z_a`` standard normal: exactly the law of
    ``x_a . theta~_a`` for disjoint arms. Each :class:`Choice` carries the exact
    probability of every candidate having the largest score (a one-dimensional
    integral, computed by adaptive Gauss-Kronrod quadrature to about 1e-12), not a Monte
    Carlo estimate. A scale too small to tell from 0 in float64 (below ``1e-10 |m_a|``,
    or 0 when ``v = 0`` or ``x_a = 0``) makes that candidate score its mean exactly;
    the probabilities follow the same rule (the first of equal scores wins).

    References
    ----------
    S. Agrawal, N. Goyal, "Thompson sampling for contextual bandits with linear
    payoffs", ICML 2013.

    Examples
    --------
    >>> model = LinearThompsonSampling(n_arms=2, dimension=1, v=1.0, seed=0)
    >>> [round(p, 6) for p in model.choose([1.0]).probabilities]  # equal priors
    [0.5, 0.5]
    """

    _POLICY = "linear_thompson"
    _EXPLORATION = "v"

    def __init__(
        self,
        n_arms: int,
        dimension: int,
        *,
        v: float = 1.0,
        ridge: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.v = _check_exploration(v, "v")
        super().__init__(n_arms, dimension, ridge=ridge, seed=seed)

    def _choose(
        self, arms: NDArray[np.int64], x: NDArray[np.float64]
    ) -> tuple[int, NDArray[np.float64]]:
        k = arms.shape[0]
        normals = self._rng.standard_normal(k)
        probabilities = np.empty(k)
        work = np.empty(thompson_work_size(k))
        position = int(
            thompson_choose(arms, x, self._a_inv, self._b, self.v, normals, probabilities, work)
        )
        return position, probabilities


class EpsilonGreedy(_LinearBandit):
    """Epsilon-greedy: choose the candidate with the largest estimate ``theta_a . x``
    or, with probability ``epsilon``, one of the candidates uniformly.

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 1).
    dimension : int
        Number of context features (>= 1).
    epsilon : float, default 0.1
        Probability of exploring (``0 <= epsilon <= 1``).
    ridge : float, default 1.0
        The ridge penalty ``lambda`` (> 0).
    seed : int or None, default None
        Seed of the generator that decides when and where to explore.

    Notes
    -----
    The greedy candidate (the first among equal estimates) has probability
    ``1 - epsilon + epsilon / k`` and every other ``epsilon / k``, for ``k`` candidates.

    References
    ----------
    R. S. Sutton, A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed., 2018,
    section 2.2.

    Examples
    --------
    >>> model = EpsilonGreedy(n_arms=4, dimension=1, epsilon=0.2, seed=1)
    >>> model.learn(2, [1.0], 1.0)
    >>> [round(p, 9) for p in model.choose([1.0]).probabilities]
    [0.05, 0.05, 0.85, 0.05]
    """

    _POLICY = "epsilon_greedy"
    _EXPLORATION = "epsilon"

    def __init__(
        self,
        n_arms: int,
        dimension: int,
        *,
        epsilon: float = 0.1,
        ridge: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.epsilon = _check_exploration(epsilon, "epsilon", 1.0)
        super().__init__(n_arms, dimension, ridge=ridge, seed=seed)

    def _choose(
        self, arms: NDArray[np.int64], x: NDArray[np.float64]
    ) -> tuple[int, NDArray[np.float64]]:
        u_explore, u_arm = self._rng.random(2)
        probabilities = np.empty(arms.shape[0])
        position = int(
            epsilon_greedy_choose(
                arms, x, self._a_inv, self._b, self.epsilon, u_explore, u_arm, probabilities
            )
        )
        return position, probabilities
