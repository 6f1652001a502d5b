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

import numpy as np

from .._hashing import stable_key
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
        reasons: list[str] = []
        regs = request.regs
        device = request.device
        if regs is not None and regs.coppa:
            reasons.append("coppa")
        if device is not None and device.lmt:
            reasons.append("lmt")
        if device is not None and device.dnt:
            reasons.append("dnt")
        if regs is not None and regs.us_privacy:
            usp = regs.us_privacy
            if len(usp) == 4 and usp[2] in "Yy":
                reasons.append("us_privacy_opt_out")
        if _gdpr_applies(request):
            reasons.append("gdpr_no_verified_consent")
        ctx.consent_reasons = reasons
        personalise = not reasons
        ctx.personalise = personalise
        user = request.user
        if personalise and user is not None:
            uid = user.id or user.buyeruid or (device.ifa if device is not None else None)
            if uid:
                ctx.user_key = np.uint64(stable_key(uid))
            segs = ctx.snapshot.segments
            if len(segs):
                for data in user.data:
                    segs.fill(ctx.req_segments, (s.id for s in data.segment if s.id))
        snap = ctx.snapshot
        if not personalise and snap.any_personal:
            privacy_filter(
                ctx.reason,
                ctx.n_imp,
                snap.camp_ad_ptr,
                ctx.camp_code,
                snap.camp_personal,
                personalise,
            )

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        return {
            "personalise": int(ctx.personalise),
            "why_not": ",".join(ctx.consent_reasons) or "-",
        }
