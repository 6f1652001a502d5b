"""Fuzz the engine with a million requests (and feedback events) and report the outcomes.

The cases and the judge are the default suite's (``tests/fuzzing.py``), at scale and
with the largest inputs on (100,000-deep nesting, 1 MB strings, pods up to an hour)::

    python bench/fuzz_requests.py --cases 1000000 --seed 0
    python bench/fuzz_requests.py --cases 20000 --seed 3 --out fuzz-findings

It prints progress, then the outcomes: requests decided, rejected with InvalidRequest
(by field), and every other exception by type and place; feedback events accepted and
rejected; contract violations by kind (an exception outside the contract, a rejected
input that changed state, an invariant broken by an accepted one, a case slower than
``--slow-ms``) with the first examples of each saved under ``--out`` (the payload as
sent, and a text file saying how it was made and how to rebuild it). The exit status is
1 when there was any violation, else 0.

Coverage-guided fuzzing is an option with atheris (``pip install atheris``; not a
dependency of adcore)::

    python bench/fuzz_requests.py --atheris -- -atheris_runs=200000 -max_len=4096

libFuzzer then drives the same harness: the first byte of each input picks JSON or
MessagePack, the rest is the request; the corpus starts from the specification's
examples and the demo requests (written to ``--corpus``), and an input that breaks the
contract stops the run with its violation.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:80] or "case"


def _payload_bytes(payload: Any) -> tuple[bytes, str]:
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload), "bin"
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogatepass"), "str.json"
    return repr(payload).encode("utf-8", "backslashreplace"), "repr.txt"


class Tally:
    """Outcome counts, violations grouped with their first examples, slowest cases."""

    def __init__(self, out: Path, examples: int) -> None:
        self.out = out
        self.examples = examples
        self.outcomes: Counter[str] = Counter()
        self.fields: Counter[str] = Counter()
        self.event_fields: Counter[str] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()
        self.groups: dict[tuple[str, ...], list[Any]] = defaultdict(list)
        self.counts: Counter[tuple[str, ...]] = Counter()
        self.changed: Counter[tuple[str, ...]] = Counter()
        self.slowest: list[tuple[float, str]] = []

    @property
    def violations(self) -> int:
        return sum(self.counts.values())

    def add(self, what: str, result: Any, rebuild: str) -> None:
        self.outcomes[f"{what} {result.outcome}"] += 1
        if result.outcome == "invalid":
            target = self.fields if what == "request" else self.event_fields
            target[re.sub(r"\[\d+\]", "[]", str(result.field))[:60]] += 1
        elif result.outcome == "error":
            self.errors[(str(result.exc_type), str(result.where))] += 1
        for v in result.violations:
            key: tuple[str, ...] = (
                (v.kind, str(v.exc_type), str(v.where))
                if v.kind == "exception"
                else (v.kind, re.sub(r"\d+", "N", v.detail)[:60])
            )
            self.counts[key] += 1
            self.changed[key] += bool(v.state_changed)
            if len(self.groups[key]) < self.examples:
                self.groups[key].append(v)
                self._save(key, len(self.groups[key]), v, rebuild)
        self.slowest.append((result.elapsed, rebuild))
        if len(self.slowest) > 200:
            self.slowest = sorted(self.slowest)[-20:]

    def slow(self, elapsed: float, label: str, payload: Any, fmt: str, rebuild: str) -> None:
        import fuzzing as fz

        v = fz.Violation("slow", label, f"{elapsed * 1000:.0f} ms", payload=payload, format=fmt)
        key = ("slow", "")
        self.counts[key] += 1
        if len(self.groups[key]) < self.examples:
            self.groups[key].append(v)
            self._save(key, len(self.groups[key]), v, rebuild)

    def _save(self, key: tuple[str, ...], n: int, v: Any, rebuild: str) -> None:
        where = self.out / _slug("-".join(key))
        where.mkdir(parents=True, exist_ok=True)
        data, ext = _payload_bytes(v.payload)
        (where / f"{n}.{ext}").write_bytes(data)
        (where / f"{n}.txt").write_text(
            f"{v.summary()}\n\nformat: {v.format}\nrebuild: {rebuild}\n", encoding="utf-8"
        )

    def report(self, elapsed: float) -> str:
        total = sum(self.outcomes.values())
        lines = [f"{total} cases in {elapsed:.0f} s ({total / max(elapsed, 1e-9):.0f}/s)", ""]
        lines.append("outcomes:")
        lines += [f"  {k}: {n}" for k, n in sorted(self.outcomes.items())]
        lines.append("InvalidRequest by field (top 25):")
        lines += [f"  {n:8d}  {f}" for f, n in self.fields.most_common(25)]
        if self.event_fields:
            lines.append("InvalidEvent by field:")
            lines += [f"  {n:8d}  {f}" for f, n in self.event_fields.most_common(10)]
        lines.append("other exceptions (type, innermost adcore frame):")
        lines += [f"  {n:8d}  {t} at {w}" for (t, w), n in self.errors.most_common()] or ["  none"]
        lines.append(f"violations: {self.violations}")
        for key, n in self.counts.most_common():
            first = self.groups[key][0]
            state = f", {self.changed[key]} changed state" if self.changed[key] else ""
            lines.append(f"  {n:8d}{state}  {first.summary()[:300]}")
        lines.append("slowest cases:")
        lines += [f"  {t * 1000:9.1f} ms  {r}" for t, r in sorted(self.slowest)[-10:][::-1]]
        if self.counts:
            lines.append(f"examples saved under {self.out}/")
        return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import fuzzing as fz

    from adcore.demo import sample_catalog

    catalog = sample_catalog(n_ads=args.ads, seed=0)
    print(f"building engines on a demo catalog of {args.ads} ads ...", flush=True)
    harness = fz.Harness(catalog)
    tally = Tally(Path(args.out), args.examples)
    for v in harness.restart():
        print("warm-up violation:", v.summary())
    start = last = time.monotonic()
    n_events = 0
    for i in range(args.cases):
        case = fz.request_case(args.seed, i, big=not args.small, max_poddur=args.max_poddur)
        rebuild = (
            f"fuzzing.request_case({args.seed}, {i}, big={not args.small}, "
            f"max_poddur={args.max_poddur})  # {case.label[:300]}"
        )
        result = harness.request(case)
        tally.add("request", result, rebuild)
        if args.slow_ms and result.elapsed * 1000 > args.slow_ms:
            tally.slow(result.elapsed, case.label, case.payload, case.format, rebuild)
        if args.events_every and i % args.events_every == args.events_every - 1:
            ecase = fz.event_case(args.seed, n_events)
            tally.add("event", harness.event(ecase), f"fuzzing.event_case({args.seed}, {n_events})")
            n_events += 1
        now = time.monotonic()
        if now - last >= args.progress or i == args.cases - 1:
            last = now
            o = tally.outcomes
            print(
                f"{i + 1}/{args.cases} ({(i + 1) / (now - start):.0f}/s): "
                f"decided {o['request decided']}, invalid {o['request invalid']}, "
                f"errors {o['request error']}, events {n_events}, "
                f"violations {tally.violations}, engine rebuilds {harness.resets - 1}",
                flush=True,
            )
    print()
    print(tally.report(time.monotonic() - start))
    return 1 if tally.violations else 0


def run_atheris(args: argparse.Namespace, rest: list[str]) -> int:
    import atheris

    # adcore's Python code is instrumented for coverage; its Numba kernels are not (Numba
    # compiles their bytecode, which must stay as written). Found without importing adcore.
    spec = importlib.util.find_spec("adcore")
    assert spec is not None and spec.submodule_search_locations
    kernels = Path(next(iter(spec.submodule_search_locations))) / "_kernels"
    exclude = ["adcore._kernels", *(f"adcore._kernels.{p.stem}" for p in kernels.glob("*.py"))]
    with atheris.instrument_imports(include=["adcore"], exclude=exclude):
        import fuzzing as fz

    from adcore.demo import sample_catalog

    corpus = Path(args.corpus)
    corpus.mkdir(parents=True, exist_ok=True)
    docs = fz.spec_examples() + fz.sample_docs(20)
    for name, doc in docs:
        (corpus / f"{_slug(name)}.json").write_bytes(b"\x00" + fz.encode_json(doc))
        (corpus / f"{_slug(name)}.msgpack").write_bytes(b"\x01" + fz.encode_msgpack(doc))
    harness = fz.Harness(sample_catalog(n_ads=args.ads, seed=0))
    assert not harness.restart()
    count = [0]

    def one(data: bytes) -> None:
        if not data:
            return
        fmt = "msgpack" if data[0] & 1 else "json"
        payload: Any = data[1:]
        if fmt == "json" and data[0] & 2:
            payload = payload.decode("utf-8", "surrogateescape")  # a str request
        count[0] += 1
        case = fz.Case(count[0], f"atheris input {count[0]}", payload, fmt, bool(data[0] & 4))
        result = harness.request(case)
        if result.violations:
            raise AssertionError(result.violations[0].summary())

    atheris.Setup([sys.argv[0], *rest, str(corpus)], one)
    atheris.Fuzz()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1 :]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cases", type=int, default=1_000_000, help="request cases to run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--events-every", type=int, default=10, help="one event case per N requests")
    p.add_argument("--ads", type=int, default=200, help="ads in the demo catalog")
    p.add_argument("--max-poddur", type=int, default=3600, help="longest generated pod (s)")
    p.add_argument("--small", action="store_true", help="leave out the largest inputs")
    p.add_argument("--slow-ms", type=float, default=1000.0, help="slower cases are violations")
    p.add_argument("--progress", type=float, default=10.0, help="seconds between progress lines")
    p.add_argument("--out", default="fuzz-findings", help="where examples are saved")
    p.add_argument("--examples", type=int, default=3, help="examples saved per violation")
    p.add_argument("--atheris", action="store_true", help="coverage-guided run (atheris)")
    p.add_argument("--corpus", default="fuzz-corpus", help="atheris seed corpus directory")
    args = p.parse_args(argv)
    if args.atheris:
        return run_atheris(args, rest)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
