"""A real Prometheus server (Debian's package) scrapes two hosts; the shipped rules give driftline merge's PSI."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

import driftline as dl
from driftline import cli

prometheus_client = pytest.importorskip("prometheus_client")
from driftline.prometheus import MonitorCollector  # noqa: E402

NOW = 1_800_000_000.0


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=os.defpath)  # .ci/wheel cuts PATH down
    if found:
        return found
    if os.environ.get("DRIFTLINE_REQUIRE_PROMTOOL") == "1":
        pytest.fail(f"{name} is not installed (run .ci/prometheus)")
    pytest.skip(f"{name} is not installed (apt-get install prometheus, or .ci/prometheus)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_monitor(reference: dl.Profile, seed: int, shift: float) -> dl.Monitor:
    """A host's Monitor after its traffic stopped: the clock stands still, so every scrape is the same."""
    rng = np.random.default_rng(seed)
    monitor = dl.Monitor(reference, window=3600, bucket=60, clock=lambda: NOW)
    rows = 20_000
    monitor.observe(
        {"x": rng.normal(shift, 1, rows), "city": rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1])},
        t=NOW - rng.uniform(0, 3500, rows),
    )
    return monitor


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture()
def hosts(tmp_path: Path) -> Iterator[tuple[dl.Profile, list[dl.Monitor], list[int]]]:
    rng = np.random.default_rng(0)
    reference = dl.Profile.from_data({"x": rng.normal(size=50_000), "city": rng.choice(["a", "b", "c", "d"], 50_000)})
    monitors = [host_monitor(reference, 1, 0.0), host_monitor(reference, 2, 1.2)]  # the second host drifted
    servers, ports = [], []
    for m in monitors:
        registry = prometheus_client.CollectorRegistry()
        registry.register(MonitorCollector(m, labels={"model": "fraud-v3"}))
        port = free_port()
        server, _ = prometheus_client.start_http_server(port, addr="127.0.0.1", registry=registry)
        servers.append(server)
        ports.append(port)
    yield reference, monitors, ports
    for server in servers:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def running_prometheus(tmp_path: Path, reference: dl.Profile, ports: list[int]) -> Iterator[str]:
    """Debian's Prometheus on loopback, scraping ``ports`` every second with the shipped rules (checked by promtool)."""
    binary = tool("prometheus")
    tmp_path.mkdir(parents=True, exist_ok=True)
    reference.save(tmp_path / "reference.drift")
    rules = tmp_path / "driftline.rules.yml"
    assert cli.main(["prometheus-rules", str(tmp_path / "reference.drift"), "-o", str(rules), "--by", "model",
                     "--for", "0s", "--interval", "1s"]) == 0
    checked = subprocess.run([tool("promtool"), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = tmp_path / "prometheus.yml"
    targets = ", ".join(f'"127.0.0.1:{p}"' for p in ports)
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: [\"{rules}\"]\n"
        f"scrape_configs:\n  - job_name: model-service\n    static_configs:\n      - targets: [{targets}]\n"
    )
    port = free_port()
    log = open(tmp_path / "prometheus.log", "w")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError("prometheus did not start: " + (tmp_path / "prometheus.log").read_text()[-2000:])
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture()
def prometheus(tmp_path: Path, hosts: tuple[dl.Profile, list[dl.Monitor], list[int]]) -> Iterator[str]:
    reference, _, ports = hosts
    with running_prometheus(tmp_path, reference, ports) as url:
        yield url


def query(url: str, expr: str) -> list[dict[str, Any]]:
    data = get(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert data["status"] == "success", data
    return list(data["data"]["result"])


def wait_for(check: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError("timed out")


def test_psi_from_the_recording_rules_equals_driftline_merge(
    tmp_path: Path, hosts: tuple[dl.Profile, list[dl.Monitor], list[int]], prometheus: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reference, monitors, _ = hosts
    states = []
    for i, m in enumerate(monitors):
        path = tmp_path / f"host{i}.drift"
        path.write_bytes(m.to_bytes())
        states.append(str(path))
    merged_path, report_path = tmp_path / "all.drift", tmp_path / "all.json"
    profile_path = str(tmp_path / "reference.drift")
    assert cli.main(["merge", *states, "-o", str(merged_path), "--profile", profile_path, "--at", str(NOW)]) == 0
    cli.main(["report", str(merged_path), "--at", str(NOW), "--json", str(report_path), "--quiet"])
    capsys.readouterr()
    expected = {name: f["psi"] for name, f in json.loads(report_path.read_text())["features"].items()}

    # Both hosts scraped, the rules evaluated on both hosts' samples:
    def both_hosts() -> Any:
        up = query(prometheus, 'count(up{job="model-service"} == 1)')
        rows = query(prometheus, "sum(driftline_rows_total)")
        return up and up[0]["value"][1] == "2" and rows and float(rows[0]["value"][1]) == 40_000

    wait_for(both_hosts)

    def psi() -> Any:
        result = query(prometheus, "driftline:feature_psi")
        values = query(prometheus, "driftline:feature_values:sum")
        if len(result) == 2 and all(float(v["value"][1]) == 40_000 for v in values):
            return {r["metric"]["feature"]: float(r["value"][1]) for r in result}
        return None

    got = wait_for(psi)
    assert set(got) == set(expected) == {"x", "city"}
    for name in expected:
        assert abs(got[name] - expected[name]) <= 1e-9 * max(1.0, expected[name]), (name, got[name], expected[name])
    assert all(r["metric"]["model"] == "fraud-v3" for r in query(prometheus, "driftline:feature_psi"))

    # The injected drift (the second host's x) fires the shipped alert, for x only.
    def firing() -> Any:
        alerts = get(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
        drift = [a for a in alerts if a["labels"]["alertname"] == "DriftlineFeatureDrift" and a["state"] == "firing"]
        return drift or None

    drift = wait_for(firing)
    assert {a["labels"]["feature"] for a in drift} == {"x"} and expected["x"] >= 0.25 > expected["city"]
    assert drift[0]["labels"]["severity"] == "critical" and drift[0]["labels"]["model"] == "fraud-v3"


def test_two_gunicorn_services_as_two_hosts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two model services (gunicorn, 4 uvicorn workers each, a HostMonitor per host) under a real Prometheus.

    Once traffic stops, the recorded PSI equals that of `driftline merge` of the
    two hosts' host files within 1e-9, the row counters sum to the requests
    served, and the shipped alert fires for the drifted feature only.
    """
    pytest.importorskip("gunicorn")
    pytest.importorskip("uvicorn_worker")
    pytest.importorskip("fastapi")
    tool("prometheus")
    from model_service import drive, reference_profile, running_service

    reference = reference_profile()
    with running_service(tmp_path / "a", reference, tmp_path / "a.driftline") as a, running_service(
        tmp_path / "b", reference, tmp_path / "b.driftline"
    ) as b:
        served = len(drive(a["url"], 400, seed=1)) + len(drive(b["url"], 400, seed=2, shift=25.0))  # b's income drifted
        time.sleep(1.0)  # traffic stopped: every worker of both hosts has published
        merged_path, report_path = tmp_path / "all.drift", tmp_path / "all.json"
        assert cli.main(["merge", str(a["host_file"]), str(b["host_file"]), "-o", str(merged_path)]) == 0
        cli.main(["report", str(merged_path), "--json", str(report_path), "--quiet"])
        capsys.readouterr()
        report = json.loads(report_path.read_text())
        assert report["rows"] == served == 800
        expected = {name: f["psi"] for name, f in report["features"].items()}

        with running_prometheus(tmp_path / "prometheus", reference, [a["port"], b["port"]]) as prometheus:

            def psi() -> Any:
                rows = query(prometheus, "sum(driftline_rows_total)")
                result = query(prometheus, "driftline:feature_psi")
                values = query(prometheus, "driftline:feature_values:sum")
                if rows and float(rows[0]["value"][1]) == served and len(result) == 3 and all(
                    float(v["value"][1]) == served for v in values
                ):
                    return {r["metric"]["feature"]: float(r["value"][1]) for r in result}
                return None

            got = wait_for(psi)
            assert set(got) == set(expected) == {"income", "age", "debt"}
            for name in expected:
                assert abs(got[name] - expected[name]) <= 1e-9 * max(1.0, expected[name]), (name, got[name], expected[name])
            latencies = query(prometheus, 'sum(driftline_latency_seconds_bucket{le="+Inf"})')
            assert float(latencies[0]["value"][1]) == served  # the latency histogram sums over hosts too

            def firing() -> Any:
                alerts = get(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
                drift = [a for a in alerts if a["labels"]["alertname"] == "DriftlineFeatureDrift" and a["state"] == "firing"]
                return drift or None

            assert {a["labels"]["feature"] for a in wait_for(firing)} == {"income"}
