"""The Monitor's core state (FeatureWindow) against numpy on the raw values."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import driftline as dl
from driftline import _core
from helpers import assert_every_truncation_and_bit_flip_fails, reference_slots, reseal

ABSENT = struct.unpack("<d", struct.pack("<Q", 0x7FF800000000AB5E))[0]
INVALID = struct.unpack("<d", struct.pack("<Q", 0x7FF800000000BAD0))[0]


def make_edges(rng: np.random.Generator, f: int) -> list[np.ndarray]:
    """Per feature: a few to many sorted edges (some above the 16-edge SIMD threshold)."""
    out = []
    for j in range(f):
        k = [2, 5, 11, 17, 40][j % 5]
        out.append(np.unique(rng.normal(0, 1.5, k)))
    return out


def expected(edges: list[np.ndarray], data: np.ndarray) -> np.ndarray:
    return np.concatenate([reference_slots(e, data[:, j]) for j, e in enumerate(edges)])


def encoder(f: int) -> _core.RowEncoder:
    """The Monitor's converter for f numeric features named f0, f1, ..."""
    return _core.RowEncoder([f"f{j}" for j in range(f)], [None] * f)


def current(w: _core.FeatureWindow, now: float) -> dict[str, np.ndarray]:
    snap = w.snapshot(now)
    return {k: (v.sum(axis=0) if k in ("counts", "absent", "invalid", "rows") else v) for k, v in snap.items()}


def messy(rng: np.random.Generator, n: int, f: int) -> np.ndarray:
    x = rng.normal(0, 2, (n, f))
    x[rng.random((n, f)) < 0.05] = np.nan
    x[rng.random((n, f)) < 0.01] = np.inf
    x[rng.random((n, f)) < 0.01] = -np.inf
    return x


@pytest.mark.parametrize("layout", ["C", "F", "columns", "rows", "strided", "int32"])
def test_counts_equal_numpy_for_every_layout(simd: str, layout: str) -> None:
    rng = np.random.default_rng(7)
    edges = make_edges(rng, 12)
    data = messy(rng, 3000, 12)
    w = _core.FeatureWindow([e.tolist() for e in edges], 60.0, 5)
    if layout == "C":
        w.observe_array(np.ascontiguousarray(data), 10.0, 10.0)
    elif layout == "F":
        w.observe_array(np.asfortranarray(data), 10.0, 10.0)
    elif layout == "columns":
        columns = {f"f{j}": np.ascontiguousarray(data[:, j]) for j in range(12)}
        encoder(12).observe_columns(w, columns, 3000, 10.0, 10.0)
    elif layout == "rows":
        for row in data[:200]:
            w.observe_array(row, 10.0, 10.0)
        data = data[:200]
    elif layout == "strided":
        big = np.zeros((6000, 24))
        big[::2, ::2] = data
        w.observe_array(big[::2, ::2], 10.0, 10.0)
    else:
        data = np.round(np.nan_to_num(data, nan=0.0, posinf=5, neginf=-5) * 3)
        w.observe_array(data.astype(np.int32), 10.0, 10.0)
    got = current(w, 10.0)
    np.testing.assert_array_equal(got["counts"], expected(edges, data))
    assert got["rows"] == len(data)
    with np.errstate(invalid="ignore"):
        lo = np.where(np.isnan(data), np.inf, data).min(axis=0)
        hi = np.where(np.isnan(data), -np.inf, data).max(axis=0)
    np.testing.assert_array_equal(w.snapshot(10.0)["minimum"].min(axis=0), lo)
    np.testing.assert_array_equal(w.snapshot(10.0)["maximum"].max(axis=0), hi)


def test_absent_and_invalid_are_missing_and_counted_apart(simd: str) -> None:
    edges = [[0.0, 1.0, 2.0]] * 3
    w = _core.FeatureWindow(edges, 60.0, 5)
    n = 100
    f0 = [0.5] * n
    f0[:10] = ["text"] * 10  # not a number: invalid
    f0[10:13] = [None] * 3  # missing, not absent
    encoder(3).observe_columns(w, {"f0": f0, "f1": np.full(n, np.nan)}, n, 1.0, 1.0)  # f2 absent
    # The converter's marks, given directly, count the same way.
    w.observe_array(np.array([ABSENT, INVALID, 0.5]), 1.0, 1.0)
    got = current(w, 1.0)
    assert list(got["absent"]) == [1, 0, n]
    assert list(got["invalid"]) == [10, 1, 0]
    nan_slots = [w.offsets[j] + 4 for j in range(3)]
    assert list(got["counts"][nan_slots]) == [14, n + 1, n]
    assert np.isinf(w.snapshot(1.0)["minimum"][-1, 1])  # no value: +inf / -inf


def test_last_seen_moves_only_with_values() -> None:
    w = _core.FeatureWindow([[0.0, 1.0]] * 2, 10.0, 3)
    w.observe_array(np.array([0.5, np.nan]), 5.0, 5.0)
    assert list(w.last_seen) == [5.0, -np.inf]
    w.observe_array(np.array([[np.nan, np.nan], [np.nan, 2.0]]), 7.0, 7.0)
    assert list(w.last_seen) == [5.0, 7.0]
    w.observe_array(np.array([1.0, 1.0]), 500.0, 8.0)  # future: not in the ring, not "seen"
    assert list(w.last_seen) == [5.0, 7.0] and w.future == 1
    w.observe_array(np.array([1.0, 1.0]), 3.0, 8.0)  # older: max() keeps the latest
    assert list(w.last_seen) == [5.0, 7.0]


def test_ring_semantics_and_counter_identity() -> None:
    rng = np.random.default_rng(1)
    w = _core.FeatureWindow([[0.0, 1.0, 2.0]] * 4, 10.0, 6)
    now = 100.0
    total = 0
    for step in range(50):
        n = int(rng.integers(0, 30))
        t = now + rng.uniform(-80, 25)
        w.observe_array(rng.uniform(-1, 3, (n, 4)), t, now)
        total += n
        now += rng.uniform(0, 7)
    snap = w.snapshot(now)
    assert w.total == total
    assert snap["rows"].sum() + w.late + w.future + w.expired == total


def test_merge_equals_one_window_that_saw_everything() -> None:
    rng = np.random.default_rng(3)
    edges = make_edges(rng, 6)
    one = _core.FeatureWindow([e.tolist() for e in edges], 10.0, 8)
    parts = [_core.FeatureWindow([e.tolist() for e in edges], 10.0, 8) for _ in range(3)]
    for i in range(60):
        # Each part sees a third of the events; timestamps out of order but inside its ring.
        now = 100.0 + 2.0 * i
        k, data, t = int(rng.integers(0, 3)), messy(rng, int(rng.integers(1, 50)), 6), now + rng.uniform(-15, 5)
        one.observe_array(data, t, now)
        parts[k].observe_array(data, t, now)
    merged = _core.FeatureWindow(parts[0])
    merged.merge(parts[1])
    merged.merge(parts[2])
    a, b = one.snapshot(220.0), merged.snapshot(220.0)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert (one.total, one.late, one.future) == (merged.total, merged.late, merged.future)
    np.testing.assert_array_equal(one.last_seen, merged.last_seen)
    assert one.to_bytes() == merged.to_bytes()


def test_merge_refuses_other_bins_or_width() -> None:
    a = _core.FeatureWindow([[0.0, 1.0]], 10.0, 3)
    with pytest.raises(ValueError, match="do not match"):
        a.merge(_core.FeatureWindow([[0.0, 2.0]], 10.0, 3))
    with pytest.raises(ValueError, match="width or length"):
        a.merge(_core.FeatureWindow([[0.0, 1.0]], 5.0, 3))


def test_bad_input_raises_and_changes_nothing() -> None:
    w = _core.FeatureWindow([[0.0, 1.0]] * 3, 10.0, 3)
    w.observe_array(np.ones(3), 1.0, 1.0)
    before = w.to_bytes()
    for bad, error in [
        (np.ones(4), ValueError),
        (np.ones((2, 2)), ValueError),
        (np.ones((2, 3, 1)), ValueError),
        (np.array(["a", "b", "c"]), TypeError),
        (np.ones(3, dtype=complex), TypeError),
    ]:
        with pytest.raises(error):
            w.observe_array(bad, 1.0, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        w.observe_array(np.ones(3), float("nan"), 1.0)
    with pytest.raises(ValueError, match="holds 3 values, expected 2"):
        encoder(3).observe_columns(w, {"f0": np.ones(2), "f1": np.ones(3)}, 2, 1.0, 1.0)
    with pytest.raises(ValueError, match="different features"):
        encoder(2).observe_columns(w, {"f0": np.ones(2)}, 2, 1.0, 1.0)
    assert w.to_bytes() == before
    with pytest.raises(ValueError):
        _core.FeatureWindow([], 10.0, 3)
    with pytest.raises(ValueError):
        _core.FeatureWindow([[1.0, 0.0]], 10.0, 3)


def sample_blob() -> bytes:
    w = _core.FeatureWindow([[0.0, 1.0, 2.0], [-1.0, 1.0]], 5.0, 2)
    w.observe_array(np.array([[0.5, np.nan], [3.0, 0.0]]), 7.0, 9.0)
    encoder(2).observe_columns(w, {"f0": np.array([np.inf])}, 1, 1.0, 9.0)  # f1 absent
    return bytes(w.to_bytes())


def test_bytes_round_trip_and_every_truncation_and_bit_flip_fails_cleanly() -> None:
    blob = sample_blob()
    assert _core.FeatureWindow(blob).to_bytes() == blob
    assert_every_truncation_and_bit_flip_fails(blob, _core.FeatureWindow, dl.DecodeError)


def test_resealed_mutations_fail_cleanly_or_decode_to_a_consistent_object() -> None:
    rng = np.random.default_rng(11)
    good = sample_blob()
    decoded = 0
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(16, len(data) - 4))
            data[i] = int(rng.integers(0, 256))
        try:
            w = _core.FeatureWindow(reseal(bytes(data)))
        except dl.DecodeError:
            continue
        decoded += 1
        snap = w.snapshot(9.0)
        assert snap["rows"].sum() + w.late + w.future + w.expired == w.total
        assert _core.FeatureWindow(w.to_bytes()).to_bytes() == w.to_bytes()
    assert decoded < 3000


# -- staged single rows ------------------------------------------------------------
# A one-row observe is staged and counted later (FeatureWindow's class comment);
# a window read after every call counts each row at once. Both must end equal.


def _single_row_calls(rng: np.random.Generator, f: int, n: int) -> list[tuple[np.ndarray, float, float]]:
    """Rows with NaN, infinities and absent fields, at times late, future and in the ring; clocks that step back."""
    calls = []
    now = 1_000.0
    for _ in range(n):
        now += float(rng.choice([0.0, 0.4, 3.0, 61.0, -2.0]))  # a clock that also steps back
        row = rng.normal(0, 2, f)
        row[rng.random(f) < 0.1] = np.nan
        row[rng.random(f) < 0.05] = np.inf
        row[rng.random(f) < 0.05] = ABSENT
        t = now + float(rng.choice([0.0, 0.0, -30.0, -500.0, 25.0, 400.0]))  # late, future and ordinary
        calls.append((row, t, now))
    return calls


@pytest.mark.parametrize("f", [1, 3, 22, 300])
def test_staged_rows_give_the_state_of_rows_counted_at_once(f: int) -> None:
    rng = np.random.default_rng(f)
    edges = make_edges(rng, f)
    staged = _core.FeatureWindow([e.tolist() for e in edges], 10.0, 12)
    direct = _core.FeatureWindow([e.tolist() for e in edges], 10.0, 12)
    calls = _single_row_calls(rng, f, 500)
    most = 0
    for row, t, now in calls:
        staged.observe_array(row, t, now)
        most = max(most, staged.staged)
        direct.observe_array(row, t, now)
        assert direct.total >= 0 and direct.staged == 0  # a read counts what is staged
    assert most == min(32, 65536 // (8 * f))  # the stage fills to its capacity, then is counted
    assert staged.to_bytes() == direct.to_bytes()
    assert staged.staged == 0
    for attribute in ("total", "late", "future", "expired"):
        assert getattr(staged, attribute) == getattr(direct, attribute)


def test_every_read_and_write_counts_the_staged_rows_first() -> None:
    edges = [[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0]]
    reads = {
        "total": lambda w: w.total,
        "late": lambda w: w.late,
        "last_seen": lambda w: w.last_seen,
        "snapshot": lambda w: w.snapshot(100.0)["rows"].sum(),
        "to_bytes": lambda w: _core.FeatureWindow(w.to_bytes()).total,
        "copy": lambda w: _core.FeatureWindow(w).total,
        "batch": lambda w: w.observe_array(np.zeros((2, 2)), 100.0, 100.0),
        "merge_into": lambda w: w.merge(_core.FeatureWindow(edges, 10.0, 4)),
        "merge_from": lambda w: _core.FeatureWindow(edges, 10.0, 4).merge(w),
        "advance_to": lambda w: w.advance_to(100.0),
    }
    for name, read in reads.items():
        w = _core.FeatureWindow(edges, 10.0, 4)
        w.observe_array(np.array([0.5, 0.5]), 99.0, 99.0)
        assert w.staged == 1, name
        read(w)
        assert w.staged == 0, name
        assert w.total == (3 if name == "batch" else 1), name
    w = _core.FeatureWindow(edges, 10.0, 4)
    w.observe_array(np.array([0.5, 0.5]), 99.0, 99.0)
    view = _core.FeatureWindow(edges, 10.0, 4)
    view.assign(w)
    assert view.total == 1 and w.staged == 0


def test_a_staged_row_is_checked_before_it_is_staged() -> None:
    w = _core.FeatureWindow([[0.0, 1.0]], 10.0, 4)
    with pytest.raises(ValueError, match="NaN"):
        w.observe_array(np.array([0.5]), float("nan"), 5.0)
    with pytest.raises(ValueError, match="clock reading"):
        w.observe_array(np.array([0.5]), 5.0, float("inf"))
    assert w.staged == 0 and w.total == 0


def test_threads_staging_rows_while_others_read_lose_none() -> None:
    import threading

    edges = [np.linspace(-3, 3, 9).tolist()] * 4
    w = _core.FeatureWindow(edges, 60.0, 10)
    per_thread = 3000
    done = threading.Event()

    def writer(seed: int) -> None:
        rows = np.random.default_rng(seed).normal(size=(per_thread, 4))
        for row in rows:
            w.observe_array(row, 500.0, 500.0)

    def reader() -> None:
        while not done.is_set():
            assert w.snapshot(500.0)["rows"].sum() <= 3 * per_thread

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(3)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert w.total == 3 * per_thread
    assert int(w.snapshot(500.0)["counts"].sum()) == 4 * 3 * per_thread


def test_windows_merging_and_assigning_each_other_with_staged_rows_never_deadlock() -> None:
    import threading

    edges = [[0.0, 1.0, 2.0]] * 3
    a, b = _core.FeatureWindow(edges, 60.0, 4), _core.FeatureWindow(edges, 60.0, 4)

    def churn(mine: _core.FeatureWindow, theirs: _core.FeatureWindow) -> None:
        for i in range(300):
            mine.observe_array(np.array([0.5, 1.5, 0.5]), 100.0, 100.0)
            theirs.observe_array(np.array([1.5, 0.5, 1.5]), 100.0, 100.0)
            # Mostly assign (a copy of the other's size); a merge now and then: merging
            # each other every time would double the totals past 2^64 within 90 calls.
            (mine.merge if i % 25 == 0 else mine.assign)(theirs)

    threads = [threading.Thread(target=churn, args=pair, daemon=True) for pair in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "merge/assign in both directions deadlocked"
    assert a.staged == 0 or a.total >= 0
