"""The composition root: how the environment becomes settings, and settings the engine's
parts (contracts, vault, store, Temporal client, the service). Every entry point (`complaints`
and its commands, `complaints run`, worker.py, the API app) builds them here and nowhere else.

The order is the rule: what a user can get wrong in the configuration is checked before
anything is touched, so a malformed contract or key stops start-up with its own message, before
a database is migrated or a server reached. Migrations run whenever a store is opened: a new
data directory is an empty store, not an error (and repeating them is safe, from several
processes too, see store.db.migrate).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client

from engine.contracts import ContractBook
from engine.logs import configure_logging
from engine.service import ComplaintService
from engine.settings import Settings
from engine.temporal import connect
from store import (
    ComplaintListProjection,
    EventStore,
    ProjectionRunner,
    ReportProjection,
    make_engine,
    migrate,
)
from store.qa_reviews import QaReviewProjection
from store.vault import PersonalVault


def load_settings(**overrides: Any) -> Settings:
    """The COMPLAINTS_* settings (`overrides` validated like the environment's values), with
    logging configured as they say: the first thing every process does."""
    settings = Settings(**overrides)
    configure_logging(settings.log_format, settings.log_level)
    return settings


def open_engine(settings: Settings) -> Engine:
    """The store's engine (SQLite or PostgreSQL, COMPLAINTS_DATABASE_URL), schema up to date."""
    engine = make_engine(settings.store_url())
    migrate(engine)
    return engine


@contextmanager
def opened_engine(settings: Settings) -> Iterator[Engine]:
    """open_engine for one command: disposed of when it is done."""
    engine = open_engine(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def open_vault(settings: Settings) -> PersonalVault:
    """The vault that seals and opens customers' personal data; a missing or malformed key
    stops start-up here, naming its setting."""
    return PersonalVault.of(settings.key_material())


def open_store(settings: Settings, engine: Engine) -> EventStore:
    """The event store with the vault: it reads and writes the customer's personal data."""
    return EventStore(engine, open_vault(settings))


@dataclass(frozen=True)
class Parts:
    """What a process serving complaints holds open; `close` lets go of the store."""

    contracts: ContractBook
    vault: PersonalVault
    engine: Engine
    client: Client

    def close(self) -> None:
        self.engine.dispose()


async def open_parts(
    settings: Settings, *, client: Client | None = None, engine: Engine | None = None
) -> Parts:
    """Contracts, vault, store and Temporal client, checked in that order. `client`: one
    already connected (`complaints run` shares the one that waited for its dev server);
    `engine`: a store the caller opened already (and still owns, should this fail)."""
    contracts = settings.load_contracts()  # a malformed contract stops start-up, with its message
    vault = open_vault(settings)  # so does a missing or malformed key
    owned = engine is None
    engine = open_engine(settings) if owned else engine
    try:
        client = client or await connect(settings)
    except BaseException:
        if owned:
            engine.dispose()
        raise
    return Parts(contracts, vault, engine, client)


def service_of(settings: Settings, parts: Parts) -> ComplaintService:
    """The service the doors use: its store opens the customer's sealed personal data (the
    complaint page shows it, a submission seals it before it reaches Temporal)."""
    return ComplaintService(
        parts.client,
        settings.task_queue,
        parts.contracts,
        EventStore(parts.engine, parts.vault),
        settings.upload_rules(),
    )


async def build_service(settings: Settings, client: Client | None = None) -> ComplaintService:
    """The service on parts of its own; dispose of `service.store.engine` when done."""
    return service_of(settings, await open_parts(settings, client=client))


def build_projector(engine: Engine) -> ProjectionRunner:
    """The read models kept up to date from the event log (by every worker, and by
    `complaints projections run|rebuild`).

    Every worker runs one, so several may run at once. That is safe: a batch and its checkpoint
    commit together, and the checkpoint only moves by compare-and-set, so no event is ever
    applied twice; on PostgreSQL a per-projection advisory lock also makes a second runner skip
    the round instead of repeating the work (see store.projections.ProjectionRunner).
    """
    return ProjectionRunner(
        engine, [ComplaintListProjection(), ReportProjection(), QaReviewProjection()]
    )
