"""The core's probability functions against scipy's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from driftline import _core


def rel_error(a: float, b: float) -> float:
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(b), 1e-300)


def test_chi2_sf_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    for dof in [1, 2, 3, 4, 5, 7, 10, 20, 49, 100, 500, 999]:
        for x in np.concatenate([rng.uniform(0, 4 * dof + 20, 200), [0.0, 1e-8, 1e-3]]):
            ours, theirs = _core._chi2_sf(x, dof), float(stats.chi2.sf(x, dof))
            if theirs > 1e-290:
                assert rel_error(ours, theirs) < 1e-12, (dof, x, ours, theirs)
    assert _core._chi2_sf(np.inf, 3) == 0.0 and _core._chi2_sf(-1.0, 3) == 1.0


def test_chi2_isf_inverts_sf() -> None:
    for dof in [1, 2, 9, 50, 400]:
        for p in [0.5, 0.05, 0.01, 1e-6]:
            assert rel_error(_core._chi2_isf(p, dof), float(stats.chi2.isf(p, dof))) < 1e-10
    with pytest.raises(ValueError):
        _core._chi2_isf(0.0, 3)


@pytest.mark.parametrize("n", list(range(1, 141, 7)) + [141, 200, 1000, 5000, 30000, 100000, 100001, 700000, 2000000])
def test_kolmogorov_sf_matches_kstwo(n: int) -> None:
    rng = np.random.default_rng(n)
    count = 100 if n <= 30000 else 8  # scipy takes about a second per value at large n
    points = np.concatenate([rng.uniform(0, 1, count // 3), rng.uniform(0, 4 / np.sqrt(n), count), [0.5, 1 / n, 0.5 / n]])
    for d in points:
        ours, theirs = _core._kolmogorov_sf(n, d), float(stats.kstwo.sf(d, n))
        assert abs(ours - theirs) <= max(1e-10 * theirs, 1e-14), (n, d, ours, theirs)


def test_kolmogorov_limit_sf_matches_kstwobign() -> None:
    rng = np.random.default_rng(3)
    points = np.concatenate([rng.uniform(0, 3, 500), rng.uniform(0.02, 0.3, 50), [0.0, 1e-3, 0.999999, 1.0, 1.000001, 6.0, 30.0]])
    for x in points:
        ours, theirs = _core._kolmogorov_limit_sf(float(x)), float(stats.kstwobign.sf(x))
        assert abs(ours - theirs) <= max(1e-13 * theirs, 1e-16), (x, ours, theirs)
    assert math.isnan(_core._kolmogorov_limit_sf(math.nan)) and _core._kolmogorov_limit_sf(-1.0) == 1.0


@pytest.mark.parametrize("n", [1, 2, 3, 10, 100, 1000, 10000, 100000, 1000000, 1000001])
def test_smirnov_sf_matches_scipy(n: int) -> None:
    rng = np.random.default_rng(n + 1)
    count = 50 if n <= 100000 else 5  # scipy takes most of a second per value at n = 1e6
    points = np.concatenate([rng.uniform(0, 1, count), rng.uniform(0, 3 / np.sqrt(n), count), [0.0, 1.0, 1 / n]])
    for d in points[points <= 1.0]:
        ours, theirs = _core._smirnov_sf(n, d), float(special.smirnov(n, d))
        assert abs(ours - theirs) <= max(1e-10 * theirs, 1e-14), (n, d, ours, theirs)
