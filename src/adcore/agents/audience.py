"""The audience agent: who is listening, and which campaigns target them.

- Targeting: flight dates, country, device type, daypart (local hour), content
  categories and (with consent) audience segments; non-matching campaigns are vetoed
  with ``FLIGHT`` or ``TARGETING``.
- Interest: the listener's interest vector, the normalised sum of the catalog's signal
  vectors present in the request (``cat:``, ``genre:``, ``kw:`` and, with consent,
  ``seg:`` signals).
- Focus state: ``high`` for spoken-word listening (podcasts, talk, news; audio feed
  type 3), ``background`` for music streams and broadcast radio, ``normal`` for other
  video or display, ``unknown`` otherwise.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .._kernels import creative as _focus
from .._kernels.filters import audience_pass
from ..context import MAX_TOKENS, Context
from .base import Agent, KernelStep

__all__ = ["FOCUS_NAMES", "AudienceAgent", "focus_state"]

FOCUS_UNKNOWN: int = _focus.FOCUS_UNKNOWN
FOCUS_HIGH: int = _focus.FOCUS_HIGH
FOCUS_BACKGROUND: int = _focus.FOCUS_BACKGROUND
FOCUS_NORMAL: int = _focus.FOCUS_NORMAL

FOCUS_NAMES = {
    FOCUS_UNKNOWN: "unknown",
    FOCUS_HIGH: "high",
    FOCUS_BACKGROUND: "background",
    FOCUS_NORMAL: "normal",
}

_HIGH_FOCUS_WORDS = ("podcast", "talk", "news", "spoken", "audiobook", "comedy", "interview")
_MUSIC_CONTEXT = 3  # OpenRTB content.context: music


_SPOKEN: dict[str, bool] = {}


def _spoken(genre: str) -> bool:
    """Whether a genre is spoken word (cached: genres repeat)."""
    hit = _SPOKEN.get(genre)
    if hit is None:
        low = genre.lower()
        hit = any(w in low for w in _HIGH_FOCUS_WORDS)
        if len(_SPOKEN) < 10_000:
            _SPOKEN[genre] = hit
    return hit


def focus_state(request: Any) -> int:
    """The listener's focus state from the request (see the module docstring)."""
    imp = request.imp[0]
    where = request.site if request.site is not None else request.app
    content = where.content if where is not None else None
    genre = (content.genre or "") if content is not None else ""
    spoken = _spoken(genre) if genre else False
    if imp.audio is not None:
        feed = imp.audio.feed
        if feed == 3 or spoken:
            return FOCUS_HIGH
        if feed in (1, 2) or (content is not None and content.context == _MUSIC_CONTEXT):
            return FOCUS_BACKGROUND
        return FOCUS_BACKGROUND if genre else FOCUS_UNKNOWN
    if spoken:
        return FOCUS_HIGH
    if content is not None and content.context == _MUSIC_CONTEXT:
        return FOCUS_BACKGROUND
    if imp.video is not None or imp.banner is not None:
        return FOCUS_NORMAL
    return FOCUS_UNKNOWN


def _keywords(text: str | None) -> list[str]:
    if not text:
        return []
    return [k.strip().lower() for k in text.split(",") if k.strip()]


def prepare_signals(ctx: Context, state: Any) -> None:
    """The Python side of the audience step: the focus state and the signal tokens."""
    snap = ctx.snapshot
    request = ctx.request
    ctx.focus = focus_state(request)
    # Category and segment signals come from the request's bitsets inside the kernel
    # (segments are there only with consent); genre and keywords are tokens.
    rows = snap.signal_rows
    n = 0
    if rows:
        where = request.site if request.site is not None else request.app
        if where is not None:
            found: list[int] = []
            content = where.content
            by = rows.get("genre")
            if by and content is not None and content.genre:
                r = by.get(content.genre.lower())
                if r is not None:
                    found.append(r)
            by = rows.get("kw")
            if by:
                words = _keywords(where.keywords)
                if content is not None:
                    words += _keywords(content.keywords)
                found += [r for r in map(by.get, words) if r is not None]
            n = min(len(found), MAX_TOKENS)
            tokens = ctx.tokens
            for t in range(n):  # a few items: cheaper than a slice assignment
                tokens[t] = found[t]
    ctx.n_tokens = n


class AudienceAgent(Agent):
    """Targeting veto, interest vector and focus state.

    It reads no :class:`~adcore.EngineConfig` field, so its constructor takes no
    arguments.
    """

    name: ClassVar[str] = "audience"
    reads: ClassVar[frozenset[str]] = frozenset({"request", "features", "consent"})
    writes: ClassVar[frozenset[str]] = frozenset({"interest", "reason"})
    step: ClassVar[KernelStep] = KernelStep(
        audience_pass,
        (
            "ctx.reason",
            "ctx.n_imp",
            "snap.camp_ad_ptr",
            "ctx.camp_code",
            "snap.camp_start",
            "snap.camp_end",
            "ctx.now",
            "snap.camp_countries",
            "ctx.req_country",
            "snap.camp_devtypes",
            "ctx.req_devtype",
            "snap.camp_hours",
            "ctx.req_hour",
            "snap.camp_content",
            "ctx.req_content",
            "snap.camp_segments",
            "ctx.req_segments",
            "ctx.interest",
            "ctx.tokens",
            "ctx.n_tokens",
            "snap.signal_vectors",
            "snap.cat_signal",
            "snap.seg_signal",
        ),
        returns=("has_interest",),
        prepare=prepare_signals,
    )

    def notes(self, ctx: Context, state: Any) -> dict[str, float | int | str]:
        return {
            "focus": FOCUS_NAMES[ctx.focus],
            "signals_used": ctx.n_tokens,
            "interest_known": int(ctx.has_interest),
        }
