"""driftline.dask on a real distributed.LocalCluster with 2 worker processes: results equal the single-process ones."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pytest

import driftline as dl

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import driftline.dask as dldask  # noqa: E402

from helpers import local_dask_client  # noqa: E402
from test_chunked import assert_same_profile  # noqa: E402


def frame(n: int, seed: int, shift: float = 0.0) -> Any:
    rng = np.random.default_rng(seed)
    x = rng.normal(5 + shift, 2, n)
    x[::89] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "flag": rng.integers(0, 3, n).astype(float),  # a cell per value
            "spike": np.where(rng.random(n) < 0.3, 1.0, rng.exponential(size=n)),
            "city": pd.Series(rng.choice(["paris", "rome", "oslo"], n, p=[0.5, 0.3, 0.2]), dtype=object),
            "wide": rng.standard_cauchy(n) * 1e200,
        }
    )


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    yield from local_dask_client()


def workers_used(task_stream: Any) -> set[str]:
    return {t["worker"] for t in task_stream.data}


def test_profile_on_two_worker_processes_equals_the_single_process_profile(client: Any) -> None:
    data = frame(120_000, seed=0)
    ddf = dd.from_pandas(data, npartitions=7)
    with distributed.get_task_stream(client) as stream:
        got = dldask.profile(ddf, categorical=["flag"])
    assert len(workers_used(stream)) == 2  # the partitions really were counted in both processes
    assert_same_profile(dl.Profile.from_data(data, categorical=["flag"]), got)


def test_compare_on_two_worker_processes_equals_compare_in_memory(client: Any) -> None:
    reference = dl.Profile.from_data(frame(80_000, seed=1))
    current = frame(90_000, seed=2, shift=0.4)
    current["unexpected"] = 1.0
    del current["wide"]
    ddf = dd.from_pandas(current, npartitions=5)
    with distributed.get_task_stream(client) as stream:
        got = dldask.compare(reference, ddf, correction="holm")
    assert len(workers_used(stream)) == 2
    assert got.to_dict() == dl.compare(reference, current, correction="holm").to_dict()


def test_one_partition_and_an_empty_frame() -> None:
    data = frame(5_000, seed=3)
    assert_same_profile(dl.Profile.from_data(data), dldask.profile(dd.from_pandas(data, npartitions=1)))
    with pytest.raises(ValueError, match="no rows"):
        dldask.profile(dd.from_pandas(data.iloc[:0], npartitions=1))


def test_not_a_dask_frame_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="dask DataFrame"):
        dldask.profile(frame(10, seed=0))
