"""Prometheus recording and alerting rules that compute drift across every worker and host in PromQL.

``driftline prometheus-rules PROFILE -o driftline.rules.yml`` writes them
(``promtool check rules`` accepts the file; it is JSON, which is YAML). No
dependency: the rules are data.

Why this is exact: :class:`~driftline.prometheus.MonitorCollector` exports,
per feature and reference cell, the values in the report span
(``_feature_cell_values``) and the profile's counts
(``_feature_reference_cell_values``). Buckets are aligned in event time, so
at one instant the span counts of all workers and hosts add up to the counts
of one Monitor that saw every event; the rules sum them (no ``rate()`` or
``increase()``, so nothing is extrapolated) and apply driftline's PSI to the
sums: with ``s = 0.5`` pseudo-counts per cell over ``k`` cells,
``p_i = (r_i + s) / (R + k s)``, ``q_i = (c_i + s) / (C + k s)`` and
``PSI = max(0, sum_i (q_i - p_i) ln(q_i / p_i))`` — the value
``driftline merge`` of the same states reports, to floating-point rounding.

Series recorded (``by`` labels first, then ``feature``): ``{prefix}:feature_psi``,
``{prefix}:feature_values:sum``, and the sums they come from; ``{prefix}:rows:rate5m``;
``{prefix}:latency_seconds:p50_5m`` and ``:p99_5m``, the median and p99 latency of
every worker over the last 5 minutes (``histogram_quantile`` of the summed
rates of the latency histogram's buckets).
Alerts: ``DriftlineFeatureDrift`` (PSI at or above ``psi_alert`` with at least
``min_count`` values), ``DriftlineFeatureDriftWarning`` (``psi_warn``) and
``DriftlineStatusAlert`` (any worker's overall status alert).
"""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence

from .policy import Policy
from .profile import Profile

__all__ = ["rules"]

SMOOTHING = 0.5  # the pseudo-count of every PSI driftline reports (cpp/src/evaluator.cpp)
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION = re.compile(r"([0-9]+(ms|s|m|h|d|w|y))+$")


def rules(
    profile: Profile,
    *,
    prefix: str = "driftline",
    by: Sequence[str] = (),
    policy: Optional[Policy] = None,
    alert_for: str = "5m",
    interval: str = "30s",
) -> dict[str, Any]:
    """The rule file for Monitors of ``profile`` as a dict (``{"groups": [...]}``).

    ``by``: the labels that tell services apart (e.g. ``["job"]`` or a
    ``model`` label given to ``MonitorCollector(labels=...)``); series are summed
    over every other label (instance, pod, worker). ``alert_for``: how long a
    condition must hold before an alert fires; ``interval``: the group's
    evaluation interval.
    """
    if not isinstance(profile, Profile):
        raise TypeError(f"profile must be a driftline.Profile, got {type(profile).__name__}")
    policy = policy if policy is not None else Policy()
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a driftline.Policy, got {type(policy).__name__}")
    if not _LABEL.match(prefix):
        raise ValueError(f"prefix must be a Prometheus metric name prefix, got {prefix!r}")
    by = list(by)
    for label in by:
        if not _LABEL.match(label) or label in ("feature", "cell", "le", "__name__"):
            raise ValueError(f"cannot group by {label!r}: not a label name, or one the rules use themselves")
    for name, value in (("alert_for", alert_for), ("interval", interval)):
        if not _DURATION.match(value):
            raise ValueError(f"{name} must be a Prometheus duration such as 30s or 5m, got {value!r}")

    p, s = prefix, repr(SMOOTHING)
    keys = ", ".join(by + ["feature"])
    cell_keys = ", ".join(by + ["feature", "cell"])
    match = f"on({keys})"
    recorded = [
        (f"{p}:feature_cell_values:sum", f"sum by ({cell_keys}) ({p}_feature_cell_values)"),
        # Every worker exports the same profile: one copy of its counts.
        (f"{p}:feature_reference_cell_values:max", f"max by ({cell_keys}) ({p}_feature_reference_cell_values)"),
        (f"{p}:feature_values:sum", f"sum by ({keys}) ({p}:feature_cell_values:sum)"),
        (f"{p}:feature_reference_values:sum", f"sum by ({keys}) ({p}:feature_reference_cell_values:max)"),
        (f"{p}:feature_cells:count", f"count by ({keys}) ({p}:feature_reference_cell_values:max)"),
        (f"{p}:feature_cell_ratio:smoothed",
         f"({p}:feature_cell_values:sum + {s}) / {match} group_left() "
         f"({p}:feature_values:sum + {match} {p}:feature_cells:count * {s})"),
        (f"{p}:feature_reference_cell_ratio:smoothed",
         f"({p}:feature_reference_cell_values:max + {s}) / {match} group_left() "
         f"({p}:feature_reference_values:sum + {match} {p}:feature_cells:count * {s})"),
        (f"{p}:feature_psi",
         f"clamp_min(sum by ({keys}) (({p}:feature_cell_ratio:smoothed - {p}:feature_reference_cell_ratio:smoothed)"
         f" * ln({p}:feature_cell_ratio:smoothed / {p}:feature_reference_cell_ratio:smoothed)), 0)"
         f" and {match} ({p}:feature_values:sum > 0)"),
        (f"{p}:rows:rate5m", f"sum by ({', '.join(by)}) (rate({p}_rows_total[5m]))" if by else f"sum(rate({p}_rows_total[5m]))"),
    ]
    # Latency quantiles of every worker and host from the summed histogram buckets.
    latency_keys = ", ".join(by + ["le"])
    for q, name in (("0.5", "p50"), ("0.99", "p99")):
        recorded.append(
            (
                f"{p}:latency_seconds:{name}_5m",
                f"histogram_quantile({q}, sum by ({latency_keys}) (rate({p}_latency_seconds_bucket[5m])))",
            )
        )
    enough = f"{match} ({p}:feature_values:sum >= {policy.min_count})"
    labels = {"profile": profile.fingerprint[:16]}
    alerts = [
        {
            "alert": "DriftlineFeatureDrift",
            "expr": f"{p}:feature_psi >= {policy.psi_alert!r} and {enough}",
            "for": alert_for,
            "labels": {**labels, "severity": "critical"},
            "annotations": {
                "summary": "{{ $labels.feature }} drifted: PSI {{ $value | printf \"%.3f\" }} across all workers",
                "description": f"PSI of the summed span counts is at or above {policy.psi_alert} (driftline Policy.psi_alert).",
            },
        },
        {
            "alert": "DriftlineFeatureDriftWarning",
            "expr": f"{p}:feature_psi >= {policy.psi_warn!r} and {p}:feature_psi < {policy.psi_alert!r} and {enough}",
            "for": alert_for,
            "labels": {**labels, "severity": "warning"},
            "annotations": {
                "summary": "{{ $labels.feature }} is drifting: PSI {{ $value | printf \"%.3f\" }} across all workers",
                "description": f"PSI of the summed span counts is at or above {policy.psi_warn} (driftline Policy.psi_warn).",
            },
        },
        {
            "alert": "DriftlineStatusAlert",
            "expr": f"max by ({', '.join(by)}) ({p}_status) >= 2" if by else f"max({p}_status) >= 2",
            "for": alert_for,
            "labels": {**labels, "severity": "critical"},
            "annotations": {"summary": "a driftline Monitor reports alert (see its report for the reasons)"},
        },
    ]
    return {
        "groups": [
            {
                "name": f"{p}-drift",
                "interval": interval,
                "rules": [{"record": name, "expr": expr} for name, expr in recorded] + alerts,
            }
        ]
    }
