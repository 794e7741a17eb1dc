"""Writes one blob of every decodable kind into a folder: seeds for .ci/fuzz's corpora.

    python tests/fuzz_seeds.py DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import driftline as dl


def seed_profile() -> dl.Profile:
    """The profile of the Monitor seed (tests/fuzz_python.py decodes its state by fingerprint)."""
    rng = np.random.default_rng(1)
    return dl.Profile.from_data({"x": rng.normal(0, 1, 300), "c": rng.choice(["a", "b", "c"], 300)})


def seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1, 500), [np.nan, np.inf, -np.inf, 0.0]])
    uniform = dl.Histogram(dl.Uniform(-3, 3, 12))
    uniform.fill(values)
    edges = dl.Histogram(dl.Edges([-2.0, -0.5, 0.0, 0.1, 4.0]))
    edges.fill(values)
    sketch = dl.QuantileSketch(0.01)
    sketch.fill(values)
    clock = lambda: 100.0  # noqa: E731
    hist_window = dl.Window(dl.Histogram(dl.Uniform(0, 1, 4)), width=10.0, length=6, clock=clock)
    hist_window.fill(rng.random(50), t=rng.uniform(40, 110, 50))
    sketch_window = dl.Window(dl.QuantileSketch(0.02), width=10.0, length=6, clock=clock)
    sketch_window.fill(values[:200], t=np.linspace(45, 105, 200))
    profile = seed_profile()
    monitor = dl.Monitor(profile, window=60, bucket=10, clock=clock)
    monitor.observe({"x": rng.normal(0, 1, 40), "c": rng.choice(["a", "b", "z"], 40)}, t=np.linspace(50, 101, 40))
    return {
        "seed_histogram_uniform.bin": uniform.to_bytes(),
        "seed_histogram_edges.bin": edges.to_bytes(),
        "seed_quantile_sketch.bin": sketch.to_bytes(),
        "seed_histogram_window.bin": hist_window.to_bytes(),
        "seed_sketch_window.bin": sketch_window.to_bytes(),
        "seed_feature_window.bin": monitor._core.to_bytes(),
        "seed_profile.bin": profile.to_bytes(),
        "seed_monitor.bin": monitor.to_bytes(),
        "seed_monitor_embedded.bin": monitor.to_bytes(embed_profile=True),
    }


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in seeds().items():
        (folder / name).write_bytes(blob)
