"""driftline.otel: a Monitor's metrics through the OpenTelemetry SDK's in-memory reader."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import driftline as dl

pytest.importorskip("opentelemetry.sdk.metrics")
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View  # noqa: E402

from driftline._exposition import STATUS_VALUES  # noqa: E402
from driftline.otel import MonitorProducer, attach, exponential_point  # noqa: E402

from helpers import Clock  # noqa: E402


def monitor_with(clock: Clock) -> dl.Monitor:
    rng = np.random.default_rng(0)
    profile = dl.Profile.from_data({"x": rng.normal(size=5_000), "city": rng.choice(["a", "b"], 5_000)})
    return dl.Monitor(profile, window=600, bucket=60, clock=clock)


def metrics_of(reader: InMemoryMetricReader) -> dict[str, Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}


def latencies(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(-4.5, 1.0, n)


def reader_for(*monitors: dl.Monitor, **kwargs: Any) -> tuple[InMemoryMetricReader, list[MonitorProducer]]:
    reader = InMemoryMetricReader()
    MeterProvider(metric_readers=[reader])
    producers = [MonitorProducer(m, **kwargs) for m in monitors]
    attach(reader, *producers)
    return reader, producers


def sdk_buckets(values: np.ndarray, scale: int) -> Any:
    """The OpenTelemetry SDK's own exponential histogram of the values (a reference driftline did not write)."""
    reader = InMemoryMetricReader()
    view = View(instrument_name="h", aggregation=ExponentialBucketHistogramAggregation(max_size=4096, max_scale=scale))
    provider = MeterProvider(metric_readers=[reader], views=[view])
    histogram = provider.get_meter("reference").create_histogram("h")
    for v in values:
        histogram.record(float(v))
    (point,) = metrics_of(reader)["h"].data.data_points
    return point


def test_latency_points_hold_the_sketch_buckets_and_equal_the_sdk_histogram() -> None:
    clock = Clock(0.0)
    monitor = monitor_with(clock)
    reader, _ = reader_for(monitor, attributes={"model": "m1"})
    recorded = []
    for bucket in range(4):
        clock.t = bucket * 60 + 30
        values = latencies(bucket, 2_000)
        monitor.observe_latency(values)
        recorded.append(values)
    clock.t = 200.0  # buckets [0, 60), [60, 120), [120, 180) completed; [180, 240) not yet
    metric = metrics_of(reader)["driftline.latency"]
    assert metric.unit == "s" and metric.data.aggregation_temporality == AggregationTemporality.DELTA
    (point,) = metric.data.data_points
    assert point.attributes == {"model": "m1"}
    assert (point.start_time_unix_nano, point.time_unix_nano) == (0, 180 * 10**9)
    sketch = dl.QuantileSketch(0.01)
    completed = np.concatenate(recorded[:3])
    sketch.fill(completed)
    indices, counts = sketch.buckets()
    assert point.scale == sketch.scale == 6
    assert point.positive.offset == indices[0]
    dense = np.zeros(indices[-1] - indices[0] + 1, dtype=np.uint64)
    dense[indices - indices[0]] = counts
    assert list(point.positive.bucket_counts) == dense.tolist()
    assert point.count == 6_000 and point.zero_count == 0 and point.negative.bucket_counts == []
    assert math.isclose(point.sum, completed.sum(), rel_tol=1e-12)
    assert (point.min, point.max) == (completed.min(), completed.max())
    # The SDK's own aggregation of the same values, at the same scale, gives the same buckets.
    reference = sdk_buckets(completed, scale=6)
    assert reference.scale == point.scale and reference.count == point.count
    assert reference.positive.offset == point.positive.offset
    sdk_counts = np.trim_zeros(np.asarray(reference.positive.bucket_counts), "b")  # the SDK pads its backing array
    assert sdk_counts.tolist() == list(point.positive.bucket_counts)


def test_each_latency_is_exported_once_in_delta_points() -> None:
    clock = Clock(30.0)
    monitor = monitor_with(clock)
    reader, _ = reader_for(monitor)
    monitor.observe_latency(latencies(1, 500))
    assert "driftline.latency" not in metrics_of(reader)  # no completed bucket yet
    clock.t = 90.0
    monitor.observe_latency(latencies(2, 700))
    (first,) = metrics_of(reader)["driftline.latency"].data.data_points
    assert first.count == 500 and (first.start_time_unix_nano, first.time_unix_nano) == (0, 60 * 10**9)
    assert "driftline.latency" not in metrics_of(reader)  # nothing new completed: no point
    clock.t = 400.0
    (second,) = metrics_of(reader)["driftline.latency"].data.data_points
    assert second.count == 700 and (second.start_time_unix_nano, second.time_unix_nano) == (60 * 10**9, 360 * 10**9)


def test_two_workers_points_sum_to_the_single_process_sketch() -> None:
    clock = Clock(0.0)
    single, a, b = monitor_with(clock), monitor_with(clock), monitor_with(clock)
    producers = {"single": MonitorProducer(single), "a": MonitorProducer(a), "b": MonitorProducer(b)}
    for bucket in range(3):
        clock.t = bucket * 60 + 10
        values = latencies(10 + bucket, 3_000)
        single.observe_latency(values)
        a.observe_latency(values[:1_000])
        b.observe_latency(values[1_000:])
    clock.t = 180.0
    points = {}
    for name, producer in producers.items():
        produced = producer.scope_metrics().metrics
        points[name] = next(x for x in produced if x.name == "driftline.latency").data.data_points[0]
    pa, pb, ps = points["a"], points["b"], points["single"]
    assert pa.scale == pb.scale == ps.scale
    # Merging two points of one scale: add the counts of equal bucket indices.
    lo = min(pa.positive.offset, pb.positive.offset)
    hi = max(pa.positive.offset + len(pa.positive.bucket_counts), pb.positive.offset + len(pb.positive.bucket_counts))
    merged = np.zeros(hi - lo, dtype=np.int64)
    for p in (pa, pb):
        merged[p.positive.offset - lo : p.positive.offset - lo + len(p.positive.bucket_counts)] += p.positive.bucket_counts
    nonzero = np.flatnonzero(merged)
    trimmed = merged[nonzero[0] : nonzero[-1] + 1]
    assert lo + nonzero[0] == ps.positive.offset and trimmed.tolist() == list(ps.positive.bucket_counts)
    assert pa.count + pb.count == ps.count and math.isclose(pa.sum + pb.sum, ps.sum, rel_tol=1e-12)


def test_gauges_and_sums_equal_the_report_and_nothing_is_nan() -> None:
    clock = Clock(0.0)
    monitor = monitor_with(clock)
    reader, _ = reader_for(monitor, attributes={"model": "m1"})
    empty = metrics_of(reader)
    assert empty["driftline.status"].data.data_points[0].value == -1.0
    assert "driftline.feature_psi" not in empty and "driftline.latency_p99" not in empty
    rng = np.random.default_rng(4)
    for bucket in range(4):
        clock.t = bucket * 60 + 30
        monitor.observe({"x": rng.normal(0.8, 1, 400), "city": rng.choice(["a", "b", "new"], 400)})
        monitor.observe_latency(latencies(bucket, 100))
    clock.t = 240.0
    got = metrics_of(reader)
    report = monitor.report()
    by_feature = {p.attributes["feature"]: p.value for p in got["driftline.feature_status"].data.data_points}
    assert by_feature == {n: STATUS_VALUES[f.status] for n, f in report.features.items()}
    psi = {p.attributes["feature"]: p.value for p in got["driftline.feature_psi"].data.data_points}
    assert psi == {n: f.psi for n, f in report.features.items()}
    assert got["driftline.feature_missing"].unit == "1" and got["driftline.feature_value_age"].unit == "s"
    assert got["driftline.latency_p99"].data.data_points[0].value == report.latency.p99
    rows = got["driftline.rows"].data
    assert rows.is_monotonic and rows.aggregation_temporality == AggregationTemporality.CUMULATIVE
    assert rows.data_points[0].value == monitor.rows == 1_600
    for metric in got.values():
        for p in metric.data.data_points:
            value = getattr(p, "value", None)  # histogram points have none
            assert not (isinstance(value, float) and math.isnan(value)), metric.name


def test_bad_arguments() -> None:
    clock = Clock(0.0)
    monitor = monitor_with(clock)
    with pytest.raises(TypeError):
        MonitorProducer("not a monitor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="feature"):
        MonitorProducer(monitor, attributes={"feature": "x"})
    with pytest.raises(ValueError, match="MeterProvider"):
        attach(InMemoryMetricReader(), MonitorProducer(monitor))
    with pytest.raises(TypeError):
        exponential_point([1.0], {}, 0, 1)  # type: ignore[arg-type]
    import driftline.otel as otel

    empty = otel.exponential_point(dl.QuantileSketch(0.01), {}, 0, 1)
    assert empty.count == 0 and empty.positive.bucket_counts == []
