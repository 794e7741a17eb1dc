"""The main command: a shortened demo detects every incident and raises no false alarm."""

from __future__ import annotations

import json
import subprocess
import sys

from driftline.demo import INCIDENTS, run_demo


def test_shortened_demo_detects_each_incident_after_it_starts_and_no_false_alarm() -> None:
    result = run_demo(rate=8.0, seed=3)  # a fifth of the default traffic, same day and incidents
    for incident in INCIDENTS:
        delay = result.detections[incident.name]
        assert delay is not None, f"{incident.name} was not detected"
        assert 0 <= delay <= 60 * 60, f"{incident.name} detected after {delay} s"
    assert result.clean_alerts == []
    assert result.false_alarms == []
    assert result.rows == 8 * 24 * 3600
    # Every alert in the timeline belongs to an incident that had started.
    for t, part, _, new in result.timeline:
        if new == "alert":
            assert any(part in i.signals and i.start <= t for i in INCIDENTS)


def test_console_entry_point_runs_and_writes_json(tmp_path) -> None:
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "driftline", "demo", "--hours", "2", "--rate", "4", "--quiet", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "false alarms: 0" in proc.stdout and "throughput" in proc.stdout
    report = json.loads(out.read_text())
    assert report["status"] == "ok" and set(report["features"]) >= {"income", "country", "score"}


def test_demo_writes_its_default_report_into_the_current_directory(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "driftline", "demo", "--hours", "1", "--rate", "2", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "income" in json.loads((tmp_path / "driftline-demo-report.json").read_text())["features"]
    assert [p.name for p in tmp_path.iterdir()] == ["driftline-demo-report.json"]


def test_missing_output_directory_is_refused_before_the_simulation(tmp_path) -> None:
    out = tmp_path / "no-such-folder" / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "driftline", "demo", "--out", str(out)],  # a full day: only an early check is fast
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "no-such-folder" in proc.stderr
    assert "throughput" not in proc.stdout
    assert not out.parent.exists()
