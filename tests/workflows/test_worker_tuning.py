"""The worker's tuning comes from the settings: how many complaints it keeps in memory and how
long a decision waits for it before another worker may take it (README, Settings)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from pydantic import ValidationError

from activities.events import EventActivities
from engine.settings import Settings
from engine.worker_assembly import ACTIVITY_THREADS, build_worker


def test_a_decision_waits_60_seconds_for_the_worker_holding_its_complaint_by_default(
    monkeypatch,
):
    monkeypatch.delenv("COMPLAINTS_WORKER_STICKY_SECONDS", raising=False)
    assert Settings().worker_sticky_seconds == 60


def test_a_wait_of_nothing_is_refused_naming_the_setting(monkeypatch):
    monkeypatch.setenv("COMPLAINTS_WORKER_STICKY_SECONDS", "0")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "worker_sticky_seconds" in str(refused.value)
    assert "greater than 0" in str(refused.value)


async def test_the_worker_is_built_with_the_settings_cache_and_wait(env, store, monkeypatch):
    monkeypatch.setenv("COMPLAINTS_WORKER_STICKY_SECONDS", "45")
    monkeypatch.setenv("COMPLAINTS_WORKER_CACHED_COMPLAINTS", "700")
    settings = Settings()
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        worker = build_worker(
            env.client, f"tq-{uuid.uuid4().hex}", EventActivities(store), pool,
            settings.worker_cached_complaints, settings.worker_sticky_seconds,
        )  # fmt: skip
        config = worker.config()
    assert config["sticky_queue_schedule_to_start_timeout"] == timedelta(seconds=45)
    assert config["max_cached_workflows"] == 700
