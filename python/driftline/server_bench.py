"""The in-server benchmark: a FastAPI model service under uvicorn, with and without driftline.

    pip install "driftline[server-bench]"
    driftline bench --server [--workers 1] [--rounds 6] [--json server.json]

Starts three copies of the service of :mod:`driftline._server_app` on
loopback (``off``: no driftline; ``on``: ``observe`` and the latency timer on
every request; ``measure``: as ``on`` with those calls timed one by one,
on requests the worker thread ran without interruption), each under a real uvicorn with ``workers``
processes, and drives them with :mod:`driftline._loadgen`:

- **throughput**: ``rounds`` interleaved pairs of saturated runs (``off``
  then ``on`` or the reverse, alternating), the ratio of each pair;
- **CPU time per request** in driftline at a bounded rate and at
  saturation, beside the same calls' cost in a tight loop in the same
  worker process, and beside a control (the model's own scoring code, pure
  Python) so the machine's own in-server slowdown can be told apart from
  driftline's.

Both endpoints (``/sync``, run in FastAPI's thread pool, and ``/async``, on the
event loop) are measured. Every server is stopped before returning.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Optional

from ._loadgen import post_request, run_load

__all__ = ["run_server_bench"]


class _Server:
    """One uvicorn process tree serving the bench app on a free loopback port."""

    def __init__(self, mode: str, workers: int, stats: str, features: int, categorical: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = dict(
            os.environ,
            DRIFTLINE_BENCH_MODE=mode,
            DRIFTLINE_BENCH_STATS=stats,
            DRIFTLINE_BENCH_FEATURES=str(features),
            DRIFTLINE_BENCH_CATEGORICAL=str(categorical),
        )
        command = [sys.executable, "-m", "uvicorn", "--factory", "driftline._server_app:create_app"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        command += ["--log-level", "warning", "--no-access-log"]
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with status {self.process.returncode} before serving")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"uvicorn did not listen on port {self.port} within {timeout:g} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the workers' shutdown writes their stats
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _spread(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def _worker_stats(folder: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path) as f:
            out.append(json.load(f))
    return out


def _cpu_summary(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Request-weighted means over the workers of the per-request figures, in and out of the server."""
    served = [s for s in stats if s["server"]["requests"] > 0]
    if not served:
        raise RuntimeError("no worker served a measured request")
    total = sum(s["server"]["requests"] for s in served)

    def mean(where: str, key: str) -> float:
        if where == "server":
            return sum(s[where][key] * s[where]["requests"] for s in served) / total
        return statistics.mean(s[where][key] for s in served)

    interrupted = sum(s["server"].get("interrupted", 0) for s in served)
    out: dict[str, Any] = {
        "requests": total,
        "workers_serving": len(served),
        # Requests left out of the spans: the thread was descheduled or waited for the GIL in them.
        "interrupted": interrupted,
        "interrupted_share": interrupted / (interrupted + total),
    }
    for where in ("server", "tight_loop"):
        keys = ("observe_ns", "timer_ns", "score_ns", "empty_ns", "observe_median_ns", "timer_median_ns", "empty_median_ns")
        figures = {k: mean(where, k) for k in keys}
        # The driftline calls are read in three spans (observe, timer entry, timer exit):
        # their readings' own cost is taken off, as measured in the same place.
        figures["driftline_ns"] = figures["observe_ns"] + figures["timer_ns"] - 3 * figures["empty_ns"]
        figures["control_ns"] = figures["score_ns"] - figures["empty_ns"]
        # The typical request's: medians of the two spans, readings included (the gross figure).
        figures["driftline_median_ns"] = figures["observe_median_ns"] + figures["timer_median_ns"]
        out[where] = figures
    out["driftline_ratio"] = out["server"]["driftline_ns"] / out["tight_loop"]["driftline_ns"]
    out["driftline_median_ratio"] = out["server"]["driftline_median_ns"] / out["tight_loop"]["driftline_median_ns"]
    out["control_ratio"] = out["server"]["control_ns"] / out["tight_loop"]["control_ns"]
    return out


def run_server_bench(
    workers: int = 1,
    rounds: int = 6,
    seconds: float = 3.0,
    rate: float = 300.0,
    connections: int = 16,
    features: int = 22,
    categorical: int = 2,
    endpoints: tuple[str, ...] = ("/sync", "/async"),
    progress: Optional[Callable[[str], None]] = None,
    host: bool = False,
) -> dict[str, Any]:
    """Runs the benchmark (see the module docstring); returns every figure as plain data."""
    from ._server_app import bench_profile, bench_rows

    say = progress or (lambda message: None)
    rows = bench_rows(bench_profile(features, categorical), 2000)
    result: dict[str, Any] = {
        "workers": workers,
        "rounds": rounds,
        "seconds_per_run": seconds,
        "bounded_rate": rate,
        "connections": connections,
        "features": features,
        "categorical": categorical,
        "endpoints": {},
        "instrumented": "host" if host else "on",
    }
    on = "host" if host else "on"  # the instrumented server: a Monitor per worker, or shared by a HostMonitor
    with tempfile.TemporaryDirectory(prefix="driftline-server-bench-") as folder:
        for endpoint in endpoints:
            requests = [post_request(endpoint, json.dumps(r).encode()) for r in rows]
            entry: dict[str, Any] = {}
            # Throughput: both servers up, saturated runs interleaved in alternating order.
            servers = {mode: _Server(mode, workers, folder, features, categorical) for mode in ("off", on)}
            servers["on"] = servers.pop(on)
            try:
                for server in servers.values():
                    run_load(server.port, requests, 1.0, connections)  # warm-up: imports, caches, pools
                rates: dict[str, list[float]] = {"off": [], "on": []}
                for r in range(rounds):
                    order = ("off", "on") if r % 2 == 0 else ("on", "off")
                    for mode in order:
                        say(f"{endpoint} throughput round {r + 1}/{rounds}: {mode}")
                        load = run_load(servers[mode].port, requests, seconds, connections)
                        if load.errors:
                            raise RuntimeError(f"{load.errors} failed requests to the {mode!r} server")
                        rates[mode].append(load.rate)
            finally:
                for server in servers.values():
                    server.stop()
            ratios = [on / off for on, off in zip(rates["on"], rates["off"])]
            entry["throughput"] = {
                "off_per_s": _spread(rates["off"]),
                "on_per_s": _spread(rates["on"]),
                "ratio": _spread(ratios),
            }
            # CPU time per request, at a bounded rate and saturated, each on a fresh server.
            for label, load_rate in (("bounded", rate), ("saturated", None)):
                say(f"{endpoint} CPU time per request: {label}")
                for old in glob.glob(os.path.join(folder, "*.json")):
                    os.remove(old)
                server = _Server("measure", workers, folder, features, categorical)
                try:
                    run_load(server.port, requests, 1.0, connections, load_rate)
                    run_load(server.port, requests, seconds * 2, connections, load_rate)
                finally:
                    server.stop()
                entry[f"cpu_{label}"] = _cpu_summary(_worker_stats(folder))
            result["endpoints"][endpoint] = entry
    return result
