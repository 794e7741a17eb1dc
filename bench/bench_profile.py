"""Profile.from_data: the native build side by side with numpy.quantile of the same columns.

numpy.quantile is the floor of the pure-numpy way to get the reference edges
alone (the profile also builds a histogram, a sketch and moments per column).
Every benchmark checks its result, so `--benchmark-disable` is a correctness run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import driftline as dl

ROWS, COLUMNS = 1_000_000, 100
QS = np.linspace(0.0, 1.0, 11)


@pytest.fixture(scope="module")
def numeric() -> dict[str, np.ndarray]:
    """1e6 x 100 float64 (800 MB): normal, lognormal and integer-valued columns."""
    rng = np.random.default_rng(11)
    kinds = [lambda: rng.normal(size=ROWS), lambda: rng.lognormal(0, 1, ROWS), lambda: rng.integers(0, 50, ROWS) * 1.0]
    return {f"f{j:03d}": kinds[j % 3]() for j in range(COLUMNS)}


@pytest.fixture(scope="module")
def categorical() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12)
    levels = [f"level_{k:02d}" for k in range(20)]
    return {f"c{j}": rng.choice(levels, 200_000) for j in range(5)}


def test_profile_numeric_driftline(benchmark: Any, numeric: dict[str, np.ndarray]) -> None:
    benchmark.group = "reference profile of 1e6 rows x 100 float64 columns"
    benchmark.extra_info["values"] = ROWS * COLUMNS
    benchmark.extra_info["baseline"] = True
    profile = benchmark.pedantic(dl.Profile.from_data, args=(numeric,), rounds=3, iterations=1)
    for name in list(numeric)[:6]:
        quantiles = np.unique(np.quantile(numeric[name], QS))
        assert set(quantiles[:-1]) <= set(profile[name].edges)  # exact quantiles among the edges


def test_profile_numeric_numpy_quantile(benchmark: Any, numeric: dict[str, np.ndarray]) -> None:
    benchmark.group = "reference profile of 1e6 rows x 100 float64 columns"
    benchmark.extra_info["values"] = ROWS * COLUMNS
    result = benchmark.pedantic(lambda: [np.quantile(c, QS) for c in numeric.values()], rounds=3, iterations=1)
    assert len(result) == COLUMNS


def test_profile_categorical_driftline(benchmark: Any, categorical: dict[str, np.ndarray]) -> None:
    benchmark.group = "reference profile of 2e5 rows x 5 categorical columns (20 levels)"
    benchmark.extra_info["values"] = 200_000 * 5
    benchmark.extra_info["baseline"] = True
    profile = benchmark(dl.Profile.from_data, categorical)
    for name, column in categorical.items():
        values, counts = np.unique(column, return_counts=True)
        assert dict(zip(profile[name].categories, profile[name].histogram.counts[:-1].tolist())) == dict(
            zip(values.tolist(), counts.tolist())
        )


def test_profile_categorical_numpy_unique(benchmark: Any, categorical: dict[str, np.ndarray]) -> None:
    benchmark.group = "reference profile of 2e5 rows x 5 categorical columns (20 levels)"
    benchmark.extra_info["values"] = 200_000 * 5
    result = benchmark(lambda: [np.unique(c, return_counts=True) for c in categorical.values()])
    assert all(len(v) == 20 for v, _ in result)
