"""Window fill with per-value timestamps, side by side with a plain Histogram fill.

Run:  python -m pytest bench/bench_window.py --benchmark-only --benchmark-json=bench.json
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import driftline as dl

N = 10_000_000


@pytest.fixture(scope="module")
def stream() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(31)
    values = rng.normal(size=N)
    times = np.sort(rng.uniform(0.0, 600.0, N))  # sorted, spanning 10 slots of 60 s
    return values, times


def test_window_fill_sorted_timestamps(benchmark: Any, stream: tuple[np.ndarray, np.ndarray]) -> None:
    benchmark.group = "1e7 values, 100 uniform bins"
    benchmark.extra_info["values"] = N
    benchmark.extra_info["baseline"] = True
    values, times = stream

    def fill() -> dl.Window:
        w = dl.Window(dl.Histogram(dl.Uniform(-5, 5, 100)), width=60.0, length=10, clock=lambda: 599.0)
        w.fill(values, t=times)
        return w

    window = benchmark(fill)
    assert window.total == N and window.late == window.future == 0
    plain = dl.Histogram(dl.Uniform(-5, 5, 100))
    plain.fill(values)
    assert window.merged() == plain


def test_plain_histogram_fill(benchmark: Any, stream: tuple[np.ndarray, np.ndarray]) -> None:
    benchmark.group = "1e7 values, 100 uniform bins"
    benchmark.extra_info["values"] = N
    values, _ = stream

    def fill() -> dl.Histogram:
        h = dl.Histogram(dl.Uniform(-5, 5, 100))
        h.fill(values)
        return h

    h = benchmark(fill)
    assert h.total == N
