"""The Monitor: one cheap call per request; a report a person can act on."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import ContextDecorator
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _binary, _core
from ._clock import Clock, check_clock, read_clock
from ._columns import as_category, as_list, is_dataframe, is_scalar, named_columns
from ._convert import numeric_vector
from .drift import js_distance, ks_binned, psi, psi_threshold
from .policy import LEVELS, Policy, hysteresis
from .profile import CategoricalFeature, NumericFeature, Profile
from .report import Contributor, FeatureReport, LatencyReport, Report, SchemaReport
from .sketch import QuantileSketch
from .window import Window

__all__ = ["Monitor"]


# Bounds on what the Monitor keeps about things the profile does not know.
_MAX_UNEXPECTED_FIELDS = 64  # fields tracked by name; values of more are counted in `untracked`
_MAX_TEXT_VALUES = 64  # distinct non-numeric values kept per unexpected field (for rename matching)
_MAX_UNSEEN_EXAMPLES = 10  # unseen categories kept per feature, most recent first
_SMOOTHING = 0.5  # psi()'s default pseudo-count, used for per-bucket PSI as well


def _is_single_row(data: Any) -> bool:
    """Whether observe() reads ``data`` as one row (a dict of scalars, a 1-D array, a list)."""
    if isinstance(data, Mapping):
        return not data or is_scalar(next(iter(data.values())))
    if isinstance(data, np.ndarray):
        return data.ndim == 1
    return isinstance(data, (list, tuple))


class _FieldTracker:
    """An unexpected field: its observations over time (numbers in a sketch, text values counted).

    Every observation goes into the windowed sketch: numbers as themselves,
    anything else as NaN (so ``total`` counts observations). Text values are
    also counted, up to ``_MAX_TEXT_VALUES`` distinct ones (the rest in ``other``).
    """

    def __init__(self, bucket: float, length: int, clock: Clock) -> None:
        self.window: Window[QuantileSketch] = Window(QuantileSketch(0.01), bucket, length, clock)
        self.text: Counter[Any] = Counter()
        self.other = 0

    def add(self, values: list[Any], t: Union[float, np.ndarray]) -> None:
        numbers = np.full(len(values), math.nan)
        for i, v in enumerate(values):
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                numbers[i] = float(v)
            elif v is not None:
                self.add_text(as_category(v), 1)
        self.window.fill(numbers, t)

    def add_text(self, v: Any, n: int) -> None:
        if v in self.text or len(self.text) < _MAX_TEXT_VALUES:
            self.text[v] += n
        else:
            self.other += n


class _Timer(ContextDecorator):
    """``with monitor.time():`` or ``@monitor.time()``: observes the elapsed wall time as latency."""

    def __init__(self, monitor: "Monitor") -> None:
        self._monitor = monitor
        self._start: list[float] = []  # a stack, so one timer object can be reused and nested

    def __enter__(self) -> "_Timer":
        self._start.append(time.perf_counter())
        return self

    def __exit__(self, *exc: Any) -> None:
        self._monitor.observe_latency(time.perf_counter() - self._start.pop())


class Monitor:
    """Compares live traffic with a :class:`~driftline.Profile`, per feature, in event-time buckets.

    ``window`` seconds of history are kept in buckets of ``bucket`` seconds
    (``window`` must be a whole number of buckets); ``report(last)`` looks at the
    last ``last`` seconds (the whole window by default) and judges each feature
    bucket by bucket under ``policy`` (see :class:`~driftline.Policy`).
    ``clock`` is any callable returning seconds (``time.time`` by default);
    observations carry the clock's time unless given ``t``.

    Thread-safe. The numeric state is one C++ object; memory is fixed:
    ``(window / bucket + 1) * (sum over features of (bins + 7)) * 8`` bytes, plus a
    latency window and, for each unexpected field seen (at most 64), a window of
    ``window / bucket + 1`` small sketches; unseen-category examples are bounded too.
    """

    # How reasons name the judged sample (driftline.compare judges one batch).
    _judged_span = "in the latest bucket"

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
        self._profile = profile
        self._policy = policy if policy is not None else Policy()
        self._clock: Clock = check_clock(clock)
        self._window_seconds = window
        self._bucket = bucket
        self._length = length
        self._features = list(profile)
        self._names = profile.names
        self._index = {n: i for i, n in enumerate(self._names)}
        self._numeric_only = all(isinstance(f, NumericFeature) for f in self._features)
        self._core = _core.FeatureWindow([f.edges.tolist() for f in self._features], bucket, length)
        self._init_python_state()

    def _init_python_state(self) -> None:
        codes = [f.codes if isinstance(f, CategoricalFeature) else None for f in self._features]
        self._encoder = _core.RowEncoder(self._names, codes)
        self._latency: Window[QuantileSketch] = Window(QuantileSketch(0.01), self._bucket, self._length, self._clock)
        self._unexpected: dict[str, _FieldTracker] = {}
        self._untracked = 0
        self._unseen: dict[int, dict[Any, float]] = {}
        self._lock = threading.Lock()  # guards the Python-side trackers

    # -- configuration -------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        return self._profile

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

    def _now(self) -> float:
        return read_clock(self._clock)

    def __repr__(self) -> str:
        return (
            f"Monitor({len(self._features)} features, window={self._window_seconds:g} s, "
            f"bucket={self._bucket:g} s, rows={self.rows})"
        )

    # -- observing ---------------------------------------------------------------
    def observe(self, data: Any, t: Union[None, float, npt.ArrayLike] = None) -> None:
        """Counts one row or a batch of rows at time ``t`` (the clock's now when None).

        Rows: a dict of name -> scalar, or a 1-D array / list in profile order.
        Batches: a mapping of name -> 1-D column, a pandas DataFrame, or a 2-D
        array (rows x features, in profile order). ``t`` is one timestamp for
        the whole call or, for a batch, a 1-D numeric array with one per row
        (sorted or not: replaying logged traffic gives the state the rows would
        have left one by one, late, future and expired rows counted as ever).
        Missing fields, unexpected fields, None/NaN, non-finite and unreadable
        values and unseen categories are counted, never raised on. Raises only
        for shapes it cannot read (``TypeError``/``ValueError``), for a NaN
        timestamp and for per-row timestamps that do not match the rows, before
        counting anything.
        """
        now = self._now()
        times: Union[float, np.ndarray]
        if t is None:
            times = now
        elif np.ndim(t) == 0:
            times = float(t)  # type: ignore[arg-type]
            if times != times:
                raise ValueError("t must not be NaN")
        else:
            times = numeric_vector(t, "t")
            if _is_single_row(data):
                raise ValueError("per-row timestamps need a batch; a single row takes one timestamp")
        # Single rows below only ever see a float (per-row times were refused above);
        # no cast() call: this is the per-request path.
        row_time: float = times  # type: ignore[assignment]
        kind = type(data)
        if kind is np.ndarray and self._numeric_only and data.dtype.kind in "biuf":
            # The hot path: one C++ call, which checks the shape.
            self._core.observe_array(data, times, now)
            return
        if kind is dict:
            if not data or is_scalar(next(iter(data.values()))):
                self._observe_row(data, row_time, now)
            else:
                self._observe_columns(data, times, now)
        elif kind is np.ndarray:
            if data.ndim not in (1, 2):
                raise ValueError(f"an array must be one row (1-D) or rows x features (2-D), got {data.ndim}-D")
            if data.ndim == 1:
                self._observe_row(self._row_from_sequence(data.tolist()), row_time, now)
            else:
                self._observe_columns(dict(named_columns(data, self._names)[0]), times, now)
        elif is_dataframe(data):
            # Columns as numpy arrays (a categorical column becomes an object array of its values).
            self._observe_columns({str(c): data[c].to_numpy() for c in data.columns}, times, now)
        elif isinstance(data, Mapping):
            if not data or is_scalar(next(iter(data.values()))):
                self._observe_row(dict(data), row_time, now)
            else:
                self._observe_columns(data, times, now)
        elif isinstance(data, (list, tuple)):
            self._observe_row(self._row_from_sequence(list(data)), row_time, now)
        else:
            raise TypeError(
                "data must be a dict row, a 1-D array/list in profile order, a mapping of columns, "
                f"a pandas DataFrame or a 2-D array; got {type(data).__name__}"
            )

    def _row_from_sequence(self, values: list[Any]) -> dict[str, Any]:
        if len(values) != len(self._names):
            raise ValueError(f"a row in profile order needs {len(self._names)} values, got {len(values)}")
        return dict(zip(self._names, values))

    def _observe_row(self, row: dict[Any, Any], t: float, now: float) -> None:
        matched, unseen = self._encoder.observe(self._core, row, t, now)
        if matched != len(row):
            with self._lock:
                for key, value in row.items():
                    if key not in self._index:
                        self._tracker(key).add([value], t)
        if unseen is not None:
            self._note_unseen(unseen, t)

    def _observe_columns(self, columns: Mapping[Any, Any], t: Union[float, np.ndarray], now: float) -> None:
        """A batch as name -> column: one C++ call converts, checks and counts every feature's column."""
        if type(columns) is not dict:
            columns = dict(columns)
        if columns and not all(isinstance(k, str) for k in columns):
            raise TypeError("field names must be strings")
        n = len(next(iter(columns.values()))) if columns else 0
        matched, unseen = self._encoder.observe_columns(self._core, columns, n, t, now)
        if unseen is not None:
            self._note_unseen(unseen, t)
        if matched != len(columns):
            with self._lock:
                for name, col in columns.items():
                    if name not in self._index:
                        self._tracker(name).add(as_list(col), t)

    def _tracker(self, name: Any) -> _FieldTracker:
        key = name if isinstance(name, str) else repr(name)
        tracker = self._unexpected.get(key)
        if tracker is None:
            if len(self._unexpected) >= _MAX_UNEXPECTED_FIELDS:
                self._untracked += 1
                return _FieldTracker(self._bucket, self._length, self._clock)  # counted, then discarded
            tracker = self._unexpected[key] = _FieldTracker(self._bucket, self._length, self._clock)
        return tracker

    def _note_unseen(self, triples: list[tuple[int, Any, int]], t: Union[float, np.ndarray]) -> None:
        """Unseen categories as (feature, value, row) from the encoder, kept with their row's time."""
        with self._lock:
            for f, value, row in triples:
                examples = self._unseen.setdefault(f, {})
                examples[as_category(value)] = float(t[row]) if isinstance(t, np.ndarray) else t
                if len(examples) > _MAX_UNSEEN_EXAMPLES:
                    del examples[min(examples, key=examples.__getitem__)]

    def observe_latency(self, seconds: Union[float, npt.ArrayLike], t: Optional[float] = None) -> None:
        """Adds one latency (or an array of them), in seconds, at time ``t``."""
        if np.ndim(seconds) == 0:
            self._latency.record(float(seconds), t)  # type: ignore[arg-type]
        else:
            self._latency.fill(seconds, t)

    def time(self) -> _Timer:
        """Times a block or a function as latency: ``with m.time(): ...`` or ``@m.time()``."""
        return _Timer(self)

    # -- reporting ---------------------------------------------------------------
    def report(self, last: Optional[float] = None) -> Report:
        """The verdict now over the last ``last`` seconds (default: the whole window)."""
        span = self._window_seconds if last is None else float(last)
        if not span >= 0:
            raise ValueError(f"last must be a non-negative number of seconds, got {last!r}")
        now = self._now()
        snap = self._core.snapshot(now)
        ends = snap["starts"] + self._bucket
        selected = ends > now - span
        completed = ends <= now
        offsets = self._core.offsets
        last_seen = self._core.last_seen
        rows = snap["rows"].astype(np.float64)
        counts = snap["counts"].astype(np.float64)
        feature_reports: dict[str, FeatureReport] = {}
        for i, feature in enumerate(self._features):
            cells = counts[:, offsets[i] : offsets[i] + len(feature.edges) + 2]  # slots: cells + NaN
            feature_reports[feature.name] = self._feature_report(
                i, feature, cells, rows, snap, selected, completed, now, last_seen[i], span
            )
        schema = self._schema_report(feature_reports, span, now)
        latency = self._latency_report(span, now)
        judged = [f.status for f in feature_reports.values() if f.status in LEVELS]
        levels = [LEVELS.index(s) for s in judged] + [LEVELS.index(schema.status), LEVELS.index(latency.status)]
        worst = max(levels)
        if worst == 0 and not judged and latency.count < self._policy.min_count:
            status = "insufficient data"
        else:
            status = LEVELS[worst]
        reasons: list[str] = []
        for f in feature_reports.values():
            if f.status in ("warn", "alert"):
                reasons += [f"{f.name}: {r}" for r in f.reasons]
        if schema.missing:
            reasons.append(f"schema: fields missing from traffic: {sorted(schema.missing)}")
        if schema.unexpected:
            reasons.append(f"schema: unexpected fields: {sorted(schema.unexpected)}")
        for a, b, p in schema.renames:
            reasons.append(f"schema: {a!r} was probably renamed to {b!r} (PSI {p:.3f} between them)")
        reasons += [f"latency: {r}" for r in latency.reasons]
        return Report(
            status=status,
            time=now,
            span=span,
            rows=int(rows[selected].sum()),
            late=self.late,
            future=self.future,
            features=feature_reports,
            schema=schema,
            latency=latency,
            reasons=tuple(reasons),
        )

    def _feature_report(
        self,
        i: int,
        feature: Union[NumericFeature, CategoricalFeature],
        slots: np.ndarray,
        rows: np.ndarray,
        snap: dict[str, np.ndarray],
        selected: np.ndarray,
        completed: np.ndarray,
        now: float,
        last_seen: float,
        span: float,
    ) -> FeatureReport:
        policy = self._policy
        numeric = isinstance(feature, NumericFeature)
        ref = feature.cells()
        ref_n = float(ref.sum())
        ref_total = float(feature.total)
        ref_missing = feature.missing / ref_total if ref_total else 0.0
        ref_mass_cells = int(np.count_nonzero(ref))
        # The PSI noise floor is chi2_{k-1}(1 - alpha) * (1/n_r + 1/n_c): its constant once.
        floor_constant = psi_threshold(1.0, 1.0, max(ref_mass_cells, 2), policy.noise_alpha) / 2.0
        other_slot = len(feature.categories) + 1 if isinstance(feature, CategoricalFeature) else -1

        def rate_in(c: np.ndarray) -> np.ndarray:
            # Out of range (numeric: both flows) or unseen (categorical: the "other" bin), per non-missing value.
            part = c[..., 0] + c[..., -2] if numeric else c[..., other_slot]
            n = c[..., :-1].sum(axis=-1)
            return np.divide(part, n, out=np.zeros_like(n, dtype=np.float64), where=n > 0)

        ref_rate = float(rate_in(np.append(ref, 0.0)))  # the reference has no NaN cell here
        rate_warn, rate_alert = (policy.range_warn, policy.range_alert) if numeric else (policy.unseen_warn, policy.unseen_alert)
        rate_name = "out of range" if numeric else "unseen categories"

        # --- per completed bucket: levels, then hysteresis ----------------------------
        b = slots[completed]
        b_rows = rows[completed]
        b_n = b[:, :-1].sum(axis=1)
        judged = b_rows >= policy.min_count
        drift_ok = b_n >= policy.min_count
        p = (ref + _SMOOTHING) / (ref_n + _SMOOTHING * ref.size)

        def psi_terms(c: np.ndarray, n: Any) -> np.ndarray:
            # Each cell's (q - p) ln(q / p), smoothed as psi() does (cells in the last axis).
            q = (c + _SMOOTHING) / (n + _SMOOTHING * ref.size)
            return (q - p) * np.log(q / p)

        b_psi = psi_terms(b[:, :-1], b_n[:, None]).sum(axis=1)
        b_floor = floor_constant * (1.0 / max(ref_n, 1.0) + 1.0 / np.maximum(b_n, 1.0))
        b_missing = np.divide(b[:, -1], b_rows, out=np.zeros_like(b_rows), where=b_rows > 0)
        b_rate = rate_in(b)
        b_min = snap["minimum"][completed, i]
        b_max = snap["maximum"][completed, i]

        def excess_level(observed: np.ndarray, reference: float, n: np.ndarray, warn: float, alert: float) -> np.ndarray:
            diff = observed - reference
            se = np.sqrt(reference * (1 - reference) / np.maximum(n, 1.0) + reference * (1 - reference) / max(ref_n, 1.0))
            real = diff > 3 * se
            return np.where(real & (diff >= alert), 2, np.where(real & (diff >= warn), 1, 0))

        drift_level = np.where(
            drift_ok & (b_psi >= policy.psi_alert) & (b_psi > b_floor),
            2,
            np.where(drift_ok & (b_psi >= policy.psi_warn) & (b_psi > b_floor), 1, 0),
        )
        missing_level = excess_level(b_missing, ref_missing, b_rows, policy.missing_warn, policy.missing_alert)
        rate_level = np.where(drift_ok, excess_level(b_rate, ref_rate, b_n, rate_warn, rate_alert), 0)
        if numeric:
            b_stuck = drift_ok & (b_min == b_max) & (not feature.constant)
        else:
            b_stuck = drift_ok & (np.count_nonzero(b[:, :-1], axis=1) == 1) & (not feature.constant)
        stuck_level = np.where(b_stuck, 2, 0)
        level = np.maximum.reduce([drift_level, missing_level, rate_level, stuck_level])
        judged_levels = [int(v) for v in level[judged]]
        state = hysteresis(judged_levels, policy.consecutive)

        reasons: list[str] = []
        if judged_levels:
            j = int(np.flatnonzero(judged)[-1])  # the latest judged bucket
            if stuck_level[j]:  # the most specific finding first: a stuck feature also "drifts"
                reasons.append(f"stuck: every value {self._judged_span} is the same")
            if drift_level[j]:
                reasons.append(
                    f"drift: PSI {b_psi[j]:.3f} {self._judged_span} (warn {policy.psi_warn:g}, "
                    f"alert {policy.psi_alert:g}, noise floor {b_floor[j]:.3f})"
                )
            if missing_level[j]:
                reasons.append(f"missing values: {b_missing[j]:.1%} {self._judged_span} vs {ref_missing:.1%} in the reference")
            if rate_level[j]:
                reasons.append(f"{rate_name}: {b_rate[j]:.1%} {self._judged_span} vs {ref_rate:.1%} in the reference")
            if state > 0 and not reasons:
                reasons.append(f"held by hysteresis until {policy.consecutive} buckets in a row are below {LEVELS[state]}")

        # --- over the report's span -----------------------------------------------------
        cur_slots = slots[selected].sum(axis=0)
        cur = cur_slots[:-1]
        n_rows = int(rows[selected].sum())
        n = int(cur.sum())
        status = LEVELS[state] if judged_levels else "insufficient data"
        seconds_since = None if last_seen == -math.inf else max(0.0, now - last_seen)
        stale_after = policy.stale_after if policy.stale_after is not None else 5 * self._bucket
        never = seconds_since is None and n_rows >= policy.min_count
        if never or (seconds_since is not None and seconds_since > stale_after):
            status = "alert"
            reasons.append(
                "stale: no value yet" if never else f"stale: no value for {seconds_since:.0f} s (limit {stale_after:g} s)"
            )
        if n >= 1:
            value_psi = psi(ref, cur)
            floor = psi_threshold(max(ref_n, 1.0), n, max(ref_mass_cells, 2), policy.noise_alpha)
            js = js_distance(ref, cur)
            terms = psi_terms(cur, n)
            labels = feature.labels()
            top = tuple(
                Contributor(labels[k], float(ref[k] / ref_n) if ref_n else math.nan, float(cur[k] / n), float(terms[k]))
                for k in np.argsort(-terms)[:3]
                if terms[k] > 0
            )
        else:
            value_psi = floor = js = math.nan
            top = ()
        ks_stat = ks_bound = ks_p = None
        if numeric and n >= 1 and ref_n >= 1:
            kr = ks_binned(ref, cur)
            ks_stat, ks_bound, ks_p = float(kr.statistic), float(kr.bound), float(kr.pvalue)
        lo = float(np.min(snap["minimum"][selected, i], initial=math.inf))
        hi = float(np.max(snap["maximum"][selected, i], initial=-math.inf))
        if numeric:
            stuck = n >= policy.min_count and lo == hi and not feature.constant
        else:
            stuck = n >= policy.min_count and int(np.count_nonzero(cur)) == 1 and not feature.constant
        span_rate = float(rate_in(cur_slots)) if n else math.nan  # out of range or unseen, per kind
        with self._lock:
            examples = self._unseen.get(i, {})
            unseen_examples = tuple(v for v, seen in sorted(examples.items(), key=lambda kv: -kv[1]) if seen > now - span)
        return FeatureReport(
            name=feature.name,
            kind=feature.kind,
            status=status,
            reasons=tuple(reasons),
            rows=n_rows,
            count=n,
            reference_count=int(ref_n),
            psi=float(value_psi),
            psi_noise_floor=float(floor),
            js_distance=float(js),
            ks=ks_stat,
            ks_bound=ks_bound,
            missing_rate=float(cur_slots[-1] / n_rows) if n_rows else math.nan,
            reference_missing_rate=ref_missing,
            absent=int(snap["absent"][selected, i].sum()),
            invalid=int(snap["invalid"][selected, i].sum()),
            out_of_range_rate=span_rate if numeric else None,
            reference_out_of_range_rate=ref_rate if numeric else None,
            unseen_rate=None if numeric else span_rate,
            reference_other_rate=None if numeric else ref_rate,
            unseen_examples=unseen_examples if not numeric else (),
            top_contributors=top,
            seconds_since_value=seconds_since,
            stuck=bool(stuck),
            minimum=lo if n and numeric else None,
            maximum=hi if n and numeric else None,
            ks_pvalue=ks_p,
            ks_method="binned" if ks_p is not None else None,
        )

    def _span_cells(self, span: float, now: float) -> list[np.ndarray]:
        """Per feature, the counts of its cells ``[underflow, bins..., overflow]`` (NaN left out) over the span."""
        snap = self._core.snapshot(now)
        selected = snap["starts"] + self._bucket > now - span
        totals = snap["counts"][selected].sum(axis=0).astype(np.float64)
        offsets = self._core.offsets
        return [totals[offsets[i] : offsets[i] + len(f.edges) + 1] for i, f in enumerate(self._features)]

    def _schema_report(self, features: dict[str, FeatureReport], span: float, now: float) -> SchemaReport:
        policy = self._policy
        missing = {
            name: f.absent / f.rows
            for name, f in features.items()
            if f.rows and f.absent / f.rows >= policy.absent_rate
        }
        with self._lock:
            trackers = list(self._unexpected.items())
        unexpected: dict[str, int] = {}
        live: dict[str, tuple[QuantileSketch, _FieldTracker]] = {}
        for name, tracker in trackers:
            merged = tracker.window._merged_at(span, now)
            seen = merged.count + merged.nan_count + merged.positive_inf_count + merged.negative_inf_count
            if seen:
                unexpected[name] = int(seen)
                live[name] = (merged, tracker)
        renames = []
        for name in missing:
            feature = self._profile[name]
            ref = feature.cells()
            best: Optional[tuple[float, str]] = None
            for other, (sketch, tracker) in live.items():
                cur = self._cells_like(feature, sketch, tracker)
                if cur is None or cur.sum() < policy.min_count:
                    continue
                distance = psi(ref, cur)
                if distance < policy.psi_warn and (best is None or distance < best[0]):
                    best = (distance, other)
            if best is not None:
                renames.append((name, best[1], float(best[0])))
        status = "alert" if missing else ("warn" if unexpected else "ok")
        return SchemaReport(missing=missing, unexpected=unexpected, renames=tuple(renames), status=status)

    @staticmethod
    def _cells_like(
        feature: Union[NumericFeature, CategoricalFeature], sketch: QuantileSketch, tracker: _FieldTracker
    ) -> Optional[np.ndarray]:
        """An unexpected field's live values in the cells of a profile feature (None if the kinds differ)."""
        if isinstance(feature, NumericFeature):
            if sketch.count == 0:
                return None
            # Fractions at or below each edge, from the sketch (1 % accurate in value).
            below = np.array([sketch.rank(float(np.nextafter(e, -np.inf))) for e in feature.edges])
            shares = np.diff(np.concatenate(([0.0], below, [1.0])))
            return np.clip(shares, 0.0, None) * sketch.count
        codes = feature.codes
        cells = np.zeros(len(feature.categories) + 3)
        for value, n in tracker.text.items():
            cells[codes.get(value, len(feature.categories)) + 1] += n
        cells[len(feature.categories) + 1] += tracker.other
        return cells if cells.sum() else None

    def _latency_report(self, span: float, now: float) -> LatencyReport:
        policy = self._policy
        sketch = self._latency._merged_at(span, now)
        qs = sketch.quantiles([0.5, 0.9, 0.99, 0.999]) if sketch.count else [math.nan] * 4
        status, reasons = "ok", []
        if policy.latency_p99_warn is not None or policy.latency_p99_alert is not None:
            warn = policy.latency_p99_warn if policy.latency_p99_warn is not None else math.inf
            alert = policy.latency_p99_alert if policy.latency_p99_alert is not None else math.inf
            levels, p99s = [], []
            for start, s in self._latency._series_at(now):
                if start + self._bucket <= now and s.count >= policy.min_count:
                    p99 = float(s.quantile(0.99))
                    p99s.append(p99)
                    levels.append(2 if p99 >= alert else (1 if p99 >= warn else 0))
            state = hysteresis(levels, policy.consecutive)
            status = LEVELS[state]
            if state:
                reasons.append(f"p99 {p99s[-1] * 1e3:.1f} ms {self._judged_span} (warn {warn * 1e3:g} ms, alert {alert * 1e3:g} ms)")
        return LatencyReport(
            count=int(sketch.count),
            p50=float(qs[0]),
            p90=float(qs[1]),
            p99=float(qs[2]),
            p999=float(qs[3]),
            max=float(sketch.max) if sketch.count else math.nan,
            status=status,
            reasons=tuple(reasons),
        )

    # -- state across processes -----------------------------------------------------
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
        if other._profile != self._profile:
            raise ValueError("cannot merge Monitors built on different profiles")
        self._core.merge(other._core)
        self._latency.merge(other._latency)
        with other._lock:
            trackers = list(other._unexpected.items())
            untracked = other._untracked
            unseen = {f: dict(e) for f, e in other._unseen.items()}
        with self._lock:
            self._untracked += untracked
            for name, tracker in trackers:
                mine = self._tracker(name)
                mine.window.merge(tracker.window)
                for v, n in tracker.text.items():
                    mine.add_text(v, n)
                mine.other += tracker.other
            for f, examples in unseen.items():
                mine_examples = self._unseen.setdefault(f, {})
                for v, seen in examples.items():
                    mine_examples[v] = max(mine_examples.get(v, -math.inf), seen)
                    if len(mine_examples) > _MAX_UNSEEN_EXAMPLES:
                        del mine_examples[min(mine_examples, key=mine_examples.__getitem__)]
        return self

    # Payload (object type 7): f64 window, f64 bucket, profile blob, feature
    # window blob, latency window blob; uint32 T trackers: name, window blob,
    # uint32 V, V x (tagged value, uint64 count), uint64 other; uint64
    # untracked; uint32 U features with unseen examples: uint32 feature,
    # uint32 E, E x (tagged value, f64 time). The policy and clock are not state.
    def to_bytes(self) -> bytes:
        """The Monitor's state in driftline's binary format (policy and clock excluded)."""
        w = _binary.Writer()
        w.f64(self._window_seconds)
        w.f64(self._bucket)
        w.blob(self._profile.to_bytes())
        w.blob(self._core.to_bytes())
        w.blob(self._latency.to_bytes())
        with self._lock:
            w.u32(len(self._unexpected))
            for name, tracker in self._unexpected.items():
                w.text(name)
                w.blob(tracker.window.to_bytes())
                w.u32(len(tracker.text))
                for v, n in tracker.text.items():
                    w.category(v)
                    w.u64(n)
                w.u64(tracker.other)
            w.u64(self._untracked)
            w.u32(len(self._unseen))
            for f, examples in self._unseen.items():
                w.u32(f)
                w.u32(len(examples))
                for v, seen in examples.items():
                    w.category(v)
                    w.f64(seen)
        return w.seal(_binary.MONITOR)

    @classmethod
    def from_bytes(cls, data: bytes, policy: Optional[Policy] = None, clock: Optional[Clock] = None) -> "Monitor":
        """Decodes :meth:`to_bytes` output; raises :class:`driftline.DecodeError` for any malformed blob."""
        r = _binary.Reader(_binary.MONITOR, data)
        window, bucket = r.finite("window"), r.finite("bucket")
        profile = Profile.from_bytes(r.blob("profile"))
        # The ring's geometry is checked against the decoded ring (whose memory the
        # blob itself bounds) before a Monitor of that geometry is allocated.
        core = _binary.decoded("feature window", _core.FeatureWindow, r.blob("feature window"))
        if core.width != bucket or abs(core.length * bucket - window) > 1e-9 * window:
            raise _core.DecodeError("cannot decode: window and bucket do not match the feature window")
        monitor: Monitor = _binary.decoded("monitor configuration", cls, profile, window, bucket, policy, clock)
        fresh = monitor._core
        if (core.features, core.width, core.length, list(core.offsets)) != (
            fresh.features, fresh.width, fresh.length, list(fresh.offsets)
        ):
            raise _core.DecodeError("cannot decode: the feature window does not match the profile")
        try:
            probe = _core.FeatureWindow(fresh)
            probe.merge(core)  # checks every feature's bins against the profile's
        except ValueError as e:
            raise _core.DecodeError(f"cannot decode: the feature window does not match the profile: {e}") from e
        monitor._core = core
        latency = _binary.decoded("latency window", Window.from_bytes, r.blob("latency window"), monitor._clock)
        if latency._kind is not QuantileSketch or (latency.width, latency.length) != (bucket, monitor._length):
            raise _core.DecodeError("cannot decode: the latency window does not match the monitor")
        monitor._latency = latency
        n_trackers = r.count("unexpected fields", 8)
        if n_trackers > _MAX_UNEXPECTED_FIELDS:
            raise _core.DecodeError("cannot decode: too many unexpected fields")
        for _ in range(n_trackers):
            name = r.text("field name")
            tracker = _FieldTracker(bucket, monitor._length, monitor._clock)
            tw = _binary.decoded("field window", Window.from_bytes, r.blob("field window"), monitor._clock)
            if tw._kind is not QuantileSketch or (tw.width, tw.length) != (bucket, monitor._length):
                raise _core.DecodeError("cannot decode: a field window does not match the monitor")
            tracker.window = tw
            n_values = r.count("text values", 10)
            if n_values > _MAX_TEXT_VALUES:
                raise _core.DecodeError("cannot decode: too many text values")
            for _ in range(n_values):
                v = r.category("text value")
                tracker.text[v] = r.u64("text count")
            tracker.other = r.u64("other count")
            monitor._unexpected[name] = tracker
        monitor._untracked = r.u64("untracked")
        n_unseen = r.count("features with unseen examples", 8)
        for _ in range(n_unseen):
            f = r.u32("feature index")
            if f >= len(profile) or not isinstance(profile[profile.names[f]], CategoricalFeature):
                raise _core.DecodeError("cannot decode: unseen examples for a feature that is not categorical")
            n_examples = r.count("unseen examples", 10)
            if n_examples > _MAX_UNSEEN_EXAMPLES:
                raise _core.DecodeError("cannot decode: too many unseen examples")
            monitor._unseen[f] = {r.category("unseen value"): r.f64("seen at") for _ in range(n_examples)}
        r.end("monitor payload")
        return monitor

    def __reduce__(self) -> tuple[Any, ...]:
        return (Monitor.from_bytes, (self.to_bytes(), self._policy))
