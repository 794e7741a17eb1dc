"""The mergeable, relative-error :class:`QuantileSketch`."""

from __future__ import annotations

import operator
from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from . import _core
from ._mergeable import Mergeable

__all__ = ["QuantileSketch"]


class QuantileSketch(Mergeable, _core.QuantileSketch):
    """Quantiles (p50, p99, p999, ...) of a stream with a guaranteed relative error.

    Buckets follow OpenTelemetry's base-2 exponential histogram: at scale ``s``,
    ``base = 2 ** 2 ** -s`` and bucket ``i`` holds the values in
    ``(base**i, base**(i+1)]``. Positive values and the magnitudes of negative
    values have separate stores; zeros have a count; ``count``, ``sum``, ``min``
    and ``max`` are exact. NaN and +-inf are counted in ``nan_count``,
    ``positive_inf_count`` and ``negative_inf_count`` and never enter buckets,
    sums, extremes or quantiles.

    Parameters
    ----------
    relative_accuracy:
        In ``(0, 1)``; the sketch uses the coarsest scale whose relative error
        ``(base - 1) / (base + 1)`` is within it (0.01 gives scale 6, error 0.54 %).
        The finest supported scale is 14 (error 2.1e-5).
    max_buckets:
        At most this many buckets per sign (4 .. 2**20; memory ``2 * 8 * max_buckets``
        bytes). A stream that needs more makes the sketch lower its scale, which
        merges bucket pairs exactly; the guarantee then becomes that of the new
        scale (see :attr:`accuracy`). Nothing is ever dropped.
    scale:
        Instead of ``relative_accuracy``: the scale itself, -10 .. 14.

    Guarantee: :meth:`quantile` returns the lower empirical quantile, the value
    at 0-based rank ``floor(q * (count - 1))`` of the sorted finite values, to
    within ``accuracy * |exact|`` (exact for ``q = 0`` and ``q = 1``; for normal,
    not subnormal, doubles). Thread-safe; :meth:`fill` releases the GIL.
    """

    _core_base = _core.QuantileSketch

    def __init__(
        self,
        relative_accuracy: float = 0.01,
        max_buckets: int = 4096,
        *,
        scale: Optional[int] = None,
    ) -> None:
        if scale is None:
            if isinstance(relative_accuracy, (str, bytes)) or not isinstance(
                relative_accuracy, (int, float, np.floating, np.integer)
            ):
                raise TypeError(
                    f"relative_accuracy must be real number, got {type(relative_accuracy).__name__}"
                )
            scale = _core.QuantileSketch.scale_for_accuracy(float(relative_accuracy))
        super().__init__(operator.index(scale), operator.index(max_buckets))

    # record(x) and fill(values) are the core's (record is a METH_O fast path).

    @property
    def relative_accuracy(self) -> float:
        """The relative error guaranteed at the requested scale."""
        return float(_core.QuantileSketch.relative_error_at(self.requested_scale))

    @property
    def accuracy(self) -> float:
        """The relative error guaranteed now (larger if the scale was lowered)."""
        return float(self.relative_error)

    @property
    def total(self) -> int:
        """Everything recorded: finite values, NaN and infinities."""
        return int(self.count + self.nan_count + self.positive_inf_count + self.negative_inf_count)

    def quantiles(self, qs: npt.ArrayLike) -> "np.ndarray[Any, np.dtype[np.float64]]":
        """:meth:`quantile` for each of ``qs`` (one pass over the buckets)."""
        return super().quantiles(qs)

    def merge(self, other: _core.QuantileSketch) -> "QuantileSketch":
        """Adds ``other``'s values into this sketch and returns ``self``; ``other`` is unchanged."""
        if not isinstance(other, _core.QuantileSketch):
            raise TypeError(f"can only merge a QuantileSketch, got {type(other).__name__}")
        super().merge(other)
        return self

    def __repr__(self) -> str:
        return (
            f"QuantileSketch(count={self.count}, scale={self.scale}, "
            f"accuracy={self.accuracy:.3g}, buckets={self.bucket_count}, "
            f"min={self.min:.6g}, max={self.max:.6g})"
        )
