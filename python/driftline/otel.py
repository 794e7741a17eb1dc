"""OpenTelemetry export of a Monitor through the OpenTelemetry SDK: ``pip install "driftline[otel]"``.

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from driftline.otel import MonitorProducer, attach

    reader = PeriodicExportingMetricReader(exporter)         # e.g. the OTLP exporter
    provider = MeterProvider(metric_readers=[reader])
    attach(reader, MonitorProducer(monitor, attributes={"model": "fraud-v3"}))

:class:`MonitorProducer` is the OpenTelemetry specification's *MetricProducer*
(``produce()`` returns SDK ``MetricsData``). The Python SDK has no hook to
register one yet (opentelemetry-python issue #4768), so :func:`attach` wraps a
registered reader's collect callback to add the producer's metrics to every
collection; it relies on the SDK's ``MetricReader._collect`` attribute (tested
with SDK 1.45).

What is produced (OpenTelemetry names; a Prometheus exporter of the Collector
turns them into the names ``driftline.prometheus`` uses):

- ``driftline.latency`` (unit ``s``): an **exponential histogram** with
  *delta* temporality whose scale, offset and bucket counts are the latency
  sketch's own (base-2 exponential buckets, 1 % relative accuracy): each
  produce() exports the latency buckets of the Monitor's window completed since
  the previous one (at first, since the start of the bucket the producer was
  made in), merged, as one point from the previous point's end. Every
  latency recorded at the clock's time (``monitor.time()``, ``observe_latency``
  without ``t``) is exported exactly once; one recorded later into an already
  exported bucket (an explicit past ``t``, a merge) is not. Points of many
  workers sum to the sketch of their merged Monitors (the buckets are aligned in
  event time). Infinite and NaN latencies have no bucket and are left out.
- gauges ``driftline.status``, ``driftline.schema_status``,
  ``driftline.latency_status`` and ``driftline.feature_status`` (attribute
  ``feature``), -1 insufficient data … 2 alert; the per-feature and latency
  gauges of :mod:`driftline.prometheus` (``_seconds`` becomes the unit ``s``,
  ``_ratio`` the unit ``1``); absent, never NaN, where there is no value;
- cumulative monotonic sums ``driftline.rows``, ``driftline.late_rows``,
  ``driftline.future_rows`` and ``driftline.expired_rows`` from the
  producer's creation.

Thread-safe: produce() holds a lock while it reads the window and moves its
cursor; a collection costs one ``report()``.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Optional

import numpy as np

from ._exposition import FEATURE_GAUGES, LATENCY_GAUGES, STATUS_HELP, STATUS_VALUES, present
from .monitor import Monitor
from .report import Report
from .sketch import QuantileSketch

try:
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        ExponentialHistogram,
        ExponentialHistogramDataPoint,
        Gauge,
        Metric,
        MetricReader,
        MetricsData,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )
    from opentelemetry.sdk.metrics._internal.point import Buckets
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError('driftline.otel needs the OpenTelemetry SDK: pip install "driftline[otel]"') from e

__all__ = ["MonitorProducer", "attach", "exponential_point"]

_NANOS = 1_000_000_000


def _nanos(seconds: float) -> int:
    return int(round(seconds * _NANOS))


def _name_and_unit(prefix: str, suffix: str) -> tuple[str, str]:
    """The OpenTelemetry name and unit of a Prometheus-style suffix (the unit moves out of the name)."""
    for ending, unit in (("_seconds", "s"), ("_ratio", "1")):
        if suffix.endswith(ending):
            return f"{prefix}.{suffix[: -len(ending)]}", unit
    return f"{prefix}.{suffix}", "1" if suffix.endswith("status") else ""


def _dense(indices: np.ndarray, counts: np.ndarray) -> Buckets:
    """A sketch's sparse (index, count) buckets as OpenTelemetry's offset and dense counts."""
    if len(indices) == 0:
        return Buckets(offset=0, bucket_counts=[])
    offset = int(indices[0])
    dense = np.zeros(int(indices[-1]) - offset + 1, dtype=np.uint64)
    dense[(indices - offset).astype(np.intp)] = counts
    return Buckets(offset=offset, bucket_counts=dense.tolist())


def exponential_point(
    sketch: QuantileSketch, attributes: dict[str, str], start_time_unix_nano: int, time_unix_nano: int
) -> ExponentialHistogramDataPoint:
    """An OpenTelemetry exponential-histogram point holding exactly the sketch's buckets (finite values)."""
    if not isinstance(sketch, QuantileSketch):
        raise TypeError(f"expected a driftline.QuantileSketch, got {type(sketch).__name__}")
    count = int(sketch.count)
    return ExponentialHistogramDataPoint(
        attributes=dict(attributes),
        start_time_unix_nano=start_time_unix_nano,
        time_unix_nano=time_unix_nano,
        count=count,
        sum=float(sketch.sum) if count else 0.0,
        scale=int(sketch.scale),
        zero_count=int(sketch.zero_count),
        positive=_dense(*sketch.buckets(False)),
        negative=_dense(*sketch.buckets(True)),
        flags=0,
        min=float(sketch.min) if count else 0.0,
        max=float(sketch.max) if count else 0.0,
    )


class MonitorProducer:
    """The OpenTelemetry MetricProducer of one :class:`~driftline.Monitor` (see the module's documentation).

    ``attributes`` are added to every point; ``last`` is the report span of the
    gauges (default: the Monitor's window); ``prefix`` starts every name.
    """

    def __init__(
        self,
        monitor: Monitor,
        attributes: Optional[dict[str, str]] = None,
        last: Optional[float] = None,
        prefix: str = "driftline",
    ) -> None:
        if not isinstance(monitor, Monitor):
            raise TypeError(f"monitor must be a driftline.Monitor, got {type(monitor).__name__}")
        if not isinstance(prefix, str) or not prefix or not prefix.replace("_", "a").replace(".", "a").isalnum():
            raise ValueError(f"prefix must be a metric name prefix (letters, digits, '_' and '.'), got {prefix!r}")
        self._attributes = {str(k): str(v) for k, v in (attributes or {}).items()}
        if "feature" in self._attributes:
            raise ValueError("attribute 'feature' is used by the producer itself")
        self._monitor = monitor
        self._last = last
        self._prefix = prefix
        self._lock = threading.Lock()
        self._started = monitor._now()
        # End of the last exported latency bucket: at first, the start of the bucket the producer was made in.
        self._exported_until = float(np.floor(self._started / monitor.bucket) * monitor.bucket)

    def produce(self, timeout_millis: float = 10_000) -> MetricsData:
        """This Monitor's metrics now, as SDK ``MetricsData`` (one resource, scope ``driftline``)."""
        with self._lock:
            now = self._monitor._now()
            report = self._monitor.report(self._last)
            metrics = self._gauges(report, now) + self._sums(report, now)
            latency = self._latency(now)
            if latency is not None:
                metrics.append(latency)
        scope = ScopeMetrics(scope=InstrumentationScope("driftline"), metrics=metrics, schema_url="")
        return MetricsData(resource_metrics=[ResourceMetrics(resource=Resource.get_empty(), scope_metrics=[scope], schema_url="")])

    def scope_metrics(self) -> ScopeMetrics:
        """The produced metrics alone (what :func:`attach` adds to a collection)."""
        return self.produce().resource_metrics[0].scope_metrics[0]

    def _latency(self, now: float) -> Optional[Metric]:
        bucket = self._monitor.bucket
        window = self._monitor._latency
        completed = [(start, s) for start, s in window._series_at(now) if start + bucket <= now and start >= self._exported_until]
        if not completed:
            return None
        merged = QuantileSketch(scale=completed[0][1].scale, max_buckets=completed[0][1].max_buckets)
        for _, s in completed:
            merged.merge(s)
        start, end = self._exported_until, completed[-1][0] + bucket
        self._exported_until = end
        point = exponential_point(merged, self._attributes, _nanos(start), _nanos(end))
        name, unit = _name_and_unit(self._prefix, "latency_seconds")
        data = ExponentialHistogram(data_points=[point], aggregation_temporality=AggregationTemporality.DELTA)
        return Metric(name=name, description="request latency (1 % relative accuracy)", unit=unit, data=data)

    def _point(self, value: float, now: float, **extra: str) -> NumberDataPoint:
        return NumberDataPoint(
            attributes={**self._attributes, **extra}, start_time_unix_nano=_nanos(self._started),
            time_unix_nano=_nanos(now), value=value,
        )

    def _gauge(self, suffix: str, doc: str, points: list[NumberDataPoint]) -> Metric:
        name, unit = _name_and_unit(self._prefix, suffix)
        return Metric(name=name, description=doc, unit=unit, data=Gauge(data_points=points))

    def _gauges(self, report: Report, now: float) -> list[Metric]:
        metrics = [
            self._gauge(suffix, f"{part} status: {STATUS_HELP}", [self._point(STATUS_VALUES[status], now)])
            for suffix, part, status in (
                ("status", "overall", report.status),
                ("schema_status", "schema", report.schema.status),
                ("latency_status", "latency", report.latency.status),
            )
        ]
        features = list(report.features.values())
        metrics.append(self._gauge(
            "feature_status", f"feature status: {STATUS_HELP}",
            [self._point(STATUS_VALUES[f.status], now, feature=f.name) for f in features],
        ))
        for suffix, doc, attribute in FEATURE_GAUGES:
            points = [
                self._point(float(v), now, feature=f.name)
                for f in features
                for v in (getattr(f, attribute),)
                if present(v)
            ]
            metrics.append(self._gauge(suffix, doc, points))
        for suffix, doc, attribute in LATENCY_GAUGES:
            v = getattr(report.latency, attribute)
            metrics.append(self._gauge(suffix, doc, [self._point(float(v), now)] if present(v) else []))
        return [m for m in metrics if m.data.data_points]

    def _sums(self, report: Report, now: float) -> list[Metric]:
        metrics = []
        for suffix, doc, total in (
            ("rows", "rows observed over the Monitor's life", self._monitor.rows),
            ("late_rows", "rows older than the window when they arrived", report.late),
            ("future_rows", "rows more than one bucket ahead of the clock", report.future),
            ("expired_rows", "rows that aged out of the window", report.expired),
        ):
            data = Sum(data_points=[self._point(int(total), now)],
                       aggregation_temporality=AggregationTemporality.CUMULATIVE, is_monotonic=True)
            metrics.append(Metric(name=f"{self._prefix}.{suffix}", description=doc, unit="{row}", data=data))
        return metrics


def attach(reader: MetricReader, *producers: MonitorProducer) -> None:
    """Adds the producers' metrics to every collection of ``reader`` (registered with a MeterProvider).

    The stand-in for the SDK's missing MetricProducer registration: the
    producers' scope metrics join the first resource of each collection (the
    MeterProvider's resource), or make one when the SDK has nothing to report.
    """
    if not isinstance(reader, MetricReader):
        raise TypeError(f"reader must be an OpenTelemetry SDK MetricReader, got {type(reader).__name__}")
    if not producers or not all(isinstance(p, MonitorProducer) for p in producers):
        raise TypeError("attach needs one or more driftline.otel.MonitorProducer")
    collect: Optional[Callable[..., Any]] = getattr(reader, "_collect", None)
    if collect is None:
        raise ValueError("register the reader with a MeterProvider first: MeterProvider(metric_readers=[reader])")

    def collect_with_producers(metric_reader: MetricReader, *args: Any, **kwargs: Any) -> MetricsData:
        data = collect(metric_reader, *args, **kwargs)
        added = [p.scope_metrics() for p in producers]
        return _with_scopes(data, added)

    reader._collect = collect_with_producers  # type: ignore[assignment, unused-ignore]


def _with_scopes(data: Optional[MetricsData], scopes: Iterable[ScopeMetrics]) -> MetricsData:
    scopes = list(scopes)
    if data is None or not data.resource_metrics:
        return MetricsData(resource_metrics=[ResourceMetrics(resource=Resource.create(), scope_metrics=scopes, schema_url="")])
    first, rest = data.resource_metrics[0], list(data.resource_metrics[1:])
    joined = ResourceMetrics(resource=first.resource, scope_metrics=list(first.scope_metrics) + scopes, schema_url=first.schema_url)
    return MetricsData(resource_metrics=[joined] + rest)
