"""driftline inside a real model service: FastAPI under uvicorn on loopback, with and without a Monitor.

Not a pytest-benchmark timing (the figures come from the servers and the
load generator): it runs driftline.server_bench, the same code as
`driftline bench --server`, and checks what it measured. With
`--benchmark-disable` (CI) it is a short correctness run: real servers
start, serve every request without an error, write their CPU figures and
stop. A full run prints the figures for the README and the notes:

    DRIFTLINE_SERVER_BENCH_ROUNDS=12 python -m pytest bench/bench_server.py -s
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from driftline.server_bench import run_server_bench  # noqa: E402


@pytest.mark.parametrize("workers", [1, 4])
def test_server_overhead(workers: int, request: pytest.FixtureRequest) -> None:
    quick = request.config.getoption("benchmark_disable", False)
    rounds = 2 if quick else int(os.environ.get("DRIFTLINE_SERVER_BENCH_ROUNDS", "6"))
    result: dict[str, Any] = run_server_bench(workers=workers, rounds=rounds, seconds=1.0 if quick else 3.0)
    print(json.dumps(result, indent=1))
    for endpoint, entry in result["endpoints"].items():
        ratios = entry["throughput"]["ratio"]["runs"]
        assert len(ratios) == rounds and all(r > 0 and math.isfinite(r) for r in ratios), endpoint
        for label in ("bounded", "saturated"):
            cpu = entry[f"cpu_{label}"]
            assert cpu["requests"] > 0 and cpu["workers_serving"] >= 1
            # Most requests run uninterrupted; the rest are left out of the spans, and counted.
            assert 0 <= cpu["interrupted_share"] < 0.5
            for where in ("server", "tight_loop"):
                assert cpu[where]["observe_ns"] > 0 and cpu[where]["timer_ns"] > 0 and cpu[where]["empty_ns"] > 0


def test_server_overhead_with_a_host_monitor(request: pytest.FixtureRequest) -> None:
    """4 workers sharing one state through a HostMonitor (publishing every second) against no driftline."""
    quick = request.config.getoption("benchmark_disable", False)
    rounds = 2 if quick else int(os.environ.get("DRIFTLINE_SERVER_BENCH_ROUNDS", "6"))
    result = run_server_bench(workers=4, rounds=rounds, seconds=1.0 if quick else 3.0, endpoints=("/sync",), host=True)
    print(json.dumps(result, indent=1))
    assert result["instrumented"] == "host"
    ratios = result["endpoints"]["/sync"]["throughput"]["ratio"]["runs"]
    assert len(ratios) == rounds and all(r > 0 and math.isfinite(r) for r in ratios)
