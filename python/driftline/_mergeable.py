"""What every mergeable, serializable driftline object shares in Python."""

from __future__ import annotations

from typing import Any, TypeVar

Self = TypeVar("Self", bound="Mergeable")


class Mergeable:
    """Operators, copying, equality and bytes/pickle support on top of a core class.

    A subclass lists the core class as its second base and names it in
    ``_core_base``; it defines ``merge(other)`` (validating ``other`` and
    returning ``self``). The core class provides ``merge``, ``to_bytes``,
    ``__eq__`` and constructors from a copy and from bytes.
    """

    _core_base: Any  # the pybind11 class this one extends

    def __iadd__(self: Self, other: Any) -> Self:
        if not isinstance(other, self._core_base):
            return NotImplemented
        return self.merge(other)  # type: ignore[attr-defined, no-any-return]

    def __add__(self: Self, other: Any) -> Self:
        if not isinstance(other, self._core_base):
            return NotImplemented
        return self.copy().merge(other)  # type: ignore[attr-defined, no-any-return]

    def copy(self: Self) -> Self:
        """An independent copy."""
        obj = type(self).__new__(type(self))
        self._core_base.__init__(obj, self)
        return obj

    def __copy__(self: Self) -> Self:
        return self.copy()

    def __deepcopy__(self: Self, memo: dict[int, Any]) -> Self:
        return self.copy()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, self._core_base):
            return NotImplemented
        return bool(self._core_base.__eq__(self, other))

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]  # mutable

    @classmethod
    def from_bytes(cls: type[Self], data: bytes) -> Self:
        """Decodes ``to_bytes()`` output; raises :class:`driftline.DecodeError` for any malformed input."""
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        obj = cls.__new__(cls)
        cls._core_base.__init__(obj, data)
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.to_bytes()))  # type: ignore[attr-defined]


def _restore(cls: type[Mergeable], data: bytes) -> Mergeable:
    return cls.from_bytes(data)
