"""Exact quantiles of chunked data (driftline._selection) against numpy.quantile and the in-memory selection."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import driftline._core as core
from driftline import _selection

LEVELS = np.linspace(0.0, 1.0, 11).tolist()


def chunked_quantiles(x: np.ndarray, chunks: int, qs: list[float]) -> tuple[np.ndarray, np.ndarray, int]:
    keys = [_selection.keys_of(p[np.isfinite(p)]) for p in np.array_split(x, chunks)]
    first = _selection._EMPTY
    for k in keys:
        first = _selection.add_counts(first, _selection.top_digits(k))
    passes = [0]

    def run(request: _selection.Request) -> _selection.Answer:
        passes[0] += 1
        answers = [_selection.answer(request, k) for k in keys]
        out = answers[0]
        for a in answers[1:]:
            out = out.merge(a)
        return out

    values, equal = _selection.linear_quantiles(first, qs, run)
    return values, equal, passes[0]


def in_memory(x: np.ndarray, qs: list[float]) -> tuple[np.ndarray, np.ndarray]:
    sketch = core.QuantileSketch(6, 4096)
    sketch.fill(x)
    return core._reference_quantiles(x, sketch, qs)


def test_keys_sort_as_the_doubles_do() -> None:
    x = np.array([-np.finfo(float).max, -1e300, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1e-300, 1.0, np.finfo(float).max])
    keys = _selection.keys_of(x)
    assert np.all(np.diff(keys.astype(object)) >= 0)
    assert keys[4] == keys[5]  # -0.0 is keyed as 0.0
    assert [_selection.value_of(int(k)) for k in keys[5:]] == x[5:].tolist()
    assert _selection.value_of(int(keys[0])) == x[0]


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: rng.normal(100, 1, 200_000),  # narrow: one first digit holds half of the values
        lambda rng: rng.integers(0, 5, 100_000).astype(float),  # discrete: the equal counts matter
        lambda rng: np.concatenate([rng.normal(size=1000), [1e300, -1e300, np.nan, np.inf, -np.inf]]),
        lambda rng: np.concatenate([np.zeros(5000), -np.zeros(5000), rng.normal(size=100)]),
        lambda rng: rng.standard_cauchy(30_001),
        lambda rng: np.array([3.0]),
        lambda rng: np.where(rng.random(50_000) < 0.3, 1.0, rng.exponential(size=50_000)),  # a spike
    ],
)
@pytest.mark.parametrize("collect_at", [1 << 18, 10, 1])
def test_chunked_quantiles_equal_numpy_and_the_in_memory_selection(make, collect_at, monkeypatch) -> None:
    monkeypatch.setattr(_selection, "COLLECT_AT", collect_at)  # 1: every rank refined to a whole key
    x = make(np.random.default_rng(7))
    values, equal, passes = chunked_quantiles(x, 7, LEVELS)
    finite = x[np.isfinite(x)]
    assert values.tolist() == np.quantile(finite, LEVELS).tolist()
    ref_values, ref_equal = in_memory(x, LEVELS)
    assert values.tolist() == ref_values.tolist()
    assert equal.tolist() == ref_equal.tolist()
    assert passes <= _selection.LEVELS - 1 + 1  # at most three refinements, then one copy


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 400), elements=st.floats(allow_nan=True, allow_infinity=False, width=64)),
    st.integers(1, 9),
    st.lists(st.floats(0, 1), min_size=1, max_size=12),
)
def test_any_finite_values_any_chunks_any_levels(x, chunks, qs) -> None:
    if not np.isfinite(x).any():
        return
    values, equal, _ = chunked_quantiles(x, chunks, qs)
    ref_values, ref_equal = in_memory(x, qs)
    np.testing.assert_array_equal(values, ref_values)
    np.testing.assert_array_equal(equal, ref_equal)


def test_changed_chunks_are_detected() -> None:
    x = np.random.default_rng(1).normal(size=1000)
    first = _selection.top_digits(_selection.keys_of(x))
    y = _selection.keys_of(x[:500])  # the second pass sees other data
    with pytest.raises(ValueError, match="changed between passes"):
        _selection.linear_quantiles(first, LEVELS, lambda request: _selection.answer(request, y))
