"""One Monitor state for all the worker processes of a service on one host (gunicorn, uvicorn ``--workers``).

    import driftline as dl
    from driftline.host import HostMonitor

    monitor = dl.Monitor(profile, window=3600, bucket=60)
    host = HostMonitor(monitor, "/dev/shm/fraud-v3.driftline")
    host.observe(row)          # this worker's own Monitor: the cost of monitor.observe
    host.report()              # every worker's rows, merged (any worker, any time)

    $ driftline report /dev/shm/fraud-v3.driftline    # the same, from a sidecar

Each worker observes into its own :class:`~driftline.Monitor` (the hot path is
unchanged) and *publishes* its state into its own slot of a fixed-layout host
file (see :mod:`driftline._host_file`) every ``publish_interval`` seconds when
it has changed, and when it exits. A report, a scrape or a sidecar reads every
slot at one instant and merges them (a worker publishes its own first).

Lifecycle
---------
- **create / attach**: the first HostMonitor on a path creates the file; later
  ones check it was made for the same profile, window and bucket
  (:class:`HostFileMismatchError` otherwise: delete the file or use another
  path when the profile changes) and claim a slot no live process owns.
- **a worker exits** (``--max-requests``, reload, SIGTERM): it publishes its
  final state and gives its slot up; the state stays in the slot. The next
  worker that claims the slot *adopts* it: merges it into its own Monitor and
  publishes the sum into the same slot, so the state is counted exactly once
  and the lifetime counters never go down. Slots in use never exceed the most
  processes alive at once, whatever the number of restarts.
- **a worker is killed** (SIGKILL, OOM): the kernel drops its slot's owner
  lock; the slot keeps the last published state. What is lost is what that
  worker observed after its last publish: at most ``publish_interval`` seconds
  of its traffic. A worker killed while publishing leaves its previous state.
- **service restart**: the file persists (in ``/dev/shm`` until the host
  reboots), and the new workers adopt the old slots, so counters continue.
  Delete the file to start from nothing.
- **forked children** (``gunicorn --preload``): a child owns no slot and
  starts from an empty Monitor (what its parent observed is the parent's);
  it claims a slot when it first publishes.

No gunicorn or uvicorn hooks are needed: a worker's exit publishes through
:mod:`atexit`. A server that ends workers with ``os._exit`` loses what they
observed since their last publish, as a SIGKILL does; call :meth:`close` in
its exit hook (gunicorn's ``worker_exit``) to avoid that.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import weakref
from typing import Any, Iterator, Optional, Union

import numpy.typing as npt

from . import _core, _host_file
from ._host_file import HostFileError, HostFileMismatchError
from .monitor import Monitor
from .report import Report

__all__ = ["HostMonitor", "HostFileError", "HostFileMismatchError", "HostSlotsFullError", "read"]

_log = logging.getLogger("driftline.host")

# Extents are at least this large (and 4x the creator's state): most states never outgrow them.
MINIMUM_EXTENT = 1 << 16


class HostSlotsFullError(RuntimeError):
    """Every slot of the host file is owned by a live process: create the file with more ``slots``."""


def _state_key(monitor: Monitor) -> tuple[int, int]:
    """Changes whenever the Monitor's state does (every observation adds a row or a latency)."""
    return (monitor.rows, monitor._latency.total)


class HostMonitor:
    """This process's share of a host-wide Monitor state (see the module's documentation for the lifecycle).

    ``monitor`` is this worker's own Monitor (observe into it directly or through
    this object); ``path`` the host file, on a local file system (``/dev/shm`` is
    memory). ``slots`` (when creating the file; default ``max(16, 4 x CPUs)``)
    bounds the processes that may hold a slot at once; ``publish_interval`` how
    stale another worker's rows may be in a report, and what a SIGKILL may lose.

    Guarantees: a report counts every published row exactly once; readers never
    see a half-written state; the file's size depends on the state's size and
    the slot count, never on restarts (extents grow by doubling when one
    worker's state outgrows its own). Thread-safe. Memory: the worker's own
    Monitor, plus one report-only Monitor of the host's state once a scrape
    has used it (see :meth:`_scrape_view`), plus each snapshot while in use.
    """

    def __init__(
        self,
        monitor: Monitor,
        path: Union[str, "os.PathLike[str]"],
        *,
        slots: Optional[int] = None,
        publish_interval: float = 1.0,
        mode: int = 0o600,
    ) -> None:
        if not isinstance(monitor, Monitor):
            raise TypeError(f"monitor must be a driftline.Monitor, got {type(monitor).__name__}")
        if slots is None:
            slots = max(16, 4 * (os.cpu_count() or 1))
        if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= _host_file.MAX_SLOTS:
            raise ValueError(f"slots must be an integer in [1, {_host_file.MAX_SLOTS}], got {slots!r}")
        interval = float(publish_interval)
        if not 0.01 <= interval <= 3600:
            raise ValueError(f"publish_interval must be in [0.01, 3600] seconds, got {publish_interval!r}")
        self._monitor = monitor
        self._interval = interval
        self._file = _host_file.shared_file(
            os.fspath(path),
            create=(
                slots,
                monitor.window,
                monitor.bucket,
                monitor._fingerprint,
                monitor._profile_bytes,
                max(MINIMUM_EXTENT, 4 * len(monitor.to_bytes())),
            ),
            mode=mode,
        )
        header = self._file.header
        if (header.window, header.bucket) != (monitor.window, monitor.bucket) or header.fingerprint != monitor._fingerprint:
            raise HostFileMismatchError(
                f"{self._file.path} holds state for another {'profile' if header.fingerprint != monitor._fingerprint else 'window or bucket'}"
                f" (window={header.window:g} s, bucket={header.bucket:g} s, profile {header.fingerprint.hex()[:12]}): "
                "delete it or use another path"
            )
        self._lock = threading.RLock()
        self._view_lock = threading.Lock()
        self._view: Optional[Monitor] = None
        self._slot: Optional[int] = None
        self._published: tuple[int, int] = (0, 0)
        self._publishes = 0
        self._errors = 0
        self._closed = False
        self._pid = os.getpid()
        with self._lock:
            if self._claim():
                self._publish()
        self._start()
        _live.add(self)

    # -- what users call ---------------------------------------------------------------
    @property
    def monitor(self) -> Monitor:
        """This worker's own Monitor."""
        return self._monitor

    @property
    def path(self) -> str:
        return self._file.path

    @property
    def slot(self) -> Optional[int]:
        """The slot this process publishes into (None before it claims one, after a fork, or once closed)."""
        return self._slot

    @property
    def slots(self) -> int:
        return self._file.header.slots

    @property
    def storage(self) -> int:
        """The host file's size in bytes."""
        return self._file.storage()

    @property
    def publishes(self) -> int:
        """How many times this process published its state."""
        return self._publishes

    @property
    def publish_errors(self) -> int:
        """Background publishes that failed (each logged on the ``driftline.host`` logger)."""
        return self._errors

    def observe(self, data: Any, t: Union[None, float, npt.ArrayLike] = None) -> None:
        """:meth:`Monitor.observe` on this worker's Monitor."""
        self._monitor.observe(data, t)

    def observe_latency(self, seconds: Union[float, npt.ArrayLike], t: Optional[float] = None) -> None:
        """:meth:`Monitor.observe_latency` on this worker's Monitor."""
        self._monitor.observe_latency(seconds, t)

    def time(self) -> _core.LatencyTimer:
        """:meth:`Monitor.time` on this worker's Monitor."""
        return self._monitor.time()

    def publish(self) -> None:
        """Writes this worker's state into its slot now (also when unchanged)."""
        with self._lock:
            if self._closed:
                raise ValueError("this HostMonitor is closed")
            self._publish()

    def snapshot(self) -> Monitor:
        """A new Monitor holding every worker's state as published, this worker's published first.

        Every snapshot is read from the file (this worker's own state is
        published into it first when it has changed), and a slot only ever
        grows, so the lifetime counters of successive snapshots never go down,
        whichever worker takes them.
        """
        with self._lock:
            self._check_fork()
            if not self._closed and (self._slot is None or _state_key(self._monitor) != self._published):
                self._publish()
            blobs = self._file.read_all()
        merged: Optional[Monitor] = None
        monitor = self._monitor
        for _, blob in blobs:
            state = Monitor.from_bytes(blob, monitor.policy, monitor._clock, profile=monitor.profile)
            merged = state if merged is None else merged.merge(state)
        return merged if merged is not None else monitor._empty_copy()

    @contextlib.contextmanager
    def _scrape_view(self) -> Iterator[Monitor]:
        """A report-only Monitor of the host's state, held for one scrape (scrapes of this process take turns).

        The same Monitor every time, given each snapshot's state in place: the
        slots only grow, so the verdicts its judge cached for completed buckets
        whose rows did not change stay valid, and a scrape does not judge the
        whole window again.
        """
        merged = self.snapshot()
        with self._view_lock:
            if self._view is None:
                self._view = merged
            else:
                self._view._take_state(merged)
            yield self._view

    def report(self, last: Optional[float] = None, *, detail: bool = False) -> Report:
        """The report of every worker's state (see :meth:`snapshot`)."""
        return self.snapshot().report(last, detail=detail)

    def close(self) -> None:
        """Publishes the final state and gives the slot up; the state stays for the next owner. Idempotent."""
        with self._lock:
            if self._closed or self._pid != os.getpid():
                self._closed = True
                return
            self._stop.set()
            try:
                if _state_key(self._monitor) != self._published:
                    self._publish()  # claims a slot first if this process has none yet
            finally:
                if self._slot is not None:
                    self._file.release(self._slot)
                self._slot = None
                self._closed = True
        _live.discard(self)

    def __enter__(self) -> "HostMonitor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HostMonitor({self.path!r}, slot={self._slot}, slots={self.slots}, publishes={self._publishes})"

    # -- slots and publishing ----------------------------------------------------------
    def _claim(self) -> bool:
        """Takes a slot, adopting the state a previous owner left in it; whether it did (held lock: self._lock).

        After an adoption the caller must publish at once, so that the slot
        holds the adopted state and this Monitor's together, never one twice.
        """
        slot = self._file.claim()
        if slot is None:
            raise HostSlotsFullError(
                f"all {self.slots} slots of {self.path} are owned by live processes; "
                "recreate the file with more slots (HostMonitor(..., slots=N))"
            )
        try:
            left = self._file.read_own(slot)
            if left is not None:
                previous = Monitor.from_bytes(left, profile=self._monitor.profile)
                self._monitor.merge(previous)
        except BaseException:
            self._file.release(slot)
            raise
        self._slot = slot
        return left is not None

    def _publish(self) -> None:
        if self._slot is None:
            self._claim()
        assert self._slot is not None
        key = _state_key(self._monitor)  # before encoding: a row observed meanwhile makes the next tick publish again
        self._file.write(self._slot, self._monitor.to_bytes(), MINIMUM_EXTENT)
        self._published = key
        self._publishes += 1

    def _tick(self) -> None:
        with self._lock:
            if self._closed or self._pid != os.getpid():
                return
            if self._slot is None or _state_key(self._monitor) != self._published:
                self._publish()

    def _start(self) -> None:
        self._stop = threading.Event()
        stop, interval, ref = self._stop, self._interval, weakref.ref(self)

        def run() -> None:
            # Holds only a weak reference, so an abandoned HostMonitor can be collected.
            while not stop.wait(interval):
                host = ref()
                if host is None:
                    return
                try:
                    host._tick()
                except Exception:
                    host._errors += 1
                    _log.exception("driftline: publishing to %s failed", host.path)
                del host

        threading.Thread(target=run, name="driftline-host-publisher", daemon=True).start()

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            self._after_fork()

    def _after_fork(self) -> None:
        """In a forked child: no slot, no thread, and none of the parent's rows."""
        self._lock = threading.RLock()
        self._view_lock = threading.Lock()
        self._view = None
        self._pid = os.getpid()
        self._slot = None
        self._monitor._reset()
        self._published = _state_key(self._monitor)
        self._publishes = 0
        if not self._closed:
            self._start()


_live: "weakref.WeakSet[HostMonitor]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    _host_file.forget_owned_after_fork()
    for host in list(_live):
        host._after_fork()


def _close_at_exit() -> None:
    for host in list(_live):
        if host._pid == os.getpid():
            try:
                host.close()
            except Exception:  # pragma: no cover - logged, and the interpreter is exiting anyway
                _log.exception("driftline: publishing to %s at exit failed", host.path)


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_at_exit)


def read(path: Union[str, "os.PathLike[str]"], policy: Any = None, clock: Any = None) -> Monitor:
    """Every slot of a host file merged into one Monitor (for a sidecar; needs only read access).

    The profile comes from the file. Raises :class:`HostFileError` (a
    :class:`driftline.DecodeError`) for a file that is not a host file or is
    damaged.
    """
    from .profile import Profile

    with _host_file.reading(os.fspath(path)) as opened:
        profile = Profile.from_bytes(opened.profile_bytes)
        blobs = opened.read_all()
        header = opened.header
    if profile._encoding()[1] != header.fingerprint:
        raise HostFileError(f"{opened.path}: the profile does not match the header's fingerprint")
    try:
        merged = Monitor(profile, header.window, header.bucket, policy, clock)
    except ValueError as e:
        raise HostFileError(f"{opened.path}: damaged host file header ({e})") from None
    for _, blob in blobs:
        merged.merge(Monitor.from_bytes(blob, policy, clock, profile=profile))
    return merged
