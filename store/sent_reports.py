"""The archive of sent reports and the once-only notices about them (tables sent_reports and
report_notices).

Both are written insert-if-absent under a unique key, so a retried activity or a second trigger
finds what the first one wrote instead of writing another: the archive's content is the report
that was (or will be) sent, whatever the live figures say later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from store.db import from_storage, to_storage
from store.tables import ReportNoticeRow, SentReportRow


@dataclass(frozen=True)
class ArchivedReport:
    key: str
    contract: str
    kind: str
    period: str
    period_start: datetime
    period_end: datetime
    recipients: list[str]
    built_at: datetime
    content_hash: str
    figures: dict[str, Any]
    csv: str
    pdf: bytes
    sent_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class Notice:
    key: str
    contract: str
    kind: str
    details: dict[str, Any]
    recipients: list[str]
    created_at: datetime
    sent_at: datetime | None = None


_MOMENTS = ("period_start", "period_end", "built_at", "sent_at", "created_at")
_LISTED = [c for c in SentReportRow.__table__.columns if c.name not in ("csv", "pdf", "figures")]


def _loaded(values: dict[str, Any]) -> dict[str, Any]:
    return values | {m: from_storage(values[m]) for m in _MOMENTS if values.get(m) is not None}


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    return values | {m: to_storage(values[m]) for m in _MOMENTS if values.get(m) is not None}


class SentReports:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def archive(self, report: ArchivedReport) -> ArchivedReport:
        """Keep `report` unless one with its key is kept already; returns the one kept."""
        values = {k: v for k, v in vars(report).items() if k not in ("id", "sent_at")}
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(SentReportRow).values(**_stored(values)))
        except IntegrityError:
            pass  # built before (a retried activity, a second trigger): that one stands
        found = self.get(report.key)
        assert found is not None
        return found

    def get(self, key: str) -> ArchivedReport | None:
        query = select(SentReportRow.__table__).where(SentReportRow.key == key)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return ArchivedReport(**_loaded(dict(row._mapping))) if row else None

    def by_id(self, report_id: int) -> ArchivedReport | None:
        query = select(SentReportRow.__table__).where(SentReportRow.id == report_id)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return ArchivedReport(**_loaded(dict(row._mapping))) if row else None

    def mark_sent(self, key: str, at: datetime) -> None:
        """Stamp the report delivered; the first stamp stands."""
        with self._engine.begin() as connection:
            connection.execute(
                update(SentReportRow)
                .where(SentReportRow.key == key, SentReportRow.sent_at.is_(None))
                .values(sent_at=to_storage(at))
            )

    def listed(self, contract: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The newest first, without their documents."""
        query = select(*_LISTED).order_by(SentReportRow.period_start.desc(), SentReportRow.id)
        if contract is not None:
            query = query.where(SentReportRow.contract == contract)
        with self._engine.connect() as connection:
            return [_loaded(dict(r._mapping)) for r in connection.execute(query.limit(limit))]

    # --- notices ---------------------------------------------------------------------------------

    def claim_notice(self, notice: Notice) -> Notice:
        """Record `notice` unless its key is recorded; returns the one recorded (sent_at set:
        it went out already, send nothing)."""
        try:
            with self._engine.begin() as connection:
                values = {k: v for k, v in vars(notice).items() if k != "sent_at"}
                connection.execute(insert(ReportNoticeRow).values(**_stored(values)))
        except IntegrityError:
            pass
        query = select(ReportNoticeRow.__table__).where(ReportNoticeRow.key == notice.key)
        with self._engine.connect() as connection:
            return Notice(**_loaded(dict(connection.execute(query).one()._mapping)))

    def notice_sent(self, key: str, at: datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(ReportNoticeRow)
                .where(ReportNoticeRow.key == key, ReportNoticeRow.sent_at.is_(None))
                .values(sent_at=to_storage(at))
            )

    def notices(self, contract: str | None = None) -> list[Notice]:
        query = select(ReportNoticeRow.__table__).order_by(ReportNoticeRow.created_at)
        if contract is not None:
            query = query.where(ReportNoticeRow.contract == contract)
        with self._engine.connect() as connection:
            return [Notice(**_loaded(dict(r._mapping))) for r in connection.execute(query)]
