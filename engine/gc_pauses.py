"""How long Python's garbage collector stopped this process (`complaints_gc_pause_seconds`),
and how often the worker collects its young objects (`young_collections_every`).

A collection stops every thread of the process. In the worker a whole-heap (generation 2)
collection grows with the complaints it keeps in memory (Temporal's workflow cache): about
0.1 s at start-up, near 0.9 s with 5,000 cached on a 2-core machine (bench/workflow_memory.py),
and every deadline due during one is recorded that much later. This is the figure that says so.

The clock is read in a `gc.callbacks` hook, which runs inside the collection on whichever thread
triggered it, perhaps in the middle of updating a metric: so the hook takes no lock and calls
no metric; it adds to plain counters here, and the collector turns them into a histogram when
Prometheus scrapes (a scrape racing a collection may see one pause in the count before its sum).
"""

from __future__ import annotations

import bisect
import gc
import time
from collections.abc import Iterator

from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.histogram_buckets import cumulative

NAME = "complaints_gc_pause_seconds"
BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
GENERATIONS = 3


class PauseClock:
    """Counts each collection's length into the histogram's buckets (the last one is +Inf),
    per generation, from the moment it is started until it is stopped."""

    def __init__(self) -> None:
        self.counts = [[0] * (len(BUCKETS) + 1) for _ in range(GENERATIONS)]
        self.sums = [0.0] * GENERATIONS
        self._started = 0.0

    def start(self) -> None:
        """From now on (again: no effect); it runs as long as the process."""
        if self._hook not in gc.callbacks:
            gc.callbacks.append(self._hook)

    def stop(self) -> None:
        if self._hook in gc.callbacks:
            gc.callbacks.remove(self._hook)

    def _hook(self, phase: str, info: dict) -> None:
        # Collections never overlap (the collector does not re-enter itself), so one start time.
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        generation = info["generation"]
        self.counts[generation][bisect.bisect_left(BUCKETS, pause)] += 1
        self.sums[generation] += pause


def young_collections_every(allocations: int) -> None:
    """Collect the young generation once per `allocations` (net) instead of Python's 700;
    the older generations' thresholds stay. Why (COMPLAINTS_WORKER_GC_YOUNG_THRESHOLD, measured
    in engine.settings): a worker's heap is large and long-lived, and each young collection
    moves whatever is alive at that instant (a decision half done, a request in flight) into
    the older generations, where only a whole-heap collection frees it; the number so moved
    since the last whole-heap collection is what starts the next one."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(allocations, middle, old)


# One clock per process: the collector is the process's, whichever server serves the figure.
CLOCK = PauseClock()


class PauseCollector(Collector):
    def __init__(self, clock: PauseClock = CLOCK) -> None:
        self._clock = clock

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            NAME,
            "How long Python's garbage collector stopped this process, by generation "
            "(2: a whole-heap collection, which grows with the complaints a worker keeps "
            "in memory); a deadline due during a pause is recorded that much later",
            labels=["generation"],
        )
        for generation in range(GENERATIONS):
            buckets = cumulative(BUCKETS, list(self._clock.counts[generation]))
            family.add_metric([str(generation)], buckets, self._clock.sums[generation])
        yield family
