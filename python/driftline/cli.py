"""The ``driftline`` command line (argparse; no extra dependency)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

__all__ = ["main"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="driftline", description="Always-on drift, data-quality and latency monitoring.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="stream a simulated day with injected incidents through a Monitor")
    demo.add_argument("--rate", type=float, default=40.0, help="requests per simulated second (default 40)")
    demo.add_argument("--hours", type=float, default=24.0, help="length of the simulated day in hours (default 24)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument(
        "--out",
        default="driftline-demo-report.json",
        help="where to write the final report as JSON (default: driftline-demo-report.json in the current directory)",
    )
    demo.add_argument("--quiet", action="store_true", help="print only the summary, not the timeline")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.hours <= 0:
        parser.error("--rate and --hours must be positive")
    problem = _unwritable_output(args.out)
    if problem:  # before the simulation: a bad path must not cost a simulated day
        parser.error(f"--out {args.out!r}: {problem}")
    from .demo import main as demo_main

    try:
        return demo_main(rate=args.rate, hours=args.hours, seed=args.seed, out=args.out, quiet=args.quiet)
    except BrokenPipeError:  # e.g. `driftline demo | head`: stop quietly, like other command-line tools
        # Python's documented recipe: point stdout at devnull so the final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _unwritable_output(path: str) -> Optional[str]:
    """Why a file cannot be written at path, or None."""
    if os.path.isdir(path):
        return "is a directory"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"directory {folder!r} does not exist"
    if not os.access(folder, os.W_OK):
        return f"directory {folder!r} is not writable"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
