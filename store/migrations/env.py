"""Alembic environment. Migrations run only through store.db.migrate, on the connection it passes
in, so they share its transaction, lock and PostgreSQL search_path. Logging is left to the app."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with store.db.migrate(engine)")

context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
