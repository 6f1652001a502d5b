"""The relevance agent: the probability that the listener acts on each ad.

``p = sigmoid(logit(base_rate) + learned + relevance_scale * <ad embedding, interest>)``.
``p`` is the probability of the action the ad is bought for (``CatalogSnapshot.ad_action``:
a click when its campaign pays per click or acquisition or the ad is display, else a
completion), so each bid strategy values the action it pays for. ``learned`` comes from
feedback on the bus: each ad's observed rate of that action shrunk towards its prior by
``prior_strength`` impressions of evidence (empirical Bayes). ``relevance_scale`` and
``prior_strength`` are the agent's constructor arguments, by default the engine's
:class:`~adcore.EngineConfig` values.

Optional: when the latency budget is at risk, the fallback scores with the prior and
what was learned, without the embedding match.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, ClassVar

import msgspec
import numpy as np

from .._kernels.contextual import BLOCK_BITS, contextual_learn, contextual_probability
from .._kernels.scoring import action_probability, learned_logit_update, prior_probability
from ..catalog import ACTION_CLICK, ACTION_COMPLETE, CatalogSnapshot
from ..context import CONTEXT_KEYS, Context
from ..errors import InvalidConfig, InvalidInput
from ..events import Outcome
from ..features import context_keys
from ..learn.drift import PageHinkley
from ..learn.response import FTRLProximal, FTRLState
from .base import Agent, KernelStep, Services

__all__ = ["ContextualRelevanceAgent", "RelevanceAgent"]

_ACTION_KIND = {ACTION_CLICK: "click", ACTION_COMPLETE: "complete"}


class _RelevanceState:
    def __init__(self, snapshot: CatalogSnapshot, prior_strength: float, scale: float) -> None:
        n = snapshot.n_ads
        self.snapshot = snapshot
        self.prior_strength = prior_strength
        self.scale = scale
        self.shows = np.zeros(n, dtype=np.float64)
        self.actions = np.zeros(n, dtype=np.float64)
        self.learned = np.zeros(n, dtype=np.float64)


class RelevanceAgent(Agent):
    """Predicted action probability per ad, learned online from feedback.

    Takes, keyword-only, the :class:`~adcore.EngineConfig` fields it uses, named like
    them: None (the default) takes the engine's value; any other value is checked by
    EngineConfig's rules (:class:`~adcore.InvalidConfig` naming the field) and replaces
    the engine's for this agent.

    Parameters
    ----------
    relevance_scale : float, optional
        Weight of the embedding match in the predicted log-odds
        (``EngineConfig.relevance_scale``).
    prior_strength : float, optional
        Impressions of evidence an ad's prior is worth (``EngineConfig.prior_strength``).

    Examples
    --------
    >>> RelevanceAgent(relevance_scale=1.5)
    RelevanceAgent(relevance_scale=1.5)
    """

    name: ClassVar[str] = "relevance"
    reads: ClassVar[frozenset[str]] = frozenset({"interest", "reason", "candidates"})
    writes: ClassVar[frozenset[str]] = frozenset({"score"})
    optional: ClassVar[bool] = True
    learns_from: ClassVar[tuple[type, ...]] = (Outcome,)
    parameters: ClassVar[tuple[str, ...]] = ("relevance_scale", "prior_strength")

    relevance_scale: float | None = None
    prior_strength: float | None = None

    def __init__(
        self, *, relevance_scale: float | None = None, prior_strength: float | None = None
    ) -> None:
        self._set_parameters(relevance_scale=relevance_scale, prior_strength=prior_strength)

    step: ClassVar[KernelStep] = KernelStep(
        action_probability,
        (
            "ctx.score",
            "ctx.reason",
            "ctx.n_imp",
            "snap.ad_embedding",
            "ctx.interest",
            "snap.ad_base_logit",
            "state.learned",
            "state.scale",
            "ctx.cand",
            "ctx.n_cand",
        ),
    )

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        cfg = self.settings(services.config)
        state = _RelevanceState(snapshot, cfg.prior_strength, cfg.relevance_scale)
        if isinstance(previous, _RelevanceState):
            old = previous.snapshot.ad_index
            for i, aid in enumerate(snapshot.ad_ids):
                j = old.get(aid)
                if j is not None:
                    state.shows[i] = previous.shows[j]
                    state.actions[i] = previous.actions[j]
            learned_logit_update(
                state.learned,
                snapshot.ad_base_logit,
                state.shows,
                state.actions,
                state.prior_strength,
            )
        return state

    def fallback(self, ctx: Context, state: _RelevanceState) -> None:
        prior_probability(
            ctx.score,
            ctx.reason,
            ctx.n_imp,
            ctx.snapshot.ad_base_logit,
            state.learned,
            ctx.cand,
            ctx.n_cand,
        )

    def learn(self, message: Any, state: _RelevanceState) -> None:
        snap = state.snapshot
        i = snap.ad_index.get(message.ad_id)
        if i is None:
            return
        if message.kind == "impression":
            state.shows[i] += 1.0
        elif message.kind == _ACTION_KIND[int(snap.ad_action[i])]:
            state.actions[i] += 1.0
        else:
            return
        learned_logit_update(
            state.learned[i : i + 1],
            snap.ad_base_logit[i : i + 1],
            state.shows[i : i + 1],
            state.actions[i : i + 1],
            state.prior_strength,
        )

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        eligible = ctx.score > 0
        return {
            "scored": int(eligible.sum()),
            "max_p": round(float(ctx.score.max()), 6) if ctx.score.size else 0.0,
        }


_MAX_PENDING = 100_000


class _ContextualState:
    """A contextual relevance agent's state for one catalog snapshot: the model (shared
    with the previous snapshot's state, so learning carries over), the impressions
    awaiting their outcome, and scratch for building rows."""

    def __init__(
        self,
        snapshot: CatalogSnapshot,
        model: FTRLProximal,
        scale: float,
        window: float,
        pending: OrderedDict[str, tuple[str, tuple[int, ...], int, float, float]],
    ) -> None:
        self.snapshot = snapshot
        self.model = model
        self.model_state = model._state
        self.model_params = model._params
        self.scale = scale
        self.window = window
        self.pending = pending
        self.drift: PageHinkley | None = None
        self.drifts = 0
        self.learned = np.zeros(snapshot.n_ads, dtype=np.float64)  # for the fallback
        self.row_idx = np.empty(3 + CONTEXT_KEYS, dtype=np.int64)
        self.row_val = np.empty(3 + CONTEXT_KEYS, dtype=np.float64)
        self.keys = np.empty(CONTEXT_KEYS, dtype=np.uint64)


class ContextualRelevanceAgent(RelevanceAgent):
    """Predicted action probability per ad from a contextual model learned online.

    Replaces the relevance agent's per-ad counting (:class:`RelevanceAgent`) with an
    FTRL-proximal logistic regression (:class:`adcore.learn.FTRLProximal`) over the ad,
    the embedding match and the ad crossed with the request's non-personal context
    (device type, local hour, app or site, content categories:
    :func:`adcore.features.context_keys`) and with the listener's focus state; the ad's
    metadata prior plus ``relevance_scale`` times the match is the row's offset, so a
    new ad starts at its prior (:mod:`adcore._kernels.contextual`). Scoring is one
    compiled step, fused with the other agents' like the default agent's.

    **Labels.** From the engine's :class:`~adcore.events.Outcome` messages on the bus:
    an impression waits for its outcome; the ad's action (a click, or a completion for
    ads bought for completions, as :class:`RelevanceAgent`) is learned as a positive at
    once; a skip of an ad bought for completions is a negative at once; an impression
    with no outcome ``window`` seconds after it was shown (by the outcomes' own
    timestamps) is learned as a negative. At most 100,000 impressions wait; beyond that
    the oldest is learned as a negative. A late action after its impression was learned
    as a negative is still learned as a positive. Outcomes carry everything needed, so
    replaying a recording of them rebuilds the model exactly.

    Parameters
    ----------
    relevance_scale : float, optional
        Weight of the embedding match in the prior (``EngineConfig.relevance_scale``).
    model : FTRLProximal, optional
        The starting model (copied when the agent is first bound, so a trained model
        can be given and reused); by default ``FTRLProximal(bits=18, alpha=0.02,
        beta=1.0, l1=0.0, l2=5.0)``: slow, strongly regularised learning, which ranked
        best in the simulator (a day brings each ad in each context few outcomes, and
        noisy weights rank worse than a prior).
    window : float, default 1800.0
        Seconds an impression waits for its action before it counts as a negative.
    drift : PageHinkley, optional
        A test watching the log loss of the model's predictions on the outcomes it
        learns (each prediction made before its outcome is learned); when it signals a
        rise, the model forgets all but ``forget`` of what it learned
        (:meth:`FTRLProximal.forget`), so it follows a changed market quickly. Copied
        when the agent is first bound. None (the default): no monitoring.
    forget : float, default 0.1
        What the model keeps after a detected drift, in ``(0, 1]``.

    Examples
    --------
    >>> from adcore.learn import FTRLProximal
    >>> ContextualRelevanceAgent(window=600.0)
    ContextualRelevanceAgent(window=600.0)
    """

    reads: ClassVar[frozenset[str]] = frozenset({"features", "interest", "reason", "candidates"})

    step: ClassVar[KernelStep] = KernelStep(
        contextual_probability,
        (
            "ctx.score",
            "ctx.match",
            "ctx.reason",
            "ctx.n_imp",
            "snap.ad_embedding",
            "ctx.interest",
            "snap.ad_base_logit",
            "state.scale",
            "snap.ad_key",
            "ctx.context_keys",
            "ctx.focus",
            "state.model_state",
            "state.model_params",
            "ctx.cand",
            "ctx.n_cand",
        ),
    )

    def __init__(
        self,
        *,
        relevance_scale: float | None = None,
        model: FTRLProximal | None = None,
        window: float = 1800.0,
        drift: PageHinkley | None = None,
        forget: float = 0.1,
    ) -> None:
        if model is not None and not isinstance(model, FTRLProximal):
            raise InvalidConfig(
                f"ContextualRelevanceAgent argument 'model' must be an FTRLProximal, got "
                f"{type(model).__name__}",
                "model",
            )
        if model is not None and model.bits < BLOCK_BITS:
            raise InvalidConfig(
                f"ContextualRelevanceAgent argument 'model' needs at least {BLOCK_BITS} bits "
                f"(each ad's features share a block of {1 << BLOCK_BITS} slots), got "
                f"{model.bits}",
                "model",
            )
        if (
            isinstance(window, bool)
            or not isinstance(window, int | float)
            or not 0.0 < window < math.inf
        ):
            raise InvalidConfig(
                f"ContextualRelevanceAgent argument 'window' must be a positive number of "
                f"seconds, got {window!r}",
                "window",
            )
        if drift is not None and not isinstance(drift, PageHinkley):
            raise InvalidConfig(
                "ContextualRelevanceAgent argument 'drift' must be a PageHinkley test, got "
                f"{type(drift).__name__}",
                "drift",
            )
        if isinstance(forget, bool) or not isinstance(forget, int | float) or not 0 < forget <= 1:
            raise InvalidConfig(
                f"ContextualRelevanceAgent argument 'forget' must be in (0, 1], got {forget!r}",
                "forget",
            )
        self._set_parameters(relevance_scale=relevance_scale)
        self.model = model
        self.window = float(window)
        self.drift = drift
        self.forget = float(forget)

    def __repr__(self) -> str:
        args = [f"{name}={value!r}" for name, value in self._overrides().items()]
        if self.model is not None:
            args.append(f"model={self.model!r}")
        if self.window != 1800.0:
            args.append(f"window={self.window!r}")
        if self.drift is not None:
            args.append(f"drift={self.drift!r}")
        if self.forget != 0.1:
            args.append(f"forget={self.forget!r}")
        return f"{type(self).__name__}({', '.join(args)})"

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        cfg = self.settings(services.config)
        if isinstance(previous, _ContextualState):
            model, pending = previous.model, previous.pending
        else:
            model = (
                FTRLProximal.from_state(self.model.state())
                if self.model is not None
                else FTRLProximal(bits=18, alpha=0.02, beta=1.0, l1=0.0, l2=5.0)
            )
            pending = OrderedDict()
        state = _ContextualState(snapshot, model, cfg.relevance_scale, self.window, pending)
        if isinstance(previous, _ContextualState):
            state.drift, state.drifts = previous.drift, previous.drifts
        elif self.drift is not None:
            state.drift = PageHinkley.from_state(self.drift.state())
            # Compile the forgetting now (a no-op with 1.0) rather than on the first drift.
            model.forget(1.0)
        return state

    def fallback(self, ctx: Context, state: Any) -> None:
        prior_probability(
            ctx.score,
            ctx.reason,
            ctx.n_imp,
            ctx.snapshot.ad_base_logit,
            state.learned,
            ctx.cand,
            ctx.n_cand,
        )
        ctx.match.fill(0.0)

    knobs: ClassVar[tuple[str, ...]] = ("learning_rate",)

    def knob(self, state: Any, name: str) -> float:
        """``learning_rate``: the model's FTRL ``alpha``."""
        if name != "learning_rate":
            raise KeyError(name)
        return float(state.model.alpha)

    def tune(self, state: Any, name: str, value: float) -> None:
        """``learning_rate`` (> 0): the model's FTRL ``alpha``
        (:meth:`adcore.learn.FTRLProximal.set_learning_rate`)."""
        if name != "learning_rate":
            raise KeyError(name)
        try:
            state.model.set_learning_rate(value)
        except InvalidInput as exc:
            raise InvalidInput(f"learning_rate: {exc}", "value") from None

    def monitor(self, state: Any) -> dict[str, float]:
        """``drifts`` detected and examples ``learned`` so far."""
        return {"drifts": float(state.drifts), "learned": float(state.model.updates)}

    def dump_model(self, state: Any) -> tuple[str, msgspec.Struct] | None:
        return "ftrl", state.model.state()

    def load_model(self, kind: str, data: bytes, state: Any) -> Any:
        """A state with the saved model (the waiting impressions are kept); the model
        must be an FTRL-proximal model of at least ``BLOCK_BITS`` bits."""
        if kind != "ftrl":
            raise InvalidInput(f"agent {self.name!r} loads an 'ftrl' model, got {kind!r}", "models")
        try:
            saved = msgspec.msgpack.decode(data, type=FTRLState)
        except msgspec.DecodeError as exc:
            message = f"agent {self.name!r}: a bad FTRL model: {exc}"
            raise InvalidInput(message, "models") from None
        model = FTRLProximal.from_state(saved)
        if model.bits < BLOCK_BITS:
            raise InvalidInput(
                f"agent {self.name!r} needs a model of at least {BLOCK_BITS} bits, got "
                f"{model.bits}",
                "models",
            )
        new = _ContextualState(
            state.snapshot, model, state.scale, state.window, OrderedDict(state.pending)
        )
        new.drift, new.drifts = state.drift, state.drifts
        return new

    def _learn_one(
        self,
        state: _ContextualState,
        i: int,
        context: tuple[int, ...],
        focus: int,
        match: float,
        y: float,
    ) -> None:
        snap = state.snapshot
        keys = state.keys
        if len(context) == CONTEXT_KEYS:
            keys[:] = context
        else:  # an outcome recorded without its context: the unknown context
            keys[:] = context_keys(0, -1, 0, 0)
        offset = float(snap.ad_base_logit[i]) + state.scale * match
        p = contextual_learn(
            state.row_idx,
            state.row_val,
            snap.ad_key[i],
            keys,
            focus if 0 <= focus < 256 else 0,
            match,
            offset,
            y,
            state.model_state,
            state.model_params,
        )
        detector = state.drift
        if detector is not None and p >= 0.0:
            q = min(max(p, 1e-12), 1.0 - 1e-12)
            loss = -math.log(q) if y == 1.0 else -math.log(1.0 - q)
            if detector.update(loss) > 0:
                state.model.forget(self.forget)
                state.drifts += 1

    def _expire(self, state: _ContextualState, now: float) -> None:
        """Learn as negatives the impressions whose window ended before ``now``."""
        pending = state.pending
        horizon = now - state.window
        while pending:
            iid, (ad_id, context, focus, match, shown) = next(iter(pending.items()))
            if shown > horizon and len(pending) <= _MAX_PENDING:
                break
            del pending[iid]
            i = state.snapshot.ad_index.get(ad_id)
            if i is not None:  # else the ad left the catalog meanwhile
                self._learn_one(state, i, context, focus, match, 0.0)

    def learn(self, message: Any, state: Any) -> None:
        snap = state.snapshot
        self._expire(state, message.timestamp)
        i = snap.ad_index.get(message.ad_id)
        if i is None:
            state.pending.pop(message.impression_id, None)
            return
        kind = message.kind
        action = _ACTION_KIND[int(snap.ad_action[i])]
        if kind == "impression":
            state.pending[message.impression_id] = (
                message.ad_id,
                tuple(message.context),
                int(message.focus),
                float(message.match),
                float(message.timestamp),
            )
            self._expire(state, message.timestamp)  # the bound on waiting impressions
        elif kind == action or (kind == "skip" and action == "complete"):
            state.pending.pop(message.impression_id, None)
            y = 1.0 if kind == action else 0.0
            self._learn_one(
                state, i, tuple(message.context), int(message.focus), float(message.match), y
            )

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        out = super().notes(ctx, state)
        out["learned"] = state.model.updates
        out["waiting"] = len(state.pending)
        out["drifts"] = state.drifts
        out["learning_rate"] = float(state.model.alpha)
        return out
