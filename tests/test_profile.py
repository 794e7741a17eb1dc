"""Reference profiles against numpy and collections.Counter on the same data."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pandas as pd
import pytest

import driftline as dl
from helpers import assert_every_truncation_and_bit_flip_fails, reference_slots, reseal


def training(n: int = 5000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(3, 2, n)
    x[rng.random(n) < 0.02] = np.nan
    return {
        "x": x,
        "ties": rng.integers(0, 4, n).astype(float),
        "color": rng.choice(["red", "green", "blue", "cyan"], n, p=[0.5, 0.3, 0.15, 0.05]),
        "flag": rng.random(n) < 0.2,
        "store": rng.integers(0, 30, n),
    }


def test_numeric_feature_matches_numpy() -> None:
    d = training()
    p = dl.Profile.from_data(d, bins=8)
    f = p["x"]
    assert isinstance(f, dl.NumericFeature)
    x = d["x"]
    finite = x[np.isfinite(x)]
    np.testing.assert_array_equal(f.edges, dl.Edges.for_reference(finite, 8).edges)
    np.testing.assert_array_equal(f.histogram.slot_counts(), reference_slots(f.edges, x))
    assert f.count == finite.size and f.missing == int(np.isnan(x).sum())
    assert f.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert f.std == pytest.approx(finite.std(ddof=1), rel=1e-12)
    assert (f.min, f.max) == (finite.min(), finite.max())
    assert f.sketch.quantile(0.5) == pytest.approx(np.quantile(finite, 0.5, method="lower"), rel=0.01)
    assert f.cells().sum() == finite.size  # every reference value is inside the edges
    assert f.cells()[0] == 0 and f.cells()[-1] == 0
    ties = p["ties"]
    assert len(ties.edges) <= 5  # heavy ties give fewer bins


def test_categorical_features_match_counter() -> None:
    d = training()
    p = dl.Profile.from_data(d, categorical=["store"], max_categories=10)
    color = p["color"]
    assert isinstance(color, dl.CategoricalFeature)
    counts = Counter(d["color"].tolist())
    assert color.categories == tuple(c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    slots = color.histogram.slot_counts()
    assert [int(slots[i + 1]) for i in range(4)] == [counts[c] for c in color.categories]
    assert color.other == 0 and color.missing == 0
    flag = p["flag"]
    assert isinstance(flag, dl.CategoricalFeature) and set(flag.categories) == {True, False}
    store = p["store"]
    assert isinstance(store, dl.CategoricalFeature) and len(store.categories) == 10
    top = Counter(d["store"].tolist())
    kept = sum(top[c] for c in store.categories)
    assert store.other == len(d["store"]) - kept
    assert kept == sum(sorted(top.values(), reverse=True)[:10])


def test_missing_categories_are_counted() -> None:
    p = dl.Profile.from_data({"c": ["a", None, "b", float("nan"), "a"]})
    c = p["c"]
    assert c.missing == 2 and c.count == 3 and c.categories == ("a", "b")


def test_every_input_shape_gives_the_same_profile() -> None:
    d = training(800)
    by_mapping = dl.Profile.from_data(d)
    by_frame = dl.Profile.from_data(pd.DataFrame(d))
    assert by_frame == by_mapping
    numeric = {k: d[k] for k in ("x", "ties")}
    by_array = dl.Profile.from_data(np.column_stack([numeric["x"], numeric["ties"]]), names=["x", "ties"])
    assert by_array == dl.Profile.from_data(numeric)
    as_lists = dl.Profile.from_data({k: v.tolist() for k, v in d.items()})
    assert as_lists == by_mapping
    frame = pd.DataFrame(d)
    frame["color"] = frame["color"].astype("category")
    assert dl.Profile.from_data(frame) == by_mapping  # a pandas category column is categorical


def test_pieces_merge_to_the_whole() -> None:
    d = training(4000)
    first = {k: v[:1500] for k, v in d.items()}
    second = {k: v[1500:] for k, v in d.items()}
    a = dl.Profile.from_data(first)
    b = dl.Profile.from_data(second, like=a)
    whole = dl.Profile.from_data(d, like=a)
    merged = a + b
    for fm, fw in zip(merged, whole):
        assert fm.histogram == fw.histogram
        if isinstance(fm, dl.NumericFeature):
            assert fm.sketch == fw.sketch
            assert fm.mean == pytest.approx(fw.mean, rel=1e-12)
            assert fm.m2 == pytest.approx(fw.m2, rel=1e-9)
    with pytest.raises(ValueError, match="like="):
        a.merge(dl.Profile.from_data(second))


def test_save_load_bytes_pickle(tmp_path) -> None:
    p = dl.Profile.from_data(training(500))
    path = tmp_path / "ref.drift"
    p.save(path)
    assert dl.Profile.load(path) == p
    assert dl.Profile.from_bytes(p.to_bytes()).to_bytes() == p.to_bytes()
    assert pickle.loads(pickle.dumps(p)) == p


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match="mapping"):
        dl.Profile.from_data([1, 2, 3])
    with pytest.raises(ValueError, match="names="):
        dl.Profile.from_data(np.ones((3, 2)))
    with pytest.raises(ValueError, match="different lengths"):
        dl.Profile.from_data({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(ValueError, match="1-D"):
        dl.Profile.from_data({"a": np.ones((2, 2))})
    with pytest.raises(ValueError, match="no finite values"):
        dl.Profile.from_data({"a": [np.nan, np.inf]})
    with pytest.raises(ValueError, match="not in the data"):
        dl.Profile.from_data({"a": [1.0]}, categorical=["b"])
    with pytest.raises(ValueError, match="bins"):
        dl.Profile.from_data({"a": [1.0]}, bins=0)
    with pytest.raises(ValueError, match="at least one feature"):
        dl.Profile.from_data({})
    with pytest.raises(TypeError, match="strings"):
        dl.Profile.from_data({1: [1.0]})


def test_every_truncation_and_bit_flip_raises_decode_error() -> None:
    p = dl.Profile.from_data({"x": [1.0, 2.0, np.nan], "c": ["a", "b", None], "k": [True, False, True]})
    blob = p.to_bytes()
    assert_every_truncation_and_bit_flip_fails(blob, dl.Profile.from_bytes, dl.DecodeError)


def test_resealed_mutations_fail_cleanly() -> None:
    rng = np.random.default_rng(5)
    p = dl.Profile.from_data({"x": [1.0, 2.0, np.nan, 4.0], "c": ["a", "b", None, "a"]})
    good = p.to_bytes()
    for _ in range(3000):
        data = bytearray(good)
        i = int(rng.integers(16, len(data) - 4))
        data[i] = int(rng.integers(0, 256))
        try:
            q = dl.Profile.from_bytes(reseal(bytes(data)))
        except dl.DecodeError:
            continue
        assert dl.Profile.from_bytes(q.to_bytes()) == q
        q.summary()
    # A forged feature count cannot make the decoder allocate for it.
    forged = bytearray(good)
    forged[16:20] = (60000).to_bytes(4, "little")
    with pytest.raises(dl.DecodeError):
        dl.Profile.from_bytes(reseal(bytes(forged)))
