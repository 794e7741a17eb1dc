"""Inputs that once crashed, hung or bloated a decoder (found by fuzzing or by attack) stay refused.

Each file under ``tests/fuzz_regressions/<decoder>/`` is named for what it
broke; ``.ci/fuzz`` replays them through the libFuzzer targets too. Every one
is malformed, so every one must raise :class:`driftline.DecodeError`, within a
bounded time and memory (the memory bound is checked in test_hardening).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

import driftline as dl
from driftline import _core

ROOT = Path(__file__).parent / "fuzz_regressions"

DECODERS: dict[str, Callable[[bytes], Any]] = {
    "histogram": dl.Histogram.from_bytes,
    "quantile_sketch": dl.QuantileSketch.from_bytes,
    "histogram_window": dl.Window.from_bytes,
    "sketch_window": dl.Window.from_bytes,
    "feature_window": _core.FeatureWindow,
    "monitor": dl.Monitor.from_bytes,  # found by tests/fuzz_python.py (.ci/fuzz-python)
}

CASES = sorted(p for p in ROOT.rglob("*.bin") if p.parent.name in DECODERS)


def test_there_are_regression_files_for_the_decoders() -> None:
    assert len(CASES) >= 3
    unknown = {p.parent.name for p in ROOT.rglob("*.bin")} - set(DECODERS) - {"feature_block"}
    assert not unknown, f"regression folders without a decoder: {unknown}"


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_regression_input_is_refused(path: Path) -> None:
    with pytest.raises(dl.DecodeError):
        DECODERS[path.parent.name](path.read_bytes())
