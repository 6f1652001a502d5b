"""The creative agent: which cut of each ad to play.

:class:`CreativeAgent` follows a fixed rule: under high focus (podcasts, talk) the
shortest variant that fits the slot; in the background (music) the longest; otherwise
the default, the first variant that fits. :class:`BanditCreativeAgent` learns which of
those three rules to apply in each focus state with a contextual bandit
(:mod:`adcore.learn.bandits`), from completions and skips. Both are optional: when
skipped, the inventory agent's default choice stands.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import numpy as np

from .._kernels.creative import RULES, choose_variants, choose_variants_by_rule
from ..context import Context
from ..errors import InvalidConfig, InvalidInput
from ..events import Outcome
from ..learn.bandits import BanditState, EpsilonGreedy, LinearThompsonSampling, LinUCB
from ..learn.drift import ADWIN, PageHinkley
from .base import Agent, KernelStep, Services

__all__ = ["BanditCreativeAgent", "CreativeAgent"]

_VARIANT_ARGS = (
    "ctx.creative",
    "ctx.reason",
    "ctx.n_imp",
    "snap.ad_format",
    "snap.var_ptr",
    "snap.var_duration",
    "snap.var_mimes",
    "snap.var_protocols",
    "ctx.imp_mimes",
    "ctx.imp_protocols",
    "ctx.imp_mindur",
    "ctx.imp_maxdur",
)


class CreativeAgent(Agent):
    """Variant choice by focus state.

    It reads no :class:`~adcore.EngineConfig` field, so its constructor takes no
    arguments.
    """

    name: ClassVar[str] = "creative"
    reads: ClassVar[frozenset[str]] = frozenset({"interest", "creative", "reason", "candidates"})
    writes: ClassVar[frozenset[str]] = frozenset({"creative"})
    optional: ClassVar[bool] = True
    step: ClassVar[KernelStep] = KernelStep(
        choose_variants, (*_VARIANT_ARGS, "ctx.focus", "ctx.cand", "ctx.n_cand")
    )

    def fallback(self, ctx: Context, state: Any) -> None:
        """Keep the inventory agent's default variants."""

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        from .audience import FOCUS_NAMES

        return {"focus": FOCUS_NAMES[ctx.focus]}


Policy = LinUCB | LinearThompsonSampling | EpsilonGreedy

_POLICIES: dict[str, type[Policy]] = {
    "linucb": LinUCB,
    "linear_thompson": LinearThompsonSampling,
    "epsilon_greedy": EpsilonGreedy,
}

FOCUS_STATES = 4
"""Focus states (``adcore._kernels.creative`` ``FOCUS_*``), the bandit's contexts."""

RULE_NAMES = ("default", "shortest", "longest")

# The bandit's context of each focus state: a bias, then one indicator per known state
# (unknown is the bias alone).
_CONTEXTS = np.zeros((FOCUS_STATES, RULES, FOCUS_STATES))
_CONTEXTS[:, :, 0] = 1.0
for _f in range(1, FOCUS_STATES):
    _CONTEXTS[_f, :, _f] = 1.0
_CONTEXTS.setflags(write=False)


class _BanditState:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.arms = np.arange(RULES, dtype=np.int64)
        self.drift: ADWIN | PageHinkley | None = None
        self.drifts = 0


def _fresh(policy: Policy) -> Policy:
    """A policy like ``policy`` that has learned nothing (same arguments)."""
    kind = type(policy)
    arguments = {policy._EXPLORATION: policy.exploration, "ridge": policy.ridge}
    return kind(policy.n_arms, policy.dimension, seed=policy.seed, **arguments)


def _choose_rule(ctx: Context, state: _BanditState) -> None:
    """The kernel step's prepare: one bandit choice per request, from its focus."""
    position, probabilities = state.policy._choose(state.arms, _CONTEXTS[ctx.focus])
    ctx.creative_rule = int(state.arms[position])
    ctx.creative_propensity = float(probabilities[position])


class BanditCreativeAgent(CreativeAgent):
    """Variant choice learned by a contextual bandit: which cut rule (the default cut,
    the shortest or the longest that fits) to apply in each focus state.

    Per request the bandit chooses one of the three rules for the listener's focus
    state (its context: a bias and one indicator per known state), and every eligible
    audio or video ad plays the variant the rule picks (one compiled step, fused with
    the other agents' steps). The decision records the rule and the exact probability
    the policy had of choosing it: each sold slot's ``propensity`` is the auction's
    times this one, so logged decisions support off-policy evaluation.

    **Reward.** From :class:`~adcore.events.Outcome` messages of audio and video ads
    the rule applied to: 1 for a completion, 0 for a skip. Every play ends in one or the
    other, so with the shared reward's weights ``complete`` and ``skip`` (see
    :mod:`adcore.sim.reward`) the expected reward of a rule is ``(complete + skip) *
    P(complete) - skip``: maximising the completion rate maximises the shared reward's
    completion and skip terms. Display ads have no cut to choose and are not learned
    from.

    Parameters
    ----------
    policy : LinUCB, LinearThompsonSampling or EpsilonGreedy, optional
        With 3 arms and dimension 4; copied when the agent is first bound (so a trained
        policy can be given). By default ``LinUCB(3, 4, alpha=0.5)``.
    drift : ADWIN or PageHinkley, optional
        A drift test on the stream of rewards (1 completion, 0 skip); copied when the
        agent is first bound. When it signals a change, the policy starts afresh (same
        arguments, nothing learned) and explores the rules again. None (the default):
        no test.

    Examples
    --------
    >>> from adcore.learn import EpsilonGreedy
    >>> BanditCreativeAgent(policy=EpsilonGreedy(3, 4, epsilon=0.05, seed=1))
    BanditCreativeAgent(policy=EpsilonGreedy(n_arms=3, dimension=4, epsilon=0.05,
                                             ridge=1.0, seed=1))
    """

    learns_from: ClassVar[tuple[type, ...]] = (Outcome,)
    step: ClassVar[KernelStep] = KernelStep(
        choose_variants_by_rule,
        (*_VARIANT_ARGS, "ctx.creative_rule", "ctx.cand", "ctx.n_cand"),
        prepare=_choose_rule,
    )

    def __init__(
        self, *, policy: Policy | None = None, drift: ADWIN | PageHinkley | None = None
    ) -> None:
        if drift is not None and not isinstance(drift, ADWIN | PageHinkley):
            raise InvalidConfig(
                "BanditCreativeAgent argument 'drift' must be an ADWIN or PageHinkley "
                f"test, got {type(drift).__name__}",
                "drift",
            )
        self.drift = drift
        if policy is not None:
            if not isinstance(policy, LinUCB | LinearThompsonSampling | EpsilonGreedy):
                raise InvalidConfig(
                    "BanditCreativeAgent argument 'policy' must be a LinUCB, "
                    f"LinearThompsonSampling or EpsilonGreedy, got {type(policy).__name__}",
                    "policy",
                )
            if policy.n_arms != RULES or policy.dimension != FOCUS_STATES:
                raise InvalidConfig(
                    f"BanditCreativeAgent argument 'policy' must have {RULES} arms (the "
                    f"rules) and dimension {FOCUS_STATES} (the focus context), got "
                    f"{policy.n_arms} and {policy.dimension}",
                    "policy",
                )
        self.policy = policy

    def __repr__(self) -> str:
        given = [] if self.policy is None else [f"policy={self.policy!r}"]
        if self.drift is not None:
            given.append(f"drift={self.drift!r}")
        return f"{type(self).__name__}({', '.join(given)})"

    def bind(self, snapshot: Any, previous: Any, services: Services) -> Any:
        if isinstance(previous, _BanditState):
            return previous
        if self.policy is None:
            state = _BanditState(LinUCB(RULES, FOCUS_STATES, alpha=0.5))
        else:
            state = _BanditState(type(self.policy).from_state(self.policy.state()))
        if self.drift is not None:
            state.drift = type(self.drift).from_state(self.drift.state())  # type: ignore[arg-type]
        return state

    def fallback(self, ctx: Context, state: Any) -> None:
        """Keep the inventory agent's default variants (no rule, propensity 1)."""
        ctx.creative_rule = -1
        ctx.creative_propensity = 1.0

    def dump_model(self, state: Any) -> tuple[str, msgspec.Struct] | None:
        return "bandit", state.policy.state()

    def load_model(self, kind: str, data: bytes, state: Any) -> Any:
        """A state with the saved policy: a bandit over the 3 rules with dimension 4."""
        if kind != "bandit":
            raise InvalidInput(
                f"agent {self.name!r} loads a 'bandit' model, got {kind!r}", "models"
            )
        try:
            saved = msgspec.msgpack.decode(data, type=BanditState)
        except msgspec.DecodeError as exc:
            message = f"agent {self.name!r}: a bad bandit model: {exc}"
            raise InvalidInput(message, "models") from None
        policy = _POLICIES[saved.policy].from_state(saved)
        if policy.n_arms != RULES or policy.dimension != FOCUS_STATES:
            raise InvalidInput(
                f"agent {self.name!r} needs a bandit of {RULES} arms and dimension "
                f"{FOCUS_STATES}, got {policy.n_arms} and {policy.dimension}",
                "models",
            )
        new = _BanditState(policy)
        new.drift, new.drifts = state.drift, state.drifts
        return new

    knobs: ClassVar[tuple[str, ...]] = ("exploration",)

    def knob(self, state: Any, name: str) -> float:
        """``exploration``: the policy's exploration setting
        (:attr:`adcore.learn.LinUCB.exploration`)."""
        if name != "exploration":
            raise KeyError(name)
        return float(state.policy.exploration)

    def tune(self, state: Any, name: str, value: float) -> None:
        """``exploration``: LinUCB's ``alpha`` or Thompson sampling's ``v`` (>= 0),
        ε-greedy's ``epsilon`` (in [0, 1])."""
        if name != "exploration":
            raise KeyError(name)
        try:
            state.policy.exploration = value
        except InvalidInput as exc:
            raise InvalidInput(f"exploration: {exc}", "value") from None

    def learn(self, message: Any, state: Any) -> None:
        rule = message.creative_rule
        kind = message.kind
        if rule < 0 or rule >= RULES or kind not in ("complete", "skip"):
            return
        focus = message.focus if 0 <= message.focus < FOCUS_STATES else 0
        reward = 1.0 if kind == "complete" else 0.0
        state.policy.learn(rule, _CONTEXTS[focus, 0], reward)
        if state.drift is not None and state.drift.update(reward):
            state.policy = _fresh(state.policy)
            state.drifts += 1

    def monitor(self, state: Any) -> dict[str, float]:
        """``drifts`` the reward stream's test detected."""
        return {"drifts": float(state.drifts)}

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        out = super().notes(ctx, state)
        rule = ctx.creative_rule
        out["rule"] = RULE_NAMES[rule] if 0 <= rule < RULES else "none"
        out["propensity"] = round(float(ctx.creative_propensity), 6)
        out["exploration"] = float(state.policy.exploration)
        out["drifts"] = state.drifts
        return out
