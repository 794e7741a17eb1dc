"""The Prometheus collector exposes exactly what Monitor.report() says."""

from __future__ import annotations

import math

import numpy as np
import pytest

import driftline as dl

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from driftline.prometheus import STATUS_VALUES, MonitorCollector  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.t


def scrape(registry: "prometheus_client.CollectorRegistry") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = prometheus_client.generate_latest(registry).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_scrape_equals_the_report() -> None:
    rng = np.random.default_rng(0)
    profile = dl.Profile.from_data({"x": rng.normal(size=5000), "c": rng.choice(["a", "b"], 5000)})
    clock = Clock()
    m = dl.Monitor(profile, window=300, bucket=60, clock=clock)
    registry = prometheus_client.CollectorRegistry()
    registry.register(MonitorCollector(m, labels={"model": "m1"}))
    assert clock.calls == 0  # describing the metrics computes no report
    for k in range(4):
        clock.t = 60 * k + 30
        m.observe({"x": rng.normal(0.5, 1, 500), "c": rng.choice(["a", "b", "zz"], 500), "new": np.ones(500)})
        m.observe_latency(rng.lognormal(-4, 0.5, 500))
    m.observe({"x": 1.0, "c": "a"}, t=1e9)  # a future row
    clock.t = 240
    got = scrape(registry)
    r = m.report()  # same clock reading: the same report

    def value(name: str, **labels: str) -> float:
        return got[(name, tuple(sorted({"model": "m1", **labels}.items())))]

    assert value("driftline_status") == STATUS_VALUES[r.status]
    assert value("driftline_schema_status") == STATUS_VALUES[r.schema.status] == 1.0
    assert value("driftline_latency_status") == STATUS_VALUES[r.latency.status]
    for name, f in r.features.items():
        assert value("driftline_feature_status", feature=name) == STATUS_VALUES[f.status]
        assert value("driftline_feature_psi", feature=name) == pytest.approx(f.psi)
        assert value("driftline_feature_psi_noise_floor", feature=name) == pytest.approx(f.psi_noise_floor)
        assert value("driftline_feature_js_distance", feature=name) == pytest.approx(f.js_distance)
        assert value("driftline_feature_missing_ratio", feature=name) == pytest.approx(f.missing_rate)
        assert value("driftline_feature_values", feature=name) == f.count
        assert value("driftline_feature_value_age_seconds", feature=name) == pytest.approx(f.seconds_since_value)
    assert value("driftline_feature_ks", feature="x") == pytest.approx(r.features["x"].ks)
    assert ("driftline_feature_ks", (("feature", "c"), ("model", "m1"))) not in got  # not for categories
    assert value("driftline_feature_unseen_ratio", feature="c") == pytest.approx(r.features["c"].unseen_rate)
    assert value("driftline_feature_out_of_range_ratio", feature="x") == pytest.approx(r.features["x"].out_of_range_rate)
    assert value("driftline_schema_unexpected_fields") == 1 and value("driftline_schema_missing_fields") == 0
    assert value("driftline_latency_p99_seconds") == pytest.approx(r.latency.p99)
    assert value("driftline_latency_p50_seconds") == pytest.approx(r.latency.p50)
    assert value("driftline_latency_observations") == r.latency.count == 2000
    assert value("driftline_latency_max_seconds") == pytest.approx(r.latency.max)
    assert value("driftline_rows_total") == m.rows == 2001
    assert value("driftline_future_rows_total") == 1 and value("driftline_late_rows_total") == 0
    assert value("driftline_expired_rows_total") == r.expired == 0


def test_empty_monitor_scrapes_and_bad_arguments_raise() -> None:
    profile = dl.Profile.from_data({"x": [1.0, 2.0, 3.0]})
    m = dl.Monitor(profile, clock=lambda: 0.0)
    registry = prometheus_client.CollectorRegistry()
    registry.register(MonitorCollector(m, prefix="svc_drift"))
    got = scrape(registry)
    assert got[("svc_drift_status", ())] == -1.0
    # Nothing to say yet is an absent series, never NaN.
    assert not any(math.isnan(v) for v in got.values())
    assert ("svc_drift_latency_p50_seconds", ()) not in got and ("svc_drift_feature_psi", (("feature", "x"),)) not in got
    with pytest.raises(TypeError):
        MonitorCollector(profile)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prefix"):
        MonitorCollector(m, prefix="9bad-name")
    with pytest.raises(ValueError, match="used by the collector"):
        MonitorCollector(m, labels={"feature": "x"})


def test_feature_names_cannot_collide_with_the_other_parts() -> None:
    """Features named like the overall, schema and latency parts each keep their own series."""
    rng = np.random.default_rng(1)
    names = ["overall", "schema", "latency", "status"]
    profile = dl.Profile.from_data({n: rng.normal(size=2000) for n in names})
    clock = Clock()
    m = dl.Monitor(profile, window=120, bucket=60, clock=clock)
    m.observe({n: rng.normal(size=500) for n in names})
    registry = prometheus_client.CollectorRegistry()
    registry.register(MonitorCollector(m))
    got = scrape(registry)
    r = m.report()
    assert {labels[0][1] for (name, labels) in got if name == "driftline_feature_status"} == set(names)
    assert got[("driftline_status", ())] == STATUS_VALUES[r.status]
    assert got[("driftline_latency_status", ())] == STATUS_VALUES[r.latency.status]
    text = prometheus_client.generate_latest(registry).decode()
    # Every family once: no duplicate series in the exposition.
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(lines) == len({line.rsplit(" ", 1)[0] for line in lines})


def promtool() -> str:
    """Debian's promtool (the `prometheus` package, installed by .ci/prometheus); required when CI says so."""
    import os
    import shutil

    found = shutil.which("promtool") or shutil.which("promtool", path=os.defpath)  # .ci/wheel cuts PATH down
    if found:
        return found
    if os.environ.get("DRIFTLINE_REQUIRE_PROMTOOL") == "1":
        pytest.fail("promtool is not on PATH (run .ci/prometheus)")
    pytest.skip("promtool is not installed (apt-get install prometheus, or .ci/prometheus)")


@pytest.mark.parametrize("with_data", [False, True])
def test_exposition_passes_promtool_check_metrics(with_data: bool) -> None:
    import subprocess

    tool = promtool()
    rng = np.random.default_rng(2)
    names = ["age", "latency", 'we"ird\\name ü', "city"]
    data = {n: rng.normal(size=3000) for n in names[:3]}
    data["city"] = rng.choice(["a", "b"], 3000)
    profile = dl.Profile.from_data(data)
    clock = Clock()
    m = dl.Monitor(profile, window=300, bucket=60, clock=clock)
    if with_data:
        for k in range(5):
            clock.t = 60 * k + 30
            batch = {n: rng.normal(0.3 * k, 1, 400) for n in names[:3]}
            batch["city"] = rng.choice(["a", "b", "new"], 400)
            batch["extra"] = np.ones(400)
            m.observe(batch)
            m.observe_latency(rng.exponential(0.02, 300))
    registry = prometheus_client.CollectorRegistry()
    registry.register(MonitorCollector(m, labels={"model": "fraud-v3", "region": "eu"}))
    text = prometheus_client.generate_latest(registry)
    done = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout == done.stderr == b"", (done.stdout, done.stderr)
    samples = [line for line in text.decode().splitlines() if line and not line.startswith("#")]
    assert samples and not any(line.endswith("NaN") for line in samples)


def test_cell_counts_give_the_report_psi_and_sum_across_workers() -> None:
    """PSI from the exported cell counts (driftline's smoothing) is the report's; two workers' counts add up."""
    from driftline.prometheus_rules import SMOOTHING

    rng = np.random.default_rng(5)
    profile = dl.Profile.from_data({"x": rng.normal(size=4000), "c": rng.choice(["a", "b", "c"], 4000)})
    clock = Clock()
    workers = [dl.Monitor(profile, window=300, bucket=60, clock=clock) for _ in range(2)]
    for k in range(5):
        clock.t = 60 * k + 30
        for i, m in enumerate(workers):
            m.observe({"x": rng.normal(0.3 * i, 1, 300), "c": rng.choice(["a", "b", "c", "zz"], 300)})
    clock.t = 300.0
    scraped = []
    for m in workers:
        registry = prometheus_client.CollectorRegistry()
        registry.register(MonitorCollector(m))
        scraped.append(scrape(registry))
    merged = dl.Monitor.from_bytes(workers[0].to_bytes(), clock=clock, profile=profile).merge(workers[1])
    report = merged.report()
    for name, feature in zip(profile.names, profile):
        k = len(feature.cells())
        cells = [(name_, dict(labels)) for name_, labels in scraped[0] if name_ == "driftline_feature_cell_values"]
        assert sorted(int(l["cell"]) for _, l in cells if l["feature"] == name) == list(range(k))
        current = np.array([sum(s[("driftline_feature_cell_values", (("cell", str(i)), ("feature", name)))] for s in scraped)
                            for i in range(k)])
        ref = np.array([scraped[0][("driftline_feature_reference_cell_values", (("cell", str(i)), ("feature", name)))]
                        for i in range(k)])
        np.testing.assert_array_equal(ref, np.asarray(feature.cells(), dtype=float))
        p = (ref + SMOOTHING) / (ref.sum() + k * SMOOTHING)
        q = (current + SMOOTHING) / (current.sum() + k * SMOOTHING)
        assert current.sum() == report.features[name].count
        assert math.isclose(float(np.sum((q - p) * np.log(q / p))), report.features[name].psi, rel_tol=1e-12)


def test_rules_check_their_arguments(tmp_path: "pytest.TempPathFactory") -> None:
    from driftline.prometheus_rules import rules

    profile = dl.Profile.from_data({"x": [1.0, 2.0, 3.0]})
    groups = rules(profile, by=["job", "model"])["groups"]
    exprs = [r.get("expr", "") for r in groups[0]["rules"]]
    assert any("sum by (job, model, feature, cell) (driftline_feature_cell_values)" in e for e in exprs)
    with pytest.raises(ValueError, match="group by"):
        rules(profile, by=["feature"])
    with pytest.raises(ValueError, match="duration"):
        rules(profile, alert_for="five minutes")
    with pytest.raises(ValueError, match="prefix"):
        rules(profile, prefix="bad-prefix")
    with pytest.raises(TypeError):
        rules("profile.drift")  # type: ignore[arg-type]


def test_cells_can_be_left_out() -> None:
    profile = dl.Profile.from_data({"x": np.arange(1000.0)})
    m = dl.Monitor(profile, clock=lambda: 0.0)
    registry = prometheus_client.CollectorRegistry()
    registry.register(MonitorCollector(m, cells=False))
    names = {name for name, _ in scrape(registry)}
    assert "driftline_feature_cell_values" not in names and "driftline_status" in names


def histogram(values: dict, name: str = "driftline_latency_seconds") -> tuple[list[float], list[float], float, float]:
    """(le boundaries, cumulative counts, count, sum) of a scraped histogram."""
    buckets = sorted(
        (float(dict(labels)["le"]), v) for (n, labels), v in values.items() if n == name + "_bucket"
    )
    return [b for b, _ in buckets], [v for _, v in buckets], values[(name + "_count", ())], values[(name + "_sum", ())]


def test_latency_histogram_is_exact_lifelong_and_sums_across_workers() -> None:
    """Cumulative counts equal numpy's count of the raw latencies at each boundary, and never go down."""
    rng = np.random.default_rng(11)
    profile = dl.Profile.from_data({"x": rng.normal(size=500)})
    clock = Clock()
    workers = [dl.Monitor(profile, window=300, bucket=60, clock=clock) for _ in range(2)]
    seen: list[np.ndarray] = []
    previous = None
    for k in range(12):  # 12 minutes through a 5-minute window: most latencies expire
        clock.t = 60 * k + 30
        for m in workers:
            latencies = rng.lognormal(-4, 1.5, 200)
            latencies[:3] = [0.0, 1e-6, 100.0]  # below the first boundary, and above the last
            m.observe_latency(latencies)
            seen.append(latencies)
        scraped = []
        for m in workers:
            registry = prometheus_client.CollectorRegistry()
            registry.register(MonitorCollector(m))
            scraped.append(scrape(registry))
        le, cumulative, count, total = (
            np.array(histogram(scraped[0])[0]),
            np.sum([histogram(s)[1] for s in scraped], axis=0),
            sum(histogram(s)[2] for s in scraped),
            sum(histogram(s)[3] for s in scraped),
        )
        everything = np.concatenate(seen)
        assert le[-1] == math.inf and len(le) == 40
        expected = [(everything <= b).sum() for b in le[:-1]] + [everything.size]
        np.testing.assert_array_equal(cumulative, expected)  # exact: the boundaries are the sketch's own
        assert count == everything.size
        assert math.isclose(total, everything.sum(), rel_tol=1e-9)
        if previous is not None:
            assert np.all(cumulative >= previous)  # counters: never down, though the window expires
        previous = cumulative
    assert workers[0]._latency.expired > 0
    # The two workers' histograms add up to the merged Monitor's.
    merged = dl.Monitor.from_bytes(workers[0].to_bytes(), clock=clock, profile=profile).merge(workers[1])
    registry = prometheus_client.CollectorRegistry()
    registry.register(MonitorCollector(merged))
    assert histogram(scrape(registry))[1] == list(previous)


def test_latency_histogram_scale() -> None:
    rng = np.random.default_rng(12)
    monitor = dl.Monitor(dl.Profile.from_data({"x": rng.normal(size=500)}))
    latencies = rng.lognormal(-3, 1, 1000)
    monitor.observe_latency(latencies)
    for scale, boundaries in ((0, 20), (1, 39), (2, 77), (3, 153)):
        registry = prometheus_client.CollectorRegistry()
        registry.register(MonitorCollector(monitor, latency_scale=scale))
        le, cumulative, count, _ = histogram(scrape(registry))
        assert len(le) == boundaries + 1 and count == 1000
        assert cumulative == [float((latencies <= b).sum()) for b in le[:-1]] + [1000.0]
    with pytest.raises(ValueError, match="latency_scale"):
        MonitorCollector(monitor, latency_scale=4)
