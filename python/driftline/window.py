"""Event-time windows: a ring of time slots of one prototype object."""

from __future__ import annotations

import math
import operator
from typing import Any, Generic, Optional, TypeVar, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._clock import Clock, check_clock, event_time, read_clock
from ._initialized import RequiresInit
from .histogram import Histogram
from .sketch import QuantileSketch

__all__ = ["Window"]

Slot = TypeVar("Slot", Histogram, QuantileSketch)


def _wrap(core: Any, kind: Any) -> Any:
    """A driftline.Histogram / driftline.QuantileSketch holding a copy of a core object."""
    obj = kind.__new__(kind)
    base = _core.Histogram if kind is Histogram else _core.QuantileSketch
    base.__init__(obj, core)
    return obj


class Window(RequiresInit, Generic[Slot]):
    """``length`` slots of ``width`` seconds, each a copy of an empty prototype, filled by event time.

    Slot ``k`` holds the events with ``floor(t / width) == k``. The clock (any
    callable returning seconds; ``time.time`` by default) moves the ring: the
    head slot is the latest ``floor(clock() / width)`` seen, and the ring holds
    the ``length`` slots ending there plus one look-ahead slot for events
    slightly ahead of this host's clock. An event in neither is counted, never
    silently dropped: older than the ring in :attr:`late`, more than one slot
    ahead of the clock in :attr:`future` (so a timestamp in milliseconds cannot
    wipe the ring), and values that age out of the ring in :attr:`expired`.
    At every moment ``total == sum of slot contents + late + future + expired``.
    A clock that goes backwards moves nothing; advancing over an idle gap costs
    at most ``length`` slot resets.

    With ``keep_expired=True`` the values leaving the ring are also merged into
    one object, and :meth:`lifetime` returns everything the window ever held:
    counts that never go down (what a Prometheus histogram needs).

    Thread-safe; batch fills release the GIL. Memory: ``length + 1`` prototypes
    (one more with ``keep_expired``).
    """

    def __init__(
        self,
        prototype: Slot,
        width: float = 60.0,
        length: int = 60,
        clock: Optional[Clock] = None,
        *,
        keep_expired: bool = False,
    ) -> None:
        if isinstance(prototype, _core.Histogram):
            if prototype.total:
                raise ValueError("prototype must be empty: it is the template of every slot")
            self._kind: type = Histogram
            self._core: Any = _core.HistogramWindow(prototype, float(width), operator.index(length), bool(keep_expired))
        elif isinstance(prototype, _core.QuantileSketch):
            if prototype.count or prototype.nan_count or prototype.positive_inf_count or prototype.negative_inf_count:
                raise ValueError("prototype must be empty: it is the template of every slot")
            self._kind = QuantileSketch
            self._core = _core.SketchWindow(prototype, float(width), operator.index(length), bool(keep_expired))
        else:
            raise TypeError(
                f"prototype must be a driftline.Histogram or driftline.QuantileSketch, got {type(prototype).__name__}"
            )
        self._clock = self._check_clock(clock)

    _check_clock = staticmethod(check_clock)

    def _now(self) -> float:
        return read_clock(self._clock)

    # -- filling -------------------------------------------------------------
    def record(self, x: float, t: Optional[float] = None) -> None:
        """Adds one value at time ``t`` (seconds; the clock's now when None)."""
        now = self._now()
        self._core.record(x, now if t is None else event_time(t), now)

    def fill(self, values: npt.ArrayLike, t: Union[None, float, npt.ArrayLike] = None) -> None:
        """Adds values at one time ``t`` or at per-value times (an array as long as ``values``).

        NaN timestamps, or a timestamp array of another length, raise ``ValueError``
        before anything is counted. Sorted or nearly sorted per-value timestamps
        are filled a run of equal slots at a time.
        """
        now = self._now()
        if t is None:
            self._core.fill_at(values, now, now)
        elif isinstance(t, (str, bytes)) or np.ndim(t) == 0:
            self._core.fill_at(values, event_time(t), now)
        else:
            self._core.fill_times(values, t, now)

    def merge(self, other: "Window[Any]") -> "Window[Slot]":
        """Adds another window's slots and counters, as if this one had seen its events too.

        For state from many processes or hosts. Width, length and slot
        configuration must match (``ValueError``). The ring moves to the later of
        the two heads; the other's slots older than the resulting ring count as
        expired, so the counter identity keeps holding. Returns ``self``.
        """
        if not isinstance(other, Window):
            raise TypeError(f"can only merge a Window, got {type(other).__name__}")
        if other._kind is not self._kind:
            raise ValueError(f"cannot merge a window of {other._kind.__name__} into one of {self._kind.__name__}")
        self._core.merge(other._core)
        return self

    # -- reading -------------------------------------------------------------
    def merged(self, last: Optional[float] = None) -> Slot:
        """One object merging the slots that end after ``now - last`` (all slots when None)."""
        return self._merged_at(math.inf if last is None else float(last), self._now())

    def series(self) -> list[tuple[float, Slot]]:
        """``(slot start time, object)`` for the ring's slots, oldest first."""
        return self._series_at(self._now())

    def lifetime(self) -> Slot:
        """Everything the window held since it began keeping expired values: the expired ones and the ring's.

        Raises ``ValueError`` for a window made without ``keep_expired``.
        """
        return self._lifetime_at(self._now())

    @property
    def keeps_expired(self) -> bool:
        return bool(self._core.keeps_expired)

    def _lifetime_at(self, now: float) -> Slot:
        if not self._core.keeps_expired:
            raise ValueError("this window does not keep its expired values (Window(..., keep_expired=True))")
        return _wrap(self._core.lifetime(now), self._kind)

    # For callers that read several windows at one clock reading (a Monitor's report).
    def _merged_at(self, last: float, now: float) -> Slot:
        return _wrap(self._core.merged(last, now), self._kind)

    def _series_at(self, now: float) -> list[tuple[float, Slot]]:
        return [(start, _wrap(obj, self._kind)) for start, obj in self._core.series(now)]

    def advance(self) -> None:
        """Moves the ring to the clock's now (expiring old slots) without adding anything."""
        self._core.advance_to(self._now())

    @property
    def width(self) -> float:
        return float(self._core.width)

    @property
    def length(self) -> int:
        return int(self._core.length)

    @property
    def total(self) -> int:
        """Every value ever offered: in the slots, late, future or expired."""
        return int(self._core.total)

    @property
    def late(self) -> int:
        """Values older than the ring when they arrived (dropped, counted)."""
        return int(self._core.late)

    @property
    def future(self) -> int:
        """Values more than one slot ahead of the clock when they arrived (dropped, counted)."""
        return int(self._core.future)

    @property
    def expired(self) -> int:
        """Values that aged out of the ring as the clock advanced."""
        return int(self._core.expired)

    @property
    def prototype(self) -> Slot:
        """An empty object of the slots' configuration."""
        return _wrap(self._core.prototype, self._kind)

    def __repr__(self) -> str:
        return (
            f"Window({self._kind.__name__}, width={self.width:g}, length={self.length}, total={self.total}, "
            f"late={self.late}, future={self.future}, expired={self.expired})"
        )

    # -- bytes and pickling --------------------------------------------------
    def to_bytes(self) -> bytes:
        """The ring in driftline's binary format (the clock is not part of it)."""
        return bytes(self._core.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, clock: Optional[Clock] = None) -> "Window[Any]":
        """Decodes :meth:`to_bytes` output; raises :class:`driftline.DecodeError`."""
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        if len(data) >= 18 and data[16:18] == b"\x02\x00":  # slot object type, see window.hpp
            core: Any = _core.SketchWindow(data)
            kind: type = QuantileSketch
        else:
            core = _core.HistogramWindow(data)
            kind = Histogram
        obj = cls.__new__(cls)
        obj._core = core
        obj._kind = kind
        obj._clock = cls._check_clock(clock)
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        # The clock is process state, not data: an unpickled window uses the wall clock.
        return (_restore, (self.to_bytes(),))

    def __copy__(self) -> "Window[Slot]":
        # A copy in this process keeps the clock (the same callable, shared).
        return type(self).from_bytes(self.to_bytes(), self._clock)

    def __deepcopy__(self, memo: dict[int, Any]) -> "Window[Slot]":
        return self.__copy__()


def _restore(data: bytes) -> Window[Any]:
    return Window.from_bytes(data)
