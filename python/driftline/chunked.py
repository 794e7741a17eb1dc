"""Profiles and comparisons of data that is only ever seen in chunks: files read in batches, dask partitions.

A *source* runs a pass: it applies a task to every chunk (any shape
:meth:`Profile.from_data` takes) and combines the results in any order (a
fold for a file, a tree for dask). The chunks must be the same on every pass.

:func:`profile` equals ``Profile.from_data`` of all the chunks at once:

1. one pass counts the categories of categorical columns (exactly) and the
   first 16-bit digit of the numeric values' order-preserving keys;
2. up to four passes select the exact quantiles the edges come from (radix
   selection, :mod:`driftline._selection`: ``numpy.quantile`` to the bit, with
   the same discrete-value and spike cells as :meth:`Edges.for_reference`);
   usually one, none when every column is categorical;
3. one pass counts every chunk on those edges and categories, and the
   per-chunk profiles merge.

So edges, categories, histograms, sketch buckets, counts, minima and maxima
are exactly the in-memory ones; the mean and standard deviation merge by Chan's
formulas and agree to floating-point rounding (relative 1e-12 in practice);
the sketch's ``sum`` likewise. Memory: the chunks one at a time, the category
counts of categorical columns (as in memory: one entry per distinct value),
and per numeric column at most 22 digit histograms of 65,536 entries. A
column's kind is decided as in memory over all chunks: categorical when any
chunk makes it so.

:func:`compare` equals :func:`driftline.compare` of a Profile and all the
chunks at once (the KS figures are the binned ones, as against any Profile):
each chunk is counted by a batch Monitor and the Monitors merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Protocol, TypeVar

import numpy as np

from . import _selection
from ._columns import is_categorical_column, named_columns
from ._convert import numeric_column
from .axis import Edges, edges_from_quantiles, reference_quantile_levels
from .histogram import Histogram
from .monitor import Monitor
from .policy import Policy
from .profile import CategoricalFeature, Feature, NumericFeature, Profile, tally_categories, top_categories
from .report import Report
from .sketch import QuantileSketch

__all__ = ["Source", "Chunks", "profile", "compare"]

T = TypeVar("T")


class Source(Protocol):
    """Runs one pass over the chunks: ``task`` on each, results combined pairwise (any grouping, any order)."""

    def run(self, task: Callable[[Any], T], combine: Callable[[T, T], T], what: str) -> Optional[T]:
        """The combined result, or None when there are no chunks."""
        ...


class Chunks:
    """A :class:`Source` over ``make()``, which returns a fresh iterable of the same chunks each time it is called.

    ``progress(what)``, when given, wraps each pass's iterable (a progress bar).
    """

    def __init__(self, make: Callable[[], Iterable[Any]], progress: Optional[Callable[[Iterable[Any], str], Iterable[Any]]] = None) -> None:
        self._make = make
        self._progress = progress

    def run(self, task: Callable[[Any], T], combine: Callable[[T, T], T], what: str) -> Optional[T]:
        chunks = self._make()
        if self._progress is not None:
            chunks = self._progress(chunks, what)
        out: Optional[T] = None
        for chunk in chunks:
            result = task(chunk)
            out = result if out is None else combine(out, result)
        return out


# -- pass 1: columns, kinds, category counts, first digits ------------------------------


@dataclass
class Survey:
    """What the first pass learns: rows, the columns in order, their kinds, category counts and first digits."""

    rows: int
    names: tuple[str, ...]
    categorical: dict[str, bool]  # per column: categorical in this chunk
    mixed: set[str] = field(default_factory=set)  # categorical in some chunks only: counted again
    tallies: dict[str, dict[Any, int]] = field(default_factory=dict)
    digits: dict[str, _selection.Counts] = field(default_factory=dict)

    def merge(self, other: "Survey") -> "Survey":
        if other.names != self.names:
            raise ValueError(f"chunks have different columns: {list(self.names)} and {list(other.names)}")
        out = Survey(self.rows + other.rows, self.names, {}, self.mixed | other.mixed)
        for name in self.names:
            a, b = self.categorical[name], other.categorical[name]
            out.categorical[name] = a or b
            if a != b:
                out.mixed.add(name)
            if a and b:
                out.tallies[name] = _add_tallies(self.tallies[name], other.tallies[name])
            elif a or b:
                out.tallies[name] = (self if a else other).tallies[name]
            if not a and not b:
                out.digits[name] = _selection.add_counts(self.digits[name], other.digits[name])
        return out


def _add_tallies(a: dict[Any, int], b: dict[Any, int]) -> dict[Any, int]:
    out = dict(a)
    for k, n in b.items():
        out[k] = out.get(k, 0) + n
    return out


def _finite_keys(column: Any, name: str) -> np.ndarray:
    values = numeric_column(column, name)
    return _selection.keys_of(values[np.isfinite(values)])


@dataclass(frozen=True)
class SurveyTask:
    """Pass 1 on one chunk; ``forced`` columns are categorical whatever they hold."""

    forced: frozenset[str]

    def __call__(self, chunk: Any) -> Survey:
        columns, rows = named_columns(chunk)
        survey = Survey(rows, tuple(n for n, _ in columns), {})
        for name, column in columns:
            categorical = name in self.forced or is_categorical_column(column)
            survey.categorical[name] = categorical
            if categorical:
                survey.tallies[name] = tally_categories(column)[0]
            else:
                survey.digits[name] = _selection.top_digits(_finite_keys(column, name))
        return survey


@dataclass(frozen=True)
class TallyTask:
    """The category counts of ``names`` in one chunk (columns categorical in only some chunks)."""

    names: frozenset[str]

    def __call__(self, chunk: Any) -> dict[str, dict[Any, int]]:
        return {n: tally_categories(c)[0] for n, c in named_columns(chunk)[0] if n in self.names}


def merge_tallies(a: dict[str, dict[Any, int]], b: dict[str, dict[Any, int]]) -> dict[str, dict[Any, int]]:
    return {n: _add_tallies(a[n], b[n]) for n in a}


# -- pass 2: exact quantiles ---------------------------------------------------------------


@dataclass(frozen=True)
class SelectTask:
    """One selection pass on one chunk: per numeric column, its :class:`_selection.Request`."""

    requests: dict[str, _selection.Request]

    def __call__(self, chunk: Any) -> dict[str, _selection.Answer]:
        columns = dict(named_columns(chunk)[0])
        return {n: _selection.answer(r, _finite_keys(columns[n], n)) for n, r in self.requests.items()}


def merge_answers(a: dict[str, _selection.Answer], b: dict[str, _selection.Answer]) -> dict[str, _selection.Answer]:
    return {n: a[n].merge(b[n]) for n in a}


def _quantiles(source: Source, digits: dict[str, _selection.Counts], bins: int) -> dict[str, np.ndarray]:
    """Per numeric column, the edges of Edges.for_reference, all columns selected together (one pass per round)."""
    levels = reference_quantile_levels(bins)
    selections: dict[str, _selection.RankSelection] = {}
    neighbours: dict[str, list[tuple[int, int, float]]] = {}
    for name, first in digits.items():
        count = int(first[1].sum())
        if count == 0:
            raise ValueError(f"feature {name!r} has no finite values to build reference edges from")
        neighbours[name] = _selection.quantile_ranks(count, levels)
        selections[name] = _selection.RankSelection.start(first, [r for lo, hi, _ in neighbours[name] for r in (lo, hi)])
    rounds = 0
    while any(not s.done for s in selections.values()):
        rounds += 1
        requests = {n: s.request() for n, s in selections.items() if not s.done}
        answers = source.run(SelectTask(requests), merge_answers, f"quantiles, pass {rounds}")
        if answers is None:
            raise ValueError("the source had no chunks on a later pass: the chunks changed between passes")
        for n, request in requests.items():
            selections[n].apply(request, answers[n])
    edges = {}
    for name, s in selections.items():
        quantiles, equal = _selection.finish(s, neighbours[name])
        try:
            edges[name] = edges_from_quantiles(quantiles, equal, s.count)
        except ValueError as e:
            raise ValueError(f"feature {name!r}: {e}") from None
    return edges


# -- pass 3: counts ------------------------------------------------------------------------


@dataclass(frozen=True)
class CountTask:
    """One chunk profiled on the skeleton's edges and categories."""

    skeleton: Profile

    def __call__(self, chunk: Any) -> Profile:
        return Profile.from_data(chunk, like=self.skeleton)


def merge_profiles(a: Profile, b: Profile) -> Profile:
    return a.merge(b)


def profile(
    source: Source,
    categorical: Optional[Iterable[str]] = None,
    bins: int = 10,
    max_categories: int = 50,
) -> Profile:
    """The :class:`Profile` of every chunk of ``source`` together, as ``Profile.from_data`` of all of it (module docs)."""
    bins, max_categories = int(bins), int(max_categories)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if max_categories < 1:
        raise ValueError(f"max_categories must be at least 1, got {max_categories}")
    forced = frozenset(categorical or ())
    survey = source.run(SurveyTask(forced), Survey.merge, "categories and quantile digits")
    if survey is None or survey.rows == 0:
        raise ValueError("the data has no rows")
    unknown = forced - set(survey.names)
    if unknown:
        raise ValueError(f"categorical names columns that are not in the data: {sorted(unknown)}")
    if survey.mixed:
        again = source.run(TallyTask(frozenset(survey.mixed)), merge_tallies, "categories of mixed columns")
        assert again is not None
        survey.tallies.update(again)
    numeric = {n: survey.digits[n] for n in survey.names if not survey.categorical[n]}
    edges = _quantiles(source, numeric, bins) if numeric else {}
    features: list[Feature] = []
    for name in survey.names:
        if survey.categorical[name]:
            categories = top_categories(survey.tallies[name], max_categories)
            features.append(CategoricalFeature(name, categories, Histogram(Edges(np.arange(len(categories) + 2.0)))))
        else:
            features.append(NumericFeature(name, edges[name], Histogram(Edges(edges[name])), QuantileSketch(0.01), 0.0, 0.0))
    counted = source.run(CountTask(Profile(features)), merge_profiles, "counts")
    if counted is None or counted.names != list(survey.names):
        raise ValueError("the chunks changed between passes")
    return counted


# -- comparison ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareTask:
    """One chunk counted by a batch Monitor, as its state's bytes (small, and they pickle)."""

    reference: Profile
    policy: Policy

    def __call__(self, chunk: Any) -> bytes:
        from .compare import batch_monitor

        monitor = batch_monitor(self.reference, self.policy)
        monitor.observe(chunk, t=0.0)
        return monitor.to_bytes()

    def decode(self, state: bytes) -> Monitor:
        from .compare import batch_monitor

        return batch_monitor(self.reference, self.policy, state)

    def combine(self, a: bytes, b: bytes) -> bytes:
        return self.decode(a).merge(self.decode(b)).to_bytes()


def compare(reference: Profile, source: Source, policy: Optional[Policy] = None, *, correction: Optional[str] = None) -> Report:
    """:func:`driftline.compare` of ``reference`` and every chunk of ``source`` together."""
    from .compare import batch_monitor, judge_batch

    if not isinstance(reference, Profile):
        raise TypeError(f"reference must be a driftline.Profile, got {type(reference).__name__}")
    policy = policy if policy is not None else Policy()
    task = CompareTask(reference, policy)
    state = source.run(task, task.combine, "comparison")
    monitor = task.decode(state) if state is not None else batch_monitor(reference, policy)
    return judge_batch(monitor, correction)
