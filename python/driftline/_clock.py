"""Injectable clocks: any callable returning seconds (``time.time`` by default)."""

from __future__ import annotations

import time
from typing import Callable, Optional

Clock = Callable[[], float]


def check_clock(clock: Optional[Clock]) -> Clock:
    """The wall clock for None; ``TypeError`` for anything not callable."""
    if clock is None:
        return time.time
    if not callable(clock):
        raise TypeError(f"clock must be a callable returning seconds, got {type(clock).__name__}")
    return clock


def read_clock(clock: Clock) -> float:
    """The clock's reading as a float; ``ValueError`` for NaN (it would move nothing sensibly)."""
    now = float(clock())
    if now != now:
        raise ValueError("the clock returned NaN")
    return now
