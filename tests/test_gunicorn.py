"""End to end: a FastAPI model service under a real gunicorn with 4 uvicorn workers, sharing one HostMonitor.

Bounded load over loopback through ``--max-requests`` restarts (hundreds of
them) and a SIGKILL of one worker; then every scrape, whichever worker
answers it, gives the same rows and PSI, and the rows equal the requests
served. What the design may lose is what a worker observed after its last
publish (at most ``publish_interval``); the worker is killed once traffic has
stopped for longer than that, so the test checks the loss is exactly zero.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

import driftline as dl

pytest.importorskip("gunicorn")
pytest.importorskip("uvicorn_worker")
pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from driftline import host  # noqa: E402

WORKERS = 4
MAX_REQUESTS = 10  # per worker: a restart every 10 requests (scrapes count too)
PUBLISH_INTERVAL = 0.2

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


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("gunicorn")
    rng = np.random.default_rng(3)
    reference = {"income": rng.normal(50, 10, 5_000), "age": rng.normal(40, 12, 5_000), "debt": rng.exponential(2, 5_000)}
    profile = dl.Profile.from_data(reference)
    profile.save(work / "profile.drift")
    (work / "service.py").write_text(SERVICE)
    host_file = work / "credit.driftline"
    port = free_port()
    env = {
        **os.environ,
        "SERVICE_PROFILE": str(work / "profile.drift"),
        "SERVICE_HOST_FILE": str(host_file),
        "SERVICE_PUBLISH": str(PUBLISH_INTERVAL),
        "PYTHONPATH": str(work),
    }
    log = open(work / "gunicorn.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "service:app", "--preload",
         "-k", "uvicorn_worker.UvicornWorker", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
         "--max-requests", str(MAX_REQUESTS), "--max-requests-jitter", "0",
         "--graceful-timeout", "10", "--log-level", "info"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/metrics", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None, (work / "gunicorn.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield {"url": url, "host_file": host_file, "profile": profile, "log": work / "gunicorn.log", "server": server}
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


def restarts(service: dict[str, Any]) -> int:
    """Workers gunicorn booted beyond the first ones (its log says each one)."""
    return service["log"].read_text().count("Booting worker with pid") - WORKERS


def test_one_picture_across_restarts_and_a_kill(service: dict[str, Any]) -> None:
    url, host_file = service["url"], service["host_file"]

    served = drive(url, 60, seed=1)  # at least one restart of some worker
    size_after_first = host_file.stat().st_size

    # Bounded load with a scraper running alongside: the row counter must never go down.
    seen: list[float] = []
    stop = threading.Event()

    def scraper() -> None:
        while not stop.is_set():
            seen.append(scrape(url)["driftline_rows_total"])

    thread = threading.Thread(target=scraper)
    thread.start()
    try:
        for chunk in range(40):  # until 200 restarts have happened (a few thousand requests)
            served += drive(url, 300, seed=10 + chunk)
            if restarts(service) >= 200:
                break
    finally:
        stop.set()
        thread.join()
    assert seen == sorted(seen), "a counter went down between scrapes"
    assert len(seen) > 10

    time.sleep(5 * PUBLISH_INTERVAL)  # traffic stopped: every worker has published since
    before_kill = scrape(url)["driftline_rows_total"]
    assert before_kill == len(served)

    # SIGKILL one live worker (it just answered a request); its published state must survive it.
    victim = post(url, {"income": 50.0, "age": 40.0, "debt": 1.0})
    served.append(victim)
    time.sleep(5 * PUBLISH_INTERVAL)
    os.kill(victim, signal.SIGKILL)
    served += drive(url, 200, seed=3, shift=40.0)  # a drift in income, served by the survivors and the replacement
    time.sleep(5 * PUBLISH_INTERVAL)

    after_kill = drive(url, 40, seed=4)
    assert victim not in served[-200:] + after_kill
    served += after_kill
    assert restarts(service) >= 200

    time.sleep(5 * PUBLISH_INTERVAL)
    scrapes = [scrape(url) for _ in range(20)]
    keys = [k for k in scrapes[0] if k.startswith(("driftline_rows_total", "driftline_feature_psi", "driftline_status"))]
    assert any(k.startswith("driftline_feature_psi") for k in keys)
    for s in scrapes[1:]:
        assert {k: s[k] for k in keys} == {k: scrapes[0][k] for k in keys}  # every worker: the same picture
    assert scrapes[0]["driftline_rows_total"] == len(served)  # rows counted = requests served, nothing lost
    assert scrapes[0]["driftline_latency_observations"] == len(served)
    psi = {f: scrapes[0][f"driftline_feature_psi,feature={f}"] for f in ("income", "age", "debt")}
    assert psi["income"] > 10 * max(psi["age"], psi["debt"]), psi  # the injected drift, seen host-wide

    # A sidecar reading the file (what `driftline report FILE` does) sees the same, and the file kept its size.
    merged = host.read(host_file)
    assert merged.rows == len(served)
    report = merged.report()
    assert report.features["income"].psi == scrapes[0]["driftline_feature_psi,feature=income"]
    assert host_file.stat().st_size == size_after_first
