"""The Monitor: every report field against numpy/scipy on the raw values the test generated."""

from __future__ import annotations

import json
import math
import pickle
import threading
from collections.abc import Mapping
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from scipy.spatial.distance import jensenshannon

import driftline as dl
from driftline.policy import hysteresis
from helpers import Clock, assert_every_truncation_and_bit_flip_fails, reseal


def reference_data(n: int = 20000, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    x[rng.random(n) < 0.01] = np.nan
    return {
        "x": x,
        "y": rng.exponential(2.0, n),
        "color": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
    }


def cells(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """[underflow, bins..., overflow] of the non-NaN values, by numpy (half-open last bin)."""
    v = values[~np.isnan(values)]
    inside = v[(v >= edges[0]) & (v < edges[-1])]
    return np.concatenate([[np.sum(v < edges[0])], np.histogram(inside, edges)[0], [np.sum(v >= edges[-1])]]).astype(float)


def psi_numpy(r: np.ndarray, c: np.ndarray) -> float:
    p = (r + 0.5) / (r.sum() + 0.5 * r.size)
    q = (c + 0.5) / (c.sum() + 0.5 * c.size)
    return float(((q - p) * np.log(q / p)).sum())


def test_report_fields_match_independent_computations() -> None:
    ref = reference_data()
    profile = dl.Profile.from_data(ref)
    clock = Clock(1210.0)  # buckets start at multiples of 60 s: observations at 10 s into each
    m = dl.Monitor(profile, window=600, bucket=60, clock=clock)
    rng = np.random.default_rng(1)
    live_x, live_y, live_c, latencies = [], [], [], []
    for step in range(10):
        n = 400
        x = rng.normal(0.4, 1.3, n)
        x[rng.random(n) < 0.05] = np.nan
        y = rng.exponential(2.0, n)
        c = rng.choice(["red", "green", "blue", "purple"], n, p=[0.4, 0.3, 0.2, 0.1])
        lat = rng.lognormal(-3, 0.6, n)
        m.observe({"x": x, "y": y, "color": c})
        m.observe_latency(lat)
        live_x.append(x), live_y.append(y), live_c.append(c), latencies.append(lat)
        clock.t += 60
    last_y_time = clock.t - 60
    clock.t = 1790.0  # the ten buckets [1200, 1800) are the whole window
    r = m.report()
    x, y, c = np.concatenate(live_x), np.concatenate(live_y), np.concatenate(live_c)

    fx = r.features["x"]
    edges = profile["x"].edges
    ref_cells = cells(edges, ref["x"])
    cur_cells = cells(edges, x)
    assert fx.rows == x.size and fx.count == int((~np.isnan(x)).sum())
    assert fx.reference_count == int((~np.isnan(ref["x"])).sum())
    assert fx.psi == pytest.approx(psi_numpy(ref_cells, cur_cells), rel=1e-10)
    k = int(np.count_nonzero(ref_cells))
    floor = scipy.stats.chi2.isf(m.policy.noise_alpha, k - 1) * (1 / ref_cells.sum() + 1 / cur_cells.sum())
    assert fx.psi_noise_floor == pytest.approx(floor, rel=1e-6)
    assert fx.js_distance == pytest.approx(jensenshannon(ref_cells, cur_cells, base=2), rel=1e-9)
    cdf_r = np.cumsum(ref_cells) / ref_cells.sum()
    cdf_c = np.cumsum(cur_cells) / cur_cells.sum()
    assert fx.ks == pytest.approx(np.max(np.abs(cdf_r - cdf_c)), rel=1e-12)
    exact = scipy.stats.ks_2samp(ref["x"][~np.isnan(ref["x"])], x[~np.isnan(x)]).statistic
    assert fx.ks - 1e-12 <= exact <= fx.ks_bound + 1e-12
    assert fx.missing_rate == pytest.approx(np.isnan(x).mean(), rel=1e-12)
    assert fx.reference_missing_rate == pytest.approx(np.isnan(ref["x"]).mean(), rel=1e-12)
    vx = x[~np.isnan(x)]
    assert fx.out_of_range_rate == pytest.approx(np.mean((vx < edges[0]) | (vx >= edges[-1])), rel=1e-12)
    assert fx.reference_out_of_range_rate == 0.0
    assert (fx.minimum, fx.maximum) == (vx.min(), vx.max())
    p = (ref_cells + 0.5) / (ref_cells.sum() + 0.5 * ref_cells.size)
    q = (cur_cells + 0.5) / (cur_cells.sum() + 0.5 * cur_cells.size)
    terms = (q - p) * np.log(q / p)
    assert [t.psi for t in fx.top_contributors] == pytest.approx(sorted(terms, reverse=True)[:3], rel=1e-10)
    assert fx.top_contributors[0].current == pytest.approx(cur_cells[np.argmax(terms)] / cur_cells.sum())
    assert fx.seconds_since_value == pytest.approx(clock.t - last_y_time)
    # The status: each completed bucket's level from its own PSI and noise floor, then hysteresis.
    levels = []
    for b in live_x[:-1]:  # the last bucket is still open
        cb = cells(edges, b)
        value = psi_numpy(ref_cells, cb)
        floor_b = scipy.stats.chi2.isf(m.policy.noise_alpha, k - 1) * (1 / ref_cells.sum() + 1 / cb.sum())
        levels.append(2 if value >= 0.25 and value > floor_b else 1 if value >= 0.1 and value > floor_b else 0)
    assert fx.status == ["ok", "warn", "alert"][hysteresis(levels, 3)] != "ok"
    assert any("drift" in s for s in fx.reasons)

    fc = r.features["color"]
    cats = profile["color"].categories
    ref_c = np.array([0] + [np.sum(ref["color"] == k) for k in cats] + [0, 0], dtype=float)
    cur_c = np.array([0] + [np.sum(c == k) for k in cats] + [np.sum(~np.isin(c, cats)), 0], dtype=float)
    assert fc.psi == pytest.approx(psi_numpy(ref_c, cur_c), rel=1e-10)
    assert fc.unseen_rate == pytest.approx(np.mean(c == "purple"))
    assert fc.reference_other_rate == 0.0
    assert fc.unseen_examples == ("purple",)
    assert fc.ks is None and fc.out_of_range_rate is None

    fy = r.features["y"]
    assert fy.status == "ok" and fy.psi < fy.psi_noise_floor * 3
    all_lat = np.concatenate(latencies)
    for q_, got in [(0.5, r.latency.p50), (0.9, r.latency.p90), (0.99, r.latency.p99), (0.999, r.latency.p999)]:
        assert got == pytest.approx(np.quantile(all_lat, q_, method="lower"), rel=0.01)
    assert r.latency.max == all_lat.max() and r.latency.count == all_lat.size
    assert r.status == "alert"
    assert r.rows == x.size

    # A shorter span sees only the buckets that end inside it.
    short = m.report(last=100)  # buckets ending after 1690: the last two
    assert short.features["x"].rows == 400 * 2
    assert short.features["x"].psi == pytest.approx(
        psi_numpy(ref_cells, cells(edges, np.concatenate(live_x[-2:]))), rel=1e-10
    )


def test_report_renders_as_dict_frame_and_text() -> None:
    profile = dl.Profile.from_data(reference_data(2000))
    clock = Clock(100.0)
    m = dl.Monitor(profile, window=120, bucket=60, clock=clock)
    m.observe({"x": [np.nan] * 5, "y": [1.0] * 5, "color": ["red"] * 5})
    r = m.report()
    text = json.dumps(r.to_dict(), allow_nan=False)
    assert '"status": "insufficient data"' in text
    frame = r.to_frame()
    assert list(frame.index) == ["x", "y", "color"] and {"psi", "status", "missing_rate"} <= set(frame.columns)
    s = str(r)
    assert "INSUFFICIENT DATA" in s and "color" in s


def feed(monitor: dl.Monitor, rows: list[dict[str, Any]], shape: str, names: list[str]) -> None:
    if shape == "dict rows":
        for row in rows:
            monitor.observe(row)
    elif shape == "list rows":
        for row in rows:
            monitor.observe([row[k] for k in names])
    elif shape == "array rows":
        for row in rows:
            monitor.observe(np.array([row[k] for k in names], dtype=object))
    elif shape == "mapping rows":
        for row in rows:
            monitor.observe(_ReadOnly(row))
    elif shape == "columns":
        monitor.observe({k: [row[k] for row in rows] for k in names})
    elif shape == "numpy columns":
        monitor.observe({k: np.array([row[k] for row in rows]) for k in names})
    elif shape == "dataframe":
        monitor.observe(pd.DataFrame(rows, columns=names))
    elif shape == "mapping columns":
        monitor.observe(_ReadOnly({k: [row[k] for row in rows] for k in names}))
    elif shape == "categorical dataframe":
        frame = pd.DataFrame(rows, columns=names)
        frame["color"] = frame["color"].astype("category")
        monitor.observe(frame)
    elif shape == "series columns":
        frame = pd.DataFrame(rows, columns=names)
        monitor.observe({k: frame[k] for k in names})


class _ReadOnly(Mapping):
    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d

    def __getitem__(self, k: str) -> Any:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


SHAPES = [
    "dict rows", "list rows", "array rows", "mapping rows", "columns", "numpy columns", "dataframe", "mapping columns",
    "categorical dataframe", "series columns",
]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_input_shape_counts_the_same(shape: str) -> None:
    ref = reference_data(3000)
    profile = dl.Profile.from_data(ref)
    names = profile.names
    rng = np.random.default_rng(2)
    rows = [
        {"x": float(rng.normal()), "y": float(rng.exponential()), "color": str(rng.choice(["red", "blue", "mauve"]))}
        for _ in range(300)
    ]
    rows[3]["x"] = float("nan")
    rows[4]["y"] = math.inf
    expected = dl.Monitor(profile, clock=Clock(50.0))
    feed(expected, rows, "dict rows", names)
    got = dl.Monitor(profile, clock=Clock(50.0))
    feed(got, rows, shape, names)
    assert got._core.to_bytes() == expected._core.to_bytes()
    assert got.report().features["color"].unseen_examples == ("mauve",)


@pytest.mark.parametrize("order", ["C", "F"])
def test_numeric_2d_arrays_and_1d_rows(order: str) -> None:
    rng = np.random.default_rng(3)
    ref = {"a": rng.normal(size=2000), "b": rng.uniform(size=2000)}
    profile = dl.Profile.from_data(ref)
    data = np.asarray(rng.normal(size=(500, 2)), order=order)
    a = dl.Monitor(profile, clock=Clock(10.0))
    a.observe(data)
    b = dl.Monitor(profile, clock=Clock(10.0))
    for row in data:
        b.observe(row)
    c = dl.Monitor(profile, clock=Clock(10.0))
    c.observe({"a": data[:, 0], "b": data[:, 1]})
    assert a._core.to_bytes() == b._core.to_bytes() == c._core.to_bytes()


def test_surprising_values_are_counted_never_raised() -> None:
    profile = dl.Profile.from_data(reference_data(3000))
    clock = Clock(100.0)
    m = dl.Monitor(profile, window=120, bucket=60, clock=clock)
    m.observe({"x": None, "y": "12.5", "color": ["not", "hashable"]})  # missing, invalid text, a list (its str())
    m.observe({"x": float("inf"), "color": None, "extra": 7})  # y absent, unexpected field
    m.observe({"x": np.float32(0.5), "y": np.int64(3), "color": np.str_("teal")})
    m.observe({"x": True, "y": b"bytes", "color": 3.5})
    m.observe({})
    m.observe({"x": [1.0, None, "x"], "y": [1, 2, 3], "color": ["red", None, "teal"]})  # columns with oddities
    r = m.report()
    fx, fy, fc = r.features["x"], r.features["y"], r.features["color"]
    assert fx.rows == fy.rows == fc.rows == 8
    assert fx.absent == 1 and fx.invalid == 1 and fx.missing_rate == pytest.approx(4 / 8)  # None, absent, "x", None
    assert fy.absent == 2 and fy.invalid == 2 and fy.missing_rate == pytest.approx(4 / 8)
    # the Profile's rule: a value that is no str/number/bool is its str(), an unseen category here
    assert fc.absent == 1 and fc.invalid == 0 and fc.missing_rate == pytest.approx(3 / 8)
    assert set(fc.unseen_examples) == {"teal", 3.5, "['not', 'hashable']"}
    assert fc.unseen_rate == pytest.approx(4 / 5)  # the list, teal, 3.5, teal of those and red
    assert fx.out_of_range_rate == pytest.approx(1 / 4)  # inf of inf, 0.5, 1.0 (True), 1.0
    assert r.schema.unexpected == {"extra": 1}
    assert m.rows == 8
    # Timestamps outside the ring are counted, not silently dropped (and do not wipe it).
    m.observe({"x": [1.0, 2.0], "y": [1.0, 2.0], "color": ["red", "red"]}, t=clock.t * 1000)  # milliseconds by mistake
    m.observe({"x": 1.0, "y": 1.0, "color": "red"}, t=clock.t - 10_000)
    r = m.report()
    assert (r.future, r.late, m.rows) == (2, 1, 11)
    assert r.features["x"].rows == 8


def test_bad_shapes_and_configuration_raise() -> None:
    profile = dl.Profile.from_data({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 2.0]})
    m = dl.Monitor(profile, clock=Clock(1.0))
    for bad, error in [
        (np.ones(3), ValueError),
        (np.ones((2, 3)), ValueError),
        (np.ones((2, 2, 2)), ValueError),
        ([1.0], ValueError),
        (42, TypeError),
        ("a,b", TypeError),
        ({"a": [1.0, 2.0], "b": [1.0]}, ValueError),
    ]:
        with pytest.raises(error):
            m.observe(bad)
    with pytest.raises(ValueError, match="holds 2 values, expected 3"):
        m.observe({"a": [1.0, 2.0, 3.0], "b": np.ones(2)})
    with pytest.raises(TypeError, match="sequence of values"):
        m.observe({"a": [1.0, 2.0], "b": "ab"})
    with pytest.raises(ValueError, match="NaN"):
        m.observe({"a": 1.0}, t=float("nan"))
    assert m.rows == 0
    with pytest.raises(TypeError):
        dl.Monitor({"a": 1})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole number"):
        dl.Monitor(profile, window=100, bucket=30)
    with pytest.raises(ValueError):
        dl.Monitor(profile, window=10, bucket=0)
    with pytest.raises(ValueError):
        dl.Policy(psi_warn=0.3, psi_alert=0.2)
    with pytest.raises(ValueError):
        dl.Policy(min_count=0)
    with pytest.raises(ValueError, match="non-negative"):
        m.report(last=-1)


def test_hysteresis_rule() -> None:
    assert hysteresis([2, 2], 3) == 0
    assert hysteresis([2, 2, 2], 3) == 2
    assert hysteresis([2, 2, 2, 0, 0], 3) == 2
    assert hysteresis([2, 2, 2, 0, 0, 0], 3) == 0
    assert hysteresis([2, 2, 2, 1, 1, 1], 3) == 1
    assert hysteresis([1, 2, 2], 3) == 1
    assert hysteresis([0, 2, 0, 2, 0, 2], 1) == 2
    assert hysteresis([2, 0, 2, 0, 2, 0], 2) == 0


def drive(profile: dl.Profile, policy: dl.Policy, shifts: list[float], n: int = 500, seed: int = 4) -> list[dl.Report]:
    """One bucket per entry of ``shifts`` (x shifted by it), a report after each."""
    rng = np.random.default_rng(seed)
    clock = Clock(0.0)
    m = dl.Monitor(profile, window=3600, bucket=60, policy=policy, clock=clock)
    out = []
    for shift in shifts:
        clock.t += 30
        m.observe({"x": rng.normal(shift, 1, n), "y": rng.exponential(2.0, n)})
        clock.t += 30
        out.append(m.report())
    return out


@pytest.fixture(scope="module")
def xy_profile() -> dl.Profile:
    rng = np.random.default_rng(9)
    return dl.Profile.from_data({"x": rng.normal(0, 1, 50000), "y": rng.exponential(2.0, 50000)})


def test_policy_thresholds(xy_profile: dl.Profile) -> None:
    policy = dl.Policy(consecutive=1)
    # PSI of a mean shift d in N(0,1) is about d^2: 0.45 -> ~0.2 (warn), 0.8 -> ~0.64 (alert).
    assert [r.features["x"].status for r in drive(xy_profile, policy, [0, 0.45, 0.8, 0], n=4000)] == [
        "ok", "warn", "alert", "ok"
    ]
    strict = dl.Policy(consecutive=1, psi_warn=0.5, psi_alert=0.9)
    assert drive(xy_profile, strict, [0.45], n=4000)[0].features["x"].status == "ok"


def test_policy_noise_floor(xy_profile: dl.Profile) -> None:
    # Tiny buckets from the reference itself: their PSI exceeds a tiny threshold by noise alone.
    reports = drive(xy_profile, dl.Policy(consecutive=1, psi_warn=0.001, psi_alert=0.002, min_count=20), [0] * 8, n=40)
    assert all(r.features["x"].status == "ok" for r in reports)
    assert all(r.features["x"].psi > 0.002 for r in reports)
    no_floor = dl.Policy(consecutive=1, psi_warn=0.001, psi_alert=0.002, min_count=20, noise_alpha=0.999999)
    assert any(r.features["x"].status != "ok" for r in drive(xy_profile, no_floor, [0] * 8, n=40))


def test_policy_minimum_count(xy_profile: dl.Profile) -> None:
    policy = dl.Policy(consecutive=1, min_count=600)
    reports = drive(xy_profile, policy, [2.0, 2.0], n=500)
    assert [r.features["x"].status for r in reports] == ["insufficient data"] * 2
    assert reports[-1].status == "insufficient data"
    assert drive(xy_profile, policy, [2.0], n=700)[0].features["x"].status == "alert"


def test_policy_hysteresis_in_the_monitor(xy_profile: dl.Profile) -> None:
    shifts = [0, 2, 2, 2, 0, 0, 0, 2, 0]
    statuses = [r.features["x"].status for r in drive(xy_profile, dl.Policy(consecutive=3), shifts)]
    assert statuses == ["ok", "ok", "ok", "alert", "alert", "alert", "ok", "ok", "ok"]
    held = drive(xy_profile, dl.Policy(consecutive=3), shifts)[4].features["x"]
    assert any("hysteresis" in s for s in held.reasons)


def test_missing_and_out_of_range_levels(xy_profile: dl.Profile) -> None:
    rng = np.random.default_rng(6)
    clock = Clock(0.0)
    m = dl.Monitor(xy_profile, window=600, bucket=60, policy=dl.Policy(consecutive=1), clock=clock)
    x = rng.normal(0, 1, 1000)
    x[:300] = np.nan  # 30 % missing
    y = rng.exponential(2.0, 1000)
    y[:100] = 1e6  # 10 % above the reference range
    clock.t = 30
    m.observe({"x": x, "y": y})
    clock.t = 60
    r = m.report()
    assert r.features["x"].status == "alert" and "missing values" in r.features["x"].reasons[0]
    # 10 % beyond the reference range: an out-of-range warning, and (the overflow cell held no
    # reference mass) a PSI far above the alert threshold.
    fy = r.features["y"]
    assert fy.out_of_range_rate == pytest.approx(0.1)
    assert fy.status == "alert" and any("out of range: 10.0%" in s for s in fy.reasons)
    assert any("drift" in s for s in fy.reasons)


def test_staleness_and_stuck(xy_profile: dl.Profile) -> None:
    clock = Clock(0.0)
    m = dl.Monitor(xy_profile, window=600, bucket=60, policy=dl.Policy(consecutive=1, stale_after=120), clock=clock)
    rng = np.random.default_rng(8)
    clock.t = 30
    m.observe({"x": rng.normal(size=500), "y": np.full(500, 1.25)})  # y stuck at one value
    clock.t = 60
    r = m.report()
    assert r.features["y"].stuck and r.features["y"].status == "alert"
    assert r.features["y"].reasons[0].startswith("stuck")
    assert not r.features["x"].stuck
    for step in range(4):  # x keeps flowing as missing; no value for 4 minutes
        clock.t += 60
        m.observe({"x": [None] * 10, "y": rng.exponential(2.0, 10)})
    r = m.report()
    assert r.features["x"].seconds_since_value == pytest.approx(clock.t - 30)
    assert r.features["x"].status == "alert" and any(s.startswith("stale") for s in r.features["x"].reasons)
    assert r.features["y"].seconds_since_value == 0.0  # y had values just now


def test_rename_detection() -> None:
    rng = np.random.default_rng(10)
    ref = {
        "amount": rng.lognormal(3, 1, 20000),
        "age": rng.normal(40, 10, 20000),
        "tier": rng.choice(["gold", "silver", "bronze"], 20000, p=[0.2, 0.3, 0.5]),
    }
    profile = dl.Profile.from_data(ref)
    clock = Clock(0.0)
    m = dl.Monitor(profile, window=600, bucket=60, clock=clock)
    for _ in range(3):
        clock.t += 60
        n = 1000
        m.observe(
            {
                "amount_usd": rng.lognormal(3, 1, n),  # amount, renamed
                "age": rng.normal(40, 10, n),
                "level": rng.choice(["gold", "silver", "bronze"], n, p=[0.2, 0.3, 0.5]),  # tier, renamed
                "noise": rng.uniform(0, 1e6, n),  # an unrelated new field
            }
        )
    r = m.report()
    assert set(r.schema.missing) == {"amount", "tier"}
    assert r.schema.unexpected == {"amount_usd": 3000, "level": 3000, "noise": 3000}
    assert {(a, b) for a, b, _ in r.schema.renames} == {("amount", "amount_usd"), ("tier", "level")}
    assert r.schema.status == "alert" and r.features["amount"].missing_rate == 1.0


def test_latency_context_manager_and_decorator() -> None:
    profile = dl.Profile.from_data({"a": [1.0, 2.0]})
    m = dl.Monitor(profile)
    with m.time():
        pass

    @m.time()
    def handler(v: int) -> int:
        return v + 1

    assert handler(1) == 2 and handler(2) == 3
    m.observe_latency(0.25)
    m.observe_latency([0.5, 0.75])
    lat = m.report().latency
    assert lat.count == 6 and lat.max == 0.75 and 0 < lat.p50 < 0.01


def test_merging_two_monitors_equals_one_that_saw_everything() -> None:
    profile = dl.Profile.from_data(reference_data(5000))
    rng = np.random.default_rng(12)
    clocks = [Clock(0.0) for _ in range(3)]
    one, a, b = (dl.Monitor(profile, window=300, bucket=60, clock=c) for c in clocks)
    for step in range(40):
        t = step * 15.0
        for c in clocks:
            c.t = t
        n = int(rng.integers(1, 60))
        batch = {
            "x": rng.normal(0.3, 1, n),
            "y": rng.exponential(2.0, n),
            "color": rng.choice(["red", "blue", "olive"], n),
            **({"surprise": rng.normal(size=n)} if step % 7 == 0 else {}),
        }
        target = a if rng.random() < 0.5 else b
        ts = t - rng.uniform(0, 100)  # out of order, inside the ring
        one.observe(batch, t=ts)
        target.observe(batch, t=ts)
        lat = rng.lognormal(-3, 1, n)
        one.observe_latency(lat)
        target.observe_latency(lat)
    for c in clocks:
        c.t = 600.0
    merged = dl.Monitor.from_bytes(a.to_bytes(), clock=clocks[1], profile=profile).merge(
        dl.Monitor.from_bytes(b.to_bytes(embed_profile=True), clock=clocks[2])
    )
    assert merged.report().to_dict() == one.report().to_dict()
    assert merged._core.to_bytes() == one._core.to_bytes()
    with pytest.raises(ValueError, match="different profiles"):
        merged.merge(dl.Monitor(dl.Profile.from_data(reference_data(100)), window=300, bucket=60))


def test_bytes_round_trip_and_pickle() -> None:
    profile = dl.Profile.from_data(reference_data(2000))
    clock = Clock(100.0)
    m = dl.Monitor(profile, window=120, bucket=60, clock=clock)
    m.observe({"x": 1.0, "y": 2.0, "color": "taupe", "new": "field"})
    m.observe_latency(0.1)
    blob = m.to_bytes()  # the profile referred to by fingerprint
    alone = m.to_bytes(embed_profile=True)
    assert len(alone) > len(blob) + len(profile.to_bytes())
    for back in (dl.Monitor.from_bytes(blob, clock=clock, profile=profile), dl.Monitor.from_bytes(alone, clock=clock)):
        assert back.to_bytes() == blob and back.to_bytes(embed_profile=True) == alone
        assert back.report().to_dict() == m.report().to_dict()
    assert pickle.loads(pickle.dumps(m)).to_bytes() == blob
    with pytest.raises(dl.ProfileMismatchError, match="pass it as"):
        dl.Monitor.from_bytes(blob)
    other = dl.Profile.from_data(reference_data(2000, seed=5))
    for data in (blob, alone):
        with pytest.raises(dl.ProfileMismatchError, match="not the one"):
            dl.Monitor.from_bytes(data, profile=other)
    odd = dl.Monitor(profile, window=0.3, bucket=0.1, clock=clock)  # 3 * 0.1 != 0.3 in binary
    assert dl.Monitor.from_bytes(odd.to_bytes(), profile=profile).window == 0.3


def test_every_truncation_and_bit_flip_raises_decode_error() -> None:
    profile = dl.Profile.from_data({"c": ["a", "b"]})
    clock = Clock(100.0)
    m = dl.Monitor(profile, window=60, bucket=60, clock=clock)
    m.observe({"c": "z", "extra": "v"})
    decoders = [
        (False, lambda d, **kw: dl.Monitor.from_bytes(d, profile=profile, **kw)),
        (True, dl.Monitor.from_bytes),
    ]
    for embedded, decode in decoders:
        blob = m.to_bytes(embed_profile=embedded)
        assert_every_truncation_and_bit_flip_fails(blob, decode, dl.DecodeError)
        rng = np.random.default_rng(13)
        for _ in range(2000):
            data = bytearray(blob)
            i = int(rng.integers(16, len(data) - 4))
            data[i] = int(rng.integers(0, 256))
            try:
                back = decode(reseal(bytes(data)), clock=clock)
            except dl.DecodeError:
                continue
            back.report()
            again = back.to_bytes(embed_profile=embedded)
            assert decode(again).to_bytes() == back.to_bytes()


def test_threads_observe_exactly() -> None:
    profile = dl.Profile.from_data(reference_data(2000))
    m = dl.Monitor(profile)
    rows = [{"x": 0.1 * i, "y": 1.0, "color": "red"} for i in range(2000)]

    def work() -> None:
        for row in rows:
            m.observe(row)
        m.observe({"x": np.zeros(1000), "y": np.ones(1000), "color": ["blue"] * 1000})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert m.rows == 8 * 3000
    assert m.report().features["color"].rows == 8 * 3000


def test_golden_files_of_version_1_still_decode() -> None:
    from pathlib import Path

    golden = Path(__file__).parent / "golden"
    profile = dl.Profile.from_bytes((golden / "profile_v1.bin").read_bytes())
    # Written by tests/golden/make_golden.py (write_monitor).
    assert profile.names == ["x", "c", "flag"]
    assert profile["c"].categories == ("a", "b") and profile["c"].missing == 1
    assert profile["flag"].categories == (True, False)
    assert profile["x"].count == 4 and profile["x"].missing == 1
    m = dl.Monitor.from_bytes((golden / "monitor_v1.bin").read_bytes(), clock=Clock(100.0))
    assert m.profile == profile and m.rows == 3
    r = m.report()
    assert r.features["x"].rows == 3 and r.features["x"].missing_rate == pytest.approx(1 / 3)
    assert r.features["c"].unseen_examples == ("z",)
    assert r.schema.unexpected == {"extra": 1}
    assert r.latency.count == 1 and r.latency.max == 0.25


def test_reference_other_share_and_latency_policy() -> None:
    rng = np.random.default_rng(14)
    ref = {"c": rng.choice(["a", "b", "z"], 10000, p=[0.6, 0.3, 0.1])}
    profile = dl.Profile.from_data(ref, max_categories=2)  # "z" becomes "other"
    assert profile["c"].categories == ("a", "b")
    clock = Clock(0.0)
    policy = dl.Policy(consecutive=1, latency_p99_warn=0.1, latency_p99_alert=0.5)
    m = dl.Monitor(profile, window=300, bucket=60, policy=policy, clock=clock)
    live = rng.choice(["a", "b", "z"], 3000, p=[0.6, 0.3, 0.1])
    latencies = [rng.uniform(0.001, 0.05, 500), rng.uniform(0.001, 0.3, 500), rng.uniform(0.4, 0.9, 500)]
    for k in range(3):
        clock.t = 60 * k + 30
        m.observe({"c": live[1000 * k : 1000 * (k + 1)]})
        m.observe_latency(latencies[k])
    clock.t = 180
    r = m.report()
    fc = r.features["c"]
    assert fc.reference_other_rate == pytest.approx(np.mean(ref["c"] == "z"))
    assert fc.unseen_rate == pytest.approx(np.mean(live == "z"))
    assert fc.unseen_examples == ("z",) and fc.status == "ok"  # as common as in the reference
    p99s = [np.quantile(x, 0.99, method="lower") for x in latencies]
    assert p99s[0] < 0.1 <= p99s[1] < 0.5 <= p99s[2]
    assert r.latency.status == "alert" and "p99" in r.latency.reasons[0]
    m2 = dl.Monitor(profile, window=300, bucket=60, policy=policy, clock=clock)
    for k in range(2):
        clock.t = 60 * k + 30
        m2.observe_latency(latencies[k])
    clock.t = 120
    assert m2.report().latency.status == "warn"


def _replay_rows() -> tuple[dl.Profile, dict[str, Any], np.ndarray]:
    rng = np.random.default_rng(40)
    profile = dl.Profile.from_data(reference_data(5000))
    n = 400
    x = rng.normal(0.3, 1, n)
    x[rng.random(n) < 0.05] = np.nan
    batch = {
        "x": x,
        "y": rng.exponential(2.0, n),
        "color": list(rng.choice(["red", "green", "blue"], n)),
        "extra": rng.normal(size=n),  # an unexpected field
    }
    batch["color"][7] = "purple"  # unseen categories, fewer than the per-call cap
    batch["color"][300] = "teal"
    # Unsorted event times around the clock: late (before the ring), future (in ms), and in between.
    t = 10_000.0 - rng.uniform(0, 550, n)
    t[::50] = 10_000.0 - 5000.0
    t[3::97] = 10_000.0 * 1000
    return profile, batch, t


@pytest.mark.parametrize("order", ["unsorted", "sorted"])
@pytest.mark.parametrize("shape", ["columns", "dataframe"])
def test_per_row_timestamps_replay_equals_rows_one_by_one(order: str, shape: str) -> None:
    profile, batch, t = _replay_rows()
    if order == "sorted":
        keep = np.argsort(t, kind="stable")
        batch = {k: [v[i] for i in keep] if isinstance(v, list) else v[keep] for k, v in batch.items()}
        t = t[keep]
    clock = Clock(10_000.0)
    one_by_one = dl.Monitor(profile, window=600, bucket=60, clock=clock)
    for i in range(len(t)):
        one_by_one.observe({k: v[i] for k, v in batch.items()}, t=float(t[i]))
    replayed = dl.Monitor(profile, window=600, bucket=60, clock=clock)
    data: Any = batch
    if shape == "dataframe":
        pd = pytest.importorskip("pandas")
        data = pd.DataFrame(batch)
    replayed.observe(data, t=t)
    assert replayed.to_bytes() == one_by_one.to_bytes()
    assert (replayed.rows, replayed.late, replayed.future) == (len(t), 7, 5)  # t[100] is both
    assert replayed.report().features["color"].unseen_examples == one_by_one.report().features["color"].unseen_examples


def test_per_row_timestamps_on_the_numeric_array_path() -> None:
    rng = np.random.default_rng(41)
    profile = dl.Profile.from_data({"a": rng.normal(size=2000), "b": rng.uniform(size=2000)})
    rows = rng.normal(size=(300, 2))
    rows[5, 1] = np.nan
    t = 5000.0 - rng.uniform(0, 700, 300)
    clock = Clock(5000.0)
    one_by_one = dl.Monitor(profile, window=600, bucket=60, clock=clock)
    for row, ti in zip(rows, t):
        one_by_one.observe(row, t=ti)
    wide = np.zeros((300, 4))
    wide[:, ::2] = rows
    for batch in (rows, np.asfortranarray(rows), wide[:, ::2]):  # C order, Fortran order, a strided view
        replayed = dl.Monitor(profile, window=600, bucket=60, clock=clock)
        replayed.observe(batch, t=t)
        assert replayed.to_bytes() == one_by_one.to_bytes()


def test_bad_per_row_timestamps_change_nothing() -> None:
    profile, batch, t = _replay_rows()
    m = dl.Monitor(profile, window=600, bucket=60, clock=Clock(10_000.0))
    before = m.to_bytes()
    bad_nan = t.copy()
    bad_nan[200] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.observe(batch, t=bad_nan)
    with pytest.raises(ValueError, match="399 timestamps for 400 rows"):
        m.observe(batch, t=t[:-1])
    with pytest.raises(ValueError, match="single row"):
        m.observe({"x": 1.0, "y": 2.0, "color": "red"}, t=t[:1])
    with pytest.raises(TypeError, match="t must be numeric"):
        m.observe(batch, t=np.array(["1"] * 400))
    with pytest.raises(ValueError, match="t must be 1-D"):
        m.observe(batch, t=t.reshape(20, 20))
    assert m.to_bytes() == before
