"""``driftline merge`` and ``driftline report`` on Monitor state files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import driftline as dl
from driftline import cli

NOW = 1_700_000_000.0


def profile() -> dl.Profile:
    rng = np.random.default_rng(0)
    return dl.Profile.from_data({"x": rng.normal(size=20_000), "city": rng.choice(["a", "b", "c"], 20_000)})


def worker(reference: dl.Profile, seed: int, shift: float, rows: int = 6_000) -> dl.Monitor:
    rng = np.random.default_rng(seed)
    monitor = dl.Monitor(reference, window=3600, bucket=60, clock=lambda: NOW)
    batch = {"x": rng.normal(shift, 1, rows), "city": rng.choice(["a", "b", "c", "new"], rows, p=[0.3, 0.3, 0.3, 0.1])}
    monitor.observe(batch, t=NOW - rng.uniform(0, 3500, rows))
    monitor.observe_latency(rng.exponential(0.01, 200), t=NOW - 30)
    return monitor


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def states(tmp_path: Path) -> tuple[dl.Profile, list[dl.Monitor], list[str], str]:
    reference = profile()
    reference_path = tmp_path / "reference.drift"
    reference.save(reference_path)
    monitors = [worker(reference, seed, shift) for seed, shift in ((1, 0.0), (2, 0.0), (3, 0.8))]
    paths = []
    for i, m in enumerate(monitors):
        path = tmp_path / f"host{i}.drift"
        path.write_bytes(m.to_bytes(embed_profile=(i == 0)))  # the first embeds the profile, the others do not
        paths.append(str(path))
    return reference, monitors, paths, str(reference_path)


def test_merge_equals_monitor_merge_and_report_prints_it(
    tmp_path: Path, states: tuple[dl.Profile, list[dl.Monitor], list[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    reference, monitors, paths, reference_path = states
    out = tmp_path / "all.drift"
    code, _, err = run(capsys, "merge", *paths, "-o", str(out), "--profile", reference_path, "--at", str(NOW))
    assert code == 0, err
    expected = dl.Monitor.from_bytes(monitors[0].to_bytes(), clock=lambda: NOW, profile=reference)
    for m in monitors[1:]:
        expected.merge(m)
    merged = dl.Monitor.from_bytes(out.read_bytes(), clock=lambda: NOW)  # embedded: travels alone
    assert merged.rows == sum(m.rows for m in monitors) == 18_000
    assert merged.report().to_dict() == expected.report().to_dict()
    assert list(tmp_path.glob("*.tmp")) == []

    report_json = tmp_path / "all.json"
    code, text, _ = run(capsys, "report", str(out), "--at", str(NOW), "--json", str(report_json), "--html", str(tmp_path / "all.html"))
    assert expected.report().status == "alert" and code == 2
    assert text.strip() == str(expected.report()).strip()
    got = json.loads(report_json.read_text())
    assert got["rows"] == 18_000 and got["features"]["x"]["psi"] == expected.report().features["x"].psi
    assert "id='timeline'" in (tmp_path / "all.html").read_text(encoding="utf-8")


def test_report_exit_codes_and_last(
    tmp_path: Path, states: tuple[dl.Profile, list[dl.Monitor], list[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    reference, monitors, paths, reference_path = states
    code, _, _ = run(capsys, "report", paths[1], "--profile", reference_path, "--at", str(NOW), "--quiet")
    assert code == {"ok": 0, "warn": 1, "alert": 2}[monitors[1].report().status]
    # Two hours later every row has left the window, and no value came for longer than stale_after: alert.
    code, out, _ = run(capsys, "report", paths[0], "--at", str(NOW + 7_200))
    assert code == 2 and "stale" in out and "6000 rows" not in out
    code, out, _ = run(capsys, "report", paths[0], "--at", str(NOW), "--last", "600", "--quiet")
    assert code == {"ok": 0, "warn": 1, "alert": 2, "insufficient data": 3}[monitors[0].report(600).status]
    assert out == ""


def error_of(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run(capsys, *args)
    assert code == 4, (out, err)
    assert err.startswith("driftline: error: ") and "Traceback" not in err
    return err


def test_errors(
    tmp_path: Path, states: tuple[dl.Profile, list[dl.Monitor], list[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    reference, monitors, paths, reference_path = states
    out = str(tmp_path / "out.drift")
    assert "count its rows twice" in error_of(capsys, "merge", paths[0], paths[1], paths[0], "-o", out, "--profile", reference_path)
    copy = tmp_path / "copy.drift"
    copy.write_bytes(Path(paths[1]).read_bytes())
    assert "same state as" in error_of(capsys, "merge", paths[1], str(copy), "-o", out, "--profile", reference_path)
    assert "pass --profile" in error_of(capsys, "merge", paths[1], paths[2], "-o", out)
    other = tmp_path / "other.drift"
    dl.Profile.from_data({"y": np.arange(500.0)}).save(other)
    assert "profile" in error_of(capsys, "report", paths[1], "--profile", str(other))
    different = tmp_path / "different.drift"
    different.write_bytes(dl.Monitor(profile(), window=600, bucket=60, clock=lambda: NOW).to_bytes())
    assert "window or bucket" in error_of(capsys, "merge", paths[0], str(different), "-o", out)
    assert "no such file" in error_of(capsys, "report", str(tmp_path / "nope.drift"))
    assert "is a directory" in error_of(capsys, "report", str(tmp_path))
    corrupt = tmp_path / "corrupt.drift"
    data = bytearray(Path(paths[0]).read_bytes())
    data[len(data) // 2] ^= 0x40
    corrupt.write_bytes(bytes(data))
    assert "corrupt.drift" in error_of(capsys, "report", str(corrupt))
    assert "not a driftline profile" in error_of(capsys, "report", paths[1], "--profile", paths[0])
    assert "--last" in error_of(capsys, "report", paths[0], "--last", "-1")
    assert "does not exist" in error_of(capsys, "merge", paths[0], "-o", str(tmp_path / "no" / "x.drift"))
    with pytest.raises(SystemExit) as usage:
        cli.main(["report"])
    assert usage.value.code == 4
    assert not Path(out).exists()


def test_prometheus_rules_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reference_path = tmp_path / "reference.drift"
    profile().save(reference_path)
    code, out, err = run(capsys, "prometheus-rules", str(reference_path), "--by", "model")
    assert code == 0, err
    rules = json.loads(out)["groups"][0]["rules"]
    assert {r.get("alert") for r in rules} >= {"DriftlineFeatureDrift", "DriftlineStatusAlert"}
    assert any(r.get("record") == "driftline:feature_psi" for r in rules)
    assert "no such file" in error_of(capsys, "prometheus-rules", str(tmp_path / "nope.drift"))
    assert "duration" in error_of(capsys, "prometheus-rules", str(reference_path), "--for", "soon")
    assert "does not exist" in error_of(capsys, "prometheus-rules", str(reference_path), "-o", str(tmp_path / "no" / "r.yml"))
