"""What a Monitor's report exports, shared by the Prometheus collector and the OpenTelemetry producer.

Names follow the Prometheus conventions (ratios end in ``_ratio``, durations in
``_seconds``); OpenTelemetry gets the same names with dots. A value that does
not apply or does not exist yet is left out, never exported as NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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


# The latency histogram's bucket boundaries: 2^(j / 2^scale) seconds from
# 2^-13 s (122 us) to 2^6 s (64 s), which are boundaries of the quantile
# sketch's own buckets whenever the sketch's scale is at least ``scale`` (its
# default is 6), so every cumulative count is exact, not interpolated.
LATENCY_HISTOGRAM_RANGE = (-13, 6)


def latency_boundaries(scale: int) -> "np.ndarray[Any, np.dtype[np.float64]]":
    """The ``le`` values of the latency histogram at ``scale`` (2^scale buckets per doubling), +Inf excluded."""
    low, high = LATENCY_HISTOGRAM_RANGE
    steps = np.arange(low << scale, (high << scale) + 1, dtype=np.int64)
    return np.exp2(steps / float(1 << scale))


def latency_cumulative(sketch: Any, scale: int) -> tuple["np.ndarray[Any, np.dtype[np.float64]]", int, float]:
    """Per boundary of :func:`latency_boundaries`, the sketch's values at or below it; then the count and the sum.

    Sketch bucket i holds (2^(i/2^s), 2^((i+1)/2^s)], so the values at or below
    2^(j/2^scale) are those of buckets i < j * 2^(s - scale): exact while
    s >= scale; at a coarser sketch scale the floor keeps the counts a lower
    bound that still grows with the boundary. Zeros and negatives are below
    every boundary; +Inf only in the +Inf bucket (the count).
    """
    low, high = LATENCY_HISTOGRAM_RANGE
    steps = np.arange(low << scale, (high << scale) + 1, dtype=np.int64)
    s = int(sketch.scale)
    thresholds = steps << (s - scale) if s >= scale else steps >> (scale - s)  # floor division for negatives too
    indices, counts = sketch.buckets(False)
    _, negative = sketch.buckets(True)
    running = np.concatenate(([0], np.cumsum(counts, dtype=np.uint64)))
    below = running[np.searchsorted(indices, thresholds, side="left")]
    base = int(sketch.zero_count) + int(negative.sum())
    count = int(sketch.count) + int(sketch.positive_inf_count) + int(sketch.negative_inf_count)
    return below.astype(np.float64) + base, count, float(sketch.sum) if sketch.count else 0.0
