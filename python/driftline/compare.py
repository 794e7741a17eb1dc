"""Batch comparison: a reference and a current dataset, judged as one sample, no time involved."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import numpy.typing as npt

from ._columns import named_columns
from ._convert import numeric_vector
from .drift import chi2, ks
from .monitor import Monitor
from .policy import Policy
from .profile import NumericFeature, Profile
from .report import Distribution, FeatureReport, Report

__all__ = ["compare", "adjust_pvalues"]

CORRECTIONS = ("bonferroni", "holm", "fdr_bh")

# The whole batch is bucket [0, 1) of a Monitor whose clock reads 1.0 forever:
# that bucket is complete, so every rule of the Policy applies unchanged to it
# (the ring holds it and the empty bucket [1, 2)).
_BUCKET = 1.0


def compare(
    reference: Any,
    current: Any,
    policy: Optional[Policy] = None,
    *,
    categorical: Optional[Iterable[str]] = None,
    bins: int = 10,
    max_categories: int = 50,
    names: Optional[Sequence[str]] = None,
    correction: Optional[str] = None,
    timestamps: Optional[npt.ArrayLike] = None,
) -> Report:
    """What drifted between ``reference`` and ``current``, judged on the whole batch.

    ``reference`` is a :class:`Profile` or data one is built from
    (:meth:`Profile.from_data` with ``categorical``, ``bins``, ``max_categories``
    and ``names``); ``current`` is any input shape :meth:`Profile.from_data`
    takes (a mapping of columns, a DataFrame, a 2-D array with ``names=``).

    Every feature gets a verdict under ``policy`` (default :class:`Policy`) on
    the whole current batch: the same rules as a Monitor's bucket (PSI
    thresholds above the noise floor for these sample sizes, missing,
    out-of-range and unseen rates, stuck values, ``min_count``), but no buckets,
    no hysteresis and no staleness. The status is effect size first; the
    p-values are there to read:

    - ``ks``, ``ks_pvalue``, ``ks_method``: numeric features, the exact
      two-sample Kolmogorov-Smirnov test on the raw values (:func:`driftline.ks`,
      as ``scipy.stats.ks_2samp``, NaN left out) when ``reference`` is data;
      against a Profile, the binned statistic, its bound and asymptotic p-value
      (``ks_method="binned"``);
    - ``chi2_pvalue``: every feature, the chi-square homogeneity test on its
      reference cells (:func:`driftline.chi2`; NaN when fewer than two cells
      hold values);
    - ``correction``: ``None`` (default), ``"bonferroni"``, ``"holm"`` (both
      control the family-wise error rate) or ``"fdr_bh"`` (Benjamini-Hochberg,
      the false discovery rate) fills ``ks_pvalue_adjusted`` and
      ``chi2_pvalue_adjusted``, each family adjusted across the features.

    Sample sizes are in every feature report (``count``, ``reference_count``);
    ``Report.source`` is ``"compare"``.

    Seasonal profiles: with a seasonal ``reference`` Profile and ``timestamps``
    (one per current row), the batch is judged against the mixture of the
    season slots' references weighted by the batch's rows in each slot (thin
    slots count as the overall reference), with the mixture's effective size
    ``1 / sum(w_s^2 / n_s)`` for the noise floor; ``FeatureReport.reference``
    is then ``"season mixture"``.
    """
    if correction is not None and correction not in CORRECTIONS:
        raise ValueError(f"correction must be None or one of {CORRECTIONS}, got {correction!r}")
    policy = policy if policy is not None else Policy()
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a driftline.Policy, got {type(policy).__name__}")
    raw_reference: dict[str, Any] = {}
    if isinstance(reference, Profile):
        profile = reference
    else:
        profile = Profile.from_data(reference, categorical, bins, max_categories, names=names)
        raw_reference = dict(named_columns(reference, names)[0])
    columns = dict(named_columns(current, names if isinstance(current, np.ndarray) else None)[0])

    monitor = batch_monitor(profile, policy)
    reference_cells: Optional[list[np.ndarray]] = None
    if timestamps is not None:
        rows = len(next(iter(columns.values()))) if columns else 0
        mixture = season_mixture(profile, timestamps, rows)
        monitor._judge.judge_against(profile, mixture, "season mixture")
        reference_cells = [cells for _, _, cells, _, _ in mixture]
    monitor.observe(columns, t=0.0)
    return judge_batch(monitor, correction, reference_cells, raw_reference, columns)


def batch_monitor(profile: Profile, policy: Policy, state: Optional[bytes] = None) -> Monitor:
    """The Monitor a batch is counted by (bucket [0, 1), clock at 1.0; see _BUCKET), new or decoded from ``state``."""
    batch_policy = dataclasses.replace(policy, consecutive=1)
    clock = lambda: _BUCKET  # noqa: E731 - the batch's fixed time
    if state is None:
        monitor = Monitor(profile, window=2 * _BUCKET, bucket=_BUCKET, policy=batch_policy, clock=clock)
    else:
        monitor = Monitor.from_bytes(state, batch_policy, clock, profile=profile)
    monitor._judge.judged_span = "in the current data"
    return monitor


def judge_batch(
    monitor: Monitor,
    correction: Optional[str],
    reference_cells: Optional[list[np.ndarray]] = None,
    raw_reference: Optional[dict[str, Any]] = None,
    columns: Optional[dict[str, Any]] = None,
) -> Report:
    """The batch Monitor's report with compare's figures: chi-square, KS (exact on raw data), corrected p-values."""
    if correction is not None and correction not in CORRECTIONS:
        raise ValueError(f"correction must be None or one of {CORRECTIONS}, got {correction!r}")
    profile = monitor.profile
    if reference_cells is None:
        reference_cells = [f.cells() for f in profile]
    raw_reference, columns = raw_reference or {}, columns or {}
    monitor_report = monitor.report()
    current_cells = monitor._span_cells(2 * _BUCKET, _BUCKET)

    features: dict[str, FeatureReport] = {}
    for i, feature in enumerate(profile):
        r = monitor_report.features[feature.name]
        extra: dict[str, Any] = {
            "chi2_pvalue": _chi2_pvalue(reference_cells[i], current_cells[i]),
            "distribution": Distribution.of(
                feature.labels(), reference_cells[i], current_cells[i], not isinstance(feature, NumericFeature)
            ),
        }
        if isinstance(feature, NumericFeature):
            extra.update(_ks_fields(r, raw_reference.get(feature.name), columns.get(feature.name)))
        features[feature.name] = dataclasses.replace(r, **extra)
    if correction is not None:
        for family in ("ks_pvalue", "chi2_pvalue"):
            judged = [name for name, f in features.items() if _finite(getattr(f, family))]
            adjusted = adjust_pvalues([getattr(features[n], family) for n in judged], correction)
            for name, p in zip(judged, adjusted):
                adjusted_field: dict[str, Any] = {family + "_adjusted": float(p)}
                features[name] = dataclasses.replace(features[name], **adjusted_field)
    return dataclasses.replace(
        monitor_report,
        time=math.nan,
        span=math.nan,
        features=features,
        source="compare",
        pvalue_correction=correction,
    )


def season_mixture(profile: Profile, timestamps: npt.ArrayLike, rows: int) -> list[tuple[bool, bool, np.ndarray, float, float]]:
    """Per feature, the reference a batch with these timestamps should look like under a seasonal profile.

    The mixture of the slots' reference proportions weighted by the batch's rows
    in each slot (slots below the profile's ``min_rows`` contribute the overall
    reference), scaled to the effective reference size ``1 / sum(w_s^2 / n_s)``
    (the size whose sampling noise equals the mixture's), as the evaluator's
    (categorical, constant, cells, missing, total).
    """
    seasonality = profile.seasonality
    if seasonality is None:
        raise ValueError("timestamps= needs a seasonal reference profile (Profile.from_data(..., seasonality=...))")
    slots = np.asarray(seasonality.slot_of(numeric_vector(timestamps, "timestamps")))
    if slots.ndim != 1 or slots.size != rows:
        raise ValueError(f"timestamps must hold one timestamp per current row ({rows}), got {slots.size}")
    if rows == 0:
        raise ValueError("a seasonal comparison needs at least one current row")
    weights = np.bincount(slots, minlength=seasonality.slots) / rows
    season_rows = profile.season_rows().astype(np.float64)
    thin = season_rows < seasonality.min_rows
    out = []
    for f in profile:
        overall = np.asarray(f.histogram.slot_counts(), dtype=np.float64)  # cells and NaN
        shares = np.zeros_like(overall)
        inverse_size = 0.0
        for k in np.flatnonzero(weights).tolist():
            counts = overall if thin[k] else profile.season_counts(k, f.name).astype(np.float64)
            size = counts.sum()
            shares += weights[k] * counts / size
            inverse_size += weights[k] ** 2 / size
        total = 1.0 / inverse_size
        mixed = shares * total
        out.append((not isinstance(f, NumericFeature), bool(f.constant), mixed[:-1], float(mixed[-1]), float(total)))
    return out


def adjust_pvalues(pvalues: Sequence[float], method: str) -> np.ndarray:
    """p-values adjusted for testing them together: ``"bonferroni"``, ``"holm"`` or ``"fdr_bh"``.

    Bonferroni multiplies by the number of tests; Holm's step-down multiplies the
    i-th smallest by ``(m - i)`` and keeps the sequence non-decreasing;
    Benjamini-Hochberg multiplies the i-th smallest by ``m / (i + 1)`` and keeps
    it non-increasing from the largest down. All are clipped to 1.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    if m == 0:
        return p
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must be finite and in [0, 1]")
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        steps = np.maximum.accumulate(ranked * (m - np.arange(m)))
    elif method == "fdr_bh":
        steps = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    else:
        raise ValueError(f"method must be one of {CORRECTIONS}, got {method!r}")
    out = np.empty(m)
    out[order] = np.minimum(steps, 1.0)
    return out


def _finite(v: Optional[float]) -> bool:
    return v is not None and math.isfinite(v)


def _chi2_pvalue(reference_cells: np.ndarray, current_cells: np.ndarray) -> float:
    if current_cells.sum() == 0 or reference_cells.sum() == 0 or np.count_nonzero(reference_cells + current_cells) < 2:
        return math.nan
    return float(chi2(reference_cells, current_cells).pvalue)


def _numeric_values(column: Any) -> Optional[np.ndarray]:
    """A column's values as float64, or None when it holds anything but numbers (the Monitor counted those invalid)."""
    if column is None:
        return None
    arr = np.asarray(column)
    if arr.dtype.kind not in "biuf":
        return None
    return arr.astype(np.float64, copy=False)


def _ks_fields(report: FeatureReport, reference: Any, current: Any) -> dict[str, Any]:
    ref, cur = _numeric_values(reference), _numeric_values(current)
    if ref is not None and cur is not None and np.any(~np.isnan(ref)) and np.any(~np.isnan(cur)):
        r = ks(ref, cur, nan_policy="omit")
        return {"ks": r.statistic, "ks_bound": None, "ks_pvalue": r.pvalue, "ks_method": r.method}
    if report.ks is None:
        return {}
    return {"ks_pvalue": report.ks_pvalue, "ks_method": "binned"}
