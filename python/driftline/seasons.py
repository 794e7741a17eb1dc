"""Season slots: which hour of the day (or of the week) a timestamp falls in, exactly."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import numpy.typing as npt

__all__ = ["Seasonality", "SEASONALITIES"]

# name -> (slots, phase): slot = (floor((t + utc_offset) / 3600) + phase) mod slots. The Unix epoch
# (1970-01-01 00:00 UTC) was a Thursday, 72 hours after a Monday 00:00, so the hour of the week
# counts from Monday 00:00 local time, like datetime.weekday() * 24 + hour.
SEASONALITIES = {"hour-of-day": (24, 0), "hour-of-week": (168, 72)}
_HOUR = 3600.0


@dataclass(frozen=True)
class Seasonality:
    """How a seasonal profile splits time: ``kind`` "hour-of-day" (24 slots) or "hour-of-week" (168).

    Timestamps are seconds since the Unix epoch (UTC); ``utc_offset`` (seconds,
    a multiple of 60 between -14 h and +14 h) moves them to the service's local
    time. A slot with fewer than ``min_rows`` reference rows falls back to the
    overall reference. Slot assignment is exact: an hour boundary belongs to the
    hour it starts.
    """

    kind: str
    utc_offset: float = 0.0
    min_rows: int = 500

    def __post_init__(self) -> None:
        if self.kind not in SEASONALITIES:
            raise ValueError(f"seasonality must be one of {sorted(SEASONALITIES)}, got {self.kind!r}")
        offset = self.utc_offset
        if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not math.isfinite(offset):
            raise TypeError(f"utc_offset must be a number of seconds, got {offset!r}")
        if abs(offset) > 14 * _HOUR or offset % 60 != 0:
            raise ValueError(f"utc_offset must be a whole number of minutes within +-14 h, got {offset!r} s")
        object.__setattr__(self, "utc_offset", float(offset))
        if isinstance(self.min_rows, bool) or operator.index(self.min_rows) < 1:
            raise ValueError(f"min_rows must be an integer >= 1, got {self.min_rows!r}")

    @property
    def slots(self) -> int:
        return SEASONALITIES[self.kind][0]

    @property
    def phase(self) -> int:
        return SEASONALITIES[self.kind][1]

    def slot_of(self, t: Union[float, npt.ArrayLike]) -> Any:
        """The slot of each timestamp (an int for a scalar, an int64 array otherwise); ValueError for non-finite times."""
        times = np.asarray(t, dtype=np.float64)
        if not np.all(np.isfinite(times)):
            raise ValueError("timestamps must be finite seconds since the epoch")
        # Hour boundaries fall on whole seconds (the offset is whole minutes), so the
        # whole second of t decides its hour, and that sum and quotient are exact.
        hours = np.floor((np.floor(times) + self.utc_offset) / _HOUR).astype(np.int64)
        slots = (hours + self.phase) % self.slots
        return int(slots) if slots.ndim == 0 else slots

    def name(self, slot: int) -> str:
        """How a report names the reference of ``slot``: "hour-of-day 14", "hour-of-week 38"."""
        return f"{self.kind} {slot}"
