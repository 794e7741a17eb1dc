"""The binary format: round trips, golden files, and hostile input."""

from __future__ import annotations

import pickle
import struct
import time
from pathlib import Path

import numpy as np
import pytest

import driftline as dl
from helpers import assert_every_truncation_and_bit_flip_fails, crc32c, reseal

GOLDEN = Path(__file__).parent / "golden"


def sample_histograms() -> list[dl.Histogram]:
    rng = np.random.default_rng(0)
    out = []
    for axis in (dl.Uniform(-5, 5, 10), dl.Edges([-1.0, 0.0, 2.5]), dl.Uniform(0, 1, 100)):
        h = dl.Histogram(axis)
        h.fill(np.concatenate([rng.normal(size=1000), [np.nan, np.inf, -np.inf]]))
        out.append(h)
    out.append(dl.Histogram(dl.Edges(np.linspace(0, 1, 40))))  # empty
    return out


def test_checksum_is_crc32c() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    for h in sample_histograms():
        blob = h.to_bytes()
        assert struct.unpack("<I", blob[-4:])[0] == crc32c(blob[:-4])


@pytest.mark.parametrize("h", sample_histograms(), ids=repr)
def test_round_trip(h: dl.Histogram) -> None:
    blob = h.to_bytes()
    assert blob[:4] == b"DRFL" and struct.unpack("<HH", blob[4:8]) == (1, 1)
    back = dl.Histogram.from_bytes(blob)
    assert back == h and back.axis == h.axis and back.total == h.total
    assert dl.Histogram.from_bytes(bytearray(blob)) == h
    assert dl.Histogram.from_bytes(memoryview(blob)) == h
    assert back.to_bytes() == blob


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_goes_through_the_bytes(protocol: int) -> None:
    for h in sample_histograms():
        back = pickle.loads(pickle.dumps(h, protocol=protocol))
        assert type(back) is dl.Histogram and back == h


GOLDEN_CASES = {
    "histogram_uniform_v1.bin": (dl.Uniform(-5, 5, 10), [2, 1, 0, 0, 0, 1, 2, 1, 0, 0, 1, 3, 1]),
    "histogram_edges_v1.bin": (dl.Edges([-1.0, 0.0, 0.5, 2.0]), [3, 1, 2, 1, 4, 1]),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_files_of_version_1_still_decode(name: str) -> None:
    axis, slots = GOLDEN_CASES[name]
    blob = (GOLDEN / name).read_bytes()
    h = dl.Histogram.from_bytes(blob)
    assert h.axis == axis
    assert list(h.slot_counts()) == slots
    assert h.to_bytes() == blob, "version 1 encoding must stay byte-identical"


def blobs() -> list[bytes]:
    return [h.to_bytes() for h in sample_histograms()[:2]] + [
        (GOLDEN / name).read_bytes() for name in sorted(GOLDEN_CASES)
    ]


@pytest.mark.parametrize("blob", blobs(), ids=lambda b: f"{len(b)}B")
def test_every_truncation_and_single_bit_flip_raises_decode_error(blob: bytes) -> None:
    assert_every_truncation_and_bit_flip_fails(blob, dl.Histogram.from_bytes, dl.DecodeError)
    with pytest.raises(dl.DecodeError, match="payload size"):
        dl.Histogram.from_bytes(blob + b"\0")
    assert dl.Histogram.from_bytes(blob).to_bytes() == blob


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(dl.DecodeError, ValueError)


def forged(field_offset: int, fmt: str, value: int, blob: bytes | None = None) -> bytes:
    data = bytearray(blob if blob is not None else sample_histograms()[0].to_bytes())
    struct.pack_into(fmt, data, field_offset, value)
    return reseal(bytes(data))


@pytest.mark.parametrize(
    "blob,message",
    [
        (b"", "shorter than"),
        (b"XXXX" + bytes(30), "bad magic"),
        (forged(4, "<H", 2), "unsupported format version 2"),
        (forged(4, "<H", 0), "unsupported format version 0"),
        (forged(6, "<H", 77), "object type 77"),
        (forged(8, "<Q", 2**62), "payload size"),
        (forged(8, "<Q", 2**64 - 1), "payload size"),
        (forged(16, "<B", 9), "unknown axis kind 9"),
        (forged(17, "<B", 1), "reserved"),
        (forged(20, "<I", 0), "bins 0 outside"),
        (forged(20, "<I", 2**32 - 1), "outside"),
        (forged(20, "<I", 2**24), "needs"),
        (forged(20, "<I", 11), "needs"),
        (forged(24, "<d", 5), "invalid axis.*lo < hi"),
    ],
    ids=lambda v: v.split(".")[0] if isinstance(v, str) else "",
)
def test_forged_fields_are_rejected_with_a_reason(blob: bytes, message: str) -> None:
    start = time.perf_counter()
    with pytest.raises(dl.DecodeError, match=message):
        dl.Histogram.from_bytes(blob)
    assert time.perf_counter() - start < 0.5, "rejection must not do work proportional to a forged size"


def test_forged_uniform_bounds_and_edges_are_validated() -> None:
    data = bytearray(sample_histograms()[0].to_bytes())
    struct.pack_into("<d", data, 24, float("nan"))
    with pytest.raises(dl.DecodeError, match="invalid axis.*finite"):
        dl.Histogram.from_bytes(reseal(bytes(data)))
    edges_blob = bytearray(sample_histograms()[1].to_bytes())
    struct.pack_into("<d", edges_blob, 24 + 8, -3.0)  # second edge below the first
    with pytest.raises(dl.DecodeError, match="strictly increasing"):
        dl.Histogram.from_bytes(reseal(bytes(edges_blob)))


def test_counts_that_add_past_2_64_are_rejected() -> None:
    blob = sample_histograms()[0].to_bytes()
    counts_at = 16 + 8 + 16
    data = bytearray(blob)
    struct.pack_into("<QQ", data, counts_at, 2**63, 2**63)
    with pytest.raises(dl.DecodeError, match="past 2\\^64"):
        dl.Histogram.from_bytes(reseal(bytes(data)))


@pytest.mark.parametrize("data", ["DRFL", 12, None, [1, 2]])
def test_from_bytes_needs_bytes(data: object) -> None:
    with pytest.raises(TypeError, match="bytes"):
        dl.Histogram.from_bytes(data)  # type: ignore[arg-type]


def test_random_garbage_never_crashes() -> None:
    rng = np.random.default_rng(123)
    good = sample_histograms()[0].to_bytes()
    for _ in range(2000):
        size = int(rng.integers(0, 300))
        garbage = rng.integers(0, 256, size=size, dtype=np.uint8).tobytes()
        if rng.random() < 0.5:
            garbage = reseal(good[:20] + garbage + b"\0\0\0\0")
        with pytest.raises(dl.DecodeError):
            dl.Histogram.from_bytes(garbage)
