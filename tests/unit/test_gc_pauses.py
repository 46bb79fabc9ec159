"""complaints_gc_pause_seconds: real collections, timed by the process's own garbage collector,
read back as Prometheus reads them."""

from __future__ import annotations

import gc

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from engine.gc_pauses import BUCKETS, NAME, PauseClock, PauseCollector, young_collections_every
from engine.settings import Settings


def scraped(clock: PauseClock) -> dict[tuple[str, str], float]:
    """{(sample name, generation or generation/le): value} as a scrape reads them."""
    registry = CollectorRegistry()
    registry.register(PauseCollector(clock))
    samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            key = s.labels["generation"] + (f"/{s.labels['le']}" if "le" in s.labels else "")
            samples[s.name, key] = s.value
    return samples


def test_each_collection_is_counted_in_its_generation_with_its_length():
    clock = PauseClock()
    clock.start()
    clock.start()  # a second start adds no second hook: each pause counted once
    try:
        gc.collect(2)
        gc.collect(2)
        gc.collect(0)
    finally:
        clock.stop()
    samples = scraped(clock)
    whole = samples[f"{NAME}_count", "2"]
    assert whole == 2  # the young collections the test itself may trigger are gen 0/1
    assert samples[f"{NAME}_count", "0"] >= 1
    assert samples[f"{NAME}_sum", "2"] > 0
    buckets = [samples[f"{NAME}_bucket", f"2/{b}"] for b in BUCKETS]
    assert buckets == sorted(buckets)  # cumulative, as Prometheus expects
    assert samples[f"{NAME}_bucket", "2/+Inf"] == whole
    # the sum is the pauses' total: at most the count times the bucket that holds them all
    top = next(b for b, n in zip(BUCKETS, buckets, strict=True) if n == whole)
    assert samples[f"{NAME}_sum", "2"] <= whole * top


def test_nothing_is_counted_while_the_clock_is_stopped():
    clock = PauseClock()
    clock.start()
    clock.stop()
    gc.collect()
    samples = scraped(clock)
    assert all(samples[f"{NAME}_count", g] == 0 for g in "012")
    assert samples[f"{NAME}_bucket", "2/+Inf"] == 0


def test_young_collections_are_set_apart_from_the_older_generations():
    before = gc.get_threshold()
    try:
        young_collections_every(12_345)
        assert gc.get_threshold() == (12_345, *before[1:])
    finally:
        gc.set_threshold(*before)


def test_a_young_threshold_that_would_turn_the_collector_off_is_refused_naming_the_setting():
    assert Settings().worker_gc_young_threshold == 20_000
    with pytest.raises(
        ValidationError, match="(?s)worker_gc_young_threshold.*greater than or equal to 100"
    ):
        Settings(worker_gc_young_threshold=0)
