"""The model service of the server benchmark: a FastAPI app, one Monitor per worker process.

Run by :mod:`driftline.server_bench` under uvicorn (``uvicorn --factory
driftline._server_app:create_app``), configured by environment variables:

- ``DRIFTLINE_BENCH_MODE``: ``off`` (no driftline at all), ``on`` (observe and
  the latency timer on every request, nothing else), ``host`` (as ``on``, with
  the Monitor shared through a :class:`~driftline.host.HostMonitor` on
  ``DRIFTLINE_BENCH_STATS``/host.driftline: its publisher thread runs) or ``measure`` (as ``on``,
  plus the thread CPU time of those calls, read with ``time.thread_time_ns``
  around each one and written, with the same calls' cost in a tight loop in
  this very process, to ``DRIFTLINE_BENCH_STATS``/<pid>.json at shutdown);
- ``DRIFTLINE_BENCH_FEATURES`` / ``DRIFTLINE_BENCH_CATEGORICAL``: the profile's shape.

``POST /sync`` is a plain ``def`` endpoint (FastAPI runs it in its thread
pool), ``POST /async`` an ``async def`` one (run on the event loop); both
score the JSON row with a linear model and observe it.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import threading
import time
from typing import Any, AsyncIterator, Callable

import numpy as np

from .monitor import Monitor
from .profile import Profile

try:
    from fastapi import FastAPI
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError('the server benchmark needs FastAPI and uvicorn: pip install "driftline[server-bench]"') from e

__all__ = ["create_app", "bench_profile", "bench_rows"]


def bench_profile(features: int, categorical: int, seed: int = 0) -> Profile:
    """A profile of ``features`` fields, the last ``categorical`` of them categorical (5 categories each)."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for j in range(features - categorical):
        data[f"x{j:02d}"] = rng.normal(j % 5, 1 + j % 3, 20_000)
    for j in range(categorical):
        data[f"c{j:02d}"] = rng.choice(["a", "b", "c", "d", "e"], 20_000).astype(object)
    return Profile.from_data(data)


def bench_rows(profile: Profile, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` dict rows like the profile's training data (JSON-ready: floats and strings)."""
    rng = np.random.default_rng(seed)
    names = profile.names
    columns: list[list[Any]] = []
    for j, name in enumerate(names):
        if name.startswith("c"):
            columns.append([str(v) for v in rng.choice(["a", "b", "c", "d", "e"], n)])
        else:
            columns.append(rng.normal(j % 5, 1 + j % 3, n).tolist())
    return [dict(zip(names, values)) for values in zip(*columns)]


# Wall time beyond CPU time within one measured request that marks it as
# interrupted (descheduled, or waiting for the GIL): well above the two CPU
# clock reads' own skew, well below a scheduler time slice.
_PREEMPTED_NS = 5_000


class _CpuMeter:
    """Thread CPU time of the driftline calls, per request (sums and counts; one process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[tuple[int, int, int]] = []  # (observe, timer, empty) per request, the first 100,000
        self.observe_ns = 0
        self.timer_ns = 0
        self.score_ns = 0
        self.empty_ns = 0
        self.requests = 0
        self.interrupted = 0

    def summary(self) -> dict[str, float]:
        """Per-request means (the total cost) and medians (the typical request's) of the measured spans."""
        n = max(self.requests, 1)
        medians = [statistics.median(column) for column in zip(*self.samples)] if self.samples else [0.0] * 3
        return {
            "observe_median_ns": medians[0],
            "timer_median_ns": medians[1],
            "empty_median_ns": medians[2],
            "requests": self.requests,
            "interrupted": self.interrupted,
            "observe_ns": self.observe_ns / n,
            "timer_ns": self.timer_ns / n,
            "score_ns": self.score_ns / n,
            "empty_ns": self.empty_ns / n,
        }


def _measured_request(monitor: Monitor, meter: _CpuMeter, score: Callable[[dict[str, Any]], float]) -> Callable[
    [dict[str, Any]], float
]:
    """One request's work with the driftline calls timed, counted only when the thread ran it uninterrupted.

    The spans are read on the monotonic clock (``perf_counter_ns``: the vDSO,
    no kernel entry), not with ``thread_time_ns``: that is a system call
    (~0.9 us here), and its cold kernel path in a server would be charged to
    the spans it delimits. Thread CPU time is read once around the whole
    request instead: when the request's wall time exceeds its CPU time by
    more than ``_PREEMPTED_NS`` the thread was descheduled or waited for the
    GIL inside it, and the request is counted in ``interrupted``, not in the
    spans. For the rest, wall time in a span is the thread's CPU time.
    """
    wall = time.perf_counter_ns
    cpu = time.thread_time_ns

    def handle(row: dict[str, Any]) -> float:
        cpu_start = cpu()
        start = wall()
        a = wall()
        timer = monitor.time()
        timer.__enter__()
        b = wall()
        value = score(row)
        c = wall()
        monitor.observe(row)
        d = wall()
        timer.__exit__(None, None, None)
        e = wall()
        f = wall()  # an empty span: what one reading pair costs here
        end = wall()
        cpu_end = cpu()
        with meter.lock:  # the sync endpoint runs in a thread pool; outside the measured spans
            if (end - start) - (cpu_end - cpu_start) > _PREEMPTED_NS:
                meter.interrupted += 1
                return value
            meter.observe_ns += d - c
            meter.timer_ns += (b - a) + (e - d)
            meter.score_ns += c - b
            meter.empty_ns += f - e
            if len(meter.samples) < 100_000:
                meter.samples.append((d - c, (b - a) + (e - d), f - e))
            meter.requests += 1
        return value

    return handle


def _tight_loop(profile: Profile, rows: list[dict[str, Any]], score: Callable[[dict[str, Any]], float]) -> dict[str, float]:
    """The same measured calls in a loop, on a Monitor of the same shape, in this process."""
    meter = _CpuMeter()
    handle = _measured_request(Monitor(profile, window=3600, bucket=60), meter, score)
    for row in rows:
        handle(row)
    meter = _CpuMeter()  # the first pass warmed caches and allocators; measure the second
    handle = _measured_request(Monitor(profile, window=3600, bucket=60), meter, score)
    for row in rows:
        handle(row)
    return meter.summary()


def create_app() -> Any:
    """The FastAPI app, configured from the environment (see the module docstring)."""
    mode = os.environ.get("DRIFTLINE_BENCH_MODE", "on")
    if mode not in ("off", "on", "host", "measure"):
        raise ValueError(f"DRIFTLINE_BENCH_MODE must be off, on, host or measure, got {mode!r}")
    features = int(os.environ.get("DRIFTLINE_BENCH_FEATURES", "22"))
    categorical = int(os.environ.get("DRIFTLINE_BENCH_CATEGORICAL", "2"))
    profile = bench_profile(features, categorical)
    numeric = [n for n in profile.names if not n.startswith("c")]
    weights = dict(zip(numeric, np.linspace(-1.0, 1.0, len(numeric)).tolist()))

    def score(row: dict[str, Any]) -> float:
        # A linear model over the numeric fields: the service's own work.
        return sum(w * float(row.get(n, 0.0)) for n, w in weights.items())

    monitor = Monitor(profile, window=3600, bucket=60)
    if mode == "host":
        from .host import HostMonitor

        folder = os.environ.get("DRIFTLINE_BENCH_STATS") or "."
        # Kept referenced for the app's life: its publisher thread runs beside the requests.
        app_host = HostMonitor(monitor, os.path.join(folder, f"host-{features}-{categorical}.driftline"))
    meter = _CpuMeter()
    handle: Callable[[dict[str, Any]], float]
    if mode == "off":
        handle = score
    elif mode in ("on", "host"):

        def observed(row: dict[str, Any]) -> float:
            with monitor.time():
                value = score(row)
                monitor.observe(row)
            return value

        handle = observed

    else:
        handle = _measured_request(monitor, meter, score)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        folder = os.environ.get("DRIFTLINE_BENCH_STATS")
        if mode == "measure" and folder:
            stats = {"server": meter.summary(), "tight_loop": _tight_loop(profile, bench_rows(profile, 5000), score)}
            with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as out:
                json.dump(stats, out)

    app = FastAPI(lifespan=lifespan)
    if mode == "host":
        app.state.host = app_host

    @app.post("/sync")
    def predict_sync(row: dict[str, Any]) -> dict[str, float]:
        return {"score": handle(row)}

    @app.post("/async")
    async def predict_async(row: dict[str, Any]) -> dict[str, float]:
        return {"score": handle(row)}

    return app
