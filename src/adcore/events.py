"""Feedback events and control messages: tagged msgspec Structs.

Feedback events come from the ad server after a decision: the ad was shown
(:class:`Impression`), clicked, skipped, played to the end or led to a conversion. Each
names the impression it belongs to by ``impression_id``, the value the engine put in
:attr:`adcore.decision.SlotDecision.impression_id` (and in ``Bid.id`` of the OpenRTB
response). Control messages carry human overrides (pause a campaign) and are audited.

All of them are frozen, keyword-only, tagged by class name (so a mixed stream decodes to
the right type), and leaf structs that never form cycles (``gc=False``). Struct
constructors do not check types, so the engine checks every event and control message
it is given with the checks at the end of this module, which raise
:class:`~adcore.errors.InvalidEvent` naming the field before anything changes.

Examples
--------
>>> import msgspec
>>> from adcore.events import Click, FeedbackEvent
>>> raw = msgspec.json.encode(Click(impression_id="r1:1:0", timestamp=1.5))
>>> raw
b'{"type":"Click","impression_id":"r1:1:0","timestamp":1.5}'
>>> msgspec.json.decode(raw, type=FeedbackEvent)
Click(impression_id='r1:1:0', timestamp=1.5)
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._checks import finite
from .errors import InvalidEvent

__all__ = [
    "BlockCategory",
    "BlockDomain",
    "CapBid",
    "Click",
    "Complete",
    "Control",
    "ControlMessage",
    "Conversion",
    "Event",
    "FeedbackEvent",
    "ForceFloor",
    "Impression",
    "Outcome",
    "PauseCampaign",
    "ResumeCampaign",
    "Skip",
    "SpendCharged",
    "Tune",
    "UnblockCategory",
    "UnblockDomain",
]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type", gc=False):
    """Base of every feedback event.

    Parameters
    ----------
    impression_id : str
        The impression this event belongs to (``SlotDecision.impression_id``).
    timestamp : float
        When it happened, in seconds since the Unix epoch (or simulated seconds).
    """

    impression_id: str
    timestamp: float


class Impression(Event, frozen=True, kw_only=True, gc=False):
    """The ad was shown. Charges the clearing price once per ``impression_id``."""


class Click(Event, frozen=True, kw_only=True, gc=False):
    """The listener or viewer clicked the ad."""


class Skip(Event, frozen=True, kw_only=True, gc=False):
    """The ad was skipped, optionally ``after`` so many seconds of play."""

    after: float | None = None


class Complete(Event, frozen=True, kw_only=True, gc=False):
    """The ad played to the end."""


class Conversion(Event, frozen=True, kw_only=True, gc=False):
    """The advertiser recorded a conversion worth ``value`` (currency units)."""

    value: float = 0.0


FeedbackEvent = Impression | Click | Skip | Complete | Conversion
"""Any feedback event; decode a mixed stream with ``msgspec.json.decode(b, type=FeedbackEvent)``."""


class SpendCharged(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type", gc=False):
    """Published on the bus after the ledger charged an impression.

    Parameters
    ----------
    campaign_id : str
    amount_micros : int
        What was charged, in micro-units of the catalog currency.
    timestamp : float
    """

    campaign_id: str
    amount_micros: int
    timestamp: float


class Outcome(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type", gc=False):
    """A feedback event joined with the decision it belongs to, published on the bus by
    the engine for the agents that learn. Self-contained, so replaying a recording of
    outcomes rebuilds the learners' state exactly.

    Parameters
    ----------
    kind : str
        ``"impression"``, ``"click"``, ``"skip"``, ``"complete"`` or ``"conversion"``.
    impression_id, ad_id, campaign_id, creative_id : str
    timestamp : float
    value : float
        Conversion value, else 0.
    user_key : int
        A pseudonymous 64-bit key of the user for frequency capping, 0 when the request
        did not allow personalisation. Never the user id itself.
    price_micros : int
        The clearing price of the impression in micro-units (what it was charged).
    placement : int
        The slot of the impression's placement (site or app, tag id and position) in
        the per-placement learners' tables (reserve prices, bid shading).
    first_price : bool
        The impression was sold in a first-price auction.
    context : tuple of int
        The request's context keys (:func:`adcore.features.context_keys`: device type,
        local hour, app or site, content categories; none of them personal), for
        learners that cross them with ads. Empty when unknown.
    match : float
        The embedding match of the ad with the listener's interest when it was chosen
        (0 without one), for learners that weigh it.
    focus : int
        The listener's focus state when the ad was chosen (``adcore._kernels.creative``
        ``FOCUS_*``: 0 unknown, 1 high, 2 background, 3 normal).
    creative_rule : int
        The cut rule a learning creative agent applied (0 default, 1 shortest, 2
        longest), -1 when none did.
    """

    kind: str
    impression_id: str
    ad_id: str
    campaign_id: str
    creative_id: str
    timestamp: float
    value: float = 0.0
    user_key: int = 0
    price_micros: int = 0
    placement: int = 0
    first_price: bool = False
    context: tuple[int, ...] = ()
    match: float = 0.0
    focus: int = 0
    creative_rule: int = -1


class Control(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type", gc=False):
    """Base of human overrides. Every control message says who sent it and why; the
    engine keeps them in its audit log.

    Parameters
    ----------
    by : str
        Who issued the override (a person or a system).
    reason : str
        Why.
    timestamp : float
        When it was issued.
    """

    by: str
    reason: str
    timestamp: float


class PauseCampaign(Control, frozen=True, kw_only=True, gc=False):
    """Stop serving ``campaign_id`` from the next request on, until resumed."""

    campaign_id: str


class ResumeCampaign(Control, frozen=True, kw_only=True, gc=False):
    """Undo a :class:`PauseCampaign`."""

    campaign_id: str


class BlockDomain(Control, frozen=True, kw_only=True, gc=False):
    """Serve no ad of advertiser ``domain`` anywhere, from the next request on."""

    domain: str


class UnblockDomain(Control, frozen=True, kw_only=True, gc=False):
    """Undo a :class:`BlockDomain`."""

    domain: str


class BlockCategory(Control, frozen=True, kw_only=True, gc=False):
    """Serve no ad of IAB ``category`` (or its sub-categories) anywhere."""

    category: str


class UnblockCategory(Control, frozen=True, kw_only=True, gc=False):
    """Undo a :class:`BlockCategory`."""

    category: str


class ForceFloor(Control, frozen=True, kw_only=True, gc=False):
    """Every impression's floor is at least ``floor`` (CPM, in the catalog's currency,
    private deals included); 0 removes the forced floor."""

    floor: float


class CapBid(Control, frozen=True, kw_only=True, gc=False):
    """Campaign ``campaign_id`` bids at most ``max_bid`` (CPM, after pacing); None
    removes the cap."""

    campaign_id: str
    max_bid: float | None = None


class Tune(Control, frozen=True, kw_only=True, gc=False):
    """Set knob ``knob`` of agent ``agent`` to ``value`` from the next request on: a
    learning agent's learning rate or exploration (each agent's
    :attr:`~adcore.agents.Agent.knobs`, with the range it accepts). What a
    :class:`~adcore.supervisor.Supervisor` sends; people may send it too."""

    agent: str
    knob: str
    value: float


ControlMessage = (
    PauseCampaign
    | ResumeCampaign
    | BlockDomain
    | UnblockDomain
    | BlockCategory
    | UnblockCategory
    | ForceFloor
    | CapBid
    | Tune
)
"""Any control message."""


# ---------------------------------------------------------------------- checks at the edge
_FEEDBACK_KINDS: dict[type, str] = {
    Impression: "impression",
    Click: "click",
    Skip: "skip",
    Complete: "complete",
    Conversion: "conversion",
}


def _check_feedback(event: Any) -> str:
    """The kind of feedback ``event`` is (``Outcome.kind``), once its fields are checked.

    Raises
    ------
    InvalidEvent
        ``event`` is not a feedback event, or a field has the wrong type or is out of
        range (the exception names it).
    """
    kind = _FEEDBACK_KINDS.get(type(event))
    if kind is None:
        raise InvalidEvent(
            f"expected a feedback event (Impression, Click, Skip, Complete "
            f"or Conversion), got {type(event).__name__}",
            None,
        )
    if not isinstance(event.impression_id, str):
        raise InvalidEvent("impression_id must be a string", "impression_id")
    if not finite(event.timestamp):
        raise InvalidEvent("timestamp must be a finite number", "timestamp")
    if isinstance(event, Conversion) and not finite(event.value):
        raise InvalidEvent("value must be a finite number", "value")
    if isinstance(event, Skip) and event.after is not None:
        if not finite(event.after) or event.after < 0:
            raise InvalidEvent("after must be a finite number of seconds >= 0", "after")
    return kind


def _check_control(message: Any) -> None:
    """Check a control message's fields: who, why, when, and the target or amount its
    type declares.

    Raises
    ------
    InvalidEvent
        Not a control message, or a field has the wrong type or is out of range (the
        exception names it).
    """
    if not isinstance(message, Control):
        raise InvalidEvent(f"expected a control message, got {type(message).__name__}", None)
    for field in ("by", "reason"):
        if not isinstance(getattr(message, field), str) or not getattr(message, field):
            raise InvalidEvent(f"a control message needs a non-empty {field!r}", field)
    if not finite(message.timestamp):
        raise InvalidEvent("timestamp must be a finite number", "timestamp")
    for field in ("campaign_id", "domain", "category", "agent", "knob"):
        value = getattr(message, field, "")
        if not isinstance(value, str) or (hasattr(message, field) and not value):
            raise InvalidEvent(f"{field} must be a non-empty string", field)
    if isinstance(message, Tune) and not finite(message.value):
        raise InvalidEvent("value must be a finite number", "value")
    for field, optional in (("floor", False), ("max_bid", True)):
        if not hasattr(message, field):
            continue
        amount = getattr(message, field)
        if amount is None and optional:
            continue
        if not finite(amount) or amount < 0:
            raise InvalidEvent(f"{field} must be a finite number >= 0", field)
