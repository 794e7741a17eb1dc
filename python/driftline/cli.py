"""The ``driftline`` command line (argparse; no extra dependency)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from . import _file_commands as file_commands
from . import _rules_command as rules_command
from . import _state_commands as state_commands

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
    _add_bench(sub)
    file_commands.add_commands(sub)
    state_commands.add_commands(sub)
    rules_command.add_command(sub)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        # compare's and report's exit 2 means "alert": a usage error of these commands exits 4 instead.
        words = list(sys.argv[1:] if argv is None else argv)
        if e.code == 2 and any(w in file_commands.COMMANDS + state_commands.COMMANDS for w in words[:1]):
            raise SystemExit(file_commands.EXIT_ERROR) from None
        raise
    if args.command in file_commands.COMMANDS:
        return file_commands.run(args)
    if args.command in state_commands.COMMANDS:
        return state_commands.run(args)
    if args.command == rules_command.COMMAND:
        return rules_command.run(args)
    if args.command == "bench":
        from ._bench_command import run

        return run(args, parser)
    if args.rate <= 0 or args.hours <= 0:
        parser.error("--rate and --hours must be positive")
    problem = unwritable_output(args.out)
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


def _add_bench(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    bench = sub.add_parser(
        "bench",
        help="measure what a Monitor costs on this machine and print a sizing table",
        description="Measures observe, the latency timer, report, a Prometheus scrape, state encoding and memory "
        "for one profile on this machine, then sizes a deployment at the given traffic.",
    )
    shape = bench.add_mutually_exclusive_group()
    shape.add_argument("--profile", help="a saved Profile (Profile.save) to measure with")
    shape.add_argument("--features", type=int, default=None, help="features of a synthetic profile (default 50)")
    bench.add_argument("--categorical", type=int, default=None, help="of which categorical (default 5)")
    bench.add_argument("--rate", type=float, default=100.0, help="requests per second on one host (default 100)")
    bench.add_argument("--workers", type=int, default=1, help="worker processes per host (default 1)")
    bench.add_argument("--window", type=float, default=3600.0, help="Monitor window in seconds (default 3600)")
    bench.add_argument("--bucket", type=float, default=60.0, help="Monitor bucket in seconds (default 60)")
    bench.add_argument("--scrape-interval", type=float, default=15.0, help="Prometheus scrape interval (default 15 s)")
    bench.add_argument("--repeats", type=int, default=0, help="runs per figure (default 7, or 5 with --quick)")
    bench.add_argument("--quick", action="store_true", help="fewer and shorter runs (under 30 s)")
    bench.add_argument("--json", help="write every raw figure to this file")
    bench.add_argument(
        "--server",
        action="store_true",
        help='instead: the in-server benchmark (FastAPI under uvicorn on loopback; pip install "driftline[server-bench]")',
    )
    bench.add_argument("--rounds", type=int, default=6, help="--server: interleaved throughput rounds (default 6)")
    bench.add_argument(
        "--host",
        action="store_true",
        help="--server: the workers share one state through a HostMonitor (driftline.host), publishing every second",
    )


def unwritable_output(path: str) -> Optional[str]:
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
