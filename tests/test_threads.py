"""Concurrent writers get exact totals."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

import driftline as dl


def run_threads(count: int, target, *args) -> None:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(count)

    def body(i: int) -> None:
        barrier.wait()
        target(i, *args)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_eight_threads_fill_one_histogram_exactly() -> None:
    rng = np.random.default_rng(0)
    data = [rng.normal(size=1_000_000) for _ in range(8)]
    for axis in (dl.Uniform(-5, 5, 10), dl.Uniform(-5, 5, 5000), dl.Edges.from_quantiles(data[0])):
        shared = dl.Histogram(axis)

        def writer(i: int, h: dl.Histogram = shared) -> None:
            for chunk in np.array_split(data[i], 20):  # many fills, so they interleave
                h.fill(chunk)

        run_threads(8, writer)
        expected = dl.Histogram(axis)
        for d in data:
            expected.fill(d)
        assert shared.total == 8_000_000
        assert shared == expected


def test_threads_recording_and_merging_concurrently() -> None:
    axis = dl.Uniform(0, 1, 16)
    shared = dl.Histogram(axis)
    extra = dl.Histogram(axis)
    extra.fill(np.linspace(0, 1, 1000, endpoint=False))

    def writer(i: int) -> None:
        values = np.random.default_rng(i).random(20_000)
        if i % 2 == 0:
            for v in values:
                shared.record(v)
        else:
            for _ in range(50):
                shared.merge(extra)

    run_threads(8, writer)
    assert shared.total == 4 * 20_000 + 4 * 50 * 1000


def test_reports_while_other_threads_observe_merge_and_encode() -> None:
    """The evaluator's cache and the report objects under concurrent writers, readers and merges."""
    rng = np.random.default_rng(3)
    profile = dl.Profile.from_data({"x": rng.normal(size=5000), "c": rng.choice(["a", "b", "c"], 5000)})
    t = [1000.0]
    m = dl.Monitor(profile, window=600, bucket=60, clock=lambda: t[0])
    other = dl.Monitor(profile, window=600, bucket=60, clock=lambda: t[0])
    other.observe({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500)})
    errors: list[BaseException] = []
    rows_per_writer = 200

    def guarded(fn: Any) -> Any:
        def run() -> None:
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
        return run

    def writer() -> None:
        for i in range(rows_per_writer):
            m.observe({"x": float(i % 7), "c": "a", "renamed": float(i)})

    def reader() -> None:
        for _ in range(100):
            r = m.report()
            assert r.features["x"].rows <= r.rows

    def merger() -> None:
        for _ in range(20):
            m.merge(other)
            dl.Monitor.from_bytes(m.to_bytes(), profile=profile, clock=lambda: t[0]).report()

    threads = [threading.Thread(target=guarded(f)) for f in (writer, writer, reader, reader, merger)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert m.rows == 2 * rows_per_writer + 20 * 500
    assert m.report().schema.unexpected == {"renamed": 2 * rows_per_writer}
