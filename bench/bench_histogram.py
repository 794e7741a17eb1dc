"""Histogram.fill and record, side by side with numpy, boost-histogram and prometheus_client.

Run:  python -m pytest bench/bench_histogram.py --benchmark-only --benchmark-json=bench.json
      python bench/report.py bench.json
Every benchmark also checks its result, so `--benchmark-disable` turns the
suite into a correctness run.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import driftline as dl

bh = pytest.importorskip("boost_histogram")
prometheus_client = pytest.importorskip("prometheus_client")

CASES = ["uniform-10", "uniform-100", "deciles-10"]


def make_edges(case: str, values: np.ndarray) -> np.ndarray:
    if case == "uniform-10":
        return np.linspace(-5, 5, 11)
    if case == "uniform-100":
        return np.linspace(-5, 5, 101)
    return dl.Edges.from_quantiles(values[:100_000]).edges


def make_axis(case: str, values: np.ndarray) -> dl.Axis:
    if case.startswith("uniform"):
        return dl.Uniform(-5, 5, int(case.split("-")[1]))
    return dl.Edges(make_edges(case, values))


def expected_bins(case: str, values: np.ndarray) -> np.ndarray:
    edges = make_edges(case, values)
    inside = values[(values >= edges[0]) & (values < edges[-1])]
    return np.histogram(inside, bins=edges)[0]


@pytest.mark.parametrize("case", CASES)
def test_fill_driftline(benchmark: Any, normal_values: np.ndarray, case: str) -> None:
    benchmark.group = f"fill 1e7 N(0,1), {case}"
    benchmark.extra_info["values"] = normal_values.size
    axis = make_axis(case, normal_values)

    def fill() -> dl.Histogram:
        h = dl.Histogram(axis)
        h.fill(normal_values)
        return h

    h = benchmark(fill)
    np.testing.assert_array_equal(h.counts, expected_bins(case, normal_values))


@pytest.mark.parametrize("case", CASES)
def test_fill_numpy(benchmark: Any, normal_values: np.ndarray, case: str) -> None:
    benchmark.group = f"fill 1e7 N(0,1), {case}"
    benchmark.extra_info["values"] = normal_values.size
    if case.startswith("uniform"):
        bins = int(case.split("-")[1])
        counts, _ = benchmark(np.histogram, normal_values, bins=bins, range=(-5, 5))
    else:
        counts, _ = benchmark(np.histogram, normal_values, bins=make_edges(case, normal_values))
    # numpy's last bin is closed; no N(0,1) draw here sits exactly on it.
    np.testing.assert_array_equal(counts, expected_bins(case, normal_values))


@pytest.mark.parametrize("case", CASES)
def test_fill_boost_histogram(benchmark: Any, normal_values: np.ndarray, case: str) -> None:
    benchmark.group = f"fill 1e7 N(0,1), {case}"
    benchmark.extra_info["values"] = normal_values.size
    if case.startswith("uniform"):
        axis = bh.axis.Regular(int(case.split("-")[1]), -5, 5)
    else:
        axis = bh.axis.Variable(make_edges(case, normal_values))

    def fill() -> Any:
        h = bh.Histogram(axis, storage=bh.storage.Int64())
        h.fill(normal_values)  # single-threaded (threads=None)
        return h

    h = benchmark(fill)
    np.testing.assert_array_equal(h.values(), expected_bins(case, normal_values))


def loop(call: Callable[[float], Any], values: list[float]) -> None:
    for v in values:
        call(v)


def test_record_driftline(benchmark: Any, record_values: list[float]) -> None:
    benchmark.group = "5e5 scalar calls"
    benchmark.extra_info["values"] = len(record_values)
    h = dl.Histogram(dl.Uniform(-5, 5, 10))

    def run() -> None:
        h.reset()
        for v in record_values:
            h.record(v)

    benchmark(run)
    assert h.total == len(record_values)


def test_record_prometheus_client(benchmark: Any, record_values: list[float]) -> None:
    benchmark.group = "5e5 scalar calls"
    benchmark.extra_info["values"] = len(record_values)
    registry = prometheus_client.CollectorRegistry()
    h = prometheus_client.Histogram(
        "bench_values", "benchmark", buckets=list(np.linspace(-5, 5, 11)), registry=registry
    )
    benchmark(loop, h.observe, record_values)
    assert registry.get_sample_value("bench_values_count") >= len(record_values)


def noop(value: float) -> None:
    return None


def test_record_noop_python_call(benchmark: Any, record_values: list[float]) -> None:
    benchmark.group = "5e5 scalar calls"
    benchmark.extra_info["values"] = len(record_values)

    def run() -> None:
        for v in record_values:
            noop(v)

    benchmark(run)
