"""Reference computations shared by the tests (written with numpy, not driftline)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np
import pytest

import driftline as dl


class Clock:
    """A clock the test sets by hand: ``clock.t = ...``; calling it reads ``t``."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def simd_variants_under_test() -> list[str]:
    """The kernel variants the suite exercises.

    Every variant this CPU runs; only the one named by DRIFTLINE_SIMD when it is
    set (so DRIFTLINE_SIMD=scalar runs the whole suite on the scalar kernels, as
    on ARM and pre-AVX machines). conftest checks that no test leaves another active.
    """
    forced = os.environ.get("DRIFTLINE_SIMD", "auto")
    if forced == "auto":
        return dl.simd_variants()
    if forced not in dl.simd_variants():
        raise RuntimeError(f"DRIFTLINE_SIMD={forced!r} is not runnable here: {dl.simd_variants()}")
    return [forced]


def each_simd_variant() -> Iterator[str]:
    """Selects each variant under test in turn, then restores the one active before."""
    previous = dl.active_simd()
    try:
        for variant in simd_variants_under_test():
            dl.select_simd(variant)
            yield variant
    finally:
        dl.select_simd(previous)


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


def assert_every_truncation_and_bit_flip_fails(blob: bytes, decode: Callable[[bytes], Any], error: type) -> None:
    """Every proper prefix of ``blob`` and every single-bit flip of it makes ``decode`` raise ``error``."""
    for size in range(len(blob)):
        with pytest.raises(error):
            decode(blob[:size])
    data = bytearray(blob)
    for i in range(len(data)):
        for bit in range(8):
            data[i] ^= 1 << bit
            with pytest.raises(error):
                decode(bytes(data))
            data[i] ^= 1 << bit


def reseal(blob: bytes) -> bytes:
    """Recomputes a blob's trailing checksum, so a test reaches the checks behind it."""
    return blob[:-4] + (crc32c(blob[:-4])).to_bytes(4, "little")


def exact_bucket_index(x: float, scale: int) -> int:
    """OpenTelemetry bucket index of x > 0 at `scale`, computed exactly.

    Bucket i holds (2^(i/2^s), 2^((i+1)/2^s)], so i = ceil(2^s * log2 x) - 1.
    Writing x = M * 2^E with an odd integer M:
    - M == 1 (a power of two): 2^s * log2 x is the integer E * 2^s, so x is the
      inclusive upper edge of bucket E * 2^s - 1 (at scale < 0: (E - 1) >> -s).
    - scale < 0: the scale-0 index shifted right by -s (floor division).
    - 0 <= scale <= 8: 2^s * log2 x = log2(M^(2^s)) + E * 2^s, and M^(2^s) is an
      odd integer > 1, never a power of two, so the ceiling is its bit length.
    - larger scales (M^(2^s) gets huge): 2^s * log2 x is irrational and is
      evaluated with mpmath at 80 digits; it is asserted to lie more than 1e-40
      from an integer, so its ceiling is certain.
    """
    mantissa, denominator = x.as_integer_ratio()
    e = -(denominator.bit_length() - 1)
    while mantissa % 2 == 0:
        mantissa //= 2
        e += 1
    if mantissa == 1:
        return (e * 2**scale - 1) if scale >= 0 else (e - 1) >> -scale
    if scale < 0:
        return exact_bucket_index(x, 0) >> -scale
    if scale <= 8:
        return (mantissa ** (2**scale)).bit_length() + e * 2**scale - 1
    import mpmath

    with mpmath.workdps(80):
        y = mpmath.log(mpmath.mpf(mantissa), 2) * 2**scale + e * 2**scale
        ceiling = int(mpmath.ceil(y))
        assert ceiling - y > mpmath.mpf("1e-40") and y - (ceiling - 1) > mpmath.mpf("1e-40")
    return ceiling - 1


def local_dask_client() -> Iterator[Any]:
    """A distributed.Client on a LocalCluster of 2 worker processes (one thread each, no dashboard), closed after."""
    import distributed

    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=50
    ) as cluster, distributed.Client(cluster) as client:
        yield client
