"""Durations as the reports show them: how many, their median and 90th percentile (nearest
rank). One module of its own, so the wall-clock figures (reports.metrics) and the business-time
ones (reports.business_time) rank alike."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """Durations in seconds: how many, their median and 90th percentile (None when none)."""

    count: int
    median: float | None
    p90: float | None


def nearest_rank(values: Sequence[float], share: float) -> float | None:
    """The smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def spread(values: Sequence[float]) -> Spread:
    return Spread(len(values), nearest_rank(values, 0.5), nearest_rank(values, 0.9))
