"""Monitor.observe: one row (array or dict) and a batch, side by side with what users do instead.

The per-row peer is what instrumenting 50 features by hand looks like: one
prometheus_client Histogram.observe per feature (that gives no drift statistic
at all), and, for scale, a no-op Python call per row. The batch peer is numpy:
one numpy.histogram per feature over the same reference edges.

Run:  python -m pytest bench/bench_monitor.py --benchmark-only --benchmark-json=bench.json
Every benchmark checks its counts, so `--benchmark-disable` is a correctness run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import driftline as dl

prometheus_client = pytest.importorskip("prometheus_client")

FEATURES = 50
ROWS = 20_000  # per-row loops
BATCH = 100_000  # rows of the batch


@pytest.fixture(scope="module")
def profile() -> dl.Profile:
    rng = np.random.default_rng(1)
    return dl.Profile.from_data({f"f{j:02d}": rng.normal(j % 5, 1 + j % 3, 20_000) for j in range(FEATURES)})


@pytest.fixture(scope="module")
def rows(profile: dl.Profile) -> np.ndarray:
    rng = np.random.default_rng(2)
    return rng.normal(size=(ROWS, FEATURES)) * (1 + np.arange(FEATURES) % 3) + np.arange(FEATURES) % 5


def monitor(profile: dl.Profile) -> dl.Monitor:
    return dl.Monitor(profile, window=3600, bucket=60, clock=lambda: 1000.0)


def observe_each(profile: dl.Profile, rows: list[dict[str, float]]) -> dl.Monitor:
    """A fresh Monitor fed the rows one observe() call each (the loop a service runs per request)."""
    m = monitor(profile)
    observe = m.observe
    for row in rows:
        observe(row)
    return m


def nonmissing(m: dl.Monitor) -> int:
    return sum(f.count for f in m.report().features.values())


def test_row_array_driftline(benchmark: Any, profile: dl.Profile, rows: np.ndarray) -> None:
    benchmark.group = "observe one row of 50 numeric features (1-D float64 array), per row"
    benchmark.extra_info["values"] = ROWS
    benchmark.extra_info["baseline"] = True
    row_list = list(rows)  # 1-D views, made outside the timing

    def run() -> dl.Monitor:
        m = monitor(profile)
        observe = m.observe
        for row in row_list:
            observe(row)
        return m

    m = benchmark(run)
    assert nonmissing(m) == ROWS * FEATURES


def test_row_dict_driftline(benchmark: Any, profile: dl.Profile, rows: np.ndarray) -> None:
    benchmark.group = "observe one dict row of 50 features, per row"
    benchmark.extra_info["values"] = ROWS
    benchmark.extra_info["baseline"] = True
    names = profile.names
    dicts = [dict(zip(names, row.tolist())) for row in rows]

    m = benchmark(observe_each, profile, dicts)
    assert nonmissing(m) == ROWS * FEATURES


def test_row_dict_unexpected_field_driftline(benchmark: Any, profile: dl.Profile, rows: np.ndarray) -> None:
    """The same dict rows with one field renamed upstream (f07 arrives as f07_renamed): one missing, one unexpected."""
    benchmark.group = "observe one dict row of 50 features, per row"
    benchmark.extra_info["values"] = ROWS
    names = [n if n != "f07" else "f07_renamed" for n in profile.names]
    dicts = [dict(zip(names, row.tolist())) for row in rows]

    m = benchmark(observe_each, profile, dicts)
    assert nonmissing(m) == ROWS * (FEATURES - 1)
    report = m.report()
    assert report.schema.unexpected == {"f07_renamed": ROWS} and report.schema.missing == {"f07": 1.0}
    assert report.schema.renames and report.schema.renames[0][:2] == ("f07", "f07_renamed")


def prometheus_histograms(profile: dl.Profile) -> list[Any]:
    registry = prometheus_client.CollectorRegistry()
    return [
        prometheus_client.Histogram(f"bench_{f.name}", "feature", registry=registry, buckets=list(f.edges))
        for f in profile
    ]


def test_row_dict_prometheus_client(benchmark: Any, profile: dl.Profile, rows: np.ndarray) -> None:
    benchmark.group = "observe one dict row of 50 features, per row"
    benchmark.extra_info["values"] = ROWS
    names = profile.names
    dicts = [dict(zip(names, row.tolist())) for row in rows]
    histograms = dict(zip(names, prometheus_histograms(profile)))

    def run() -> None:
        for d in dicts:
            for name, value in d.items():
                histograms[name].observe(value)

    benchmark.pedantic(run, rounds=3, iterations=1)
    assert histograms[names[0]]._sum.get() != 0


def noop(row: Any) -> None:
    return None


def test_row_noop_python_call(benchmark: Any, rows: np.ndarray) -> None:
    benchmark.group = "observe one row of 50 numeric features (1-D float64 array), per row"
    benchmark.extra_info["values"] = ROWS
    row_list = list(rows)

    def run() -> None:
        for row in row_list:
            noop(row)

    benchmark(run)


@pytest.fixture(scope="module")
def batch(profile: dl.Profile) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.normal(size=(BATCH, FEATURES)) * (1 + np.arange(FEATURES) % 3) + np.arange(FEATURES) % 5


def expected_cells(profile: dl.Profile, batch: np.ndarray) -> list[np.ndarray]:
    out = []
    for j, f in enumerate(profile):
        x = batch[:, j]
        e = f.edges
        inside = x[(x >= e[0]) & (x < e[-1])]
        out.append(np.concatenate([[np.sum(x < e[0])], np.histogram(inside, e)[0], [np.sum(x >= e[-1])]]))
    return out


def test_batch_driftline(benchmark: Any, profile: dl.Profile, batch: np.ndarray) -> None:
    benchmark.group = "observe a batch of 1e5 rows x 50 features (2-D float64)"
    benchmark.extra_info["values"] = batch.size
    benchmark.extra_info["baseline"] = True

    def run() -> dl.Monitor:
        m = monitor(profile)
        m.observe(batch)
        return m

    m = benchmark(run)
    snap = m._core.snapshot(1000.0)
    counts = snap["counts"].sum(axis=0)
    for j, want in enumerate(expected_cells(profile, batch)):
        start = m._core.offsets[j]
        np.testing.assert_array_equal(counts[start : start + want.size], want)


def test_batch_numpy_histogram_per_feature(benchmark: Any, profile: dl.Profile, batch: np.ndarray) -> None:
    benchmark.group = "observe a batch of 1e5 rows x 50 features (2-D float64)"
    benchmark.extra_info["values"] = batch.size
    edges = [f.edges for f in profile]

    def run() -> list[np.ndarray]:
        return [np.histogram(batch[:, j], e)[0] for j, e in enumerate(edges)]

    counts = benchmark(run)
    assert sum(int(c.sum()) for c in counts) > 0.9 * batch.size
