from __future__ import annotations

import numpy as np
import pytest

N_VALUES = 10_000_000
N_RECORDS = 500_000


@pytest.fixture(scope="session")
def normal_values() -> np.ndarray:
    """1e7 float64 N(0, 1) values: 80 MB, larger than any cache here."""
    return np.random.default_rng(2024).normal(size=N_VALUES)


@pytest.fixture(scope="session")
def record_values() -> list[float]:
    """5e5 Python floats for the scalar-call loops (no numpy scalars timed)."""
    return np.random.default_rng(7).normal(size=N_RECORDS).tolist()
