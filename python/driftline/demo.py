"""``driftline demo``: a simulated day of a model service, with real incidents, through a Monitor.

It builds a reference profile from generated training data, streams a day of
production traffic (in event time, as fast as this machine allows) through a
Monitor, injects five incidents at known times, asks the Monitor for a report
after every bucket, and prints what it said and when: detection delays, false
alarms and the throughput achieved. The final report is written as JSON.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from .monitor import Monitor
from .policy import Policy
from .profile import Profile
from .report import Report

__all__ = ["Incident", "DemoResult", "run_demo"]

HOUR = 3600.0
COUNTRIES = np.array(["US", "DE", "GB", "FR", "IN", "BR", "JP", "CA"])
COUNTRY_P = np.array([0.35, 0.15, 0.12, 0.1, 0.1, 0.08, 0.05, 0.05])
DEVICES = np.array(["mobile", "desktop", "tablet"])
PLANS = np.array(["free", "pro", "enterprise"])


@dataclass(frozen=True)
class Incident:
    """An injected incident: what, when (seconds into the day), and which report parts may fire for it."""

    name: str
    start: float
    end: float
    description: str
    signals: tuple[str, ...]  # report parts that detect it: feature names, "schema", "latency"


INCIDENTS = (
    Incident("covariate drift", 6 * HOUR, 10 * HOUR, "income drifts upward over two hours, then holds", ("income", "score")),
    Incident("field rename", 11 * HOUR, 12 * HOUR, "upstream renames 'country' to 'country_code'", ("country", "schema")),
    Incident("stale feature", 13 * HOUR, 14.5 * HOUR, "account_age_days stuck at one cached value", ("account_age_days",)),
    Incident("missing burst", 16 * HOUR, 16.5 * HOUR, "40 % of session_length values missing", ("session_length",)),
    Incident("latency spike", 19 * HOUR, 19 * HOUR + 20 * 60, "model latency x8 (a noisy neighbour)", ("latency",)),
)
CLEAN_UNTIL = 6 * HOUR  # no incident before this: any alert here is a false alarm


def _daily_cycle(t: float) -> float:
    """Where the day is, in [-1, 1]: the evening peak of a consumer service at +1, early morning at -1."""
    return math.sin(2 * math.pi * ((t % (24 * HOUR)) / (24 * HOUR) - 0.375))


def _traffic(rng: np.random.Generator, n: int, t0: float, t1: float) -> dict[str, Any]:
    """n requests spread over [t0, t1) seconds of the day, with the daily cycle and the incidents active then.

    The cycle is ordinary traffic, not an incident: in the evening users are
    younger and on mobile more (device mix moves by 15 points, age by 4 years).
    """
    mid = (t0 + t1) / 2
    cycle = _daily_cycle(mid)
    age = np.clip(rng.normal(40 - 4 * cycle, 12, n), 18, 90)
    income = rng.lognormal(10.5, 0.5, n)
    drift = INCIDENTS[0]
    if drift.start <= mid < drift.end:
        income *= 1 + 0.8 * min(1.0, (mid - drift.start) / (2 * HOUR))
    account_age = rng.exponential(400, n)
    stale = INCIDENTS[2]
    if stale.start <= mid < stale.end:
        account_age[:] = 412.0
    session = rng.gamma(2.0, 90.0, n)
    burst = INCIDENTS[3]
    if burst.start <= mid < burst.end:
        session[rng.random(n) < 0.4] = np.nan
    plan = rng.choice(PLANS, n, p=[0.6, 0.3, 0.1])
    items = rng.poisson(3, n).astype(np.float64)
    discount = rng.uniform(0, 0.3, n)
    z = 0.03 * (age - 40) + 0.8 * (np.log(income) - 10.5) + 0.6 * (plan == "pro") + 1.2 * (plan == "enterprise")
    score = 1 / (1 + np.exp(-(z + rng.normal(0, 0.5, n))))
    data: dict[str, Any] = {
        "age": age,
        "income": income,
        "account_age_days": account_age,
        "session_length": session,
        "items": items,
        "discount": discount,
        "device": rng.choice(DEVICES, n, p=[0.6 + 0.15 * cycle, 0.3 - 0.15 * cycle, 0.1]),
        "plan": plan,
        "country": rng.choice(COUNTRIES, n, p=COUNTRY_P),
        "score": score,
    }
    rename = INCIDENTS[1]
    if rename.start <= mid < rename.end:
        data["country_code"] = data.pop("country")
    return data


def _latency(rng: np.random.Generator, n: int, mid: float) -> np.ndarray:
    seconds = rng.lognormal(math.log(0.04), 0.35, n)
    spike = INCIDENTS[4]
    if spike.start <= mid < spike.end:
        seconds *= 8
    return seconds


@dataclass
class DemoResult:
    """What the demo measured: detections, false alarms, throughput, the timeline and the final report."""

    detections: dict[str, Optional[float]]  # incident -> seconds from its start to the first alert (None: missed)
    false_alarms: list[tuple[float, str]]  # (time of day, part) alerting outside every incident it could belong to
    clean_alerts: list[tuple[float, str]]  # parts alerting before the first incident
    timeline: list[tuple[float, str, str, str]]  # (time of day, part, old status, new status)
    rows: int
    observe_seconds: float
    wall_seconds: float
    values: int
    final: Report
    reports: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.observe_seconds if self.observe_seconds else math.nan

    @property
    def values_per_second(self) -> float:
        return self.values / self.observe_seconds if self.observe_seconds else math.nan


def _parts(report: Report) -> dict[str, str]:
    parts: dict[str, str] = {name: f.status for name, f in report.features.items()}
    parts["schema"] = report.schema.status
    parts["latency"] = report.latency.status
    return parts


def _clock_text(t: float) -> str:
    t = t % (24 * HOUR)
    return f"{int(t // HOUR):02d}:{int(t % HOUR // 60):02d}"


def run_demo(
    rate: float = 40.0,
    hours: float = 24.0,
    seed: int = 0,
    batch_seconds: float = 10.0,
    echo: Optional[Callable[[str], None]] = None,
) -> DemoResult:
    """Runs the simulated day; ``rate`` requests per simulated second, one observe per ``batch_seconds``."""
    say = echo or (lambda s: None)
    rng = np.random.default_rng(seed)
    wall0 = time.perf_counter()
    # Clean training data: the week before the day, hour by hour, with its daily
    # cycle; the profile keeps a reference per hour of the day (seasonal), so the
    # cycle is not mistaken for drift.
    chunks = [_traffic(rng, 1_200, -7 * 24 * HOUR + h * HOUR, -7 * 24 * HOUR + (h + 1) * HOUR) for h in range(7 * 24)]
    training = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    timestamps = np.concatenate([-7 * 24 * HOUR + h * HOUR + rng.uniform(0, HOUR, 1_200) for h in range(7 * 24)])
    profile = Profile.from_data(training, timestamps=timestamps, seasonality="hour-of-day")
    say(f"reference profile: {profile} from {len(training['age']):,} training rows, one reference per hour of the day")
    now = [0.0]
    policy = Policy(latency_p99_warn=0.25, latency_p99_alert=0.5)
    monitor = Monitor(profile, window=HOUR, bucket=60.0, policy=policy, clock=lambda: now[0])
    bucket = monitor.bucket
    end = hours * HOUR
    per_batch = max(1, int(round(rate * batch_seconds)))
    state: dict[str, str] = {}
    timeline: list[tuple[float, str, str, str]] = []
    first_alert: dict[str, Optional[float]] = {i.name: None for i in INCIDENTS}
    false_alarms: list[tuple[float, str]] = []
    clean_alerts: list[tuple[float, str]] = []
    rows = values = reports = 0
    observe_seconds = 0.0
    final: Optional[Report] = None
    t = 0.0
    next_report = bucket
    while t < end:
        data = _traffic(rng, per_batch, t, t + batch_seconds)
        latency = _latency(rng, per_batch, t + batch_seconds / 2)
        now[0] = t + batch_seconds / 2
        start = time.perf_counter()
        monitor.observe(data)
        monitor.observe_latency(latency)
        observe_seconds += time.perf_counter() - start
        rows += per_batch
        values += per_batch * len(data) + per_batch
        t += batch_seconds
        if t >= next_report:
            now[0] = t
            report = monitor.report()
            reports += 1
            final = report
            for part, status in _parts(report).items():
                old = state.get(part, "insufficient data")
                if status != old:
                    timeline.append((t, part, old, status))
                    state[part] = status
                    detail = ""
                    if part in report.features and report.features[part].reasons:
                        detail = report.features[part].reasons[0]
                    elif part == "schema" and report.schema.renames:
                        a, b, p = report.schema.renames[0]
                        detail = f"probable rename {a!r} -> {b!r} (PSI {p:.3f})"
                    elif part == "schema" and (report.schema.missing or report.schema.unexpected):
                        detail = f"missing {sorted(report.schema.missing)}, unexpected {sorted(report.schema.unexpected)}"
                    elif part == "latency" and report.latency.reasons:
                        detail = report.latency.reasons[0]
                    if old == "insufficient data" and status == "ok":
                        continue  # warming up, not news
                    say(f"  {_clock_text(t)}  {part:<18} {old:>17} -> {status:<7} {detail}")
                if status != "alert":
                    continue
                owners = [
                    i for i in INCIDENTS if part in i.signals and i.start <= t <= i.end + monitor.window + 2 * bucket
                ]
                for i in owners:
                    if first_alert[i.name] is None and t >= i.start:
                        first_alert[i.name] = t - i.start
                if not owners:
                    false_alarms.append((t, part))
                if t <= CLEAN_UNTIL:
                    clean_alerts.append((t, part))
            next_report += bucket
    assert final is not None
    return DemoResult(
        detections=first_alert,
        false_alarms=false_alarms,
        clean_alerts=clean_alerts,
        timeline=timeline,
        rows=rows,
        observe_seconds=observe_seconds,
        wall_seconds=time.perf_counter() - wall0,
        values=values,
        final=final,
        reports=reports,
    )


def main(rate: float = 40.0, hours: float = 24.0, seed: int = 0, out: str = "driftline-demo-report.json", quiet: bool = False) -> int:
    echo: Callable[[str], None] = (lambda s: None) if quiet else print
    print(f"driftline demo: a simulated {hours:g}-hour day at {rate:g} requests/s, 10 features, 5 injected incidents")
    if not quiet:
        print("timeline (time of day, report part, status change, first reason):")
    result = run_demo(rate=rate, hours=hours, seed=seed, echo=echo)
    print("\nincidents:")
    for i in INCIDENTS:
        if i.start >= hours * HOUR:
            continue
        delay = result.detections[i.name]
        found = "MISSED" if delay is None else f"detected after {delay / 60:.0f} min"
        print(f"  {_clock_text(i.start)}-{_clock_text(i.end)}  {i.name:<16} {found:<22} {i.description}")
    print(f"false alarms: {len(result.false_alarms)}; alerts in the clean stretch (00:00-06:00): {len(result.clean_alerts)}")
    print(
        f"throughput: {result.rows:,} rows ({result.values:,} values) in {result.observe_seconds:.2f} s of observe calls: "
        f"{result.rows_per_second:,.0f} rows/s, {result.values_per_second / 1e6:.1f} M values/s; "
        f"{result.reports} reports; {result.wall_seconds:.1f} s in all"
    )
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result.final.to_dict(), fh, indent=2)
    print(f"final report written to {out}\n")
    print(result.final)
    missed = [i.name for i in INCIDENTS if i.start < hours * HOUR and result.detections[i.name] is None]
    return 1 if missed or result.false_alarms else 0
