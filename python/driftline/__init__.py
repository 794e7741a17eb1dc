"""driftline: always-on drift, data-quality and latency monitoring for ML services.

The core is C++ (``driftline._core``); this package is its typed Python face.
"""

from __future__ import annotations

from ._core import AxisMismatchError, DecodeError, active_simd, select_simd, simd_variants
from .axis import Axis, Edges, Uniform
from .compare import adjust_pvalues, compare
from .drift import (
    BinnedKSResult,
    BinnedWassersteinResult,
    Chi2Result,
    KSResult,
    chi2,
    hellinger,
    js_distance,
    ks,
    ks_binned,
    psi,
    psi_threshold,
    wasserstein,
    wasserstein_binned,
)
from .histogram import Histogram
from ._monitor_codec import ProfileMismatchError
from .monitor import Monitor
from .policy import Policy
from .profile import CategoricalFeature, NumericFeature, Profile
from .report import Contributor, FeatureReport, LatencyReport, Report, SchemaReport, Status
from .sketch import QuantileSketch
from .window import Window

__version__ = "0.1.0"

__all__ = [
    "Axis",
    "adjust_pvalues",
    "compare",
    "BinnedKSResult",
    "BinnedWassersteinResult",
    "Chi2Result",
    "KSResult",
    "chi2",
    "hellinger",
    "js_distance",
    "ks",
    "ks_binned",
    "psi",
    "psi_threshold",
    "wasserstein",
    "wasserstein_binned",
    "AxisMismatchError",
    "DecodeError",
    "Edges",
    "Histogram",
    "QuantileSketch",
    "Window",
    "Monitor",
    "ProfileMismatchError",
    "Status",
    "Policy",
    "Profile",
    "NumericFeature",
    "CategoricalFeature",
    "Report",
    "FeatureReport",
    "SchemaReport",
    "LatencyReport",
    "Contributor",
    "Uniform",
    "active_simd",
    "select_simd",
    "simd_variants",
]
