"""QuantileSketch side by side with datasketches KLL, DDSketch and prometheus_client.

Run:  python -m pytest bench/bench_sketch.py --benchmark-only --benchmark-json=bench.json
Every benchmark checks its result, so `--benchmark-disable` is a correctness run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import driftline as dl

datasketches = pytest.importorskip("datasketches")
ddsketch = pytest.importorskip("ddsketch")
prometheus_client = pytest.importorskip("prometheus_client")

N_BATCH = 10_000_000
N_LOOP = 200_000


@pytest.fixture(scope="module")
def latencies() -> np.ndarray:
    """1e7 lognormal latencies in seconds (median ~1 ms, heavy right tail)."""
    return np.random.default_rng(11).lognormal(np.log(1e-3), 1.5, N_BATCH)


@pytest.fixture(scope="module")
def latency_list(latencies: np.ndarray) -> list[float]:
    return latencies[:N_LOOP].tolist()


def check_p99(estimate: float, values: np.ndarray, tolerance: float) -> None:
    exact = np.sort(values)[int(np.floor(0.99 * (len(values) - 1)))]
    assert abs(estimate - exact) <= tolerance * exact


def test_fill_driftline(benchmark: Any, latencies: np.ndarray) -> None:
    benchmark.group = "sketch batch 1e7 lognormal latencies"
    benchmark.extra_info["values"] = latencies.size

    def fill() -> dl.QuantileSketch:
        s = dl.QuantileSketch(0.01)
        s.fill(latencies)
        return s

    sketch = benchmark(fill)
    assert sketch.count == latencies.size
    check_p99(sketch.quantile(0.99), latencies, sketch.accuracy)


def test_fill_kll(benchmark: Any, latencies: np.ndarray) -> None:
    benchmark.group = "sketch batch 1e7 lognormal latencies"
    benchmark.extra_info["values"] = latencies.size

    def fill() -> Any:
        s = datasketches.kll_doubles_sketch(200)
        s.update(latencies)
        return s

    sketch = benchmark(fill)
    assert sketch.n == latencies.size
    # KLL's guarantee is on rank (~1.3% at k=200), not on value: check the rank.
    rank = np.mean(latencies <= sketch.get_quantile(0.99))
    assert abs(rank - 0.99) < 0.02


def test_loop_driftline_record(benchmark: Any, latency_list: list[float]) -> None:
    benchmark.group = "sketch 2e5 scalar calls"
    benchmark.extra_info["values"] = len(latency_list)
    sketch = dl.QuantileSketch(0.01)

    def run() -> None:
        sketch.reset()
        for v in latency_list:
            sketch.record(v)

    benchmark(run)
    assert sketch.count == len(latency_list)


def test_loop_ddsketch_add(benchmark: Any, latency_list: list[float]) -> None:
    benchmark.group = "sketch 2e5 scalar calls"
    benchmark.extra_info["values"] = len(latency_list)

    def run() -> Any:
        s = ddsketch.DDSketch(0.01)
        for v in latency_list:
            s.add(v)
        return s

    sketch = benchmark(run)
    assert sketch.count == len(latency_list)


def test_loop_prometheus_observe(benchmark: Any, latency_list: list[float]) -> None:
    benchmark.group = "sketch 2e5 scalar calls"
    benchmark.extra_info["values"] = len(latency_list)
    registry = prometheus_client.CollectorRegistry()
    h = prometheus_client.Histogram("bench_latency_seconds", "benchmark", registry=registry)

    def run() -> None:
        for v in latency_list:
            h.observe(v)

    benchmark(run)
    assert registry.get_sample_value("bench_latency_seconds_count") >= len(latency_list)


def noop(value: float) -> None:
    return None


def test_loop_noop_python_call(benchmark: Any, latency_list: list[float]) -> None:
    benchmark.group = "sketch 2e5 scalar calls"
    benchmark.extra_info["values"] = len(latency_list)

    def run() -> None:
        for v in latency_list:
            noop(v)

    benchmark(run)
