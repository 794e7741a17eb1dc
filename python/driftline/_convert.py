"""Input conversion shared by the Python layer (mirrors the bindings' own checks)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def numeric_vector(values: npt.ArrayLike, what: str) -> "np.ndarray[Any, np.dtype[np.float64]]":
    """A 1-D float64 view or copy of a bool/int/float array-like; TypeError or ValueError naming `what`."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric (bool, integer or floating point), got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got {arr.ndim}-D with shape {arr.shape}")
    return arr.astype(np.float64, copy=False)
