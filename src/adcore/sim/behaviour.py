"""How simulated listeners respond to the ads they hear or see (ground truth the
engine never reads: it learns from the feedback these responses become)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .market import SESSION_MUSIC, SESSION_PODCAST, SLOT_DISPLAY, SLOT_VIDEO

if TYPE_CHECKING:
    from .market import Market

__all__ = ["Behaviour", "SlotOutcome"]


@dataclass(frozen=True)
class SlotOutcome:
    """What a listener did with one shown ad."""

    click: bool
    complete: bool
    skip: bool
    conversion: bool
    value: float


class Behaviour:
    """How listeners respond, from true relevance, ad length versus attention, fatigue.

    - relevance ``r`` is the cosine of the listener's true interest and the ad's true
      embedding (unusual listeners' true interests differ from their signals);
    - audio and video: ``P(complete) = sigmoid(0.8 + 2 r - length_penalty - 0.35 f)``,
      where the penalty of a 30 s cut is high for a focused podcast listener (1.5), mild
      for foreground music (0.3) or video (0.6) and nil in the background, and ``f`` is
      how many times the listener already heard the campaign today; a skip is the
      opposite of a completion;
    - ``P(click) = sigmoid(-4.6 + 2.5 r - 0.3 f)`` for display, a tenth of that for audio;
    - a click converts with probability ``0.05 (1 + r)``;
    - bots never complete and click in bursts (30 %).
    Values: the campaign's value per click, per completion (a 15 s completion is worth
    60 % of a 30 s one) and per conversion.
    """

    @staticmethod
    def respond(
        market: Market,
        slot: int,
        ad: int,
        duration: float,
        fatigue: int,
        value_click: float,
        value_complete: float,
        value_conversion: float,
    ) -> SlotOutcome:
        """The outcome of showing catalog ad ``ad`` (index in ``market.ad_truth``) in
        ``slot``, using the slot's pre-drawn uniforms."""
        u_click, u_complete, u_conv, _, bot, listener, session = market._slot(slot)
        if bot:
            return _BOT_CLICK if u_click < 0.3 else _BOT_NO_CLICK
        r = market._affinity(listener, ad)
        fmt = market._ad_format[ad]
        click_logit = -4.6 + 2.5 * r - 0.3 * fatigue
        if fmt == SLOT_DISPLAY:
            p_click = _sigmoid(click_logit)
            click = u_click < p_click
            complete = skip = False
        else:
            long = duration > 20.0
            if fmt == SLOT_VIDEO:
                penalty = 0.6 if long else 0.2
            elif session == SESSION_PODCAST:
                penalty = 1.5 if long else 0.2
            elif session == SESSION_MUSIC:
                penalty = 0.3 if long else 0.1
            else:
                penalty = 0.0
            p_complete = _sigmoid(0.8 + 2.0 * r - penalty - 0.35 * fatigue)
            complete = u_complete < p_complete
            skip = not complete
            click = u_click < 0.1 * _sigmoid(click_logit)
        conversion = click and u_conv < 0.05 * (1.0 + r)
        value = 0.0
        if click:
            value += value_click
        if complete:
            value += value_complete * (1.0 if duration > 20.0 else 0.6)
        if conversion:
            value += value_conversion
        # Outcomes are frozen and few distinct ones occur (a campaign's values times the
        # four flags), so equal outcomes share one instance.
        key = (click, complete, skip, conversion, value)
        outcome = _OUTCOMES.get(key)
        if outcome is None:
            if len(_OUTCOMES) >= _MAX_OUTCOMES:
                _OUTCOMES.clear()
            outcome = _OUTCOMES[key] = SlotOutcome(
                click=click, complete=complete, skip=skip, conversion=conversion, value=value
            )
        return outcome


_BOT_CLICK = SlotOutcome(click=True, complete=False, skip=False, conversion=False, value=0.0)
_BOT_NO_CLICK = SlotOutcome(click=False, complete=False, skip=False, conversion=False, value=0.0)
_OUTCOMES: dict[tuple[bool, bool, bool, bool, float], SlotOutcome] = {}
_MAX_OUTCOMES = 1 << 16


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
