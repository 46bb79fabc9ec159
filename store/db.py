"""Engines, sessions and schema migration for SQLite and PostgreSQL."""

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    event,
    func,
    insert,
    make_url,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from security.private_files import private_file
from store import sqlite_writers

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# JSON columns are decoded with orjson: a projection rebuild decodes every event of the log, and
# the standard library's decoder was the largest share of its time. (Encoding stays json's.)
JSON_DECODER = orjson.loads

# Every writer on PostgreSQL takes this transaction-scoped advisory lock first. Any constant
# does, as long as all writers use the same one.
WRITE_LOCK_KEY = 0x636F6D706C61696E  # "complain" in ASCII

# Connection execution option asking for a deferred BEGIN on SQLite (see for_reading).
_DEFERRED_BEGIN = "store_sqlite_deferred_begin"


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for a SQLite or PostgreSQL URL; `schema` puts a PostgreSQL search_path first."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise ValueError("schema is only supported on PostgreSQL")
        return _make_sqlite_engine(url)
    if backend == "postgresql":
        # In the URL rather than connect_args, so that autocommit_engine can make its own pool.
        full_url = make_url(url)
        if schema:
            full_url = full_url.update_query_dict({"options": f"-csearch_path={schema}"})
        return create_engine(full_url, pool_pre_ping=True, json_deserializer=JSON_DECODER)
    raise ValueError(f"unsupported database backend {backend!r}; use sqlite or postgresql")


def _make_sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    wait = sqlite_writers.TURN_TIMEOUT_SECONDS  # for the write lock, in Python as in SQLite
    connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": wait}
    if database and database != ":memory:":
        # Made here, owner-only, before SQLite makes it under the umask (0644): it holds the
        # complaints. SQLite gives its -wal and -shm files the database file's mode.
        private_file(Path(database))
        connect_args["factory"] = sqlite_writers.connection_class(database)
    engine = create_engine(url, connect_args=connect_args, json_deserializer=JSON_DECODER)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Stop the sqlite3 module from issuing its own BEGIN; _begin below does it instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers and the writer do not block each other
        cursor.execute(f"PRAGMA busy_timeout={wait * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes must upgrade its lock, and two
        # threads doing that at once deadlock (SQLite fails one at once, busy_timeout or not).
        # Taking the write lock up front makes writers queue instead.
        if connection.get_execution_options().get(_DEFERRED_BEGIN, False):
            connection.exec_driver_sql("BEGIN")
            return
        writer = connection.connection.dbapi_connection
        queued = isinstance(writer, sqlite_writers.QueuedWriterConnection)
        if queued:
            writer.take_turn()  # store.sqlite_writers: why the process's writers queue first
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                writer.give_turn()
            raise

    return engine


def for_reading(engine: Engine) -> Engine:
    """The same engine for read-only work: on SQLite its transactions start with a plain BEGIN,
    so under WAL they read a snapshot instead of queueing behind writers."""
    return engine.execution_options(**{_DEFERRED_BEGIN: True})


_AUTOCOMMIT_ENGINES: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def autocommit_engine(engine: Engine) -> Engine:
    """A PostgreSQL engine of its own pool beside `engine`'s, for statements that are each their
    own transaction (store.one_statement_append); disposed with `engine`.

    Its connections stay in autocommit and are not pinged when checked out: switching a pooled
    connection to autocommit and back, and the ping, took a third of an append's time. So a
    connection that went stale (the server restarted) fails its statement instead, and the whole
    pool is renewed; its caller then answers through `engine`.
    """
    sibling = _AUTOCOMMIT_ENGINES.get(engine)
    if sibling is None:
        sibling = create_engine(
            engine.url, isolation_level="AUTOCOMMIT", json_deserializer=JSON_DECODER
        )
        event.listen(engine, "engine_disposed", lambda _engine: sibling.dispose())
        _AUTOCOMMIT_ENGINES[engine] = sibling
    return sibling


def take_write_lock(connection: Connection) -> None:
    """Serialise writers until the end of the current transaction.

    SQLite needs nothing here: BEGIN IMMEDIATE has already taken its single write lock.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to the latest migration (or to `revision`). Safe to repeat, also
    from two processes."""
    config = Config()
    # The option value goes through ConfigParser interpolation, where % is special.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    with engine.begin() as connection:
        take_write_lock(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def bulk_insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the caller's transaction, datetimes stored as UTC (to_storage); on
    PostgreSQL through COPY, which parses the values on the server instead of binding each one
    (a projection rebuild writes hundreds of thousands of rows, and binding them was most of
    its time)."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        utc = [
            {k: to_storage(v) if isinstance(v, datetime) else v for k, v in r.items()} for r in rows
        ]
        connection.execute(insert(table), utc)
        return
    names = [column.name for column in table.columns]
    text = "".join(",".join(_copy_field(row[name]) for name in names) + "\n" for row in rows)
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.copy_expert(statement, io.StringIO(text))


def _copy_field(value: Any) -> str:
    # Quoted strings never match the NULL marker, so "" stays an empty string and \N is NULL.
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return to_storage(value).isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list):  # a JSON column's value
        value = orjson.dumps(value).decode()
    return '"' + str(value).replace('"', '""') + '"'


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def to_storage(moment: datetime) -> datetime:
    """Every timestamp is stored as UTC: SQLite keeps only the wall-clock time."""
    if moment.tzinfo is None:
        raise ValueError(f"datetime must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(UTC)


def from_storage(moment: datetime) -> datetime:
    """The inverse of `to_storage`: SQLite hands back naive datetimes, which are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
