"""What a Monitor says: per-feature drift and quality, schema, staleness, latency, one status."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, Optional

__all__ = ["Report", "FeatureReport", "SchemaReport", "LatencyReport", "Contributor", "Distribution", "Timeline", "Status"]


class Status(str, Enum):
    """A verdict. A ``str`` subclass: ``Status.OK == "ok"``, and it formats and serializes as its text."""

    OK = "ok"
    WARN = "warn"
    ALERT = "alert"
    INSUFFICIENT_DATA = "insufficient data"

    def __str__(self) -> str:
        return self.value

    # Hash as the text, so dicts and sets keyed by "ok" find Status.OK.
    __hash__ = str.__hash__

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def level(self) -> int:
        """0 ok, 1 warn, 2 alert; -1 for insufficient data."""
        return _LEVEL_OF[self]


_LEVEL_OF = {Status.OK: 0, Status.WARN: 1, Status.ALERT: 2, Status.INSUFFICIENT_DATA: -1}


def _plain(v: Any) -> Any:
    """JSON-ready: dataclasses to dicts, tuples to lists, non-finite floats to None."""
    if hasattr(v, "__dataclass_fields__"):
        return {f.name: _plain(getattr(v, f.name)) for f in fields(v)}
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Status):
        return v.value
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if hasattr(v, "item"):  # numpy scalar
        return _plain(v.item())
    return v


@dataclass(frozen=True)
class Contributor:
    """A bin or category and its share of the drift: the PSI term ``(q - p) ln(q / p)``."""

    cell: str
    reference: float  # proportion in the reference
    current: float  # proportion now
    psi: float


@dataclass(frozen=True)
class Distribution:
    """A feature's reference and current proportions over the reference cells (missing values left out).

    Numeric cells are ``< e0``, the bins ``[e_i, e_i+1)`` and ``>= e_k``;
    categorical cells are the categories and ``(other)``. Proportions are of
    the non-missing values (all zero when there are none).
    """

    labels: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]

    @classmethod
    def of(cls, labels: list[str], reference_cells: Any, current_cells: Any, categorical: bool) -> "Distribution":
        ref = [float(x) for x in reference_cells]
        cur = [float(x) for x in current_cells]
        if categorical:  # a categorical histogram's flow cells hold nothing by construction
            labels, ref, cur = labels[1:-1], ref[1:-1], cur[1:-1]
        rt, ct = sum(ref), sum(cur)
        return cls(
            tuple(labels),
            tuple(x / rt if rt else 0.0 for x in ref),
            tuple(x / ct if ct else 0.0 for x in cur),
        )


@dataclass(frozen=True)
class Timeline:
    """Per bucket of a Monitor's span (oldest first): its start time and each feature's level (0 ok, 1 warn, 2 alert, -1 not judged)."""

    starts: tuple[float, ...]
    levels: dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class FeatureReport:
    """One feature over the report's time span, and its status under the policy.

    Rates are fractions. ``rows`` counts every observation (also with the field
    missing); ``count`` the non-missing values the drift statistics use.
    Numeric features: from a Monitor, ``ks`` is the Kolmogorov-Smirnov statistic
    at the reference cell edges, ``ks_bound`` an upper bound on the statistic of
    the raw values (the two differ by what binning hides inside a cell; the raw
    statistic lies between them), ``ks_pvalue`` the p-value of ``ks`` under
    Kolmogorov's limiting distribution at ``sqrt(n_r n_c / (n_r + n_c)) * ks``
    (``scipy.stats.kstwobign.sf``; constant cost whatever the counts) and
    ``ks_method`` ``"binned"``; from :func:`driftline.compare` on raw data,
    ``ks`` and ``ks_pvalue`` are the exact two-sample test (``ks_method``
    ``"exact"`` or ``"asymp"``, as scipy) and ``ks_bound`` is None.
    ``chi2_pvalue`` (compare only) is the chi-square homogeneity test on the
    reference cells; the ``*_adjusted`` p-values are set when compare was asked
    for a multiple-testing correction. ``psi_noise_floor`` is the PSI that
    samples of these sizes from the reference itself exceed with probability
    ``Policy.noise_alpha``. ``reference`` names the reference the span's
    figures were computed against: "overall", or for a seasonal profile the
    season slot of the span's newest bucket ("hour-of-day 14"); each bucket's
    verdict used its own slot's reference (slots with too few reference rows
    fall back to "overall").
    """

    name: str
    kind: str
    status: Status
    reasons: tuple[str, ...]
    rows: int
    count: int
    reference_count: int
    psi: float
    psi_noise_floor: float
    js_distance: float
    ks: Optional[float]
    ks_bound: Optional[float]
    missing_rate: float
    reference_missing_rate: float
    absent: int
    invalid: int
    out_of_range_rate: Optional[float]
    reference_out_of_range_rate: Optional[float]
    unseen_rate: Optional[float]
    reference_other_rate: Optional[float]
    unseen_examples: tuple[Any, ...]
    top_contributors: tuple[Contributor, ...]
    seconds_since_value: Optional[float]
    stuck: bool
    minimum: Optional[float]
    maximum: Optional[float]
    ks_pvalue: Optional[float] = None
    ks_method: Optional[str] = None
    chi2_pvalue: Optional[float] = None
    ks_pvalue_adjusted: Optional[float] = None
    chi2_pvalue_adjusted: Optional[float] = None
    reference: str = "overall"
    distribution: Optional[Distribution] = None  # batch comparisons, and Monitor.report(detail=True)


@dataclass(frozen=True)
class SchemaReport:
    """Fields missing from traffic (with their absent rate), unexpected fields (with counts), probable renames."""

    missing: dict[str, float] = field(default_factory=dict)
    unexpected: dict[str, int] = field(default_factory=dict)
    renames: tuple[tuple[str, str, float], ...] = ()  # (missing, unexpected, PSI between them)
    status: Status = Status.OK


@dataclass(frozen=True)
class LatencyReport:
    """Latency quantiles (seconds) over the span, from a 1 %-accurate sketch; NaN without data."""

    count: int
    p50: float
    p90: float
    p99: float
    p999: float
    max: float
    status: Status
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """A Monitor's verdict at ``time`` over the last ``span`` seconds, or a batch comparison's.

    ``status`` is the worst of the features, the schema and latency: "ok",
    "warn" or "alert", or "insufficient data" when nothing could be judged yet.
    Every row a Monitor observed is accounted for: ``rows`` in the span, and,
    not shown, ``before_span`` (in the window, before ``last``), ``expired``
    (aged out of the window), ``late`` and ``future`` (no bucket for their
    timestamps: older than the window, or ahead of the clock by more than one
    bucket; see Window). When late and future rows are most of all rows ever
    observed, the status is at least "warn" with a "timestamps:" reason.
    ``source`` is ``"monitor"`` or ``"compare"`` (:func:`driftline.compare`:
    ``time`` and ``span`` are NaN, the batch is judged as one sample, and
    ``pvalue_correction`` names the multiple-testing correction, if any).
    """

    status: Status
    time: float
    span: float
    rows: int
    late: int
    future: int
    features: dict[str, FeatureReport]
    schema: SchemaReport
    latency: LatencyReport
    reasons: tuple[str, ...]
    source: str = "monitor"
    pvalue_correction: Optional[str] = None
    expired: int = 0
    before_span: int = 0
    timeline: Optional[Timeline] = None  # Monitor.report(detail=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serializable data (non-finite numbers become None)."""
        out: dict[str, Any] = _plain(self)
        return out

    def to_html(self, path: "str | os.PathLike[str]") -> None:
        """Writes a self-contained HTML page of this report (no scripts or styles from the network).

        A status header with the reasons, a sortable table of every feature,
        a reference-vs-current plot per feature (with its top PSI contributors
        marked) where the report has distributions (batch comparisons, and
        ``Monitor.report(detail=True)``), the per-bucket timeline of a
        Monitor's detailed report, the schema and latency. Summaries only,
        never raw rows: its size grows with features and cells, not with data.
        """
        from ._html import render

        with open(path, "w", encoding="utf-8") as f:
            f.write(render(self))

    def to_frame(self) -> Any:
        """One row per feature as a pandas DataFrame (requires pandas)."""
        try:
            import pandas as pd  # type: ignore[import-untyped, unused-ignore]
        except ImportError as e:  # pragma: no cover - exercised only without pandas
            raise ImportError("Report.to_frame() needs pandas: pip install pandas") from e
        rows = []
        for f in self.features.values():
            d = _plain(f)
            d["reasons"] = "; ".join(f.reasons)
            d["top_contributors"] = ", ".join(c.cell for c in f.top_contributors)
            d["unseen_examples"] = ", ".join(map(str, f.unseen_examples))
            d.pop("distribution")
            rows.append(d)
        return pd.DataFrame(rows).set_index("name")

    def __str__(self) -> str:
        def num(v: Optional[float], fmt: str = ".3f") -> str:
            return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)

        scope = "batch comparison" if self.source == "compare" else f"last {self.span:g} s"
        lines = [f"driftline report: {self.status.upper()}  ({scope}, {self.rows} rows)"]
        hidden = {"before the span": self.before_span, "expired": self.expired, "late": self.late, "future": self.future}
        if any(hidden.values()):
            lines.append("not shown: " + ", ".join(f"{n} {what}" for what, n in hidden.items() if n))
        header = f"{'feature':<20} {'status':<18} {'count':>8} {'psi':>7} {'floor':>7} {'js':>6} {'missing':>8} {'range':>7}"
        lines += [header, "-" * len(header)]
        for f in self.features.values():
            rate = f.out_of_range_rate if f.kind == "numeric" else f.unseen_rate
            lines.append(
                f"{f.name[:20]:<20} {f.status:<18} {f.count:>8} {num(f.psi):>7} {num(f.psi_noise_floor):>7} "
                f"{num(f.js_distance, '.2f'):>6} {num(f.missing_rate, '.1%'):>8} {num(rate, '.1%'):>7}"
            )
        s = self.schema
        if s.missing or s.unexpected:
            lines.append(f"schema ({s.status}): missing {sorted(s.missing)}, unexpected {sorted(s.unexpected)}")
            for a, b, p in s.renames:
                lines.append(f"  probable rename: {a!r} -> {b!r} (PSI {p:.3f})")
        lat = self.latency
        if lat.count:
            lines.append(
                f"latency ({lat.status}): n={lat.count} p50={lat.p50 * 1e3:.2f} ms p90={lat.p90 * 1e3:.2f} ms "
                f"p99={lat.p99 * 1e3:.2f} ms p999={lat.p999 * 1e3:.2f} ms max={lat.max * 1e3:.2f} ms"
            )
        for r in self.reasons:
            lines.append(f"* {r}")
        return "\n".join(lines)
