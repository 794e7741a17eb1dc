"""When a Monitor says "warn" or "alert": thresholds, evidence and hysteresis."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

__all__ = ["Policy", "LEVELS"]

# Status levels, in order of severity ("insufficient data" is reported when no
# level could be judged).
LEVELS = ("ok", "warn", "alert")


@dataclass(frozen=True)
class Policy:
    """The rules a :class:`~driftline.Monitor` applies; every field has a documented default.

    Evidence is judged per completed bucket: a bucket with fewer than
    ``min_count`` rows (non-missing values, for drift) gives no verdict. In a
    judged bucket a feature's level is the worst of:

    - drift: PSI against the reference at least ``psi_warn`` (default 0.1) /
      ``psi_alert`` (0.25), the industry convention, **and** above the noise
      floor :func:`driftline.psi_threshold` for the bucket's sample sizes at
      ``noise_alpha`` (0.001), so small buckets cannot raise false alarms;
    - missing values: the missing rate above the reference rate by
      ``missing_warn`` (0.05) / ``missing_alert`` (0.2), and by more than three
      standard errors;
    - out of range (numeric): the rate beyond the reference range above the
      reference rate by ``range_warn`` (0.05) / ``range_alert`` (0.2), likewise;
    - unseen categories: the rate of values outside the reference categories
      above the reference "other" rate by ``unseen_warn`` / ``unseen_alert``
      (0.05 / 0.2), likewise;
    - stuck: every value in the bucket equal although the reference was not
      constant: alert.

    Hysteresis: a feature's status rises to a level only after ``consecutive``
    (3) judged buckets in a row at or above it, and falls only after
    ``consecutive`` judged buckets in a row below it, so alerts do not flap.

    A feature with no non-missing value for ``stale_after`` seconds (default:
    5 buckets) is stale: alert, at once. Latency is judged per bucket like the
    features, on its p99 against ``latency_p99_warn`` / ``latency_p99_alert``
    (seconds; None, the default, never judges latency: there is no universal
    latency objective). Schema: fields absent from at least ``absent_rate``
    (0.5) of the rows are reported missing; fields the profile does not know
    are reported unexpected (warn); a missing field whose reference matches an
    unexpected field's live distribution with PSI below ``psi_warn`` is
    reported as a probable rename.
    """

    psi_warn: float = 0.1
    psi_alert: float = 0.25
    noise_alpha: float = 0.001
    min_count: int = 100
    consecutive: int = 3
    missing_warn: float = 0.05
    missing_alert: float = 0.2
    range_warn: float = 0.05
    range_alert: float = 0.2
    unseen_warn: float = 0.05
    unseen_alert: float = 0.2
    stale_after: Optional[float] = None
    latency_p99_warn: Optional[float] = None
    latency_p99_alert: Optional[float] = None
    absent_rate: float = 0.5

    def __post_init__(self) -> None:
        def positive(name: str) -> None:
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not (v > 0) or not math.isfinite(v):
                raise ValueError(f"Policy.{name} must be a positive finite number, got {v!r}")

        for pair in (("psi_warn", "psi_alert"), ("missing_warn", "missing_alert"), ("range_warn", "range_alert"),
                     ("unseen_warn", "unseen_alert")):
            positive(pair[0])
            positive(pair[1])
            if getattr(self, pair[0]) > getattr(self, pair[1]):
                raise ValueError(f"Policy.{pair[0]} must not exceed Policy.{pair[1]}")
        if not 0 < self.noise_alpha < 1:
            raise ValueError(f"Policy.noise_alpha must be in (0, 1), got {self.noise_alpha!r}")
        if not 0 < self.absent_rate <= 1:
            raise ValueError(f"Policy.absent_rate must be in (0, 1], got {self.absent_rate!r}")
        for name in ("min_count", "consecutive"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Policy.{name} must be an integer >= 1, got {v!r}")
        for name in ("stale_after", "latency_p99_warn", "latency_p99_alert"):
            if getattr(self, name) is not None:
                positive(name)
        if (
            self.latency_p99_warn is not None
            and self.latency_p99_alert is not None
            and self.latency_p99_warn > self.latency_p99_alert
        ):
            raise ValueError("Policy.latency_p99_warn must not exceed Policy.latency_p99_alert")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hysteresis(levels: list[int], consecutive: int) -> int:
    """The status after a sequence of judged bucket levels (0 ok, 1 warn, 2 alert), oldest first.

    Rises to level L once the last ``consecutive`` levels are all >= L; falls to
    the highest of the last ``consecutive`` levels once they are all below the
    current status.
    """
    state = 0
    for i in range(consecutive - 1, len(levels)):
        recent = levels[i - consecutive + 1 : i + 1]
        low, high = min(recent), max(recent)
        if low > state:
            state = low
        elif high < state:
            state = high
    return state
