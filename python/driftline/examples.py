"""Generated data with known drifts, for trying :func:`driftline.compare` and for its tests and benchmarks."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DRIFTED", "drifted_batch"]

# The features of drifted_batch() whose distribution differs between the two halves.
DRIFTED = ("age", "income", "balance_ratio", "has_partner", "channel", "region")

_CHANNELS = ["web", "app", "store", "phone", "partner", "mail"]
_REGIONS = [f"region_{k:02d}" for k in range(12)]
_PLANS = ["basic", "plus", "pro", "family"]


def drifted_batch(rows: int = 200_000, seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(reference, current)``: two datasets of 25 features (20 numeric, 5 categorical).

    Six features drift between them (``DRIFTED``): ``age`` shifts by half a
    standard deviation, ``income`` is 30 % higher, ``balance_ratio`` is 60 %
    wider, the 0/1 flag ``has_partner`` rises from 10 % to 30 %, ``channel``'s
    top category grows from 30 % to 50 %, and ``region`` gets 15 % values it
    never had. The other 19 features are drawn from the same distributions in
    both (normal, lognormal, uniform, small integer codes, a spike at zero,
    categories of several sizes), with missing values in two of them.
    """
    rng = np.random.default_rng(seed)

    def half(drifted: bool) -> dict[str, Any]:
        n = rows
        data: dict[str, Any] = {
            "age": rng.normal(40 + (6 if drifted else 0), 12, n),
            "income": rng.lognormal(10.5, 0.5, n) * (1.3 if drifted else 1.0),
            "balance_ratio": rng.normal(0, 1.6 if drifted else 1.0, n),
            "has_partner": (rng.random(n) < (0.3 if drifted else 0.1)).astype(np.float64),
        }
        for k in range(6):
            data[f"signal_{k}"] = rng.normal(k, 1 + k / 4, n)
        for k in range(4):
            data[f"amount_{k}"] = rng.lognormal(k / 2, 0.8, n)
        data["tenure_years"] = rng.uniform(0, 30, n)
        data["items"] = rng.poisson(3, n).astype(np.float64)
        data["visits"] = rng.integers(0, 6, n).astype(np.float64)
        refunds = rng.exponential(20, n)
        refunds[rng.random(n) < 0.4] = 0.0  # a spike at zero
        data["refunds"] = refunds
        score = rng.beta(2, 5, n)
        score[rng.random(n) < 0.02] = np.nan  # some missing values
        data["score"] = score
        lag = rng.gamma(2, 3, n)
        lag[rng.random(n) < 0.05] = np.nan
        data["lag_days"] = lag
        top = 0.5 if drifted else 0.3
        data["channel"] = rng.choice(_CHANNELS, n, p=[top] + [(1 - top) / 5] * 5)
        region = rng.choice(_REGIONS, n)
        if drifted:
            unseen = rng.random(n) < 0.15
            region[unseen] = rng.choice(["region_90", "region_91"], int(unseen.sum()))
        data["region"] = region
        data["plan"] = rng.choice(_PLANS, n, p=[0.4, 0.3, 0.2, 0.1])
        data["device"] = rng.choice(["ios", "android", "desktop"], n, p=[0.35, 0.45, 0.2])
        data["language"] = rng.choice(["en", "de", "fr", "es", "it", "nl", "pl"], n)
        return data

    return half(False), half(True)
