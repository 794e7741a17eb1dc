"""ks() against scipy.stats.ks_2samp: statistic exactly, p-value to 1e-6 relative."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy
from scipy import stats

import driftline as dl

METHODS = ["auto", "exact", "asymp"]


def as_ranks(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two samples' values replaced by their ranks in the pooled sample (ties kept)."""
    _, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    codes = codes.astype(np.float64).ravel()
    return codes[: len(a)], codes[len(a) :]


def scipy_ks(a: np.ndarray, b: np.ndarray, method: str) -> tuple[float, float]:
    # The two-sample KS statistic and its p-value depend only on the order of the
    # pooled values and their ties. scipy before 1.14 (the last for Python 3.9 is
    # 1.13) returns NaN for samples holding infinities, so those are compared on
    # their pooled ranks, which every scipy version handles.
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        a, b = as_ranks(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns when exact falls back
        r = stats.ks_2samp(a, b, method=method)
    return float(r.statistic), float(r.pvalue)


# driftline computes the statistic with scipy 1.9-1.17's floating-point steps, so
# it equals theirs to the bit. scipy 1.18 changed those steps (its statistic moves
# by up to ~50 ulps, for both methods alike); against it the statistic agrees to
# 1e-15 absolute -- both subtract two ECDF values in [0, 1], each rounded to
# half an ulp of 1 (1.1e-16) -- and the exact method's equals exact arithmetic.
SCIPY_SAME_STATISTIC_ARITHMETIC = tuple(int(p) for p in scipy.__version__.split(".")[:2]) < (1, 18)


def exact_statistic(a: np.ndarray, b: np.ndarray) -> Fraction:
    """max |F_a - F_b| over the pooled sample, as a fraction (rank-based, ties included)."""
    a, b = np.sort(a), np.sort(b)
    pooled = np.concatenate([a, b])
    ia = np.searchsorted(a, pooled, side="right").astype(np.int64)
    ib = np.searchsorted(b, pooled, side="right").astype(np.int64)
    return Fraction(int(np.abs(ia * len(b) - ib * len(a)).max()), len(a) * len(b))


def assert_matches(a: np.ndarray, b: np.ndarray, method: str) -> None:
    ours = dl.ks(a, b, method)
    statistic, pvalue = scipy_ks(a, b, method)
    if SCIPY_SAME_STATISTIC_ARITHMETIC:
        assert ours.statistic == statistic, (len(a), len(b), method)
    else:
        assert abs(ours.statistic - statistic) <= 1e-15, (len(a), len(b), method)
    if ours.method == "exact":  # integer path counts: the statistic is the rational value, rounded once
        assert ours.statistic == float(exact_statistic(a, b)), (len(a), len(b), method)
    if np.isnan(pvalue):  # the asymptotic law is undefined at one effective observation
        assert np.isnan(ours.pvalue)
    else:
        assert abs(ours.pvalue - pvalue) <= max(1e-6 * abs(pvalue), 1e-12), (len(a), len(b), method, ours, pvalue)
    assert (ours.n_reference, ours.n_current) == (len(a), len(b))


EDGE_CASES = {
    "one-vs-one": ([0.0], [1.0]),
    "one-vs-one-equal": ([3.0], [3.0]),
    "one-vs-many": ([0.5], list(np.linspace(0, 1, 50))),
    "tiny": ([1.0, 2.0], [1.5, 2.5, 3.5]),
    "all-ties": ([1.0] * 20, [1.0] * 30),
    "heavy-ties": (list(np.repeat([1.0, 2.0, 3.0], [5, 9, 2])), list(np.repeat([1.0, 2.0, 3.0], [2, 3, 11]))),
    "disjoint": (list(range(10)), list(range(100, 115))),
    "identical": (list(np.linspace(0, 1, 200)), list(np.linspace(0, 1, 200))),
    "equal-sizes": (list(np.random.default_rng(1).normal(size=500)), list(np.random.default_rng(2).normal(0.2, 1, 500))),
    "10000-vs-110": (
        list(np.random.default_rng(3).normal(size=10000)),
        list(np.random.default_rng(4).normal(0.1, 1, 110)),
    ),
    "10001-vs-9999": (
        list(np.random.default_rng(5).normal(size=10001)),
        list(np.random.default_rng(6).normal(size=9999)),
    ),
    "infinities": ([-np.inf, 0.0, 1.0, np.inf], [0.5, np.inf, np.inf]),
    "large-asymp": (
        list(np.random.default_rng(7).normal(size=60000)),
        list(np.random.default_rng(8).normal(0.01, 1, 40000)),
    ),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_documented_edge_cases(name: str, method: str) -> None:
    a, b = (np.asarray(x, dtype=np.float64) for x in EDGE_CASES[name])
    assert_matches(a, b, method)
    assert_matches(b, a, method)


def random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n1, n2 = (int(v) for v in np.exp(rng.uniform(0, np.log(5000), 2)))
    shift = rng.choice([0.0, 0.05, 0.3])
    if rng.random() < 0.3:  # ties: small integer support
        k = int(rng.integers(2, 30))
        a = rng.integers(0, k, n1).astype(np.float64)
        b = np.floor(rng.integers(0, k, n2) + shift * k)
    else:
        a = rng.normal(size=n1)
        b = rng.normal(shift, 1.0, n2)
    return a, b


@pytest.mark.parametrize("method", METHODS)
def test_ten_thousand_random_cases(method: str) -> None:
    rng = np.random.default_rng({"auto": 10, "exact": 11, "asymp": 12}[method])
    for _ in range(10_000):
        a, b = random_case(rng)
        assert_matches(a, b, method)


def test_exact_falls_back_to_asymp_and_says_so() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=49999), rng.normal(size=50021)  # lcm too large for the exact count
    result = dl.ks(a, b, "exact")
    assert result.method == "asymp"
    assert_matches(a, b, "exact")


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="empty"):
        dl.ks([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        dl.ks([1.0, np.nan], [1.0])
    with pytest.raises(ValueError, match="empty after dropping NaN"):
        dl.ks([np.nan], [1.0], nan_policy="omit")
    with pytest.raises(ValueError, match="method"):
        dl.ks([1.0], [2.0], method="fast")
    with pytest.raises(ValueError, match="nan_policy"):
        dl.ks([1.0], [2.0], nan_policy="propagate")
    with pytest.raises(TypeError, match="numeric"):
        dl.ks(["a"], [1.0])
    with pytest.raises(ValueError, match="1-D"):
        dl.ks(np.zeros((2, 2)), [1.0])
    omitted = dl.ks([1.0, np.nan, 2.0, 3.0], [2.0, 5.0], nan_policy="omit")
    assert omitted.n_reference == 3
    assert omitted == dl.ks([1.0, 2.0, 3.0], [2.0, 5.0])
