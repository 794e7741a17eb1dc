"""The Monitor: one cheap call per request; a report a person can act on.

The concepts live in their own modules: the write path in ``_ingest``,
unexpected fields and unseen categories in ``_trackers``, judgement and
reason text in ``_evaluation`` (the arithmetic in the core's Evaluator), and
the state's bytes in ``_monitor_codec``. This class wires them together.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _core, _monitor_codec
from ._clock import Clock, check_clock, read_clock
from ._initialized import guard_state
from ._evaluation import Judge, latency_report, overall_status, timestamp_reason
from ._ingest import Ingest, times_of
from ._trackers import Trackers
from .policy import Policy
from .profile import Profile
from .report import Distribution, FeatureReport, Report, Timeline
from .sketch import QuantileSketch
from .window import Window

__all__ = ["Monitor"]

# Every core count is a uint64: a merge whose sums reach this is refused.
_COUNT_LIMIT = 2**64


def _timed(timer: Any, function: Callable[..., Any]) -> Callable[..., Any]:
    """``@monitor.time()``: ``function`` timed per call, each call with a timer of its own.

    (Called by the core's LatencyTimer when used as a decorator.) A timer per
    call keeps concurrent calls from many threads or tasks from mixing starts.
    """

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with timer.fresh():
            return function(*args, **kwargs)

    return timed


class Monitor(_core.RequestPaths):
    """Compares live traffic with a :class:`~driftline.Profile`, per feature, in event-time buckets.

    ``window`` seconds of history are kept in buckets of ``bucket`` seconds
    (``window`` must be a whole number of buckets); ``report(last)`` looks at the
    last ``last`` seconds (the whole window by default) and judges each feature
    bucket by bucket under ``policy`` (see :class:`~driftline.Policy`).
    ``clock`` is any callable returning seconds (``time.time`` by default);
    observations carry the clock's time unless given ``t``. The Monitor keeps
    its own copy of ``profile`` (later changes to that object do not reach it).

    Thread-safe. The numeric state is one C++ object; memory is fixed:
    ``(window / bucket + 1) * (sum over features of (bins + 7)) * 8`` bytes, plus a
    latency window and, for each unexpected field seen (at most 64), a window of
    ``window / bucket + 1`` small sketches; unseen-category examples are bounded too.
    One-row observes and latencies are staged (at most 32 of each, 64 KiB of
    row values) and counted before anything reads the state, so every read sees
    them; the per-request calls pay the state's cold caches once per 32.
    A report costs O(features x cells) arithmetic whatever the traffic: completed
    buckets are judged once and cached in the core.
    """

    def __init__(
        self,
        profile: Profile,
        window: float = 3600.0,
        bucket: float = 60.0,
        policy: Optional[Policy] = None,
        clock: Optional[Clock] = None,
    ) -> None:
        if not isinstance(profile, Profile):
            raise TypeError(f"profile must be a driftline.Profile, got {type(profile).__name__}")
        if policy is not None and not isinstance(policy, Policy):
            raise TypeError(f"policy must be a driftline.Policy, got {type(policy).__name__}")
        window, bucket = float(window), float(bucket)
        if not (bucket > 0 and math.isfinite(bucket)) or not (window >= bucket and math.isfinite(window)):
            raise ValueError(f"need 0 < bucket <= window, both finite; got window={window}, bucket={bucket}")
        length = round(window / bucket)
        if abs(length * bucket - window) > 1e-9 * window:
            raise ValueError(f"window ({window:g} s) must be a whole number of buckets ({bucket:g} s)")
        self._setup(profile, window, bucket, length, policy, clock, None)

    def _setup(
        self,
        profile: Profile,
        window: float,
        bucket: float,
        length: int,
        policy: Optional[Policy],
        clock: Optional[Clock],
        state: Optional[tuple[Any, Window[QuantileSketch]]],
    ) -> None:
        """Configures a Monitor from a checked geometry; ``state`` is decoded (core, latency) or None for an empty one."""
        # The profile as it is now: its bytes (and fingerprint) are what this
        # Monitor was built with; the Profile object users read back, and the
        # reference tables of the judge, come from those bytes when first needed.
        self._profile_bytes, self._fingerprint = profile._encoding()
        self._profile_copy: Optional[Profile] = None
        self._judge_instance: Optional[Judge] = None
        self._policy = policy if policy is not None else Policy()
        self._clock: Clock = check_clock(clock)
        self._clock_reader = _core.Clock(self._clock)
        self._window_seconds = window
        self._bucket = bucket
        self._length = length
        self._trackers = Trackers(bucket, length, self._clock)
        self._names = profile.names
        if state is None:
            state = (
                _core.FeatureWindow([f.edges.tolist() for f in profile], bucket, length),
                # Expired latencies are kept: the Prometheus histogram's counts must never go down.
                Window(QuantileSketch(0.01), bucket, length, self._clock, keep_expired=True),
            )
        self._core: Any = state[0]
        self._latency: Window[QuantileSketch] = state[1]
        self._timer = _core.LatencyTimer(self._latency._core, self._clock_reader)
        self._ingest = Ingest(profile, self._core, self._trackers)
        self._set_request_paths(_core.RowObserver(self._ingest.encoder, self._core, self._clock_reader), self._timer)

    def _install(self, core: Any, latency: Window[QuantileSketch]) -> None:
        """Replaces the numeric state with a decoded one of the same layout (the per-request paths follow it)."""
        self._core = core
        self._latency = latency
        self._timer = _core.LatencyTimer(latency._core, self._clock_reader)
        self._ingest.core = core
        self._set_request_paths(_core.RowObserver(self._ingest.encoder, core, self._clock_reader), self._timer)

    @property
    def _judge(self) -> Judge:
        judge = self._judge_instance
        if judge is None:
            judge = self._judge_instance = Judge(self.profile, self._policy, self._bucket)
        return judge

    # -- configuration -------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        """The profile this Monitor compares with (its own copy, decoded from the bytes it was built with)."""
        copy = self._profile_copy
        if copy is None:
            copy = self._profile_copy = Profile.from_bytes(self._profile_bytes)
        return copy

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def window(self) -> float:
        return self._window_seconds

    @property
    def bucket(self) -> float:
        return self._bucket

    @property
    def rows(self) -> int:
        """Every row ever observed (in the window, late, future or expired)."""
        return int(self._core.total)

    @property
    def late(self) -> int:
        return int(self._core.late)

    @property
    def future(self) -> int:
        return int(self._core.future)

    @property
    def expired(self) -> int:
        """Rows that aged out of the window (counted in a bucket that has since left it)."""
        return int(self._core.expired)

    def _now(self) -> float:
        return read_clock(self._clock)

    def __repr__(self) -> str:
        return (
            f"Monitor({len(self._names)} features, window={self._window_seconds:g} s, "
            f"bucket={self._bucket:g} s, rows={self.rows})"
        )

    # -- observing ---------------------------------------------------------------
    # observe(data, t=None) and time() are methods of the C base,
    # _core.RequestPaths, documented there: a row observed at the clock's now
    # and a fresh latency timer, the per-request calls, run without a Python
    # frame. The base calls these two for everything else.
    def _observe_general(self, data: Any, t: Union[None, float, npt.ArrayLike]) -> None:
        """``observe`` of anything but a dict row at the clock's now (see ``observe``)."""
        now = self._now()
        self._ingest.observe(data, times_of(data, t, now), now)

    def _track_leftovers(self, left: tuple[float, Any, Any]) -> None:
        """A counted row's unseen categories and unexpected fields, for the trackers."""
        self._ingest.track_leftovers(*left)

    def observe_latency(self, seconds: Union[float, npt.ArrayLike], t: Optional[float] = None) -> None:
        """Adds one latency (or an array of them), in seconds, at time ``t``."""
        if isinstance(seconds, (float, int)) or np.ndim(seconds) == 0:
            self._latency.record(seconds, t)  # type: ignore[arg-type]
        else:
            self._latency.fill(seconds, t)

    # -- reporting ---------------------------------------------------------------
    def report(self, last: Optional[float] = None, *, detail: bool = False) -> Report:
        """The verdict now over the last ``last`` seconds (default: the whole window).

        ``detail=True`` adds what a picture needs (:meth:`Report.to_html`): each
        feature's reference and span distribution (``FeatureReport.distribution``)
        and the per-bucket levels (``Report.timeline``); it costs a pass over the
        window's counts, so scrapes leave it off.
        """
        span = self._window_seconds if last is None else float(last)
        if not span >= 0:
            raise ValueError(f"last must be a non-negative number of seconds, got {last!r}")
        now = self._now()
        arrays = self._judge.evaluate(self._core, span, now)
        unseen = self._trackers.unseen_snapshot(span, now)
        features = self._judge.feature_reports(arrays, unseen)
        seasons = arrays["season"]
        season = int(seasons[0]) if len(seasons) and seasons[0] >= 0 else None  # the same slot for every feature
        schema = self._trackers.schema_report(
            self.profile, self._policy, arrays["rows"], arrays["absent"], span, now, season
        )
        latency = latency_report(self._latency, self._policy, self._bucket, span, now, self._judge.judged_span)
        # The counters, read once after the evaluation (rows observed meanwhile by
        # other threads show up in before_span): the report accounts for every row.
        total, late, future, expired = int(self._core.total), self.late, self.future, self.expired
        timestamps = timestamp_reason(total, late, future)
        status, reasons = overall_status(
            features, arrays["level"], schema, latency, self._policy.min_count, timestamps
        )
        rows = int(arrays["span_rows"])
        timeline = None
        if detail:
            features, timeline = self._detail(features, arrays, span, now)
        return Report(
            status=status,
            time=now,
            span=span,
            rows=rows,
            late=late,
            future=future,
            features=features,
            schema=schema,
            latency=latency,
            reasons=reasons,
            expired=expired,
            before_span=max(total - rows - late - future - expired, 0),
            timeline=timeline,
        )

    def _detail(
        self, features: dict[str, FeatureReport], arrays: dict[str, Any], span: float, now: float
    ) -> tuple[dict[str, FeatureReport], Timeline]:
        """The features with their distributions over the span, and the span's timeline."""
        cells = self._span_cells(span, now)
        detailed = {
            f.name: dataclasses.replace(
                features[f.name],
                distribution=Distribution.of(f.labels(), f.cells(), cells[i], f.kind == "categorical"),
            )
            for i, f in enumerate(self.profile)
        }
        levels = np.asarray(arrays["levels"])
        timeline = Timeline(
            tuple(float(t) for t in arrays["bucket_starts"]),
            {name: tuple(int(v) for v in levels[i]) for i, name in enumerate(self.profile.names)},
        )
        return detailed, timeline

    def _span_cells(self, span: float, now: float) -> list[np.ndarray]:
        """Per feature, the counts of its cells ``[underflow, bins..., overflow]`` (NaN left out) over the span."""
        snap = self._core.snapshot(now)
        selected = snap["starts"] + self._bucket > now - span
        totals = snap["counts"][selected].sum(axis=0).astype(np.float64)
        offsets = self._core.offsets
        return [totals[offsets[i] : offsets[i] + len(f.edges) + 1] for i, f in enumerate(self.profile)]

    # -- state across processes -----------------------------------------------------
    def _empty_copy(self) -> "Monitor":
        """A Monitor of the same profile, geometry, policy and clock, with no state."""
        return Monitor(self.profile, self._window_seconds, self._bucket, self._policy, self._clock)

    def _take_state(self, other: "Monitor") -> None:
        """Makes this report-only view hold ``other``'s state (same profile, window and bucket).

        The feature window keeps its identity, so the judge's cached verdicts of
        completed buckets whose rows did not change stay in use. Only for a
        state that grew from this one's (successive merges of the same workers'
        growing states); nothing may be observed into this Monitor afterwards.
        """
        self._core.assign(other._core)
        self._latency = other._latency
        self._trackers = other._trackers

    def _reset(self) -> None:
        """Drops the state in place (a forked child's copy of its parent's rows belongs to the parent)."""
        self._setup(self.profile, self._window_seconds, self._bucket, self._length, self._policy, self._clock, None)

    def merge(self, other: "Monitor") -> "Monitor":
        """Adds another Monitor's state (same profile, window and bucket); returns ``self``.

        For many workers or hosts: the merged Monitor reports what one Monitor
        that saw every event would (bounded trackers keep their bounds).
        """
        if not isinstance(other, Monitor):
            raise TypeError(f"can only merge a Monitor, got {type(other).__name__}")
        if other is self:
            raise ValueError("cannot merge a Monitor into itself")
        if (other._window_seconds, other._bucket) != (self._window_seconds, self._bucket):
            raise ValueError("cannot merge Monitors with different window or bucket")
        if other._fingerprint != self._fingerprint:
            raise ValueError("cannot merge Monitors built on different profiles")
        # All or nothing: every count the merge adds is bounded by one of these
        # sums (a field's values and observations by the rows: observe keeps it
        # so and the decoder checks it), so once they fit no part can overflow
        # after another has changed.
        if (
            self.rows + other.rows >= _COUNT_LIMIT
            or self._latency.total + other._latency.total >= _COUNT_LIMIT
            or self._trackers.untracked + other._trackers.untracked >= _COUNT_LIMIT
        ):
            raise OverflowError("cannot merge: a count would reach 2^64; nothing was changed")
        self._core.merge(other._core)
        self._latency.merge(other._latency)
        self._trackers.merge(other._trackers)
        return self

    def to_bytes(self, *, embed_profile: bool = False) -> bytes:
        """The Monitor's state in driftline's binary format (policy and clock excluded).

        By default the profile is referred to by its fingerprint (SHA-256 of its
        bytes), so state from many workers stays small; decode it with
        ``Monitor.from_bytes(data, profile=profile)``. ``embed_profile=True``
        writes a self-contained blob for files meant to travel alone.
        """
        return _monitor_codec.encode(self, embed_profile)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        policy: Optional[Policy] = None,
        clock: Optional[Clock] = None,
        *,
        profile: Optional[Profile] = None,
    ) -> "Monitor":
        """Decodes :meth:`to_bytes` output (any format version up to this one's).

        ``profile`` is required for state written without an embedded profile,
        and must be the very profile it was recorded with (same fingerprint;
        otherwise :class:`ProfileMismatchError`, a ``ValueError``). Raises
        :class:`driftline.DecodeError` for any malformed blob.
        """
        return _monitor_codec.decode(cls, data, profile, policy, clock)

    def __reduce__(self) -> tuple[Any, ...]:
        # The clock is process state, not data: an unpickled Monitor uses the wall clock.
        return (Monitor.from_bytes, (self.to_bytes(embed_profile=True), self._policy))

    def __copy__(self) -> "Monitor":
        # A copy in this process keeps the clock (the same callable, shared) and the profile.
        return _monitor_codec.decode(type(self), self.to_bytes(), self.profile, self._policy, self._clock)

    def __deepcopy__(self, memo: dict[int, Any]) -> "Monitor":
        return self.__copy__()


# What __init__ (or a decoder, through _setup) sets on every Monitor. Reading
# any of it on an uninitialized one (Monitor.__new__, a subclass that skipped
# super().__init__) raises NotInitializedError; observe() and time() read it
# there too. Kept as class-level guards rather than a __getattr__: the class's
# attribute lookup stays the generic one, so calls of the C base's methods are
# specialized by the interpreter (no bound method built per request).
guard_state(
    Monitor,
    (
        "_profile_bytes", "_fingerprint", "_profile_copy", "_judge_instance", "_policy", "_clock", "_clock_reader",
        "_window_seconds", "_bucket", "_length", "_trackers", "_names", "_core", "_latency", "_timer", "_ingest",
    ),
)
