#!/bin/sh
# Temporal's two PostgreSQL databases (the default store and visibility), created and migrated to
# the schema of the admin-tools image's release; docker-compose.yml's temporal-schema service
# runs it once before the server starts. Safe to run again: the tool only applies what is new.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}" "${DBNAME:?}" "${VISIBILITY_DBNAME:?}"
SCHEMA=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" \
    -u "$POSTGRES_USER" "$@"
}

for pair in "$DBNAME:temporal" "$VISIBILITY_DBNAME:visibility"; do
  db=${pair%%:*} schema=${pair#*:}
  # Fails only because the database exists (a later start); the steps below fail if it does not.
  sql --db "$db" create || echo "database $db exists"
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$SCHEMA/$schema/versioned"
done
echo "Temporal's schema is up to date"
