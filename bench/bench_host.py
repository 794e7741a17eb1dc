"""HostMonitor (driftline.host): a worker's publish, and one scrape of every worker's state, at 20 and 200 features.

Four workers' states (each a full window of 60 one-minute buckets, as in
bench_report.py) sit in the host file; the scrape of the HostMonitor (publish
its own state, read the 4 slots, decode, merge, report, format) runs side by
side with the scrape of one plain Monitor, so the ratio is the price of the
host-wide picture. Every benchmark checks that the scrape counts 4 workers'
rows, so `--benchmark-disable` is a correctness run.

Run:  python -m pytest bench/bench_host.py --benchmark-only
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_report import monitor  # noqa: E402

host = pytest.importorskip("driftline.host")
prometheus_client = pytest.importorskip("prometheus_client")
from driftline.prometheus import registry_for  # noqa: E402

WORKERS = 4


@pytest.fixture(scope="module", params=[20, 200])
def service(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """(HostMonitor of this process, the Monitor every worker holds a copy of), 3 other workers' states published."""
    features = request.param
    m = monitor(features, 1_000)
    path = tmp_path_factory.mktemp("host") / f"bench-{features}.driftline"
    h = host.HostMonitor(type(m).from_bytes(m.to_bytes(), clock=m._clock, profile=m.profile), path, slots=8)
    for _ in range(WORKERS - 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork() of a threaded process
            pid = os.fork()
        if pid == 0:  # a worker: its copy of the state, published when it exits
            code = 0
            try:
                h.monitor.merge(m)
                host._close_at_exit()
            except BaseException:
                code = 1
            os._exit(code)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    yield h, m
    h.close()


@pytest.mark.parametrize("source", ["host", "one_monitor"])
def test_scrape(benchmark: Any, service: tuple[Any, Any], source: str) -> None:
    """generate_latest of the HostMonitor (4 workers' states) beside that of one Monitor."""
    h, m = service
    features = len(m.profile.names)
    workers = WORKERS if source == "host" else 1
    benchmark.group = f"one Prometheus scrape, {features} features"
    benchmark.extra_info.update(features=features, workers=workers, baseline=source == "one_monitor")
    registry = registry_for(h if source == "host" else m)
    text = benchmark(prometheus_client.generate_latest, registry).decode()
    assert f"driftline_rows_total {float(workers * m.rows)}" in text


def test_publish(benchmark: Any, service: tuple[Any, Any]) -> None:
    """What the publisher thread does once per interval when the state changed: encode and write the slot."""
    h, m = service
    features = len(m.profile.names)
    benchmark.group = f"HostMonitor.publish(), {features} features"
    benchmark.extra_info.update(features=features, bytes=len(h.monitor.to_bytes()))
    benchmark(h.publish)
    assert host.read(h.path, clock=m._clock).rows == WORKERS * m.rows
