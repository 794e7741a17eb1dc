"""What a Monitor keeps about things its profile does not know: unexpected fields and unseen categories.

Bounded: at most ``MAX_UNEXPECTED_FIELDS`` fields are tracked by name (values
of more are counted in ``untracked``), each with a windowed sketch of its
numbers and at most ``MAX_TEXT_VALUES`` distinct text values (the rest in
``other``); at most ``MAX_UNSEEN_EXAMPLES`` unseen categories per feature, the
most recently seen kept.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Any, Callable, Optional, Union

import numpy as np

from . import _binary, _core
from ._clock import Clock
from .drift import psi
from .policy import Policy
from .profile import CategoricalFeature, NumericFeature, Profile
from .report import SchemaReport, Status
from .sketch import QuantileSketch
from .window import Window

MAX_UNEXPECTED_FIELDS = 64
MAX_TEXT_VALUES = 64
MAX_UNSEEN_EXAMPLES = 10


def readable_category(v: Any) -> Any:
    """``v``'s canonical category (the Profile's rule), or None when it is missing or cannot be read.

    An unexpected field's value is data, never a reason to fail a call that has
    counted its row: a value whose ``str()`` raises is still an observation of
    the field (in its window, as NaN), with no text.
    """
    try:
        return _core._canonical_category(v)
    except Exception:
        return None


def field_key(name: Any) -> str:
    """The tracker name of a field: a str as itself, anything else by its repr (or its type when repr raises)."""
    if isinstance(name, str):
        return name
    try:
        return repr(name)
    except Exception:
        return f"<unprintable {type(name).__name__}>"


class FieldTracker:
    """An unexpected field: its observations over time (numbers in a sketch, text values counted).

    Every observation goes into the windowed sketch: numbers as themselves,
    anything else as NaN (so ``total`` counts observations). Text values are
    also counted, up to ``MAX_TEXT_VALUES`` distinct ones (the rest in ``other``).
    """

    def __init__(self, bucket: float, length: int, clock: Clock) -> None:
        self.window: Window[QuantileSketch] = Window(QuantileSketch(0.01), bucket, length, clock)
        self.text: Counter[Any] = Counter()
        self.other = 0

    def add(self, values: list[Any], t: Union[float, np.ndarray]) -> None:
        numbers = np.full(len(values), math.nan)
        for i, v in enumerate(values):
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                try:
                    numbers[i] = float(v)
                    continue
                except (OverflowError, TypeError, ValueError):
                    pass  # an int beyond the double range (or a complex): kept as its text
            category = readable_category(v)
            if category is not None:
                self.add_text(category, 1)
        self.window.fill(numbers, t)

    def add_text(self, v: Any, n: int) -> None:
        if v in self.text or len(self.text) < MAX_TEXT_VALUES:
            self.text[v] += n
        else:
            self.other += n

    def cells_like(self, feature: Union[NumericFeature, CategoricalFeature], sketch: QuantileSketch) -> Optional[np.ndarray]:
        """This field's live values in the cells of a profile feature (None if the kinds differ)."""
        if isinstance(feature, NumericFeature):
            if sketch.count == 0:
                return None
            # Fractions at or below each edge, from the sketch (1 % accurate in value).
            below = np.array([sketch.rank(float(np.nextafter(e, -np.inf))) for e in feature.edges])
            shares = np.diff(np.concatenate(([0.0], below, [1.0])))
            return np.clip(shares, 0.0, None) * sketch.count
        codes = feature.codes
        cells = np.zeros(len(feature.categories) + 3)
        for value, n in self.text.items():
            cells[codes.get(value, len(feature.categories)) + 1] += n
        cells[len(feature.categories) + 1] += self.other
        return cells if cells.sum() else None


class Trackers:
    """A Monitor's unexpected fields and unseen-category examples. Thread-safe (one lock)."""

    def __init__(self, bucket: float, length: int, clock: Clock) -> None:
        self._bucket, self._length, self._clock = bucket, length, clock
        self.fields: dict[str, FieldTracker] = {}
        self.untracked = 0
        self.unseen: dict[int, dict[Any, float]] = {}
        self._lock = threading.Lock()
        # Told of every tracked field's window as it is created, so the row
        # encoder can count plain numbers of that field without Python.
        self._on_new_field: Optional[Callable[[str, Any], None]] = None

    def on_new_field(self, callback: Callable[[str, Any], None]) -> None:
        """Calls ``callback(name, core_window)`` for every tracked field, now and whenever one is added."""
        with self._lock:
            self._on_new_field = callback
            for name, tracker in self.fields.items():
                callback(name, tracker.window._core)

    def _tracker(self, name: Any) -> FieldTracker:
        key = field_key(name)
        tracker = self.fields.get(key)
        if tracker is None:
            if len(self.fields) >= MAX_UNEXPECTED_FIELDS:
                self.untracked += 1
                return FieldTracker(self._bucket, self._length, self._clock)  # counted, then discarded
            tracker = self.fields[key] = FieldTracker(self._bucket, self._length, self._clock)
            if self._on_new_field is not None:
                self._on_new_field(key, tracker.window._core)
        return tracker

    def add_fields(self, fields: list[tuple[Any, list[Any]]], t: Union[float, np.ndarray]) -> None:
        """Unexpected fields with their values (one per row of the call), at time(s) ``t``."""
        with self._lock:
            for name, values in fields:
                self._tracker(name).add(values, t)

    def note_unseen(self, triples: list[tuple[int, Any, int]], t: Union[float, np.ndarray]) -> None:
        """Unseen categories as (feature, value, row) from the encoder, kept with their row's time."""
        with self._lock:
            for f, value, row in triples:
                examples = self.unseen.setdefault(f, {})
                examples[value] = float(t[row]) if isinstance(t, np.ndarray) else t  # canonical already
                if len(examples) > MAX_UNSEEN_EXAMPLES:
                    del examples[min(examples, key=examples.__getitem__)]

    def unseen_snapshot(self, span: float, now: float) -> dict[int, tuple[Any, ...]]:
        """Per categorical feature index, its unseen examples within the span, most recent first."""
        with self._lock:
            items = [(f, list(e.items())) for f, e in self.unseen.items()]
        return {
            f: tuple(v for v, seen in sorted(examples, key=lambda kv: -kv[1]) if seen > now - span)
            for f, examples in items
        }

    def schema_report(
        self, profile: Profile, policy: Policy, rows: np.ndarray, absent: np.ndarray, span: float, now: float,
        season: Optional[int] = None,
    ) -> SchemaReport:
        """Missing fields (absent from at least ``policy.absent_rate`` of each feature's ``rows``), unexpected ones, renames.

        A rename is matched against the reference of ``season`` (a seasonal
        profile's slot of the report's newest bucket) when given, else the overall one.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = absent / rows
        names = profile.names
        missing = {names[i]: float(rate[i]) for i in np.flatnonzero((rows > 0) & (rate >= policy.absent_rate)).tolist()}
        with self._lock:
            trackers = list(self.fields.items())
        unexpected: dict[str, int] = {}
        live: dict[str, tuple[QuantileSketch, FieldTracker]] = {}
        for name, tracker in trackers:
            merged = tracker.window._merged_at(span, now)
            seen = merged.count + merged.nan_count + merged.positive_inf_count + merged.negative_inf_count
            if seen:
                unexpected[name] = int(seen)
                live[name] = (merged, tracker)
        renames = []
        for name in missing:
            feature = profile[name]
            ref = profile.season_counts(season, name)[:-1].astype(np.float64) if season is not None else feature.cells()
            best: Optional[tuple[float, str]] = None
            for other, (sketch, tracker) in live.items():
                cur = tracker.cells_like(feature, sketch)
                if cur is None or cur.sum() < policy.min_count:
                    continue
                distance = psi(ref, cur)
                if distance < policy.psi_warn and (best is None or distance < best[0]):
                    best = (distance, other)
            if best is not None:
                renames.append((name, best[1], float(best[0])))
        status = Status.ALERT if missing else (Status.WARN if unexpected else Status.OK)
        return SchemaReport(missing=missing, unexpected=unexpected, renames=tuple(renames), status=status)

    def merge(self, other: "Trackers") -> None:
        with other._lock:
            trackers = list(other.fields.items())
            untracked = other.untracked
            unseen = {f: dict(e) for f, e in other.unseen.items()}
        with self._lock:
            self.untracked += untracked
            for name, tracker in trackers:
                mine = self._tracker(name)
                mine.window.merge(tracker.window)
                for v, n in tracker.text.items():
                    mine.add_text(v, n)
                mine.other += tracker.other
            for f, examples in unseen.items():
                mine_examples = self.unseen.setdefault(f, {})
                for v, seen in examples.items():
                    mine_examples[v] = max(mine_examples.get(v, -math.inf), seen)
                    if len(mine_examples) > MAX_UNSEEN_EXAMPLES:
                        del mine_examples[min(mine_examples, key=mine_examples.__getitem__)]

    # Layout (inside the Monitor payload): uint32 T trackers: name, window
    # blob, uint32 V, V x (tagged value, uint64 count), uint64 other; uint64
    # untracked; uint32 U features with unseen examples: uint32 feature,
    # uint32 E, E x (tagged value, f64 time).
    def write(self, w: _binary.Writer) -> None:
        with self._lock:
            w.u32(len(self.fields))
            for name, tracker in self.fields.items():
                w.text(name)
                w.blob(tracker.window.to_bytes())
                w.u32(len(tracker.text))
                for v, n in tracker.text.items():
                    w.category(v)
                    w.u64(n)
                w.u64(tracker.other)
            w.u64(self.untracked)
            w.u32(len(self.unseen))
            for f, examples in self.unseen.items():
                w.u32(f)
                w.u32(len(examples))
                for v, seen in examples.items():
                    w.category(v)
                    w.f64(seen)

    def read(self, r: _binary.Reader, profile: Profile, rows: int) -> None:
        """Fills this (empty) object from ``write``'s layout; raises DecodeError for anything inconsistent.

        ``rows`` is the Monitor's row count (decoded before), which bounds every field's observations.
        """
        n_trackers = r.count("unexpected fields", 8)
        if n_trackers > MAX_UNEXPECTED_FIELDS:
            raise _core.DecodeError("cannot decode: too many unexpected fields")
        for _ in range(n_trackers):
            name = r.text("field name")
            if name in self.fields or name in profile.names:
                raise _core.DecodeError(f"cannot decode: unexpected field {name!r} is repeated or a profile feature")
            tracker = FieldTracker(self._bucket, self._length, self._clock)
            tw = _binary.decoded("field window", Window.from_bytes, r.blob("field window"), self._clock)
            if tw._kind is not QuantileSketch or (tw.width, tw.length) != (self._bucket, self._length):
                raise _core.DecodeError("cannot decode: a field window does not match the monitor")
            tracker.window = tw
            n_values = r.count("text values", 10)
            if n_values > MAX_TEXT_VALUES:
                raise _core.DecodeError("cannot decode: too many text values")
            for _ in range(n_values):
                v = r.category("text value")
                tracker.text[v] = r.u64("text count")
            tracker.other = r.u64("other count")
            # Every value of a field is one observation in its window, and at
            # most one per row: so Monitor.merge can check every sum it makes
            # against the rows (and fail before it changes anything).
            observations = tw.total
            if sum(tracker.text.values()) + tracker.other > observations or observations > rows:
                raise _core.DecodeError(
                    f"cannot decode: unexpected field {name!r} counts more values than observations, or observations than rows"
                )
            self.fields[name] = tracker
            if self._on_new_field is not None:
                self._on_new_field(name, tracker.window._core)
        self.untracked = r.u64("untracked")
        n_unseen = r.count("features with unseen examples", 8)
        for _ in range(n_unseen):
            f = r.u32("feature index")
            if f >= len(profile) or not isinstance(profile[profile.names[f]], CategoricalFeature) or f in self.unseen:
                raise _core.DecodeError("cannot decode: unseen examples for a feature that is not categorical")
            n_examples = r.count("unseen examples", 10)
            if n_examples > MAX_UNSEEN_EXAMPLES:
                raise _core.DecodeError("cannot decode: too many unseen examples")
            self.unseen[f] = {r.category("unseen value"): r.f64("seen at") for _ in range(n_examples)}
