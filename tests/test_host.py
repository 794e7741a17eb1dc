"""driftline.host: one Monitor state for the worker processes of one host, across exits, kills and restarts.

Worker processes are real processes (os.fork, and a fresh interpreter for the
atexit path); nothing here is simulated in one process.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import driftline as dl

host = pytest.importorskip("driftline.host")  # POSIX only (record locks)
from driftline import _host_file  # noqa: E402
from driftline.host import HostFileError, HostFileMismatchError, HostMonitor, HostSlotsFullError  # noqa: E402

RNG = np.random.default_rng(7)
PROFILE = dl.Profile.from_data(
    {"x": RNG.normal(size=4_000), "y": RNG.exponential(size=4_000), "kind": RNG.choice(["a", "b", "c"], size=4_000)}
)
T0 = 1_700_000_000.0


def clock() -> float:
    return T0 + 30.0


def make_monitor() -> dl.Monitor:
    return dl.Monitor(PROFILE, window=600, bucket=60, clock=clock)


def rows(n: int, seed: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(shift, size=n), "y": rng.exponential(size=n), "kind": rng.choice(["a", "b", "d"], size=n)}


def in_child(body: Callable[[], None], *, kill: bool = False) -> int:
    """Runs ``body`` in a forked child; it exits with 0 (or is SIGKILLed with ``kill``). Returns the wait status code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() of a threaded process (the publisher threads)
        pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()
            if kill:
                os.kill(os.getpid(), signal.SIGKILL)
            host._close_at_exit()  # what atexit does in a real exit; os._exit keeps pytest's teardown out
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "service.driftline"


def reference(*parts: dict[str, np.ndarray]) -> dl.Monitor:
    one = make_monitor()
    for part in parts:
        one.observe(part, t=T0)
    return one


def assert_same_report(a: dl.Report, b: dl.Report) -> None:
    """Every figure equal: the same integer counts give the same arithmetic, to the bit."""
    assert a.rows == b.rows
    assert a.to_dict() == b.to_dict()


def test_workers_add_up_to_one_monitor(path: Path) -> None:
    parts = [rows(300 + 50 * i, seed=i, shift=0.3 * i) for i in range(4)]
    with HostMonitor(make_monitor(), path, slots=8) as parent:
        parent.observe(parts[0], t=T0)
        for i in (1, 2, 3):
            assert in_child(lambda i=i: parent.observe(parts[i], t=T0)) == 0
        merged = parent.report()
        assert_same_report(merged, reference(*parts).report())
        assert parent.snapshot().rows == sum(len(p["x"]) for p in parts)
        # A report publishes the reporter's own state first: a sidecar reading the file alone sees it all.
        assert_same_report(host.read(path, clock=clock).report(), merged)
        parent.observe(parts[0], t=T0)
        assert host.read(path, clock=clock).rows == merged.rows  # not yet published
        parent.publish()
        assert host.read(path, clock=clock).rows == merged.rows + len(parts[0]["x"])


def test_an_exited_workers_slot_is_adopted_once(path: Path) -> None:
    with HostMonitor(make_monitor(), path, slots=4) as parent:
        assert in_child(lambda: parent.observe(rows(100, 1), t=T0)) == 0
        size = parent.storage

        def second() -> None:
            child = host._live  # the parent's HostMonitor, inherited: it claims on publishing
            (h,) = [h for h in child if h.path == str(path)]
            h.observe(rows(50, 2), t=T0)
            h.publish()
            assert h.slot == 1  # the slot the first child left, adopted (slot 0 is the parent's)
            assert h.monitor.rows == 150  # its own 50 plus the 100 adopted

        assert in_child(second) == 0
        assert parent.snapshot().rows == 150  # not 250: the adopted state is counted once
        assert parent.storage == size
        assert_same_report(parent.report(), reference(rows(100, 1), rows(50, 2)).report())


def test_sigkill_loses_exactly_what_was_not_published(path: Path) -> None:
    with HostMonitor(make_monitor(), path, slots=4, publish_interval=3600) as parent:

        def worker() -> None:
            parent.observe(rows(120, 3), t=T0)
            parent.publish()
            parent.observe(rows(80, 4), t=T0)  # never published: the kill loses these 80 rows

        assert in_child(worker, kill=True) == -signal.SIGKILL
        assert parent.snapshot().rows == 120
        # The dead worker's slot is free again (the kernel dropped its lock) and is adopted.
        assert in_child(lambda: parent.observe(rows(10, 5), t=T0)) == 0
        assert parent.snapshot().rows == 130
        assert_same_report(parent.report(), reference(rows(120, 3), rows(10, 5)).report())


def test_two_hundred_restarts_keep_storage_and_counters(path: Path) -> None:
    with HostMonitor(make_monitor(), path, slots=4, publish_interval=3600) as parent:
        observed, sizes, totals = 0, [], []
        for restart in range(200):
            part = rows(5, seed=restart)
            kill = restart % 3 == 2

            def worker(part: dict[str, np.ndarray] = part, kill: bool = kill) -> None:
                parent.observe(part, t=T0)
                if kill:
                    parent.publish()  # published, then killed: nothing of it may be lost

            assert in_child(worker, kill=kill) == (-signal.SIGKILL if kill else 0)
            observed += 5
            sizes.append(parent.storage)
            totals.append(parent.snapshot().rows)
        assert totals[-1] == observed == 1000
        assert totals == sorted(totals)  # the lifetime row counter never goes down
        assert sizes[-1] == sizes[0]  # the same file after 200 restarts as after 1
        owned = [e for e in range(4) if _entry(path, e).active]
        assert owned == [1]  # one worker at a time: every restart reused the same slot


def _entry(path: Path, slot: int) -> _host_file.Entry:
    with _host_file.reading(str(path)) as opened:
        return opened._read_entry(slot, opened.storage())


def test_a_normal_interpreter_exit_publishes(path: Path, tmp_path: Path) -> None:
    PROFILE.save(tmp_path / "p.drift")
    script = textwrap.dedent(
        f"""
        import driftline as dl
        from driftline.host import HostMonitor
        monitor = dl.Monitor(dl.Profile.load({str(tmp_path / 'p.drift')!r}), window=600, bucket=60,
                             clock=lambda: {T0 + 30.0!r})
        host = HostMonitor(monitor, {str(path)!r}, publish_interval=3600)
        host.observe({{"x": [0.1, 0.2, 0.3], "y": [1.0, 2.0, 3.0], "kind": ["a", "a", "b"]}}, t={T0!r})
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert host.read(path, clock=clock).rows == 3  # published by atexit, with an interval of an hour


def test_a_forked_child_starts_empty(path: Path) -> None:
    with HostMonitor(make_monitor(), path) as parent:
        parent.observe(rows(40, 6), t=T0)
        parent.publish()

        def child() -> None:
            (h,) = [h for h in host._live if h.path == str(path)]
            assert h.monitor.rows == 0 and h.slot is None  # the parent's 40 rows are the parent's
            assert h.snapshot().rows == 40  # ... and counted once, from its slot
            h.observe(rows(2, 7), t=T0)

        assert in_child(child) == 0
        assert parent.snapshot().rows == 42


def test_readers_never_see_a_torn_state(path: Path) -> None:
    """A writer publishing states of changing size (through extent growth) while the parent reads."""
    with HostMonitor(make_monitor(), path, publish_interval=3600) as parent:
        stop = path.with_suffix(".stop")

        def writer() -> None:
            (h,) = [h for h in host._live if h.path == str(path)]
            for i in range(400):
                if stop.exists():
                    break
                # Unseen categories make the state grow: blobs of many sizes, extents reallocated.
                h.observe({"x": np.arange(i + 1.0), "y": np.ones(i + 1), "kind": [f"c{i}"] * (i + 1)}, t=T0)
                h.publish()

        pid_done = threading.Event()
        status: list[int] = []
        threading.Thread(target=lambda: (status.append(in_child(writer)), pid_done.set()), daemon=True).start()
        seen = [0]
        deadline = time.monotonic() + 60
        while not pid_done.is_set() and time.monotonic() < deadline:
            n = parent.snapshot().rows  # decodes every slot: a torn blob would raise DecodeError
            assert n >= seen[-1]
            seen.append(n)
        stop.touch()
        assert pid_done.wait(60) and status == [0]
        assert parent.snapshot().rows == sum(range(1, 401))
        assert len(set(seen)) > 2  # the reads overlapped the writes


def test_threads_observe_publish_and_read_at_once(path: Path) -> None:
    with HostMonitor(make_monitor(), path, publish_interval=0.01) as h:
        part = rows(10, 8)

        def observe() -> None:
            for _ in range(200):
                h.observe(part, t=T0)

        def read() -> None:
            for _ in range(50):
                h.snapshot()
                h.publish()

        threads = [threading.Thread(target=f) for f in (observe, observe, read, read)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert h.snapshot().rows == 4_000
        h.publish()
        assert host.read(path, clock=clock).rows == 4_000
        assert h.publish_errors == 0


def test_background_publishing(path: Path) -> None:
    with HostMonitor(make_monitor(), path, publish_interval=0.05) as h:
        h.observe(rows(25, 9), t=T0)
        deadline = time.monotonic() + 10
        while host.read(path, clock=clock).rows != 25:
            assert time.monotonic() < deadline, "the publisher thread never published"
            time.sleep(0.02)
        published = h.publishes
        time.sleep(0.3)
        assert h.publishes == published  # unchanged state is not republished


def test_every_slot_owned(path: Path) -> None:
    with HostMonitor(make_monitor(), path, slots=1) as first:

        def second() -> None:
            with pytest.raises(HostSlotsFullError, match="all 1 slots"):
                HostMonitor(make_monitor(), path)
            assert first.slot is None  # the parent's slot stays the parent's

        assert in_child(second) == 0


def test_mismatched_and_foreign_files(path: Path, tmp_path: Path) -> None:
    with HostMonitor(make_monitor(), path):
        pass
    other = dl.Profile.from_data({"x": RNG.normal(size=100)})
    with pytest.raises(HostFileMismatchError, match="another profile"):
        HostMonitor(dl.Monitor(other, window=600, bucket=60), path)
    with pytest.raises(HostFileMismatchError, match="window or bucket"):
        HostMonitor(dl.Monitor(PROFILE, window=1200, bucket=60), path)
    foreign = tmp_path / "foreign"
    foreign.write_bytes(b"x" * 8192)
    with pytest.raises(HostFileError, match="not a driftline host file"):
        HostMonitor(make_monitor(), foreign)
    newer = tmp_path / "newer"
    data = bytearray(path.read_bytes())
    data[8:12] = struct.pack("<I", 2)
    newer.write_bytes(bytes(data))
    with pytest.raises(HostFileError, match="version 2 is newer"):
        host.read(newer)
    with pytest.raises(ValueError, match="slots"):
        HostMonitor(make_monitor(), tmp_path / "x", slots=0)
    with pytest.raises(ValueError, match="publish_interval"):
        HostMonitor(make_monitor(), tmp_path / "y", publish_interval=0)
    with pytest.raises(TypeError, match="Monitor"):
        HostMonitor(PROFILE, tmp_path / "z")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    p = tmp_path_factory.mktemp("host") / "f.driftline"
    with HostMonitor(make_monitor(), p, slots=3) as h:
        h.observe(rows(30, 10), t=T0)
        assert in_child(lambda: h.observe(rows(20, 11), t=T0)) == 0
    return p.read_bytes()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_file_is_refused_cleanly(written: bytes, tmp_path: Path, data: st.DataObject) -> None:
    """Decoding a host file is a security boundary: any damage gives a Monitor or a DecodeError, nothing else."""
    blob = bytearray(written)
    # Damage where it matters most: the header, the profile and the slot table, and anywhere.
    table = _host_file._pad(_host_file.PAGE + struct.unpack_from("<Q", written, 64)[0])
    region = data.draw(st.sampled_from([(0, 128), (4096, table), (table, table + 3 * 64), (0, len(blob))]))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(region[0], max(region[0], region[1] - 1)))
        blob[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    damaged = tmp_path / f"damaged-{os.urandom(6).hex()}"
    damaged.write_bytes(bytes(blob))
    try:
        monitor = host.read(damaged, clock=clock)
    except dl.DecodeError:
        return
    monitor.report()  # decoded: a Monitor whose every part the decoders checked, so it reports


def test_prometheus_scrape_and_cli_read_every_worker(path: Path) -> None:
    pytest.importorskip("prometheus_client")
    from prometheus_client import generate_latest

    from driftline.prometheus import registry_for

    with HostMonitor(make_monitor(), path) as parent:
        parent.observe(rows(60, 12), t=T0)
        assert in_child(lambda: parent.observe(rows(40, 13), t=T0)) == 0
        text = generate_latest(registry_for(parent)).decode()
        assert "driftline_rows_total 100.0" in text
        parent.publish()
    out = subprocess.run(
        [sys.executable, "-m", "driftline", "report", str(path), "--at", str(T0 + 30)], capture_output=True, text=True
    )
    assert out.returncode in (0, 1, 2, 3), out.stderr
    assert "100 rows" in out.stdout


def test_the_scrape_view_reports_what_a_fresh_snapshot_does(path: Path) -> None:
    """The view keeps its judge's cached verdicts across scrapes; they must never differ from a fresh judgement."""
    now = [T0 + 30.0]
    monitor = dl.Monitor(PROFILE, window=300, bucket=60, clock=lambda: now[0])
    with HostMonitor(monitor, path, slots=4, publish_interval=3600) as parent:
        for step in range(10):
            def worker(step: int = step) -> None:
                # Rows in the current bucket and in one already completed (late within the window).
                parent.observe(rows(150, seed=100 + step, shift=0.1 * step), t=now[0])
                parent.observe(rows(40, seed=200 + step), t=now[0] - 120.0)

            assert in_child(worker) == 0
            parent.observe(rows(30, seed=300 + step), t=now[0])
            with parent._scrape_view() as view:
                cached = view.report().to_dict()
            assert cached == parent.snapshot().report().to_dict()
            if step % 2:
                now[0] += 60.0  # buckets complete and expire
