"""``driftline merge`` and ``driftline report``: Monitor state files (``Monitor.to_bytes``) from many workers or hosts.

A STATE is a file written by ``Monitor.to_bytes`` (or ``merge -o``), or a
HostMonitor's host file (``/dev/shm/...``: every worker's slot of one host,
merged). ``merge A.drift B.drift -o all.drift`` adds the states into one (what one
Monitor that saw every event would hold) and writes it with the profile
embedded, so it travels alone. ``report STATE`` prints the report of a state
file and exits with its status like ``compare``: 0 ok, 1 warn, 2 alert,
3 insufficient data, 4 error.

The clock is not part of the state: both commands read the state as of
``--at`` (seconds since the epoch; default now), which decides which buckets
are in the window (a file from yesterday needs ``--at`` to show its rows).
"""

from __future__ import annotations

import argparse
import hashlib
import os
from typing import Any, Optional

from ._command_support import deliver, fail, unwritable

COMMANDS = ("merge", "report")


def add_commands(sub: Any) -> None:
    merge = sub.add_parser(
        "merge",
        help="merge Monitor state files (Monitor.to_bytes) from many workers or hosts into one",
        description="Adds Monitor states of one profile, window and bucket into one state file (profile embedded). "
        "The same file content given twice is refused: it would count its rows twice. Exit 0, or 4 on an error.",
    )
    merge.add_argument(
        "states", metavar="STATE", nargs="+", help="state files written by Monitor.to_bytes(), or HostMonitor host files"
    )
    merge.add_argument("-o", "--output", required=True, help="where to write the merged state")
    _add_common(merge)

    report = sub.add_parser(
        "report",
        help="print the report of a Monitor state file; exit 0 ok, 1 warn, 2 alert, 3 insufficient data",
        description="Decodes a state file (Monitor.to_bytes) and prints monitor.report(last). Exit status: 0 ok, "
        "1 warn, 2 alert, 3 insufficient data, 4 error.",
    )
    report.add_argument(
        "state", metavar="STATE", help="a state file (Monitor.to_bytes, driftline merge -o, or a HostMonitor's host file)"
    )
    report.add_argument("--last", type=float, default=None, help="report over the last LAST seconds (default: the window)")
    report.add_argument("--json", help="also write the report as JSON here")
    report.add_argument("--html", help="also write the detailed report as a self-contained HTML page here")
    report.add_argument("--quiet", action="store_true", help="print nothing; only the exit status")
    _add_common(report)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile", help="the Profile the states were recorded with (needed when they do not embed it)"
    )
    parser.add_argument(
        "--at", type=float, default=None, help="read the states as of this time (seconds since the epoch; default now)"
    )


def run(args: argparse.Namespace) -> int:
    problem = unwritable([args.output] if args.command == "merge" else [args.json, args.html])
    if problem:
        return fail(problem)
    try:
        return _merge(args) if args.command == "merge" else _report(args)
    except (ValueError, TypeError, OSError, OverflowError) as e:  # DecodeError is a ValueError
        return fail(str(e))


def _clock(at: Optional[float]) -> Any:
    if at is None:
        return None  # the wall clock
    return lambda: at


def _profile(path: Optional[str]) -> Any:
    if path is None:
        return None
    from .profile import Profile

    try:
        return Profile.load(path)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file or directory") from None
    except ValueError as e:
        raise ValueError(f"{path}: not a driftline profile ({e})") from None


def _load(path: str, profile: Any, clock: Any) -> Any:
    from ._monitor_codec import ProfileMismatchError
    from .monitor import Monitor

    if _is_host_file(path):
        from . import host

        try:
            return host.read(path, clock=clock)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
    data = _read(path)
    try:
        return Monitor.from_bytes(data, clock=clock, profile=profile)
    except ProfileMismatchError as e:
        if profile is None:
            raise ValueError(f"{path}: the state refers to its profile by fingerprint; pass --profile PROFILE "
                             "(the profile it was recorded with)") from None
        raise ValueError(f"{path}: {e}") from None
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def _is_host_file(path: str) -> bool:
    """Whether ``path`` is a HostMonitor's host file (every worker's slot, merged when read)."""
    from ._host_file import MAGIC

    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False  # _read reports it


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file or directory") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, not a state file") from None


def _merge(args: argparse.Namespace) -> int:
    profile, clock = _profile(args.profile), _clock(args.at)
    seen: dict[str, str] = {}
    for path in args.states:
        digest = hashlib.sha256(_read(path)).hexdigest()
        if digest in seen:
            raise ValueError(f"{path} holds the same state as {seen[digest]}: merging it would count its rows twice")
        seen[digest] = path
    merged = _load(args.states[0], profile, clock)
    for path in args.states[1:]:
        other = _load(path, profile if profile is not None else merged.profile, clock)
        try:
            merged.merge(other)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
    data = merged.to_bytes(embed_profile=True)
    temporary = f"{args.output}.{os.getpid()}.tmp"
    with open(temporary, "wb") as f:  # written whole, then renamed: a reader never sees half a file
        f.write(data)
    os.replace(temporary, args.output)
    return 0


def _report(args: argparse.Namespace) -> int:
    monitor = _load(args.state, _profile(args.profile), _clock(args.at))
    if args.last is not None and not args.last >= 0:
        raise ValueError(f"--last must be a non-negative number of seconds, got {args.last}")
    return deliver(monitor.report(args.last, detail=bool(args.html)), args.json, args.html, args.quiet)
