"""The model service of the real-server tests: a FastAPI app under gunicorn with uvicorn workers, sharing a HostMonitor.

Used by tests/test_gunicorn.py (restarts, a SIGKILL, agreeing scrapes) and
tests/test_prometheus_server.py (two such services as two hosts, scraped by
a real Prometheus). Started on loopback, stopped by the context manager.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np

import driftline as dl
from prometheus_client.parser import text_string_to_metric_families


SERVICE = textwrap.dedent(
    """
    import os

    import numpy as np
    from fastapi import FastAPI

    import driftline as dl
    from driftline.asgi import LatencyMiddleware, metrics_app
    from driftline.host import HostMonitor

    profile = dl.Profile.load(os.environ["SERVICE_PROFILE"])
    monitor = dl.Monitor(profile, window=3600, bucket=60)
    host = HostMonitor(monitor, os.environ["SERVICE_HOST_FILE"], publish_interval=float(os.environ["SERVICE_PUBLISH"]))
    weights = np.array([0.8, -0.5, 0.3])

    app = FastAPI()
    app.add_middleware(LatencyMiddleware, monitor=host)
    app.mount("/metrics", metrics_app(host, labels={"model": "credit"}))


    @app.post("/predict")
    def predict(row: dict) -> dict:
        host.observe(row)
        x = np.array([row["income"], row["age"], row["debt"]], dtype=float)
        return {"score": float(1 / (1 + np.exp(-x @ weights))), "pid": os.getpid()}
    """
)



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reference_profile(seed: int = 3) -> dl.Profile:
    rng = np.random.default_rng(seed)
    return dl.Profile.from_data(
        {"income": rng.normal(50, 10, 5_000), "age": rng.normal(40, 12, 5_000), "debt": rng.exponential(2, 5_000)}
    )


@contextlib.contextmanager
def running_service(
    work: Path,
    profile: dl.Profile,
    host_file: Path,
    *,
    workers: int = 4,
    max_requests: Optional[int] = None,
    publish_interval: float = 0.2,
) -> Iterator[dict[str, Any]]:
    """gunicorn (--preload, uvicorn workers) serving the model app on a free loopback port until the block ends."""
    work.mkdir(parents=True, exist_ok=True)
    profile.save(work / "profile.drift")
    (work / "service.py").write_text(SERVICE)
    port = free_port()
    env = {
        **os.environ,
        "SERVICE_PROFILE": str(work / "profile.drift"),
        "SERVICE_HOST_FILE": str(host_file),
        "SERVICE_PUBLISH": str(publish_interval),
        "PYTHONPATH": str(work),
    }
    command = [sys.executable, "-m", "gunicorn", "service:app", "--preload", "-k", "uvicorn_worker.UvicornWorker",
               "-w", str(workers), "-b", f"127.0.0.1:{port}", "--graceful-timeout", "10", "--log-level", "info"]
    if max_requests is not None:
        command += ["--max-requests", str(max_requests), "--max-requests-jitter", "0"]
    log_path = work / "gunicorn.log"
    log = open(log_path, "wb")
    server = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/metrics", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield {"url": url, "port": port, "host_file": host_file, "profile": profile, "log": log_path, "server": server}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


RETRIES: list[int] = []  # connection-level retries (see post)


def with_retries(call: Callable[[], Any]) -> Any:
    for _ in range(10):
        try:
            return call()
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, ConnectionError) as e:
            if not isinstance(getattr(e, "reason", e), OSError):
                raise
            RETRIES.append(1)
    raise AssertionError("a request failed 10 times")


def post(url: str, row: dict[str, float]) -> int:
    """One request, served once: the pid that answered.

    A worker ending at --max-requests drops connections it accepted but had
    not read yet (uvicorn's shutdown), so a client sees a reset or a broken
    pipe with no response, as a load balancer would, and retries. Such a
    request never reached the app; one that did would count a row twice and
    fail the test.
    """
    request = urllib.request.Request(
        url + "/predict", data=json.dumps(row).encode(), headers={"Content-Type": "application/json"}
    )

    def call() -> int:
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status == 200
            return int(json.loads(r.read())["pid"])

    return int(with_retries(call))


def drive(url: str, n: int, seed: int, shift: float = 0.0) -> list[int]:
    """n requests from 4 client threads (bounded: each waits for its answer); the pids that served them."""
    rng = np.random.default_rng(seed)
    rows = [
        {"income": float(a), "age": float(b), "debt": float(c)}
        for a, b, c in zip(rng.normal(50 + shift, 10, n), rng.normal(40, 12, n), rng.exponential(2, n))
    ]
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda r: post(url, r), rows))


def scrape(url: str) -> dict[str, float]:
    def call() -> str:
        with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
            return str(r.read().decode())

    text = with_retries(call)
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name + "".join(f",{k}={v}" for k, v in sorted(sample.labels.items()) if k != "model")
            values[key] = sample.value
    return values


