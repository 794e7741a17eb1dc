"""What the commands that judge data share: exit statuses, error messages, output checks, writing a report."""

from __future__ import annotations

import json
import sys
from typing import Iterable, Optional

from .report import Report, Status

# A scheduler or CI job gates on these: the report's status, or 4 for an error.
EXIT_ERROR = 4
EXIT_OF_STATUS = {Status.OK: 0, Status.WARN: 1, Status.ALERT: 2, Status.INSUFFICIENT_DATA: 3}


def fail(message: str) -> int:
    """Prints ``driftline: error: message`` to stderr; returns the error exit status."""
    print(f"driftline: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def unwritable(paths: Iterable[Optional[str]]) -> Optional[str]:
    """The message for the first output path that cannot be written, or None (checked before any work)."""
    from .cli import unwritable_output

    for path in paths:
        if path:
            problem = unwritable_output(path)
            if problem:
                return f"{path!r}: {problem}"
    return None


def deliver(report: Report, json_path: Optional[str], html_path: Optional[str], quiet: bool) -> int:
    """Writes the report where asked, prints it unless quiet, and returns its exit status."""
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(report.to_dict(), f, indent=2)
    if html_path:
        report.to_html(html_path)
    if not quiet:
        print(report)
    return EXIT_OF_STATUS[report.status]
