from __future__ import annotations

from collections.abc import Iterator

import os

import pytest

import driftline as dl
from helpers import simd_variants_under_test

FORCED_SIMD = os.environ.get("DRIFTLINE_SIMD", "auto")


@pytest.fixture(params=simd_variants_under_test())
def simd(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test once per SIMD kernel variant under test."""
    previous = dl.active_simd()
    dl.select_simd(request.param)
    try:
        yield request.param
    finally:
        dl.select_simd(previous)


@pytest.fixture(autouse=True)
def kernels_left_as_found() -> Iterator[None]:
    """No test may leave another variant active: with DRIFTLINE_SIMD=scalar every
    test after it would silently run on wider kernels."""
    before = dl.active_simd()
    if FORCED_SIMD != "auto":
        assert before == FORCED_SIMD, f"DRIFTLINE_SIMD={FORCED_SIMD} but {before!r} is active"
    yield
    assert dl.active_simd() == before, f"test left SIMD variant {dl.active_simd()!r} active (was {before!r})"
