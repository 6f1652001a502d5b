"""What the engine returns: a :class:`Decision` per request, with an optional
:class:`Trace` of every agent's contribution, and its OpenRTB form."""

from __future__ import annotations

import enum

import msgspec

from . import openrtb
from ._kernels import reasons as _R

__all__ = [
    "AgentTrace",
    "CandidateTrace",
    "Decision",
    "PodSearch",
    "Reason",
    "SlotDecision",
    "Trace",
]


class Reason(enum.IntEnum):
    """Why a candidate ad was not eligible. A higher value takes precedence: when several
    agents veto the same ad, the trace reports the highest (human overrides first, then
    privacy, fraud, brand safety, targeting, inventory fit). Within one agent's checks,
    the first that fails is reported (e.g. FLIGHT before TARGETING, FORMAT before SIZE)."""

    OK = _R.OK
    CURRENCY = _R.CURRENCY
    FORMAT = _R.FORMAT
    SIZE = _R.SIZE
    DURATION = _R.DURATION
    MIME = _R.MIME
    PROTOCOL = _R.PROTOCOL
    DEAL = _R.DEAL
    FLIGHT = _R.FLIGHT
    TARGETING = _R.TARGETING
    FREQUENCY_CAP = _R.FREQUENCY_CAP
    EXCLUDED_CONTENT = _R.EXCLUDED_CONTENT
    BLOCKED_ADVERTISER = _R.BLOCKED_ADVERTISER
    BLOCKED_CATEGORY = _R.BLOCKED_CATEGORY
    FRAUD = _R.FRAUD
    PRIVACY = _R.PRIVACY
    OVERRIDE = _R.OVERRIDE


class SlotDecision(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The outcome for one impression of the request.

    Parameters
    ----------
    imp_id : str
        ``imp.id`` of the request.
    impression_id : str or None
        The id feedback events must carry for this ad (also ``Bid.id`` in the response);
        None when nothing won.
    ad_id, campaign_id, creative_id : str or None
    bid : float
        The winner's effective bid (after pacing and budget caps), CPM.
    price : float
        The clearing price, CPM (what the ad server should charge and report).
    price_micros : int
        The price of this one impression in micro-units; the amount held on the
        campaign's budget until the impression is reported.
    propensity : float
        The probability the engine's policy had of choosing this ad (1.0 without
        exploration), for off-policy evaluation.
    adomain, categories : tuple of str
    mtype : int or None
        OpenRTB markup type (1 banner, 2 video, 3 audio).
    duration : float
        The creative's duration in seconds (0 for display).
    protocol : int or None
        The protocol to serve the creative's markup as (OpenRTB ``Bid.protocol``): the
        highest-numbered one the creative declares that the impression's media object
        accepts (any declared one when the impression lists none); None when the
        creative declares none.
    slot_in_pod : int
        The ad's position in an ad pod, from 1; 0 outside pods. A pod has one
        SlotDecision per ad, all with the pod impression's ``imp_id``.
    """

    imp_id: str
    impression_id: str | None = None
    ad_id: str | None = None
    campaign_id: str | None = None
    creative_id: str | None = None
    bid: float = 0.0
    price: float = 0.0
    price_micros: int = 0
    propensity: float = 0.0
    adomain: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    mtype: int | None = None
    duration: float = 0.0
    protocol: int | None = None
    slot_in_pod: int = 0

    @property
    def filled(self) -> bool:
        """True when an ad won this impression."""
        return self.ad_id is not None


class CandidateTrace(msgspec.Struct, frozen=True, kw_only=True):
    """How one candidate fared for one impression: the winner and the runner-up."""

    ad_id: str
    campaign_id: str
    score: float
    value: float
    bid: float
    multiplier: float
    effective: float
    floor: float
    creative_id: str | None


class AgentTrace(msgspec.Struct, frozen=True, kw_only=True):
    """One agent's part in a decision.

    Parameters
    ----------
    agent : str
    skipped : bool
        True when the latency budget was at risk and the agent's safe fallback ran instead.
    elapsed_us : float
    filtered : dict of str to int
        Candidates (impression x ad) this agent made ineligible, by reason name.
    notes : dict of str to float, int or str
        What the agent decided or changed (e.g. ``personalise``, ``fraud_score``,
        ``focus``, ``campaigns_damped``).
    """

    agent: str
    skipped: bool
    elapsed_us: float
    filtered: dict[str, int]
    notes: dict[str, float | int | str]


class PodSearch(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """How the ads of one pod impression were chosen and priced.

    Parameters
    ----------
    method : str
        ``"exact"``: the search for the most valuable pod ended within its node budget
        (``EngineConfig.pod_node_budget``), so the pod is the optimum; ``"budgeted"``: it
        ran out, and the pod is the best one found or a greedy one, whichever is worth
        more.
    nodes : int
        Nodes explored by all the impression's searches: the fill and, with second
        prices, one per winner.
    gap : float
        An upper bound on how much more the optimal pod is worth than the pod chosen
        (sum of effective bids, CPM); 0.0 when exact.
    prices : str
        ``"exact"``: every winner's VCG price search ended within its budget;
        ``"budgeted"``: one ran out, so some price may lie below the VCG payment (never
        below the ad's floor); ``"bids"``: first price, no search.
    """

    method: str
    nodes: int
    gap: float
    prices: str


class Trace(msgspec.Struct, frozen=True, kw_only=True):
    """Agent by agent, how a decision came about.

    ``eligible`` gives, per impression, how many ads were still eligible after all
    filters; ``winners`` and ``runners_up`` per impression the candidates' numbers;
    ``dropped`` the out-of-range optional request values the engine ignored (one note
    each, naming the field: :func:`adcore.openrtb.tolerate`); ``pods`` per impression
    how its ad pod was searched (None for an impression that is not a pod, or whose pod
    had no candidate). ``segments`` lists the plan's compiled segments (the agents whose
    kernel steps run in one compiled call when untraced, in order); the other agents of
    ``plan`` run in Python between them.
    """

    plan: tuple[str, ...]
    agents: tuple[AgentTrace, ...]
    eligible: tuple[int, ...]
    winners: tuple[CandidateTrace | None, ...]
    runners_up: tuple[CandidateTrace | None, ...]
    total_us: float
    dropped: tuple[str, ...] = ()
    pods: tuple[PodSearch | None, ...] = ()
    segments: tuple[tuple[str, ...], ...] = ()


class Decision(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The engine's answer to one bid request.

    Parameters
    ----------
    request_id : str
    timestamp : float
        The decision time (seconds since the epoch, or simulated seconds).
    slots : tuple of SlotDecision
        One per impression of the request, in request order; an ad pod's impression has
        one per ad in the pod, in pod order (or one unfilled slot when nothing fits).
    currency : str
    trace : Trace or None
        Present when tracing was on.
    """

    request_id: str
    timestamp: float
    slots: tuple[SlotDecision, ...]
    currency: str = "USD"
    trace: Trace | None = None

    @property
    def winners(self) -> tuple[SlotDecision, ...]:
        """The slots that an ad won."""
        return tuple(s for s in self.slots if s.ad_id is not None)

    def to_bid_response(self, *, seat: str | None = None) -> openrtb.BidResponse:
        """The OpenRTB 2.6 bid response for this decision.

        One seat bid holds a bid per filled impression (``Bid.id`` is the impression id
        to report back in feedback). With nothing filled, the response has no seat bids
        and ``nbr`` 0 ("unknown error" is not claimed; 0 is the spec's generic no-bid).

        Examples
        --------
        >>> d = Decision(request_id="r1", timestamp=0.0, slots=(SlotDecision(imp_id="1"),))
        >>> d.to_bid_response().seatbid
        ()
        """
        bids = tuple(
            openrtb.Bid(
                id=s.impression_id or s.imp_id,
                impid=s.imp_id,
                price=s.price,
                adid=s.ad_id,
                crid=s.creative_id,
                cid=s.campaign_id,
                adomain=s.adomain,
                cat=s.categories,
                mtype=s.mtype,
                dur=int(round(s.duration)) if s.duration else None,
                protocol=s.protocol,
            )
            for s in self.slots
            if s.ad_id is not None
        )
        if not bids:
            return openrtb.BidResponse(id=self.request_id, cur=self.currency, nbr=0)
        return openrtb.BidResponse(
            id=self.request_id,
            cur=self.currency,
            seatbid=(openrtb.SeatBid(bid=bids, seat=seat),),
        )
