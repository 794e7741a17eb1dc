"""The Histogram's API: reading, combining, comparing, showing, bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import driftline as dl
from helpers import reseal


@pytest.fixture
def filled() -> dl.Histogram:
    h = dl.Histogram(dl.Uniform(0, 4, 4))
    h.fill([-1, 0, 1, 1, 2, 3.9, 4, 7, np.nan])
    return h


def test_reading(filled: dl.Histogram) -> None:
    assert filled.counts.dtype == np.uint64
    assert list(filled.counts) == [1, 2, 1, 1]
    assert (filled.underflow, filled.overflow, filled.nan, filled.total) == (1, 2, 1, 9)
    np.testing.assert_array_equal(filled.edges, [0, 1, 2, 3, 4])
    assert filled.axis == dl.Uniform(0, 4, 4)
    assert isinstance(filled.axis, dl.Uniform)


def test_proportions(filled: dl.Histogram) -> None:
    np.testing.assert_allclose(filled.proportions(), np.array([1, 1, 2, 1, 1, 2]) / 8)
    np.testing.assert_allclose(filled.proportions(flow=False), np.array([1, 2, 1, 1]) / 5)
    empty = dl.Histogram(dl.Uniform(0, 1, 3))
    assert np.isnan(empty.proportions()).all() and empty.proportions().shape == (5,)
    empty.record(np.nan)
    assert np.isnan(empty.proportions(flow=False)).all()


def test_merge_and_operators(filled: dl.Histogram) -> None:
    other = dl.Histogram(dl.Uniform(0, 4, 4))
    other.fill([0.5, 5])
    before = other.copy()
    total = filled + other
    assert total.total == 11 and list(total.counts) == [2, 2, 1, 1]
    assert other == before, "merge never modifies its argument"
    assert filled.total == 9, "+ does not modify its left operand"
    same = filled
    filled += other
    assert filled is same and filled == total
    assert filled.merge(other) is filled and filled.total == 13
    filled.merge(filled)
    assert filled.total == 26


def test_merge_with_a_different_axis_names_both(filled: dl.Histogram) -> None:
    other = dl.Histogram(dl.Edges([0, 1, 2]))
    with pytest.raises(dl.AxisMismatchError) as info:
        filled.merge(other)
    assert isinstance(info.value, ValueError)
    assert "Uniform(0, 4, bins=4)" in str(info.value) and "Edges([0, 1, 2], bins=2)" in str(info.value)
    with pytest.raises(dl.AxisMismatchError):
        filled += other
    with pytest.raises(TypeError):
        filled.merge([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        filled + 1  # type: ignore[operator]


def test_merge_that_would_overflow_changes_nothing() -> None:
    h = dl.Histogram(dl.Uniform(0, 1, 1))
    h.record(0.5)
    blob = bytearray(h.to_bytes())
    # Forge a blob whose bin count is 2**64 - 1 (with a valid checksum).
    payload_start = 16
    count_offset = payload_start + 8 + 16 + 8  # kind/bins, lo/hi, underflow
    blob[count_offset:count_offset + 8] = (2**64 - 1).to_bytes(8, "little")
    big = dl.Histogram.from_bytes(reseal(bytes(blob)))
    assert big.counts[0] == 2**64 - 1
    with pytest.raises(OverflowError):
        h.merge(big)
    assert h.total == 1


def test_copy_is_independent(filled: dl.Histogram) -> None:
    for clone in (filled.copy(), copy.copy(filled), copy.deepcopy(filled)):
        assert clone == filled and clone is not filled and type(clone) is dl.Histogram
        clone.record(1.5)
        assert clone != filled


def test_reset(filled: dl.Histogram) -> None:
    filled.reset()
    assert filled.total == 0 and filled.nan == 0 and filled == dl.Histogram(dl.Uniform(0, 4, 4))


def test_equality(filled: dl.Histogram) -> None:
    assert filled == filled.copy()
    assert filled != dl.Histogram(dl.Uniform(0, 4, 4))
    assert filled != dl.Histogram(dl.Uniform(0, 4, 5))
    assert filled != "a histogram"
    with pytest.raises(TypeError):
        hash(filled)


def test_repr(filled: dl.Histogram) -> None:
    assert repr(filled) == "Histogram(Uniform(0, 4, bins=4), total=9, underflow=1, overflow=2, nan=1)"


@pytest.mark.parametrize(
    "values,error,message",
    [
        (np.array(["1", "2"]), TypeError, "numeric.*<U1"),
        (np.array([b"1"]), TypeError, "numeric"),
        (np.array([1, "a"], dtype=object), TypeError, "numeric.*object"),
        (["1.5", "2"], TypeError, "numeric"),
        (np.array([1 + 1j]), TypeError, "numeric.*complex"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), TypeError, "numeric"),
        (np.zeros((3, 2)), ValueError, r"1-D, got 2-D with shape \(3, 2\)"),
        (np.float64(1.0), ValueError, "1-D, got 0-D"),
        (3.0, ValueError, "1-D, got 0-D"),
        (None, TypeError, "numeric.*object"),
        ({"a": 1}, TypeError, "numeric.*object"),
    ],
)
def test_fill_rejects_bad_input_naming_the_problem(values: object, error: type, message: str) -> None:
    h = dl.Histogram(dl.Uniform(0, 1, 2))
    with pytest.raises(error, match=message):
        h.fill(values)  # type: ignore[arg-type]
    assert h.total == 0


@pytest.mark.parametrize("value", ["1.0", None, [1.0], 1j])
def test_record_rejects_non_numbers(value: object) -> None:
    h = dl.Histogram(dl.Uniform(0, 1, 2))
    with pytest.raises(TypeError):
        h.record(value)  # type: ignore[arg-type]
    assert h.total == 0


def test_histogram_needs_an_axis() -> None:
    with pytest.raises(TypeError, match="driftline.Uniform or driftline.Edges, got tuple"):
        dl.Histogram((0, 1, 2))  # type: ignore[arg-type]


def test_empty_fill_is_a_no_op() -> None:
    h = dl.Histogram(dl.Uniform(0, 1, 2))
    h.fill([])
    h.fill(np.array([], dtype=np.float32))
    assert h.total == 0

