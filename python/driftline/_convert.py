"""Input conversion shared by the Python layer (mirrors the bindings' own checks)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core


def numeric_vector(values: npt.ArrayLike, what: str) -> "np.ndarray[Any, np.dtype[np.float64]]":
    """A 1-D float64 view or copy of a bool/int/float array-like; TypeError or ValueError naming `what`."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric (bool, integer or floating point), got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got {arr.ndim}-D with shape {arr.shape}")
    return arr.astype(np.float64, copy=False)


def numeric_column(column: Any, name: str) -> "np.ndarray[Any, np.dtype[np.float64]]":
    """A reference column of a numeric feature as float64, by the Monitor's rule for each value.

    Numbers (bool, int, float, numpy numbers) are themselves; missing values
    (None, NaN, pandas NA and NaT, numpy NaT) are NaN; text, times and other
    objects raise ``ValueError`` naming the feature (text is never parsed). A
    numeric numpy array or pandas numeric extension array converts in one step.
    """
    dtype = getattr(column, "dtype", None)
    kind: str = getattr(dtype, "kind", "O")
    if isinstance(dtype, np.dtype) and kind in "biuf":
        return np.asarray(column, dtype=np.float64).reshape(-1)
    if kind in ("i", "u", "f", "b") and hasattr(column, "to_numpy"):  # pandas Int64, Float64, boolean
        return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan))
    values = column.tolist() if hasattr(column, "tolist") else list(column)
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        out[i] = _number_or_nan(v, name)
    return out


def _number_or_nan(v: Any, name: str) -> float:
    if isinstance(v, (float, int)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, (bool, np.bool_, np.integer, np.floating)):
        return float(v)
    if _core._canonical_category(v) is None:  # the missing rule: None, NaN, pandas NA/NaT, numpy NaT
        return np.nan
    if isinstance(v, (str, bytes, np.datetime64, np.timedelta64)) or not hasattr(v, "__float__"):
        raise ValueError(f"feature {name!r} is not numeric: it holds {type(v).__name__} {v!r}")
    return float(v)
