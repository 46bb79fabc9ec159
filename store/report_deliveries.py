"""Each sending of a report to each recipient (table report_deliveries): delivered, or not after
every retry and why. Append-only and written insert-if-absent under (report, run, recipient), so
a retried activity writes nothing twice and a resend (a new run of the report's workflow) adds
rows of its own beside the first run's: the record of what happened is never edited.

A recipient's outcome is its latest row; a recipient is still owed the report until a row says
it was delivered.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from store.db import from_storage, to_storage
from store.tables import ReportDeliveryRow


@dataclass(frozen=True)
class Delivery:
    report_key: str
    run_id: str
    recipient: str
    delivered: bool
    at: datetime
    reason: str | None = None  # why not, when not delivered
    requested_by: str | None = None  # who asked for a resend (None: the schedule's run)


class ReportDeliveries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, deliveries: Iterable[Delivery]) -> None:
        """Keep each unless its (report, run, recipient) is kept already."""
        for delivery in deliveries:
            values = vars(delivery) | {"at": to_storage(delivery.at)}
            try:
                with self._engine.begin() as connection:
                    connection.execute(insert(ReportDeliveryRow).values(**values))
            except IntegrityError:
                pass  # a retried activity: the first write stands

    def of(self, keys: Collection[str]) -> dict[str, list[Delivery]]:
        """Every delivery of the reports `keys`, oldest first, by report."""
        query = (
            select(ReportDeliveryRow.__table__)
            .where(ReportDeliveryRow.report_key.in_(sorted(keys)))
            .order_by(ReportDeliveryRow.id)
        )
        found: dict[str, list[Delivery]] = {key: [] for key in keys}
        with self._engine.connect() as connection:
            for row in connection.execute(query):
                values = {k: v for k, v in row._mapping.items() if k != "id"}
                delivery = Delivery(**values | {"at": from_storage(values["at"])})
                found[delivery.report_key].append(delivery)
        return found

    def owed(self, key: str, recipients: Iterable[str]) -> list[str]:
        """The recipients of report `key` not yet delivered to, in their order."""
        delivered = {d.recipient for d in self.of([key])[key] if d.delivered}
        return [r for r in recipients if r not in delivered]


def outcomes(deliveries: list[Delivery]) -> dict[str, Delivery]:
    """Each recipient's latest delivery: what became of the report for them."""
    return {d.recipient: d for d in deliveries}
