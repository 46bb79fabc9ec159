"""Browser sessions: what the sign-in cookie names instead of the API key.

The cookie holds a random session id (32 bytes); the table holds its SHA-256, the key it was
opened with and when it expires. A plain hash suffices for the same reason as the API keys'
(api.keys): the id is 256 random bits, nobody guesses it back from a leaked row. So:
- signing out deletes the row: a copied cookie opens nothing afterwards;
- a session ends at its expiry whatever the browser keeps;
- it speaks for its key only while the key file still admits that key (api.auth looks the key
  up on every request), so revoking a key ends its sessions too;
- `complaints sessions end --key ID` ends every session of a key at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select

from store.db import to_storage
from store.tables import SessionRow

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(self, engine: Engine, lifetime: timedelta) -> None:
        self._engine = engine
        self.lifetime = lifetime

    def open(self, key_id: str, now: datetime) -> str:
        """A new session for `key_id`; returns its id, to be shown to the browser only."""
        session_id = secrets.token_urlsafe(32)
        with self._engine.begin() as connection:
            # Expired rows are of no use to anyone: each sign-in sweeps them.
            connection.execute(delete(SessionRow).where(SessionRow.expires_at <= to_storage(now)))
            connection.execute(
                insert(SessionRow),
                {
                    "id_digest": _digest(session_id),
                    "key_id": key_id,
                    "created_at": to_storage(now),
                    "expires_at": to_storage(now + self.lifetime),
                },
            )
        return session_id

    def key_of(self, session_id: str, now: datetime) -> str | None:
        """The key id of an open, unexpired session; None for anything else."""
        if not _SESSION_ID.fullmatch(session_id):
            return None  # not one we made: no need to ask the database
        with self._engine.connect() as connection:
            return connection.scalar(
                select(SessionRow.key_id).where(
                    SessionRow.id_digest == _digest(session_id),
                    SessionRow.expires_at > to_storage(now),
                )
            )

    def end(self, session_id: str) -> None:
        if _SESSION_ID.fullmatch(session_id):
            with self._engine.begin() as connection:
                connection.execute(
                    delete(SessionRow).where(SessionRow.id_digest == _digest(session_id))
                )

    def end_all(self, key_id: str) -> int:
        """End every session opened with `key_id`; how many there were."""
        with self._engine.begin() as connection:
            return connection.execute(
                delete(SessionRow).where(SessionRow.key_id == key_id)
            ).rowcount
