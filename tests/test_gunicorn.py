"""End to end: a FastAPI model service under a real gunicorn with 4 uvicorn workers, sharing one HostMonitor.

Bounded load over loopback through ``--max-requests`` restarts (hundreds of
them) and a SIGKILL of one worker; then every scrape, whichever worker
answers it, gives the same rows and PSI, and the rows equal the requests
served. What the design may lose is what a worker observed after its last
publish (at most ``publish_interval``); the worker is killed once traffic has
stopped for longer than that, so the test checks the loss is exactly zero.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any, Iterator

import pytest

pytest.importorskip("gunicorn")
pytest.importorskip("uvicorn_worker")
pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

from driftline import host  # noqa: E402
from model_service import RETRIES, drive, post, reference_profile, running_service, scrape  # noqa: E402

WORKERS = 4
MAX_REQUESTS = 10  # per worker: a restart every 10 requests (scrapes count too)
PUBLISH_INTERVAL = 0.2


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("gunicorn")
    with running_service(
        work, reference_profile(), work / "credit.driftline", workers=WORKERS, max_requests=MAX_REQUESTS,
        publish_interval=PUBLISH_INTERVAL,
    ) as running:
        yield running


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
    print(
        f"gunicorn: {len(served)} requests served, {restarts(service)} worker restarts, {len(seen)} scrapes during load,"
        f" {len(RETRIES)} connection-level retries, host file {size_after_first} bytes"
    )
