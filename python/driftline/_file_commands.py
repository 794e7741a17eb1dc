"""``driftline profile DATA`` and ``driftline compare PROFILE DATA``: the command line on Parquet and CSV files.

Exit status of ``compare`` (so a scheduler or CI job can gate on it): 0 ok,
1 warn, 2 alert, 3 insufficient data; 4 for an error (usage, a missing or
unreadable file, an empty file, a file that is not a profile). ``profile``
exits 0 or 4.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Iterable, Iterator, Optional

from ._command_support import EXIT_ERROR, deliver, fail, unwritable

__all__ = ["COMMANDS", "EXIT_ERROR", "add_commands", "run"]
COMMANDS = ("profile", "compare")


def add_commands(sub: Any) -> None:
    profile = sub.add_parser(
        "profile",
        help="build a reference profile from a Parquet file, a folder of Parquet files or a CSV file",
        description="Profiles DATA in record batches (memory stays flat for files larger than RAM) and saves "
        "the Profile; the result equals Profile.from_data of the same data in memory. Exit 0, or 4 on an error.",
    )
    profile.add_argument("data", metavar="DATA", help="a .parquet file, a folder of Parquet files, or a .csv file")
    profile.add_argument("-o", "--output", required=True, help="where to save the profile (e.g. reference.drift)")
    profile.add_argument("--categorical", default="", help="comma-separated columns to treat as categorical")
    profile.add_argument("--bins", type=int, default=10, help="quantile bins per numeric column (default 10)")
    profile.add_argument("--max-categories", type=int, default=50, help="categories kept per column (default 50)")
    _add_reading(profile)

    compare = sub.add_parser(
        "compare",
        help="compare a Parquet or CSV file with a saved profile; exit 0 ok, 1 warn, 2 alert, 3 insufficient data",
        description="Judges DATA against PROFILE as one batch (driftline.compare). Exit status: 0 ok, 1 warn, "
        "2 alert, 3 insufficient data, 4 error. Columns the profile does not know are reported in the schema.",
    )
    compare.add_argument("profile", metavar="PROFILE", help="a saved profile (driftline profile ... -o PROFILE)")
    compare.add_argument("data", metavar="DATA", help="a .parquet file, a folder of Parquet files, or a .csv file")
    compare.add_argument("--html", help="also write a self-contained HTML report here")
    compare.add_argument("--json", help="also write the report as JSON here")
    compare.add_argument(
        "--correction", choices=("bonferroni", "holm", "fdr_bh"), help="multiple-testing correction of the p-values"
    )
    _add_reading(compare)


def _add_reading(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--columns", default="", help="comma-separated columns to read (default: all)")
    parser.add_argument("--format", choices=("parquet", "csv"), help="the data's format (default: from the name)")
    parser.add_argument(
        "--batch-rows", type=int, default=None, help="rows per record batch (default: about 32 MiB of columns, at most 2^20)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no printed report")


def run(args: argparse.Namespace) -> int:
    # Before reading: a bad output path must not cost a pass over a big file.
    problem = unwritable([args.output] if args.command == "profile" else [args.html, args.json])
    if problem:
        return fail(problem)
    if args.batch_rows is not None and args.batch_rows < 1:
        return fail("--batch-rows must be positive")
    try:
        return _profile(args) if args.command == "profile" else _compare(args)
    except (ValueError, TypeError, OSError, ImportError) as e:  # FileError and DecodeError are ValueErrors
        return fail(str(e))


def _source(args: argparse.Namespace) -> Any:
    from .files import FileSource

    return FileSource(
        args.data, _names(args.columns), format=args.format, batch_rows=args.batch_rows, progress=_progress(args.quiet)
    )


def _profile(args: argparse.Namespace) -> int:
    from . import chunked

    source = _source(args)
    profile = chunked.profile(
        source, categorical=_names(args.categorical) or None, bins=args.bins, max_categories=args.max_categories
    )
    profile.save(args.output)
    if not args.quiet:
        kinds = [f.kind for f in profile]
        rows = next(iter(profile)).total
        print(
            f"profiled {rows} rows of {args.data}: {kinds.count('numeric')} numeric and "
            f"{kinds.count('categorical')} categorical features -> {args.output}"
        )
    return 0


def _compare(args: argparse.Namespace) -> int:
    from . import chunked
    from .files import FileError
    from .profile import Profile

    try:
        reference = Profile.load(args.profile)
    except FileNotFoundError:
        raise FileError(f"{args.profile}: no such file or directory") from None
    except ValueError as e:
        raise FileError(f"{args.profile}: not a driftline profile ({e})") from None
    source = _source(args)
    report = chunked.compare(reference, source, correction=args.correction)
    if report.rows == 0:
        raise FileError(f"{args.data}: no rows to compare")
    return deliver(report, args.json, args.html, args.quiet)


def _names(text: str) -> Optional[list[str]]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


def _progress(quiet: bool) -> Optional[Callable[[Iterable[Any], str, Optional[int]], Iterable[Any]]]:
    """A tqdm bar per pass on a terminal, shown once a pass runs longer than 2 s; nothing without tqdm or a TTY."""
    if quiet:
        return None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return None

    def wrap(batches: Iterable[Any], what: str, total: Optional[int]) -> Iterator[Any]:
        # disable=None: tqdm turns itself off when stderr is not a terminal.
        with tqdm(total=total, unit="rows", unit_scale=True, desc=what, disable=None, delay=2.0, leave=False,
                  file=sys.stderr) as bar:
            for batch in batches:
                yield batch
                bar.update(len(next(iter(batch.values()))) if batch else 0)

    return wrap
