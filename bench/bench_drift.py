"""Drift statistics side by side with scipy and numpy.

Run:  python -m pytest bench/bench_drift.py --benchmark-only --benchmark-json=bench.json
Every benchmark checks its result, so `--benchmark-disable` is a correctness run.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from scipy import stats

import driftline as dl

N = 1_000_000


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(21)
    return rng.normal(size=N), rng.normal(0.01, 1.0, N)


def test_ks_driftline(benchmark: Any, samples: tuple[np.ndarray, np.ndarray]) -> None:
    benchmark.group = "KS 1e6 vs 1e6 float64"
    benchmark.extra_info["values"] = 2 * N
    a, b = samples
    result = benchmark(dl.ks, a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reference = stats.ks_2samp(a, b)
    assert result.statistic == reference.statistic
    assert abs(result.pvalue - reference.pvalue) <= max(1e-6 * reference.pvalue, 1e-12)


def test_ks_scipy(benchmark: Any, samples: tuple[np.ndarray, np.ndarray]) -> None:
    benchmark.group = "KS 1e6 vs 1e6 float64"
    benchmark.extra_info["values"] = 2 * N
    a, b = samples
    result = benchmark.pedantic(stats.ks_2samp, args=(a, b), rounds=3, iterations=1)
    assert 0 < result.statistic < 0.05


def test_ks_numpy_sort_both(benchmark: Any, samples: tuple[np.ndarray, np.ndarray]) -> None:
    benchmark.group = "KS 1e6 vs 1e6 float64"
    benchmark.extra_info["values"] = 2 * N
    a, b = samples

    def sort_both() -> tuple[np.ndarray, np.ndarray]:
        return np.sort(a), np.sort(b)

    sa, sb = benchmark(sort_both)
    assert sa[0] == a.min() and sb[-1] == b.max()


@pytest.fixture(scope="module")
def reference_histogram(samples: tuple[np.ndarray, np.ndarray]) -> dl.Histogram:
    h = dl.Histogram(dl.Edges.from_quantiles(samples[0]))
    h.fill(samples[0])
    return h


def numpy_psi(reference_counts: np.ndarray, edges: np.ndarray, current: np.ndarray, smoothing: float = 0.5) -> float:
    """The numpy implementation a team would write: np.histogram + the formula, flows included."""
    inner = np.histogram(current, bins=edges)[0]
    under = np.count_nonzero(current < edges[0])
    over = np.count_nonzero(current >= edges[-1])
    inner[-1] -= np.count_nonzero(current == edges[-1])  # numpy's last bin is closed
    counts = np.concatenate([[under], inner, [over + np.count_nonzero(current == edges[-1])]]).astype(float)
    k = counts.size
    p = (reference_counts + smoothing) / (reference_counts.sum() + k * smoothing)
    q = (counts + smoothing) / (counts.sum() + k * smoothing)
    return float(np.sum((q - p) * np.log(q / p)))


def test_psi_window_driftline(benchmark: Any, samples: tuple[np.ndarray, np.ndarray], reference_histogram: dl.Histogram) -> None:
    benchmark.group = "PSI per window, 1e6 raw values, cached reference edges"
    benchmark.extra_info["values"] = N
    current = samples[1]
    axis = reference_histogram.axis

    def window() -> float:
        h = dl.Histogram(axis)
        h.fill(current)
        return dl.psi(reference_histogram, h)

    value = benchmark(window)
    expected = numpy_psi(reference_histogram.slot_counts()[:-1].astype(float), axis.edges, current)
    assert abs(value - expected) <= 1e-12 * expected


def test_psi_window_numpy(benchmark: Any, samples: tuple[np.ndarray, np.ndarray], reference_histogram: dl.Histogram) -> None:
    benchmark.group = "PSI per window, 1e6 raw values, cached reference edges"
    benchmark.extra_info["values"] = N
    reference_counts = reference_histogram.slot_counts()[:-1].astype(float)
    edges = reference_histogram.edges
    value = benchmark(numpy_psi, reference_counts, edges, samples[1])
    assert value > 0
