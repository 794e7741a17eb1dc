"""Reference computations shared by the tests (written with numpy, not driftline)."""

from __future__ import annotations

import numpy as np


def reference_slots(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """numpy's answer in driftline's slot layout: underflow, bins..., overflow, nan.

    The bins come from numpy.histogram on the in-range values; the flows are
    counted separately (numpy's last bin is closed, driftline's is half-open).
    """
    x = np.asarray(values, dtype=np.float64)
    nan = np.isnan(x)
    finite_part = x[~nan]
    inside = (finite_part >= edges[0]) & (finite_part < edges[-1])
    bins, _ = np.histogram(finite_part[inside], bins=edges)
    under = int(np.count_nonzero(finite_part < edges[0]))
    over = int(np.count_nonzero(finite_part >= edges[-1]))
    return np.concatenate([[under], bins, [over, int(nan.sum())]]).astype(np.uint64)


def crc32c(data: bytes) -> int:
    """Bitwise CRC-32C, written independently of the C++ table-driven one."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def reseal(blob: bytes) -> bytes:
    """Recomputes a blob's trailing checksum, so a test reaches the checks behind it."""
    return blob[:-4] + (crc32c(blob[:-4])).to_bytes(4, "little")
