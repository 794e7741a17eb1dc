"""The read path: report(), one Prometheus scrape, state bytes and merge, at 20, 50 and 200 features.

The peer is the previous implementation: the per-feature numpy report of
driftline 0.1 (tests/reference_report.py), run side by side on the same
Monitor; every benchmark checks its result against it (statuses, PSI), so
`--benchmark-disable` is a correctness run. Monitors hold a full window of 60
one-minute buckets (plus the open one).

Run:  python -m pytest bench/bench_report.py --benchmark-only --benchmark-json=bench.json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import driftline as dl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from reference_report import reference_feature_reports  # noqa: E402

prometheus_client = pytest.importorskip("prometheus_client")
from driftline.prometheus import MonitorCollector  # noqa: E402

WINDOW, BUCKET = 3600.0, 60.0
NOW = 100 * WINDOW + 30.0  # half-way into the open bucket


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def build(features: int, rows_per_bucket: int, seed: int = 0) -> dl.Monitor:
    """A Monitor of `features` numeric features after a full window of traffic (the last 20 buckets drift for 1 in 10)."""
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=(20_000, features)) * (1 + np.arange(features) % 3)
    profile = dl.Profile.from_data(ref, names=[f"f{j:03d}" for j in range(features)])
    clock = Clock(NOW)
    m = dl.Monitor(profile, window=WINDOW, bucket=BUCKET, clock=clock)
    scale = 1 + np.arange(features) % 3
    base = rng.normal(size=(rows_per_bucket, features)) * scale
    shifted = base + (np.arange(features) % 10 == 0) * 0.8 * scale
    first = NOW - 30.0 - WINDOW
    for k in range(61):
        m.observe(shifted if k >= 40 else base, t=first + k * BUCKET + 1.0)
    return m


_MONITORS: dict[tuple[int, int], dl.Monitor] = {}


def monitor(features: int, rows_per_bucket: int) -> dl.Monitor:
    key = (features, rows_per_bucket)
    if key not in _MONITORS:
        _MONITORS[key] = build(features, rows_per_bucket)
    return _MONITORS[key]


def check(report: dl.Report, m: dl.Monitor) -> None:
    expected = reference_feature_reports(m, m.window, NOW)
    for name, e in expected.items():
        f = report.features[name]
        assert f.status == e["status"], name
        assert f.psi == pytest.approx(e["psi"], rel=1e-9)
    for j, f in enumerate(report.features.values()):  # 1 in 10 features drifts
        assert (f.status in ("warn", "alert")) if j % 10 == 0 else (f.status == "ok"), (f.name, f.status)


SIZES = [(20, 1_000), (50, 1_000), (200, 1_000), (200, 100_000)]


@pytest.mark.parametrize("features,rows", SIZES)
def test_report_driftline(benchmark: Any, features: int, rows: int) -> None:
    benchmark.group = f"report(): {features} features, {rows} rows per bucket"
    benchmark.extra_info.update(features=features, rows_per_bucket=rows, baseline=True)
    m = monitor(features, rows)
    m.report()  # completed buckets are judged once and cached; every scrape after that costs this

    report = benchmark(m.report)
    check(report, m)


@pytest.mark.parametrize("features,rows", [(200, 1_000), (200, 100_000)])
def test_report_driftline_cold(benchmark: Any, features: int, rows: int) -> None:
    """The first report of a Monitor (or after decoding): every completed bucket judged."""
    benchmark.group = f"report(): {features} features, {rows} rows per bucket"
    benchmark.extra_info.update(features=features, rows_per_bucket=rows)
    m = monitor(features, rows)

    def cold() -> dl.Report:
        m._judge_instance = type(m._judge)(m.profile, m.policy, m.bucket)
        return m.report()

    check(benchmark(cold), m)


@pytest.mark.parametrize("features,rows", SIZES)
def test_report_previous_numpy(benchmark: Any, features: int, rows: int) -> None:
    benchmark.group = f"report(): {features} features, {rows} rows per bucket"
    benchmark.extra_info.update(features=features, rows_per_bucket=rows)
    m = monitor(features, rows)
    expected = benchmark(reference_feature_reports, m, m.window, NOW)
    report = m.report()
    assert all(report.features[n].status == e["status"] for n, e in expected.items())


@pytest.mark.parametrize("features", [20, 50, 200])
@pytest.mark.parametrize("cells", [True, False])
def test_scrape_generate_latest(benchmark: Any, features: int, cells: bool) -> None:
    benchmark.group = f"one Prometheus scrape (generate_latest), {features} features"
    benchmark.extra_info.update(features=features, baseline=cells, cells=cells)
    m = monitor(features, 1_000)
    registry = prometheus_client.CollectorRegistry()
    registry.register(MonitorCollector(m, cells=cells))
    text = benchmark(prometheus_client.generate_latest, registry).decode()
    assert ("driftline_feature_cell_values{" in text) == cells
    flagged = sum(1 for f in m.report().features.values() if f.status in ("warn", "alert"))
    assert text.count('driftline_feature_status{feature="f') == features and flagged == features // 10


@pytest.mark.parametrize("features", [20, 50, 200])
def test_scrape_prometheus_client_floor(benchmark: Any, features: int) -> None:
    """generate_latest of the same families and samples, already computed: prometheus_client's own formatting cost."""
    benchmark.group = f"one Prometheus scrape (generate_latest), {features} features"
    benchmark.extra_info.update(features=features)
    m = monitor(features, 1_000)
    live = prometheus_client.CollectorRegistry()
    live.register(MonitorCollector(m))
    families = list(live.collect())

    class Frozen:
        def collect(self) -> Any:
            return iter(families)

    registry = prometheus_client.CollectorRegistry()
    registry.register(Frozen())
    text = benchmark(prometheus_client.generate_latest, registry)
    assert text == prometheus_client.generate_latest(live)


@pytest.mark.parametrize("features", [20, 50, 200])
def test_to_bytes(benchmark: Any, features: int) -> None:
    benchmark.group = f"Monitor.to_bytes(), {features} features, full hour of 100,000 rows per bucket"
    m = monitor(features, 100_000) if features == 200 else monitor(features, 1_000)
    blob = benchmark(m.to_bytes)
    benchmark.extra_info.update(features=features, bytes=len(blob), embedded_bytes=len(m.to_bytes(embed_profile=True)))
    if features == 200:
        assert len(blob) <= 600_000, len(blob)
    assert dl.Monitor.from_bytes(blob, profile=m.profile, clock=m._clock)._core.to_bytes() == m._core.to_bytes()


@pytest.mark.parametrize("features", [20, 50, 200])
def test_from_bytes(benchmark: Any, features: int) -> None:
    benchmark.group = f"Monitor.from_bytes(), {features} features"
    m = monitor(features, 100_000) if features == 200 else monitor(features, 1_000)
    blob = m.to_bytes()
    back = benchmark(dl.Monitor.from_bytes, blob, None, m._clock, profile=m.profile)
    benchmark.extra_info.update(features=features, bytes=len(blob))
    check(back.report(), m)


@pytest.mark.parametrize("features", [20, 50, 200])
def test_merge(benchmark: Any, features: int) -> None:
    benchmark.group = f"Monitor.merge(), {features} features"
    benchmark.extra_info.update(features=features)
    m = monitor(features, 1_000)
    target = dl.Monitor(m.profile, window=WINDOW, bucket=BUCKET, clock=m._clock)
    benchmark(target.merge, m)
    rounds = target.rows // m.rows
    assert rounds >= 1 and target.rows == rounds * m.rows
    assert target.report().features["f000"].status == m.report().features["f000"].status
