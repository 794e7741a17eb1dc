"""Reference binning that sees discrete data: Edges.for_reference against numpy, and the
shifts it exists for (a flag, a lost code level, a spike at zero) alerted by a Monitor."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import driftline as dl
from helpers import Clock


def bin_counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """numpy.histogram over the bins, half-open last bin (values at edges[-1] left out)."""
    inside = values[(values >= edges[0]) & (values < edges[-1])]
    return np.histogram(inside, edges)[0]


def test_one_value_is_one_cell() -> None:
    edges = dl.Edges.for_reference([4.0, 4.0, 4.0]).edges
    np.testing.assert_array_equal(edges, [4.0, np.nextafter(4.0, np.inf)])


def test_two_values_get_a_cell_each() -> None:
    edges = dl.Edges.for_reference([1.0, 2.0, 2.0, 2.0]).edges
    np.testing.assert_array_equal(edges, [1.0, 2.0, np.nextafter(2.0, np.inf)])


def test_a_flag_gets_a_cell_per_value() -> None:
    flag = (np.random.default_rng(0).random(10_000) < 0.1).astype(np.float64)
    edges = dl.Edges.for_reference(flag).edges
    np.testing.assert_array_equal(edges, [0.0, 1.0, np.nextafter(1.0, np.inf)])
    np.testing.assert_array_equal(bin_counts(edges, flag), [np.sum(flag == 0), np.sum(flag == 1)])


def test_small_integer_codes_get_a_cell_per_level() -> None:
    codes = np.random.default_rng(1).choice([3, 5, 7, 8, 11], 5000, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    edges = dl.Edges.for_reference(codes).edges
    np.testing.assert_array_equal(edges[:-1], np.unique(codes))
    np.testing.assert_array_equal(bin_counts(edges, codes.astype(float)), np.unique(codes, return_counts=True)[1])


@pytest.mark.parametrize("where", ["zero", "minimum", "maximum"])
def test_a_spike_gets_a_cell_of_its_own(where: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=20_000)
    spike = {"zero": 0.0, "minimum": x.min(), "maximum": x.max()}[where]
    x[rng.random(x.size) < 0.3] = spike
    edges = dl.Edges.for_reference(x).edges
    k = int(np.searchsorted(edges, spike))
    assert edges[k] == spike and edges[k + 1] == np.nextafter(spike, np.inf)
    assert bin_counts(edges, x)[k] == np.count_nonzero(x == spike)
    assert edges[0] == x.min() and edges[-1] == np.nextafter(x.max(), np.inf)  # every value inside
    # Without the spike the edges are the deciles of from_quantiles.
    plain = rng.normal(size=20_000)
    np.testing.assert_array_equal(dl.Edges.for_reference(plain).edges, dl.Edges.from_quantiles(plain).edges)


@settings(max_examples=150, deadline=None)
@given(
    levels=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30, unique=True),
    continuous=st.integers(0, 400),
    bins=st.integers(1, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_value_holding_its_share_has_its_own_cell(
    levels: list[float], continuous: int, bins: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(len(levels)) * 0.5)
    x = np.concatenate([rng.choice(levels, 400, p=weights), rng.uniform(-1e6, 1e6, continuous)])
    edges = dl.Edges.for_reference(x, bins).edges
    assert np.all(np.diff(edges) > 0)
    assert edges[0] <= x.min() and x.max() < edges[-1]  # every value inside a bin
    counts = bin_counts(edges, x)
    values, multiplicity = np.unique(x, return_counts=True)
    if values.size <= bins + 1 and continuous == 0:
        # The quantiles hit each level exactly when each holds a run longer than their spacing.
        if np.all(multiplicity >= (x.size - 1) / bins + 2):
            np.testing.assert_array_equal(edges[:-1], values)
    for v, m in zip(values, multiplicity):
        if m >= (x.size - 1) / bins + 2:  # guaranteed to be seen (the docstring's bound)
            k = int(np.searchsorted(edges, v))
            assert edges[k] == v, (v, m)
            assert counts[k] == m, (v, m)  # the cell starting at v holds v's values and no other


def _shift_scenarios() -> dict[str, tuple[Callable[[Any, int], np.ndarray], Callable[[Any, int], np.ndarray]]]:
    """Shifts that quantile edges alone cannot see: the moving mass stays inside one decile bin."""

    def flag(p: float) -> Callable[[Any, int], np.ndarray]:
        return lambda rng, n: (rng.random(n) < p).astype(np.float64)

    def codes(p: list[float]) -> Callable[[Any, int], np.ndarray]:
        return lambda rng, n: rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n, p=p)

    def zero_spike(zero: float, tiny: float) -> Callable[[Any, int], np.ndarray]:
        def draw(rng: Any, n: int) -> np.ndarray:
            x = rng.lognormal(0, 1, n)
            u = rng.random(n)
            x[u < zero + tiny] = rng.uniform(0.0, 0.01, n)[u < zero + tiny]  # just above zero
            x[u < zero] = 0.0
            return x

        return draw

    return {
        # quantile edges give the flag a single bin [0, 1 + ulp)
        "flag 10% -> 50%": (flag(0.1), flag(0.5)),
        # quantile edges put levels 4 and 5 in one bin; level 5's mass moves to 4
        "code loses a level": (codes([0.3, 0.25, 0.2, 0.15, 0.1]), codes([0.3, 0.25, 0.2, 0.25, 0.0])),
        # quantile edges put 0 and the values just above it in one bin
        "zero share 30% -> 10%": (zero_spike(0.3, 0.0), zero_spike(0.1, 0.2)),
    }


def _psi(reference: np.ndarray, current: np.ndarray, edges: np.ndarray) -> float:
    def cells(v: np.ndarray) -> np.ndarray:
        return np.concatenate([[np.sum(v < edges[0])], bin_counts(edges, v), [np.sum(v >= edges[-1])]]) + 0.5

    p, q = cells(reference), cells(current)
    p, q = p / p.sum(), q / q.sum()
    return float(((q - p) * np.log(q / p)).sum())


@pytest.mark.parametrize("scenario", list(_shift_scenarios()))
def test_monitor_alerts_for_shifts_in_discrete_values(scenario: str) -> None:
    reference, current = _shift_scenarios()[scenario]
    rng = np.random.default_rng(3)
    ref_values, cur_values = reference(rng, 50_000), current(rng, 50_000)
    # Decile edges alone see (almost) nothing; the reference binning sees the shift.
    assert _psi(ref_values, cur_values, dl.Edges.from_quantiles(ref_values).edges) < 0.05
    assert _psi(ref_values, cur_values, dl.Edges.for_reference(ref_values).edges) > 0.25
    profile = dl.Profile.from_data({"v": ref_values, "noise": rng.normal(size=50_000)})
    clock = Clock(0.0)
    monitor = dl.Monitor(profile, window=600, bucket=60, clock=clock)
    for minute in range(5):  # five completed one-minute buckets of 2,000 rows
        clock.t = minute * 60 + 30
        monitor.observe({"v": current(rng, 2000), "noise": rng.normal(size=2000)})
    clock.t = 5 * 60 + 1
    report = monitor.report()
    assert report.features["v"].status == "alert", report.features["v"].reasons
    assert report.features["noise"].status == "ok"
    # The same rows drawn from the reference itself give no alarm.
    quiet = dl.Monitor(profile, window=600, bucket=60, clock=clock)
    for minute in range(5):
        clock.t = minute * 60 + 30
        quiet.observe({"v": reference(rng, 2000), "noise": rng.normal(size=2000)})
    clock.t = 5 * 60 + 1
    assert quiet.report().features["v"].status == "ok"


@pytest.mark.parametrize("scenario", list(_shift_scenarios()))
def test_compare_alerts_for_shifts_in_discrete_values(scenario: str) -> None:
    reference, current = _shift_scenarios()[scenario]
    rng = np.random.default_rng(4)
    report = dl.compare({"v": reference(rng, 50_000)}, {"v": current(rng, 20_000)})
    assert report.features["v"].status == "alert", report.features["v"].reasons
    assert dl.compare({"v": reference(rng, 50_000)}, {"v": reference(rng, 20_000)}).features["v"].status == "ok"
