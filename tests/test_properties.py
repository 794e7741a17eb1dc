"""Property: a Monitor fed its own training data sees nothing wrong, for every column type the Profile accepts.

For each column type ``Profile.from_data`` accepts (and each input shape it
takes: a DataFrame, a dict of lists, a dict of numpy arrays), a Monitor built on
that profile and fed the very same data reports no unseen category, the
reference's missing rate, PSI at the smoothing floor (0: identical cells) and
no warn or alert.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import driftline as dl

from helpers import Clock

POLICY = dl.Policy(min_count=5, consecutive=1)

finite_floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
missing = st.sampled_from([None, float("nan"), np.nan, pd.NA])


def _with_missing(values: st.SearchStrategy[Any], missing_values: st.SearchStrategy[Any] = missing) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.one_of(values, values, values, missing_values), min_size=20, max_size=200)


def _pool(values: st.SearchStrategy[Any], size: int = 12) -> st.SearchStrategy[st.SearchStrategy[Any]]:
    """A small set of distinct values to draw a categorical column from (within the profile's category cap)."""
    return st.lists(values, min_size=1, max_size=size, unique_by=lambda v: (type(v), repr(v))).map(st.sampled_from)


@st.composite
def columns(draw: Any) -> tuple[str, Any]:
    kind = draw(st.sampled_from([
        "float64", "float32", "int64", "uint8", "bool", "float-list", "int-list", "str", "bytes", "mixed-object",
        "pandas-string", "pandas-Int64", "pandas-Float64", "pandas-category", "pandas-boolean", "datetime64",
        "numpy-str",
    ]))
    n = draw(st.integers(20, 200))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "float64":
        x = rng.normal(draw(finite_floats.filter(lambda v: abs(v) < 1e6)), 1.0 + rng.random() * 10, n)
        x[rng.random(n) < 0.1] = np.nan
        if draw(st.booleans()):
            x[rng.random(n) < 0.02] = np.inf
        return kind, x
    if kind == "float32":
        return kind, rng.normal(0, 1, n).astype(np.float32)
    if kind == "int64":
        return kind, rng.integers(-(2**40), 2**40, n)
    if kind == "uint8":
        return kind, rng.integers(0, 5, n).astype(np.uint8)
    if kind == "bool":
        return kind, rng.random(n) < 0.3
    if kind == "float-list":
        return kind, draw(_with_missing(finite_floats))
    if kind == "int-list":
        return kind, draw(_with_missing(st.integers(-(2**62), 2**62)))
    if kind == "str":
        return kind, draw(_with_missing(draw(_pool(st.text(max_size=6)))))
    if kind == "numpy-str":
        return kind, np.array(draw(st.lists(draw(_pool(st.text(min_size=1, max_size=6))), min_size=20, max_size=200)))
    if kind == "bytes":
        return kind, draw(_with_missing(draw(_pool(st.binary(max_size=4)))))
    if kind == "mixed-object":
        return kind, draw(_with_missing(draw(_pool(st.one_of(st.text(max_size=3), st.integers(-5, 5), st.booleans())))))
    if kind == "pandas-string":
        return kind, pd.array(draw(_with_missing(draw(_pool(st.text(max_size=4))), st.sampled_from([None, pd.NA]))), dtype="string")
    if kind == "pandas-Int64":
        return kind, pd.array(draw(_with_missing(st.integers(-1000, 1000), st.sampled_from([None, pd.NA]))), dtype="Int64")
    if kind == "pandas-Float64":
        return kind, pd.array(draw(_with_missing(finite_floats.filter(lambda v: abs(v) < 1e9), st.sampled_from([None, pd.NA]))), dtype="Float64")
    if kind == "pandas-category":
        return kind, pd.Categorical(draw(_with_missing(draw(_pool(st.text(min_size=1, max_size=4))), st.just(None))))
    if kind == "pandas-boolean":
        return kind, pd.array(draw(_with_missing(st.booleans(), st.sampled_from([None, pd.NA]))), dtype="boolean")
    days = np.datetime64("2024-01-01") + rng.integers(0, 5, n).astype("timedelta64[D]")
    days[rng.random(n) < 0.1] = np.datetime64("NaT")
    return kind, days


def _shape(column: Any, shape: str) -> Any:
    if shape == "DataFrame":
        return pd.DataFrame({"f": column, "g": np.zeros(len(column))})
    if shape == "dict-of-lists":
        values = list(column) if not isinstance(column, np.ndarray) else column.tolist()
        return {"f": values, "g": [0.0] * len(values)}
    return {"f": np.asarray(column, dtype=object) if not isinstance(column, np.ndarray) else column,
            "g": np.zeros(len(column))}


@settings(max_examples=int(os.environ.get("DRIFTLINE_PROPERTY_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=columns(), shape=st.sampled_from(["DataFrame", "dict-of-lists", "dict-of-arrays"]))
def test_a_monitor_fed_its_training_data_sees_nothing_wrong(case: tuple[str, Any], shape: str) -> None:
    kind, column = case
    data = _shape(column, shape)
    profile = dl.Profile.from_data(data)
    reference = profile["f"]
    monitor = dl.Monitor(profile, window=600, bucket=60, policy=POLICY, clock=Clock(130.0))
    monitor.observe(data, t=50.0)  # one completed bucket holding exactly the training rows
    report = monitor.report()
    f = report.features["f"]
    assert f.rows == len(column)
    assert not f.unseen_examples, (kind, shape, f.unseen_examples)
    if f.unseen_rate is not None:  # categorical features
        assert f.unseen_rate == 0.0 or (math.isnan(f.unseen_rate) and f.count == 0), (kind, shape)
    assert f.invalid == 0, (kind, shape)
    assert f.missing_rate == pytest.approx(reference.missing / reference.total, abs=1e-12), (kind, shape)
    if f.count:
        assert f.psi == pytest.approx(0.0, abs=1e-12), (kind, shape, f.psi)
    assert f.status not in (dl.Status.WARN, dl.Status.ALERT), (kind, shape, f.status, f.reasons)
    assert report.status not in (dl.Status.WARN, dl.Status.ALERT), (kind, shape, report.status)
