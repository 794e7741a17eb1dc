"""Bounds-checked little-endian payloads for the objects the Python layer serializes.

Profiles and Monitors are written here, inside the same envelope as the core's
objects (magic, format version, object type, size, CRC-32C; sealed and checked
by the core). Decoding is a security boundary: every read is checked against
the bytes present before anything is allocated for it, and every failure is a
:class:`driftline.DecodeError`.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Union

from . import _core

# Object types of the envelope (see cpp/include/driftline/serde.hpp).
PROFILE = 6
MONITOR = 7

_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")

# Tags of the scalar values a categorical feature may hold.
_TAG_STR, _TAG_INT, _TAG_BOOL, _TAG_FLOAT = 1, 2, 3, 4

Category = Union[str, int, bool, float]


class Writer:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, v: int) -> None:
        self._parts.append(_U8.pack(v))

    def u32(self, v: int) -> None:
        self._parts.append(_U32.pack(v))

    def u64(self, v: int) -> None:
        self._parts.append(_U64.pack(v))

    def f64(self, v: float) -> None:
        self._parts.append(_F64.pack(v))

    def blob(self, data: bytes) -> None:
        self.u32(len(data))
        self._parts.append(bytes(data))

    def text(self, s: str) -> None:
        self.blob(s.encode("utf-8"))

    def raw(self, data: bytes) -> None:
        self._parts.append(bytes(data))

    def category(self, v: Category) -> None:
        if isinstance(v, bool):
            self.u8(_TAG_BOOL)
            self.u8(int(v))
        elif isinstance(v, int):
            self.u8(_TAG_INT)
            self._parts.append(_I64.pack(v))
        elif isinstance(v, float):
            self.u8(_TAG_FLOAT)
            self.f64(v)
        else:
            self.u8(_TAG_STR)
            self.text(v)

    def seal(self, object_type: int, version: int = 0) -> bytes:
        """The payload in the envelope; version 0 writes the type's current version."""
        return bytes(_core.seal(object_type, b"".join(self._parts), version))


class Reader:
    def __init__(self, object_type: int, data: Any) -> None:
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        version, payload = _core.unseal(object_type, data)
        self.version: int = version  # 1 .. the type's current version (the envelope checked it)
        self._data = bytes(payload)
        self._pos = 0

    def _take(self, n: int, what: str) -> bytes:
        if n > len(self._data) - self._pos:
            raise _core.DecodeError(f"cannot decode: truncated while reading {what}")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self, what: str) -> int:
        return int(_U8.unpack(self._take(1, what))[0])

    def u32(self, what: str) -> int:
        return int(_U32.unpack(self._take(4, what))[0])

    def u64(self, what: str) -> int:
        return int(_U64.unpack(self._take(8, what))[0])

    def f64(self, what: str) -> float:
        return float(_F64.unpack(self._take(8, what))[0])

    def finite(self, what: str) -> float:
        v = self.f64(what)
        if not math.isfinite(v):
            raise _core.DecodeError(f"cannot decode: {what} is not finite")
        return v

    def count(self, what: str, item_size: int) -> int:
        """A uint32 item count, checked against the bytes left (each item needs at least item_size)."""
        n = self.u32(what)
        if n * item_size > len(self._data) - self._pos:
            raise _core.DecodeError(f"cannot decode: {n} {what} do not fit in the bytes left")
        return n

    def blob(self, what: str) -> bytes:
        return self._take(self.u32(f"{what} size"), what)

    def raw(self, n: int, what: str) -> bytes:
        return self._take(n, what)

    def text(self, what: str) -> str:
        raw = self.blob(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _core.DecodeError(f"cannot decode: {what} is not UTF-8") from e

    def category(self, what: str) -> Category:
        tag = self.u8(f"{what} tag")
        if tag == _TAG_BOOL:
            b = self.u8(what)
            if b > 1:
                raise _core.DecodeError(f"cannot decode: {what} is not a bool")
            return bool(b)
        if tag == _TAG_INT:
            return int(_I64.unpack(self._take(8, what))[0])
        if tag == _TAG_FLOAT:
            return self.finite(what)
        if tag == _TAG_STR:
            return self.text(what)
        raise _core.DecodeError(f"cannot decode: unknown tag {tag} for {what}")

    def end(self, what: str) -> None:
        if self._pos != len(self._data):
            raise _core.DecodeError(f"cannot decode: {what}: {len(self._data) - self._pos} unexpected trailing bytes")


def decoded(what: str, fn: Any, *args: Any) -> Any:
    """Runs a nested decoder, turning any ValueError/TypeError into a DecodeError naming ``what``."""
    try:
        return fn(*args)
    except _core.DecodeError:
        raise
    except (ValueError, TypeError, OverflowError) as e:
        raise _core.DecodeError(f"cannot decode: invalid {what}: {e}") from e
