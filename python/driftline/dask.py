"""Profiles and comparisons of dask DataFrames that do not fit one machine: ``pip install "driftline[dask]"``.

Every pass maps over the partitions in the workers and merges the partial
results in a binary tree (:mod:`driftline.chunked` for the passes and what is
exact): the quantile edges come from an exact distributed selection, so
:func:`profile` equals ``Profile.from_data`` of the whole frame on one machine
(edges, categories, histograms, sketch buckets, counts, minima, maxima
exactly; mean and standard deviation to floating-point rounding), and
:func:`compare` equals ``driftline.compare(profile, whole_frame)``. Only
partial states travel: category counts, digit histograms, the few values
inside a selected prefix, per-partition profiles and Monitor states.

Uses the current dask scheduler (a ``distributed.Client`` if one is active).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, TypeVar

from . import chunked
from .policy import Policy
from .profile import Profile
from .report import Report

__all__ = ["profile", "compare", "DaskSource"]

T = TypeVar("T")


def _dask() -> Any:
    try:
        import dask  # type: ignore[import-untyped, unused-ignore]
    except ImportError as e:
        raise ImportError('driftline.dask needs dask: pip install "driftline[dask]"') from e
    return dask


def _apply(task: Callable[[Any], T], partition: Any) -> T:
    return task(partition)


def _combine(combine: Callable[[T, T], T], a: T, b: T) -> T:
    return combine(a, b)


class DaskSource:
    """A :class:`~driftline.chunked.Source` over a dask DataFrame's partitions, reduced in a binary tree."""

    def __init__(self, frame: Any) -> None:
        if not hasattr(frame, "to_delayed") or not hasattr(frame, "npartitions"):
            raise TypeError(f"expected a dask DataFrame, got {type(frame).__name__}")
        self._partitions = frame.to_delayed()

    def run(self, task: Callable[[Any], T], combine: Callable[[T, T], T], what: str) -> Optional[T]:
        dask = _dask()
        # One graph node each for the task and the combiner: a task that holds a
        # Profile is shipped to each worker once, not once per partition.
        task_node, combine_node = dask.delayed(task), dask.delayed(combine)
        level = [dask.delayed(_apply)(task_node, p) for p in self._partitions]
        if not level:
            return None
        while len(level) > 1:
            paired = [dask.delayed(_combine)(combine_node, a, b) for a, b in zip(level[0::2], level[1::2])]
            level = paired + ([level[-1]] if len(level) % 2 else [])
        (result,) = dask.compute(level[0])
        return result  # type: ignore[no-any-return]


def profile(
    frame: Any, categorical: Optional[Iterable[str]] = None, bins: int = 10, max_categories: int = 50
) -> Profile:
    """The :class:`Profile` of a dask DataFrame, equal to ``Profile.from_data`` of it computed on one machine."""
    return chunked.profile(DaskSource(frame), categorical=categorical, bins=bins, max_categories=max_categories)


def compare(reference: Profile, frame: Any, policy: Optional[Policy] = None, *, correction: Optional[str] = None) -> Report:
    """``driftline.compare(reference, frame)`` for a dask DataFrame, counted in the workers."""
    return chunked.compare(reference, DaskSource(frame), policy, correction=correction)
