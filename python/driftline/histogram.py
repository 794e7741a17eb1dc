"""The thread-safe, mergeable 1-D :class:`Histogram`."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._mergeable import Mergeable
from .axis import Axis

__all__ = ["Histogram"]


class Histogram(Mergeable, _core.Histogram):
    """Exact counts of values over an axis, with underflow, overflow and NaN slots.

    Semantics: bins are half-open ``[a, b)``; a value below the first edge counts
    in ``underflow``, at or above the last edge in ``overflow`` (``-inf`` and
    ``+inf`` there too); NaN counts in ``nan`` and never in a bin. ``total`` counts
    everything, so ``total == counts.sum() + underflow + overflow + nan`` always.

    Thread safety: every method may be called from many threads at once.
    :meth:`fill` releases the GIL while it counts, and totals are exact under
    concurrent writers. Memory: 8 bytes per bin plus a small constant.

    Serialization: :meth:`to_bytes` / :meth:`from_bytes` use driftline's
    versioned binary format (CRC-32C protected); pickling goes through the same
    bytes. Decoding untrusted bytes raises :class:`driftline.DecodeError` for any
    malformed input and never partially applies it.
    """

    _core_base = _core.Histogram

    def __init__(self, axis: Axis) -> None:
        if not isinstance(axis, _core.Axis):
            raise TypeError(
                "axis must be a driftline.Uniform or driftline.Edges, "
                f"got {type(axis).__name__}"
            )
        super().__init__(axis)

    # -- filling -------------------------------------------------------------
    # fill(values) and record(x) are inherited from the core unchanged, so a
    # scalar record costs one C++ call and no Python frame:
    #   fill(values): counts a 1-D array-like of bool/int/float numbers (any
    #     dtype width, byte order, strides); strings, objects, complex -> TypeError,
    #     other than 1-D -> ValueError. Releases the GIL.
    #   record(x): counts one number.

    # -- reading -------------------------------------------------------------
    @property
    def axis(self) -> Axis:
        """The binning (a :class:`Uniform` or :class:`Edges`)."""
        return Axis._wrap(self._axis)

    @property
    def edges(self) -> "np.ndarray[Any, np.dtype[np.float64]]":
        """The ``bins + 1`` bin edges."""
        return self._axis.edges

    @property
    def counts(self) -> "np.ndarray[Any, np.dtype[np.uint64]]":
        """Counts per bin (uint64, one per bin; flows and NaN excluded)."""
        return self.slot_counts()[1:-2]

    @property
    def underflow(self) -> int:
        """Values below the first edge (``-inf`` included)."""
        return int(self.slot_counts()[0])

    @property
    def overflow(self) -> int:
        """Values at or above the last edge (``+inf`` included)."""
        return int(self.slot_counts()[-2])

    @property
    def nan(self) -> int:
        """NaN values (never binned)."""
        return int(self.slot_counts()[-1])

    def proportions(self, flow: bool = True) -> "np.ndarray[Any, np.dtype[np.float64]]":
        """Fractions of the non-NaN values per bin.

        With ``flow=True`` (the default, what drift statistics use) the result is
        ``[underflow, bin 0, ..., bin n-1, overflow]`` divided by their sum; with
        ``flow=False`` only the bins, divided by the in-range count. NaN values
        are excluded from both. When the denominator is zero every entry is NaN.
        """
        slots = self.slot_counts()
        part = slots[:-1] if flow else slots[1:-2]
        denominator = int(part.sum())
        if denominator == 0:
            return np.full(part.shape, np.nan)
        return part.astype(np.float64) / float(denominator)

    # -- combining -----------------------------------------------------------
    def merge(self, other: _core.Histogram) -> "Histogram":
        """Adds ``other``'s counts into this histogram and returns ``self``.

        Raises :class:`driftline.AxisMismatchError` (a ``ValueError``) naming both
        axes when the binnings differ, and ``OverflowError`` (leaving this
        histogram unchanged) if a count would pass ``2**64 - 1``.
        """
        if not isinstance(other, _core.Histogram):
            raise TypeError(f"can only merge a Histogram, got {type(other).__name__}")
        super().merge(other)
        return self

    def __repr__(self) -> str:
        slots = self.slot_counts()
        return (
            f"Histogram({self._axis.describe()}, total={int(slots.sum())}, "
            f"underflow={int(slots[0])}, overflow={int(slots[-2])}, nan={int(slots[-1])})"
        )
