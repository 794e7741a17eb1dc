"""driftline.compare side by side with the drift libraries a notebook user tries first.

The same 200,000-row x 25-feature batch with six known drifts
(driftline.examples.drifted_batch), the reference profile built in the same
call for driftline: Evidently's DataDriftPreset (its defaults: normed
Wasserstein for numeric, Jensen-Shannon for categorical columns) and frouros'
per-feature two-sample KS and chi-square tests. Each benchmark checks what it
found: driftline flags exactly the six, Evidently's flags are among them.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pytest

import driftline as dl
from driftline.examples import DRIFTED, drifted_batch

ROWS = 200_000
GROUP = "compare 2e5 rows x 25 features (20 numeric, 5 categorical), reference built in the call"


@pytest.fixture(scope="module")
def batch() -> tuple[dict[str, Any], dict[str, Any]]:
    return drifted_batch(rows=ROWS, seed=0)


def test_compare_driftline(benchmark: Any, batch: tuple[dict[str, Any], dict[str, Any]]) -> None:
    benchmark.group = GROUP
    benchmark.extra_info["values"] = ROWS * 25 * 2
    benchmark.extra_info["baseline"] = True
    reference, current = batch
    report = benchmark.pedantic(dl.compare, args=(reference, current), rounds=5, iterations=1)
    assert {n for n, f in report.features.items() if f.status in ("warn", "alert")} == set(DRIFTED)


def test_compare_evidently(benchmark: Any, batch: tuple[dict[str, Any], dict[str, Any]]) -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")  # no telemetry calls from the benchmark
    pd = pytest.importorskip("pandas")
    evidently = pytest.importorskip("evidently")
    from evidently.presets import DataDriftPreset

    benchmark.group = GROUP
    benchmark.extra_info["values"] = ROWS * 25 * 2
    reference, current = (pd.DataFrame(part) for part in batch)

    def run() -> dict[str, Any]:
        return evidently.Report([DataDriftPreset()]).run(current_data=current, reference_data=reference).dict()

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    flagged = set()
    for metric in result["metrics"]:
        m = re.match(r"ValueDrift\(column=(.+?),method=.*,threshold=([0-9.]+)\)", metric["metric_name"])
        if m and float(metric["value"]) >= float(m.group(2)):
            flagged.add(m.group(1))
    assert flagged == set(DRIFTED), flagged  # the same six features driftline flags (test_compare_driftline)


def test_compare_frouros(benchmark: Any, batch: tuple[dict[str, Any], dict[str, Any]]) -> None:
    pytest.importorskip("frouros")
    from frouros.detectors.data_drift import ChiSquareTest, KSTest

    benchmark.group = GROUP
    benchmark.extra_info["values"] = ROWS * 25 * 2
    reference, current = batch

    def run() -> dict[str, float]:
        pvalues = {}
        for name, ref in reference.items():
            numeric = ref.dtype.kind == "f"
            detector = KSTest() if numeric else ChiSquareTest()
            a, b = (ref[~np.isnan(ref)], current[name][~np.isnan(current[name])]) if numeric else (ref, current[name])
            detector.fit(X=a)
            result, _ = detector.compare(X=b)
            pvalues[name] = float(result.p_value)
        return pvalues

    pvalues = benchmark.pedantic(run, rounds=3, iterations=1)
    assert all(pvalues[n] < 1e-6 for n in DRIFTED)
