"""The privacy agent: may this request be personalised, and which personal signals
survive.

From the request's regulation signals it decides whether user-level data may be used:
not under COPPA, not with limit-ad-tracking or do-not-track, not after a US Privacy
opt-out of sale (``1-Y-``), and under GDPR (``regs.gdpr`` = 1) not without a consent
string. Only when personalisation is allowed does it pass on the user's key (for
frequency caps) and audience segments; otherwise campaigns that need personal data
(segment targeting) are vetoed with ``PRIVACY``.

Full decoding of TCF v2.2 consent strings and GPP is not done here: any GDPR request is
treated as not consented (fail closed), whatever its consent string says.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .._hashing import cached_key
from .._kernels.filters import privacy_filter
from ..context import Context
from .base import Agent

__all__ = ["PrivacyAgent"]


def _gdpr_applies(request: Any) -> bool:
    regs = request.regs
    if regs is None:
        return False
    if regs.gdpr is not None:
        return bool(regs.gdpr)
    ext = regs.ext or {}
    return bool(ext.get("gdpr", 0)) if isinstance(ext, dict) else False


class PrivacyAgent(Agent):
    """Decides ``personalise`` and lets personal signals through only when allowed."""

    name: ClassVar[str] = "privacy"
    reads: ClassVar[frozenset[str]] = frozenset({"request"})
    writes: ClassVar[frozenset[str]] = frozenset({"consent", "reason"})

    def run(self, ctx: Context, state: Any) -> None:
        request = ctx.request
        regs = request.regs
        device = request.device
        reasons: list[str] | None = None
        if regs is not None:
            if regs.coppa:
                reasons = ["coppa"]
            usp = regs.us_privacy
            if usp and len(usp) == 4 and usp[2] in "Yy":
                reasons = [*(reasons or ()), "us_privacy_opt_out"]
            if _gdpr_applies(request):
                reasons = [*(reasons or ()), "gdpr_no_verified_consent"]
        if device is not None and (device.lmt or device.dnt):
            reasons = [
                *(reasons or ()),
                *(["lmt"] if device.lmt else []),
                *(["dnt"] if device.dnt else []),
            ]
        snap = ctx.snapshot
        if reasons:
            ctx.consent_reasons = reasons
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
        if user is not None:
            uid = user.id or user.buyeruid or (device.ifa if device is not None else None)
            if uid:
                ctx.user_key = cached_key(uid)
            if user.data and len(snap.segments):
                ids = tuple(s.id for d in user.data for s in d.segment if s.id)
                for w, value in snap.segments.words_of(ids):
                    ctx.req_segments[w] = value

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        return {
            "personalise": int(ctx.personalise),
            "why_not": ",".join(ctx.consent_reasons) or "-",
        }
