"""Axes: construction, validation, edges, quantile edges."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import driftline as dl


def test_uniform_edges_are_numpy_linspace_to_the_bit() -> None:
    for lo, hi, bins in [(-5, 5, 10), (-5, 5, 100), (0.1, 0.7, 3), (-1e-3, 7e-3, 13), (3, 1e9, 999)]:
        np.testing.assert_array_equal(dl.Uniform(lo, hi, bins).edges, np.linspace(lo, hi, bins + 1))


def test_uniform_properties() -> None:
    axis = dl.Uniform(-5, 5, 10)
    assert axis.bins == 10 and len(axis) == 10
    assert axis.lo == -5.0 and axis.hi == 5.0
    assert axis.kind == "uniform"
    assert repr(axis) == "Uniform(-5, 5, bins=10)"


@pytest.mark.parametrize(
    "args,message",
    [
        ((0, 1, 0), "bins must be between 1 and 16777216, got 0"),
        ((0, 1, -3), "got -3"),
        ((0, 1, 2**24 + 1), "got 16777217"),
        ((1, 1, 3), "lo < hi"),
        ((2, 1, 3), "lo < hi"),
        ((float("nan"), 1, 3), "finite"),
        ((0, float("inf"), 3), "finite"),
        ((-1.7e308, 1.7e308, 3), "overflows"),
        ((1.0, 1.0 + 4e-16, 10), "too fine"),
    ],
)
def test_uniform_rejects_bad_arguments(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dl.Uniform(*args)


def test_uniform_bins_must_be_an_integer() -> None:
    with pytest.raises(TypeError):
        dl.Uniform(0, 1, 2.5)  # type: ignore[arg-type]


def test_edges_properties() -> None:
    axis = dl.Edges([-1, 0, 2.5])
    assert axis.bins == 2 and axis.kind == "variable"
    np.testing.assert_array_equal(axis.edges, [-1.0, 0.0, 2.5])
    assert repr(axis) == "Edges([-1, 0, 2.5], bins=2)"
    long = dl.Edges(np.arange(20.0))
    assert repr(long) == "Edges([0, 1, 2, ..., 16, 17, 18, 19], bins=19)"


@pytest.mark.parametrize(
    "edges,error,message",
    [
        ([1.0], ValueError, "at least 2"),
        ([], ValueError, "at least 2"),
        ([0.0, 0.0], ValueError, "strictly increasing, got 0 then 0 at index 1"),
        ([0.0, 2.0, 1.0], ValueError, "strictly increasing"),
        ([0.0, float("nan")], ValueError, "finite, got nan at index 1"),
        ([-float("inf"), 0.0], ValueError, "finite"),
        ([[0.0, 1.0], [2.0, 3.0]], ValueError, "1-D"),
        (["a", "b"], TypeError, "numeric"),
        ([1 + 2j, 3j], TypeError, "numeric"),
    ],
)
def test_edges_reject_bad_arguments(edges: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        dl.Edges(edges)  # type: ignore[arg-type]


def test_axis_equality_and_pickle() -> None:
    assert dl.Uniform(0, 1, 4) == dl.Uniform(0, 1, 4)
    assert dl.Uniform(0, 1, 4) != dl.Uniform(0, 1, 5)
    assert dl.Uniform(0, 1, 4) != dl.Edges(np.linspace(0, 1, 5))  # kinds differ
    assert dl.Edges([0, 1]) != "Edges([0, 1])"
    for axis in (dl.Uniform(-2, 3, 7), dl.Edges([0.5, 1, 9])):
        clone = pickle.loads(pickle.dumps(axis))
        assert type(clone) is type(axis) and clone == axis


def test_from_quantiles_gives_deciles_that_hold_the_whole_sample() -> None:
    sample = np.random.default_rng(0).normal(size=10_001)
    axis = dl.Edges.from_quantiles(sample)
    assert axis.bins == 10
    expected = np.quantile(sample, np.linspace(0, 1, 11))
    np.testing.assert_array_equal(axis.edges[:-1], expected[:-1])
    assert axis.edges[-1] == np.nextafter(sample.max(), np.inf)
    h = dl.Histogram(axis)
    h.fill(sample)
    assert h.underflow == 0 and h.overflow == 0
    assert np.all(np.abs(h.counts.astype(int) - 1000) <= 1)


def test_from_quantiles_removes_duplicates_and_ignores_nan() -> None:
    sample = np.array([1.0] * 50 + [2.0] * 30 + [3.0] * 20 + [np.nan] * 40)
    axis = dl.Edges.from_quantiles(sample, bins=10)
    expected = np.unique(np.quantile(sample[:100], np.linspace(0, 1, 11)))
    assert expected.size < 11, "the sample has ties, so some deciles coincide"
    expected[-1] = np.nextafter(3.0, np.inf)
    np.testing.assert_array_equal(axis.edges, expected)


def test_from_quantiles_of_a_constant_is_one_bin() -> None:
    axis = dl.Edges.from_quantiles([4.0, 4.0, 4.0])
    np.testing.assert_array_equal(axis.edges, [4.0, np.nextafter(4.0, np.inf)])


@pytest.mark.parametrize(
    "sample,bins,error,message",
    [
        ([], 10, ValueError, "no non-NaN"),
        ([np.nan, np.nan], 10, ValueError, "no non-NaN"),
        ([1.0, np.inf], 10, ValueError, "infinite"),
        ([1.0, 2.0], 0, ValueError, "at least 1"),
        (["x"], 10, TypeError, "numeric"),
        ([[1.0, 2.0]], 10, ValueError, "1-D"),
    ],
)
def test_from_quantiles_rejects_bad_samples(sample: object, bins: int, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        dl.Edges.from_quantiles(sample, bins=bins)  # type: ignore[arg-type]
