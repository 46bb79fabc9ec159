"""Prometheus histograms made at scrape time from counts kept elsewhere (the collector's pauses,
the SQLite writers' turns), where observing into a prometheus_client Histogram is not an option:
inside a garbage collection no lock may be taken, and the store does not depend on Prometheus."""

from __future__ import annotations

from collections.abc import Sequence


def cumulative(bounds: Sequence[float], counts: Sequence[int]) -> list[tuple[str, int]]:
    """The histogram's buckets (`le`, cumulative count) from one count per bucket of `bounds`
    and a last count of everything beyond them (+Inf)."""
    running, buckets = 0, []
    for bound, count in zip((*bounds, float("inf")), counts, strict=True):
        running += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
    return buckets
