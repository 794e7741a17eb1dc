"""``driftline bench``: argument checks, progress display, output (the measurements are in ``bench``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Optional, TextIO

__all__ = ["run"]


def _progress(stream: TextIO) -> Optional[Callable[[str, int, int], None]]:
    """A one-line progress display on a terminal; nothing when the stream is not one."""
    if not stream.isatty():
        return None

    def show(step: str, index: int, steps: int) -> None:
        end = "\n" if index == steps else ""
        stream.write(f"\r\x1b[2K[{index}/{steps}] {'measuring ' + step if index < steps else 'done'}{end}")
        stream.flush()

    return show


def _profile(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    from .bench import synthetic_profile
    from .profile import Profile

    if args.profile is not None:
        if args.categorical is not None:
            parser.error("--categorical describes a synthetic profile; it cannot be combined with --profile")
        try:
            return Profile.load(args.profile)
        except OSError as e:
            parser.error(f"--profile {args.profile!r}: {e.strerror or e}")
        except ValueError as e:  # DecodeError: not a profile file
            parser.error(f"--profile {args.profile!r}: {e}")
    features = 50 if args.features is None else args.features
    categorical = 5 if args.categorical is None else args.categorical
    if features < 1 or not 0 <= categorical <= features:
        parser.error("need --features >= 1 and 0 <= --categorical <= --features")
    return synthetic_profile(features, min(categorical, features))


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from .cli import unwritable_output

    if not args.rate > 0 or args.workers < 1 or not args.scrape_interval > 0:
        parser.error("--rate and --scrape-interval must be positive, --workers at least 1")
    if args.repeats < 0 or args.rounds < 1:
        parser.error("--repeats must be >= 0 and --rounds >= 1")
    if not (0 < args.bucket <= args.window) or abs(round(args.window / args.bucket) * args.bucket - args.window) > 1e-9 * args.window:
        parser.error("--window must be a positive whole number of --bucket")
    if args.json is not None:
        problem = unwritable_output(args.json)
        if problem:  # before measuring: a bad path must not cost the run
            parser.error(f"--json {args.json!r}: {problem}")


def _write_json(path: str, payload: dict[str, Any]) -> None:
    with open(path, "w") as out:
        json.dump(payload, out, indent=2)
        out.write("\n")


def _run_server(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        from .server_bench import run_server_bench
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        parser.error('--server needs FastAPI and uvicorn: pip install "driftline[server-bench]"')
    say = (lambda message: print(message, file=sys.stderr)) if sys.stderr.isatty() else None
    shape = {"features": args.features} if args.features is not None else {}
    if args.categorical is not None:
        shape["categorical"] = args.categorical
    result = run_server_bench(workers=args.workers, rounds=args.rounds, progress=say, host=args.host, **shape)
    from .bench import machine

    result["machine"] = machine()
    for endpoint, entry in result["endpoints"].items():
        t = entry["throughput"]["ratio"]
        print(f"{endpoint}: throughput with driftline{' (HostMonitor)' if args.host else ''} / without: {t['median']:.3f} (min {t['min']:.3f}, max {t['max']:.3f}, "
              f"{args.rounds} interleaved rounds)")
        for label in ("bounded", "saturated"):
            c = entry[f"cpu_{label}"]
            print(f"  {label} load: driftline CPU per request {c['server']['driftline_ns'] / 1e3:.2f} µs in the server, "
                  f"{c['tight_loop']['driftline_ns'] / 1e3:.2f} µs in a tight loop ({c['driftline_ratio']:.2f}x; "
                  f"typical request {c['driftline_median_ratio']:.2f}x); "
                  f"control (the model's own Python) {c['control_ratio']:.2f}x; "
                  f"{c['interrupted_share']:.1%} of requests interrupted, left out")
    if args.json:
        _write_json(args.json, result)
    return 0


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    _check(args, parser)
    if args.server:
        return _run_server(args, parser)
    from ._sizing import format_figures, format_sizing, sizing
    from .bench import BenchConfig, machine, run_bench
    from .policy import Policy

    profile = _profile(args, parser)
    config = BenchConfig(window=args.window, bucket=args.bucket, quick=args.quick, repeats=args.repeats)
    policy = Policy()
    figures = run_bench(profile, config, policy, progress=_progress(sys.stderr))
    table = sizing(figures, args.rate, args.workers, args.window, args.bucket, policy.min_count, args.scrape_interval)
    about = machine()
    numeric = sum(1 for f in profile if not hasattr(f, "categories"))
    print(f"driftline {about['driftline']} on {about['cpu']} ({about['cores']} cores, {about['simd']} kernels), "
          f"Python {about['python']}, numpy {about['numpy']}")
    print(f"Profile: {len(profile)} features ({numeric} numeric, {len(profile) - numeric} categorical)")
    print(f"Measured (median, min – max over {config.repeats} runs):")
    print(format_figures(figures))
    print()
    print(format_sizing(table))
    if args.json:
        _write_json(args.json, {
            "machine": about,
            "config": {"features": len(profile), "numeric": numeric, "window": args.window, "bucket": args.bucket,
                       "repeats": config.repeats, "quick": args.quick, "min_count": policy.min_count},
            "figures": {name: figure.to_dict() for name, figure in figures.items()},
            "sizing": table,
        })
    return 0
