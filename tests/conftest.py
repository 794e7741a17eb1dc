from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import driftline as dl


@pytest.fixture(params=dl.simd_variants())
def simd(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test once per SIMD kernel variant this CPU supports."""
    previous = dl.active_simd()
    dl.select_simd(request.param)
    try:
        yield request.param
    finally:
        dl.select_simd(previous)


def reference_slots(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """numpy's answer in driftline's slot layout: underflow, bins..., overflow, nan.

    The bins come from numpy.histogram on the in-range values; the flows are
    counted separately (numpy's last bin is closed, driftline's is half-open).
    """
    x = np.asarray(values, dtype=np.float64)
    nan = np.isnan(x)
    finite_part = x[~nan]
    inside = (finite_part >= edges[0]) & (finite_part < edges[-1])
    bins, _ = np.histogram(finite_part[inside], bins=edges)
    under = int(np.count_nonzero(finite_part < edges[0]))
    over = int(np.count_nonzero(finite_part >= edges[-1]))
    return np.concatenate([[under], bins, [over, int(nan.sum())]]).astype(np.uint64)
