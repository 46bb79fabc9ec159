"""The engine's Prometheus metrics (README, Metrics and dashboard).

Two kinds, by where the truth is:
- **Events, counted where they happen**, in the process where they happen: intake (the process
  that takes a complaint: API, form, inbound mail), deadlines met and breached, how late a breach
  was recorded, escalations (the worker whose activity recorded them), notifications concluded
  (the worker whose dispatcher sent them). Each process counts its own; Prometheus sums over
  processes, and rate() and increase() absorb restarts.
- **States, read from the database at scrape time** (StoreCollector over store.gauges): open
  complaints, pending notifications and the oldest one's age, projection lag. Every process
  serving metrics reports the same values, so dashboards take the max over instances.
- **Tallies kept outside Prometheus**, turned into histograms at scrape time: the collector's
  pauses (engine.gc_pauses) and the SQLite writers' turns at the write lock
  (store.sqlite_writers; WriteLockCollector).

Labels are few and bounded (tier, deadline kind, status, channel, result, message kind, role):
never a complaint id, never anything of the customer's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import structlog
from prometheus_client import (
    REGISTRY,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from domain.decide import CUSTOMER_ANSWER, PROGRESS_UPDATE
from domain.events import (
    Breach,
    ComplaintEscalated,
    DeadlineBreached,
    DeadlineMet,
    ProgressUpdateMissed,
)
from engine.gc_pauses import CLOCK, PauseCollector
from engine.histogram_buckets import cumulative
from engine.settings import split_address
from store.complaint_list import PROJECTION_NAME as COMPLAINT_LIST
from store.gauges import LAG_CAP, read_gauges
from store.report_model import PROJECTION_NAME as REPORTS
from store.sqlite_writers import TURN_BUCKETS, TURN_TIMEOUT_SECONDS, TURN_TIMES, Tally, TurnTimes

log = structlog.get_logger(__name__)
# No `_created` series beside every counter and histogram: Prometheus does not need them, and
# they would double what each scrape stores.
disable_created_metrics()

PROJECTIONS = (COMPLAINT_LIST, REPORTS)
UNKNOWN_TIER = "unknown"  # appends queued before the workflow sent its tier (AppendRequest.tier)

INTAKE = Counter(
    "complaints_intake",
    "Submissions intake finished, by channel and result (created, repeated, accepted, "
    "conflict, refused, error)",
    ["channel", "result"],
)
INTAKE_SECONDS = Histogram(
    "complaints_intake_duration_seconds",
    "How long intake took, from the submission to the complaint registered (or refused)",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
DEADLINES = Counter(
    "complaints_deadlines",
    "Deadlines settled as the worker recorded them: met in time, or breached",
    ["tier", "kind", "outcome"],
)
BREACH_LATENESS = Histogram(
    "complaints_breach_lateness_seconds",
    "How long after its due time a breach was recorded (the engine's delay, not the agent's)",
    ["tier"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600),
)
ESCALATIONS = Counter(
    "complaints_escalations", "Escalations recorded, by tier and the role escalated to",
    ["tier", "to_role"],
)  # fmt: skip
NOTIFICATIONS = Counter(
    "complaints_notifications",
    "Notifications a dispatcher concluded an attempt at: sent, failed for good, or deferred "
    "(a temporary failure, tried again later)",
    ["kind", "outcome"],
)


def intake_result(created: bool, registered: bool) -> str:
    """created: a new complaint; repeated: the same submission again; accepted: its workflow
    runs but had not confirmed the registration within the wait (a loaded server)."""
    if not created:
        return "repeated"
    return "created" if registered else "accepted"


def count_intake(channel: str, result: str, seconds: float) -> None:
    INTAKE.labels(channel, result).inc()
    INTAKE_SECONDS.labels(channel).observe(seconds)


def count_recorded(tier: int | None, events: Iterable[object], recorded_at: datetime) -> None:
    """Count a decision's events once they are written (a retried append that wrote nothing
    is not counted again). A deadline answered after its due time was counted as breached."""
    label = str(tier) if tier is not None else UNKNOWN_TIER
    for event in events:
        if isinstance(event, DeadlineMet) and event.at <= event.due_at:
            DEADLINES.labels(label, event.kind.value, "met").inc()
        elif isinstance(event, Breach):
            kind = _breached_kind(event)
            DEADLINES.labels(label, kind, "breached").inc()
            late = (recorded_at - event.due_at).total_seconds()
            BREACH_LATENESS.labels(label).observe(max(late, 0.0))
        elif isinstance(event, ComplaintEscalated):
            ESCALATIONS.labels(label, event.to_role).inc()


def _breached_kind(event: Breach) -> str:
    """The `kind` label of a breach: the deadline's, or what the customer was owed."""
    if isinstance(event, DeadlineBreached):
        return event.kind.value
    return PROGRESS_UPDATE if isinstance(event, ProgressUpdateMissed) else CUSTOMER_ANSWER


class StoreCollector(Collector):
    """The database's states as gauges, read on each scrape. A database that does not answer
    makes complaints_store_up 0 and leaves the others out (absent rather than stale)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterator[Metric]:
        # The names, without reading the database when the collector is registered.
        return iter(())

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("complaints_store_up", "1 if the database answered this scrape")
        try:
            gauges = read_gauges(self._engine, datetime.now(UTC), PROJECTIONS)
        except Exception as error:  # the scrape must still answer, saying the store is down
            log.warning("metrics: the database did not answer", error=type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        open_ = GaugeMetricFamily(
            "complaints_open", "Complaints not yet closed, by tier and status",
            labels=["tier", "status"],
        )  # fmt: skip
        for (tier, status), count in sorted(gauges.open_complaints.items()):
            open_.add_metric([str(tier), status], count)
        yield open_
        breached = GaugeMetricFamily(
            "complaints_open_breached", "Open complaints with at least one breach, by tier",
            labels=["tier"],
        )  # fmt: skip
        for tier, count in sorted(gauges.open_breached.items()):
            breached.add_metric([str(tier)], count)
        yield breached
        yield GaugeMetricFamily(
            "complaints_notifications_pending", "Notifications in the outbox not yet concluded",
            value=gauges.notifications_pending,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "complaints_notifications_oldest_pending_seconds",
            "Age of the oldest pending notification owed now (one held for quiet hours counts "
            "from the opening); 0 when none",
            value=gauges.oldest_pending_seconds,
        )
        yield from _lags(gauges.projection_lags)


def _lags(lags) -> Iterator[Metric]:
    events = GaugeMetricFamily(
        "complaints_projection_lag_events",
        f"Events in the log a read model has not applied yet (counted up to {LAG_CAP})",
        labels=["projection"],
    )
    seconds = GaugeMetricFamily(
        "complaints_projection_lag_seconds",
        "How long the oldest event a read model has not applied has waited; 0 when caught up",
        labels=["projection"],
    )
    for lag in lags:
        events.add_metric([lag.projection], lag.events)
        seconds.add_metric([lag.projection], lag.seconds)
    yield events
    yield seconds


class WriteLockCollector(Collector):
    """How long this process's writers waited for SQLite's one write lock and held it
    (store.sqlite_writers). A store on PostgreSQL has no such lock: the counts stay 0."""

    def __init__(self, times: TurnTimes = TURN_TIMES) -> None:
        self._times = times

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        yield _turn_histogram(
            "complaints_store_write_lock_wait_seconds",
            "How long a writer of this process (an append, a projection's batch, a seal) waited "
            "for its turn at the embedded SQLite store's one write lock; those that gave up "
            f"(after {TURN_TIMEOUT_SECONDS} s: 'database is locked') are counted in +Inf",
            self._times.waited,
        )
        yield _turn_histogram(
            "complaints_store_write_lock_held_seconds",
            "How long a writer of this process held the SQLite store's write lock, from its "
            "turn to its commit or rollback; the sum's rate is the share of time it was held",
            self._times.held,
        )


def _turn_histogram(name: str, documentation: str, tally: Tally) -> Metric:
    counts, total = tally.read()
    family = HistogramMetricFamily(name, documentation)
    family.add_metric([], cumulative(TURN_BUCKETS, counts), total)
    return family


class MetricsServer:
    """`/metrics` on its own address (COMPLAINTS_METRICS_ADDRESS), on a thread: a scrape reads
    the database synchronously and never holds up the event loop. One per process: the entry
    point that runs the worker (`complaints worker`, `complaints run`) or the API alone
    (`complaints api`) starts it, and it serves everything the process counts."""

    def __init__(self, address: str, engine: Engine) -> None:
        host, port = split_address(address)
        self._collectors = (StoreCollector(engine), PauseCollector(), WriteLockCollector())
        for collector in self._collectors:
            REGISTRY.register(collector)
        try:
            self._server, self._thread = start_http_server(port, host)
        except OSError as error:  # the port taken, an address not this host's
            self._unregister()
            raise ValueError(
                f"COMPLAINTS_METRICS_ADDRESS: cannot listen on {address}: {error.strerror}"
            ) from None
        CLOCK.start()
        self.address = f"{host}:{self._server.server_port}"
        log.info("metrics served", listen=self.address)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._unregister()

    def _unregister(self) -> None:
        for collector in self._collectors:
            REGISTRY.unregister(collector)


@contextmanager
def metrics_served(address: str, engine: Engine) -> Iterator[None]:
    """A MetricsServer on `address` (COMPLAINTS_METRICS_ADDRESS) while the block runs, stopped
    when it ends; none when the address is empty."""
    if not address:
        yield
        return
    server = MetricsServer(address, engine)
    try:
        yield
    finally:
        server.stop()
