"""Reason codes shared by kernels (plain integer constants, usable inside Numba code).

A candidate's reason code is 0 while it is eligible. A filter never clears a code; it
raises it to ``max(current, code)``, so a higher code takes precedence whatever order the
agents ran in. The order below *is* the declared veto priority: human overrides beat
privacy, privacy beats fraud, fraud beats brand safety, brand safety beats targeting and
inventory fit. The public names live in :class:`adcore.decision.Reason`.
"""

OK = 0
CURRENCY = 1
FORMAT = 2
SIZE = 3
DURATION = 4
MIME = 5
PROTOCOL = 6
DEAL = 7
FLIGHT = 8
TARGETING = 9
FREQUENCY_CAP = 10
EXCLUDED_CONTENT = 11
BLOCKED_ADVERTISER = 12
BLOCKED_CATEGORY = 13
FRAUD = 14
PRIVACY = 15
OVERRIDE = 16
N_REASONS = 17
