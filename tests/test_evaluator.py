"""The core's Evaluator against the numpy reference implementation, on randomized monitors of many features."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.stats

import driftline as dl
from helpers import Clock
from reference_report import reference_feature_reports


REASON_KINDS = {
    "stuck:": "stuck",
    "drift:": "drift",
    "missing values:": "missing",
    "out of range:": "rate",
    "unseen categories:": "rate",
    "held by": "held",
    "stale:": "stale",
}


def reason_kinds(reasons: tuple[str, ...]) -> list[str]:
    return [next(kind for prefix, kind in REASON_KINDS.items() if r.startswith(prefix)) for r in reasons]


def close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == pytest.approx(b, rel=1e-9, abs=1e-15)


def random_monitor(seed: int, numeric: int, categorical: int, policy: dl.Policy) -> tuple[dl.Monitor, Clock]:
    """A monitor after random traffic: drifting, missing, out-of-range, stuck and silent features over 12 buckets."""
    rng = np.random.default_rng(seed)
    n_ref = 3000
    ref: dict[str, Any] = {}
    for j in range(numeric):
        ref[f"x{j}"] = rng.normal(0, 1, n_ref) if j % 5 else rng.integers(0, 3, n_ref).astype(float)
        ref[f"x{j}"][rng.random(n_ref) < 0.02] = np.nan
    for j in range(categorical):
        k = int(rng.integers(2, 7))
        ref[f"c{j}"] = rng.choice([f"v{v}" for v in range(k)], n_ref)
    ref["const"] = np.ones(n_ref)
    profile = dl.Profile.from_data(ref, categorical=[f"c{j}" for j in range(categorical)])
    clock = Clock(10.0)
    m = dl.Monitor(profile, window=720, bucket=60, policy=policy, clock=clock)
    behaviour = {name: rng.choice(["same", "drift", "missing", "range", "stuck", "silent", "late"]) for name in ref}
    for step in range(13):
        n = int(rng.integers(50, 400))
        batch: dict[str, Any] = {}
        for name, col in ref.items():
            kind = behaviour[name]
            if kind == "silent" and step > 4:
                continue  # the field stops arriving: absent, then stale
            if name.startswith("c"):
                values = rng.choice(col, n).astype(object)
                if kind == "drift" and step > 6:
                    values[rng.random(n) < 0.5] = "new"
                if kind == "missing" and step > 3:
                    values[rng.random(n) < 0.4] = None
                if kind == "stuck" and step > 5:
                    values[:] = col[0]
            else:
                values = rng.choice(col, n)
                if kind == "drift" and step > 6:
                    values = values + 1.5
                if kind == "missing" and step > 3:
                    values[rng.random(n) < 0.4] = np.nan
                if kind == "range" and step > 2:
                    values[rng.random(n) < 0.3] = 1e6
                if kind == "stuck" and step > 5:
                    values[:] = 0.25
            batch[name] = values
        t = clock.t - (rng.uniform(0, 200) if behaviour.get("x1") == "late" else 0.0)
        m.observe(batch, t=t)
        clock.t += 60.0
    clock.t -= 30.0
    return m, clock


@pytest.mark.parametrize(
    "seed,numeric,categorical,policy",
    [
        (0, 200, 0, dl.Policy()),
        (1, 30, 20, dl.Policy(min_count=50, consecutive=2)),
        (2, 12, 12, dl.Policy(min_count=20, consecutive=1, psi_warn=0.02, psi_alert=0.05)),
        (3, 5, 40, dl.Policy(min_count=30, consecutive=3, stale_after=100.0)),
    ],
)
def test_every_figure_equals_the_numpy_reference(seed: int, numeric: int, categorical: int, policy: dl.Policy) -> None:
    m, clock = random_monitor(seed, numeric, categorical, policy)
    for span in (720.0, 150.0, 0.0):
        expected = reference_feature_reports(m, span, clock.t)
        report = m.report(last=span)
        arrays = m._judge.evaluate(m._core, span, clock.t)
        statuses = set()
        for i, (name, e) in enumerate(expected.items()):
            f = report.features[name]
            statuses.add(f.status)
            assert f.status == e["status"], name
            assert reason_kinds(f.reasons) == e["reasons"], (name, f.reasons)
            assert list(arrays["levels"][i]) == e["levels"], name
            for key in ("rows", "count", "reference_count", "absent", "invalid", "stuck"):
                assert getattr(f, key) == e[key], (name, key)
            for key in ("psi", "psi_noise_floor", "js_distance", "missing_rate", "reference_missing_rate",
                        "ks", "ks_bound", "seconds_since_value", "minimum", "maximum"):
                assert close(getattr(f, key), e[key]), (name, key, getattr(f, key), e[key])
            if e["ks"] is None:
                assert f.ks_pvalue is None
            else:
                en = f.reference_count * f.count / (f.reference_count + f.count)
                assert close(f.ks_pvalue, float(scipy.stats.kstwobign.sf(np.sqrt(en) * e["ks"]))), name
            rate = f.out_of_range_rate if f.kind == "numeric" else f.unseen_rate
            ref_rate = f.reference_out_of_range_rate if f.kind == "numeric" else f.reference_other_rate
            assert close(rate, e["rate"]) and close(ref_rate, e["reference_rate"]), name
            labels = m.profile[name].labels()
            assert [c.cell for c in f.top_contributors] == [labels[k] for k, *_ in e["top"]], name
            for c, (_, rp, cp, term) in zip(f.top_contributors, e["top"]):
                assert close(c.reference, rp) and close(c.current, cp) and close(c.psi, term)
            if e["bucket"] and "drift" in e["reasons"]:
                assert f"{e['bucket']['psi']:.3f}" in next(r for r in f.reasons if r.startswith("drift"))
        if span == 720.0:
            # The randomized traffic reaches every verdict (so the comparison covers each rule).
            assert {"ok", "alert"} <= statuses, statuses


def test_reports_reuse_cached_buckets_and_see_every_change() -> None:
    """A bucket changed after it completed (a late row, a merge) is judged again; one that did not is not."""
    m, clock = random_monitor(4, 20, 5, dl.Policy(min_count=20, consecutive=1))
    first = m.report()
    assert m.report().to_dict() == first.to_dict()  # from the cache
    late = {name: np.full(500, 1e6) if name.startswith("x") else np.full(500, "zzz", dtype=object) for name in m.profile.names}
    m.observe(late, t=clock.t - 200.0)  # into a completed bucket
    expected = reference_feature_reports(m, 720.0, clock.t)
    after = m.report()
    assert after.features["x3"].status == expected["x3"]["status"] != first.features["x3"].status or (
        after.features["x3"].psi != first.features["x3"].psi
    )
    for name, e in expected.items():
        assert after.features[name].status == e["status"]
        assert close(after.features[name].psi, e["psi"])
    other = dl.Monitor(m.profile, window=720, bucket=60, policy=m.policy, clock=clock)
    other.observe(late, t=clock.t - 400.0)
    m.merge(other)
    expected = reference_feature_reports(m, 720.0, clock.t)
    merged = m.report()
    for name, e in expected.items():
        assert merged.features[name].status == e["status"] and close(merged.features[name].psi, e["psi"])


def test_decoded_state_is_judged_afresh() -> None:
    m, clock = random_monitor(5, 10, 3, dl.Policy(min_count=20))
    back = dl.Monitor.from_bytes(m.to_bytes(), policy=m.policy, clock=clock, profile=m.profile)
    assert back.report().to_dict() == m.report().to_dict()
    # Replacing the state under one evaluator (same slot ids and row counts, other contents) is not served from cache.
    fresh = dl.Monitor(m.profile, window=720, bucket=60, policy=m.policy, clock=clock)
    fresh.report()
    fresh._install(back._core, back._latency)  # the trackers (unseen examples) stay fresh's own

    def figures(r: dl.Report) -> dict[str, Any]:
        return {k: {**f, "unseen_examples": None} for k, f in r.to_dict()["features"].items()}

    assert figures(fresh.report()) == figures(m.report())


def test_report_objects_are_complete_dataclasses() -> None:
    """The report's fast construction sets every field, so equality, replace() and asdict() work as for any dataclass."""
    import dataclasses

    m, clock = random_monitor(6, 4, 2, dl.Policy(min_count=20))
    for f in m.report().features.values():
        assert set(vars(f)) == {x.name for x in dataclasses.fields(f)}
        assert dataclasses.replace(f) == f and dataclasses.asdict(f)["name"] == f.name
        for c in f.top_contributors:
            assert set(vars(c)) == {x.name for x in dataclasses.fields(c)} and dataclasses.replace(c) == c
        with pytest.raises(dataclasses.FrozenInstanceError):
            f.psi = 0.0  # type: ignore[misc]
