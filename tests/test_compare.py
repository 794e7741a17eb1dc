"""driftline.compare: a batch judged as one sample, against scipy and the known drifts."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats

import driftline as dl
from driftline.examples import DRIFTED, drifted_batch


@pytest.fixture(scope="module")
def batch() -> tuple[dict, dict, dl.Report]:
    reference, current = drifted_batch(rows=50_000, seed=1)
    return reference, current, dl.compare(reference, current)


def test_flags_exactly_the_known_drifts_with_default_settings(batch) -> None:
    _, _, report = batch
    flagged = {name for name, f in report.features.items() if f.status in ("warn", "alert")}
    assert flagged == set(DRIFTED)
    assert report.status == "alert" and report.source == "compare"
    for name in DRIFTED:
        assert report.features[name].reasons and "in the current data" in report.features[name].reasons[0]
    assert all(f.status == "ok" and not f.reasons for n, f in report.features.items() if n not in DRIFTED)
    assert all(f.count > 0 and f.reference_count > 0 for f in report.features.values())  # sample sizes


def test_same_distribution_gives_no_verdict_above_ok() -> None:
    reference, _ = drifted_batch(rows=30_000, seed=2)
    again, _ = drifted_batch(rows=30_000, seed=3)
    report = dl.compare(reference, again)
    assert report.status == "ok"
    assert all(f.status == "ok" for f in report.features.values())


def test_ks_pvalues_equal_scipy(batch) -> None:
    reference, current, report = batch
    for name, f in report.features.items():
        if f.kind != "numeric":
            assert f.ks is None and f.ks_pvalue is None
            continue
        a, b = reference[name], current[name]
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        expected = stats.ks_2samp(a, b)
        assert f.ks_method in ("exact", "asymp")
        assert abs(f.ks - float(expected.statistic)) <= 1e-15, name
        assert abs(f.ks_pvalue - float(expected.pvalue)) <= max(1e-6 * float(expected.pvalue), 1e-12), name


def _cells(profile_feature, values) -> np.ndarray:
    """[underflow, bins..., overflow] (numeric) or [categories..., other] counts, by numpy / plain Python."""
    if profile_feature.kind == "numeric":
        v = np.asarray(values, dtype=np.float64)
        v = v[~np.isnan(v)]
        slots = np.searchsorted(profile_feature.edges, v, side="right")
        return np.bincount(slots, minlength=len(profile_feature.edges) + 1).astype(float)
    codes = {c: i for i, c in enumerate(profile_feature.categories)}
    out = np.zeros(len(codes) + 1)
    for v in values:
        out[codes.get(v, len(codes))] += 1
    return out


def test_chi2_pvalues_equal_scipy(batch) -> None:
    reference, current, report = batch
    profile = dl.Profile.from_data(reference)
    for name, f in report.features.items():
        ref, cur = _cells(profile[name], reference[name]), _cells(profile[name], current[name])
        keep = (ref + cur) > 0
        expected = stats.chi2_contingency(np.vstack([ref[keep], cur[keep]]), correction=False).pvalue
        assert f.chi2_pvalue == pytest.approx(float(expected), rel=1e-9, abs=1e-300), name


def test_pvalue_corrections_across_features(batch) -> None:
    reference, current, raw = batch
    for method in ("bonferroni", "holm", "fdr_bh"):
        report = dl.compare(reference, current, correction=method)
        assert report.pvalue_correction == method
        names = [n for n, f in raw.features.items() if f.ks_pvalue is not None]
        p = np.array([raw.features[n].ks_pvalue for n in names])
        got = np.array([report.features[n].ks_pvalue_adjusted for n in names])
        assert np.all(got >= p) and np.all(got <= 1.0)
        # the verdicts do not depend on p-values: effect size first
        assert {n: f.status for n, f in report.features.items()} == {n: f.status for n, f in raw.features.items()}


def test_adjust_pvalues_against_definitions() -> None:
    rng = np.random.default_rng(4)
    p = np.concatenate([rng.uniform(0, 1, 30), rng.uniform(0, 1e-4, 10), [0.0, 1.0, 0.5, 0.5]])
    m = p.size
    np.testing.assert_allclose(dl.adjust_pvalues(p, "fdr_bh"), stats.false_discovery_control(p, method="bh"), rtol=1e-12)
    np.testing.assert_array_equal(dl.adjust_pvalues(p, "bonferroni"), np.minimum(p * m, 1))
    # Holm, written from its definition: p_(i) -> max over j <= i of (m - j) p_(j), capped at 1.
    order = np.argsort(p, kind="stable")
    holm = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        holm[i] = min(running, 1.0)
    np.testing.assert_allclose(dl.adjust_pvalues(p, "holm"), holm, rtol=1e-15)
    with pytest.raises(ValueError, match="method"):
        dl.adjust_pvalues(p, "sidak")
    with pytest.raises(ValueError, match="finite"):
        dl.adjust_pvalues([0.1, math.nan], "holm")


def test_a_profile_as_reference_gives_binned_ks_and_the_same_verdicts(batch) -> None:
    reference, current, report = batch
    from_profile = dl.compare(dl.Profile.from_data(reference), current)
    for name, f in from_profile.features.items():
        assert f.status == report.features[name].status
        assert f.psi == report.features[name].psi
        if f.kind == "numeric":
            assert f.ks_method == "binned" and f.ks <= f.ks_bound
            assert f.ks <= report.features[name].ks + 1e-12 <= f.ks_bound + 1e-12  # the raw statistic lies between


def test_input_shapes_and_report_rendering() -> None:
    rng = np.random.default_rng(5)
    ref = rng.normal(size=(4000, 3))
    cur = rng.normal(size=(3000, 3)) + [0.0, 0.0, 1.0]
    report = dl.compare(ref, cur, names=["a", "b", "c"])
    assert [f.status for f in report.features.values()] == ["ok", "ok", "alert"]
    assert "batch comparison, 3000 rows" in str(report)
    json.dumps(report.to_dict())  # JSON-ready: NaN time and span become null
    assert report.to_dict()["time"] is None
    pd = pytest.importorskip("pandas")
    frame = dl.compare(pd.DataFrame(ref, columns=list("abc")), pd.DataFrame(cur, columns=list("abc")))
    assert frame.features["c"].psi == report.features["c"].psi


def test_bad_arguments() -> None:
    data = {"x": np.arange(200.0)}
    with pytest.raises(ValueError, match="correction"):
        dl.compare(data, data, correction="bh")
    with pytest.raises(TypeError, match="Policy"):
        dl.compare(data, data, policy={"psi_warn": 0.2})  # type: ignore[arg-type]


def test_small_batches_say_insufficient_data() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = dl.compare({"x": np.arange(1000.0)}, {"x": np.arange(50.0)})
    assert report.features["x"].status == "insufficient data"  # fewer than Policy.min_count rows


def test_pandas_columns_give_the_same_report_as_numpy_columns() -> None:
    """A DataFrame, a dict of Series (object, string, category dtypes) and a dict of numpy arrays: one report."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(11)
    cities = np.array(["paris", "rome", "oslo", "lima"], dtype=object)

    def data(n: int, shift: float) -> dict[str, np.ndarray]:
        x = rng.normal(shift, 1, n)
        x[::53] = np.nan
        return {"x": x, "k": rng.integers(0, 5, n), "city": cities[rng.integers(0, 4 if shift else 3, n)],
                "tier": cities[rng.integers(0, 2, n)]}

    reference, current = data(20_000, 0.0), data(15_000, 0.3)
    profile = dl.Profile.from_data(reference)
    expected = dl.compare(profile, current).to_dict()
    series = {
        "x": pd.Series(current["x"]),
        "k": pd.Series(current["k"]),
        "city": pd.Series(current["city"], dtype="string"),
        "tier": pd.Series(current["tier"], dtype="category"),
    }
    assert dl.compare(profile, series).to_dict() == expected
    assert dl.compare(profile, pd.DataFrame(series)).to_dict() == expected
    assert dl.compare(profile, pd.DataFrame(current)).to_dict() == expected
