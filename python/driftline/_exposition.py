"""What a Monitor's report exports, shared by the Prometheus collector and the OpenTelemetry producer.

Names follow the Prometheus conventions (ratios end in ``_ratio``, durations in
``_seconds``); OpenTelemetry gets the same names with dots. A value that does
not apply or does not exist yet is left out, never exported as NaN.
"""

from __future__ import annotations

import math
from typing import Any

# The value of the status gauges.
STATUS_VALUES = {"insufficient data": -1.0, "ok": 0.0, "warn": 1.0, "alert": 2.0}
STATUS_HELP = "-1 insufficient data, 0 ok, 1 warn, 2 alert"

# (name, help, FeatureReport attribute) of the per-feature gauges.
FEATURE_GAUGES = (
    ("feature_psi", "PSI of the feature against its reference over the report span", "psi"),
    ("feature_psi_noise_floor", "PSI that reference-like samples of these sizes exceed by chance", "psi_noise_floor"),
    ("feature_js_distance", "Jensen-Shannon distance (base 2) against the reference", "js_distance"),
    ("feature_ks", "binned Kolmogorov-Smirnov statistic at the reference edges (numeric features)", "ks"),
    ("feature_missing_ratio", "share of rows with the field missing, None, NaN or unreadable", "missing_rate"),
    ("feature_out_of_range_ratio", "share of values beyond the reference range (numeric features)", "out_of_range_rate"),
    ("feature_unseen_ratio", "share of values outside the reference categories (categorical features)", "unseen_rate"),
    ("feature_values", "non-missing values in the report span", "count"),
    ("feature_value_age_seconds", "seconds since the feature last had a non-missing value", "seconds_since_value"),
)

# (name, help, LatencyReport attribute) of the latency gauges over the span.
LATENCY_GAUGES = (
    ("latency_p50_seconds", "median latency over the report span (1 % relative accuracy)", "p50"),
    ("latency_p90_seconds", "90th percentile latency over the report span (1 % relative accuracy)", "p90"),
    ("latency_p99_seconds", "99th percentile latency over the report span (1 % relative accuracy)", "p99"),
    ("latency_p999_seconds", "99.9th percentile latency over the report span (1 % relative accuracy)", "p999"),
    ("latency_max_seconds", "largest latency over the report span", "max"),
)


def present(v: Any) -> bool:
    """Whether a value is exported: absent, never NaN, where there is nothing to say."""
    return v is not None and not (isinstance(v, float) and math.isnan(v))
