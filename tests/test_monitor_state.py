"""Monitor state format 2: golden files of every version, the profile fingerprint, compact counts, hostile blobs."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.stats

import driftline as dl
from driftline import _core
from helpers import Clock, assert_every_truncation_and_bit_flip_fails, reseal

GOLDEN = Path(__file__).parent / "golden"


def golden_profile() -> dl.Profile:
    return dl.Profile.from_bytes((GOLDEN / "profile_v1.bin").read_bytes())


def without_ks_pvalue(report: dict[str, Any]) -> dict[str, Any]:
    return {**report, "features": {k: {**f, "ks_pvalue": None} for k, f in report["features"].items()}}


def test_version_1_golden_gives_the_report_driftline_0_1_gave() -> None:
    """tests/golden/monitor_v1_report.json was written by driftline 0.1 from monitor_v1.bin at t = 100."""
    expected = json.loads((GOLDEN / "monitor_v1_report.json").read_text())
    m = dl.Monitor.from_bytes((GOLDEN / "monitor_v1.bin").read_bytes(), clock=Clock(100.0))
    for last, old in expected.items():
        new = json.loads(json.dumps(m.report(None if last == "None" else float(last)).to_dict()))
        for f in new["features"].values():  # a field added since (seasonal profiles)
            assert f.pop("reference") == "overall"
            assert f.pop("distribution") is None  # only Monitor.report(detail=True) fills it
        # Fields added since (the report accounts for every row it does not show).
        hidden = new.pop("before_span") + new.pop("expired")
        assert new.pop("timeline") is None
        assert new["rows"] + hidden + new["late"] + new["future"] == m.rows
        # Every figure is as before except the binned KS p-value, which now comes
        # from Kolmogorov's limiting distribution (constant cost) instead of kstwo.
        assert without_ks_pvalue(new) == without_ks_pvalue(old)
        for name, f in new["features"].items():
            if f["ks"] is not None:
                en = f["reference_count"] * f["count"] / (f["reference_count"] + f["count"])
                assert f["ks_pvalue"] == pytest.approx(scipy.stats.kstwobign.sf(math.sqrt(en) * f["ks"]), rel=1e-12)


def test_version_2_golden_files_decode_to_the_same_state() -> None:
    profile = golden_profile()
    v1 = dl.Monitor.from_bytes((GOLDEN / "monitor_v1.bin").read_bytes(), clock=Clock(100.0))
    compact = (GOLDEN / "monitor_v2.bin").read_bytes()
    embedded = (GOLDEN / "monitor_v2_embedded.bin").read_bytes()
    for m in (dl.Monitor.from_bytes(compact, clock=Clock(100.0), profile=profile),
              dl.Monitor.from_bytes(embedded, clock=Clock(100.0))):
        assert m.report().to_dict() == v1.report().to_dict()
        # Re-encoded, the latency window is now of Window version 2 (it keeps expired
        # latencies from now on); all else is byte-identical, and stable from there.
        again = m.to_bytes()
        assert m._core.to_bytes() == v1._core.to_bytes()  # the feature window: as written
        assert dl.Monitor.from_bytes(again, clock=Clock(100.0), profile=profile).to_bytes() == again
        assert m._latency.keeps_expired
    assert v1.to_bytes() == dl.Monitor.from_bytes(compact, clock=Clock(100.0), profile=profile).to_bytes()
    window = (GOLDEN / "feature_window_v2.bin").read_bytes()
    assert _core.FeatureWindow(window).to_bytes() == window == v1._core.to_bytes()


def test_the_profile_is_checked_by_fingerprint() -> None:
    profile = golden_profile()
    compact = (GOLDEN / "monitor_v2.bin").read_bytes()
    assert bytes.fromhex(profile.fingerprint) in compact and profile.to_bytes() not in compact
    with pytest.raises(dl.ProfileMismatchError, match="pass it as"):
        dl.Monitor.from_bytes(compact)
    other = dl.Profile.from_data({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"], "flag": [True, False, True, True]}, bins=2)
    with pytest.raises(dl.ProfileMismatchError, match="not the one"):
        dl.Monitor.from_bytes(compact, profile=other)
    with pytest.raises(dl.ProfileMismatchError, match="not the one"):
        dl.Monitor.from_bytes((GOLDEN / "monitor_v1.bin").read_bytes(), profile=other)
    # A profile that changes after the Monitor was built does not change the Monitor.
    grown = golden_profile()
    m = dl.Monitor(grown, window=120, bucket=60, clock=Clock(100.0))
    fingerprint = m.profile.fingerprint
    grown.merge(golden_profile())
    assert grown.fingerprint != fingerprint == m.profile.fingerprint
    assert dl.Monitor.from_bytes(m.to_bytes(), profile=golden_profile()).rows == 0
    with pytest.raises(dl.ProfileMismatchError):
        dl.Monitor.from_bytes(m.to_bytes(), profile=grown)


def test_every_truncation_and_bit_flip_of_version_2_files_raises() -> None:
    profile = golden_profile()
    compact = (GOLDEN / "monitor_v2.bin").read_bytes()
    assert_every_truncation_and_bit_flip_fails(compact, lambda d: dl.Monitor.from_bytes(d, profile=profile), dl.DecodeError)
    window = (GOLDEN / "feature_window_v2.bin").read_bytes()
    assert_every_truncation_and_bit_flip_fails(window, _core.FeatureWindow, dl.DecodeError)
    rng = np.random.default_rng(21)
    for _ in range(3000):  # resealed single-byte changes reach the payload checks
        data = bytearray(window)
        data[int(rng.integers(16, len(data) - 4))] = int(rng.integers(0, 256))
        try:
            back = _core.FeatureWindow(reseal(bytes(data)))
        except dl.DecodeError:
            continue
        assert _core.FeatureWindow(back.to_bytes()).to_bytes() == back.to_bytes()


def feature_window_v2(features: int, bins: int, length: int, slots: bytes) -> bytes:
    """A hand-made FeatureWindow version 2 blob (see feature_window.hpp) with empty-ring counters."""
    payload = struct.pack("<II", features, 0) + struct.pack("<d", -math.inf) * features
    payload += (struct.pack("<I", bins) + struct.pack(f"<{bins + 1}d", *np.arange(bins + 1.0))) * features
    payload += struct.pack("<Idq4Q", length, 60.0, 1000, 0, 0, 0, 0) + slots
    return _core.seal(5, payload)


def test_forged_sizes_are_refused_before_allocating() -> None:
    # 65,536 features x 2^20 slots would need terabytes; the blob is a few MB.
    blob = feature_window_v2(1 << 16, 1, 1 << 20, bytes((1 << 20) + 1))
    with pytest.raises(dl.DecodeError, match="would need .* bytes of memory"):
        _core.FeatureWindow(blob)
    # More slots than bytes left; a run of zeros past the feature's slots; an overlong varint.
    with pytest.raises(dl.DecodeError, match="window slots"):
        _core.FeatureWindow(feature_window_v2(1, 1, 1000, bytes(10)))
    empty = bytes(1000)
    with pytest.raises(dl.DecodeError, match="run of zero"):
        _core.FeatureWindow(feature_window_v2(1, 1, 999, b"\x05\x00\x09" + empty[3:]))
    with pytest.raises(dl.DecodeError, match="overlong"):
        _core.FeatureWindow(feature_window_v2(1, 1, 999, b"\x80\x00" + empty[2:]))
    with pytest.raises(dl.DecodeError, match="64 bits"):
        _core.FeatureWindow(feature_window_v2(1, 1, 999, b"\xff" * 10 + b"\x01" + empty[11:]))
    # A consistent hand-made blob decodes (so the cases above fail for their own reason).
    ok = _core.FeatureWindow(feature_window_v2(1, 1, 999, empty))
    assert ok.length == 999 and ok.total == 0


def test_compact_state_is_small_and_exact() -> None:
    rng = np.random.default_rng(22)
    ref = rng.normal(size=(5000, 50))
    profile = dl.Profile.from_data(ref, names=[f"f{j}" for j in range(50)])
    clock = Clock(3600.0 * 10)
    m = dl.Monitor(profile, window=3600, bucket=60, clock=clock)
    for k in range(60):
        m.observe(rng.normal(size=(1000, 50)), t=clock.t - 3600 + 60 * k + 1)
    state = m.to_bytes()
    old_style_slot = 50 * (11 * 8 + 4 + 13 * 8 + 32)  # version 1 wrote every edge and 8-byte count in every slot
    assert len(state) < 61 * old_style_slot / 4
    back = dl.Monitor.from_bytes(state, profile=profile, clock=clock)
    assert back.report().to_dict() == m.report().to_dict() and back._core.to_bytes() == m._core.to_bytes()
    # An idle monitor's state is little more than its axes: empty slots cost a byte.
    idle = dl.Monitor(profile, window=3600, bucket=60, clock=clock)
    assert len(idle._core.to_bytes()) < 50 * (4 + 11 * 8) + 61 + 500


def test_tracked_unexpected_fields_count_the_same_in_the_encoder_and_in_python() -> None:
    """Plain numbers of a tracked unexpected field are counted by the row encoder; everything else by Python."""
    profile = dl.Profile.from_data({"x": np.arange(100.0), "c": ["a", "b"] * 50}, categorical=["c"])
    clock = Clock(1000.0)
    rows: list[dict[str, Any]] = []
    values: list[Any] = [1.5, 2, -3, True, None, math.nan, np.float64(4.0), 10**400, "text", b"bytes", math.inf, 7]
    for i in range(240):
        rows.append({"x": float(i), "c": "a", "renamed": values[i % len(values)], **({"other": i} if i % 3 else {})})
    by_row = dl.Monitor(profile, window=120, bucket=60, clock=clock)
    by_column = dl.Monitor(profile, window=120, bucket=60, clock=clock)
    for i, row in enumerate(rows):
        clock.t = 1000.0 + i * 0.25
        by_row.observe(row)
    for i, row in enumerate(rows):  # the Python trackers alone: one column batch per row
        clock.t = 1000.0 + i * 0.25
        by_column.observe({k: [v] for k, v in row.items()})
    for name in ("renamed", "other"):
        a, b = by_row._trackers.fields[name], by_column._trackers.fields[name]
        assert a.window.to_bytes() == b.window.to_bytes(), name
        assert a.text == b.text and a.other == b.other
    assert by_row.report().schema == by_column.report().schema
    assert by_row.report().schema.unexpected == {"renamed": 240, "other": 160}
