"""Merging: order-free, exact across scales, never touching its argument."""

from __future__ import annotations

import numpy as np
import pytest

import driftline as dl
from helpers import each_simd_variant

DATASETS = {
    "lognormal": lambda r: r.lognormal(-7, 2, 300_000),
    "mixed-sign-with-specials": lambda r: np.concatenate(
        [r.standard_t(3, 300_000), [0.0, 0.0, np.nan, np.inf, -np.inf, 5e-324, -5e-324]]
    ),
    "wide": lambda r: 10.0 ** r.uniform(-200, 200, 100_000),
}


@pytest.mark.parametrize("max_buckets", [4096, 64])
@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("parts", [2, 8, 64])
def test_split_and_merged_in_random_order_equals_single_pass(name: str, parts: int, max_buckets: int) -> None:
    rng = np.random.default_rng(parts)
    values = DATASETS[name](rng)
    single = dl.QuantileSketch(0.01, max_buckets=max_buckets)
    single.fill(values)
    pieces = np.array_split(values, np.sort(rng.choice(len(values), parts - 1, replace=False)))
    sketches = []
    for piece in pieces:
        s = dl.QuantileSketch(0.01, max_buckets=max_buckets)
        s.fill(piece)
        sketches.append(s)
    merged = dl.QuantileSketch(0.01, max_buckets=max_buckets)
    for i in rng.permutation(parts):
        merged.merge(sketches[i])
    assert merged == single
    # Bytes may differ only in the low word of the double-double sum.
    assert dl.QuantileSketch.from_bytes(merged.to_bytes()) == single
    # Pairwise tree merges in another order agree too.
    order = list(rng.permutation(parts))
    tree = [sketches[i].copy() for i in order]
    while len(tree) > 1:
        tree = [tree[i] + tree[i + 1] if i + 1 < len(tree) else tree[i] for i in range(0, len(tree), 2)]
    assert tree[0] == single


def test_merge_never_modifies_its_argument() -> None:
    a, b = dl.QuantileSketch(scale=8), dl.QuantileSketch(scale=3)
    a.fill(np.random.default_rng(1).lognormal(0, 1, 10_000))
    b.fill([1.0, 2.0, 3.0])
    before = a.to_bytes()
    b.merge(a)
    assert a.to_bytes() == before and a.scale == 8
    assert b.scale == 3 and b.count == 10_003


def test_a_lowered_scale_equals_recording_at_the_lower_scale() -> None:
    values = np.random.default_rng(2).standard_t(2, 50_000)
    fine = dl.QuantileSketch(scale=9)
    fine.fill(values)
    coarse_direct = dl.QuantileSketch(scale=2)
    coarse_direct.fill(values)
    lowered = dl.QuantileSketch(scale=2)
    lowered.merge(fine)
    assert lowered == coarse_direct
    # Lowering forced by max_buckets equals recording directly at the final scale.
    squeezed = dl.QuantileSketch(scale=9, max_buckets=40)
    squeezed.fill(values)
    assert squeezed.scale < 9
    direct = dl.QuantileSketch(scale=squeezed.scale, max_buckets=2**20)
    direct.fill(values)
    assert squeezed == direct


def test_record_fill_and_every_simd_variant_agree() -> None:
    values = np.concatenate(
        [np.random.default_rng(3).standard_t(2, 20_000), [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-310]]
    )
    one_by_one = dl.QuantileSketch(0.01)
    for v in values:
        one_by_one.record(v)
    for variant in each_simd_variant():
        batch = dl.QuantileSketch(0.01)
        batch.fill(values)
        assert batch == one_by_one, variant


def test_operators_copy_and_reset() -> None:
    a, b = dl.QuantileSketch(), dl.QuantileSketch()
    a.fill([1.0, 2.0])
    b.fill([3.0])
    c = a + b
    assert c.count == 3 and a.count == 2 and b.count == 1
    a += b
    assert a == c
    d = a.copy()
    d.record(4.0)
    assert d != a
    d.reset()
    assert d == dl.QuantileSketch() and d.scale == d.requested_scale
    with pytest.raises(TypeError):
        a.merge([1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a + 1  # type: ignore[operator]
