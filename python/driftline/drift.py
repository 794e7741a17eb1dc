"""Drift statistics between a reference and a current distribution.

Binned statistics (:func:`psi`, :func:`js_distance`, :func:`hellinger`,
:func:`ks_binned`, :func:`wasserstein_binned`, :func:`chi2`) take two
:class:`~driftline.Histogram` objects with the same axis, whose cells are
``[underflow, bins..., overflow]`` (NaN is a data-quality signal, not a cell),
or two 1-D count arrays of the same length. Sample statistics (:func:`ks`,
:func:`wasserstein`) take raw 1-D samples. All computation is in the C++ core;
no scipy at run time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Union, cast

import numpy as np
import numpy.typing as npt

from . import _core
from ._convert import numeric_vector
from .histogram import Histogram

__all__ = [
    "psi",
    "psi_threshold",
    "js_distance",
    "hellinger",
    "ks",
    "KSResult",
    "ks_binned",
    "BinnedKSResult",
    "wasserstein",
    "wasserstein_binned",
    "BinnedWassersteinResult",
    "chi2",
    "Chi2Result",
]

Counts = Union[Histogram, npt.ArrayLike]


def _cells(reference: Counts, current: Counts) -> tuple[np.ndarray, np.ndarray]:
    """Two equally long float64 count vectors, from histograms or array-likes."""
    ref_is_hist = isinstance(reference, _core.Histogram)
    cur_is_hist = isinstance(current, _core.Histogram)
    if ref_is_hist != cur_is_hist:
        raise TypeError("pass two Histograms or two count arrays, not one of each")
    if ref_is_hist:
        if reference._axis != current._axis:  # type: ignore[union-attr]
            raise _core.AxisMismatchError(
                "histograms must share an axis: "
                f"{reference._axis.describe()} and {current._axis.describe()}"  # type: ignore[union-attr]
            )
        r = reference.slot_counts()[:-1].astype(np.float64)  # type: ignore[union-attr]
        c = current.slot_counts()[:-1].astype(np.float64)  # type: ignore[union-attr]
        return r, c
    # Lengths, signs and finiteness are checked by the core, with the same messages.
    r = numeric_vector(cast(npt.ArrayLike, reference), "reference")
    c = numeric_vector(cast(npt.ArrayLike, current), "current")
    return r, c


def psi(reference: Counts, current: Counts, smoothing: float = 0.5, *, strict: bool = False) -> float:
    """Population stability index, ``sum (q_i - p_i) ln(q_i / p_i)`` over all cells.

    ``p`` and ``q`` are the reference and current proportions after adding
    ``smoothing`` pseudo-counts to every cell (default 0.5), so the result is
    finite for any non-empty input, zero for identical proportions, symmetric
    in its arguments and independent of the order of the cells. Empty input
    (no counts on a side) gives NaN, or ``ValueError`` with ``strict=True``.
    Conventional reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major shift;
    see :func:`psi_threshold` for the noise floor at given sample sizes.
    """
    r, c = _cells(reference, current)
    value = float(_core._psi(r, c, float(smoothing)))
    if strict and math.isnan(value):
        raise ValueError("psi of an empty distribution: reference or current has no counts")
    return value


def psi_threshold(n_reference: float, n_current: float, bins: int, alpha: float = 0.01) -> float:
    """The PSI that two samples of these sizes from one distribution exceed with probability ``alpha``.

    ``bins`` is the number of cells in the sum (for a histogram, the cells with
    reference mass: bins plus any non-empty flow cell). Approximation: for samples
    from the same distribution, ``PSI * n_r n_c / (n_r + n_c)`` is asymptotically
    chi-square with ``bins - 1`` degrees of freedom (PSI is the symmetrized KL
    divergence, whose second-order expansion is the chi-square homogeneity
    statistic). It needs a few expected counts per cell; tests check it by simulation.
    """
    return float(_core._psi_threshold(float(n_reference), float(n_current), int(bins), float(alpha)))


def js_distance(reference: Counts, current: Counts) -> float:
    """Jensen-Shannon distance with base-2 logarithms, in [0, 1] (NaN if a side is empty)."""
    r, c = _cells(reference, current)
    return float(_core._js_distance(r, c))


def hellinger(reference: Counts, current: Counts) -> float:
    """Hellinger distance ``sqrt(sum (sqrt p - sqrt q)^2 / 2)``, in [0, 1] (NaN if a side is empty)."""
    r, c = _cells(reference, current)
    return float(_core._hellinger(r, c))


@dataclass(frozen=True)
class KSResult:
    """Two-sample Kolmogorov-Smirnov test (two-sided)."""

    statistic: float
    pvalue: float
    method: str  # the method used: "exact" or "asymp"
    n_reference: int
    n_current: int


def _sample(values: npt.ArrayLike, what: str, nan_policy: str) -> np.ndarray:
    """A sorted float64 copy without NaN (numpy sorts NaN last, so one look finds them)."""
    ordered = np.sort(numeric_vector(values, what))
    nan_count = 0
    if ordered.size and np.isnan(ordered[-1]):
        first_nan = int(np.searchsorted(ordered, np.nan))
        nan_count = ordered.size - first_nan
        if nan_policy == "raise":
            raise ValueError(f"{what} contains {nan_count} NaN values; pass nan_policy='omit' to drop them")
        ordered = ordered[:first_nan]
    if ordered.size == 0:
        raise ValueError(f"{what} is empty" + (" after dropping NaN" if nan_count else ""))
    return ordered


def ks(
    reference_sample: npt.ArrayLike,
    current_sample: npt.ArrayLike,
    method: str = "auto",
    *,
    nan_policy: str = "raise",
) -> KSResult:
    """Exact two-sample KS statistic with its p-value, as ``scipy.stats.ks_2samp`` (two-sided).

    ``method``: ``"exact"`` (lattice-path count), ``"asymp"`` (the Kolmogorov
    distribution at ``round(n m / (n + m))``) or ``"auto"`` (exact when both
    samples have at most 10000 values). Exact falls back to asymp when it cannot
    be computed in double precision; ``result.method`` says which was used.
    Ties are handled exactly. ``nan_policy``: ``"raise"`` (default) or ``"omit"``.
    The asymp p-value is NaN when ``n m / (n + m)`` rounds to 0 (one value each), as in scipy.
    """
    if method not in ("auto", "exact", "asymp"):
        raise ValueError(f"method must be 'auto', 'exact' or 'asymp', got {method!r}")
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    a = _sample(reference_sample, "reference_sample", nan_policy)
    b = _sample(current_sample, "current_sample", nan_policy)
    statistic, pvalue, used = _core._ks_sorted(a, b, method)
    return KSResult(float(statistic), float(pvalue), str(used), int(a.size), int(b.size))


@dataclass(frozen=True)
class BinnedKSResult:
    """KS from two histograms: the statistic at the edges and a bound on the raw-data statistic."""

    statistic: float  # max |F_ref - F_cur| over the cell edges (a lower bound on the raw statistic)
    bound: float  # the raw-data statistic cannot exceed this
    pvalue: float  # asymptotic p-value of `statistic` for these sample sizes
    n_reference: int
    n_current: int


def ks_binned(reference: Counts, current: Counts) -> BinnedKSResult:
    """KS between two binned distributions, honest about what binning hides.

    Inside a cell both empirical CDFs rise monotonically between their edge
    values, so the raw samples' statistic lies in ``[statistic, bound]``.
    NaN fields when a side is empty.
    """
    r, c = _cells(reference, current)
    statistic, bound, pvalue = _core._ks_binned(r, c)
    return BinnedKSResult(float(statistic), float(bound), float(pvalue), int(r.sum()), int(c.sum()))


def wasserstein(reference_sample: npt.ArrayLike, current_sample: npt.ArrayLike, *, nan_policy: str = "raise") -> float:
    """Exact first Wasserstein (earth mover's) distance, as ``scipy.stats.wasserstein_distance``."""
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    a = _sample(reference_sample, "reference_sample", nan_policy)
    b = _sample(current_sample, "current_sample", nan_policy)
    return float(_core._wasserstein_sorted(a, b))


@dataclass(frozen=True)
class BinnedWassersteinResult:
    """Wasserstein distance from two histograms, with the error binning allows."""

    distance: float  # with the mass spread uniformly inside each bin (flow cells excluded)
    bound: float  # the raw-data distance is within distance +- bound; inf when a flow cell has mass


def wasserstein_binned(reference: Histogram, current: Histogram) -> BinnedWassersteinResult:
    """Approximate Wasserstein distance from two histograms with the same axis."""
    if not (isinstance(reference, _core.Histogram) and isinstance(current, _core.Histogram)):
        raise TypeError("wasserstein_binned needs two Histograms (it uses their edges)")
    r, c = _cells(reference, current)
    distance, bound = _core._wasserstein_binned(r, c, reference._axis.edges)
    return BinnedWassersteinResult(float(distance), float(bound))


@dataclass(frozen=True)
class Chi2Result:
    """Chi-square test of homogeneity between two categorical count vectors."""

    statistic: float
    dof: int
    pvalue: float
    min_expected: float
    low_expected_fraction: float  # cells with an expected count below 5
    dropped_categories: int  # empty on both sides, left out
    caveat: Optional[str]  # set when the chi-square approximation is doubtful

    def __repr__(self) -> str:
        return (
            f"Chi2Result(statistic={self.statistic:.6g}, dof={self.dof}, pvalue={self.pvalue:.6g}"
            + (f", caveat={self.caveat!r}" if self.caveat else "")
            + ")"
        )


def chi2(reference_counts: Counts, current_counts: Counts) -> Chi2Result:
    """Chi-square homogeneity test on the 2 x k table [reference; current], no continuity correction.

    Matches ``scipy.stats.chi2_contingency(table, correction=False)`` on the
    table without categories that are empty on both sides (which scipy rejects
    and which carry no information). The usual caveat is reported, not hidden:
    when more than 20 % of the cells expect fewer than 5 counts, or any expects
    fewer than 1 (Cochran), ``caveat`` says so.
    """
    r, c = _cells(reference_counts, current_counts)
    stat, dof, pvalue, min_expected, below5, cells, dropped = _core._chi2(r, c)
    fraction = below5 / cells
    caveat = None
    if fraction > 0.2 or min_expected < 1.0:
        caveat = (
            f"{below5} of {cells} cells expect fewer than 5 counts (minimum {min_expected:.3g}); "
            "the chi-square p-value may be inaccurate"
        )
    return Chi2Result(float(stat), int(dof), float(pvalue), float(min_expected), float(fraction), int(dropped), caveat)


