"""Tabular Q-learning with epsilon-greedy choices that report their exact probabilities.

:class:`QLearning` keeps one value per (state, action) of a small discrete problem (a
bid multiplier per pacing state, say) and learns it from transitions with the one-step
Q-learning update (Watkins and Dayan 1992); the arithmetic is in
:mod:`adcore._kernels.qlearning`. Each :meth:`QLearning.choose` returns a
:class:`~adcore.learn.Choice` with the probability the policy had of choosing every
action, as the bandits do, so logged choices support off-policy evaluation. Every
argument is checked before anything changes (:class:`~adcore.errors.InvalidInput`
naming it); a model round-trips exactly through :meth:`QLearning.state` /
:meth:`QLearning.from_state` (a msgspec :class:`QState`), random generator included.
Models are not thread-safe.

Examples
--------
>>> from adcore.learn import QLearning
>>> model = QLearning(n_states=2, n_actions=2, alpha=0.5, gamma=0.0, epsilon=0.0)
>>> model.learn(state=0, action=1, reward=1.0, next_state=1)
1.0
>>> model.choose(0)
Choice(arm=1, propensity=1.0, probabilities=(0.0, 1.0))
>>> model.values[0].tolist()
[0.0, 0.5]
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._kernels.qlearning import q_choose, q_update, q_update_batch
from ..errors import InvalidInput
from .bandits import Choice, _array_bytes, _indices, _int, _pack_rng, _real, _unpack_rng

__all__ = ["QLearning", "QState"]

_STATE_VERSION = 1


class QState(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Everything a :class:`QLearning` model is: its arguments, its values, its
    generator. Arrays are little-endian bytes in C order.

    Parameters
    ----------
    version : int
        The format (1).
    n_states, n_actions : int
    alpha, gamma, epsilon : float
        As the constructor takes them.
    seed : int or None
    initial : float
        Every action value at the start.
    q : bytes
        float64 ``(n_states, n_actions)``: the action values.
    visits : bytes
        int64 ``(n_states, n_actions)``: updates per pair.
    rng : tuple of int
        The PCG64 generator's state (as :class:`~adcore.learn.BanditState` keeps it).
    """

    version: int
    n_states: int
    n_actions: int
    alpha: float
    gamma: float
    epsilon: float
    seed: int | None
    initial: float
    q: bytes
    visits: bytes
    rng: tuple[int, int, int, int, int, int]


def _unit(value: Any, name: str, *, open_high: bool = False) -> float:
    out = _real(value, name)
    if not (0.0 <= out < 1.0 if open_high else 0.0 <= out <= 1.0):
        bound = "[0, 1)" if open_high else "[0, 1]"
        raise InvalidInput(f"{name} must be in {bound}, got {value!r}", name)
    return out


class QLearning:
    """Tabular Q-learning over ``n_states`` x ``n_actions``, epsilon-greedy.

    Parameters
    ----------
    n_states, n_actions : int
        The problem's size (each >= 1).
    alpha : float, default 0.1
        The step size, in [0, 1]; 0 steps by ``1 / visits`` of the pair (the sample
        average).
    gamma : float, default 0.95
        The discount of the next state's value, in [0, 1) (0: a contextual bandit).
    epsilon : float, default 0.1
        The probability of a uniformly random action, in [0, 1] (the
        :attr:`exploration`).
    initial : float, default 0.0
        Every action value at the start (optimism explores).
    seed : int, optional
        Seeds the generator that draws the exploration.

    Raises
    ------
    InvalidInput
        A bad argument, named.

    Examples
    --------
    >>> model = QLearning(2, 4, alpha=0.0, gamma=0.0, epsilon=0.5, seed=0)
    >>> model.learn(0, 2, reward=4.0, next_state=1)
    4.0
    >>> model.choose(0).probabilities
    (0.125, 0.125, 0.625, 0.125)
    """

    def __init__(
        self,
        n_states: int,
        n_actions: int,
        *,
        alpha: float = 0.1,
        gamma: float = 0.95,
        epsilon: float = 0.1,
        initial: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.n_states = _int(n_states, "n_states", 1)
        self.n_actions = _int(n_actions, "n_actions", 1)
        if self.n_states * self.n_actions > 1 << 26:
            raise InvalidInput("n_states * n_actions must be at most 2**26", "n_states")
        self.alpha = _unit(alpha, "alpha")
        self.gamma = _unit(gamma, "gamma", open_high=True)
        self.epsilon = _unit(epsilon, "epsilon")
        start = _real(initial, "initial")
        self.initial = start
        self.seed = None if seed is None else _int(seed, "seed", 0)
        self._q = np.full((self.n_states, self.n_actions), start, dtype=np.float64)
        self._visits = np.zeros((self.n_states, self.n_actions), dtype=np.int64)
        self._prob = np.empty(self.n_actions, dtype=np.float64)
        self._rng = np.random.default_rng(self.seed)

    def __repr__(self) -> str:
        return (
            f"QLearning(n_states={self.n_states}, n_actions={self.n_actions}, "
            f"alpha={self.alpha!r}, gamma={self.gamma!r}, epsilon={self.epsilon!r}, "
            f"initial={self.initial!r}, seed={self.seed!r})"
        )

    # ---------------------------------------------------------------- reading
    @property
    def values(self) -> NDArray[np.float64]:
        """A copy of the action values, ``(n_states, n_actions)``."""
        return self._q.copy()

    @property
    def visits(self) -> NDArray[np.int64]:
        """A copy of the updates per (state, action)."""
        return self._visits.copy()

    @property
    def exploration(self) -> float:
        """``epsilon``; setting it checks it (in [0, 1]) and takes effect from the next
        choice."""
        return self.epsilon

    @exploration.setter
    def exploration(self, value: float) -> None:
        self.epsilon = _unit(value, "epsilon")

    def greedy(self, state: int) -> int:
        """The greedy action of ``state`` (the first of the largest values)."""
        s = self._state(state, "state")
        return int(np.argmax(self._q[s]))

    def policy(self) -> NDArray[np.int64]:
        """The greedy action of every state."""
        out: NDArray[np.int64] = np.argmax(self._q, axis=1).astype(np.int64)
        return out

    # ---------------------------------------------------------------- acting
    def choose(self, state: int) -> Choice:
        """An epsilon-greedy action for ``state``, with its propensity and every
        action's probability."""
        s = self._state(state, "state")
        u_explore, u_action = self._rng.random(2)
        prob = self._prob
        a = int(q_choose(self._q, s, self.epsilon, u_explore, u_action, prob))
        return Choice(arm=a, propensity=float(prob[a]), probabilities=tuple(prob.tolist()))

    def learn(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminal: bool = False,
    ) -> float:
        """Learn the transition ``(state, action, reward, next_state)``; ``terminal``
        drops the next state's value. Returns the temporal-difference error."""
        s = self._state(state, "state")
        a = self._index(action, "action", self.n_actions)
        r = _real(reward, "reward")
        s2 = self._state(next_state, "next_state")
        if not isinstance(terminal, bool | np.bool_):
            raise InvalidInput(
                f"terminal must be a bool, got {type(terminal).__name__}", "terminal"
            )
        return float(
            q_update(self._q, self._visits, s, a, r, s2, bool(terminal), self.alpha, self.gamma)
        )

    def learn_batch(
        self,
        states: ArrayLike,
        actions: ArrayLike,
        rewards: ArrayLike,
        next_states: ArrayLike,
        terminals: ArrayLike | None = None,
    ) -> float:
        """:meth:`learn` for each transition in order (the same result bit for bit);
        returns the sum of squared temporal-difference errors. Every array is checked
        before anything is learned."""
        s = self._indices(states, "states", self.n_states)
        n = s.shape[0]
        a = self._indices(actions, "actions", self.n_actions, n)
        s2 = self._indices(next_states, "next_states", self.n_states, n)
        try:
            r = np.ascontiguousarray(rewards, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"rewards: {exc}", "rewards") from None
        if r.shape != (n,) or not np.isfinite(r).all():
            raise InvalidInput(f"rewards must be {n} finite numbers", "rewards")
        if terminals is None:
            t = np.zeros(n, dtype=np.bool_)
        else:
            t = np.asarray(terminals)
            if t.shape != (n,) or t.dtype != np.bool_:
                raise InvalidInput(f"terminals must be {n} bools", "terminals")
        total = q_update_batch(
            self._q, self._visits, s, a, r, s2, np.ascontiguousarray(t), self.alpha, self.gamma
        )
        return float(total)

    # ---------------------------------------------------------------- persistence
    def state(self) -> QState:
        """The model's state, a msgspec Struct."""
        return QState(
            version=_STATE_VERSION,
            n_states=self.n_states,
            n_actions=self.n_actions,
            alpha=self.alpha,
            gamma=self.gamma,
            epsilon=self.epsilon,
            seed=self.seed,
            initial=self.initial,
            q=self._q.astype("<f8").tobytes(),
            visits=self._visits.astype("<i8").tobytes(),
            rng=_pack_rng(self._rng),
        )

    @classmethod
    def from_state(cls, state: QState) -> QLearning:
        """A model restored from :meth:`state` (checked: a bad state raises
        :class:`~adcore.errors.InvalidInput` naming the field)."""
        if not isinstance(state, QState):
            raise InvalidInput("state must be a QState", "state")
        if state.version != _STATE_VERSION:
            raise InvalidInput(
                f"unknown Q-learning state version {state.version} (this adcore reads "
                f"{_STATE_VERSION})",
                "state.version",
            )
        model = cls(
            state.n_states,
            state.n_actions,
            alpha=state.alpha,
            gamma=state.gamma,
            epsilon=state.epsilon,
            initial=state.initial,
            seed=state.seed,
        )
        shape = (model.n_states, model.n_actions)
        model._q = np.ascontiguousarray(
            _array_bytes(state.q, np.dtype("<f8"), shape, "state.q"), dtype=np.float64
        )
        model._visits = np.ascontiguousarray(
            _array_bytes(state.visits, np.dtype("<i8"), shape, "state.visits"), dtype=np.int64
        )
        model._rng = _unpack_rng(state.rng)
        return model

    def __getstate__(self) -> dict[str, Any]:
        return {"state": msgspec.msgpack.encode(self.state())}

    def __setstate__(self, data: dict[str, Any]) -> None:
        restored = QLearning.from_state(msgspec.msgpack.decode(data["state"], type=QState))
        self.__dict__.update(restored.__dict__)

    # ---------------------------------------------------------------- checks
    def _state(self, value: Any, name: str) -> int:
        return self._index(value, name, self.n_states)

    @staticmethod
    def _index(value: Any, name: str, n: int) -> int:
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
            raise InvalidInput(f"{name} must be an integer, got {type(value).__name__}", name)
        if not 0 <= value < n:
            raise InvalidInput(f"{name} must be in [0, {n}), got {value}", name)
        return int(value)

    @staticmethod
    def _indices(value: Any, name: str, n: int, size: int | None = None) -> NDArray[np.int64]:
        a = _indices(value, name, n)
        if size is not None and a.shape[0] != size:
            raise InvalidInput(f"{name} must have shape ({size},), got {a.shape}", name)
        return a
