"""PSI, JS, Hellinger, chi-square, Wasserstein and binned KS against references."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

import driftline as dl

REL = 1e-12


def close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= rel * abs(b) + 1e-300


# -- PSI --------------------------------------------------------------------------


def test_psi_hand_computed() -> None:
    # Smoothing 0.5 over 2 cells: p = (10.5, 30.5) / 41, q = (30.5, 10.5) / 41.
    p = np.array([10.5, 30.5]) / 41
    q = np.array([30.5, 10.5]) / 41
    expected = float(np.sum((q - p) * np.log(q / p)))
    assert close(dl.psi([10, 30], [30, 10]), expected)
    # Without smoothing effects (large counts): the textbook value.
    r, c = np.array([0.25, 0.25, 0.5]) * 1e8, np.array([0.5, 0.25, 0.25]) * 1e8
    textbook = 0.25 * math.log(2) + 0 + (-0.25) * math.log(0.5)
    assert abs(dl.psi(r, c) - textbook) < 1e-7


def test_psi_with_empty_bins_is_finite() -> None:
    value = dl.psi([100, 0, 0], [0, 0, 100])
    assert math.isfinite(value) and value > 1
    assert math.isfinite(dl.psi([5, 0], [5, 0]))


def test_psi_identical_symmetric_and_order_free() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(2, 30))
        r, c = rng.integers(0, 1000, k), rng.integers(0, 1000, k)
        r[0] += 1
        c[0] += 1
        assert dl.psi(r, r) == 0.0
        assert dl.psi(r * 3, r * 3) == 0.0
        assert close(dl.psi(r, c), dl.psi(c, r), 1e-12)
        order = rng.permutation(k)
        assert close(dl.psi(r[order], c[order]), dl.psi(r, c), 1e-12)


def test_psi_smoothing_is_stated_and_validated() -> None:
    assert dl.psi([10, 0], [0, 10], smoothing=0.1) > dl.psi([10, 0], [0, 10], smoothing=0.5)
    with pytest.raises(ValueError, match="smoothing"):
        dl.psi([1, 2], [2, 1], smoothing=0)


def test_psi_empty_input_is_nan_or_an_error_when_strict() -> None:
    assert math.isnan(dl.psi([0, 0], [1, 2]))
    with pytest.raises(ValueError, match="empty"):
        dl.psi([0, 0], [1, 2], strict=True)


def test_psi_on_histograms_uses_flow_cells_and_ignores_nan() -> None:
    axis = dl.Uniform(0, 1, 4)
    a, b = dl.Histogram(axis), dl.Histogram(axis)
    a.fill([0.1, 0.3, 0.6, 0.9, -5, 7, np.nan])
    b.fill([0.1, 0.3, 0.6, 0.9, -5, 7, np.nan, np.nan, np.nan])
    assert dl.psi(a, b) == 0.0
    b.fill([-1.0])
    assert dl.psi(a, b) == dl.psi([1, 1, 1, 1, 1, 1], [2, 1, 1, 1, 1, 1])


# -- JS, Hellinger, chi-square, Wasserstein vs scipy ------------------------------


def random_counts(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = int(rng.integers(2, 50))
    r = rng.integers(0, 10_000, k).astype(float)
    c = rng.integers(0, 10_000, k).astype(float)
    r[rng.integers(k)] += 1
    c[rng.integers(k)] += 1
    return r, c


def test_js_distance_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    for _ in range(2000):
        r, c = random_counts(rng)
        assert close(dl.js_distance(r, c), float(distance.jensenshannon(r, c, base=2)))
    assert dl.js_distance([1, 0], [0, 1]) == 1.0
    assert dl.js_distance([3, 4], [6, 8]) == 0.0


def test_hellinger_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    for _ in range(2000):
        r, c = random_counts(rng)
        expected = distance.euclidean(np.sqrt(r / r.sum()), np.sqrt(c / c.sum())) / math.sqrt(2)
        assert close(dl.hellinger(r, c), float(expected))
    assert close(dl.hellinger([1, 0], [0, 1]), 1.0)


def test_chi2_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    for _ in range(2000):
        r, c = random_counts(rng)
        keep = (r + c) > 0
        result = dl.chi2(r, c)
        expected = stats.chi2_contingency(np.array([r[keep], c[keep]]), correction=False)
        assert close(result.statistic, float(expected.statistic))
        assert result.dof == expected.dof
        assert close(result.pvalue, float(expected.pvalue), 1e-12) or abs(result.pvalue - expected.pvalue) < 1e-300
        assert result.dropped_categories == int((~keep).sum())
        assert close(result.min_expected, float(expected.expected_freq.min()))


def test_chi2_reports_the_small_expected_count_caveat() -> None:
    ok = dl.chi2([100, 200, 300], [110, 190, 310])
    assert ok.caveat is None
    small = dl.chi2([1, 2, 300], [0, 3, 310])
    assert small.caveat is not None and "fewer than 5" in small.caveat
    assert small.low_expected_fraction == pytest.approx(4 / 6)
    assert "caveat" in repr(small)


def test_chi2_bad_inputs() -> None:
    with pytest.raises(ValueError, match="both sides"):
        dl.chi2([0, 0], [1, 2])
    with pytest.raises(ValueError, match="two non-empty categories"):
        dl.chi2([5, 0], [3, 0])


def test_wasserstein_matches_scipy() -> None:
    rng = np.random.default_rng(4)
    for _ in range(1000):
        n1, n2 = (int(v) for v in rng.integers(1, 2000, 2))
        a = rng.normal(size=n1)
        b = rng.standard_t(3, n2) + rng.normal()
        if rng.random() < 0.3:
            a, b = np.round(a), np.round(b)
        assert close(dl.wasserstein(a, b), float(stats.wasserstein_distance(a, b)))


# -- binned KS and Wasserstein bounds -------------------------------------------------


def test_ks_binned_bound_holds_on_random_continuous_data() -> None:
    rng = np.random.default_rng(5)
    for _ in range(500):
        ref = rng.normal(size=int(rng.integers(50, 3000)))
        cur = rng.normal(rng.normal(0, 0.5), rng.uniform(0.5, 2), int(rng.integers(50, 3000)))
        bins = int(rng.integers(2, 20))
        axis = dl.Edges.from_quantiles(ref, bins=bins) if rng.random() < 0.5 else dl.Uniform(-2, 2, bins)
        h1, h2 = dl.Histogram(axis), dl.Histogram(axis)
        h1.fill(ref)
        h2.fill(cur)
        binned = dl.ks_binned(h1, h2)
        exact = stats.ks_2samp(ref, cur).statistic
        assert binned.statistic <= exact + 1e-12 <= binned.bound + 2e-12
        assert (binned.n_reference, binned.n_current) == (ref.size, cur.size)


def test_ks_binned_pvalue_is_the_asymptotic_one() -> None:
    r, c = np.array([100, 200, 300, 400]), np.array([150, 150, 300, 200])
    binned = dl.ks_binned(r, c)
    en = round(1000 * 800 / 1800)
    assert close(binned.pvalue, float(stats.kstwo.sf(binned.statistic, en)), 1e-9)


def test_wasserstein_binned_bound_holds() -> None:
    rng = np.random.default_rng(6)
    for _ in range(300):
        ref = rng.uniform(-3, 3, int(rng.integers(50, 2000)))
        cur = np.clip(rng.normal(rng.normal(0, 1), 1, int(rng.integers(50, 2000))), -2.999, 2.999)
        axis = dl.Uniform(-3, 3, int(rng.integers(2, 40)))
        h1, h2 = dl.Histogram(axis), dl.Histogram(axis)
        h1.fill(ref)
        h2.fill(cur)
        approx = dl.wasserstein_binned(h1, h2)
        exact = stats.wasserstein_distance(ref, cur)
        assert abs(approx.distance - exact) <= approx.bound + 1e-12
    h1, h2 = dl.Histogram(dl.Uniform(0, 1, 2)), dl.Histogram(dl.Uniform(0, 1, 2))
    h1.fill([0.5, 2.0])
    h2.fill([0.5])
    assert dl.wasserstein_binned(h1, h2).bound == math.inf


# -- psi_threshold by simulation ----------------------------------------------------


@pytest.mark.parametrize("n_ref,n_cur,alpha", [(5000, 5000, 0.01), (20000, 2000, 0.05), (2000, 1000, 0.01)])
def test_psi_threshold_is_exceeded_with_probability_alpha(n_ref: int, n_cur: int, alpha: float) -> None:
    rng = np.random.default_rng(n_ref + n_cur)
    cells = 10
    probabilities = np.full(cells, 1 / cells)
    trials = 20_000
    ref = rng.multinomial(n_ref, probabilities, size=trials).astype(float)
    cur = rng.multinomial(n_cur, probabilities, size=trials).astype(float)
    s = 0.5
    p = (ref + s) / (n_ref + cells * s)
    q = (cur + s) / (n_cur + cells * s)
    values = np.sum((q - p) * np.log(q / p), axis=1)
    assert np.allclose(values[:50], [dl.psi(r, c) for r, c in zip(ref[:50], cur[:50])], rtol=1e-12)
    threshold = dl.psi_threshold(n_ref, n_cur, cells, alpha)
    rate = np.mean(values > threshold)
    # Binomial noise of the simulation: 4 standard errors, plus 15 % of alpha for
    # the approximation (PSI's higher-order terms and the smoothing).
    se = math.sqrt(alpha * (1 - alpha) / trials)
    assert abs(rate - alpha) <= 4 * se + 0.15 * alpha, (rate, alpha)


def test_psi_threshold_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least 2 cells"):
        dl.psi_threshold(100, 100, 1)
    with pytest.raises(ValueError, match="alpha"):
        dl.psi_threshold(100, 100, 10, alpha=1.5)
    with pytest.raises(ValueError, match="positive"):
        dl.psi_threshold(0, 100, 10)


# -- input validation ----------------------------------------------------------------


@pytest.mark.parametrize("fn", [dl.psi, dl.js_distance, dl.hellinger, dl.chi2, dl.ks_binned])
def test_binned_bad_inputs(fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="same number of cells"):
        fn([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="non-negative"):
        fn([1, -2], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        fn([1, np.nan], [1, 2])
    with pytest.raises(TypeError, match="numeric"):
        fn(["a", "b"], [1, 2])
    with pytest.raises(TypeError, match="two Histograms or two count arrays"):
        fn(dl.Histogram(dl.Uniform(0, 1, 2)), [1, 2, 3, 4])
    with pytest.raises(dl.AxisMismatchError, match="Uniform"):
        fn(dl.Histogram(dl.Uniform(0, 1, 2)), dl.Histogram(dl.Uniform(0, 1, 3)))


def test_empty_sides_give_nan() -> None:
    for fn in (dl.js_distance, dl.hellinger):
        assert math.isnan(fn([0, 0], [1, 2]))
    assert math.isnan(dl.ks_binned([0, 0], [1, 2]).statistic)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(dl.psi([0, 0], [0, 0]))
