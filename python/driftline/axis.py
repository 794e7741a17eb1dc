"""Binnings for histograms: :class:`Uniform` and :class:`Edges`.

Every axis has ``bins`` half-open bins ``[edges[i], edges[i+1])`` and, beside
them, an underflow slot (``x < edges[0]``, ``-inf`` included), an overflow slot
(``x >= edges[-1]``, ``+inf`` included) and a NaN slot (NaN is never binned).
"""

from __future__ import annotations

import operator
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._convert import numeric_vector

__all__ = ["Axis", "Uniform", "Edges"]


class Axis(_core.Axis):
    """Common base of :class:`Uniform` and :class:`Edges`. Immutable and thread-safe."""

    __slots__ = ()

    @staticmethod
    def _wrap(core: _core.Axis) -> "Axis":
        cls = Uniform if core.kind == "uniform" else Edges
        obj = cls.__new__(cls)
        _core.Axis.__init__(obj, core)
        return obj

    def __len__(self) -> int:
        return int(self.bins)

    def __repr__(self) -> str:
        return self.describe()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _core.Axis):
            return NotImplemented
        return bool(_core.Axis.__eq__(self, other))

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_axis, (self.kind, self.edges.tolist()))


class Uniform(Axis):
    """``bins`` equal bins over ``[lo, hi)``.

    The edges are ``numpy.linspace(lo, hi, bins + 1)`` to the last bit, and
    values are binned exactly against them (a fast multiply finds the bin; values
    within a few ulps of an edge are rechecked by comparison). ``lo`` and ``hi``
    must be finite with ``lo < hi``; ``bins`` is an integer in ``[1, 2**24]``.
    """

    __slots__ = ()

    def __init__(self, lo: float, hi: float, bins: int) -> None:
        super().__init__(float(lo), float(hi), operator.index(bins))


class Edges(Axis):
    """Bins between given edges: bin ``i`` is ``[edges[i], edges[i+1])``.

    ``edges`` is a 1-D array-like of at least two finite, strictly increasing
    numbers (at most ``2**24 + 1``).
    """

    __slots__ = ()

    def __init__(self, edges: npt.ArrayLike) -> None:
        super().__init__(edges)

    @classmethod
    def from_quantiles(cls, sample: npt.ArrayLike, bins: int = 10) -> "Edges":
        """Edges at the sample's quantiles: the reference binning for drift.

        Takes the ``bins + 1`` quantiles at ``linspace(0, 1, bins + 1)`` of the
        non-NaN values (numpy's default linear interpolation; deciles by default)
        and removes duplicates, so heavy ties give fewer, wider bins. The last edge
        is moved one ulp above the sample's maximum so that every reference value
        falls inside a bin and the overflow slot counts only values above the
        reference range. A constant sample gives a single bin ``[c, nextafter(c))``.
        ``bins`` must be at least 1; a sample with no non-NaN value, or with an
        infinite value, raises ``ValueError``.
        """
        values, bins = _reference_values(sample, bins)
        edges = _quantile_values(values, bins)
        if edges.size == 1:
            edges = np.append(edges, edges[0])
        if edges[-1] == _LARGEST_DOUBLE:
            raise ValueError(f"the maximum is the largest double ({_LARGEST_DOUBLE!r}): no finite edge lies above it")
        edges[-1] = np.nextafter(edges[-1], np.inf)
        return cls(edges)

    @classmethod
    def for_reference(cls, sample: npt.ArrayLike, bins: int = 10) -> "Edges":
        """The reference binning for drift, which also sees discrete values and spikes.

        Starts from the same candidates as :meth:`from_quantiles`: the sample's
        quantiles at ``linspace(0, 1, bins + 1)``, duplicates removed.

        - **Discrete data**: when every non-NaN value of the sample is one of those
          candidates (at most ``bins + 1`` distinct values, each of which the
          quantiles hit exactly: flags, small codes, a constant), each value gets
          a cell of its own: edges
          ``[v0, v1, ..., vk, nextafter(vk)]``, so bin ``i`` holds exactly ``vi``
          (and the values between ``vi`` and ``vi+1`` that the sample never had).
          One value ``c`` gives the single bin ``[c, nextafter(c))``; two values
          ``a < b`` give ``[a, b)`` and ``[b, nextafter(b))``.
        - **Spikes**: otherwise the edges are :meth:`from_quantiles`' and, besides,
          every candidate that holds at least ``1/bins`` of the values gets the
          cell ``[v, nextafter(v))`` of its own, so a shift of its share is not
          diluted by its neighbours. A spike at the minimum or the maximum works
          the same way (the last edge stays one ulp above the maximum). Any value
          holding at least ``(n - 1) / bins + 2`` of the ``n`` values is a
          candidate (a quantile position falls strictly inside its run), so no
          such spike is missed.

        Every sample value is inside a bin, as with :meth:`from_quantiles`.
        ``bins`` must be at least 1; a sample with no non-NaN value, or with an
        infinite value, raises ``ValueError``.
        """
        values, bins = _reference_values(sample, bins)
        sketch = _core.QuantileSketch(6, 4096)  # 1 % accuracy, as a Profile's
        sketch.fill(values)
        return cls(reference_edges(values, bins, sketch))


def reference_edges(values: "np.ndarray[Any, np.dtype[np.float64]]", bins: int, sketch: _core.QuantileSketch) -> "np.ndarray[Any, np.dtype[np.float64]]":
    """The edges of :meth:`Edges.for_reference` for the finite values of ``values``.

    ``sketch`` must hold exactly ``values`` (NaN and infinities are skipped, as
    the sketch counts them apart); its buckets let the core select the exact
    quantiles in one pass instead of sorting (``numpy.quantile`` to the bit).
    """
    quantiles, equal = _core._reference_quantiles(values, sketch, reference_quantile_levels(bins))
    return edges_from_quantiles(quantiles, equal, int(sketch.count))


def reference_quantile_levels(bins: int) -> list[float]:
    """The quantile levels :meth:`Edges.for_reference` starts from: ``linspace(0, 1, bins + 1)``."""
    levels: list[float] = np.linspace(0.0, 1.0, bins + 1).tolist()
    return levels


def edges_from_quantiles(
    quantiles: "np.ndarray[Any, np.dtype[np.float64]]", equal: "np.ndarray[Any, Any]", count: int
) -> "np.ndarray[Any, np.dtype[np.float64]]":
    """:meth:`Edges.for_reference`'s edges from the exact quantiles at :func:`reference_quantile_levels`.

    ``equal[k]`` is how many of the ``count`` finite values equal ``quantiles[k]``
    (0 when interpolated); the number of levels minus one is ``bins``. Shared by
    the in-memory path and the chunked one (driftline.chunked), which select
    the same quantiles differently.
    """
    bins = len(quantiles) - 1
    candidates, first = np.unique(quantiles, return_index=True)
    if candidates[-1] == _LARGEST_DOUBLE:
        # The last edge lies one double above the maximum: none is finite above this one.
        raise ValueError(
            f"the maximum is the largest double ({_LARGEST_DOUBLE!r}): no finite edge lies above it, "
            "so it cannot be binned; rescale the values"
        )
    hits = np.asarray(equal)[first]  # how many values equal each candidate (0 if interpolated)
    beyond = np.nextafter(candidates, np.inf)
    if int(hits.sum()) == count:  # discrete: every value is a candidate
        present = candidates[hits > 0]
        return np.append(present, np.nextafter(present[-1], np.inf))
    spikes = candidates[hits * bins >= count]
    quantile_edges = candidates.copy()
    quantile_edges[-1] = beyond[-1]
    return np.unique(np.concatenate([quantile_edges, spikes, np.nextafter(spikes, np.inf)]))


_LARGEST_DOUBLE = float(np.finfo(np.float64).max)


def _reference_values(sample: npt.ArrayLike, bins: int) -> tuple["np.ndarray[Any, np.dtype[np.float64]]", int]:
    """The non-NaN float64 values of a reference sample, and ``bins`` checked."""
    bins = operator.index(bins)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    values = numeric_vector(sample, "sample")
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("sample has no non-NaN values to take quantiles of")
    if not np.all(np.isfinite(values)):
        raise ValueError("sample contains infinite values; quantile edges must be finite")
    return values, bins


def _quantile_values(values: "np.ndarray[Any, np.dtype[np.float64]]", bins: int) -> "np.ndarray[Any, np.dtype[np.float64]]":
    """The distinct quantiles at ``linspace(0, 1, bins + 1)`` (numpy's linear method), ascending."""
    return np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))


def _restore_axis(kind: str, edges: list[float]) -> Axis:
    if kind == "uniform":
        return Uniform(edges[0], edges[-1], len(edges) - 1)
    return Edges(edges)


AxisLike = Union[Uniform, Edges]
