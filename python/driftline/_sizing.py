"""``driftline bench``'s sizing table: its measured figures turned into a deployment's costs.

Assumptions, stated in the table too: each request makes one dict-row
``observe`` and one latency timer use; requests spread evenly over the
workers; every row carries every feature (``min_count`` counts non-missing
values); each worker keeps one Monitor and is scraped on its own.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from .bench import Figure

__all__ = ["sizing", "format_figures", "format_sizing"]

# Bucket lengths people choose (seconds); a suggestion must also divide the window.
_NICE_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _smallest_bucket(min_count: int, rate: float, window: float) -> dict[str, Optional[float]]:
    """The shortest bucket holding ``min_count`` rows at ``rate``, and the shortest usual one that divides ``window``."""
    needed = min_count / rate if rate > 0 else math.inf
    usual = next((b for b in _NICE_BUCKETS if b >= needed and b <= window and _divides(b, window)), None)
    return {"needed_seconds": needed, "suggested_seconds": None if usual is None else float(usual)}


def _divides(bucket: float, window: float) -> bool:
    return abs(round(window / bucket) * bucket - window) <= 1e-9 * window


def sizing(
    figures: dict[str, Figure],
    rate: float,
    workers: int,
    window: float,
    bucket: float,
    min_count: int,
    scrape_interval: float,
) -> dict[str, Any]:
    """The sizing figures as plain data (CPU shares as fractions of one core)."""
    if not rate > 0 or workers < 1 or not scrape_interval > 0:
        raise ValueError("rate and scrape_interval must be positive and workers at least 1")
    per_worker = rate / workers

    def cost(pick: str) -> float:
        """ns per request (one dict observe and one timer) at the median, min or max of the runs."""
        total = 0.0
        for name in ("observe_row_dict", "latency_timer"):
            runs = figures[name].runs
            total += {"median": figures[name].median, "min": min(runs), "max": max(runs)}[pick]
        return total

    out: dict[str, Any] = {
        "rate_per_host": rate,
        "workers": workers,
        "rate_per_worker": per_worker,
        "window": window,
        "bucket": bucket,
        "min_count": min_count,
        "scrape_interval": scrape_interval,
        "request_cost_ns": {k: cost(k) for k in ("median", "min", "max")},
        "cpu_share_per_worker": {k: per_worker * cost(k) / 1e9 for k in ("median", "min", "max")},
        "cpu_share_per_host": {k: rate * cost(k) / 1e9 for k in ("median", "min", "max")},
        "smallest_bucket_per_worker": _smallest_bucket(min_count, per_worker, window),
        "smallest_bucket_per_host": _smallest_bucket(min_count, rate, window),
        "rows_per_bucket_per_worker": per_worker * bucket,
        "rows_per_bucket_per_host": rate * bucket,
    }
    if "rss_per_monitor" in figures:
        rss = figures["rss_per_monitor"].median
        out["memory_per_worker_bytes"] = rss
        out["memory_per_host_bytes"] = rss * workers
    state = figures["state_bytes"].median
    out["state_per_worker_bytes"] = state
    out["state_per_host_bytes"] = state * workers
    if "scrape" in figures:
        out["scrape_ms"] = figures["scrape"].median
        out["scrape_cpu_share"] = figures["scrape"].median / 1e3 / scrape_interval
    return out


def _size(n: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def _duration(value: float, unit: str) -> str:
    ns = value * {"ns": 1.0, "ms": 1e6}[unit]
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def _value(figure: Figure, value: float) -> str:
    if figure.unit == "bytes":
        return _size(value)
    return _duration(value, figure.unit)


def format_figures(figures: dict[str, Figure]) -> str:
    """The measured figures, one per line: median, then min–max over the runs."""
    lines = []
    width = max(len(f.help) for f in figures.values())
    for figure in figures.values():
        spread = "" if len(figure.runs) == 1 else f"  ({_value(figure, min(figure.runs))} – {_value(figure, max(figure.runs))})"
        lines.append(f"  {figure.help:<{width}}  {_value(figure, figure.median):>10}{spread}")
    if "observe_batch_per_row" in figures:
        rows_per_s = 1e9 / figures["observe_batch_per_row"].median
        lines.append(f"  {'batch throughput':<{width}}  {rows_per_s / 1e6:>6.2f} M rows/s")
    return "\n".join(lines)


def _share(share: dict[str, float]) -> str:
    return f"{100 * share['median']:.3g}% of a core ({100 * share['min']:.3g}–{100 * share['max']:.3g}%)"


def _bucket(entry: dict[str, Optional[float]]) -> str:
    needed = entry["needed_seconds"]
    suggested = entry["suggested_seconds"]
    text = f"{needed:.3g} s"  # type: ignore[str-format]
    return text + (f" -> {suggested:g} s" if suggested is not None else " -> none divides the window")


def format_sizing(table: dict[str, Any]) -> str:
    """The sizing table as text."""
    head = (
        f"Sizing at {table['rate_per_host']:g} requests/s on {table['workers']} worker(s) "
        f"({table['rate_per_worker']:g}/s each); window {table['window']:g} s, bucket {table['bucket']:g} s, "
        f"min_count {table['min_count']}"
    )
    rows = [
        ("", "per worker", "per host"),
        ("CPU: observe + timer per request", _share(table["cpu_share_per_worker"]), _share(table["cpu_share_per_host"])),
    ]
    if "memory_per_worker_bytes" in table:
        rows.append(("Memory: one Monitor (RSS)", _size(table["memory_per_worker_bytes"]), _size(table["memory_per_host_bytes"])))
    rows.append(("State: to_bytes()", _size(table["state_per_worker_bytes"]), _size(table["state_per_host_bytes"])))
    if "scrape_ms" in table:
        rows.append((f"Scrape every {table['scrape_interval']:g} s",
                     f"{table['scrape_ms']:.3g} ms ({100 * table['scrape_cpu_share']:.2g}% of a core)", "-"))
    rows.append((f"Rows per {table['bucket']:g} s bucket", f"{table['rows_per_bucket_per_worker']:.4g}",
                 f"{table['rows_per_bucket_per_host']:.4g}"))
    rows.append((f"Smallest bucket with {table['min_count']} rows", _bucket(table["smallest_bucket_per_worker"]),
                 _bucket(table["smallest_bucket_per_host"])))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [head] + ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    if table["rows_per_bucket_per_worker"] < table["min_count"]:
        lines.append(
            f"  note: at this rate a worker's {table['bucket']:g} s bucket holds fewer than min_count rows: "
            "report from merged per-host state, or use a longer bucket"
        )
    return "\n".join(lines)
