"""`driftline bench`: the installed command runs, its JSON is complete and sane, the sizing arithmetic is exact."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import driftline as dl
from driftline._sizing import format_sizing, sizing
from driftline.bench import Figure, rows_like, synthetic_profile


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "driftline", "bench", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    done = run_cli("--quick", "--features", "20", "--categorical", "2", "--rate", "400", "--workers", "4",
                   "--json", str(out))
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text()), done.stdout


def test_quick_json_has_every_figure_positive_finite_and_ordered(quick_run: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    data, _ = quick_run
    figures = data["figures"]
    expected = {"observe_row_array", "observe_row_dict", "latency_timer", "observe_batch_per_row", "report",
                "to_bytes", "from_bytes", "merge", "state_bytes", "scrape", "rss_per_monitor"}
    assert expected <= set(figures)
    for name, f in figures.items():
        assert all(math.isfinite(x) for x in f["runs"]), name
        assert f["min"] <= f["median"] <= f["max"], name
        if name != "rss_per_monitor":  # resident memory can be served from pages freed earlier
            assert f["min"] > 0, name
    assert len(figures["observe_row_dict"]["runs"]) == data["config"]["repeats"] == 5
    # A batch amortizes the per-call overhead: its per-row cost is below one call's.
    assert figures["observe_batch_per_row"]["median"] < figures["observe_row_dict"]["median"]
    # report() judges every bucket of 20 features: more than one row's observe.
    assert figures["report"]["median"] * 1e6 > figures["observe_row_dict"]["median"]
    assert data["config"]["features"] == 20 and data["config"]["numeric"] == 18
    assert data["machine"]["cores"] >= 1 and data["machine"]["driftline"] == dl.__version__


def test_quick_sizing_follows_from_the_figures(quick_run: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    data, stdout = quick_run
    s = data["sizing"]
    cost = data["figures"]["observe_row_dict"]["median"] + data["figures"]["latency_timer"]["median"]
    assert s["rate_per_worker"] == 100.0
    assert s["cpu_share_per_worker"]["median"] == pytest.approx(100.0 * cost / 1e9)
    assert s["cpu_share_per_host"]["median"] == pytest.approx(4 * s["cpu_share_per_worker"]["median"])
    assert s["smallest_bucket_per_worker"] == {"needed_seconds": 1.0, "suggested_seconds": 1.0}
    assert "Sizing at 400 requests/s on 4 worker(s)" in stdout and "Smallest bucket with 100 rows" in stdout


def figures(observe_ns: float = 2000.0, timer_ns: float = 500.0) -> dict[str, Figure]:
    return {
        "observe_row_dict": Figure("ns", [observe_ns, observe_ns * 1.5], "dict"),
        "latency_timer": Figure("ns", [timer_ns], "timer"),
        "state_bytes": Figure("bytes", [1000.0], "state"),
        "rss_per_monitor": Figure("bytes", [3 * 2**20], "rss"),
        "scrape": Figure("ms", [15.0], "scrape"),
    }


def test_sizing_arithmetic_and_bucket_suggestions() -> None:
    s = sizing(figures(), rate=30.0, workers=3, window=3600, bucket=60, min_count=100, scrape_interval=15)
    # 10 requests/s per worker x (2.5 µs observe, the median of 2 and 3 µs, + 0.5 µs timer).
    assert s["request_cost_ns"] == {"median": 3000.0, "min": 2500.0, "max": 3500.0}
    assert s["cpu_share_per_worker"]["median"] == pytest.approx(10 * 3000e-9)
    assert s["memory_per_host_bytes"] == 9 * 2**20 and s["state_per_host_bytes"] == 3000
    assert s["scrape_cpu_share"] == pytest.approx(0.015 / 15)
    # 100 rows at 10/s need 10 s per worker (10 divides 3600); at 30/s per host 3.33 s -> 5 s.
    assert s["smallest_bucket_per_worker"] == {"needed_seconds": 10.0, "suggested_seconds": 10.0}
    assert s["smallest_bucket_per_host"]["suggested_seconds"] == 5.0
    # No usual bucket divides a 7 s window; a rate too low for the window gets none either.
    assert sizing(figures(), 1.0, 1, 7, 7, 100, 15)["smallest_bucket_per_worker"]["suggested_seconds"] is None
    text = format_sizing(sizing(figures(), 0.5, 1, 3600, 60, 100, 15))
    assert "fewer than min_count rows" in text and "200 s -> 300 s" in text


def test_rows_like_draws_from_the_reference_cells() -> None:
    p = synthetic_profile(6, 2)
    cols = rows_like(p, 20_000)
    m = dl.Monitor(p, clock=lambda: 100.0)
    m.observe(cols, t=100.0)
    r = m.report()
    assert all(f.psi < 0.01 and not f.unseen_rate and (f.out_of_range_rate or 0) < 0.01 for f in r.features.values())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rate", "0"], "--rate"),
        (["--workers", "0"], "--workers"),
        (["--window", "100", "--bucket", "30"], "whole number"),
        (["--features", "3", "--categorical", "4"], "--categorical"),
        (["--profile", "/nonexistent/p.drift"], "No such file"),
        (["--json", "/nonexistent/dir/out.json"], "does not exist"),
    ],
)
def test_bad_arguments_are_refused_before_measuring(args: list[str], message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""


def test_a_saved_profile_is_measured_as_given(tmp_path: Path) -> None:
    path = tmp_path / "p.drift"
    synthetic_profile(4, 0).save(path)
    out = tmp_path / "b.json"
    done = run_cli("--profile", str(path), "--quick", "--repeats", "1", "--json", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["config"]["features"] == 4 and len(data["figures"]["report"]["runs"]) == 1
    # A numeric profile's array row is a float64 array (the one-call path).
    assert "float64" in data["figures"]["observe_row_array"]["help"]
    garbage = tmp_path / "bad.drift"
    garbage.write_bytes(b"not a profile")
    done = run_cli("--profile", str(garbage))
    assert done.returncode == 2 and "bad.drift" in done.stderr
