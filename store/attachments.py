"""Attachments: a complaint's photos and documents, kept apart from its events.

Content-addressed: an attachment is named by the SHA-256 of its content, once per complaint
(a second upload of the same file is the same attachment). The content and its file name are
sealed with the data key that seals the complaint's personal part (store.vault), so erasing the
customer (store.erasure destroys that key) makes every attachment of theirs unreadable too, in
every backup, without touching a row. The event that joins an attachment to the complaint
(AttachmentAdded) names it by its hash only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, Row, insert, select

from security.keys import seal, unseal
from store.db import for_reading, from_storage, take_write_lock, to_storage
from store.tables import AttachmentRow
from store.vault import PersonalVault, complaint_key_id

_TABLE = AttachmentRow.__table__


class NoCustomerKey(LookupError):
    """The complaint is unknown, or its customer has been erased: nothing to seal with."""


@dataclass(frozen=True)
class StoredAttachment:
    sha256: str
    content_type: str
    size: int
    source: str
    created_at: datetime
    filename: str | None  # None once the customer has been erased


@dataclass(frozen=True)
class AttachmentContent:
    info: StoredAttachment
    content: bytes


class Attachments:
    def __init__(self, engine: Engine, vault: PersonalVault) -> None:
        self._engine, self._reader, self._vault = engine, for_reading(engine), vault

    def put(
        self,
        complaint_id: str,
        filename: str,
        content_type: str,
        data: bytes,
        source: str,
        now: datetime | None = None,
    ) -> tuple[StoredAttachment, bool]:
        """Store `data` for the complaint (sealed); (the attachment, True if it is new). The
        caller has checked type and size (engine.uploads). Raises NoCustomerKey."""
        sha = hashlib.sha256(data).hexdigest()
        with self._engine.begin() as connection:
            take_write_lock(connection)  # not sealed with a key while erasure destroys it
            found = self._read(connection, complaint_id, sha)
            if found is not None:
                return found.info, False
            key_id = complaint_key_id(connection, complaint_id)
            key = self._vault.data_key(connection, key_id) if key_id else None
            if key is None:
                raise NoCustomerKey(f"complaint {complaint_id!r} has no customer key to seal with")
            created = to_storage(now or datetime.now(UTC))

            def aad(part: str) -> bytes:
                return _aad(key_id, complaint_id, sha, part)

            connection.execute(
                insert(AttachmentRow).values(
                    complaint_id=complaint_id,
                    sha256=sha,
                    key_id=key_id,
                    content_type=content_type,
                    size=len(data),
                    source=source,
                    sealed_name=seal(key, filename.encode(), aad("name")),
                    sealed_content=seal(key, data, aad("content")),
                    created_at=created,
                )
            )
        stored = StoredAttachment(sha, content_type, len(data), source, created, filename)
        return stored, True

    def list(self, complaint_id: str) -> list[StoredAttachment]:
        """The complaint's attachments with their file names (None once erased), oldest first."""
        with self._reader.connect() as connection:
            rows = connection.execute(
                select(_TABLE)
                .where(AttachmentRow.complaint_id == complaint_id)
                .order_by(AttachmentRow.id)
            ).all()
            return [self._opened(connection, row, content=False).info for row in rows]

    def get(self, complaint_id: str, sha256: str) -> AttachmentContent | None:
        """The attachment with its content; None if there is none, or it can no longer be read
        (the customer was erased)."""
        with self._reader.connect() as connection:
            found = self._read(connection, complaint_id, sha256, content=True)
        return found if found is not None and found.info.filename is not None else None

    def _read(self, connection, complaint_id: str, sha: str, content: bool = False):
        row = connection.execute(
            select(_TABLE).where(
                AttachmentRow.complaint_id == complaint_id, AttachmentRow.sha256 == sha
            )
        ).one_or_none()
        return None if row is None else self._opened(connection, row, content)

    def _opened(self, connection, row: Row, content: bool) -> AttachmentContent:
        key = self._vault.data_key(connection, row.key_id)
        aad = lambda part: _aad(row.key_id, row.complaint_id, row.sha256, part)  # noqa: E731
        name = unseal(key, row.sealed_name, aad("name")).decode() if key else None
        data = unseal(key, row.sealed_content, aad("content")) if key and content else b""
        info = StoredAttachment(
            row.sha256, row.content_type, row.size, row.source, from_storage(row.created_at), name
        )
        return AttachmentContent(info, data)


def _aad(key_id: str, complaint_id: str, sha: str, part: str) -> bytes:
    # Bound to its complaint and hash: a sealed blob moved to another row does not open.
    return f"attachment:{part}:{key_id}:{complaint_id}:{sha}".encode()
