"""Every quantile estimate is within the relative-error guarantee of numpy's exact answer."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pytest

import driftline as dl

QUANTILES = np.array([0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1])
SIZES = [1, 2, 3, 10, 100, 1000, 10_000, 100_000, 1_000_000]
ACCURACIES = [0.05, 0.01, 0.001]
EPS = np.finfo(np.float64).eps

Generator = Callable[[np.random.Generator, int], np.ndarray]
DISTRIBUTIONS: dict[str, Generator] = {
    "uniform": lambda r, n: r.uniform(0, 1, n),
    "normal": lambda r, n: r.normal(0, 1, n),
    "lognormal-sigma2": lambda r, n: r.lognormal(0, 2, n),
    "exponential": lambda r, n: r.exponential(1.0, n),
    "pareto-1.1": lambda r, n: r.pareto(1.1, n) + 1.0,
    "bimodal": lambda r, n: np.where(r.random(n) < 0.3, r.normal(1, 0.1, n), r.normal(100, 5, n)),
    "integer-ties": lambda r, n: r.integers(0, 20, n).astype(np.float64),
    "constant": lambda r, n: np.full(n, 3.7),
    "all-negative": lambda r, n: -r.lognormal(0, 1, n),
    "mixed-sign": lambda r, n: r.standard_t(2, n),
    "span-1e-9-to-1e9": lambda r, n: 10.0 ** r.uniform(-9, 9, n),
    "two-point": lambda r, n: np.where(r.random(n) < 0.5, 1e-3, 1e3),
}


def lower_quantiles(sorted_values: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """The documented definition: the value at 0-based rank floor(q * (n - 1))."""
    ranks = np.floor(qs * (len(sorted_values) - 1)).astype(np.int64)
    return sorted_values[ranks]


@pytest.mark.parametrize("accuracy", ACCURACIES)
@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_quantiles_are_within_the_guarantee(name: str, accuracy: float) -> None:
    rng = np.random.default_rng(abs(hash((name, accuracy))) % 2**32)
    data = DISTRIBUTIONS[name](rng, SIZES[-1])
    for size in SIZES:
        values = data[:size]
        # Enough buckets that the requested scale holds for the widest data here.
        sketch = dl.QuantileSketch(accuracy, max_buckets=2**17)
        sketch.fill(values)
        assert sketch.scale == sketch.requested_scale
        assert sketch.accuracy <= accuracy
        exact = lower_quantiles(np.sort(values), QUANTILES)
        estimate = sketch.quantiles(QUANTILES)
        # The guarantee, plus a few ulps for evaluating exp2 in the representatives.
        bound = sketch.accuracy * np.abs(exact) + 4 * EPS * np.abs(exact)
        error = np.abs(estimate - exact)
        assert np.all(error <= bound), (name, size, QUANTILES[error > bound], estimate, exact)
        assert estimate[0] == values.min() and estimate[-1] == values.max()
        for q, e in zip(QUANTILES[[3, 5, 9]], estimate[[3, 5, 9]]):
            assert sketch.quantile(q) == e


def test_guarantee_follows_a_lowered_scale() -> None:
    """A stream wider than max_buckets lowers the scale; the new, reported accuracy holds."""
    values = 10.0 ** np.random.default_rng(3).uniform(-9, 9, 200_000)
    sketch = dl.QuantileSketch(0.001, max_buckets=512)
    sketch.fill(values)
    assert sketch.scale < sketch.requested_scale
    assert sketch.accuracy > sketch.relative_accuracy
    assert sketch.bucket_count <= 512
    exact = lower_quantiles(np.sort(values), QUANTILES)
    error = np.abs(sketch.quantiles(QUANTILES) - exact)
    assert np.all(error <= sketch.accuracy * np.abs(exact) * (1 + 1e-12))


def test_scale_choice_is_the_coarsest_meeting_the_accuracy() -> None:
    for accuracy in (0.5, 0.1, 0.05, 0.01, 0.001, 1e-4):
        sketch = dl.QuantileSketch(accuracy)
        s = sketch.scale
        base = 2.0 ** 2.0**-s
        assert (base - 1) / (base + 1) <= accuracy
        coarser = 2.0 ** 2.0 ** -(s - 1)
        assert (coarser - 1) / (coarser + 1) > accuracy or s == -10
        assert sketch.relative_accuracy == pytest.approx((base - 1) / (base + 1), rel=1e-12)
    assert dl.QuantileSketch(0.01).scale == 6


def test_rank_is_exact_outside_the_range_and_close_inside() -> None:
    values = np.random.default_rng(4).lognormal(0, 1, 100_000)
    sketch = dl.QuantileSketch(0.01)
    sketch.fill(values)
    assert sketch.rank(values.min() / 2) == 0.0
    assert sketch.rank(values.max()) == 1.0
    for x in np.quantile(values, [0.1, 0.5, 0.9]):
        true_rank = np.mean(values <= x)
        # Off only by the values sharing x's bucket.
        lo, hi = sketch.bounds(sketch.index(x))
        in_bucket = np.mean((values > lo) & (values <= hi))
        assert abs(sketch.rank(x) - true_rank) <= in_bucket + 1e-12
    assert math.isnan(dl.QuantileSketch().rank(1.0))
    assert math.isnan(sketch.rank(math.nan))


def test_exact_statistics() -> None:
    values = np.random.default_rng(5).normal(3, 2, 100_001)
    values[::1000] = 0.0
    sketch = dl.QuantileSketch()
    sketch.fill(values)
    sketch.fill([math.nan, math.inf, -math.inf, math.inf])
    assert sketch.count == len(values)
    assert sketch.zero_count == np.count_nonzero(values == 0)
    assert sketch.min == values.min() and sketch.max == values.max()
    assert sketch.sum == pytest.approx(math.fsum(values), rel=1e-15)
    assert (sketch.nan_count, sketch.positive_inf_count, sketch.negative_inf_count) == (1, 2, 1)
    assert sketch.total == len(values) + 4
    assert sketch.quantile(1.0) == values.max(), "infinities never enter quantiles"


def test_empty_sketch() -> None:
    sketch = dl.QuantileSketch()
    assert math.isnan(sketch.quantile(0.5))
    assert np.isnan(sketch.quantiles([0.1, 0.9])).all()
    assert math.isnan(sketch.min) and math.isnan(sketch.max)
    assert sketch.count == 0 and sketch.sum == 0.0
    sketch.record(math.nan)
    assert math.isnan(sketch.quantile(0.5)) and sketch.nan_count == 1


def test_sum_is_correctly_rounded_where_float_sums_are_not() -> None:
    values = np.array([1e16, 1.0, -1e16, 1.0] * 1000)
    sketch = dl.QuantileSketch()
    sketch.fill(values)
    assert sketch.sum == math.fsum(values) == 2000.0
