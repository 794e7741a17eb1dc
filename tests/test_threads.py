"""Concurrent writers get exact totals."""

from __future__ import annotations

import threading

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
