"""The Monitor's per-feature report computed the way driftline 0.1 did, in numpy, from a snapshot of its counts.

An oracle for the core's Evaluator (tests/test_evaluator.py, bench/bench_report.py):
written independently of it, from the rules in driftline.Policy, with numpy
arithmetic and the public drift functions applied to numpy-built cell vectors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import driftline as dl
from driftline.policy import hysteresis

SMOOTHING = 0.5
LEVELS = ("ok", "warn", "alert")


def reference_feature_reports(monitor: dl.Monitor, span: float, now: float) -> dict[str, dict[str, Any]]:
    """Per feature: status, reason kinds and every figure of its FeatureReport (except unseen examples)."""
    core = monitor._core
    snap = core.snapshot(now)
    ends = snap["starts"] + monitor.bucket
    selected = ends > now - span
    completed = ends <= now
    offsets = core.offsets
    last_seen = core.last_seen
    rows = snap["rows"].astype(np.float64)
    counts = snap["counts"].astype(np.float64)
    out = {}
    for i, feature in enumerate(monitor.profile):
        slots = counts[:, offsets[i] : offsets[i] + len(feature.edges) + 2]
        out[feature.name] = _feature(monitor, i, feature, slots, rows, snap, selected, completed, now, last_seen[i], span)
    return out


def _feature(m: dl.Monitor, i: int, feature: Any, slots: np.ndarray, rows: np.ndarray, snap: dict[str, np.ndarray],
             selected: np.ndarray, completed: np.ndarray, now: float, last_seen: float, span: float) -> dict[str, Any]:
    policy = m.policy
    numeric = isinstance(feature, dl.NumericFeature)
    ref = feature.cells()
    ref_n = float(ref.sum())
    ref_total = float(feature.total)
    ref_missing = feature.missing / ref_total if ref_total else 0.0
    ref_mass_cells = int(np.count_nonzero(ref))
    floor_constant = dl.psi_threshold(1.0, 1.0, max(ref_mass_cells, 2), policy.noise_alpha) / 2.0
    other_slot = len(feature.categories) + 1 if not numeric else -1

    def rate_in(c: np.ndarray) -> np.ndarray:
        part = c[..., 0] + c[..., -2] if numeric else c[..., other_slot]
        n = c[..., :-1].sum(axis=-1)
        return np.divide(part, n, out=np.zeros_like(n, dtype=np.float64), where=n > 0)

    ref_rate = float(rate_in(np.append(ref, 0.0)))
    rate_warn, rate_alert = (policy.range_warn, policy.range_alert) if numeric else (policy.unseen_warn, policy.unseen_alert)

    b = slots[completed]
    b_rows = rows[completed]
    b_n = b[:, :-1].sum(axis=1)
    judged = b_rows >= policy.min_count
    drift_ok = b_n >= policy.min_count
    p = (ref + SMOOTHING) / (ref_n + SMOOTHING * ref.size)

    def psi_terms(c: np.ndarray, n: Any) -> np.ndarray:
        q = (c + SMOOTHING) / (n + SMOOTHING * ref.size)
        return (q - p) * np.log(q / p)

    b_psi = psi_terms(b[:, :-1], b_n[:, None]).sum(axis=1)
    b_floor = floor_constant * (1.0 / max(ref_n, 1.0) + 1.0 / np.maximum(b_n, 1.0))
    b_missing = np.divide(b[:, -1], b_rows, out=np.zeros_like(b_rows), where=b_rows > 0)
    b_rate = rate_in(b)
    b_min = snap["minimum"][completed, i]
    b_max = snap["maximum"][completed, i]

    def excess_level(observed: np.ndarray, reference: float, n: np.ndarray, warn: float, alert: float) -> np.ndarray:
        diff = observed - reference
        se = np.sqrt(reference * (1 - reference) / np.maximum(n, 1.0) + reference * (1 - reference) / max(ref_n, 1.0))
        real = diff > 3 * se
        return np.where(real & (diff >= alert), 2, np.where(real & (diff >= warn), 1, 0))

    drift_level = np.where(
        drift_ok & (b_psi >= policy.psi_alert) & (b_psi > b_floor),
        2,
        np.where(drift_ok & (b_psi >= policy.psi_warn) & (b_psi > b_floor), 1, 0),
    )
    missing_level = excess_level(b_missing, ref_missing, b_rows, policy.missing_warn, policy.missing_alert)
    rate_level = np.where(drift_ok, excess_level(b_rate, ref_rate, b_n, rate_warn, rate_alert), 0)
    if numeric:
        b_stuck = drift_ok & (b_min == b_max) & (not feature.constant)
    else:
        b_stuck = drift_ok & (np.count_nonzero(b[:, :-1], axis=1) == 1) & (not feature.constant)
    stuck_level = np.where(b_stuck, 2, 0)
    level = np.maximum.reduce([drift_level, missing_level, rate_level, stuck_level])
    judged_levels = [int(v) for v in level[judged]]
    state = hysteresis(judged_levels, policy.consecutive)

    reasons: list[str] = []
    bucket_figures: dict[str, float] = {}
    if judged_levels:
        j = int(np.flatnonzero(judged)[-1])
        for kind, lv in (("stuck", stuck_level), ("drift", drift_level), ("missing", missing_level), ("rate", rate_level)):
            if lv[j]:
                reasons.append(kind)
        if state > 0 and not reasons:
            reasons.append("held")
        bucket_figures = {"psi": float(b_psi[j]), "floor": float(b_floor[j]), "missing": float(b_missing[j]),
                          "rate": float(b_rate[j])}

    cur_slots = slots[selected].sum(axis=0)
    cur = cur_slots[:-1]
    n_rows = int(rows[selected].sum())
    n = int(cur.sum())
    status = LEVELS[state] if judged_levels else "insufficient data"
    seconds_since = None if last_seen == -math.inf else max(0.0, now - last_seen)
    stale_after = policy.stale_after if policy.stale_after is not None else 5 * m.bucket
    never = seconds_since is None and n_rows >= policy.min_count
    if never or (seconds_since is not None and seconds_since > stale_after):
        status = "alert"
        reasons.append("stale")
    top: list[tuple[int, float, float, float]] = []
    if n >= 1 and ref_n > 0:
        pq = (cur + SMOOTHING) / (n + SMOOTHING * ref.size)
        value_psi = float(((pq - p) * np.log(pq / p)).sum())
        floor = dl.psi_threshold(max(ref_n, 1.0), n, max(ref_mass_cells, 2), policy.noise_alpha)
        rp, cp = ref / ref_n, cur / n
        mid = (rp + cp) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(rp > 0, rp * np.log(rp / mid), 0.0) + np.where(cp > 0, cp * np.log(cp / mid), 0.0)
        js = float(math.sqrt(max(0.0, kl.sum() / 2 / math.log(2))))
        terms = psi_terms(cur, n)
        top = [(int(k), float(ref[k] / ref_n), float(cur[k] / n), float(terms[k])) for k in np.argsort(-terms, kind="stable")[:3] if terms[k] > 0]
    else:
        value_psi = floor = js = math.nan
    ks_stat = ks_bound = None
    if numeric and n >= 1 and ref_n >= 1:
        fr, fc = np.cumsum(ref) / ref_n, np.cumsum(cur) / n
        ks_stat = float(np.max(np.abs(fr - fc)))
        left_r, left_c = np.concatenate(([0.0], fr[:-1])), np.concatenate(([0.0], fc[:-1]))
        ks_bound = float(np.max(np.maximum(fr - left_c, fc - left_r)))
    lo = float(np.min(snap["minimum"][selected, i], initial=math.inf))
    hi = float(np.max(snap["maximum"][selected, i], initial=-math.inf))
    if numeric:
        stuck = n >= policy.min_count and lo == hi and not feature.constant
    else:
        stuck = n >= policy.min_count and int(np.count_nonzero(cur)) == 1 and not feature.constant
    span_rate = float(rate_in(cur_slots)) if n else math.nan
    return {
        "status": status,
        "reasons": reasons,
        "bucket": bucket_figures,
        "rows": n_rows,
        "count": n,
        "reference_count": int(ref_n),
        "psi": value_psi,
        "psi_noise_floor": floor,
        "js_distance": js,
        "ks": ks_stat,
        "ks_bound": ks_bound,
        "missing_rate": float(cur_slots[-1] / n_rows) if n_rows else math.nan,
        "reference_missing_rate": ref_missing,
        "absent": int(snap["absent"][selected, i].sum()),
        "invalid": int(snap["invalid"][selected, i].sum()),
        "rate": span_rate,
        "reference_rate": ref_rate,
        "top": top,
        "seconds_since_value": seconds_since,
        "stuck": bool(stuck),
        "minimum": lo if n and numeric else None,
        "maximum": hi if n and numeric else None,
        "levels": [int(v) if judged[k] else -1 for k, v in enumerate(level)],
    }
