"""Every fill agrees with numpy.histogram, for every SIMD variant."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import driftline as dl
from helpers import each_simd_variant, reference_slots

AXES = [
    dl.Uniform(-5, 5, 10),
    dl.Uniform(-5, 5, 100),
    dl.Uniform(0, 1, 1),
    dl.Uniform(-1e-3, 7e-3, 13),
    dl.Uniform(1e6, 1e6 + 1, 7),
    dl.Uniform(-3, 3, 5000),
    dl.Edges([-1.0, 0.0, 2.5]),
    dl.Edges(np.linspace(-4, 4, 11)),
    dl.Edges(np.sort(np.random.default_rng(5).normal(size=16))),
    dl.Edges(np.sort(np.random.default_rng(6).normal(size=17))),
    dl.Edges(np.sort(np.random.default_rng(7).normal(size=31))),
    dl.Edges(np.sort(np.random.default_rng(8).normal(size=300))),
    dl.Edges(np.unique(np.random.default_rng(9).normal(size=3000))),
]


def fill_and_compare(axis: dl.Axis, values: np.ndarray) -> None:
    h = dl.Histogram(axis)
    h.fill(values)
    expected = reference_slots(axis.edges, values)
    np.testing.assert_array_equal(h.slot_counts(), expected)
    assert h.total == len(values)


@pytest.mark.parametrize("axis", AXES, ids=repr)
def test_fill_matches_numpy_on_random_data(simd: str, axis: dl.Axis) -> None:
    rng = np.random.default_rng(42)
    lo, hi = axis.edges[0], axis.edges[-1]
    span = hi - lo
    values = np.concatenate(
        [
            rng.normal(size=20_000),
            rng.uniform(lo - 0.1 * span, hi + 0.1 * span, size=20_003),
            [np.nan, np.inf, -np.inf, np.nan, 0.0, -0.0, 1e308, -1e308, 5e-324],
        ]
    )
    rng.shuffle(values)
    fill_and_compare(axis, values)


@pytest.mark.parametrize("axis", AXES, ids=repr)
def test_values_on_and_next_to_every_edge(simd: str, axis: dl.Axis) -> None:
    edges = axis.edges
    values = np.concatenate(
        [edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)]
    )
    # Each of these lands where half-open [a, b) says; repeat so SIMD blocks see them.
    fill_and_compare(axis, np.tile(values, 3))
    h = dl.Histogram(axis)
    for v in values:
        h.record(v)
    np.testing.assert_array_equal(h.slot_counts(), reference_slots(edges, values))


def test_edge_values_land_in_the_bin_they_open(simd: str) -> None:
    h = dl.Histogram(dl.Uniform(0, 10, 10))
    h.fill([0.0, 1.0, 9.0, 10.0, -0.0])
    assert list(h.counts) == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert h.overflow == 1 and h.underflow == 0


def test_flows_and_nan_semantics(simd: str) -> None:
    h = dl.Histogram(dl.Edges([0.0, 1.0, 2.0]))
    h.fill([-np.inf, -1.0, np.inf, 2.0, 5.0, np.nan, np.nan, 0.5])
    assert h.underflow == 2
    assert h.overflow == 3
    assert h.nan == 2
    assert list(h.counts) == [1, 0]
    assert h.total == 8


@pytest.mark.parametrize("length", [0, 1, 7, 8, 9, 63, 64, 65, 2047, 2048, 2049, 4097])
@pytest.mark.parametrize("axis", [AXES[0], AXES[1], AXES[7], AXES[11]], ids=repr)
def test_every_length_including_partial_blocks(simd: str, axis: dl.Axis, length: int) -> None:
    values = np.random.default_rng(length).normal(scale=3, size=length)
    values[::5] = np.nan
    fill_and_compare(axis, values)


DTYPES = [
    np.float64, np.float32, np.float16, np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64, np.bool_,
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_all_numeric_dtypes_match_a_float64_copy(simd: str, dtype: type) -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(scale=40, size=5000)
    if np.dtype(dtype).kind == "u":
        raw = np.abs(raw)
    values = raw.astype(dtype)
    axis = dl.Uniform(-60, 60, 24)
    h = dl.Histogram(axis)
    h.fill(values)
    np.testing.assert_array_equal(
        h.slot_counts(), reference_slots(axis.edges, values.astype(np.float64))
    )


def layouts() -> list[tuple[str, np.ndarray]]:
    base = np.random.default_rng(3).normal(scale=3, size=(400, 30))
    return [
        ("strided", base[:, 3]),
        ("negative-stride", base[::-1, 0]),
        ("fortran-column", np.asfortranarray(base)[:, 7]),
        ("byteswapped", base[:, 1].astype(">f8")),
        ("byteswapped-f4", base[:, 2].astype(">f4")),
        ("every-third", base.ravel()[::3]),
        ("unaligned", np.frombuffer(b"\0" + base[:, 4].tobytes(), dtype="<f8", offset=1)),
        ("list", list(base[:, 5])),
        ("tuple-of-ints", tuple(range(-10, 10))),
        ("readonly", np.frombuffer(base[:, 6].tobytes())),
    ]


@pytest.mark.parametrize("name,values", layouts(), ids=[n for n, _ in layouts()])
def test_memory_layouts_match_a_contiguous_copy(simd: str, name: str, values: object) -> None:
    axis = dl.Uniform(-8, 8, 32)
    h = dl.Histogram(axis)
    h.fill(values)
    contiguous = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    g = dl.Histogram(axis)
    g.fill(contiguous)
    assert h == g
    np.testing.assert_array_equal(h.slot_counts(), reference_slots(axis.edges, contiguous))


@settings(max_examples=200, deadline=None)
@given(
    values=hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int16, np.uint8]),
        shape=st.integers(0, 300),
    ),
    lo=st.floats(-100, 100, allow_nan=False),
    width=st.floats(1e-3, 1e3),
    bins=st.integers(1, 40),
)
def test_hypothesis_uniform_matches_numpy(values: np.ndarray, lo: float, width: float, bins: int) -> None:
    axis = dl.Uniform(lo, lo + width, bins)
    for variant in each_simd_variant():
        fill_and_compare(axis, values)


@settings(max_examples=200, deadline=None)
@given(
    values=hnp.arrays(
        dtype=np.float64,
        shape=st.integers(0, 300),
        elements=st.floats(allow_nan=True, allow_infinity=True),
    ),
    edges=st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=40, unique=True).map(sorted),
)
def test_hypothesis_edges_match_numpy(values: np.ndarray, edges: list[float]) -> None:
    axis = dl.Edges(edges)
    # Values drawn from the edges themselves hit the boundaries exactly.
    mixed = np.concatenate([values, np.asarray(edges)])
    for variant in each_simd_variant():
        fill_and_compare(axis, mixed)


def test_record_matches_fill(simd: str) -> None:
    values = np.random.default_rng(11).normal(size=3000)
    values[::7] = np.nan
    for axis in (AXES[0], AXES[7], AXES[11]):
        a, b = dl.Histogram(axis), dl.Histogram(axis)
        a.fill(values)
        for v in values:
            b.record(v)
        assert a == b


def test_record_accepts_python_and_numpy_scalars() -> None:
    h = dl.Histogram(dl.Uniform(0, 4, 4))
    h.record(1)
    h.record(2.5)
    h.record(True)
    h.record(np.float32(3.5))
    h.record(np.int64(0))
    assert list(h.counts) == [1, 2, 1, 1]
