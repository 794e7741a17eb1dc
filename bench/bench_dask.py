"""driftline.dask on a distributed.LocalCluster (2 worker processes) against the single-process path.

The same rows x 20 features (16 numeric, 4 categorical): generated inside the
workers partition by partition and persisted there (so data shipping is not
timed), and the same partitions concatenated in this process for
``Profile.from_data`` / ``driftline.compare``. Each benchmark checks that both
paths give the same result. DRIFTLINE_BENCH_DASK_ROWS sets the rows (default
1e6, small enough for CI's correctness run; the README's figures use 1e7).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

import driftline as dl

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import driftline.dask as dldask  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import local_dask_client  # noqa: E402

ROWS = int(float(os.environ.get("DRIFTLINE_BENCH_DASK_ROWS", "1e6")))
PARTITIONS = 20
FEATURES = 20
PROFILE_GROUP = f"profile {ROWS:.0e} rows x {FEATURES} features: one process vs dask, 2 worker processes"
COMPARE_GROUP = f"compare {ROWS:.0e} rows x {FEATURES} features: one process vs dask, 2 worker processes"


def partition(index: int, shift: float = 0.0) -> Any:
    rows = ROWS // PARTITIONS
    rng = np.random.default_rng(index)
    columns: dict[str, Any] = {}
    for i in range(FEATURES):
        if i % 5 == 4:
            columns[f"c{i}"] = pd.Series(rng.choice(["a", "b", "c", "d", "e"], rows), dtype=object)
        else:
            columns[f"x{i}"] = rng.normal(shift if i < 3 else 0.0, 1.0, rows)
    return pd.DataFrame(columns)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    yield from local_dask_client()


@pytest.fixture(scope="module")
def frames(client: Any) -> tuple[Any, Any]:
    """(dask frame persisted in the workers, the same rows as one pandas frame here)."""
    ddf = dd.from_map(partition, range(PARTITIONS)).persist()
    distributed.wait(ddf)
    return ddf, pd.concat([partition(i) for i in range(PARTITIONS)], ignore_index=True)


@pytest.fixture(scope="module")
def current(client: Any) -> tuple[Any, Any]:
    ddf = dd.from_map(lambda i: partition(1_000 + i, shift=0.6), range(PARTITIONS)).persist()
    distributed.wait(ddf)
    return ddf, pd.concat([partition(1_000 + i, shift=0.6) for i in range(PARTITIONS)], ignore_index=True)


def test_profile_one_process(benchmark: Any, frames: tuple[Any, Any]) -> None:
    benchmark.group = PROFILE_GROUP
    benchmark.extra_info["values"] = ROWS * FEATURES
    benchmark.extra_info["baseline"] = True
    profile = benchmark.pedantic(dl.Profile.from_data, args=(frames[1],), rounds=3, iterations=1)
    assert profile.names == list(frames[1].columns)


def test_profile_dask(benchmark: Any, frames: tuple[Any, Any]) -> None:
    benchmark.group = PROFILE_GROUP
    benchmark.extra_info["values"] = ROWS * FEATURES
    profile = benchmark.pedantic(dldask.profile, args=(frames[0],), rounds=3, iterations=1)
    expected = dl.Profile.from_data(frames[1])
    assert profile.compatible(expected) and [f.histogram for f in profile] == [f.histogram for f in expected]


def test_compare_one_process(benchmark: Any, frames: tuple[Any, Any], current: tuple[Any, Any]) -> None:
    benchmark.group = COMPARE_GROUP
    benchmark.extra_info["values"] = ROWS * FEATURES
    benchmark.extra_info["baseline"] = True
    reference = dl.Profile.from_data(frames[1])
    report = benchmark.pedantic(dl.compare, args=(reference, current[1]), rounds=3, iterations=1)
    assert {n for n, f in report.features.items() if f.status != "ok"} == {"x0", "x1", "x2"}


def test_compare_dask(benchmark: Any, frames: tuple[Any, Any], current: tuple[Any, Any]) -> None:
    benchmark.group = COMPARE_GROUP
    benchmark.extra_info["values"] = ROWS * FEATURES
    reference = dl.Profile.from_data(frames[1])
    report = benchmark.pedantic(dldask.compare, args=(reference, current[0]), rounds=3, iterations=1)
    assert report.to_dict() == dl.compare(reference, current[1]).to_dict()
