"""The exponent mapping: exact at every boundary, against integer arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

import driftline as dl
from helpers import each_simd_variant, exact_bucket_index

SCALES = [-10, -4, -1, 0, 1, 3, 6, 8, 10, 14]


def test_reference_agrees_with_the_definition_on_easy_values() -> None:
    # 3 = 2^1.58..: at scale 0 bucket 1 holds (2, 4]; at scale 1 bucket 3 holds (2^1.5, 4].
    assert exact_bucket_index(3.0, 0) == 1
    assert exact_bucket_index(3.0, 1) == 3
    assert exact_bucket_index(4.0, 0) == 1  # upper edge is inclusive
    assert exact_bucket_index(4.0, 2) == 7
    assert exact_bucket_index(1.0, 0) == -1
    assert exact_bucket_index(1024.0, -2) == (10 - 1) >> 2


@pytest.mark.parametrize("scale", SCALES)
def test_every_power_of_two_and_its_neighbours(scale: int) -> None:
    sketch = dl.QuantileSketch(scale=scale)
    for e in range(-1022, 1024):
        x = math.ldexp(1.0, e)
        for v in (math.nextafter(x, 0.0), x, math.nextafter(x, math.inf)):
            if v == math.inf:
                continue
            assert sketch.index(v) == exact_bucket_index(v, scale), (v, scale)
            assert sketch.index(-v) == sketch.index(v)


@pytest.mark.parametrize("scale", [1, 2, 3, 6, 8])
def test_every_interior_boundary_neighbourhood(scale: int) -> None:
    """The doubles on each side of every irrational boundary 2^(k/2^s) in [1, 2)."""
    sketch = dl.QuantileSketch(scale=scale)
    for k in range(1, 2**scale):
        b = 2.0 ** (k / 2**scale)
        for v in (math.nextafter(b, 0), b, math.nextafter(b, 2), math.nextafter(math.nextafter(b, 2), 2)):
            for binade in (-1000, -3, 0, 5, 900):
                w = math.ldexp(v, binade)
                assert sketch.index(w) == exact_bucket_index(w, scale), (w, scale)


def random_positive_doubles(n: int, seed: int) -> np.ndarray:
    """Uniform over the bit patterns of positive finite doubles (all binades, subnormals too)."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(1, 0x7FF0000000000000, size=n, dtype=np.int64)
    return bits.view(np.float64)


@pytest.mark.parametrize("scale", SCALES)
def test_a_million_random_doubles_against_an_exact_reference(scale: int) -> None:
    x = random_positive_doubles(1_000_000, seed=scale + 100)
    # Reference: float log2 is within 1e-8 of 2^s log2 x here; away from integers
    # its ceiling is exact. The few values within 1e-6 of a boundary get the
    # integer-arithmetic reference.
    mantissa, exponent = np.frexp(x)  # x = mantissa * 2^exponent, mantissa in [0.5, 1)
    y = (np.log2(mantissa * 2.0) + (exponent - 1).astype(np.float64)) * 2.0**scale
    expected = (np.ceil(y) - 1).astype(np.int64)
    ambiguous = np.abs(y - np.round(y)) < 1e-6
    for i in np.flatnonzero(ambiguous):
        expected[i] = exact_bucket_index(float(x[i]), scale)
    sketch = dl.QuantileSketch(scale=scale)
    got = np.array([sketch.index(v) for v in x[:200_000]])
    np.testing.assert_array_equal(got, expected[:200_000])
    # The batch kernels (every SIMD variant) must agree for all 1e6: compare bucket
    # counts, over a window of binades that fits 2^20 buckets at this scale.
    binades = min(2100, 2**20 // 2 ** max(scale, 0) - 2)
    keep = np.abs(exponent) < binades // 2
    ref_index, ref_counts = np.unique(expected[keep], return_counts=True)
    for variant in each_simd_variant():
        wide = dl.QuantileSketch(scale=scale, max_buckets=2**20)
        wide.fill(x[keep])
        assert wide.scale == scale
        index, counts = wide.buckets()
        np.testing.assert_array_equal(index, ref_index)
        np.testing.assert_array_equal(counts, ref_counts)


@pytest.mark.parametrize("scale", SCALES)
def test_index_is_monotonic_over_sorted_inputs(scale: int) -> None:
    x = np.sort(random_positive_doubles(200_000, seed=7))
    sketch = dl.QuantileSketch(scale=scale)
    got = np.array([sketch.index(v) for v in x])
    assert np.all(np.diff(got) >= 0)


@pytest.mark.parametrize("scale", SCALES)
def test_bounds_invert_index(scale: int) -> None:
    sketch = dl.QuantileSketch(scale=scale)
    rng = np.random.default_rng(scale + 50)
    for v in 10.0 ** rng.uniform(-300, 300, size=2000):
        lower, upper = sketch.bounds(sketch.index(v))
        # (lower, upper] holds v; bounds are exp2 to double precision.
        assert lower * (1 - 1e-15) < v <= upper * (1 + 1e-15)
    lower, upper = sketch.bounds(sketch.index(1.0))
    assert upper == 1.0


def test_index_and_bounds_reject_bad_arguments() -> None:
    sketch = dl.QuantileSketch()
    for bad in (0.0, -0.0, math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="finite non-zero"):
            sketch.index(bad)
    with pytest.raises(ValueError, match="outside"):
        sketch.bounds(2**31 - 1)
