"""A Monitor's write path: every input shape observe() accepts, to one core call (plus the trackers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._columns import as_list, is_dataframe, is_scalar, named_columns
from ._convert import numeric_vector
from ._clock import event_time
from ._trackers import Trackers
from .profile import CategoricalFeature, NumericFeature, Profile


def _is_single_row(data: Any) -> bool:
    """Whether observe() reads ``data`` as one row (a dict of scalars, a 1-D array, a list)."""
    if isinstance(data, Mapping):
        return not data or is_scalar(next(iter(data.values())))
    if isinstance(data, np.ndarray):
        return data.ndim == 1
    return isinstance(data, (list, tuple))


def _is_series(column: Any) -> bool:
    """A pandas Series (or Index), recognized without importing pandas."""
    return type(column).__module__.startswith("pandas") and hasattr(column, "dtype") and hasattr(column, "to_numpy")


def _frame_column(column: Any) -> Any:
    """A DataFrame column as the encoder reads it: a numpy array if numeric, else the Profile's values."""
    if getattr(column.dtype, "kind", "O") in "biuf" and isinstance(column.dtype, np.dtype):
        return column.to_numpy()
    return as_list(column)


def times_of(data: Any, t: Union[None, float, npt.ArrayLike], now: float) -> Union[float, np.ndarray]:
    """``t`` as one float (the clock's ``now`` when None) or, for a batch, a float64 array; raises before counting."""
    if t is None:
        return now
    if isinstance(t, (str, bytes)) or np.ndim(t) == 0:
        return event_time(t)
    times = numeric_vector(t, "t")
    if _is_single_row(data):
        raise ValueError("per-row timestamps need a batch; a single row takes one timestamp")
    return times


class Ingest:
    """Dispatches rows and batches to the core: ``_core.RowEncoder`` maps fields to features and counts them.

    Fields the profile does not know and unseen categories go to the
    :class:`~driftline._trackers.Trackers`. Thread-safe: the core objects and
    the trackers are.
    """

    def __init__(self, profile: Profile, core: Any, trackers: Trackers) -> None:
        features = list(profile)
        self.names = profile.names
        self._index = {n: i for i, n in enumerate(self.names)}
        self._numeric_only = all(isinstance(f, NumericFeature) for f in features)
        codes = [f.codes if isinstance(f, CategoricalFeature) else None for f in features]
        self.encoder = _core.RowEncoder(self.names, codes)
        self.core = core
        self._trackers = trackers
        trackers.on_new_field(self.encoder.track)

    def observe(self, data: Any, times: Union[float, np.ndarray], now: float) -> None:
        # Single rows below only ever see a float (times_of refused per-row times
        # for them); no cast() call: this is the per-request path.
        row_time: float = times  # type: ignore[assignment]
        kind = type(data)
        if kind is np.ndarray and self._numeric_only and data.dtype.kind in "biuf":
            # The hot path: one C++ call, which checks the shape.
            self.core.observe_array(data, times, now)
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
                self._observe_columns(dict(named_columns(data, self.names)[0]), times, now)
        elif is_dataframe(data):
            # Numeric columns as numpy arrays; every other column as the Profile reads it
            # (as_list: a datetime column's Timestamps, not its int64 nanoseconds).
            self._observe_columns({str(c): _frame_column(data[c]) for c in data.columns}, times, now)
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
        if len(values) != len(self.names):
            raise ValueError(f"a row in profile order needs {len(self.names)} values, got {len(values)}")
        return dict(zip(self.names, values))

    def _observe_row(self, row: dict[Any, Any], t: float, now: float) -> None:
        # The encoder counts plain numbers of tracked unexpected fields itself;
        # the rest (new fields, text, None, numpy scalars) come back here.
        matched, unseen, rest = self.encoder.observe(self.core, row, t, now)
        self.track_leftovers(t, unseen, rest)

    def track_leftovers(self, t: float, unseen: Any, rest: Any) -> None:
        """Feeds the trackers what the encoder left of a counted row: unseen categories, unexpected fields."""
        if rest is not None:
            self._trackers.add_fields([(k, [v]) for k, v in rest], t)
        if unseen is not None:
            self._trackers.note_unseen(unseen, t)

    def _observe_columns(self, columns: Mapping[Any, Any], t: Union[float, np.ndarray], now: float) -> None:
        """A batch as name -> column: one C++ call converts, checks and counts every feature's column."""
        if type(columns) is not dict:
            columns = dict(columns)
        if columns and not all(isinstance(k, str) for k in columns):
            raise TypeError("field names must be strings")
        if any(_is_series(c) for c in columns.values()):
            # The core would read a Series value by value through pandas' indexing
            # (~1.5 us a value); as arrays and lists it reads them as from a DataFrame.
            columns = {k: _frame_column(c) if _is_series(c) else c for k, c in columns.items()}
        n = len(next(iter(columns.values()))) if columns else 0
        # Unexpected columns are read and checked before anything is counted.
        extra = [(k, self._extra_column(k, c, n)) for k, c in columns.items() if k not in self._index]
        matched, unseen = self.encoder.observe_columns(self.core, columns, n, t, now)
        if unseen is not None:
            self._trackers.note_unseen(unseen, t)
        if extra:
            self._trackers.add_fields(extra, t)

    @staticmethod
    def _extra_column(name: str, column: Any, n: int) -> list[Any]:
        """An unexpected field of a column batch as a list of n values; ValueError if it is not such a column."""
        if is_scalar(column) or isinstance(column, Mapping):
            raise ValueError(f"field {name!r} holds one value in a batch of columns; every field must be a column")
        values = as_list(column)
        if len(values) != n:
            raise ValueError(f"column {name!r} holds {len(values)} values, expected {n}")
        return values
