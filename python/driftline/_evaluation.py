"""A Monitor's judgement: the core's Evaluator does the arithmetic; this module writes the report and its reasons."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional, Union

import numpy as np

from . import _core
from .policy import Policy, hysteresis
from .profile import CategoricalFeature, NumericFeature, Profile
from .report import Contributor, FeatureReport, LatencyReport, SchemaReport, Status
from .sketch import QuantileSketch
from .window import Window

__all__ = ["Judge", "latency_report", "overall_status", "timestamp_reason"]

_THRESHOLDS = (
    "psi_warn", "psi_alert", "noise_alpha", "missing_warn", "missing_alert",
    "range_warn", "range_alert", "unseen_warn", "unseen_alert",
)
_BY_LEVEL = (Status.INSUFFICIENT_DATA, Status.OK, Status.WARN, Status.ALERT)  # index: level + 1


def status_of(level: int) -> Status:
    return _BY_LEVEL[level + 1]


@dataclasses.dataclass(frozen=True)
class _FeatureText:
    """What a feature's report says that never changes: its cell labels, reference rates and report template."""

    numeric: bool
    labels: list[str]
    reference_missing: float
    reference_rate: float  # out of range (numeric) or "other" (categorical)
    template: dict[str, Any]  # every FeatureReport field; the core overwrites the per-report ones

    @staticmethod
    def of(
        f: Union[NumericFeature, CategoricalFeature],
        cells: Optional[np.ndarray] = None,
        missing: Optional[float] = None,
        total: Optional[float] = None,
    ) -> "_FeatureText":
        """From the feature's reference, or from the reference ``cells``, ``missing`` and ``total`` given."""
        cells = f.cells() if cells is None else cells
        missing_count = f.missing if missing is None else missing
        rows = f.total if total is None else total
        numeric = isinstance(f, NumericFeature)
        ref_n = float(cells.sum())
        part = cells[0] + cells[-1] if numeric else cells[-2]
        rate = float(part / ref_n) if ref_n else 0.0
        missing_rate = missing_count / rows if rows else 0.0
        template: dict[str, Any] = {field.name: None for field in dataclasses.fields(FeatureReport)}
        template.update(
            name=f.name,
            kind=f.kind,
            reasons=(),
            reference_count=int(ref_n),
            reference_missing_rate=missing_rate,
            reference_out_of_range_rate=rate if numeric else None,
            reference_other_rate=None if numeric else rate,
            unseen_examples=(),
            reference="overall",
        )
        return _FeatureText(numeric, f.labels(), missing_rate, rate, template)


class Judge:
    """Judges a Monitor's FeatureWindow against its profile under a policy.

    Everything per feature and per bucket is computed by ``_core.Evaluator``
    in one call without the GIL (which caches completed buckets' verdicts);
    this class only turns its arrays into :class:`FeatureReport` objects.
    ``judged_span`` is how reasons name the judged sample ("in the latest
    bucket" for a Monitor, "in the current data" for a batch comparison).
    """

    def __init__(self, profile: Profile, policy: Policy, bucket: float, judged_span: str = "in the latest bucket") -> None:
        self.policy = policy
        self.judged_span = judged_span
        self.stale_after = policy.stale_after if policy.stale_after is not None else 5 * bucket
        self._names = profile.names
        self._features = [_FeatureText.of(f) for f in profile]
        seasonality = profile.seasonality
        self._types = self._report_types(
            [seasonality.name(k) for k in range(seasonality.slots)] if seasonality is not None else []
        )
        self._evaluator = _core.Evaluator(
            [(not isinstance(f, NumericFeature), bool(f.constant), f.cells(), float(f.missing), float(f.total)) for f in profile],
            {
                **{k: float(getattr(policy, k)) for k in _THRESHOLDS},
                "min_count": policy.min_count,
                "consecutive": policy.consecutive,
                "stale_after": float(self.stale_after),
            },
        )
        if seasonality is not None:
            self._evaluator.set_seasons(
                seasonality.slots, 3600.0, seasonality.utc_offset, seasonality.phase, _season_references(profile)
            )

    def judge_against(self, profile: Profile, features: list[Any], name: str) -> None:
        """Judges every bucket and span against one other reference (as the evaluator's features), named ``name``.

        The reports' reference figures (count, missing and flow rates) are that reference's too.
        """
        self._evaluator.set_seasons(1, 3600.0, 0.0, 0, [features])
        self._features = [
            _FeatureText.of(f, cells, missing, total) for f, (_, _, cells, missing, total) in zip(profile, features)
        ]
        self._types = self._report_types([name])

    def _report_types(self, season_names: list[str]) -> Any:
        """What the core builds this judge's FeatureReports from (see _core.ReportTypes)."""
        return _core.ReportTypes(
            FeatureReport,
            Contributor,
            [t.template for t in self._features],
            [t.labels for t in self._features],
            [t.numeric for t in self._features],
            _BY_LEVEL,
            season_names,
        )

    def evaluate(self, window: Any, span: float, now: float) -> dict[str, Any]:
        """The core's arrays for a report (see ``_core.Evaluator.evaluate``), with its FeatureReports under "reports"."""
        result: dict[str, Any] = self._evaluator.evaluate(window, span, now, self._types)
        return result

    def feature_reports(self, arrays: dict[str, Any], unseen: dict[int, tuple[Any, ...]]) -> dict[str, FeatureReport]:
        """The FeatureReports of ``evaluate``, with their reason text and ``unseen`` examples (by feature index).

        The core built every report object from its feature's template (the
        hot loop of a scrape); only the few features with a finding get text.
        """
        reports: list[FeatureReport] = arrays["reports"]
        flags = arrays["reasons"]
        for i in np.flatnonzero(flags).tolist():
            since = float(arrays["seconds_since_value"][i])
            reports[i].__dict__["reasons"] = self._reasons(i, int(flags[i]), int(arrays["state"][i]), arrays, since)
        for i, examples in unseen.items():
            if not self._features[i].numeric:
                reports[i].__dict__["unseen_examples"] = examples
        return dict(zip(self._names, reports))

    def _reasons(self, i: int, flags: int, state: int, arrays: dict[str, Any], since: float) -> tuple[str, ...]:
        """The text of feature i's reason flags, most specific first (a stuck feature also "drifts")."""
        policy, span = self.policy, self.judged_span
        feature = self._features[i]
        numeric, ref_missing, ref_rate = feature.numeric, feature.reference_missing, feature.reference_rate
        out = []
        if flags & _core.REASON_STUCK:
            out.append(f"stuck: every value {span} is the same")
        if flags & _core.REASON_DRIFT:
            out.append(
                f"drift: PSI {float(arrays['bucket_psi'][i]):.3f} {span} (warn {policy.psi_warn:g}, "
                f"alert {policy.psi_alert:g}, noise floor {float(arrays['bucket_floor'][i]):.3f})"
            )
        if flags & _core.REASON_MISSING:
            out.append(f"missing values: {float(arrays['bucket_missing'][i]):.1%} {span} vs {ref_missing:.1%} in the reference")
        if flags & _core.REASON_RATE:
            name = "out of range" if numeric else "unseen categories"
            out.append(f"{name}: {float(arrays['bucket_rate'][i]):.1%} {span} vs {ref_rate:.1%} in the reference")
        if flags & _core.REASON_HELD:
            out.append(
                f"held by hysteresis until {policy.consecutive} buckets in a row are below {status_of(state).value}"
            )
        if flags & _core.REASON_NEVER_SEEN:
            out.append("stale: no value yet")
        elif flags & _core.REASON_STALE:
            out.append(f"stale: no value for {since:.0f} s (limit {self.stale_after:g} s)")
        return tuple(out)


def _season_references(profile: Profile) -> list[Any]:
    """Per season slot, the evaluator's reference features, or None where too few reference rows fall back to the overall one."""
    seasonality = profile.seasonality
    assert seasonality is not None
    rows = profile.season_rows()
    out: list[Any] = []
    for k in range(seasonality.slots):
        if rows[k] < seasonality.min_rows:
            out.append(None)
            continue
        features = []
        for f in profile:
            counts = profile.season_counts(k, f.name)
            features.append(
                (not isinstance(f, NumericFeature), bool(f.constant), counts[:-1].astype(np.float64),
                 float(counts[-1]), float(counts.sum()))
            )
        out.append(features)
    return out


def latency_report(
    window: Window[QuantileSketch], policy: Policy, bucket: float, span: float, now: float, judged_span: str
) -> LatencyReport:
    """Latency quantiles over the span; judged per completed bucket on p99 when the policy sets a limit."""
    sketch = window._merged_at(span, now)
    qs = sketch.quantiles([0.5, 0.9, 0.99, 0.999]) if sketch.count else [math.nan] * 4
    status, reasons = Status.OK, []
    if policy.latency_p99_warn is not None or policy.latency_p99_alert is not None:
        warn = policy.latency_p99_warn if policy.latency_p99_warn is not None else math.inf
        alert = policy.latency_p99_alert if policy.latency_p99_alert is not None else math.inf
        levels, p99s = [], []
        for start, s in window._series_at(now):
            if start + bucket <= now and s.count >= policy.min_count:
                p99 = float(s.quantile(0.99))
                p99s.append(p99)
                levels.append(2 if p99 >= alert else (1 if p99 >= warn else 0))
        state = hysteresis(levels, policy.consecutive)
        status = status_of(state)
        if state:
            reasons.append(f"p99 {p99s[-1] * 1e3:.1f} ms {judged_span} (warn {warn * 1e3:g} ms, alert {alert * 1e3:g} ms)")
    return LatencyReport(
        count=int(sketch.count),
        p50=float(qs[0]),
        p90=float(qs[1]),
        p99=float(qs[2]),
        p999=float(qs[3]),
        max=float(sketch.max) if sketch.count else math.nan,
        status=status,
        reasons=tuple(reasons),
    )


def timestamp_reason(total: int, late: int, future: int) -> Optional[str]:
    """Why most rows are not in the report, when most rows ever observed went to no bucket for their timestamps.

    Both sides are lifetime counts, so the rule reads the same on every report:
    a Monitor whose rows mostly carry timestamps outside its window (a wrong
    unit, a lagging replay, a clock that disagrees with the data) says so,
    instead of showing few rows or "insufficient data" without a cause.
    """
    dropped = late + future
    if dropped == 0 or 2 * dropped <= total:
        return None
    parts = []
    if future:
        parts.append(f"{future} ahead of the clock by more than one bucket")
    if late:
        parts.append(f"{late} older than the window")
    return (
        f"{dropped} of {total} rows observed went to no bucket for their timestamps ({', '.join(parts)}); "
        "timestamps must be seconds since the epoch on the Monitor's clock"
    )


def overall_status(
    features: dict[str, FeatureReport],
    levels: np.ndarray,
    schema: SchemaReport,
    latency: LatencyReport,
    min_count: int,
    timestamps: Optional[str] = None,
) -> tuple[Status, tuple[str, ...]]:
    """The worst of features (``levels``: evaluate's, -1 not judged), schema, latency and timestamps, with every reason.

    ``timestamps`` (from :func:`timestamp_reason`) makes the status at least a warn.
    """
    judged = bool((levels >= 0).any())
    worst = max(int(levels.max(initial=-1)), schema.status.level, latency.status.level)
    if timestamps is not None:
        worst = max(worst, Status.WARN.level)
    if worst == 0 and not judged and latency.count < min_count:
        status = Status.INSUFFICIENT_DATA
    else:
        status = status_of(worst)
    reasons: list[str] = []
    if (levels > 0).any():
        for f in features.values():
            if f.status is Status.WARN or f.status is Status.ALERT:
                reasons += [f"{f.name}: {r}" for r in f.reasons]
    if schema.missing:
        reasons.append(f"schema: fields missing from traffic: {sorted(schema.missing)}")
    if schema.unexpected:
        reasons.append(f"schema: unexpected fields: {sorted(schema.unexpected)}")
    for a, b, p in schema.renames:
        reasons.append(f"schema: {a!r} was probably renamed to {b!r} (PSI {p:.3f} between them)")
    reasons += [f"latency: {r}" for r in latency.reasons]
    if timestamps is not None:
        reasons.append(f"timestamps: {timestamps}")
    return status, tuple(reasons)
