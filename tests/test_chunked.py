"""Profiles and comparisons over chunks (driftline.chunked) equal the in-memory ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

import driftline as dl
from driftline import chunked
from driftline.profile import NumericFeature


def training(n: int = 40_000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(5, 2, n)
    x[::97] = np.nan
    return {
        "x": x,
        "flag": rng.integers(0, 3, n).astype(float),  # discrete: a cell per value
        "spike": np.where(rng.random(n) < 0.3, 1.0, rng.exponential(size=n)),  # a cell of its own for 1.0
        "city": rng.choice(np.array(["paris", "rome", "oslo", None], dtype=object), n, p=[0.5, 0.3, 0.15, 0.05]),
        "wide": rng.standard_cauchy(n) * 1e200,
    }


def pieces(data: dict[str, np.ndarray], size: int) -> chunked.Chunks:
    n = len(next(iter(data.values())))
    return chunked.Chunks(lambda: ({k: v[i : i + size] for k, v in data.items()} for i in range(0, n, size)))


def assert_same_profile(a: dl.Profile, b: dl.Profile) -> None:
    assert a.names == b.names and a.compatible(b)  # kinds, edges, categories
    for fa, fb in zip(a, b):
        assert fa.histogram == fb.histogram, fa.name
        if isinstance(fa, NumericFeature):
            assert isinstance(fb, NumericFeature)
            np.testing.assert_array_equal(fa.edges, fb.edges)
            for negative in (False, True):
                for p, q in zip(fa.sketch.buckets(negative), fb.sketch.buckets(negative)):
                    np.testing.assert_array_equal(p, q)
            assert (fa.count, fa.min, fa.max) == (fb.count, fb.min, fb.max)
            # Chan's merge of the moments vs one two-pass sum: rounding only.
            assert math.isclose(fa.mean, fb.mean, rel_tol=1e-12, abs_tol=1e-300)
            assert math.isclose(fa.m2, fb.m2, rel_tol=1e-10)


@pytest.mark.parametrize("size", [1, 997, 7_000, 40_000])
def test_profile_over_chunks_equals_profile_in_memory(size: int) -> None:
    data = training(5_000 if size == 1 else 40_000)
    assert_same_profile(dl.Profile.from_data(data), chunked.profile(pieces(data, size)))


def test_options_as_in_memory() -> None:
    data = training()
    expected = dl.Profile.from_data(data, categorical=["flag"], bins=4, max_categories=2)
    got = chunked.profile(pieces(data, 3_000), categorical=["flag"], bins=4, max_categories=2)
    assert_same_profile(expected, got)
    assert got["flag"].kind == "categorical" and len(got["city"].categories) == 2


def test_a_column_categorical_in_some_chunks_only_is_categorical_and_counted_exactly() -> None:
    values = np.array([1.0, 2.0, None, 3.0] * 500 + ["a", "b"] * 10, dtype=object)
    data = {"mixed": values, "x": np.arange(values.size, dtype=float)}
    expected = dl.Profile.from_data(data)
    got = chunked.profile(pieces(data, 500))  # the first four chunks hold numbers only
    assert got["mixed"].kind == "categorical"
    assert_same_profile(expected, got)


def test_compare_over_chunks_equals_compare_in_memory() -> None:
    profile = dl.Profile.from_data(training())
    current = training(30_000, seed=1)
    current["x"] = current["x"] + 0.4
    current["extra"] = np.ones(30_000)
    del current["wide"]
    expected = dl.compare(profile, current, correction="holm")
    got = chunked.compare(profile, pieces(current, 4_096), correction="holm")
    assert got.to_dict() == expected.to_dict()
    assert got.status == "alert" and "wide" in got.schema.missing and "extra" in got.schema.unexpected
    assert got.features["x"].distribution == expected.features["x"].distribution


def test_bad_sources_raise_clear_errors() -> None:
    data = training(1_000)
    with pytest.raises(ValueError, match="no rows"):
        chunked.profile(chunked.Chunks(lambda: iter(())))
    with pytest.raises(ValueError, match="not in the data"):
        chunked.profile(pieces(data, 100), categorical=["nope"])
    with pytest.raises(ValueError, match="different columns"):
        chunked.profile(chunked.Chunks(lambda: iter([{"a": [1.0]}, {"b": [1.0]}])))
    with pytest.raises(ValueError, match="no finite values"):
        chunked.profile(chunked.Chunks(lambda: iter([{"a": np.array([np.nan, np.inf])}])))
    calls = []

    def shrinking():  # a source whose data changes between passes
        calls.append(1)
        n = 1_000 if len(calls) == 1 else 500
        return iter([{"a": np.arange(n, dtype=float)}])

    with pytest.raises(ValueError, match="changed between passes"):
        chunked.profile(chunked.Chunks(shrinking))


def test_merged_moments_saturate_as_in_memory_so_the_profile_stays_encodable() -> None:
    a = dl.Profile.from_data({"w": np.array([1e300, -1e300, 5e299])})
    b = dl.Profile.from_data({"w": np.array([-1e300, 1e300])}, like=a)
    a.merge(b)  # the sum of squares overflows: it used to become inf, which to_bytes refuses
    assert a["w"].m2 == np.finfo(np.float64).max
    assert dl.Profile.from_bytes(a.to_bytes())["w"].m2 == a["w"].m2
