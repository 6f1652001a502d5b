"""Consent strings decoded: IAB TCF v2.2 TC strings, US Privacy strings and GPP strings,
and the activities they allow.

``decode_tcf`` reads every segment of a Transparency and Consent string [1]_ (core,
disclosed vendors, allowed vendors, publisher TC), ``decode_usp`` a four-character US
Privacy (CCPA) string [2]_, ``decode_gpp`` a Global Privacy Platform string [3]_: its
header and every US section it carries, US National (section id 7, ``usnat``) [4]_ and
the US states (ids 8 to 27) [5]_. Each returns a frozen :class:`msgspec.Struct`; each
raises :class:`InvalidConsent` (whose ``field`` names the part that failed, e.g.
``"tcf.vendor_consents"``) on malformed input, and no other exception for any ``str``.
Decoding is pure, linear in the string's length (see :func:`decoding_work`) and cached
per string.

:func:`activities` turns the request's privacy signals into four yes/no answers
(``serve``, ``personalise``, ``precise_geo``, ``measure``) with machine-readable reason
codes, in the manner of Prebid Server's activity controls. It never raises: a malformed
string withholds what it governs (fail closed). :func:`truncate_ip` coarsens an address
for logs and traces.

References
----------
.. [1] IAB Tech Lab, "Transparency and Consent String with Global Vendor List Format"
   (TCF v2.2), https://github.com/InteractiveAdvertisingBureau/GDPR-Transparency-and-Consent-Framework
.. [2] IAB Tech Lab, "U.S. Privacy String" v1.0,
   https://github.com/InteractiveAdvertisingBureau/USPrivacy
.. [3] IAB Tech Lab, "Global Privacy Platform String" v1.0, Core/Consent String
   Specification.md, https://github.com/InteractiveAdvertisingBureau/Global-Privacy-Platform
.. [4] IAB Privacy, "MSPA US National Technical Specification" (versions 1 and 2),
   same repository, Sections/US-National.
.. [5] IAB Privacy, the state technical specifications, same repository, Sections/US-States.

Examples
--------
>>> from adcore.consent import decode_tcf, decode_usp, decode_gpp
>>> tc = decode_tcf("COyiILmOyiILmADACHENAPCAAAAAAAAAAAAAE5QBgALgAqgD8AQACSwEygJyAAAAAA")
>>> tc.cmp_id, tc.consent_language, 42 in tc.vendor_consents, 43 in tc.vendor_consents
(3, 'EN', True, False)
>>> decode_usp("1YYN").opt_out
True
>>> iowa = decode_gpp("DBABCw~BVVkklWA.YA").state(18)
>>> iowa.state, iowa.sale_opt_out, iowa.targeted_advertising_opt_out
('Iowa', 1, 1)
"""

from ._bits import MAX_LENGTH, InvalidConsent, decoding_work
from .gpp import GPP_SID_TCF_EU, GPP_SID_USNAT, GPP_SID_USP, GPPString, decode_gpp
from .ip import truncate_ip
from .rules import Activities, activities
from .states import (
    GPP_US_SECTIONS,
    SENSITIVE_CATEGORIES,
    USNational,
    USState,
    decode_us_section,
)
from .tcf import (
    MAX_TC_LENGTH,
    PublisherRestriction,
    PublisherTC,
    TCString,
    VendorSet,
    decode_tcf,
)
from .usp import USPrivacy, decode_usp

__all__ = [
    "GPP_SID_TCF_EU",
    "GPP_SID_USNAT",
    "GPP_SID_USP",
    "GPP_US_SECTIONS",
    "MAX_LENGTH",
    "MAX_TC_LENGTH",
    "SENSITIVE_CATEGORIES",
    "Activities",
    "GPPString",
    "InvalidConsent",
    "PublisherRestriction",
    "PublisherTC",
    "TCString",
    "USNational",
    "USPrivacy",
    "USState",
    "VendorSet",
    "activities",
    "decode_gpp",
    "decode_tcf",
    "decode_us_section",
    "decode_usp",
    "decoding_work",
    "truncate_ip",
]
