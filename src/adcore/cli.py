"""The ``adcore`` command."""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.requests < 1:
            parser.error("--requests must be at least 1")
        from .demo import run_demo

        return run_demo(args.requests, seed=args.seed)
    return 2
