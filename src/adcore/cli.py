"""The ``adcore`` command."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``adcore`` command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="adcore", description="adcore ad decision engine")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="decide sample requests and print a summary and one explained decision"
    )
    demo.add_argument("--requests", type=int, default=300, help="how many (default 300)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    sim = sub.add_parser(
        "simulate",
        help="simulate a day of the marketplace with the ten agents and compare them "
        "against other arms",
    )
    sim.add_argument(
        "--scenario",
        default="steady",
        help="a built-in scenario name or a .toml/.json file (default steady)",
    )
    sim.add_argument(
        "--compare",
        default="monolith",
        metavar="ARMS",
        help="comma-separated arms to compare the agents against: monolith (one response "
        "model with pacing, fraud filter, frequency caps, safety and consent), naive (no "
        "pacing, fraud filter or frequency caps; alias baseline); 'none' for the agents "
        "alone (default monolith)",
    )
    sim.add_argument("--seeds", type=int, default=1, help="how many seeds (default 1)")
    sim.add_argument(
        "--requests", type=int, default=None, help="requests per day (default: the scenario's)"
    )
    sim.add_argument(
        "--report", default=None, metavar="DIR", help="write an HTML report with plots into DIR"
    )
    sim.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help="write the tidy table (one record per scenario, arm, seed and metric) to FILE "
        "as a JSON list",
    )
    sim.add_argument("--no-progress", action="store_true", help="no progress bar")
    sim.add_argument("--list", action="store_true", help="list the built-in scenarios")

    tr = sub.add_parser(
        "train",
        help="train the learning agents in the simulator over several days and save their models",
    )
    tr.add_argument(
        "--scenario",
        default="steady",
        help="a built-in scenario name or a .toml/.json file (default steady)",
    )
    tr.add_argument("--episodes", type=int, required=True, help="days to train")
    tr.add_argument(
        "--out", required=True, metavar="DIR", help="where the models are saved (and resumed)"
    )
    tr.add_argument("--arm", default="learned", help="the arm to train (default learned)")
    tr.add_argument("--seed", type=int, default=0, help="the world's seed (default 0)")
    tr.add_argument(
        "--requests", type=int, default=None, help="requests per day (default: the scenario's)"
    )

    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.requests < 1:
            parser.error("--requests must be at least 1")
        from .demo import run_demo

        return run_demo(args.requests, seed=args.seed)
    if args.command == "simulate":
        return _simulate(parser, args)
    if args.command == "train":
        return _train(parser, args)
    return 2


def _train(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .errors import InvalidInput
    from .sim import InvalidScenario, train

    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    if args.requests is not None and args.requests < 100:
        parser.error("--requests must be at least 100")
    try:
        train(
            args.scenario,
            episodes=args.episodes,
            out=args.out,
            arm=args.arm,
            seed=args.seed,
            requests=args.requests,
            progress=sys.stdout,
        )
    except (InvalidScenario, InvalidInput) as exc:
        print(f"adcore train: {exc}", file=sys.stderr)
        return 2
    print(f"models: {Path(args.out) / 'models.msgpack'}")
    return 0


def _compare_arms(parser: argparse.ArgumentParser, text: str) -> list[str]:
    """The arms ``--compare`` names, canonical, after ``agents``; argparse errors for
    unknown, repeated or empty names."""
    from .sim import ARMS

    if text.strip() == "none":
        return ["agents"]
    known = ", ".join([*(a for a in ARMS if a != "agents"), *ARMS.aliases])
    arms = ["agents"]
    for part in text.split(","):
        name = part.strip()
        if not name:
            parser.error(f"--compare: empty arm name in {text!r}; known: {known}, or none")
        if name not in ARMS:
            parser.error(f"--compare: unknown arm {name!r}; known: {known}, or none")
        canonical = ARMS[name].name
        if canonical == "agents":
            parser.error("--compare: the agents are always compared; name the other arms")
        if canonical in arms:
            parser.error(f"--compare: arm {canonical!r} is named twice")
        arms.append(canonical)
    return arms


def _simulate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .sim import SCENARIOS, InvalidScenario, simulate

    if args.list:
        for name, sc in sorted(SCENARIOS.items()):
            print(f"{name:<18} {sc.description}")
        return 0
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.requests is not None and args.requests < 100:
        parser.error("--requests must be at least 100")
    arms = _compare_arms(parser, args.compare)
    if args.json is not None:
        # Checked before the (long) simulation: a directory for the file, created if
        # missing as --report's is.
        if Path(args.json).is_dir():
            parser.error(f"--json: {args.json} is a directory, not a file")
        try:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            parser.error(f"--json: cannot create the directory of {args.json}: {exc}")
    if args.report is not None and importlib.util.find_spec("matplotlib") is None:
        print(
            "adcore simulate: --report needs matplotlib: pip install 'adcore[plots]'",
            file=sys.stderr,
        )
        return 2
    try:
        results = simulate(
            args.scenario,
            arms=arms,
            seeds=args.seeds,
            requests=args.requests,
            progress=not args.no_progress,
        )
    except InvalidScenario as exc:
        print(f"adcore simulate: {exc}", file=sys.stderr)
        return 2
    print(results.format())
    if args.json is not None:
        try:
            path = results.write_json(args.json)
        except OSError as exc:
            print(f"adcore simulate: cannot write --json {args.json}: {exc}", file=sys.stderr)
            return 2
        print(f"\ntable: {path}")
    if args.report is not None:
        from .sim.report import write_report

        page = write_report(results, args.report)
        print(f"\nreport: {page}")
    return 0
