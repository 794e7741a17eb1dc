"""Windows: nothing lost, exact slot semantics, bounded memory, hostile bytes."""

from __future__ import annotations

import gc
import pickle
import threading

import numpy as np
import pytest

import driftline as dl
from helpers import assert_every_truncation_and_bit_flip_fails, reseal


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ring_slots(now: float, width: float, length: int) -> tuple[int, int]:
    head = int(np.floor(now / width))
    return head - length + 1, head + 1  # inclusive, with the look-ahead slot


@pytest.mark.parametrize("kind", ["histogram", "sketch"])
def test_every_event_is_accounted_for_and_merged_equals_direct(simd: str, kind: str) -> None:
    rng = np.random.default_rng(1)
    clock = FakeClock(50_000.0)
    width, length = 7.5, 40
    prototype = dl.Histogram(dl.Uniform(-3, 3, 12)) if kind == "histogram" else dl.QuantileSketch(0.01)
    window = dl.Window(prototype, width=width, length=length, clock=clock)
    values = rng.normal(size=100_000)
    times = clock.now + rng.uniform(-600, 60, size=values.size)
    times[::97] = clock.now * 1000  # milliseconds by mistake: far future
    for chunk in np.array_split(np.arange(values.size), 37):
        if chunk.size % 2:
            window.fill(values[chunk], t=times[chunk])
        else:
            for i in chunk[:50]:
                window.record(values[i], t=times[i])
            window.fill(values[chunk[50:]], t=times[chunk[50:]])

    first, last = ring_slots(clock.now, width, length)
    slots = np.floor(times / width)
    inside = (slots >= first) & (slots <= last)
    assert window.total == values.size
    assert window.late == int(np.count_nonzero(slots < first))
    assert window.future == int(np.count_nonzero(slots > last))
    assert window.expired == 0
    in_series = sum((h.total if kind == "histogram" else h.count) for _, h in window.series())
    assert in_series + window.late + window.future == values.size

    direct = dl.Histogram(prototype.axis) if kind == "histogram" else dl.QuantileSketch(0.01)
    direct.fill(values[inside])
    assert window.merged() == direct
    # A sub-range: the slots ending after now - 120 s.
    recent = inside & ((slots + 1) * width > clock.now - 120)
    direct_recent = dl.Histogram(prototype.axis) if kind == "histogram" else dl.QuantileSketch(0.01)
    direct_recent.fill(values[recent])
    assert window.merged(last=120) == direct_recent
    # series(): oldest first, slot starts on the grid.
    starts = [s for s, _ in window.series()]
    assert starts == sorted(starts) and starts[0] == first * width


def test_idle_twelve_hours_then_record() -> None:
    clock = FakeClock(1_000.0)
    window = dl.Window(dl.Histogram(dl.Uniform(0, 1, 4)), width=60, length=60, clock=clock)
    window.fill(np.full(500, 0.5))
    clock.now += 12 * 3600
    window.record(0.25)
    merged = window.merged()
    assert merged.total == 1 and merged.counts[1] == 1
    assert window.expired == 500 and window.total == 501


def test_clock_going_backwards_loses_nothing_inside_the_ring() -> None:
    clock = FakeClock(10_000.0)
    window = dl.Window(dl.Histogram(dl.Uniform(0, 1, 4)), width=10, length=10, clock=clock)
    window.fill([0.1, 0.2], t=9_995.0)
    clock.now = 9_950.0  # 5 slots back
    window.fill([0.3], t=10_001.0)  # inside the ring (head stays at slot 1000)
    window.fill([0.4])  # at the clock's (earlier) now: still inside the ring
    assert window.merged().total == 4
    assert window.late == window.future == window.expired == 0


def test_event_on_a_slot_boundary_goes_to_the_later_slot() -> None:
    clock = FakeClock(1_000.0)
    window = dl.Window(dl.Histogram(dl.Uniform(0, 1, 1)), width=10, length=10, clock=clock)
    window.record(0.5, t=990.0)
    window.record(0.5, t=np.nextafter(990.0, 0))
    series = dict((start, h.total) for start, h in window.series())
    assert series[990.0] == 1 and series[980.0] == 1


def test_sorted_timestamps_equal_per_slot_fills(simd: str) -> None:
    clock = FakeClock(100.0)
    values = np.random.default_rng(2).normal(size=100_000)
    times = np.sort(np.random.default_rng(3).uniform(0, 100, values.size))
    times[5000:5100] = times[5000:5100][::-1]  # a locally unsorted stretch
    times[7000] = 150.0  # one future value in the middle of a run
    a = dl.Window(dl.Histogram(dl.Uniform(-4, 4, 16)), width=10, length=10, clock=clock)
    a.fill(values, t=times)
    b = dl.Window(dl.Histogram(dl.Uniform(-4, 4, 16)), width=10, length=10, clock=clock)
    for k in range(10):
        mask = np.floor(times / 10) == k
        b.fill(values[mask], t=k * 10.0)
    assert [h for _, h in a.series()] == [h for _, h in b.series()]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_memory_is_flat_over_a_million_rotations() -> None:
    clock = FakeClock(0.0)
    window = dl.Window(dl.QuantileSketch(0.01), width=1.0, length=16, clock=clock)
    sketch_values = np.array([1e-3, 2e-3, 5.0])

    def rotate(n: int) -> None:
        for _ in range(n):
            clock.now += 1.0
            window.fill(sketch_values)

    rotate(100_000)
    gc.collect()
    before = rss_bytes()
    rotate(1_000_000)
    gc.collect()
    after = rss_bytes()
    assert window.expired == 3 * (1_100_000 - 16)
    assert after - before < 4 * 1024 * 1024, f"RSS grew by {(after - before) / 1e6:.1f} MB"


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        ({"width": 0}, ValueError, "width must be a finite number of seconds, at least"),
        ({"width": -1}, ValueError, "width"),
        ({"width": float("inf")}, ValueError, "width"),
        ({"width": float("nan")}, ValueError, "width"),
        ({"length": 0}, ValueError, "length must be between 1"),
        ({"length": 2**21}, ValueError, "length"),
        ({"length": 2.5}, TypeError, "integer"),
        ({"clock": 5}, TypeError, "clock must be a callable"),
    ],
)
def test_bad_configuration(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        dl.Window(dl.Histogram(dl.Uniform(0, 1, 2)), **kwargs)


def test_bad_prototypes() -> None:
    with pytest.raises(TypeError, match="Histogram or driftline.QuantileSketch, got list"):
        dl.Window([1, 2])  # type: ignore[arg-type]
    used = dl.Histogram(dl.Uniform(0, 1, 2))
    used.record(0.5)
    with pytest.raises(ValueError, match="must be empty"):
        dl.Window(used)


def test_bad_timestamps_change_nothing() -> None:
    clock = FakeClock(100.0)
    window = dl.Window(dl.Histogram(dl.Uniform(0, 1, 2)), width=10, length=5, clock=clock)
    window.fill([0.5, 0.5], t=95.0)
    before = window.to_bytes()
    with pytest.raises(ValueError, match="NaN"):
        window.fill([0.1, 0.2, 0.3], t=[95.0, np.nan, 95.0])
    with pytest.raises(ValueError, match="NaN"):
        window.record(0.1, t=float("nan"))
    with pytest.raises(ValueError, match="one timestamp per value: 3 values, 2 timestamps"):
        window.fill([0.1, 0.2, 0.3], t=[95.0, 96.0])
    with pytest.raises(TypeError, match="numeric"):
        window.fill([0.1], t=np.array(["now"]))
    clock.now = float("nan")
    with pytest.raises(ValueError, match="clock returned NaN"):
        window.record(0.1)
    assert window.to_bytes() == before


def test_threads_fill_one_window_exactly() -> None:
    clock = FakeClock(1_000.0)
    window = dl.Window(dl.Histogram(dl.Uniform(-4, 4, 10)), width=1, length=100, clock=clock)
    data = [np.random.default_rng(i).normal(size=200_000) for i in range(8)]
    times = [np.sort(np.random.default_rng(i + 50).uniform(920, 1001, 200_000)) for i in range(8)]

    def writer(i: int) -> None:
        for v, t in zip(np.array_split(data[i], 20), np.array_split(times[i], 20)):
            window.fill(v, t=t)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert window.total == 1_600_000
    assert window.merged().total + window.late + window.future == 1_600_000


def sample_windows() -> list[dl.Window]:
    clock = FakeClock(500.0)
    h = dl.Window(dl.Histogram(dl.Uniform(0, 1, 3)), width=10, length=3, clock=clock)
    h.fill([0.1, 0.5, 2.0, np.nan], t=[480, 495, 505, 499])
    h.record(0.3, t=100)
    s = dl.Window(dl.QuantileSketch(0.05, max_buckets=16), width=2, length=2, clock=clock)
    s.fill([1.0, 3.0, -2.0, 0.0], t=499.0)
    empty = dl.Window(dl.Histogram(dl.Edges([0.0, 1.0])), width=1, length=1, clock=clock)
    return [h, s, empty]


@pytest.mark.parametrize("window", sample_windows(), ids=repr)
def test_bytes_and_pickle_round_trip(window: dl.Window) -> None:
    blob = window.to_bytes()
    back = dl.Window.from_bytes(blob, clock=window._clock)
    assert back.to_bytes() == blob
    assert (back.total, back.late, back.future, back.expired) == (window.total, window.late, window.future, window.expired)
    assert back.merged() == window.merged()  # reading moves both rings to the clock
    clone = pickle.loads(pickle.dumps(window))
    assert clone.to_bytes() == window.to_bytes()


@pytest.mark.parametrize("window", sample_windows(), ids=repr)
def test_every_truncation_and_bit_flip_raises_decode_error(window: dl.Window) -> None:
    blob = window.to_bytes()
    assert_every_truncation_and_bit_flip_fails(blob, dl.Window.from_bytes, dl.DecodeError)


def test_forged_counters_are_rejected() -> None:
    blob = bytearray(sample_windows()[0].to_bytes())
    blob[16 + 24] ^= 1  # total
    with pytest.raises(dl.DecodeError, match="total does not equal"):
        dl.Window.from_bytes(reseal(bytes(blob)))
    blob = bytearray(sample_windows()[0].to_bytes())
    blob[16 + 4 : 16 + 8] = (2**20).to_bytes(4, "little")  # length: far more slots than bytes
    with pytest.raises(dl.DecodeError):
        dl.Window.from_bytes(reseal(bytes(blob)))


def test_golden_file_of_version_1_still_decodes() -> None:
    from pathlib import Path

    blob = (Path(__file__).parent / "golden" / "window_histogram_v1.bin").read_bytes()
    window = dl.Window.from_bytes(blob, clock=FakeClock(100.0))
    # Written by tests/golden/make_golden.py: slots 9, 10 and the look-ahead 11 hold one value each.
    assert (window.total, window.late, window.future, window.expired) == (4, 1, 0, 0)
    assert window.width == 10.0 and window.length == 2
    assert [(start, list(h.slot_counts())) for start, h in window.series()] == [
        (90.0, [0, 1, 0, 0, 0]),
        (100.0, [0, 0, 1, 0, 0]),
        (110.0, [0, 0, 1, 0, 0]),
    ]
    again = dl.Window.from_bytes(window.to_bytes(), clock=FakeClock(100.0))  # now written as version 2
    assert window.to_bytes()[4] == 2 and not again.keeps_expired
    assert again.to_bytes() == window.to_bytes()


def test_golden_file_of_version_2_still_decodes() -> None:
    from pathlib import Path

    blob = (Path(__file__).parent / "golden" / "window_sketch_v2.bin").read_bytes()
    window = dl.Window.from_bytes(blob, clock=FakeClock(100.0))
    # Written by tests/golden/make_golden.py window2: 0.5 and 0.25 expired, 0.125, 2, 4 in the ring, 8 late.
    assert (window.total, window.late, window.future, window.expired) == (6, 1, 0, 2)
    assert window.keeps_expired
    reference = dl.QuantileSketch(0.01)
    reference.fill([0.5, 0.25, 0.125, 2.0, 4.0])
    lifetime = window.lifetime()
    assert lifetime.count == 5 and lifetime.sum == reference.sum
    for a, b in zip(lifetime.buckets(False), reference.buckets(False)):
        assert np.array_equal(a, b)
    assert window.to_bytes() == blob


def test_kept_expired_values_make_a_lifetime_that_never_shrinks() -> None:
    """lifetime() equals one sketch of every value the ring ever held (late and future ones excluded)."""
    clock = FakeClock(0.0)
    window = dl.Window(dl.QuantileSketch(0.01), width=60.0, length=3, clock=clock, keep_expired=True)
    other = dl.Window(dl.QuantileSketch(0.01), width=60.0, length=3, clock=clock, keep_expired=True)
    rng = np.random.default_rng(5)
    held: list[np.ndarray] = []
    counts = []
    for step in range(12):
        clock.now = step * 60.0 + 5.0
        values = rng.lognormal(-3, 1, size=50)
        (window if step % 2 else other).fill(values)
        held.append(values)
        counts.append(window.lifetime().count + other.lifetime().count)
    assert counts == sorted(counts) and counts[-1] == 600
    window.fill([1.0], t=-1000.0)  # late: not part of the lifetime
    assert window.late == 1 and window.lifetime().count == 300
    window.merge(other)
    reference = dl.QuantileSketch(0.01)
    reference.fill(np.concatenate(held))
    lifetime = window.lifetime()
    assert lifetime.count == 600 and lifetime.count <= window.total
    for a, b in zip(lifetime.buckets(False), reference.buckets(False)):
        assert np.array_equal(a, b)
    assert lifetime.sum == pytest.approx(reference.sum, rel=1e-12)
    decoded = dl.Window.from_bytes(window.to_bytes(), clock=clock)
    assert decoded.lifetime().count == 600
    plain = dl.Window(dl.QuantileSketch(0.01), width=60.0, length=3, clock=clock)
    with pytest.raises(ValueError, match="keep_expired"):
        plain.lifetime()


def test_forged_expired_values_are_rejected() -> None:
    from pathlib import Path

    blob = bytearray((Path(__file__).parent / "golden" / "window_sketch_v2.bin").read_bytes())
    blob[16 + 2] = 3  # an unknown flag
    with pytest.raises(dl.DecodeError, match="flags"):
        dl.Window.from_bytes(reseal(bytes(blob)))
    assert_every_truncation_and_bit_flip_fails(
        (Path(__file__).parent / "golden" / "window_sketch_v2.bin").read_bytes(), dl.Window.from_bytes, dl.DecodeError
    )


@pytest.mark.parametrize("kind", ["histogram", "sketch"])
def test_merged_parts_equal_one_window_that_saw_everything(kind: str) -> None:
    rng = np.random.default_rng(21)
    proto = dl.Histogram(dl.Uniform(-3, 3, 12)) if kind == "histogram" else dl.QuantileSketch(0.02)
    clocks = [FakeClock(0.0) for _ in range(3)]
    one, a, b = (dl.Window(proto, width=10, length=6, clock=c) for c in clocks)
    for step in range(200):
        for c in clocks:
            c.now = step * 0.7
        values = rng.normal(size=int(rng.integers(1, 20)))
        t = step * 0.7 + rng.uniform(-80, 12, values.size)  # late, in the ring, ahead and future
        one.fill(values, t=t)
        (a if rng.random() < 0.5 else b).fill(values, t=t)
    for c in clocks:
        c.now = 200.0
    merged = dl.Window.from_bytes(a.to_bytes(), clock=clocks[1]).merge(b)
    assert merged.total == one.total == a.total + b.total
    assert merged.merged() == one.merged()
    assert merged.merged(last=25) == one.merged(last=25)
    assert (merged.late, merged.future, merged.expired) == (one.late, one.future, one.expired)


def test_merge_refuses_other_shapes() -> None:
    clock = FakeClock(0.0)
    h = dl.Window(dl.Histogram(dl.Uniform(0, 1, 2)), width=10, length=3, clock=clock)
    with pytest.raises(ValueError, match="width or length"):
        h.merge(dl.Window(dl.Histogram(dl.Uniform(0, 1, 2)), width=5, length=3, clock=clock))
    with pytest.raises(ValueError, match="do not match"):
        h.merge(dl.Window(dl.Histogram(dl.Uniform(0, 2, 2)), width=10, length=3, clock=clock))
    with pytest.raises(ValueError, match="QuantileSketch"):
        h.merge(dl.Window(dl.QuantileSketch(), width=10, length=3, clock=clock))
    with pytest.raises(TypeError):
        h.merge(dl.Histogram(dl.Uniform(0, 1, 2)))  # type: ignore[arg-type]


# -- staged single values ------------------------------------------------------------
# record() stages a value and counts it later (Window's class comment); a window
# read after every call counts each value at once. Both must end equal.


def _windows(kind: str, keep_expired: bool) -> tuple[object, object]:
    if kind == "histogram":
        make = lambda: dl._core.HistogramWindow(  # noqa: E731
            dl._core.Histogram(dl._core.Axis(np.linspace(-3, 3, 13).tolist())), 10.0, 6, keep_expired
        )
    else:
        make = lambda: dl._core.SketchWindow(dl._core.QuantileSketch(6, 4096), 10.0, 6, keep_expired)  # noqa: E731
    return make(), make()


@pytest.mark.parametrize("kind", ["histogram", "sketch"])
@pytest.mark.parametrize("keep_expired", [False, True])
def test_staged_values_give_the_state_of_values_counted_at_once(kind: str, keep_expired: bool) -> None:
    rng = np.random.default_rng(7)
    staged, direct = _windows(kind, keep_expired)
    now = 1_000.0
    for i in range(700):
        now += float(rng.choice([0.0, 0.3, 4.0, 70.0, -3.0]))  # a clock that also steps back
        t = now + float(rng.choice([0.0, 0.0, -25.0, -300.0, 15.0, 500.0]))  # late, future and ordinary
        x = float(rng.choice([rng.normal(0, 2), np.nan, np.inf, 0.0]))
        staged.record(x, t, now)
        direct.record(x, t, now)
        assert direct.total == i + 1  # a read counts what is staged
    assert staged.to_bytes() == direct.to_bytes()
    for attribute in ("total", "late", "future", "expired"):
        assert getattr(staged, attribute) == getattr(direct, attribute)


@pytest.mark.parametrize(
    "read",
    [
        lambda w: w.total,
        lambda w: w.late,
        lambda w: w.merged(float("inf"), 50.0).count,
        lambda w: sum(s.count for _, s in w.series(50.0)),
        lambda w: w.lifetime(50.0).count,
        lambda w: type(w)(w.to_bytes()).total,
        lambda w: w.advance_to(50.0),
        lambda w: w.fill_at(np.array([1.0, 2.0]), 50.0, 50.0),
        lambda w: type(w)(dl._core.QuantileSketch(6, 4096), 10.0, 6).merge(w),
    ],
)
def test_every_member_counts_the_staged_values_first(read: object) -> None:
    w = dl._core.SketchWindow(dl._core.QuantileSketch(6, 4096), 10.0, 6, True)
    w.record(0.5, 49.0, 49.0)
    read(w)  # type: ignore[operator]
    assert w.merged(float("inf"), 50.0).count in (1, 3)
    assert w.lifetime(50.0).count == w.total


def test_a_staged_value_is_checked_before_it_is_staged() -> None:
    w = dl._core.SketchWindow(dl._core.QuantileSketch(6, 4096), 10.0, 6)
    with pytest.raises(ValueError, match="NaN"):
        w.record(0.5, float("nan"), 5.0)
    with pytest.raises(ValueError, match="clock reading"):
        w.record(0.5, 5.0, float("inf"))
    assert w.total == 0
