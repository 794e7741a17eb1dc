"""Writes the golden blobs of one binary format version.

Run once, when a format version is introduced (never to "fix" a failing test):
the committed files are what later versions must keep reading. Version 1
files came from driftline 0.1 (its main() below, run on that code); version 2 (FeatureWindow and Monitor) from this code:

    python tests/golden/make_golden.py 2
    python tests/golden/make_golden.py window2   # Window version 2 (expired values kept)
"""

from __future__ import annotations

from pathlib import Path

import sys

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


def golden_monitor() -> dl.Monitor:
    """The Monitor of the golden files (its profile is profile_v1.bin's)."""
    profile = dl.Profile.from_data(
        {"x": [1.0, 2.0, 3.0, 4.0, float("nan")], "c": ["a", "b", "a", None, "a"], "flag": [True, False, True, True, False]},
        bins=2,
    )
    monitor = dl.Monitor(profile, window=120, bucket=60, clock=lambda: 100.0)
    monitor.observe({"x": 2.5, "c": "z", "flag": True, "extra": 1.5})  # an unseen category, an unexpected field
    monitor.observe({"x": [9.0, None], "c": ["a", "b"], "flag": [False, False]}, t=70.0)
    monitor.observe_latency(0.25)
    return monitor


def write_monitor() -> None:
    """A Profile and a Monitor (object types 6 and 7, which embed types 1-5)."""
    monitor = golden_monitor()
    (HERE / "profile_v1.bin").write_bytes(monitor.profile.to_bytes())
    (HERE / "monitor_v1.bin").write_bytes(monitor.to_bytes())


def golden_seasonal_profile() -> dl.Profile:
    """A seasonal profile (Profile format version 2): 30 rows over 3 hours of 2023-11-14, UTC+1."""
    t = [1_699_920_000.0 + 360.0 * i for i in range(30)]
    return dl.Profile.from_data(
        {"x": [float(i % 7) for i in range(30)], "c": ["a", "b", "a"] * 10},
        bins=2, timestamps=t, seasonality="hour-of-day", utc_offset=3600.0, min_season_rows=5,
    )


def write_version_2() -> None:
    """Monitor state version 2 (the profile by fingerprint, and embedded), FeatureWindow and seasonal Profile version 2."""
    (HERE / "profile_v2_seasonal.bin").write_bytes(golden_seasonal_profile().to_bytes())
    monitor = golden_monitor()
    (HERE / "monitor_v2.bin").write_bytes(monitor.to_bytes())
    (HERE / "monitor_v2_embedded.bin").write_bytes(monitor.to_bytes(embed_profile=True))
    (HERE / "feature_window_v2.bin").write_bytes(monitor._core.to_bytes())


def write_window_version_2() -> None:
    """Window version 2: a latency window that keeps its expired values (as a Monitor's does)."""
    t = [0.0]
    window = dl.Window(dl.QuantileSketch(0.01), width=10.0, length=2, clock=lambda: t[0], keep_expired=True)
    t[0] = 85.0
    window.fill([0.5, 0.25], t=[75.0, 85.0])  # slots 7 and 8: expired once the clock reads 100
    t[0] = 100.0
    window.fill([0.125, 2.0, 4.0], t=[95.0, 101.0, 112.0])  # slots 9, 10, look-ahead 11
    window.fill([8.0], t=[50.0])  # late
    (HERE / "window_sketch_v2.bin").write_bytes(window.to_bytes())


if __name__ == "__main__":
    # main() wrote version 1 on driftline 0.1; this code writes version 2 only
    # ("window2": the Window format's version 2, introduced after the others).
    {"2": write_version_2, "window2": write_window_version_2}[sys.argv[1]]()
