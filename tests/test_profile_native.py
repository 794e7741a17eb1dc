"""The native profile build (exact quantiles by selection, C++ category counting) equals
the pure-numpy / pure-Python computation it replaced, for every input shape."""

from __future__ import annotations

import enum
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pandas as pd

import driftline as dl
from driftline import _core
from helpers import each_simd_variant

QS = np.linspace(0.0, 1.0, 11)


def is_missing(v: Any) -> bool:
    """The documented rule, written in Python as the oracle: None, float NaN, pandas NA/NaT are missing."""
    if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
        return True
    if isinstance(v, (np.datetime64, np.timedelta64)):
        return np.isnat(v)
    return type(v).__name__ in ("NAType", "NaTType") and type(v).__module__.startswith("pandas")


def as_category(v: Any) -> Any:
    """A non-missing value's category by the documented rule (category_rule.hpp), in Python."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, (str, bool)):
        return str(v) if isinstance(v, str) else v
    if isinstance(v, int):
        return v if -(1 << 63) <= v < (1 << 63) else str(v)
    if isinstance(v, float) and math.isfinite(v):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def numpy_reference_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Edges.for_reference's rule, written with numpy alone (the implementation it replaced)."""
    v = values[np.isfinite(values)]
    candidates = np.unique(np.quantile(v, np.linspace(0.0, 1.0, bins + 1)))
    hits = np.array([np.count_nonzero(v == c) for c in candidates])
    if hits.sum() == v.size:
        present = candidates[hits > 0]
        return np.append(present, np.nextafter(present[-1], np.inf))
    spikes = candidates[hits * bins >= v.size]
    edges = candidates.copy()
    edges[-1] = np.nextafter(edges[-1], np.inf)
    return np.unique(np.concatenate([edges, spikes, np.nextafter(spikes, np.inf)]))


@settings(max_examples=300, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.integers(1, 3000),
        elements=st.one_of(
            st.floats(-1e9, 1e9, allow_nan=False),
            st.sampled_from([0.0, -0.0, 1.0, 2.5, -3.0, np.nan, np.inf, -np.inf, 5e-324, 1e300]),
        ),
    ),
)
def test_reference_quantiles_equal_numpy_quantile_to_the_bit(values: np.ndarray) -> None:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return
    expected = np.quantile(finite, QS)
    for _ in each_simd_variant():
        sketch = _core.QuantileSketch(6, 4096)
        sketch.fill(values)
        got, equal = _core._reference_quantiles(values, sketch, QS.tolist())
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(equal, [np.count_nonzero(finite == c) for c in expected])


def test_reference_quantiles_on_large_columns() -> None:
    rng = np.random.default_rng(0)
    spiky = rng.normal(size=300_000)
    spiky[rng.random(spiky.size) < 0.3] = 0.0
    for x in (rng.normal(size=1_000_000), rng.lognormal(0, 3, 500_000), rng.integers(0, 7, 400_000) * 1.0, spiky,
              np.sort(rng.normal(size=200_000)), rng.standard_cauchy(300_000)):
        sketch = _core.QuantileSketch(6, 4096)
        sketch.fill(x)
        got, _ = _core._reference_quantiles(x, sketch, QS.tolist())
        np.testing.assert_array_equal(got, np.quantile(x, QS))


@settings(max_examples=200, deadline=None)
@given(
    levels=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=12, unique=True),
    n=st.integers(1, 2000),
    bins=st.integers(1, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_native_edges_equal_the_numpy_rule(levels: list[float], n: int, bins: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.where(rng.random(n) < 0.5, rng.choice(levels, n), rng.normal(0, 1e3, n))
    np.testing.assert_array_equal(dl.Edges.for_reference(x, bins).edges, numpy_reference_edges(x, bins))


class Color(enum.IntEnum):
    RED = 1


def categorical_values(rng: np.random.Generator, n: int) -> list[Any]:
    pool: list[Any] = [
        "a", "b", "c", np.str_("b"), None, math.nan, np.float64("nan"), 1, 2, 2**70, True, False,
        np.int64(2), np.bool_(True), 1.5, np.float32(1.5), math.inf, b"a", b"\xff", Color.RED,
    ]
    return [pool[i] for i in rng.integers(0, len(pool), n)]


@given(value=st.one_of(
    st.none(), st.floats(), st.integers(-(2**70), 2**70), st.booleans(), st.text(max_size=5), st.binary(max_size=5),
    st.builds(np.float64, st.floats()), st.builds(np.int64, st.integers(-(2**63), 2**63 - 1)),
    st.builds(np.str_, st.text(max_size=5)), st.builds(np.float32, st.floats(width=32)),
    st.sampled_from([pd.NA, pd.NaT, np.datetime64("NaT"), np.timedelta64("NaT"), pd.Timestamp("2024-01-01")]),
))
def test_canonical_category_rule_is_one_rule(value: Any) -> None:
    expected = None if is_missing(value) else as_category(value)
    got = _core._canonical_category(value)
    assert type(got) is type(expected) and (got == expected or (got != got and expected != expected)), (value, got)


def _python_categorical(values: list[Any], max_categories: int = 50) -> tuple[tuple[Any, ...], list[int]]:
    """The pure-Python profile rule this replaced: counts over as_category of the non-missing values."""
    counts = Counter(as_category(v) for v in values if not is_missing(v))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    categories = tuple(c for c, _ in ranked[:max_categories])
    codes = {c: i for i, c in enumerate(categories)}
    coded = [codes.get(as_category(v), len(categories)) for v in values if not is_missing(v)]
    return categories, [coded.count(k) for k in range(len(categories) + 1)] + [sum(map(is_missing, values))]


@pytest.mark.parametrize("shape", ["mapping", "dataframe", "array"])
def test_native_profile_equals_the_python_profile(shape: str) -> None:
    rng = np.random.default_rng(7)
    n = 5000
    x = rng.normal(size=n)
    x[rng.random(n) < 0.05] = np.nan
    x[:3] = [np.inf, -np.inf, np.inf]
    spike = rng.lognormal(size=n)
    spike[rng.random(n) < 0.4] = 0.0
    numeric = {"x": x, "spike": spike, "code": rng.integers(0, 4, n).astype(np.float64)}
    text = rng.choice(["red", "green", "blue", "teal"], n)
    mixed = categorical_values(rng, n)
    if shape == "array":
        profile = dl.Profile.from_data(np.column_stack(list(numeric.values())), names=list(numeric))
    elif shape == "dataframe":
        pd = pytest.importorskip("pandas")
        profile = dl.Profile.from_data(pd.DataFrame({**numeric, "text": text, "mixed": pd.Series(mixed, dtype=object)}))
    else:
        profile = dl.Profile.from_data({**numeric, "text": text, "mixed": mixed})
    for name, values in numeric.items():
        f = profile[name]
        np.testing.assert_array_equal(f.edges, numpy_reference_edges(values, 10))
        finite = values[np.isfinite(values)]
        assert f.mean == float(finite.mean()) and f.m2 == float(((finite - finite.mean()) ** 2).sum())
        inside = values[(values >= f.edges[0]) & (values < f.edges[-1])]
        assert list(f.histogram.counts) == list(np.histogram(inside, f.edges)[0])
        assert f.histogram.nan == np.isnan(values).sum()
    if shape != "array":
        for name, values in {"text": list(text), "mixed": mixed}.items():
            categories, counts = _python_categorical(values)
            assert profile[name].categories == categories
            slots = profile[name].histogram.slot_counts()
            assert list(slots[1:-2]) + [slots[-1]] == counts  # categories, other, missing
