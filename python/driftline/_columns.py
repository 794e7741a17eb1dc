"""Turning the shapes users pass (mappings, DataFrames, 2-D arrays, rows) into named columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Sequence

import numpy as np

from ._convert import numeric_column


Column = Any  # a 1-D array-like: numpy array, pandas Series, list


def is_dataframe(data: Any) -> bool:
    """A pandas DataFrame, recognized without importing pandas (it stays optional)."""
    return type(data).__module__.startswith("pandas") and hasattr(data, "columns") and hasattr(data, "iloc")


def named_columns(data: Any, names: Optional[Sequence[str]] = None) -> tuple[list[tuple[str, Column]], int]:
    """``([(name, column), ...], rows)`` for a mapping of columns, a DataFrame or a 2-D array with names.

    Raises ``TypeError`` for other shapes and ``ValueError`` for columns of
    different lengths, non-string names, or a 2-D array without matching names.
    """
    if is_dataframe(data):
        pairs = [(str(c), data[c]) for c in data.columns]
    elif isinstance(data, Mapping):
        pairs = []
        for key, col in data.items():
            if not isinstance(key, str):
                raise TypeError(f"field names must be strings, got {type(key).__name__} {key!r}")
            pairs.append((key, col))
    elif isinstance(data, np.ndarray) and data.ndim == 2:
        if names is None:
            raise ValueError("a 2-D array needs names= (one per column)")
        names = list(names)
        if len(names) != data.shape[1]:
            raise ValueError(f"names has {len(names)} entries but the array has {data.shape[1]} columns")
        pairs = [(str(n), data[:, j]) for j, n in enumerate(names)]
    else:
        raise TypeError(
            "data must be a mapping of name -> 1-D column, a pandas DataFrame or a 2-D numpy array "
            f"with names=; got {type(data).__name__}"
        )
    if names is not None and not (isinstance(data, np.ndarray)):
        raise ValueError("names= is only for 2-D arrays; mappings and DataFrames carry their own names")
    lengths = set()
    for name, col in pairs:
        if np.ndim(col) != 1:
            raise ValueError(f"column {name!r} must be 1-D, got {np.ndim(col)}-D")
        lengths.add(len(col))
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: {sorted(lengths)}")
    return pairs, (lengths.pop() if lengths else 0)


def is_categorical_column(col: Column) -> bool:
    """Strings, bools, pandas categories and objects that are not all numbers are categorical."""
    dtype = getattr(col, "dtype", None)
    if dtype is None:
        col = np.asarray(col)
        dtype = col.dtype
    if str(dtype) == "category":
        return True
    kind = getattr(dtype, "kind", "O")
    if kind in "iuf":
        return False
    if kind == "b":
        return True
    if kind == "O":
        # Text is never parsed as a number (the Monitor would count "1.5" as
        # invalid for a numeric feature): any str, bytes or bool makes it categorical.
        values = as_list(col)
        if any(isinstance(v, (str, bytes, bool, np.bool_)) for v in values):
            return True
        try:
            numeric_column(values, "")
        except (TypeError, ValueError):
            return True  # times, objects: categories by their text
        return False
    return True


def as_list(col: Column) -> list[Any]:
    """The column's values as Python objects (numpy scalars become Python scalars)."""
    if hasattr(col, "tolist"):
        return list(col.tolist())
    return list(col)


def is_scalar(v: Any) -> bool:
    """Whether a mapping value is one field of one row (not a column)."""
    return v is None or isinstance(v, (str, bytes, int, float, bool, np.generic)) or np.ndim(v) == 0
