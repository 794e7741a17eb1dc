"""QuantileSketch: construction, bad input, bytes, pickle, hostile blobs, threads."""

from __future__ import annotations

import math
import pickle
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

import driftline as dl
from helpers import assert_every_truncation_and_bit_flip_fails, reseal

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        ({"relative_accuracy": 0.0}, ValueError, r"in \(0, 1\)"),
        ({"relative_accuracy": 1.0}, ValueError, r"in \(0, 1\)"),
        ({"relative_accuracy": -0.1}, ValueError, r"in \(0, 1\)"),
        ({"relative_accuracy": math.nan}, ValueError, r"in \(0, 1\)"),
        ({"relative_accuracy": 1e-6}, ValueError, "finer than the finest"),
        ({"max_buckets": 3}, ValueError, "max_buckets must be between 4 and 1048576, got 3"),
        ({"max_buckets": 2**21}, ValueError, "got 2097152"),
        ({"max_buckets": -1}, ValueError, "got -1"),
        ({"scale": 15}, ValueError, "scale must be between -10 and 14, got 15"),
        ({"scale": -11}, ValueError, "got -11"),
        ({"max_buckets": 10.5}, TypeError, "integer"),
        ({"relative_accuracy": "0.01"}, TypeError, "must be real number"),
    ],
)
def test_bad_configuration(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        dl.QuantileSketch(**kwargs)


@pytest.mark.parametrize(
    "values,error,message",
    [
        (np.array(["1"]), TypeError, "numeric"),
        (np.array([1j]), TypeError, "numeric"),
        (np.array([None]), TypeError, "numeric"),
        (np.zeros((2, 2)), ValueError, "1-D"),
        (1.0, ValueError, "1-D"),
    ],
)
def test_bad_fill_input(values: object, error: type, message: str) -> None:
    sketch = dl.QuantileSketch()
    with pytest.raises(error, match=message):
        sketch.fill(values)  # type: ignore[arg-type]
    assert sketch.total == 0


def test_bad_record_and_quantile_arguments() -> None:
    sketch = dl.QuantileSketch()
    with pytest.raises(TypeError):
        sketch.record("1")  # type: ignore[arg-type]
    for q in (-0.1, 1.1, math.nan):
        with pytest.raises(ValueError, match=r"in \[0, 1\]"):
            sketch.quantile(q)
        with pytest.raises(ValueError, match=r"in \[0, 1\]"):
            sketch.quantiles([0.5, q])
    with pytest.raises(TypeError):
        sketch.quantiles(["a"])  # type: ignore[list-item]


def test_properties_and_repr() -> None:
    sketch = dl.QuantileSketch(0.01, max_buckets=100)
    assert (sketch.scale, sketch.requested_scale, sketch.max_buckets) == (6, 6, 100)
    assert sketch.accuracy == sketch.relative_accuracy < 0.01
    sketch.fill([1.0, 1.5])
    assert repr(sketch).startswith("QuantileSketch(count=2, scale=6, accuracy=0.00542")
    sketch.fill([10.0])  # 1 .. 10 needs 213 buckets at scale 6: the scale drops to fit 100
    assert sketch.scale == 4 and sketch.bucket_count <= 100
    with pytest.raises(TypeError):
        hash(sketch)


def sample_sketches() -> list[dl.QuantileSketch]:
    rng = np.random.default_rng(0)
    a = dl.QuantileSketch(0.01)
    a.fill(rng.lognormal(0, 1, 1000))
    b = dl.QuantileSketch(scale=2, max_buckets=16)
    b.fill(np.concatenate([rng.standard_t(2, 500), [0.0, np.nan, np.inf, -np.inf]]))
    return [a, b, dl.QuantileSketch(scale=-3)]


@pytest.mark.parametrize("sketch", sample_sketches(), ids=repr)
def test_bytes_and_pickle_round_trip(sketch: dl.QuantileSketch) -> None:
    blob = sketch.to_bytes()
    assert blob[:4] == b"DRFL" and struct.unpack("<HH", blob[4:8]) == (1, 2)
    back = dl.QuantileSketch.from_bytes(blob)
    assert back == sketch and back.to_bytes() == blob
    assert (back.max_buckets, back.requested_scale) == (sketch.max_buckets, sketch.requested_scale)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        clone = pickle.loads(pickle.dumps(sketch, protocol=protocol))
        assert type(clone) is dl.QuantileSketch and clone == sketch


def test_serialized_size_of_ten_million_latencies_at_one_percent() -> None:
    latencies = 10.0 ** np.random.default_rng(9).uniform(-6, 1, 10_000_000)  # 1 us .. 10 s
    sketch = dl.QuantileSketch(0.01)
    sketch.fill(latencies)
    assert sketch.scale == 6
    assert len(sketch.to_bytes()) < 16 * 1024


def test_golden_file_of_version_1_still_decodes() -> None:
    blob = (GOLDEN / "quantile_sketch_v1.bin").read_bytes()
    sketch = dl.QuantileSketch.from_bytes(blob)
    # Contents written by tests/golden/make_golden.py.
    assert sketch.count == 7 and sketch.zero_count == 1 and sketch.nan_count == 1
    assert (sketch.positive_inf_count, sketch.negative_inf_count) == (1, 0)
    assert (sketch.min, sketch.max) == (-2.0, 1000.0)
    assert sketch.sum == math.fsum([1000.0, 1.5, -2.0, 0.0, 0.001, 3.0, -0.5])
    np.testing.assert_array_equal(sketch.buckets()[1], [1, 1, 1, 1])
    np.testing.assert_array_equal(sketch.buckets(negative=True)[1], [1, 1])
    assert sketch.scale == 6 and sketch.max_buckets == 4096
    assert sketch.to_bytes() == blob


def blobs() -> list[bytes]:
    return [s.to_bytes() for s in sample_sketches()] + [(GOLDEN / "quantile_sketch_v1.bin").read_bytes()]


@pytest.mark.parametrize("blob", blobs(), ids=lambda b: f"{len(b)}B")
def test_every_truncation_and_bit_flip_raises_decode_error(blob: bytes) -> None:
    assert_every_truncation_and_bit_flip_fails(blob, dl.QuantileSketch.from_bytes, dl.DecodeError)


def forge(offset: int, fmt: str, value: float) -> bytes:
    data = bytearray(sample_sketches()[0].to_bytes())
    struct.pack_into(fmt, data, 16 + offset, value)
    return reseal(bytes(data))


@pytest.mark.parametrize(
    "blob,message",
    [
        (forge(0, "<b", 15), "scales out of range"),
        (forge(0, "<b", 7), "scales out of range"),  # above the requested scale
        (forge(2, "<H", 1), "reserved"),
        (forge(4, "<I", 3), "max_buckets 3"),
        (forge(4, "<I", 2**31), "max_buckets"),
        (forge(76, "<I", 2**31), "exceeds max_buckets"),
        (forge(76, "<I", 4000), "do not fit"),
        (forge(72, "<i", 2**31 - 5), "outside the range"),
        (forge(40, "<d", 5.0), "contradict|min and max"),
        (forge(40, "<d", math.nan), "min and max"),
        (forge(8, "<Q", 2**64 - 1), "past 2\\^64"),
        (dl.Histogram(dl.Uniform(0, 1, 2)).to_bytes(), "object type 1 \\(Histogram\\), expected QuantileSketch"),
    ],
    ids=["scale", "scale-above-requested", "reserved", "max-buckets-small", "max-buckets-huge",
         "store-length-huge", "store-length-short", "store-index", "min-moved", "min-nan",
         "count-overflow", "histogram-blob"],
)
def test_forged_fields_are_rejected(blob: bytes, message: str) -> None:
    with pytest.raises(dl.DecodeError, match=message):
        dl.QuantileSketch.from_bytes(blob)


def test_eight_threads_give_exact_counts() -> None:
    sketch = dl.QuantileSketch(0.01)
    data = [np.random.default_rng(i).lognormal(-6, 1.5, 1_000_000) for i in range(8)]

    def writer(i: int) -> None:
        for chunk in np.array_split(data[i], 50):
            sketch.fill(chunk)
        for v in data[i][:20_000]:
            sketch.record(v)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sketch.count == 8 * 1_020_000
    expected = dl.QuantileSketch(0.01)
    for d in data:
        expected.fill(d)
        expected.fill(d[:20_000])
    assert sketch == expected
