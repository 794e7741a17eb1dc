"""Seasonal baselines: daily cycles are not incidents; incidents on a cycle are still caught as fast."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import numpy as np
import pytest

import driftline as dl
from driftline.seasons import Seasonality
from helpers import assert_every_truncation_and_bit_flip_fails

DAY, HOUR, MINUTE = 86400.0, 3600.0, 60.0
START = 1_700_000_000.0 - (1_700_000_000.0 % DAY)  # a midnight UTC (2023-11-14)
COLORS = np.array(["red", "green", "blue"])


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def cycle(t: np.ndarray) -> np.ndarray:
    """The daily cycle in [-1, 1] (peaks in the afternoon)."""
    return np.sin(2 * np.pi * ((t % DAY) / DAY - 0.375))


def traffic(rng: np.random.Generator, t: np.ndarray, seasonal: bool = True) -> dict[str, Any]:
    """Four features following the hour of day: mean shifts of 0.4 sd, category mass moving 20 points."""
    c = cycle(t) if seasonal else np.zeros_like(t)
    n = t.size
    p_red = 0.45 + 0.2 * c
    u = rng.random(n)
    color = np.where(u < p_red, "red", np.where(u < p_red + 0.35, "green", "blue"))
    v = rng.random(n)
    plan = np.where(v < 0.5 - 0.15 * c, "basic", np.where(v < 0.85, "plus", "pro"))
    return {
        "basket": rng.normal(10 + 0.4 * 3 * c, 3, n),
        "queue": rng.normal(5 + 0.3 * 2 * c, 2, n),
        "color": color,
        "plan": plan,
    }


def training(seed: int = 0, rows_per_minute: int = 20, days: int = 7) -> tuple[dict[str, Any], np.ndarray]:
    rng = np.random.default_rng(seed)
    t = START - days * DAY + np.repeat(np.arange(days * 1440) * MINUTE, rows_per_minute) + rng.uniform(0, 60, days * 1440 * rows_per_minute)
    return traffic(rng, t), t


def stream(profile: dl.Profile, days: float, seed: int, seasonal: bool = True, incidents: bool = False,
           every: float = 15 * MINUTE, last: float = 600.0, rows_per_minute: int = 200,
           first_day: float = 0.0) -> list[tuple[float, dl.Report]]:
    """Replays `days` of live traffic from `first_day` on, minute by minute; a report every `every` seconds."""
    rng = np.random.default_rng(seed)
    begin = START + first_day * DAY
    clock = Clock(begin)
    m = dl.Monitor(profile, window=HOUR, bucket=MINUTE, clock=clock)
    reports = []
    for k in range(int(days * 1440)):
        t0 = begin + k * MINUTE
        t = t0 + rng.uniform(0, 60, rows_per_minute)
        batch = traffic(rng, t, seasonal)
        if incidents:
            inject(batch, t0)
        clock.t = t0 + MINUTE - 1e-6
        m.observe(batch, t=t)
        if (k + 1) % int(every / MINUTE) == 0:
            clock.t = t0 + MINUTE
            reports.append((clock.t, m.report(last)))
    return reports


INCIDENT = START + 5 * DAY + 14 * HOUR  # day 6, 14:00


def inject(batch: dict[str, Any], t0: float) -> None:
    """Day 6: 14:00-15:00 basket shifts by 0.5 sd; 16:00-17:00 green loses half its mass; 18:00-19:00 queue is renamed."""
    if INCIDENT <= t0 < INCIDENT + HOUR:
        batch["basket"] = batch["basket"] + 0.5 * 3
    if INCIDENT + 2 * HOUR <= t0 < INCIDENT + 3 * HOUR:
        green = batch["color"] == "green"
        batch["color"] = np.where(green & (np.arange(green.size) % 2 == 0), "red", batch["color"])
    if INCIDENT + 4 * HOUR <= t0 < INCIDENT + 5 * HOUR:
        batch["queue_depth"] = batch.pop("queue")


@pytest.fixture(scope="module")
def profiles() -> dict[str, dl.Profile]:
    data, t = training()
    return {
        "seasonal": dl.Profile.from_data(data, timestamps=t, seasonality="hour-of-day"),
        "static": dl.Profile.from_data(data),
    }


def test_a_week_of_daily_cycles_raises_nothing_with_a_seasonal_profile(profiles: dict[str, dl.Profile]) -> None:
    seasonal = stream(profiles["seasonal"], days=7, seed=1)
    statuses = [r.status for _, r in seasonal]
    assert len(statuses) == 7 * 96 and set(statuses) <= {"ok", "insufficient data"}, [
        (datetime.fromtimestamp(t, timezone.utc), r.reasons) for t, r in seasonal if r.status not in ("ok", "insufficient data")
    ][:5]
    assert statuses.count("ok") >= len(statuses) - 2
    assert {f.reference for _, r in seasonal for f in r.features.values()} == {f"hour-of-day {h}" for h in range(24)}
    # The same traffic against the static profile: the cycle itself warns, every day.
    static = stream(profiles["static"], days=2, seed=1)
    flagged = [t for t, r in static if r.status in ("warn", "alert")]
    assert len(flagged) > 0.2 * len(static)
    assert {int((t - 1 - START) // DAY) for t in flagged} == {0, 1}  # every day


def detection_delays(reports: list[tuple[float, dl.Report]]) -> dict[str, Optional[float]]:
    """Seconds from each incident's start to the first report that flags it."""
    def first(since: float, until: float, hit: Any) -> Optional[float]:
        for t, r in reports:
            if since < t <= until and hit(r):
                return t - since
        return None

    flagged = ("warn", "alert")
    return {
        "shift": first(INCIDENT, INCIDENT + HOUR, lambda r: r.features["basket"].status in flagged),
        "category": first(INCIDENT + 2 * HOUR, INCIDENT + 3 * HOUR, lambda r: r.features["color"].status in flagged),
        "rename": first(INCIDENT + 4 * HOUR, INCIDENT + 5 * HOUR, lambda r: ("queue", "queue_depth") in [x[:2] for x in r.schema.renames]),
    }


def test_incidents_on_a_cycle_are_caught_as_fast_as_without_one(profiles: dict[str, dl.Profile]) -> None:
    """Day 6: a 0.5-sd shift, a category losing half its mass, a rename; reports every minute around them."""
    data, t = training(seed=3, rows_per_minute=20)
    flat = {k: v for k, v in traffic(np.random.default_rng(4), t, seasonal=False).items()}
    flat_profile = dl.Profile.from_data(flat)

    def around(profile: dl.Profile, seasonal: bool) -> dict[str, Optional[float]]:
        return detection_delays(
            stream(profile, days=0.5, seed=5, seasonal=seasonal, incidents=True, every=MINUTE, last=300.0, first_day=5.5)
        )

    on_cycle = around(profiles["seasonal"], seasonal=True)
    no_cycle = around(flat_profile, seasonal=False)
    assert all(v is not None for v in no_cycle.values()), no_cycle
    for kind in on_cycle:
        assert on_cycle[kind] is not None and on_cycle[kind] <= no_cycle[kind], (kind, on_cycle, no_cycle)


@pytest.mark.parametrize("kind", ["hour-of-day", "hour-of-week"])
@pytest.mark.parametrize("offset_hours", [0.0, 5.5, -8.0, 14.0, -14.0, 0.75])
def test_season_slots_are_exact_at_hour_boundaries(kind: str, offset_hours: float) -> None:
    season = Seasonality(kind, utc_offset=offset_hours * HOUR)
    zone = timezone(timedelta(hours=offset_hours))
    rng = np.random.default_rng(int(offset_hours * 4) + 100)
    hours = rng.integers(-500_000, 600_000, 400) * HOUR  # 1913 .. 2038
    times = np.concatenate([hours, hours - 1e-3, hours + 1e-3, hours - 1.0, hours + 0.5, rng.uniform(0, 2e9, 400),
                            [0.0, -1.0, 1.5e9, 1_700_000_000.0 - 0.25]])
    if season.utc_offset % HOUR:  # local hour boundaries are not UTC ones
        times = np.concatenate([times, hours - season.utc_offset, hours - season.utc_offset - 1e-3])
    evaluator = dl.Monitor(dl.Profile.from_data({"x": np.arange(600.0)}, timestamps=np.arange(600.0) * HOUR,
                                                seasonality=kind, utc_offset=season.utc_offset, min_season_rows=1),
                           window=60, bucket=60)._judge._evaluator
    slots = season.slot_of(times)
    for t, slot in zip(times.tolist(), slots.tolist()):
        local = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=math.floor(t))
        local = local.astimezone(zone)
        expected = local.hour if kind == "hour-of-day" else local.weekday() * 24 + local.hour
        assert slot == expected, (t, local)
        assert evaluator.season_of(t) == expected, t
    with pytest.raises(ValueError):
        season.slot_of([math.nan])
    with pytest.raises(ValueError):
        Seasonality(kind, utc_offset=30.0)  # not whole minutes
    with pytest.raises(ValueError):
        Seasonality("day-of-year")


def test_slots_with_too_few_reference_rows_fall_back_to_the_overall_reference() -> None:
    data, t = training(seed=7)
    night = (t % DAY) < 6 * HOUR  # the reference never saw 00:00-06:00
    kept = {k: v[~night] for k, v in data.items()}
    profile = dl.Profile.from_data(kept, timestamps=t[~night], seasonality="hour-of-day", min_season_rows=1000)
    rows = profile.season_rows()
    assert list(rows[:6]) == [0] * 6 and all(rows[6:] > 1000)
    overall = dl.Profile.from_data(kept)
    clock = Clock(START + 3 * HOUR)
    seasonal_monitor = dl.Monitor(profile, window=HOUR, bucket=MINUTE, clock=clock)
    static_monitor = dl.Monitor(overall, window=HOUR, bucket=MINUTE, clock=clock)
    rng = np.random.default_rng(8)
    for k in range(40):
        ts = START + 3 * HOUR - 40 * MINUTE + k * MINUTE + rng.uniform(0, 60, 200)
        batch = traffic(rng, ts)
        seasonal_monitor.observe(batch, t=ts)
        static_monitor.observe(batch, t=ts)
    a, b = seasonal_monitor.report(), static_monitor.report()
    assert {f.reference for f in a.features.values()} == {"overall"}
    for name in profile.names:  # judged exactly as against the overall profile
        assert a.features[name].status == b.features[name].status
        assert a.features[name].psi == b.features[name].psi
    clock.t = START + 12 * HOUR + 30 * MINUTE
    seasonal_monitor.observe(traffic(rng, np.full(200, clock.t - 1.0)), t=clock.t - 1.0)
    assert {f.reference for f in seasonal_monitor.report().features.values()} == {"hour-of-day 12"}


def test_seasonal_profiles_serialize_merge_and_travel_with_monitor_state() -> None:
    data, t = training(seed=9, rows_per_minute=4)
    whole = dl.Profile.from_data(data, timestamps=t, seasonality="hour-of-week", utc_offset=2 * HOUR, min_season_rows=50)
    assert whole.seasonality == Seasonality("hour-of-week", 2 * HOUR, 50)
    blob = whole.to_bytes()
    back = dl.Profile.from_bytes(blob)
    assert back == whole and back.to_bytes() == blob and back.fingerprint == whole.fingerprint
    assert back.season_rows().sum() == t.size
    assert np.array_equal(back.season_counts(5, "color"), whole.season_counts(5, "color"))
    # Built in two pieces (the second like= the first) and merged: the same profile as in one piece.
    half = t.size // 2
    first = dl.Profile.from_data({k: v[:half] for k, v in data.items()}, timestamps=t[:half], seasonality="hour-of-week",
                                 utc_offset=2 * HOUR, min_season_rows=50, like=whole)
    second = dl.Profile.from_data({k: v[half:] for k, v in data.items()}, timestamps=t[half:], seasonality="hour-of-week",
                                  utc_offset=2 * HOUR, min_season_rows=50, like=whole)
    merged = first.merge(second)
    assert np.array_equal(merged.season_rows(), whole.season_rows())
    assert np.array_equal(merged.season_counts(100, "basket"), whole.season_counts(100, "basket"))
    with pytest.raises(ValueError, match="differ"):
        first.merge(dl.Profile.from_data(data, like=whole))  # seasons against none
    # Monitor state refers to (or embeds) the seasonal profile.
    m = dl.Monitor(whole, window=HOUR, bucket=MINUTE, clock=Clock(START))
    m.observe(traffic(np.random.default_rng(1), np.full(300, START - 5.0)), t=START - 5.0)
    clock = Clock(START)
    assert dl.Monitor.from_bytes(m.to_bytes(embed_profile=True), clock=clock).report().to_dict() == m.report().to_dict()
    assert dl.Monitor.from_bytes(m.to_bytes(), clock=clock, profile=back).report().to_dict() == m.report().to_dict()
    # A profile without seasons keeps its version-1 bytes.
    plain = dl.Profile.from_data(data)
    assert plain.seasonality is None and plain.to_bytes()[4:6] == b"\x01\x00" and blob[4:6] == b"\x02\x00"
    with pytest.raises(ValueError, match="no seasons"):
        plain.season_rows()
    with pytest.raises(ValueError, match="timestamps"):
        dl.Profile.from_data(data, seasonality="hour-of-day")
    with pytest.raises(ValueError, match="one timestamp per row"):
        dl.Profile.from_data(data, timestamps=t[:10], seasonality="hour-of-day")


def test_every_truncation_and_bit_flip_of_a_seasonal_profile_raises() -> None:
    rng = np.random.default_rng(10)
    t = START + rng.uniform(0, DAY, 300)
    profile = dl.Profile.from_data({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)}, bins=2,
                                   timestamps=t, seasonality="hour-of-day", min_season_rows=5)
    assert_every_truncation_and_bit_flip_fails(profile.to_bytes(), dl.Profile.from_bytes, dl.DecodeError)


def test_compare_with_timestamps_judges_a_batch_against_its_hours(profiles: dict[str, dl.Profile]) -> None:
    profile = profiles["seasonal"]
    rng = np.random.default_rng(11)
    evening = START + 19 * HOUR + rng.uniform(0, HOUR, 20_000)  # the cycle's peak hour
    batch = traffic(rng, evening)
    seasonal = dl.compare(profile, batch, timestamps=evening)
    assert seasonal.status == "ok" and {f.reference for f in seasonal.features.values()} == {"season mixture"}
    assert dl.compare(profile, batch).status in ("warn", "alert")  # against the overall reference the hour drifts
    # A batch inside one hour is judged against exactly that hour's reference.
    cells = profile.season_counts(19, "color")
    current = np.array([0, *(np.sum(batch["color"] == c) for c in profile["color"].categories), 0, 0], dtype=float)
    f = seasonal.features["color"]
    assert f.psi == pytest.approx(dl.psi(cells[:-1].astype(float), current), rel=1e-12)
    assert f.reference_count == int(cells[:-1].sum())
    assert f.chi2_pvalue == pytest.approx(dl.chi2(cells[:-1].astype(float), current).pvalue, rel=1e-12)
    # Across two hours: the mixture weighted by the batch's rows in each, at the mixture's effective size.
    night = START + 3 * HOUR + rng.uniform(0, HOUR, 5_000)
    both = np.concatenate([evening, night])
    mixed_batch = {k: np.concatenate([v, traffic(rng, night)[k]]) for k, v in batch.items()}
    report = dl.compare(profile, mixed_batch, timestamps=both)
    a, b = profile.season_counts(19, "basket").astype(float), profile.season_counts(3, "basket").astype(float)
    w = np.array([evening.size, night.size]) / both.size
    size = 1 / (w[0] ** 2 / a.sum() + w[1] ** 2 / b.sum())
    expected = (w[0] * a / a.sum() + w[1] * b / b.sum()) * size
    edges = profile["basket"].edges
    v = mixed_batch["basket"]
    cur = np.concatenate([[np.sum(v < edges[0])], np.histogram(v[(v >= edges[0]) & (v < edges[-1])], edges)[0], [np.sum(v >= edges[-1])]])
    assert report.features["basket"].psi == pytest.approx(dl.psi(expected[:-1], cur.astype(float)), rel=1e-12)
    assert report.features["basket"].reference_count == int(expected[:-1].sum())
    with pytest.raises(ValueError, match="seasonal reference"):
        dl.compare(profiles["static"], batch, timestamps=evening)
    with pytest.raises(ValueError, match="one timestamp per current row"):
        dl.compare(profile, batch, timestamps=evening[:10])


def test_the_seasonal_profile_golden_file_decodes() -> None:
    """tests/golden/profile_v2_seasonal.bin (make_golden.py 2): Profile format version 2."""
    from pathlib import Path

    blob = (Path(__file__).parent / "golden" / "profile_v2_seasonal.bin").read_bytes()
    assert blob[4:6] == b"\x02\x00"
    profile = dl.Profile.from_bytes(blob)
    assert profile.seasonality == Seasonality("hour-of-day", 3600.0, 5)
    rows = profile.season_rows()
    assert rows.sum() == 30 and list(np.flatnonzero(rows)) == [1, 2, 3] and list(rows[1:4]) == [10, 10, 10]
    # Local hour 2 is UTC 01:00-02:00: rows 10..19, whose c is b, a, a, b, a, a, b, a, a, b.
    assert profile["c"].categories == ("a", "b") and profile.season_counts(2, "c")[1:3].tolist() == [6, 4]
    assert profile.to_bytes() == blob
