"""The ``adcore`` command."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence

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
        help="simulate a day of the marketplace with the agents and compare against a baseline",
    )
    sim.add_argument(
        "--scenario",
        default="steady",
        help="a built-in scenario name or a .toml/.json file (default steady)",
    )
    sim.add_argument(
        "--compare",
        default="baseline",
        help="the arm to compare the agents against (default baseline); "
        "'none' for the agents alone",
    )
    sim.add_argument("--seeds", type=int, default=1, help="how many seeds (default 1)")
    sim.add_argument(
        "--requests", type=int, default=None, help="requests per day (default: the scenario's)"
    )
    sim.add_argument(
        "--report", default=None, metavar="DIR", help="write an HTML report with plots into DIR"
    )
    sim.add_argument("--no-progress", action="store_true", help="no progress bar")
    sim.add_argument("--list", action="store_true", help="list the built-in scenarios")

    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.requests < 1:
            parser.error("--requests must be at least 1")
        from .demo import run_demo

        return run_demo(args.requests, seed=args.seed)
    if args.command == "simulate":
        return _simulate(parser, args)
    return 2


def _simulate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .sim import ARMS, SCENARIOS, InvalidScenario, simulate

    if args.list:
        for name, sc in sorted(SCENARIOS.items()):
            print(f"{name:<18} {sc.description}")
        return 0
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.requests is not None and args.requests < 100:
        parser.error("--requests must be at least 100")
    arms = ["agents"] if args.compare == "none" else ["agents", args.compare]
    if args.compare != "none" and args.compare not in ARMS:
        parser.error(f"--compare must be one of {sorted(ARMS)} or none")
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
    if args.report is not None:
        from .sim.report import write_report

        page = write_report(results, args.report)
        print(f"\nreport: {page}")
    return 0
