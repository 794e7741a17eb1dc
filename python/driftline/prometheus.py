"""Prometheus exposition of a Monitor's report, through prometheus_client (an optional extra).

    pip install "driftline[prometheus]"

    from prometheus_client import REGISTRY, start_http_server
    from driftline.prometheus import MonitorCollector

    REGISTRY.register(MonitorCollector(monitor, labels={"model": "fraud-v3"}))
    start_http_server(9108)

Each scrape computes ``monitor.report(last)`` once and exposes it; nothing is
kept between scrapes, so what Prometheus sees is exactly what ``report()``
says at that moment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Optional, Union

from ._exposition import (
    FEATURE_GAUGES,
    LATENCY_GAUGES,
    STATUS_HELP,
    STATUS_VALUES,
    latency_boundaries,
    latency_cumulative,
    present,
)
from ._initialized import RequiresInit
from .monitor import Monitor
from .report import Report

if TYPE_CHECKING:
    from .host import HostMonitor

try:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
    from prometheus_client.registry import Collector
    from prometheus_client.samples import Sample
    from prometheus_client.utils import floatToGoString
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError('driftline.prometheus needs prometheus_client: pip install "driftline[prometheus]"') from e

__all__ = ["MonitorCollector", "STATUS_VALUES", "registry_for"]

class MonitorCollector(RequiresInit, Collector):
    """A prometheus_client collector for one :class:`~driftline.Monitor`.

    Metrics (``prefix`` defaults to ``driftline``; ``labels`` are added to every sample):

    - ``{prefix}_status``, ``{prefix}_schema_status``, ``{prefix}_latency_status``
      and ``{prefix}_feature_status{feature}``: -1 insufficient data, 0 ok,
      1 warn, 2 alert (each in its own metric, so no feature name can collide
      with another part);
    - ``{prefix}_feature_psi``, ``_psi_noise_floor``, ``_js_distance``, ``_ks``,
      ``_missing_ratio``, ``_out_of_range_ratio``, ``_unseen_ratio``,
      ``_values`` and ``_value_age_seconds``, with a ``feature`` label;
    - ``{prefix}_feature_cell_values{feature, cell}``: the values in each
      reference cell over the span, and ``{prefix}_feature_reference_cell_values``
      the profile's: summed over workers and hosts they give the PSI of all of
      them in PromQL (:mod:`driftline.prometheus_rules`); ``cells=False``
      leaves them out (a single-process service that needs no cross-host PSI
      saves most of a 200-feature scrape's cost);
    - ``{prefix}_schema_missing_fields`` and ``{prefix}_schema_unexpected_fields``;
    - ``{prefix}_latency_seconds``: a histogram (``_bucket{le}``, ``_count``,
      ``_sum``) of every latency over the Monitor's life, counters that never go
      down (expired latencies are kept), so ``histogram_quantile(0.99, sum by
      (le) (rate({prefix}_latency_seconds_bucket[5m])))`` gives the p99 of all
      workers and hosts. Its ``le`` boundaries are 2^(j / 2^latency_scale)
      seconds from 2^-13 s (122 us) to 2^6 s (64 s): ``latency_scale`` 1 (the
      default) gives 39 boundaries (a factor of 1.41) plus +Inf; 0, 2 and 3 give
      20, 77 and 153. They are boundaries of the sketch's own buckets, so every
      count is exact;
    - ``{prefix}_latency_p50_seconds``, ``_p90_``, ``_p99_``, ``_p999_`` and
      ``{prefix}_latency_max_seconds`` over the span (of this Monitor, or of
      the host for a HostMonitor; across hosts, use the histogram), and
      ``{prefix}_latency_observations``;
    - counters ``{prefix}_rows_total``, ``{prefix}_late_rows_total``,
      ``{prefix}_future_rows_total`` and ``{prefix}_expired_rows_total`` over the
      Monitor's life.

    A value that does not apply or does not exist yet (``ks`` of a categorical
    feature, PSI or quantiles before any data) is an absent series, never NaN.
    Cardinality: 10 series per feature, plus twice its cells (12 for a 10-bin
    numeric feature), plus 15, plus the histogram's boundaries + 3 (42 by
    default), times the label sets.

    Thread-safe as the Monitor is; a scrape costs one ``report()``.
    """

    def __init__(
        self,
        monitor: Union[Monitor, "HostMonitor"],
        prefix: str = "driftline",
        last: Optional[float] = None,
        labels: Optional[dict[str, str]] = None,
        cells: bool = True,
        latency_scale: int = 1,
    ) -> None:
        from .host import HostMonitor

        if isinstance(monitor, HostMonitor):
            self._host: Optional[HostMonitor] = monitor
            monitor = monitor.monitor
        elif isinstance(monitor, Monitor):
            self._host = None
        else:
            raise TypeError(f"monitor must be a driftline.Monitor or HostMonitor, got {type(monitor).__name__}")
        if not isinstance(prefix, str) or not prefix.replace("_", "a").isalnum() or prefix[0].isdigit():
            raise ValueError(f"prefix must be a Prometheus metric name prefix ([a-zA-Z_][a-zA-Z0-9_]*), got {prefix!r}")
        if isinstance(latency_scale, bool) or latency_scale not in (0, 1, 2, 3):
            raise ValueError(f"latency_scale must be 0, 1, 2 or 3 (2^scale buckets per doubling), got {latency_scale!r}")
        self._monitor = monitor
        self._latency_scale = latency_scale
        self._le = [floatToGoString(b) for b in latency_boundaries(latency_scale)] + ["+Inf"]
        self._prefix = prefix
        self._last = last
        self._labels = dict(labels or {})
        self._cells = bool(cells)
        self._label_cache: Optional[tuple[list[str], list[dict[str, str]]]] = None
        self._cell_label_cache: Optional[list[list[dict[str, str]]]] = None
        self._reference_samples: Optional[list[Any]] = None  # the profile's cells never change
        for key in self._labels:
            if key in ("feature", "cell"):
                raise ValueError(f"label {key!r} is used by the collector itself")

    def _feature_labels(self, features: list[Any]) -> list[dict[str, str]]:
        """{**labels, "feature": name} per feature, kept while the feature names stay the same."""
        names = [f.name for f in features]
        cached = self._label_cache
        if cached is None or cached[0] != names:
            cached = self._label_cache = (names, [{**self._labels, "feature": n} for n in names])
        return cached[1]

    def _cell_labels(self) -> list[list[dict[str, str]]]:
        """Per feature of the profile, {**labels, feature, cell} for each of its cells (0 = below the first edge)."""
        if self._cell_label_cache is None:
            self._cell_label_cache = [
                [{**self._labels, "feature": f.name, "cell": str(i)} for i in range(len(f.cells()))]
                for f in self._monitor.profile
            ]
        return self._cell_label_cache

    def _cell_families(
        self, view: Monitor, report: Optional[Report], names: list[str], values: list[str]
    ) -> Iterator[Any]:
        """The counts PSI is computed from: they sum exactly across workers and hosts at one instant."""
        p = self._prefix
        current = GaugeMetricFamily(
            f"{p}_feature_cell_values",
            "values per reference cell over the report span (cells of driftline.Profile: below the first edge, "
            "the bins, at or above the last edge; for categories, the flows, the categories and other)",
            labels=names + ["feature", "cell"],
        )
        reference = GaugeMetricFamily(
            f"{p}_feature_reference_cell_values", "reference values per cell (the profile's)", labels=names + ["feature", "cell"]
        )
        if report is not None:
            label_sets = self._cell_labels()
            if self._reference_samples is None:
                self._reference_samples = [
                    Sample(reference.name, labels, float(v), None, None)
                    for f, feature_labels in zip(self._monitor.profile, label_sets)
                    for labels, v in zip(feature_labels, f.cells())
                ]
            reference.samples = self._reference_samples
            spans = view._span_cells(report.span, report.time)
            current.samples = [
                Sample(current.name, labels, float(v), None, None)
                for feature_labels, counts in zip(label_sets, spans)
                for labels, v in zip(feature_labels, counts.tolist())
            ]
        yield current
        yield reference

    def describe(self) -> Iterator[Any]:
        # Names only, so registering does not compute a report.
        return self._families(self._monitor, None)

    def collect(self) -> Iterator[Any]:
        if self._host is None:
            return self._families(self._monitor, self._monitor.report(self._last))
        # A HostMonitor's scrape is of every worker's state, merged once into its scrape view.
        with self._host._scrape_view() as view:
            return iter(list(self._families(view, view.report(self._last))))

    def _families(self, view: Monitor, report: Optional[Report]) -> Iterator[Any]:
        p, names, values = self._prefix, list(self._labels), list(self._labels.values())

        levels = STATUS_HELP
        for suffix, part in (("status", "overall"), ("schema_status", "schema"), ("latency_status", "latency")):
            family = GaugeMetricFamily(f"{p}_{suffix}", f"{part} status: {levels}", labels=names)
            if report is not None:
                status = report.status if part == "overall" else getattr(report, part).status
                family.add_metric(values, STATUS_VALUES[status])
            yield family

        features = list(report.features.values()) if report is not None else []
        label_sets = self._feature_labels(features)
        for suffix, doc, attribute in (("feature_status", f"feature status: {levels}", "status"),) + FEATURE_GAUGES:
            family = GaugeMetricFamily(f"{p}_{suffix}", doc, labels=names + ["feature"])
            # Samples built directly (one label dict per feature, shared by
            # every family): add_metric's per-call zip and dict would double
            # the collector's cost at hundreds of features.
            metric = family.name
            column = [getattr(f, attribute) for f in features]
            if attribute == "status":
                column = [STATUS_VALUES[v] for v in column]
            family.samples = [
                Sample(metric, labels, float(v), None, None) for labels, v in zip(label_sets, column) if present(v)
            ]
            yield family

        if self._cells:
            yield from self._cell_families(view, report, names, values)

        for suffix, doc, count in (
            ("schema_missing_fields", "fields missing from traffic", lambda r: len(r.schema.missing)),
            ("schema_unexpected_fields", "fields the profile does not know", lambda r: len(r.schema.unexpected)),
            ("latency_observations", "latencies in the span", lambda r: r.latency.count),
        ):
            family = GaugeMetricFamily(f"{p}_{suffix}", doc, labels=names)
            if report is not None:
                family.add_metric(values, float(count(report)))
            yield family

        for suffix, doc, attribute in LATENCY_GAUGES:
            family = GaugeMetricFamily(f"{p}_{suffix}", doc, labels=names)
            value: Optional[float] = getattr(report.latency, attribute) if report is not None else None
            if value is not None and present(value):
                family.add_metric(values, float(value))
            yield family

        latency = HistogramMetricFamily(
            f"{p}_latency_seconds",
            "request latencies over the Monitor's life (buckets of its quantile sketch; counters: use rate())",
            labels=names,
        )
        if report is not None:
            lifetime = view._latency._lifetime_at(report.time)
            below, observed, total_seconds = latency_cumulative(lifetime, self._latency_scale)
            latency.add_metric(
                values, list(zip(self._le, below.tolist() + [float(observed)])), sum_value=total_seconds
            )
        yield latency

        for suffix, doc, total in (
            ("rows", "rows observed over the Monitor's life", lambda r: view.rows),
            ("late_rows", "rows older than the window when they arrived", lambda r: r.late),
            ("future_rows", "rows more than one bucket ahead of the clock", lambda r: r.future),
            ("expired_rows", "rows that aged out of the window", lambda r: r.expired),
        ):
            counter = CounterMetricFamily(f"{p}_{suffix}", doc, labels=names)
            if report is not None:
                counter.add_metric(values, float(total(report)))
            yield counter


def registry_for(monitor: Union[Monitor, "HostMonitor"], **options: Any) -> Any:
    """A fresh ``CollectorRegistry`` holding one :class:`MonitorCollector` (``options`` go to it)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(MonitorCollector(monitor, **options))
    return registry
