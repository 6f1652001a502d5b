"""Hashed counters in bounded memory: counts per key in fixed time windows.

A table of ``S`` slots (``keys`` uint64, ``starts`` float64, ``counts`` int64). A key is
looked up by linear probing over at most ``PROBES`` slots from ``splitmix64(key) % S``;
a key's window starts at its first count and ends ``window`` seconds later, when its
count starts again from zero. When all probed slots hold other live keys, the one whose
window started earliest is evicted; an evicted key that comes back starts a new window.

Error bound: a key's count never exceeds the true number of its events in the last
``window`` seconds (its window started less than ``window`` seconds ago, and every
count in it is one of its own events); with a table much larger than the number of live
keys it equals the exact fixed-window count. Under memory pressure counts can only be
lower, never attributed to another key. Key 0 marks an empty slot, so callers pass keys
with at least one bit set.
"""

import numpy as np

from ._jit import helper, kernel
from .bits import splitmix64

PROBES = 8


@helper
def counter_get(keys, starts, counts, key, now, window):
    """The count of ``key`` in its current window (0 if absent or expired)."""
    size = keys.shape[0]
    h = splitmix64(key) % np.uint64(size)
    for p in range(PROBES):
        s = np.int64((h + np.uint64(p)) % np.uint64(size))
        if keys[s] == key:
            if now - starts[s] >= window:
                return 0
            return counts[s]
        if keys[s] == 0:
            return 0
    return 0


@helper
def counter_add(keys, starts, counts, key, now, window, amount):
    """Add ``amount`` to ``key``'s count in its current window and return the new count."""
    size = keys.shape[0]
    h = splitmix64(key) % np.uint64(size)
    victim = -1
    victim_free = False
    oldest = np.inf
    for p in range(PROBES):
        s = np.int64((h + np.uint64(p)) % np.uint64(size))
        if keys[s] == key:
            if now - starts[s] >= window:
                starts[s] = now
                counts[s] = 0
            counts[s] += amount
            return counts[s]
        if keys[s] == 0 or now - starts[s] >= window:
            if not victim_free:
                victim = s
                victim_free = True
            if keys[s] == 0:
                break
        elif not victim_free and starts[s] < oldest:
            victim = s
            oldest = starts[s]
    keys[victim] = key
    starts[victim] = now
    counts[victim] = amount
    return amount


@helper
def campaign_counts_reached(blocked, keys, starts, counts, user_key, now, cap_count, cap_window):
    """``blocked[c] = 1`` when the user's count for campaign ``c`` reached its cap.

    The key of (user, campaign) is ``splitmix64(user_key + c + 1)``; ``cap_count[c]`` 0
    means no cap. ``user_key`` 0 (no user known, or no consent) blocks nothing.
    """
    size = keys.shape[0]
    for c in range(blocked.shape[0]):
        blocked[c] = 0
        if user_key == 0 or cap_count[c] <= 0:
            continue
        key = splitmix64(user_key + np.uint64(c + 1)) | np.uint64(1)
        # The lookup of counter_get, written out: calling a helper with arrays in a loop
        # costs reference counting per call.
        h = splitmix64(key) % np.uint64(size)
        for p in range(PROBES):
            s = np.int64((h + np.uint64(p)) % np.uint64(size))
            if keys[s] == key:
                if now - starts[s] < cap_window[c] and counts[s] >= cap_count[c]:
                    blocked[c] = 1
                break
            if keys[s] == 0:
                break


@kernel
def count_campaign(keys, starts, counts, user_key, campaign, now, window):
    """Count one impression of ``campaign`` for the user ``user_key``; returns the count."""
    key = splitmix64(user_key + np.uint64(campaign + 1)) | np.uint64(1)
    return counter_add(keys, starts, counts, key, now, window, 1)
