"""Writes the golden blobs of binary format version 1.

Run once, when a format version is introduced (never to "fix" a failing test):
the committed files are what later versions must keep reading.

    python tests/golden/make_golden.py
"""

from __future__ import annotations

from pathlib import Path

import driftline as dl

HERE = Path(__file__).parent

# The contents are spelled out in tests/test_serde.py, which checks them.
GOLDEN_VALUES = [-7.0, -5.0, -0.5, 0.0, 0.25, 1.0, 4.999, 5.0, 9.0, float("inf"), float("-inf"), float("nan")]


def main() -> None:
    uniform = dl.Histogram(dl.Uniform(-5, 5, 10))
    uniform.fill(GOLDEN_VALUES)
    (HERE / "histogram_uniform_v1.bin").write_bytes(uniform.to_bytes())

    edges = dl.Histogram(dl.Edges([-1.0, 0.0, 0.5, 2.0]))
    edges.fill(GOLDEN_VALUES)
    (HERE / "histogram_edges_v1.bin").write_bytes(edges.to_bytes())

    sketch = dl.QuantileSketch(0.01)
    sketch.fill([1000.0, 1.5, -2.0, 0.0, 0.001, 3.0, -0.5, float("nan"), float("inf")])
    (HERE / "quantile_sketch_v1.bin").write_bytes(sketch.to_bytes())

    window = dl.Window(dl.Histogram(dl.Uniform(0, 1, 2)), width=10.0, length=2, clock=lambda: 100.0)
    window.fill([0.25, 0.75, 0.8, 5.0], t=[95.0, 101.0, 112.0, 50.0])  # slots 9, 10, look-ahead 11; late
    (HERE / "window_histogram_v1.bin").write_bytes(window.to_bytes())

    write_monitor()


def write_monitor() -> None:
    """A Profile and a Monitor (object types 6 and 7, which embed types 1-5)."""
    profile = dl.Profile.from_data(
        {"x": [1.0, 2.0, 3.0, 4.0, float("nan")], "c": ["a", "b", "a", None, "a"], "flag": [True, False, True, True, False]},
        bins=2,
    )
    (HERE / "profile_v1.bin").write_bytes(profile.to_bytes())
    monitor = dl.Monitor(profile, window=120, bucket=60, clock=lambda: 100.0)
    monitor.observe({"x": 2.5, "c": "z", "flag": True, "extra": 1.5})  # an unseen category, an unexpected field
    monitor.observe({"x": [9.0, None], "c": ["a", "b"], "flag": [False, False]}, t=70.0)
    monitor.observe_latency(0.25)
    (HERE / "monitor_v1.bin").write_bytes(monitor.to_bytes())


if __name__ == "__main__":
    main()
