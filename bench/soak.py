"""Soak: millions of decisions with feedback, reporting the tails, memory and pauses.

    python bench/soak.py --decisions 10000000          # the full soak (hours of CPU)
    python bench/soak.py --decisions 1000000 --no-freeze

One engine on the demo catalog decides the demo traffic on a clock that advances
``--step`` seconds per decision; the ad server's feedback follows (an impression for
most filled slots, some clicks and completions, a share never reported so that holds
expire and the pending book stays full). Every decision is timed alone with
``perf_counter_ns`` (wall time) and ``thread_time_ns`` (the CPU time of the deciding
thread). Each million prints p50 / p99 / p99.9 / max of ``decide`` in µs of wall time,
the p99.9 of its CPU time, the process's resident memory, the pending book's size, the
garbage collector's collections and its longest pause in that million (measured with
``gc.callbacks``).

By default ``gc.freeze()`` runs after warm-up: everything built until then (modules,
compiled kernels, the catalog, the engine) moves to the collector's permanent generation,
so later full collections walk only what was allocated since. ``--no-freeze`` shows the
difference. Not part of the test suite: it reports, it asserts nothing about time.

Wall time includes time the decision waited while the operating system ran another
process: with more runnable processes than cores, a thread is preempted for a
scheduler time slice of a few milliseconds, and one decision in a thousand then takes
milliseconds of wall time. The CPU-time percentile does not count that wait, so the two
side by side say whether a tail is the engine's or the machine's.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time

import numpy as np

from adcore import Engine, EngineConfig
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.events import Click, Complete, Impression


def _rss_mib() -> float:
    """Current resident set size, from /proc (falls back to the peak)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Pauses:
    """Longest garbage-collection pause and number of collections, per generation."""

    def __init__(self) -> None:
        self.start = 0
        self.longest_ns = 0
        self.count = [0, 0, 0]

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.start = time.perf_counter_ns()
        else:
            self.longest_ns = max(self.longest_ns, time.perf_counter_ns() - self.start)
            self.count[info["generation"]] += 1

    def reset(self) -> None:
        self.longest_ns = 0
        self.count = [0, 0, 0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--decisions", type=int, default=10_000_000)
    ap.add_argument("--report-every", type=int, default=1_000_000)
    ap.add_argument("--ads", type=int, default=1000)
    ap.add_argument("--step", type=float, default=0.002, help="seconds of clock per decision")
    ap.add_argument("--max-pending", type=int, default=1_000_000)
    ap.add_argument("--no-freeze", action="store_true", help="do not gc.freeze() after warm-up")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    catalog = sample_catalog(n_ads=args.ads, dimension=32, seed=args.seed)
    # Budgets far above the soak's spend: the point is the steady state, not delivery.
    engine = Engine(
        catalog,
        EngineConfig(latency_budget_us=float("inf"), max_pending=args.max_pending),
    )
    requests = sample_requests(5_000, seed=args.seed + 1)
    rng = np.random.default_rng(args.seed)
    draws = rng.random(1 << 16)
    for k in range(1_000):  # warm-up: caches, thread-local context, first allocations
        engine.decide(requests[k % len(requests)], now=DEMO_START + k * args.step)
    if not args.no_freeze:
        gc.collect()
        gc.freeze()
    pauses = _Pauses()
    gc.callbacks.append(pauses)
    times = np.zeros(args.report_every, dtype=np.int64)
    cpu = np.zeros(args.report_every, dtype=np.int64)
    now = DEMO_START + 1_000 * args.step
    rss_start = _rss_mib()
    print(
        f"soak: {args.decisions:,} decisions, {args.ads} ads, step {args.step} s, "
        f"max_pending {args.max_pending:,}, gc.freeze {'off' if args.no_freeze else 'on'}; "
        f"RSS after warm-up {rss_start:.0f} MiB",
        flush=True,
    )
    print(
        f"{'decisions':>11} {'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9} {'max us':>9} "
        f"{'cpu p99.9':>9} "
        f"{'RSS MiB':>8} {'pending':>9} {'gc 0/1/2':>14} {'gc max ms':>9}",
        flush=True,
    )
    n_req = len(requests)
    j = 0
    perf = time.perf_counter_ns
    thread = time.thread_time_ns
    done = 0
    while done < args.decisions:
        block = min(args.report_every, args.decisions - done)
        for i in range(block):
            req = requests[(done + i) % n_req]
            c0 = thread()
            t0 = perf()
            decision = engine.decide(req, now=now)
            times[i] = perf() - t0
            cpu[i] = thread() - c0
            for slot in decision.slots:
                if slot.impression_id is None:
                    continue
                u = draws[j & 0xFFFF]
                j += 1
                if u < 0.9:  # 10 % of sales are never reported: their holds expire
                    iid = slot.impression_id
                    engine.feedback(Impression(impression_id=iid, timestamp=now))
                    if u < 0.02:
                        engine.feedback(Click(impression_id=iid, timestamp=now + 5.0))
                    elif u < 0.5:
                        engine.feedback(Complete(impression_id=iid, timestamp=now + 30.0))
            now += args.step
        done += block
        us = np.sort(times[:block]) / 1000.0
        cpu_us = np.percentile(cpu[:block], 99.9) / 1000.0
        stats = engine.stats()
        print(
            f"{done:>11,} {np.percentile(us, 50):>8.1f} {np.percentile(us, 99):>8.1f} "
            f"{np.percentile(us, 99.9):>9.1f} {us[-1]:>9.1f} {cpu_us:>9.1f} {_rss_mib():>8.0f} "
            f"{stats.pending_impressions:>9,} {'/'.join(map(str, pauses.count)):>14} "
            f"{pauses.longest_ns / 1e6:>9.2f}",
            flush=True,
        )
        pauses.reset()
    stats = engine.stats()
    print(
        f"done: {stats.decisions:,} decisions, {stats.impressions:,} impressions charged, "
        f"{stats.duplicate_impressions} duplicates, {stats.expired_holds:,} holds expired"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
