"""The per-request path: one core call for a dict row at the clock's now, and the core's latency timer."""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest

import driftline as dl
from helpers import Clock


def profile() -> dl.Profile:
    rng = np.random.default_rng(3)
    return dl.Profile.from_data({"x": rng.normal(0, 1, 5000), "c": np.array(["a", "b"] * 2500, dtype=object)})


def test_fast_path_counts_the_same_as_the_general_path() -> None:
    p = profile()
    clock = Clock(1000.0)
    fast, general = dl.Monitor(p, clock=clock), dl.Monitor(p, clock=clock)
    rows: list[dict[str, Any]] = [
        {"x": 0.5, "c": "a"},
        {"x": None, "c": "zzz"},  # missing and unseen
        {"c": "b"},  # absent field
        {"x": float("nan"), "c": "a", "extra": 3.0},  # NaN is missing; an unexpected field
        {"x": 10**400, "c": 1},  # unreadable number, an unseen int category
        {},
    ]
    for row in rows:
        fast.observe(row)  # t is None: the one-call path
        general.observe(row, t=1000.0)  # an explicit t takes the general path
    a, b = fast.report(), general.report()
    assert a.rows == b.rows == len(rows)
    assert a.features == b.features
    assert a.schema == b.schema
    assert a.schema.unexpected == {"extra": 1}
    assert a.features["c"].unseen_rate == pytest.approx(2 / 5)


class _Key(str):
    """A str subclass as a row key: equal to the name, but not an exact str."""


def test_rows_in_any_field_order_count_as_looking_each_name_up() -> None:
    # The row path walks the row's fields and guesses each one's feature from
    # the last row's order; the columns path looks each name up in the dict.
    # Names of every str kind (1, 2 and 4 bytes per character), names that
    # share a length, fresh key objects, extra fields, str-subclass keys and
    # field orders that change from row to row must all count the same.
    rng = np.random.default_rng(11)
    names = ["x", "ab", "ba", "é", "日本", "😀", "a😀", "cat"]
    data: dict[str, Any] = {n: rng.normal(j, 1, 2000) for j, n in enumerate(names[:-1])}
    data["cat"] = np.array(["u", "v", "w"] * 666 + ["u", "v"], dtype=object)
    p = dl.Profile.from_data(data)
    clock = Clock(1000.0)
    walked, looked_up = dl.Monitor(p, clock=clock), dl.Monitor(p, clock=clock)
    extras = ["extra", "日", "X", "ab "]
    order = list(p.names)
    for i in range(3000):
        if i % 50 == 0:
            rng.shuffle(order)  # a new producer order: guesses miss, then are learned
        keys = [k for k in order if rng.random() < 0.85] + [e for e in extras if rng.random() < 0.1]
        if i % 7 == 0:
            keys = list(rng.permutation(keys))  # one row out of order
        row: dict[Any, Any] = {}
        for k in keys:
            fresh = "".join(list(k))  # equal, not the same object
            key = _Key(fresh) if rng.random() < 0.02 else fresh
            if k == "cat":
                row[key] = str(rng.choice(["u", "v", "w", "zz"]))
            else:
                row[key] = None if rng.random() < 0.05 else float(rng.normal(0, 2))
        walked.observe(row)
        looked_up.observe({k: [v] for k, v in row.items()})
    assert walked._core.to_bytes() == looked_up._core.to_bytes()
    a, b = walked.report(), looked_up.report()
    assert a.rows == b.rows == 3000
    assert a.schema == b.schema and a.features == b.features


def test_a_row_encoder_refuses_repeated_names() -> None:
    with pytest.raises(ValueError, match="distinct"):
        dl._core.RowEncoder(["x", "x"], [None, None])


def test_a_row_whose_first_value_is_not_a_plain_scalar_goes_to_the_general_rule() -> None:
    p = profile()
    m = dl.Monitor(p, clock=Clock(50.0))
    m.observe({"x": np.float64(0.25), "c": "a"})  # a numpy scalar: still one row
    m.observe({"x": np.array([0.1, 0.2]), "c": np.array(["a", "b"], dtype=object)})  # columns: a batch of 2
    assert m.rows == 3 and m.report().features["x"].count == 3


def test_fast_path_reads_the_injected_clock_once_and_refuses_nan_before_counting() -> None:
    p = profile()
    readings = []

    def clock() -> float:
        readings.append(1)
        return 500.0 if len(readings) < 3 else float("nan")

    m = dl.Monitor(p, clock=clock)
    m.observe({"x": 0.1, "c": "a"})
    assert len(readings) == 1
    m.observe({"x": 0.1, "c": "a"})
    with pytest.raises(ValueError, match="NaN"):
        m.observe({"x": 0.1, "c": "a"})
    assert m.rows == 2


def test_row_observer_checks_its_objects_and_its_row() -> None:
    m = dl.Monitor(profile(), clock=Clock(10.0))
    encoder, clock = m._ingest.encoder, m._clock_reader
    other = dl._core.FeatureWindow([[0.0, 1.0]], 60.0, 4)  # one feature: not this encoder's
    with pytest.raises(ValueError, match="different features"):
        dl._core.RowObserver(encoder, other, clock)
    with pytest.raises(TypeError, match="FeatureWindow"):
        dl._core.RowObserver(encoder, "window", clock)
    with pytest.raises(TypeError, match="RowEncoder"):
        dl._core.RowObserver(None, m._core, clock)
    observe = dl._core.RowObserver(encoder, m._core, clock).observe
    with pytest.raises(TypeError, match="a row must be a dict, got list"):
        observe([0.5, "a"])
    assert observe({"x": 0.5, "c": "a"}) is None  # counted, nothing left for Python
    assert observe({"x": 0.5, "c": "zzz"}) is not None  # an unseen category goes back to Python
    assert m.rows == 2


def test_a_decoded_monitor_observes_into_its_decoded_state() -> None:
    m = dl.Monitor(profile(), clock=Clock(10.0))
    m.observe({"x": 0.5, "c": "a"})
    copy = dl.Monitor.from_bytes(m.to_bytes(), clock=Clock(10.0), profile=m.profile)
    copy.observe({"x": 0.5, "c": "b"})
    assert copy.rows == 2 and m.rows == 1


def test_default_clock_is_read_in_the_core_as_time_time() -> None:
    m = dl.Monitor(profile())
    before = time.time()
    m.observe({"x": 0.0, "c": "a"})
    after = time.time()
    start = float(m._core.snapshot(after)["starts"][-1])  # the row's bucket
    assert start <= before + 1e-3 and after < start + m.bucket + 1e-3
    assert dl._core.Clock(time.time).wall and not dl._core.Clock(lambda: 1.0).wall


def test_timer_records_the_block_at_the_clock_time_of_exit_also_when_it_raises() -> None:
    clock = Clock(1000.0)
    m = dl.Monitor(profile(), window=600, bucket=60, clock=clock)
    with m.time():
        time.sleep(0.02)
    with pytest.raises(KeyError):
        with m.time():
            raise KeyError("the block's error propagates")
    assert m.report().latency.count == 2
    assert 0.02 <= m.report().latency.max < 5.0
    clock.t = 1000.0 + 600.0  # the window has moved past both
    assert m.report().latency.count == 0


def test_timer_nesting_reuse_and_misuse() -> None:
    m = dl.Monitor(profile(), clock=Clock(10.0))
    t = m.time()
    with t:
        with t:
            assert t.depth == 2
    assert t.depth == 0
    with pytest.raises(ValueError, match="exited more often"):
        t.__exit__(None, None, None)
    with pytest.raises(ValueError, match="nested at most"):
        for _ in range(17):
            t.__enter__()
    assert m.report().latency.count == 2
    with pytest.raises(TypeError):
        dl._core.LatencyTimer(object(), dl._core.Clock(time.time))


def test_timer_with_a_nan_clock_raises_and_records_nothing() -> None:
    clock = Clock(10.0)
    m = dl.Monitor(profile(), clock=clock)
    t = m.time()
    t.__enter__()
    clock.t = math.nan
    with pytest.raises(ValueError, match="NaN"):
        t.__exit__(None, None, None)
    assert t.depth == 1  # the start stays: nothing was recorded
    clock.t = 10.0
    t.__exit__(None, None, None)
    assert m.report().latency.count == 1


def test_decorated_function_keeps_its_metadata_and_times_each_call_on_its_own() -> None:
    m = dl.Monitor(profile(), clock=Clock(10.0))

    @m.time()
    def handler(v: float) -> float:
        """Handles."""
        time.sleep(v)
        return v

    assert handler.__name__ == "handler" and handler.__doc__ == "Handles." and handler.__wrapped__(0) == 0
    threads = [threading.Thread(target=handler, args=(0.05 * (i % 2),)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lat = m.report().latency
    # Four calls slept ~0 s and four ~50 ms: with a shared start they would mix.
    assert lat.count == 8 and lat.p50 < 0.04 and 0.05 <= lat.max < 5.0


class SlowNumber:
    """A value whose conversion runs Python code and lets other threads in."""

    def __init__(self, x: float) -> None:
        self.x = x

    def __float__(self) -> float:
        time.sleep(0)
        return self.x


def test_rows_stay_whole_when_a_value_conversion_lets_another_thread_in() -> None:
    edges = {"a": np.array([0.0, 1.0, 2.0]), "b": np.array([0.0, 1.0, 2.0])}
    p = dl.Profile.from_data({"a": np.r_[edges["a"], 0.5], "b": np.r_[edges["b"], 1.5]})
    m = dl.Monitor(p, clock=Clock(100.0))
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        # Thread 0 only sends a in its low bin and b in its high one; thread 1 the reverse.
        def body(i: int) -> None:
            lo, hi = (0.25, 1.75) if i == 0 else (1.75, 0.25)
            for _ in range(2000):
                m.observe({"a": SlowNumber(lo), "b": SlowNumber(hi)})

        threads = [threading.Thread(target=body, args=(i,)) for i in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old)
    # Rows stayed whole: each feature holds exactly 2000 of each of its two values
    # (a row mixed between threads would give one feature three of one value).
    for cells, feature in zip(m._span_cells(m.window, 100.0), p):
        expected = np.zeros(len(cells))
        for v in (0.25, 1.75):
            expected[np.searchsorted(feature.edges, v, side="right")] += 2000
        assert np.array_equal(cells, expected)


def test_observe_and_time_are_the_c_base_methods_with_python_calling_conventions() -> None:
    import inspect

    m = dl.Monitor(profile(), clock=Clock(100.0))
    assert str(inspect.signature(dl.Monitor.observe)) == "(self, /, data, t=None)"
    assert "Counts one row" in (dl.Monitor.observe.__doc__ or "")
    assert "Times a block" in (dl.Monitor.time.__doc__ or "")
    m.observe(data={"x": 0.5, "c": "a"})
    m.observe({"x": 0.5, "c": "a"}, t=100.0)
    m.observe(data={"x": 0.5, "c": "a"}, t=None)
    assert m.rows == 3
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'data'"):
        m.observe()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'when'"):
        m.observe({"x": 1.0}, when=3.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'data'"):
        m.observe({"x": 1.0}, data={"x": 2.0})  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional arguments"):
        m.observe({"x": 1.0}, 100.0, 3)  # type: ignore[call-arg]
    assert m.rows == 3  # refused calls counted nothing
    with pytest.raises(TypeError, match="RowObserver"):
        m._set_request_paths(None, m._timer)
    with pytest.raises(TypeError, match="LatencyTimer"):
        m._set_request_paths(dl._core.RowObserver(m._ingest.encoder, m._core, m._clock_reader), None)


def test_a_subclass_can_override_observe_and_time() -> None:
    calls = []

    class Audited(dl.Monitor):
        def observe(self, data: Any, t: Any = None) -> None:
            calls.append("observe")
            super().observe(data, t)

        def time(self) -> Any:
            calls.append("time")
            return super().time()

    m = Audited(profile(), clock=Clock(100.0))
    with m.time():
        m.observe({"x": 0.5, "c": "a"})
    assert calls == ["time", "observe"] and m.rows == 1
    assert m.report().latency.count == 1


def test_an_uninitialized_monitor_refuses_the_request_calls() -> None:
    from driftline._initialized import NotInitializedError

    blank = dl.Monitor.__new__(dl.Monitor)
    with pytest.raises(NotInitializedError, match="Monitor object is not initialized"):
        blank.observe({"x": 1.0})
    with pytest.raises(NotInitializedError):
        blank.time()
    with pytest.raises(AttributeError):
        blank.no_such_thing  # noqa: B018
    with pytest.raises(NotInitializedError, match="Monitor object is not initialized"):
        blank.report()
    with pytest.raises(NotInitializedError):
        blank.to_bytes()


def test_every_piece_of_monitor_state_is_guarded() -> None:
    # A new private attribute set by __init__ must join the guards, or an
    # uninitialized Monitor would raise a bare AttributeError for it.
    m = dl.Monitor(profile(), clock=Clock(100.0))
    state = {name for name in vars(m) if name.startswith("_")}
    guarded = {name for name, value in vars(dl.Monitor).items() if type(value).__name__ == "_Unset"}
    assert state and state == guarded
    assert m._core is vars(m)["_core"]  # an initialized Monitor reads its own state


def test_the_monitor_keeps_the_generic_attribute_lookup() -> None:
    # CPython specializes `monitor.observe(row)` into a direct call of the C
    # method only when the type's attribute lookup is the generic one (no
    # tp_getattro of its own, no __getattr__); else every call builds a bound method.
    assert dl.Monitor.__getattribute__ is object.__getattribute__
    assert not hasattr(dl.Monitor, "__getattr__")


def test_a_row_wider_than_the_stage_is_counted_at_once() -> None:
    # Over 4096 features two rows do not fit the stage (64 KiB): a row is counted when observed.
    rng = np.random.default_rng(5)
    names = [f"f{j}" for j in range(4100)]
    p = dl.Profile.from_data({n: rng.normal(0, 1, 50) for n in names})
    m = dl.Monitor(p, clock=Clock(100.0))
    row = {n: float(j % 7) for j, n in enumerate(reversed(names))}
    m.observe(row)
    assert m._core.staged == 0 and m.rows == 1
    assert m.report().features["f0"].count == 1
