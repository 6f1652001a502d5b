"""What a request's privacy signals allow: four activities and the reasons for refusals.

:func:`activities` turns the signals into four yes/no answers (``serve``,
``personalise``, ``precise_geo``, ``measure``) with machine-readable reason codes, in the
manner of Prebid Server's activity controls: personalisation stands for its
``syncUser``/``transmitUfpd``/``transmitEids`` activities, precise geolocation for
``transmitPreciseGeo``. The GPP US sections (US National and every state) are read by
one set of rules, after each section's fields are mapped onto the US National ones
(:class:`_USView`), as Prebid Server's US privacy module does for sections 7 to 12.
``docs/consent.md`` has the rule table.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import msgspec

from ._bits import InvalidConsent
from .gpp import GPP_SID_TCF_EU, GPP_SID_USNAT, GPP_SID_USP, GPPString, decode_gpp
from .states import PRECISE_GEO, USNational, USState
from .tcf import decode_tcf
from .usp import decode_usp

__all__ = ["Activities", "activities"]


class Activities(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What a request's privacy signals allow for one vendor.

    ``serve``: an ad may be chosen at all (contextually); ``personalise``: user ids,
    segments, interest vectors and frequency-cap storage may be used; ``precise_geo``:
    precise location may be used; ``measure``: ad performance may be measured.
    ``reasons`` lists machine-readable codes for every withheld activity, in rule order.
    """

    serve: bool
    personalise: bool
    precise_geo: bool
    measure: bool
    reasons: tuple[str, ...] = ()


# TCF v2.2 purposes: 1 store/access information on a device, 2 use limited data to select
# advertising, 3 create profiles for personalised advertising, 4 use profiles to select
# personalised advertising, 7 measure advertising performance. Special feature 1: use
# precise geolocation data.
_PERSONALISE_PURPOSES: Final = (1, 3, 4)
_BASIC_ADS: Final = 2
_MEASURE: Final = 7
_PRECISE_GEO_FEATURE: Final = 1
_ALL: Final = {"serve": True, "personalise": True, "geo": True, "measure": True}

# US sensitive-data categories (indices of SENSITIVE_CATEGORIES) that may not be used for
# advertising even with consent: genetic, biometric, government id numbers, account
# log-in, communications contents, status as a crime victim, transgender or nonbinary.
_NEVER_FOR_ADS: Final = frozenset({5, 6, 8, 9, 11, 13, 15})


class _Decision:
    __slots__ = ("geo", "measure", "personalise", "reasons", "serve")

    def __init__(self) -> None:
        self.serve = self.personalise = self.geo = self.measure = True
        self.reasons: list[str] = []

    def deny(
        self,
        reason: str,
        *,
        serve: bool = False,
        personalise: bool = False,
        geo: bool = False,
        measure: bool = False,
    ) -> None:
        self.serve &= not serve
        self.personalise &= not personalise
        self.geo &= not geo
        self.measure &= not measure
        if reason not in self.reasons:
            self.reasons.append(reason)


def _apply_tcf(d: _Decision, tc_string: str | None, vendor_id: int) -> None:
    if not tc_string:
        d.deny("gdpr_no_tc_string", personalise=True, geo=True, measure=True)
        return
    try:
        tc = decode_tcf(tc_string)
    except InvalidConsent:
        d.deny("tcf_malformed", personalise=True, geo=True, measure=True)
        return
    vendor_consent = vendor_id in tc.vendor_consents
    vendor_li = vendor_id in tc.vendor_legitimate_interests
    if not vendor_consent:
        d.deny("gdpr_no_vendor_consent", personalise=True, geo=True)
    # Serving at all: purpose 2 on consent or legitimate interest, for the vendor.
    basic = tc.restricted(_BASIC_ADS, vendor_id)
    by_consent = _BASIC_ADS in tc.purpose_consents and vendor_consent and 2 not in basic
    by_li = _BASIC_ADS in tc.purpose_legitimate_interests and vendor_li and 1 not in basic
    if 0 in basic:
        d.deny("gdpr_publisher_restriction_purpose_2", **_ALL)
    elif not (by_consent or by_li):
        d.deny("gdpr_no_basis_purpose_2", **_ALL)
    for purpose in _PERSONALISE_PURPOSES:
        if purpose not in tc.purpose_consents:
            d.deny(f"gdpr_no_consent_purpose_{purpose}", personalise=True)
        # Type 0 forbids the purpose; type 2 demands legitimate interest, which TCF v2.2
        # does not allow for these purposes: either way consent cannot be used.
        if tc.restricted(purpose, vendor_id) & {0, 2}:
            d.deny(f"gdpr_publisher_restriction_purpose_{purpose}", personalise=True)
    if _PRECISE_GEO_FEATURE not in tc.special_feature_opt_ins:
        d.deny("gdpr_no_special_feature_1", geo=True)
    measure_r = tc.restricted(_MEASURE, vendor_id)
    m_consent = _MEASURE in tc.purpose_consents and vendor_consent and 2 not in measure_r
    m_li = _MEASURE in tc.purpose_legitimate_interests and vendor_li and 1 not in measure_r
    if 0 in measure_r or not (m_consent or m_li):
        d.deny("gdpr_no_basis_purpose_7", measure=True)


def _apply_usp(d: _Decision, us_privacy: str, prefix: str) -> None:
    try:
        usp = decode_usp(us_privacy)
    except InvalidConsent:
        d.deny(f"{prefix}_malformed", personalise=True)
        return
    if usp.opt_out:
        d.deny(f"{prefix}_opt_out", personalise=True)


class _USView(NamedTuple):
    """One US section's signals in US National terms (None: the section has no such
    field)."""

    processing_notice: int | None
    sale: tuple[int | None, int | None]  # (notice, opt-out)
    sharing: tuple[int | None, int | None]
    targeted: tuple[int | None, int | None]
    sensitive_notices: tuple[int | None, ...]
    sensitive: dict[int, int]  # SENSITIVE_CATEGORIES index -> 0, 1 or 2
    known_child: bool
    personal_data_consents: int | None
    service_provider_mode: bool
    gpc: bool


def _national_view(nat: USNational) -> _USView:
    child = nat.known_child_sensitive_data_consents + (0,) * 3
    return _USView(
        processing_notice=nat.sharing_notice,
        sale=(nat.sale_opt_out_notice, nat.sale_opt_out),
        sharing=(nat.sharing_opt_out_notice, nat.sharing_opt_out),
        targeted=(nat.targeted_advertising_opt_out_notice, nat.targeted_advertising_opt_out),
        sensitive_notices=(
            nat.sensitive_data_processing_opt_out_notice,
            nat.sensitive_data_limit_use_notice,
        ),
        sensitive=dict(enumerate(nat.sensitive_data_processing)),
        # Ages 13-16 and 16-17 without consent, or a child under 13 at all (COPPA).
        known_child=child[0] == 1 or child[1] != 0 or child[2] == 1,
        personal_data_consents=nat.personal_data_consents,
        service_provider_mode=nat.mspa_service_provider_mode == 1,
        gpc=bool(nat.gpc),
    )


def _state_view(st: USState) -> _USView:
    notice = st.sharing_notice if st.sharing_notice is not None else st.processing_notice
    personal = st.personal_data_consents
    if personal is None:
        personal = st.additional_data_processing_consent
    return _USView(
        processing_notice=notice,
        sale=(st.sale_opt_out_notice, st.sale_opt_out),
        sharing=(st.sharing_opt_out_notice, st.sharing_opt_out),
        targeted=(st.targeted_advertising_opt_out_notice, st.targeted_advertising_opt_out),
        sensitive_notices=(
            st.sensitive_data_processing_opt_out_notice,
            st.sensitive_data_limit_use_notice,
        ),
        sensitive=st.sensitive_categories(),
        # A state's known-child fields mix ages and activities: any value but "not
        # applicable" means a known child or teen, and withholds personal activities.
        known_child=any(st.known_child_sensitive_data_consents or ()),
        personal_data_consents=personal,
        service_provider_mode=st.mspa_service_provider_mode == 1 or st.mspa_mode == 2,
        gpc=bool(st.gpc),
    )


def _unnoticed(notice_and_opt_out: tuple[int | None, int | None]) -> bool:
    """Notice not given (2), or "not applicable" (0) while an opt-out choice of "did not
    opt out" (2) is recorded: the string contradicts itself."""
    notice, opt_out = notice_and_opt_out
    return notice == 2 or (notice == 0 and opt_out == 2)


def _apply_us(d: _Decision, v: _USView) -> None:
    """The rules of one applicable US section (docs/consent.md, "The US sections' rules"):
    Prebid Server's ``transmitUfpd`` rules withhold personalisation, its
    ``transmitPreciseGeo`` rules precise geolocation."""
    if v.service_provider_mode:
        d.deny("gpp_mspa_service_provider_mode", personalise=True, geo=True)
    if v.gpc:
        d.deny("gpp_gpc", personalise=True, geo=True)
    if v.processing_notice == 2 or (v.processing_notice == 0 and v.sharing[1] == 2):
        d.deny("gpp_no_processing_notice", personalise=True)
    for name, pair in (("sale", v.sale), ("sharing", v.sharing), ("targeting", v.targeted)):
        if pair[1] == 1:
            d.deny(f"gpp_{name}_opt_out", personalise=True)
        if _unnoticed(pair):
            d.deny(f"gpp_no_{name}_notice", personalise=True)
    if 2 in v.sensitive_notices:
        d.deny("gpp_no_sensitive_data_notice", personalise=True, geo=True)
    not_applicable = 0 in v.sensitive_notices
    other = {c: value for c, value in v.sensitive.items() if c != PRECISE_GEO}
    if 1 in other.values():
        d.deny("gpp_sensitive_data_refused", personalise=True)
    if (not_applicable and 2 in other.values()) or any(other.get(c) == 2 for c in _NEVER_FOR_ADS):
        d.deny("gpp_sensitive_data_not_allowed", personalise=True)
    if v.known_child:
        d.deny("gpp_known_child", personalise=True, geo=True)
    if v.personal_data_consents == 2:
        d.deny("gpp_personal_data_consents", personalise=True, geo=True)
    geo = v.sensitive.get(PRECISE_GEO, 0)
    if geo == 1 or (geo == 2 and not_applicable):
        d.deny("gpp_no_precise_geo_consent", geo=True)


def activities(
    *,
    gdpr: int | None,
    tc_string: str | None,
    us_privacy: str | None,
    gpp: str | None,
    gpp_sid: tuple[int, ...] = (),
    coppa: int | None,
    lmt: int | None,
    dnt: int | None,
    vendor_id: int,
) -> Activities:
    """Decide what may be done for ``vendor_id`` under a request's privacy signals.

    Parameters
    ----------
    gdpr : int or None
        OpenRTB ``regs.gdpr``: 1 GDPR applies, 0 it does not, None unknown (applies when
        a TC string is present or the GPP applicable sections include TCF EU, id 2).
    tc_string : str or None
        OpenRTB ``user.consent``: the TC string.
    us_privacy : str or None
        OpenRTB ``regs.us_privacy``.
    gpp : str or None
        OpenRTB ``regs.gpp``.
    gpp_sid : tuple of int
        OpenRTB ``regs.gpp_sid``: the sections that apply; empty means every section of
        the string applies.
    coppa, lmt, dnt : int or None
        ``regs.coppa``, ``device.lmt``, ``device.dnt``: 1 is on.
    vendor_id : int
        The vendor (GVL id) whose consent is checked.

    Returns
    -------
    Activities
        See ``docs/consent.md`` for the rule table. ``serve`` is False only when a valid
        TC string refuses purpose 2 ("use limited data to select advertising") for the
        vendor on both legal bases, or the publisher flatly restricts it: a missing or
        malformed string withholds every personal activity but still lets a contextual
        ad (no personal data) be chosen. An empty string is "not specified" for each of
        ``tc_string``, ``us_privacy`` and ``gpp``, the same as None.

    Notes
    -----
    Never raises. The work is linear in the strings' total length: each is decoded at
    most once (twice for a TC string carried in the GPP string), see
    :func:`~adcore.consent.decoding_work`.

    Examples
    --------
    >>> a = activities(gdpr=0, tc_string=None, us_privacy="1YYN", gpp=None, coppa=0,
    ...                lmt=0, dnt=0, vendor_id=1)
    >>> a.serve, a.personalise, a.precise_geo, a.reasons
    (True, False, True, ('usp_opt_out',))
    >>> activities(gdpr=1, tc_string="not a tc string!", us_privacy=None, gpp=None,
    ...            coppa=None, lmt=None, dnt=None, vendor_id=1).reasons
    ('tcf_malformed',)
    """
    tc_string, us_privacy, gpp = tc_string or None, us_privacy or None, gpp or None
    d = _Decision()
    if coppa == 1:
        d.deny("coppa", personalise=True, geo=True)
    if lmt == 1:
        d.deny("lmt", personalise=True)
    if dnt == 1:
        d.deny("dnt", personalise=True)

    parsed: GPPString | None = None
    applicable: frozenset[int] = frozenset()
    if gpp is not None:
        try:
            parsed = decode_gpp(gpp)
        except InvalidConsent:
            d.deny("gpp_malformed", personalise=True, geo=True)
        else:
            applicable = frozenset(gpp_sid or parsed.section_ids)

    if parsed is not None and tc_string is None and GPP_SID_TCF_EU in applicable:
        tc_string = parsed.section(GPP_SID_TCF_EU) or None
        if gdpr is None:
            gdpr = 1
    if gdpr == 1 or (gdpr is None and tc_string):
        _apply_tcf(d, tc_string, vendor_id)

    if us_privacy is not None:
        _apply_usp(d, us_privacy, "usp")
    elif parsed is not None and GPP_SID_USP in applicable:
        text = parsed.section(GPP_SID_USP)
        if text:
            _apply_usp(d, text, "gpp_usp")

    if parsed is not None:
        if parsed.usnat is not None and GPP_SID_USNAT in applicable:
            _apply_us(d, _national_view(parsed.usnat))
        for state in parsed.states:
            if state.section_id in applicable:
                _apply_us(d, _state_view(state))

    return Activities(
        serve=d.serve,
        personalise=d.personalise and d.serve,
        precise_geo=d.geo and d.serve,
        measure=d.measure and d.serve,
        reasons=tuple(d.reasons),
    )
