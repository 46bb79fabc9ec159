"""Who saw a customer's personal data: one row per view, appended, never changed.

A row says which complaint, who (the key's id and its holder's name), where (the surface) and
when; never what was shown. There is no update or delete here on purpose; on PostgreSQL a
trigger (migration 0012) refuses them from anyone else too.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from store.db import from_storage, to_storage
from store.tables import AccessLogRow

# The surfaces that show personal data, by the name a view is recorded under.
COMPLAINT_PAGE = "complaint-page"
ATTACHMENT_DOWNLOAD = "attachment-download"
CLOSURE_API = "closure-api"
CLOSURE_CLI = "closure-cli"
SURFACES = (COMPLAINT_PAGE, ATTACHMENT_DOWNLOAD, CLOSURE_API, CLOSURE_CLI)


@dataclass(frozen=True)
class View:
    complaint_id: str
    viewed_at: datetime
    key_id: str
    viewer: str
    surface: str


class AccessLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self,
        complaint_id: str,
        *,
        key_id: str,
        viewer: str,
        surface: str,
        at: datetime | None = None,
    ) -> None:
        if surface not in SURFACES:
            raise ValueError(f"surface: {surface!r} is not one of {', '.join(SURFACES)}")
        with self._engine.begin() as connection:
            connection.execute(
                insert(AccessLogRow),
                {
                    "complaint_id": complaint_id,
                    "viewed_at": to_storage(at or datetime.now(UTC)),
                    "key_id": key_id,
                    "viewer": viewer,
                    "surface": surface,
                },
            )

    def views(self, complaint_id: str) -> list[View]:
        """Every view of the complaint's customer data, oldest first."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(
                    AccessLogRow.complaint_id,
                    AccessLogRow.viewed_at,
                    AccessLogRow.key_id,
                    AccessLogRow.viewer,
                    AccessLogRow.surface,
                )
                .where(AccessLogRow.complaint_id == complaint_id)
                .order_by(AccessLogRow.id)
            ).all()
        return [View(**{**row._mapping, "viewed_at": from_storage(row.viewed_at)}) for row in rows]
