"""Injectable clocks: any callable returning seconds (``time.time`` by default)."""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from . import _core

Clock = Callable[[], float]

#: The largest |reading| taken for seconds since the epoch (about the year 5138).
MAX_CLOCK_SECONDS: float = _core.max_clock_seconds


def check_clock(clock: Optional[Clock]) -> Clock:
    """The wall clock for None; ``TypeError`` for anything not callable."""
    if clock is None:
        return time.time
    if not callable(clock):
        raise TypeError(f"clock must be a callable returning seconds, got {type(clock).__name__}")
    return clock


def read_clock(clock: Clock) -> float:
    """The clock's reading as a float, refused unless it can be a time in seconds.

    ``TypeError`` for text (never parsed) and non-numbers; ``ValueError`` for NaN,
    infinities and readings beyond 1e11 s (a clock in ms, us or ns: those would
    number slots in the wrong unit). Nothing is counted before the check.
    """
    now = _number(clock(), "the clock's reading")
    if now != now:
        raise ValueError("the clock returned NaN")
    if not abs(now) <= MAX_CLOCK_SECONDS:
        raise ValueError(
            f"the clock returned {now!r}, which is not a time in seconds (readings must be finite, "
            "within 1e11 s of the epoch; a clock in ms, us or ns such as time.time_ns is refused)"
        )
    return now


def event_time(t: Any) -> float:
    """One event time given by the caller (``t=``), as seconds.

    Any real number is accepted, infinities included (they are counted late or
    future, never in a bucket); text is never parsed (``TypeError``) and NaN is
    ``ValueError``.
    """
    value = _number(t, "t")
    if value != value:
        raise ValueError("t must not be NaN")
    return value


def _number(x: Any, what: str) -> float:
    if isinstance(x, (str, bytes, bytearray)):
        raise TypeError(f"{what} must be a number of seconds, got text {x!r} (text is never parsed)")
    try:
        return float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number of seconds, got {type(x).__name__}") from None
