"""``driftline prometheus-rules PROFILE``: recording and alerting rules for PSI across workers and hosts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._command_support import fail, unwritable

COMMAND = "prometheus-rules"


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        COMMAND,
        help="write Prometheus recording and alerting rules that compute PSI across every worker and host",
        description="Writes a rule file (check it with `promtool check rules`): PSI per feature from the span "
        "counts every MonitorCollector exports, summed over workers and hosts, and alerts at the Policy's "
        "thresholds. See driftline.prometheus_rules.",
    )
    parser.add_argument("profile", metavar="PROFILE", help="the Profile the Monitors use")
    parser.add_argument("-o", "--output", help="where to write the rules (default: standard output)")
    parser.add_argument("--prefix", default="driftline", help="the collectors' metric prefix (default driftline)")
    parser.add_argument("--by", default="", help="comma-separated labels that tell services apart (e.g. job,model)")
    parser.add_argument("--for", dest="alert_for", default="5m", help="how long before an alert fires (default 5m)")
    parser.add_argument("--interval", default="30s", help="rule evaluation interval (default 30s)")


def run(args: argparse.Namespace) -> int:
    from .profile import Profile
    from .prometheus_rules import rules

    problem = unwritable([args.output])
    if problem:
        return fail(problem)
    try:
        profile = Profile.load(args.profile)
    except FileNotFoundError:
        return fail(f"{args.profile}: no such file or directory")
    except ValueError as e:
        return fail(f"{args.profile}: not a driftline profile ({e})")
    try:
        by = [label.strip() for label in args.by.split(",") if label.strip()]
        text = json.dumps(rules(profile, prefix=args.prefix, by=by, alert_for=args.alert_for, interval=args.interval), indent=2)
    except ValueError as e:
        return fail(str(e))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0
