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

from typing import Any, ClassVar

import numpy as np

from .._kernels.scoring import action_probability, learned_logit_update, prior_probability
from ..catalog import ACTION_CLICK, ACTION_COMPLETE, CatalogSnapshot
from ..context import Context
from ..events import Outcome
from .base import Agent, KernelStep, Services

__all__ = ["RelevanceAgent"]

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
