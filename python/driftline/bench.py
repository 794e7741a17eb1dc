"""``driftline bench``: what a Monitor costs on this machine, with this profile.

Measures, each figure repeated (median, minimum and maximum over the runs):
one-row ``observe`` (a 1-D array and a dict), batch ``observe`` per row, the
latency timer, ``report()``, one Prometheus scrape (when prometheus_client is
installed), ``to_bytes``/``from_bytes``/``merge`` and a Monitor's memory (its
state's size and the process's resident-memory growth per Monitor). Rows are
drawn from the profile's own reference distribution, so the bins they hit are
the bins real traffic hits. :mod:`driftline._sizing` turns the figures into a
sizing table. Nothing beyond numpy is needed.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ._core import active_simd
from .monitor import Monitor
from .policy import Policy
from .profile import CategoricalFeature, Profile

__all__ = ["BenchConfig", "Figure", "run_bench", "synthetic_profile", "rows_like"]


@dataclass
class Figure:
    """One measured quantity over repeated runs."""

    unit: str
    runs: list[float]
    help: str

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "median": self.median, "min": min(self.runs), "max": max(self.runs),
                "runs": self.runs, "help": self.help}


@dataclass
class BenchConfig:
    window: float = 3600.0
    bucket: float = 60.0
    quick: bool = False
    repeats: int = field(default=0)  # 0: 3 for quick, 7 otherwise

    def __post_init__(self) -> None:
        if self.repeats == 0:
            self.repeats = 5 if self.quick else 7
        if self.repeats < 1:
            raise ValueError(f"repeats must be positive, got {self.repeats}")

    @property
    def row_calls(self) -> int:
        """One-row calls per run."""
        return 5_000 if self.quick else 20_000

    @property
    def batch_rows(self) -> int:
        return 50_000 if self.quick else 100_000


def synthetic_profile(features: int = 50, categorical: int = 5, seed: int = 0) -> Profile:
    """A profile of ``features`` fields (``categorical`` of them with 8 categories), from seeded random data."""
    if features < 1 or not 0 <= categorical <= features:
        raise ValueError(f"need features >= 1 and 0 <= categorical <= features, got {features}, {categorical}")
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for j in range(features - categorical):
        data[f"num_{j:03d}"] = rng.normal(j % 5, 1 + j % 3, 20_000)
    letters = np.array([f"cat_{k}" for k in range(8)], dtype=object)
    for j in range(categorical):
        data[f"cat_{j:03d}"] = letters[rng.zipf(1.6, 20_000) % 8]
    return Profile.from_data(data)


def rows_like(profile: Profile, n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """``n`` rows drawn from the profile's reference distribution, as columns (numeric float64, categories object)."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for feature in profile:
        cells = feature.cells()
        if isinstance(feature, CategoricalFeature):
            seen = cells[1 : 1 + len(feature.categories)]  # cells: [underflow, one per category..., other]
            weights = seen / seen.sum() if seen.sum() > 0 else None
            choice = rng.choice(len(feature.categories), n, p=weights)
            columns[feature.name] = np.array(feature.categories, dtype=object)[choice]
        else:
            edges = feature.edges
            inner = cells[1:-1]
            if len(edges) < 2 or inner.sum() == 0:
                columns[feature.name] = np.full(n, float(edges[0]) if len(edges) else 0.0)
                continue
            bins = rng.choice(len(inner), n, p=inner / inner.sum())
            columns[feature.name] = edges[bins] + rng.random(n) * (edges[bins + 1] - edges[bins])
    return columns


def _rss_bytes() -> Optional[int]:
    """The process's resident set size (Linux /proc), or None where it cannot be read."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _per_call(run: Callable[[], Any], calls: int, repeats: int) -> list[float]:
    """Nanoseconds per call of ``run`` (which makes ``calls`` calls), one figure per repeat, after one warm-up."""
    run()
    out = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        run()
        out.append((time.perf_counter_ns() - start) / calls)
    return out


class _Bench:
    """The measurements of one profile and geometry; each method returns its Figures."""

    def __init__(self, profile: Profile, config: BenchConfig, policy: Policy) -> None:
        self.profile = profile
        self.config = config
        self.policy = policy
        self.now = 1_000_000.0
        n = config.row_calls
        columns = rows_like(profile, max(n, config.batch_rows))
        names = profile.names
        self.batch = {k: v[: config.batch_rows] for k, v in columns.items()}
        # Each row's values made together, as a JSON parser makes them (made column by
        # column, one row's floats would lie far apart and every field would miss the cache).
        categorical = [k for k in names if isinstance(profile[k], CategoricalFeature)]
        numeric = [k for k in names if k not in categorical]
        floats = np.column_stack([columns[k][:n] for k in numeric]) if numeric else np.empty((n, 0))
        self.dict_rows = []
        for i in range(n):
            row = dict(zip(numeric, floats[i].tolist()))
            row.update((k, columns[k][i]) for k in categorical)
            self.dict_rows.append({k: row[k] for k in names})
        if categorical:
            self.array_rows = [np.array(list(row.values()), dtype=object) for row in self.dict_rows]
        else:
            self.array_rows = list(floats)

    def monitor(self) -> Monitor:
        return Monitor(self.profile, window=self.config.window, bucket=self.config.bucket, policy=self.policy,
                       clock=time.time)

    def filled(self, seed: int = 0) -> Monitor:
        """A Monitor with traffic in every bucket of its window (the state a running service has)."""
        m = self.monitor()
        length = int(round(self.config.window / self.config.bucket))
        per_bucket = max(1, min(max(self.policy.min_count, 200), 1_000_000 // length))
        start = time.time() - self.config.window
        rng = np.random.default_rng(seed)
        pick = rng.integers(0, self.config.batch_rows, per_bucket * length)
        times = np.repeat(start + (np.arange(length) + 0.5) * self.config.bucket, per_bucket)
        m.observe({k: v[pick] for k, v in self.batch.items()}, t=times)
        m.observe_latency(rng.lognormal(-4.0, 0.5, 1000))
        return m

    def rows(self) -> dict[str, Figure]:
        calls, repeats = self.config.row_calls, self.config.repeats

        def loop(rows: list[Any]) -> Callable[[], None]:
            def run() -> None:
                observe = self.monitor().observe
                for row in rows:
                    observe(row)

            return run

        def timer() -> None:
            time_block = self.monitor().time
            for _ in range(calls):
                with time_block():
                    pass

        kind = "float64" if self.array_rows[0].dtype == np.float64 else "object"
        return {
            "observe_row_array": Figure("ns", _per_call(loop(self.array_rows), calls, repeats),
                                        f"observe() of one row as a 1-D {kind} array, per call"),
            "observe_row_dict": Figure("ns", _per_call(loop(self.dict_rows), calls, repeats),
                                       "observe() of one row as a dict, per call"),
            "latency_timer": Figure("ns", _per_call(timer, calls, repeats),
                                    "`with monitor.time():` around an empty block, per use"),
        }

    def batch_observe(self) -> dict[str, Figure]:
        n = self.config.batch_rows
        runs = _per_call(lambda: self.monitor().observe(self.batch), n, self.config.repeats)
        return {"observe_batch_per_row": Figure("ns", runs, f"observe() of a {n:,}-row batch (dict of columns), per row")}

    def reads(self) -> dict[str, Figure]:
        repeats = self.config.repeats
        m = self.filled()
        other = self.filled(seed=1)
        blob = m.to_bytes()
        out = {
            "report": Figure("ms", [x / 1e6 for x in _per_call(m.report, 1, repeats)],
                             "report() over the whole window, every bucket holding traffic"),
            "to_bytes": Figure("ms", [x / 1e6 for x in _per_call(m.to_bytes, 1, repeats)], "to_bytes() of that state"),
            "from_bytes": Figure(
                "ms", [x / 1e6 for x in _per_call(lambda: Monitor.from_bytes(blob, profile=self.profile), 1, repeats)],
                "Monitor.from_bytes() of it (profile given)"),
            "merge": Figure("ms", [x / 1e6 for x in _per_call(lambda: m.merge(other), 1, repeats)],
                            "merge() of another worker's full state"),
            "state_bytes": Figure("bytes", [float(len(blob))], "size of to_bytes() (the profile by fingerprint)"),
        }
        scrape = _scrape_runs(m, repeats)
        if scrape is not None:
            out["scrape"] = Figure("ms", scrape, "one Prometheus scrape (prometheus_client generate_latest)")
        return out

    def memory(self) -> dict[str, Figure]:
        """Resident-memory growth per Monitor, and the documented size of its counts.

        Each run adds ``count`` filled Monitors and keeps every one alive, so
        later runs cannot be served from memory an earlier run freed.
        """
        length = int(round(self.config.window / self.config.bucket))
        cells = sum(len(f.edges) - 1 + 7 for f in self.profile)
        out = {"counts_bytes": Figure("bytes", [float((length + 1) * cells * 8)],
                                      "memory of one Monitor's counts, by the documented formula")}
        count = 8 if self.config.quick else 16
        kept: list[Monitor] = []
        runs = []
        for _ in range(min(self.config.repeats, 5)):
            gc.collect()
            before = _rss_bytes()
            if before is None:
                return out
            batch = [self.filled(seed=k) for k in range(count)]
            for m in batch:
                m.report()  # the judge's tables and caches exist in a running service
            kept.extend(batch)
            runs.append((_rss_bytes() - before) / count)  # type: ignore[operator]
        out["rss_per_monitor"] = Figure("bytes", runs, "resident memory added by one filled Monitor, reported once")
        return out


def _scrape_runs(m: Monitor, repeats: int) -> Optional[list[float]]:
    try:
        from prometheus_client import CollectorRegistry, generate_latest

        from .prometheus import MonitorCollector
    except ImportError:
        return None
    registry = CollectorRegistry()
    registry.register(MonitorCollector(m))
    return [x / 1e6 for x in _per_call(lambda: generate_latest(registry), 1, repeats)]


def _driftline_version() -> str:
    from . import __version__

    return __version__


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "driftline": _driftline_version(),
        "simd": active_simd(),
    }


def run_bench(
    profile: Profile,
    config: Optional[BenchConfig] = None,
    policy: Optional[Policy] = None,
    progress: Optional[Callable[[str, int, int], None]] = None,
) -> dict[str, Figure]:
    """Every figure for ``profile`` (see the module docstring); ``progress(step, index, steps)`` is told each step."""
    config = config or BenchConfig()
    policy = policy or Policy()
    bench = _Bench(profile, config, policy)
    steps: list[tuple[str, Callable[[], dict[str, Figure]]]] = [
        ("one-row observe and the latency timer", bench.rows),
        ("batch observe", bench.batch_observe),
        ("report, scrape, state", bench.reads),
        ("memory", bench.memory),
    ]
    figures: dict[str, Figure] = {}
    for index, (label, step) in enumerate(steps):
        if progress is not None:
            progress(label, index, len(steps))
        figures.update(step())
    if progress is not None:
        progress("done", len(steps), len(steps))
    return figures
