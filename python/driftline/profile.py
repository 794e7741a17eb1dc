"""Reference profiles: what each feature looked like in the data a model was trained on."""

from __future__ import annotations

import hashlib
import math
import operator
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy.typing as npt

import numpy as np

from . import _binary, _core
from ._columns import as_list, is_categorical_column, named_columns
from ._initialized import RequiresInit
from .axis import Edges, reference_edges
from ._convert import numeric_column, numeric_vector
from .histogram import Histogram
from .seasons import Seasonality
from .sketch import QuantileSketch

__all__ = ["NumericFeature", "CategoricalFeature", "Profile"]

Category = _binary.Category
_MAX_FEATURES = 1 << 16
_LARGEST = float(np.finfo(np.float64).max)


class _Counted:
    """What both feature kinds read off their reference histogram (NaN slot last)."""

    histogram: Histogram

    @property
    def missing(self) -> int:
        """NaN/None values."""
        return int(self.histogram.slot_counts()[-1])

    @property
    def total(self) -> int:
        """Every reference value, missing ones included."""
        return int(self.histogram.total)

    def cells(self) -> np.ndarray:
        """Reference counts of the histogram's cells, ``[underflow, bins..., overflow]`` (NaN excluded)."""
        return np.asarray(self.histogram.slot_counts()[:-1], dtype=np.float64)


@dataclass(eq=False)
class NumericFeature(_Counted):
    """A numeric reference: quantile edges, a histogram over them, a quantile sketch, moments.

    ``histogram`` counts every reference value (flows and NaN included) over
    ``edges``; by construction no reference value is in a flow unless the edges
    came from another profile (``like=``). ``sketch`` holds the finite values at
    1 % relative accuracy. ``mean`` and ``m2`` (sum of squared deviations) are
    over the finite values and merge exactly (Chan et al.).
    """

    name: str
    edges: np.ndarray
    histogram: Histogram
    sketch: QuantileSketch
    mean: float
    m2: float

    kind = "numeric"

    @property
    def count(self) -> int:
        """Finite values."""
        return int(self.sketch.count)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else math.nan

    @property
    def min(self) -> float:
        return float(self.sketch.min)

    @property
    def max(self) -> float:
        return float(self.sketch.max)

    @property
    def constant(self) -> bool:
        return not (self.sketch.min < self.sketch.max)

    def labels(self) -> list[str]:
        """A label per cell: ``"< e0"``, ``"[e0, e1)"``, ..., ``">= ek"``."""
        e = [f"{x:.4g}" for x in self.edges]
        return [f"< {e[0]}"] + [f"[{a}, {b})" for a, b in zip(e[:-1], e[1:])] + [f">= {e[-1]}"]

    def summary(self) -> dict[str, Any]:
        return {
            "kind": "numeric",
            "count": self.count,
            "missing": self.missing,
            "mean": self.mean if self.count else math.nan,
            "std": self.std,
            "min": self.min,
            "max": self.max,
            "p50": float(self.sketch.quantile(0.5)),
            "bins": len(self.edges) - 1,
        }


@dataclass(eq=False)
class CategoricalFeature(_Counted):
    """A categorical reference: the most frequent categories, an "other" count and a missing count.

    ``histogram`` is over the category codes: bin ``k`` counts ``categories[k]``,
    bin ``len(categories)`` counts every other value ("other"), and its NaN
    slot counts missing values (None, NaN).
    """

    name: str
    categories: tuple[Category, ...]
    histogram: Histogram

    kind = "categorical"

    @property
    def codes(self) -> dict[Category, int]:
        return {c: i for i, c in enumerate(self.categories)}

    @property
    def edges(self) -> np.ndarray:
        return np.arange(len(self.categories) + 2, dtype=np.float64)

    @property
    def count(self) -> int:
        return self.total - self.missing

    @property
    def other(self) -> int:
        return int(self.histogram.slot_counts()[len(self.categories) + 1])

    @property
    def constant(self) -> bool:
        return int(np.count_nonzero(self.cells())) <= 1

    def labels(self) -> list[str]:
        return ["(underflow)"] + [str(c) for c in self.categories] + ["(other)", "(overflow)"]

    def summary(self) -> dict[str, Any]:
        counts = self.histogram.slot_counts()
        return {
            "kind": "categorical",
            "count": self.count,
            "missing": self.missing,
            "categories": len(self.categories),
            "top": [(c, int(counts[i + 1])) for i, c in enumerate(self.categories[:5])],
            "other": self.other,
        }


Feature = Union[NumericFeature, CategoricalFeature]


def _moments(finite: np.ndarray) -> tuple[float, float]:
    """(mean, sum of squared deviations) of finite values, computed on values scaled by their
    largest magnitude so that neither overflows on the way; a sum of squares beyond the largest
    double (values near 1e154 and above) saturates there, so the profile stays encodable."""
    if finite.size == 0:
        return 0.0, 0.0
    scale = float(np.max(np.abs(finite)))
    if scale < 1e150:  # no overflow possible: numpy's own arithmetic, to the bit
        mean = float(finite.mean())
        return mean, float(((finite - mean) ** 2).sum())
    unit = finite / scale
    mean_unit = float(unit.mean())
    squares = float(((unit - mean_unit) ** 2).sum())
    with np.errstate(over="ignore"):
        m2 = min(squares * scale * scale, float(np.finfo(np.float64).max))
    return mean_unit * scale, m2


def _numeric_feature(name: str, values: np.ndarray, bins: int, edges: Optional[np.ndarray]) -> NumericFeature:
    sketch = QuantileSketch(0.01)
    sketch.fill(values)
    if edges is None:
        if sketch.count == 0:
            raise ValueError(f"feature {name!r} has no finite values to build reference edges from")
        # The sketch's buckets bracket the quantiles: one C++ pass selects them exactly.
        try:
            edges = reference_edges(values, bins, sketch)
        except ValueError as e:
            raise ValueError(f"feature {name!r}: {e}") from None
    hist = Histogram(Edges(edges))
    hist.fill(values)
    finite = values if sketch.count == values.size else values[np.isfinite(values)]
    mean, m2 = _moments(finite)
    return NumericFeature(name, np.asarray(edges, dtype=np.float64), hist, sketch, mean, m2)


def tally_categories(column: Any) -> tuple[dict[Any, int], Callable[[dict[Any, int], float], np.ndarray]]:
    """A column's category counts, and a function coding its values given the codes.

    C++ loops count and code the values by the canonical category rule
    (``_core._canonical_category``, category_rule.hpp) with no Python step per value; a
    numpy unicode array (never missing: every element is a str) is counted on its
    buffer, without making a str per value.
    """
    if isinstance(column, np.ndarray) and column.dtype.kind == "U" and column.ndim == 1:
        native = np.ascontiguousarray(column, dtype=column.dtype.newbyteorder("="))
        texts, ids, text_counts = _core._count_unicode(native)

        def code_texts(codes: dict[Any, int], other: float) -> np.ndarray:
            return np.array([float(codes.get(t, other)) for t in texts], dtype=np.float64)[ids]

        return dict(zip(texts, text_counts.tolist())), code_texts
    values = column.tolist() if isinstance(column, np.ndarray) else as_list(column)

    def code_values(codes: dict[Any, int], other: float) -> np.ndarray:
        return _core._encode_categories(values, codes, other)

    return _core._count_categories(values)[0], code_values


def top_categories(counts: dict[Any, int], max_categories: int) -> tuple[Category, ...]:
    """The ``max_categories`` most frequent categories; ties broken by the category's text, so profiles are deterministic."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return tuple(c for c, _ in ranked[:max_categories])


def _categorical_feature(
    name: str, column: Any, max_categories: int, categories: Optional[tuple[Category, ...]]
) -> CategoricalFeature:
    counts, code = tally_categories(column)
    if categories is None:
        categories = top_categories(counts, max_categories)
    coded = code({c: i for i, c in enumerate(categories)}, float(len(categories)))
    hist = Histogram(Edges(np.arange(len(categories) + 2, dtype=np.float64)))
    hist.fill(coded)
    return CategoricalFeature(name, categories, hist)


class Profile(RequiresInit):
    """The reference a Monitor compares production traffic with: one entry per feature.

    Build it once from training (or any trusted) data with :meth:`from_data`,
    store it with :meth:`save`/:meth:`to_bytes`, and combine profiles built in
    pieces with :meth:`merge` (the pieces must share edges and categories:
    build the later pieces with ``like=`` the first). A profile changes only
    through :meth:`merge`: treat the features' histograms and sketches as
    read-only (their bytes and fingerprint are cached between merges).
    """

    def __init__(self, features: Iterable[Feature]) -> None:
        self._features: dict[str, Feature] = {}
        for f in features:
            if not isinstance(f, (NumericFeature, CategoricalFeature)):
                raise TypeError(f"features must be NumericFeature or CategoricalFeature, got {type(f).__name__}")
            if not isinstance(f.name, str) or not f.name:
                raise ValueError("feature names must be non-empty strings")
            if f.name in self._features:
                raise ValueError(f"duplicate feature name {f.name!r}")
            self._features[f.name] = f
        if not self._features:
            raise ValueError("a profile needs at least one feature")
        if len(self._features) > _MAX_FEATURES:
            raise ValueError(f"at most {_MAX_FEATURES} features")
        # (stamp, bytes, SHA-256): to_bytes() of a profile of 200 numeric
        # features writes ~1.6 MB of sketches, and every Monitor built or
        # decoded with it needs those bytes or their hash.
        self._encoded: Optional[tuple[int, bytes, bytes]] = None
        self._version = 0  # bumped by merge(), the one way a Profile changes
        self._seasons: Optional[_Seasons] = None

    @classmethod
    def from_data(
        cls,
        data: Any,
        categorical: Optional[Iterable[str]] = None,
        bins: int = 10,
        max_categories: int = 50,
        *,
        names: Optional[Sequence[str]] = None,
        like: Optional["Profile"] = None,
        timestamps: Optional[npt.ArrayLike] = None,
        seasonality: Optional[str] = None,
        utc_offset: float = 0.0,
        min_season_rows: int = 500,
    ) -> "Profile":
        """Profiles every column of ``data``.

        ``data`` is a mapping of name -> 1-D array-like, a pandas DataFrame, or a
        2-D numpy array with ``names=``. Numeric columns get ``bins`` quantile
        edges (:meth:`Edges.for_reference`: quantiles, with a cell per value for
        discrete data and a cell of its own for a value holding 1/bins), a histogram,
        a sketch and moments. Strings, bools, pandas categories, objects that
        are not all numbers, and the columns named in ``categorical`` get the
        ``max_categories`` most frequent categories plus "other". ``like=``
        reuses another profile's edges, categories and kinds for the columns it
        has (so the two can be merged).

        Seasonal profiles: with ``seasonality="hour-of-day"`` (24 slots) or
        ``"hour-of-week"`` (168) and ``timestamps`` (one per row, seconds since
        the epoch, UTC; ``utc_offset`` seconds move them to local time), the
        profile also keeps, on the same edges and categories, the reference of
        each season slot. A Monitor judges each bucket against the reference of
        the slot its start falls in; slots with fewer than ``min_season_rows``
        reference rows fall back to the overall reference. See
        :class:`driftline.seasons.Seasonality`.
        """
        bins = operator.index(bins)
        max_categories = operator.index(max_categories)
        if bins < 1:
            raise ValueError(f"bins must be at least 1, got {bins}")
        if max_categories < 1:
            raise ValueError(f"max_categories must be at least 1, got {max_categories}")
        columns, _ = named_columns(data, names)
        forced = set(categorical or ())
        known = {name for name, _ in columns}
        if forced - known:
            raise ValueError(f"categorical names columns that are not in the data: {sorted(forced - known)}")
        features: list[Feature] = []
        for name, col in columns:
            template = like._features.get(name) if like is not None else None
            if isinstance(template, CategoricalFeature) or (
                template is None and (name in forced or is_categorical_column(col))
            ):
                cats = template.categories if isinstance(template, CategoricalFeature) else None
                features.append(_categorical_feature(name, col, max_categories, cats))
            else:
                values = numeric_column(col, name)
                edges = template.edges if isinstance(template, NumericFeature) else None
                features.append(_numeric_feature(name, values, bins, edges))
        profile = cls(features)
        if seasonality is None:
            if timestamps is not None:
                raise ValueError("timestamps are only used with seasonality= ('hour-of-day' or 'hour-of-week')")
            return profile
        season = Seasonality(seasonality, utc_offset, min_season_rows)
        if timestamps is None:
            raise ValueError("a seasonal profile needs timestamps=, one per row")
        rows = len(columns[0][1]) if columns else 0
        slots = season.slot_of(numeric_vector(timestamps, "timestamps"))
        if np.ndim(slots) != 1 or len(slots) != rows:
            raise ValueError(f"timestamps must hold one timestamp per row ({rows}), got {np.size(slots)}")
        order = np.argsort(slots, kind="stable")
        bounds = np.searchsorted(slots[order], np.arange(season.slots + 1))
        counts = np.zeros((season.slots, profile._slot_cells()), dtype=np.uint64)
        for k in range(season.slots):
            taken = order[bounds[k] : bounds[k + 1]]
            if taken.size:
                piece = cls.from_data({n: _take(c, taken) for n, c in columns}, categorical, bins, max_categories,
                                      like=profile)
                counts[k] = np.concatenate([f.histogram.slot_counts() for f in piece])
        profile._seasons = _Seasons(season, counts, tuple(len(f.edges) + 2 for f in profile))
        return profile

    def _slot_cells(self) -> int:
        """Cells of all features' histograms together (bins + 3 each: flows and NaN included)."""
        return sum(len(f.edges) + 2 for f in self)

    # -- seasons ---------------------------------------------------------------
    @property
    def seasonality(self) -> Optional[Seasonality]:
        """How this profile splits time into season slots, or None for a profile without seasons."""
        return self._seasons.seasonality if self._seasons is not None else None

    def season_rows(self) -> np.ndarray:
        """Reference rows per season slot (ValueError for a profile without seasons)."""
        return self._require_seasons().rows()

    def season_counts(self, slot: int, name: str) -> np.ndarray:
        """Feature ``name``'s reference counts in ``slot``: ``[underflow, bins..., overflow, NaN]``."""
        seasons = self._require_seasons()
        names = self.names
        i = names.index(name)
        start = sum(len(f.edges) + 2 for f in list(self)[:i])
        return seasons.counts[operator.index(slot), start : start + len(self[name].edges) + 2].copy()

    def _require_seasons(self) -> "_Seasons":
        if self._seasons is None:
            raise ValueError("this profile has no seasons (build it with seasonality= and timestamps=)")
        return self._seasons

    # -- access ----------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self._features)

    def __getitem__(self, name: str) -> Feature:
        return self._features[name]

    def __iter__(self) -> Iterator[Feature]:
        return iter(self._features.values())

    def __len__(self) -> int:
        return len(self._features)

    def __contains__(self, name: object) -> bool:
        return name in self._features

    def summary(self) -> dict[str, dict[str, Any]]:
        return {f.name: f.summary() for f in self}

    def __repr__(self) -> str:
        kinds = Counter(f.kind for f in self)
        return f"Profile({len(self)} features: {kinds['numeric']} numeric, {kinds['categorical']} categorical)"

    # -- merging ---------------------------------------------------------------
    def compatible(self, other: "Profile") -> bool:
        """Same features, kinds, edges, categories and seasonality (so counts can be added)."""
        if self.names != other.names or self.seasonality != other.seasonality:
            return False
        for a, b in zip(self, other):
            if type(a) is not type(b):
                return False
            if isinstance(a, NumericFeature) and not np.array_equal(a.edges, b.edges):  # type: ignore[union-attr]
                return False
            if isinstance(a, CategoricalFeature) and a.categories != b.categories:  # type: ignore[union-attr]
                return False
        return True

    def merge(self, other: "Profile") -> "Profile":
        """Adds another profile of the same features, edges and categories; returns ``self``."""
        if not isinstance(other, Profile):
            raise TypeError(f"can only merge a Profile, got {type(other).__name__}")
        if not self.compatible(other):
            raise ValueError(
                "profiles differ in features, edges or categories; build the later pieces with "
                "Profile.from_data(piece, like=first_profile)"
            )
        self._version += 1
        if self._seasons is not None and other._seasons is not None:
            self._seasons = _Seasons(
                self._seasons.seasonality, self._seasons.counts + other._seasons.counts, self._seasons.widths
            )
        for a, b in zip(self, other):
            a.histogram.merge(b.histogram)
            if isinstance(a, NumericFeature):
                assert isinstance(b, NumericFeature)
                na, nb = a.count, b.count  # a.sketch not merged yet
                n = na + nb
                if n:
                    delta = b.mean - a.mean
                    a.mean = a.mean + delta * nb / n
                    # Saturates at the largest double, as _moments does: the merged profile stays encodable.
                    with np.errstate(over="ignore"):
                        a.m2 = min(a.m2 + b.m2 + delta * delta * na * nb / n, _LARGEST)
                a.sketch.merge(b.sketch)
        return self

    def __add__(self, other: "Profile") -> "Profile":
        return Profile.from_bytes(self.to_bytes()).merge(other)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Profile):
            return NotImplemented
        if not self.compatible(other):
            return False
        for a, b in zip(self, other):
            if a.histogram != b.histogram:
                return False
            if isinstance(a, NumericFeature):
                assert isinstance(b, NumericFeature)
                if a.sketch != b.sketch or a.mean != b.mean or a.m2 != b.m2:
                    return False
        if self._seasons is not None and other._seasons is not None:
            return bool(np.array_equal(self._seasons.counts, other._seasons.counts))
        return True

    __hash__ = None  # type: ignore[assignment]

    # -- bytes and files -------------------------------------------------------
    # Payload (object type 6), version 1: uint32 F, uint32 reserved (zero); per
    # feature: name (uint32 size + UTF-8), uint8 kind (1 numeric, 2
    # categorical), then numeric: histogram blob, sketch blob, mean, m2 (f64);
    # categorical: uint32 K, K tagged categories, histogram blob.
    # Version 2 (written only for seasonal profiles, so a profile without
    # seasons keeps its version-1 bytes and fingerprint): the same, then uint8
    # seasonality (1 hour-of-day, 2 hour-of-week), f64 utc_offset, uint64
    # min_rows, uint32 slots S (24 or 168), then per slot, per feature, its
    # bins + 3 counts (uint64: underflow, bins, overflow, NaN). Decoding checks
    # that every feature's counts in a slot add up to the same row count.
    # Readers accept versions 1 and 2.
    def _encoding(self) -> tuple[bytes, bytes]:
        """(to_bytes(), its SHA-256 digest), computed once while the counts stay as they are."""
        stamp = self._version
        cached = self._encoded
        if cached is None or cached[0] != stamp:
            data = self._write()
            cached = self._encoded = (stamp, data, hashlib.sha256(data).digest())
        return cached[1], cached[2]

    def to_bytes(self) -> bytes:
        return self._encoding()[0]

    def _write(self) -> bytes:
        w = _binary.Writer()
        w.u32(len(self))
        w.u32(0)
        for f in self:
            w.text(f.name)
            if isinstance(f, NumericFeature):
                w.u8(1)
                w.blob(f.histogram.to_bytes())
                w.blob(f.sketch.to_bytes())
                w.f64(f.mean)
                w.f64(f.m2)
            else:
                w.u8(2)
                w.u32(len(f.categories))
                for c in f.categories:
                    w.category(c)
                w.blob(f.histogram.to_bytes())
        if self._seasons is None:
            return w.seal(_binary.PROFILE, 1)
        self._seasons.write(w)
        return w.seal(_binary.PROFILE, 2)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Profile":
        """Decodes :meth:`to_bytes` output; raises :class:`driftline.DecodeError` for any malformed blob."""
        r = _binary.Reader(_binary.PROFILE, data)
        n = r.count("features", 9)
        if n < 1 or n > _MAX_FEATURES:
            raise _core.DecodeError(f"cannot decode: {n} features is out of range")
        if r.u32("reserved") != 0:
            raise _core.DecodeError("cannot decode: reserved bytes are not zero")
        features: list[Feature] = []
        for _ in range(n):
            name = r.text("feature name")
            kind = r.u8("feature kind")
            if kind == 1:
                hist = _binary.decoded("histogram", Histogram.from_bytes, r.blob("histogram"))
                sketch = _binary.decoded("sketch", QuantileSketch.from_bytes, r.blob("sketch"))
                mean, m2 = r.finite("mean"), r.finite("m2")
                edges = np.asarray(hist.axis.edges, dtype=np.float64)
                counts = hist.slot_counts()
                finite_in_hist = int(counts[:-1].sum()) - sketch.positive_inf_count - sketch.negative_inf_count
                if counts[-1] != sketch.nan_count or finite_in_hist != sketch.count or m2 < 0:
                    raise _core.DecodeError(f"cannot decode: feature {name!r}: histogram and sketch disagree")
                features.append(NumericFeature(name, edges, hist, sketch, mean, m2))
            elif kind == 2:
                k = r.count("categories", 2)
                cats = tuple(r.category("category") for _ in range(k))
                if len(set(cats)) != len(cats):
                    raise _core.DecodeError(f"cannot decode: feature {name!r} repeats a category")
                hist = _binary.decoded("histogram", Histogram.from_bytes, r.blob("histogram"))
                if not np.array_equal(hist.axis.edges, np.arange(k + 2, dtype=np.float64)):
                    raise _core.DecodeError(f"cannot decode: feature {name!r}: histogram does not match its categories")
                features.append(CategoricalFeature(name, cats, hist))
            else:
                raise _core.DecodeError(f"cannot decode: unknown feature kind {kind}")
        profile: Profile = _binary.decoded("profile", cls, features)
        if r.version >= 2:
            profile._seasons = _Seasons.read(r, [len(f.edges) + 2 for f in features])
        r.end("profile payload")
        return profile

    @property
    def fingerprint(self) -> str:
        """SHA-256 of :meth:`to_bytes`, in hex: equal exactly when two profiles have the same bytes.

        Monitor state refers to its profile by this (``Monitor.to_bytes()``).
        """
        return self._encoding()[1].hex()

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes :meth:`to_bytes` to ``path`` (atomically: a temporary file, then a rename)."""
        path = os.fspath(path)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as fh:
            fh.write(self.to_bytes())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Profile":
        with open(os.fspath(path), "rb") as fh:
            return cls.from_bytes(fh.read())

    def __reduce__(self) -> tuple[Any, ...]:
        return (Profile.from_bytes, (self.to_bytes(),))


def _take(column: Any, rows: np.ndarray) -> Any:
    """The given rows of a column (a numpy array, a pandas Series or any sequence)."""
    if hasattr(column, "iloc"):
        return column.iloc[rows]
    if isinstance(column, np.ndarray):
        return column[rows]
    values = np.empty(len(column), dtype=object)
    values[:] = list(column)
    return values[rows]


_SEASON_CODES = {"hour-of-day": 1, "hour-of-week": 2}


@dataclass(frozen=True)
class _Seasons:
    """A seasonal profile's per-slot reference: ``counts[slot]`` holds every feature's histogram cells in a row."""

    seasonality: Seasonality
    counts: np.ndarray  # uint64, slots x sum(widths)
    widths: tuple[int, ...]  # per feature: bins + 3 (underflow, bins, overflow, NaN)

    def rows(self) -> np.ndarray:
        """Reference rows per slot (every feature's cells add up to them)."""
        return np.asarray(self.counts[:, : self.widths[0]].sum(axis=1), dtype=np.uint64)

    def write(self, w: _binary.Writer) -> None:
        s = self.seasonality
        w.u8(_SEASON_CODES[s.kind])
        w.f64(s.utc_offset)
        w.u64(s.min_rows)
        w.u32(s.slots)
        w.raw(np.ascontiguousarray(self.counts, dtype="<u8").tobytes())

    @staticmethod
    def read(r: _binary.Reader, widths: list[int]) -> "_Seasons":
        code = r.u8("seasonality")
        kinds = {v: k for k, v in _SEASON_CODES.items()}
        if code not in kinds:
            raise _core.DecodeError(f"cannot decode: unknown seasonality {code}")
        offset, min_rows = r.finite("utc offset"), r.u64("min rows")
        seasonality: Seasonality = _binary.decoded("seasonality", Seasonality, kinds[code], offset, min_rows)
        slots = r.u32("season slots")
        if slots != seasonality.slots:
            raise _core.DecodeError(f"cannot decode: {slots} season slots for {seasonality.kind}")
        width = sum(widths)
        counts = np.frombuffer(r.raw(8 * slots * width, "season counts"), dtype="<u8").reshape(slots, width)
        counts = counts.astype(np.uint64)
        # Row counts stay below 2^53 (so the integer sums below cannot wrap), and every
        # feature of a slot must count the same rows.
        if np.any(counts.astype(np.float64).sum(axis=1) >= 2.0**53):
            raise _core.DecodeError("cannot decode: season counts are too large")
        sums = np.add.reduceat(counts, np.cumsum([0] + widths[:-1]), axis=1)
        if np.any(sums != sums[:, :1]):
            raise _core.DecodeError("cannot decode: a season's features disagree about its row count")
        return _Seasons(seasonality, counts, tuple(widths))
