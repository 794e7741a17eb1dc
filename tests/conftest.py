from __future__ import annotations

from collections.abc import Iterator

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
