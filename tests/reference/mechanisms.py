"""Plain-Python references for ``adcore._kernels.mechanisms`` (multi-slot auctions) and
``adcore._kernels.pod`` (ad pods).

Written from the kernels' docstrings, not from their code: the ranking is a full sort
with a key instead of an insertion buffer, VCG sums run from the top position down as in
the formula, the pod search enumerates every feasible pod without pruning, and
:func:`brute_force_pod` tries every subset. Inputs may be NumPy arrays or lists; outputs
are plain Python values.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

FIRST_PRICE, SECOND_PRICE, GSP, VCG = 1, 2, 3, 4
DURATION_SLACK = 1e-9


# --------------------------------------------------------------------------- positions


def eligible(eff: Sequence[float], floor: Sequence[float], n: int) -> list[int]:
    """The candidates whose bid is positive and at least their floor."""
    return [i for i in range(n) if float(eff[i]) > 0.0 and float(eff[i]) >= float(floor[i])]


def ranked(
    eff: Sequence[float],
    floor: Sequence[float],
    priority: Sequence[int],
    tiekey: Sequence[int],
    n: int,
    owner: Sequence[int] | None = None,
    tievalue: Sequence[float] | None = None,
) -> list[int]:
    """The eligible candidates by priority desc, bid desc, tie value desc, tie key asc,
    index asc, keeping only the first of each owner (all of them without owners)."""
    value = tievalue if tievalue is not None else [0.0] * n
    order = sorted(
        eligible(eff, floor, n),
        key=lambda i: (-int(priority[i]), -float(eff[i]), -float(value[i]), int(tiekey[i]), i),
    )
    if owner is None:
        return order
    seen: set[int] = set()
    out = []
    for i in order:
        if int(owner[i]) not in seen:
            seen.add(int(owner[i]))
            out.append(i)
    return out


def multislot_auction(
    eff: Sequence[float],
    floor: Sequence[float],
    priority: Sequence[int],
    tiekey: Sequence[int],
    weight: Sequence[float],
    n: int,
    n_slots: int,
    mechanism: int,
    owner: Sequence[int] | None = None,
    tievalue: Sequence[float] | None = None,
) -> dict[str, Any]:
    """``{"filled": int, "win": [n_slots ints], "price": [n_slots floats]}``: one
    position per owner (every candidate its own owner when none are given); VCG with
    the winner's floor as a phantom bid in every position below."""
    order = ranked(eff, floor, priority, tiekey, n, owner, tievalue)

    def b(t: int) -> float:
        return float(eff[order[t]]) if t < len(order) else 0.0

    def w(t: int) -> float:
        return float(weight[t]) if t < n_slots else 0.0

    filled = min(n_slots, len(order))
    win = [-1] * n_slots
    price = [0.0] * n_slots
    for s in range(filled):
        i = order[s]
        bid, fl = float(eff[i]), float(floor[i])
        if mechanism == FIRST_PRICE:
            p = bid
        elif mechanism == VCG:
            if w(s) > 0.0:
                total = 0.0
                for t in range(s, n_slots):
                    total += (w(t) - w(t + 1)) * max(b(t + 1), fl)
                p = max(total / w(s), fl)
            else:
                p = fl
        else:  # SECOND_PRICE, GSP
            p = max(fl, b(s + 1))
        win[s] = i
        price[s] = min(p, bid)
    return {"filled": filled, "win": win, "price": price}


# --------------------------------------------------------------------------- pods


def conflict(groups: Any, i: int, j: int) -> bool:
    """Whether candidates ``i`` and ``j`` share a bit in some word of ``groups``."""
    return any(int(a) & int(b) for a, b in zip(groups[i], groups[j], strict=True))


def canonical_order(value: Sequence[float], tiekey: Sequence[int], n: int) -> list[int]:
    """Candidates by value desc, tie key asc, index asc."""
    return sorted(range(n), key=lambda i: (-float(value[i]), int(tiekey[i]), i))


def fill_pod(
    value: Sequence[float],
    duration: Sequence[float],
    groups: Any,
    tiekey: Sequence[int],
    n: int,
    poddur: float,
    maxseq: int,
    separate: bool,
    excluded: int = -1,
    own_words: int = 0,
) -> list[int]:
    """The pod the kernel must choose: every feasible pod is visited, depth first in the
    canonical order (a pod before its extensions, lower positions first), value and
    duration summed in that order; the best is replaced only by a strictly better one.
    ``excluded`` is left out, and with ``separate`` every candidate sharing a bit with it
    in the first ``own_words`` words of ``groups`` (its campaign)."""

    def owned(i: int) -> bool:
        return (
            excluded >= 0
            and separate
            and any(int(groups[i][w]) & int(groups[excluded][w]) for w in range(own_words))
        )

    order = [i for i in canonical_order(value, tiekey, n) if i != excluded and not owned(i)]
    values = [float(v) for v in value]
    seconds_of = [float(d) for d in duration]
    clash = {(i, j): conflict(groups, i, j) for i in order for j in order} if separate else {}
    limit = poddur + DURATION_SLACK
    best: list[int] = []
    best_value = 0.0

    def visit(pod: list[int], total: float, seconds: float, start: int) -> None:
        nonlocal best, best_value
        if len(pod) >= maxseq:
            return
        for pos in range(start, len(order)):
            c = order[pos]
            if not seconds + seconds_of[c] <= limit:
                continue
            if separate and any(clash[c, o] for o in pod):
                continue
            grown = total + values[c]
            if grown > best_value:
                best, best_value = pod + [c], grown
            visit(pod + [c], grown, seconds + seconds_of[c], pos + 1)

    visit([], 0.0, 0.0, 0)
    return best


def pod_value(value: Sequence[float], pod: Sequence[int]) -> float:
    """The pod's value, summed in the pod's order."""
    total = 0.0
    for i in pod:
        total += float(value[i])
    return total


def pod_prices(
    sel: Sequence[int],
    value: Sequence[float],
    duration: Sequence[float],
    groups: Any,
    tiekey: Sequence[int],
    floor: Sequence[float],
    n: int,
    poddur: float,
    maxseq: int,
    separate: bool,
    mechanism: int,
    own_words: int = 0,
) -> list[float]:
    """First price: each ad's value. Otherwise each winner's VCG payment: the best pod
    without it (and without its campaign, the first ``own_words`` words of its bitset),
    less the others' value in the chosen pod, floored, capped at its value."""
    if mechanism == FIRST_PRICE:
        return [float(value[i]) for i in sel]
    total = pod_value(value, sel)
    out = []
    for i in sel:
        without = pod_value(
            value,
            fill_pod(value, duration, groups, tiekey, n, poddur, maxseq, separate, i, own_words),
        )
        p = max(float(floor[i]), without - (total - float(value[i])))
        out.append(min(p, float(value[i])))
    return out


def brute_force_pod(
    value: Sequence[float],
    duration: Sequence[float],
    groups: Any,
    n: int,
    poddur: float,
    maxseq: int,
    separate: bool,
) -> float:
    """The best pod value over every subset of the ``n`` candidates (0.0 if none fits):
    total duration at most ``poddur`` plus the slack, at most ``maxseq`` ads, no two
    conflicting when ``separate``."""
    values = [float(value[i]) for i in range(n)]
    seconds = [float(duration[i]) for i in range(n)]
    clash = [[separate and conflict(groups, i, j) for j in range(n)] for i in range(n)]
    best = 0.0
    for size in range(1, min(maxseq, n) + 1):
        for pod in itertools.combinations(range(n), size):
            if sum(seconds[i] for i in pod) > poddur + DURATION_SLACK:
                continue
            if any(clash[i][j] for i, j in itertools.combinations(pod, 2)):
                continue
            best = max(best, sum(values[i] for i in pod))
    return best


def greedy_pod(
    value: Sequence[float],
    duration: Sequence[float],
    groups: Any,
    tiekey: Sequence[int],
    n: int,
    poddur: float,
    maxseq: int,
    separate: bool,
    excluded: int,
    by_density: bool,
) -> list[int]:
    """A greedy pod, in canonical order: each candidate that fits ``poddur`` on its own,
    in canonical order or (``by_density``) by value per second (infinite for a zero
    duration) desc then canonical order, joins when it is not ``excluded``, conflicts
    with no member, the pod has fewer than ``maxseq`` members, and the durations with
    it, summed in canonical order, fit. A budgeted search must do at least as well.
    (A value per second above 1e300 counts as infinite, as in the kernel.)"""
    limit = poddur + DURATION_SLACK
    order = [i for i in canonical_order(value, tiekey, n) if float(duration[i]) <= limit]
    rank = {c: r for r, c in enumerate(order)}

    def density(c: int) -> float:
        v, d = float(value[c]), float(duration[c])
        return v / d if d > v * 1e-300 else float("inf")

    seq = sorted(order, key=lambda c: (-density(c), rank[c])) if by_density else order
    pod: list[int] = []
    for c in seq:
        if len(pod) >= min(maxseq, len(order)):
            break
        if c == excluded or (separate and any(conflict(groups, c, o) for o in pod)):
            continue
        trial = sorted([*pod, c], key=rank.__getitem__)
        seconds = 0.0
        for x in trial:
            seconds += float(duration[x])
        if seconds <= limit:
            pod = trial
    return pod
