"""Exact order statistics of a column that is only ever seen in chunks (files read in batches, dask partitions).

Radix selection over the order-preserving 64-bit image of the doubles: a
double's bits, with the sign bit set for positives and every bit flipped for
negatives, sort as the doubles do. Each pass over the data refines every
unresolved rank by 16 more bits of its key (a histogram of the next digit of
the keys that share the rank's prefix), or, once its prefix holds few enough
values, copies those values. Four digits make a whole key, so a rank is exact
after at most four refining passes whatever the values; a prefix holds a
value's every copy, so "how many values equal it" is exact too.

Guarantee: :func:`linear_quantiles` equals ``numpy.quantile(v, qs)`` (the
"linear" method) bit for bit, and the per-quantile equal counts of the
in-memory ``_core._reference_quantiles``, where ``v`` is every finite value of
every chunk (``-0.0`` is keyed as ``0.0``; the two compare equal). Memory:
per column, the sparse digit histograms of its unresolved ranks (at most
65,536 entries each) and at most ``COLLECT_AT`` copied values per rank.
Pure functions: every partial result is plain data that pickles (dask ships it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

DIGIT_BITS = 16
LEVELS = 64 // DIGIT_BITS
COLLECT_AT = 1 << 18  # a prefix with at most this many values is copied instead of refined

_SIGN = np.uint64(1 << 63)
_DIGIT_MASK = np.uint64((1 << DIGIT_BITS) - 1)

Counts = tuple[np.ndarray, np.ndarray]  # (sorted unique digits or prefixes as uint64, uint64 counts)


def keys_of(finite: np.ndarray) -> np.ndarray:
    """The order-preserving uint64 image of finite float64 values (``-0.0`` as ``0.0``)."""
    bits = (np.asarray(finite, dtype=np.float64) + 0.0).view(np.uint64)  # -0.0 + 0.0 == +0.0
    # Negatives (arithmetic shift: all ones) flip every bit; positives set the sign bit.
    flip = (bits.view(np.int64) >> np.int64(63)).view(np.uint64) | _SIGN
    return bits ^ flip


def value_of(key: int) -> float:
    """The double whose key is ``key``."""
    k = np.uint64(key)
    bits = (k & ~_SIGN) if (k & _SIGN) else ~k
    return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])


def add_counts(a: Counts, b: Counts) -> Counts:
    """The sum of two sparse digit histograms (digits < 2**16: added densely, in linear time)."""
    dense = np.zeros(1 << DIGIT_BITS, dtype=np.uint64)
    for digits, counts in (a, b):
        dense[digits.astype(np.intp)] += counts
    present = np.flatnonzero(dense)
    return present.astype(np.uint64), dense[present]


def digit_counts(digits: np.ndarray) -> Counts:
    """The sparse histogram of 16-bit digits (a dense count, linear in the values, then its nonzero entries)."""
    dense = np.bincount(digits.astype(np.intp), minlength=1 << DIGIT_BITS)
    present = np.flatnonzero(dense)
    return present.astype(np.uint64), dense[present].astype(np.uint64)


def top_digits(keys: np.ndarray) -> Counts:
    """The first pass's histogram: the keys' first digit."""
    return digit_counts(keys >> np.uint64(64 - DIGIT_BITS))


@dataclass(frozen=True)
class Prefix:
    """The keys whose first ``level`` digits are ``digits``: ``below`` smaller keys exist, ``count`` share it."""

    level: int
    digits: int
    below: int
    count: int

    @property
    def lo(self) -> int:
        return self.digits << (64 - DIGIT_BITS * self.level)

    @property
    def hi(self) -> int:  # exclusive; may be 2**64
        return (self.digits + 1) << (64 - DIGIT_BITS * self.level)


@dataclass(frozen=True)
class Request:
    """What one pass computes over one column: per prefix, the next digit's histogram or the keys themselves."""

    refine: tuple[Prefix, ...]
    collect: tuple[Prefix, ...]

    def __bool__(self) -> bool:
        return bool(self.refine or self.collect)


@dataclass
class Answer:
    """One chunk's (or a merge of chunks') answer to a :class:`Request`."""

    digits: list[Counts]  # per refine prefix
    keys: list[np.ndarray]  # per collect prefix, unsorted

    def merge(self, other: "Answer") -> "Answer":
        return Answer(
            [add_counts(a, b) for a, b in zip(self.digits, other.digits)],
            [np.concatenate([a, b]) for a, b in zip(self.keys, other.keys)],
        )


def answer(request: Request, keys: np.ndarray) -> Answer:
    """One chunk's answer: one sorted search of its keys among the requested (disjoint) prefixes.

    Refined prefixes get one combined ``bincount`` of (prefix, next digit);
    only the keys of copied prefixes (few by construction) are sorted.
    """
    prefixes = list(request.refine) + list(request.collect)
    order = sorted(range(len(prefixes)), key=lambda j: prefixes[j].lo)
    starts = np.array([prefixes[j].lo for j in order], dtype=np.uint64)
    lasts = np.array([prefixes[j].hi - 1 for j in order], dtype=np.uint64)
    shifts = np.array([64 - DIGIT_BITS * (prefixes[j].level + 1) for j in order], dtype=np.uint64)
    prefix_of = np.array(order, dtype=np.int64)  # sorted position -> index into prefixes
    position = np.searchsorted(starts, keys, side="right").astype(np.int64) - 1
    inside = position >= 0
    inside[inside] = keys[inside] <= lasts[position[inside]]
    mine, where = keys[inside], position[inside]
    index = prefix_of[where]
    refined = len(request.refine)
    digits: list[Counts] = []
    to_refine = index < refined
    if refined:
        digit = ((mine[to_refine] >> shifts[where[to_refine]]) & _DIGIT_MASK).astype(np.int64)
        dense = np.bincount(index[to_refine] * (1 << DIGIT_BITS) + digit, minlength=refined << DIGIT_BITS)
        for row in dense.reshape(refined, 1 << DIGIT_BITS):
            present = np.flatnonzero(row)
            digits.append((present.astype(np.uint64), row[present].astype(np.uint64)))
    copied, copied_index = mine[~to_refine], index[~to_refine]
    sort = np.argsort(copied_index, kind="stable")
    copied, copied_index = copied[sort], copied_index[sort]
    bounds = np.searchsorted(copied_index, np.arange(refined, len(prefixes) + 1))
    collected = [copied[bounds[k] : bounds[k + 1]] for k in range(len(prefixes) - refined)]
    return Answer(digits, collected)


_EMPTY: Counts = (np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint64))


@dataclass
class RankSelection:
    """The state of selecting some ranks (0-based, among ``count`` finite values) over several passes."""

    count: int
    ranks: list[int]
    pending: dict[int, Prefix] = field(default_factory=dict)  # rank -> its prefix
    found: dict[int, int] = field(default_factory=dict)  # rank -> its key
    equal: dict[int, int] = field(default_factory=dict)  # key -> how many values have it

    @classmethod
    def start(cls, first_digits: Counts, ranks: Sequence[int]) -> "RankSelection":
        selection = cls(int(first_digits[1].sum()), sorted(set(int(r) for r in ranks)))
        selection._place(first_digits, None)
        return selection

    def _place(self, histogram: Counts, parent: Optional[Prefix]) -> None:
        """Moves the ranks inside ``parent`` (every rank when None) to the child prefix that holds each."""
        digits, counts = histogram
        cumulative = np.cumsum(counts.astype(np.int64))
        level = 1 if parent is None else parent.level + 1
        base_digits = 0 if parent is None else parent.digits << DIGIT_BITS
        base_below = 0 if parent is None else parent.below
        for r in self.ranks:
            if r in self.found or (parent is not None and self.pending.get(r) != parent):
                continue
            j = int(np.searchsorted(cumulative, r - base_below, side="right"))
            if j >= digits.size:
                raise ValueError("the chunks changed between passes: a rank is beyond the values counted")
            below = base_below + (int(cumulative[j - 1]) if j else 0)
            child = Prefix(level, base_digits | int(digits[j]), below, int(counts[j]))
            if level == LEVELS:  # a whole key: one value, every copy of it
                self.found[r] = child.digits
                self.equal[child.digits] = child.count
                self.pending.pop(r, None)
            else:
                self.pending[r] = child

    def request(self) -> Request:
        prefixes = sorted(set(self.pending.values()), key=lambda p: p.lo)
        return Request(
            tuple(p for p in prefixes if p.count > COLLECT_AT),
            tuple(p for p in prefixes if p.count <= COLLECT_AT),
        )

    def apply(self, request: Request, result: Answer) -> None:
        for p, histogram in zip(request.refine, result.digits):
            if int(histogram[1].sum()) != p.count:
                raise ValueError("the chunks changed between passes: a prefix's count differs")
            self._place(histogram, p)
        for p, keys in zip(request.collect, result.keys):
            if keys.size != p.count:
                raise ValueError("the chunks changed between passes: a prefix's count differs")
            ordered = np.sort(keys)
            for r in [r for r, q in self.pending.items() if q == p]:
                key = int(ordered[r - p.below])
                self.found[r] = key
                self.equal[key] = int(np.searchsorted(ordered, key, "right") - np.searchsorted(ordered, key, "left"))
                del self.pending[r]

    @property
    def done(self) -> bool:
        return not self.pending


def quantile_ranks(count: int, qs: Sequence[float]) -> list[tuple[int, int, float]]:
    """Per q, numpy's "linear" neighbours (floor and floor + 1 of ``(count - 1) q``, the last at or past it) and weight."""
    last = float(count - 1)
    out = []
    for q in qs:
        virtual = last * float(q)
        below = math.floor(virtual)
        if virtual >= last:
            out.append((count - 1, count - 1, virtual - below))
        else:
            out.append((int(below), int(below) + 1, virtual - below))
    return out


def numpy_lerp(a: float, b: float, t: float) -> float:
    """numpy's _lerp, each operation rounded on its own (as order_statistics.cpp)."""
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


def linear_quantiles(
    first_digits: Counts, qs: Sequence[float], run_pass: Callable[[Request], Answer]
) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.quantile`` of the finite values at ``qs`` and, per quantile, how many values equal it.

    ``first_digits`` is the merged :func:`top_digits` of every chunk's keys;
    ``run_pass(request)`` answers a request over every chunk (merged
    :func:`answer`). At most four passes.
    """
    count = int(first_digits[1].sum())
    if count == 0:
        raise ValueError("no finite values to take quantiles of")
    neighbours = quantile_ranks(count, qs)
    selection = RankSelection.start(first_digits, [r for lo, hi, _ in neighbours for r in (lo, hi)])
    while not selection.done:
        request = selection.request()
        selection.apply(request, run_pass(request))
    return finish(selection, neighbours)


def finish(selection: RankSelection, neighbours: Sequence[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The quantiles (numpy's lerp of each pair of found neighbours) and how many values equal each."""
    values, equal = [], []
    for lo, hi, t in neighbours:
        a, b = value_of(selection.found[lo]), value_of(selection.found[hi])
        v = numpy_lerp(a, b, t)
        values.append(v)
        same = [selection.found[r] for r, x in ((lo, a), (hi, b)) if x == v]
        equal.append(selection.equal[same[0]] if same else 0)
    return np.array(values, dtype=np.float64), np.array(equal, dtype=np.uint64)
