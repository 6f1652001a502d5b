"""The arena: every scenario, every arm, several seeds; the table of docs/simulator.md.

    python bench/arena.py --seeds 5 --json arena.json > arena.md

Runs ``adcore.sim.simulate`` for each scenario with the ``agents``, ``monolith`` and
``naive`` arms (``--arms`` chooses others) on seeds 0 .. N-1 (each seed one market that
every arm decides), then prints a Markdown table: per scenario and arm, the mean of each
headline metric over the seeds with the half-width of its 95 % interval (Student t), and
a row per compared pair (by default the agents against the monolith; ``--compare
a:b,c:d`` chooses the pairs) with the relative difference and its 95 % interval. A
difference whose interval contains 0 is not a win or a loss. ``--json`` also writes
every arm x seed x metric record. Not part of the test suite: a full run takes about
half an hour on one core.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from adcore.sim import simulate
from adcore.sim.results import SimResults
from adcore.sim.scenario import SCENARIOS

ARMS = ("agents", "monolith", "naive")
COLUMNS = (
    ("relevance", "relevance", 3),
    ("ctr_human", "CTR (display)", 4),
    ("completion_rate", "completion", 3),
    ("skip_rate", "skips", 3),
    ("roas", "ROAS", 2),
    ("advertiser_value", "value", 1),
    ("value_at_matched_spend", "value at matched spend", 1),
    ("revenue", "revenue", 1),
    ("delivery", "delivery", 3),
    ("pacing_error", "pacing error", 3),
    ("bot_spend", "bot spend", 3),
)
# Student t quantiles (97.5 %) for 1 .. 9 degrees of freedom.
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262)


def _half(values: list[float]) -> float:
    if len(values) < 2:
        return math.nan
    t = T95[len(values) - 2] if len(values) - 1 <= len(T95) else 1.96
    return t * float(np.std(values, ddof=1)) / math.sqrt(len(values))


def rows(
    results: SimResults,
    arms: tuple[str, ...] = ARMS,
    pairs: tuple[tuple[str, str], ...] = (("agents", "monolith"),),
) -> list[str]:
    """The table rows of one scenario: one per arm, then one per compared pair
    (``a vs b``: the relative difference of ``a`` from ``b`` per seed)."""
    out = []
    for arm in arms:
        cells = []
        for key, _, digits in COLUMNS:
            v = [float(results.run(arm, s).metrics[key]) for s in results.seeds]
            cells.append(f"{np.mean(v):.{digits}f} ± {_half(v):.{digits}f}")
        out.append(f"| {results.scenario.name} | {arm} | " + " | ".join(cells) + " |")
    for first, second in pairs:
        cells = []
        for key, _, _ in COLUMNS:
            diffs = []
            for s in results.seeds:
                a = float(results.run(first, s).metrics[key])
                b = float(results.run(second, s).metrics[key])
                diffs.append((a - b) / abs(b) if b != 0 else (0.0 if a == b else math.nan))
            if all(math.isfinite(d) for d in diffs):
                m, h = float(np.mean(diffs)), _half(diffs)
                cells.append(f"{100 * m:+.1f} % [{100 * (m - h):+.1f}, {100 * (m + h):+.1f}]")
            else:
                cells.append("-")
        label = f"{first} vs {second}"
        out.append(f"| {results.scenario.name} | {label} | " + " | ".join(cells) + " |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--requests", type=int, default=None, help="override every scenario's")
    ap.add_argument("--json", default=None, help="write every record to this file")
    ap.add_argument("--arms", default=",".join(ARMS), help="the arms to run")
    ap.add_argument(
        "--compare",
        default="agents:monolith",
        help="pairs a:b of arms whose relative difference gets a row, comma-separated",
    )
    args = ap.parse_args(argv)
    arms = tuple(args.arms.split(","))
    pairs = tuple(tuple(p.split(":", 1)) for p in args.compare.split(",") if p)
    for pair in pairs:
        if len(pair) != 2 or not set(pair) <= set(arms):
            ap.error(f"--compare {':'.join(pair)}: both arms must be among --arms")
    header = "| scenario | arm | " + " | ".join(label for _, label, _ in COLUMNS) + " |"
    lines = [header, "|" + " --- |" * (len(COLUMNS) + 2)]
    records = []
    for name in args.scenarios.split(","):
        t0 = time.perf_counter()
        results = simulate(
            name, arms=arms, seeds=args.seeds, requests=args.requests, progress=False
        )
        records += results.table()
        lines += rows(results, arms, pairs)  # type: ignore[arg-type]
        print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
