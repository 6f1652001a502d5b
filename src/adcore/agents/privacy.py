"""The privacy agent: what this request allows, and which personal signals survive.

The request's privacy signals (GDPR with its IAB TCF v2.2 consent string, US Privacy,
GPP with its US National and US state sections, COPPA, limit-ad-tracking, do-not-track)
are decoded by :mod:`adcore.consent` and turned into the activities allowed for the
deployment's vendor id (the agent's ``vendor_id``, by default ``EngineConfig.vendor_id``),
in the manner of Prebid Server's activity controls: serve at all, personalise (user key
for frequency caps, audience segments, the interest built from them), precise
geolocation, measurement. Only when
personalisation is allowed do the user's key and segments pass; otherwise campaigns that
need personal data (segment targeting) are vetoed with ``PRIVACY``. When nothing may be
served every ad is vetoed. A malformed consent string means no consent for what it
governs (fail closed), with its reason code in the trace; decoding never raises here.
Without ``vendor_id`` no GDPR request is personalised. An empty consent string is no
consent string ("not specified"), wherever it is.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from .._hashing import cached_key
from .._kernels.filters import privacy_filter, veto_all
from .._kernels.reasons import PRIVACY
from ..catalog import CatalogSnapshot
from ..consent import Activities, activities
from ..context import Context
from .base import Agent, Services

__all__ = ["PrivacyAgent"]


def _gdpr_flag(regs: Any) -> int | None:
    if regs.gdpr is not None:
        return int(regs.gdpr)
    ext = regs.ext
    if isinstance(ext, dict) and ext.get("gdpr") is not None:
        try:
            return 1 if int(ext["gdpr"]) else 0
        except (TypeError, ValueError, OverflowError):
            return 1  # an unreadable flag (text, infinity, NaN): assume GDPR applies (fail closed)
    return None


def _gdpr_applies(request: Any) -> bool:
    regs = request.regs
    return regs is not None and bool(_gdpr_flag(regs))


@functools.lru_cache(maxsize=4096)
def _allowed(
    gdpr: int | None,
    tc_string: str | None,
    us_privacy: str | None,
    gpp: str | None,
    gpp_sid: tuple[int, ...],
    coppa: int | None,
    lmt: int | None,
    dnt: int | None,
    vendor_id: int,
) -> Activities:
    return activities(
        gdpr=gdpr,
        tc_string=tc_string,
        us_privacy=us_privacy,
        gpp=gpp,
        gpp_sid=gpp_sid,
        coppa=coppa,
        lmt=lmt,
        dnt=dnt,
        vendor_id=vendor_id,
    )


_EVERYTHING = Activities(serve=True, personalise=True, precise_geo=True, measure=True, reasons=())
# Signals longer than this (characters of the three strings plus GPP section ids) are
# decided afresh on each request, in time linear in their length, so that the cache above
# holds short keys only (real consent strings are well below it).
_CACHED_SIGNALS = 8192


def request_activities(request: Any, vendor_id: int | None) -> Activities:
    """The activities ``request`` allows for ``vendor_id`` (None: no GVL id, so no
    personalisation under GDPR). Requests without any privacy signal allow everything
    without decoding anything; the others are decided once per distinct combination of
    signals (cached, unless the strings are unusually long)."""
    regs = request.regs
    device = request.device
    user = request.user
    tc = user.consent if user is not None else None
    if not tc and user is not None and isinstance(user.ext, dict):
        raw = user.ext.get("consent")
        tc = raw if isinstance(raw, str) else None
    lmt = device.lmt if device is not None else None
    dnt = device.dnt if device is not None else None
    if regs is None and not tc and not lmt and not dnt:
        return _EVERYTHING
    gdpr = _gdpr_flag(regs) if regs is not None else None
    if regs is not None:
        us_privacy, gpp, sid, coppa = regs.us_privacy, regs.gpp, tuple(regs.gpp_sid), regs.coppa
    else:
        us_privacy, gpp, sid, coppa = None, None, (), None
    if not (gdpr or tc or us_privacy or gpp or coppa or lmt or dnt):
        return _EVERYTHING
    if len(tc or "") + len(us_privacy or "") + len(gpp or "") + len(sid) > _CACHED_SIGNALS:
        return activities(
            gdpr=gdpr,
            tc_string=tc,
            us_privacy=us_privacy,
            gpp=gpp,
            gpp_sid=sid,
            coppa=coppa,
            lmt=lmt,
            dnt=dnt,
            vendor_id=vendor_id or 0,
        )
    return _allowed(gdpr, tc, us_privacy, gpp, sid, coppa, lmt, dnt, vendor_id or 0)


class _PrivacyState:
    def __init__(self, vendor_id: int | None) -> None:
        self.vendor_id = vendor_id


class PrivacyAgent(Agent):
    """Decides what the request allows and lets personal signals through only then.

    Takes, keyword-only, the :class:`~adcore.EngineConfig` fields it uses, named like
    them: None (the default) takes the engine's value; any other value is checked by
    EngineConfig's rules (:class:`~adcore.InvalidConfig` naming the field) and replaces
    the engine's for this agent.

    Parameters
    ----------
    vendor_id : int, optional
        The IAB Global Vendor List id whose consent the agent looks for
        (``EngineConfig.vendor_id``, 1 to 65535). None takes the engine's, so an agent
        cannot take away a vendor id the engine's configuration gives.

    Examples
    --------
    >>> PrivacyAgent(vendor_id=755)
    PrivacyAgent(vendor_id=755)
    """

    name: ClassVar[str] = "privacy"
    reads: ClassVar[frozenset[str]] = frozenset({"request"})
    writes: ClassVar[frozenset[str]] = frozenset({"consent", "reason"})
    parameters: ClassVar[tuple[str, ...]] = ("vendor_id",)

    vendor_id: int | None = None

    def __init__(self, *, vendor_id: int | None = None) -> None:
        self._set_parameters(vendor_id=vendor_id)

    def bind(self, snapshot: CatalogSnapshot, previous: Any, services: Services) -> Any:
        return _PrivacyState(self.settings(services.config).vendor_id)

    def run(self, ctx: Context, state: Any) -> None:
        request = ctx.request
        allowed = request_activities(request, state.vendor_id if state is not None else None)
        ctx.activities = allowed
        snap = ctx.snapshot
        if not allowed.serve:
            ctx.consent_reasons = list(allowed.reasons)
            ctx.personalise = False
            veto_all(ctx.reason, ctx.n_imp, PRIVACY)
            return
        if not allowed.personalise:
            ctx.consent_reasons = list(allowed.reasons)
            ctx.personalise = False
            if snap.any_personal:
                privacy_filter(
                    ctx.reason,
                    ctx.n_imp,
                    snap.camp_ad_ptr,
                    ctx.camp_code,
                    snap.camp_personal,
                    False,
                )
            return
        ctx.personalise = True
        user = request.user
        device = request.device
        if user is not None:
            uid = user.id or user.buyeruid or (device.ifa if device is not None else None)
            if uid:
                ctx.user_key = cached_key(uid)
            if user.data and len(snap.segments):
                ids = tuple(s.id for d in user.data for s in d.segment if s.id)
                for w, value in snap.segments.words_of(ids):
                    ctx.req_segments[w] = value

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        allowed = ctx.activities
        return {
            "serve": int(allowed.serve),
            "personalise": int(ctx.personalise),
            "precise_geo": int(allowed.precise_geo),
            "measure": int(allowed.measure),
            "why_not": ",".join(ctx.consent_reasons) or "-",
        }
