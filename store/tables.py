"""Table definitions. The schema itself is created by the Alembic migrations, which must match."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY (an alias of rowid).
AUTOINCREMENT_ID = BigInteger().with_variant(Integer, "sqlite")
UTC_DATETIME = DateTime(timezone=True)
# none_as_null: a missing value is SQL NULL rather than the JSON text 'null'.
NULLABLE_JSON = JSON(none_as_null=True)

# Fixed constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
}


OUTBOX_PENDING = "pending"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EventRow(Base):
    __tablename__ = "events"
    # The unique (stream_id, version) index also serves reads by stream, so stream_id needs no
    # index of its own.
    __table_args__ = (UniqueConstraint("stream_id", "version"),)

    position: Mapped[int] = mapped_column(AUTOINCREMENT_ID, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    stream_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    personal: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    recorded_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    # Chained to the previous event of the stream (store.chain); NULL for events appended
    # before the chain existed (schema before 0012).
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(AUTOINCREMENT_ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    stream_id: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    status: Mapped[str] = mapped_column(String(20), index=True, server_default=OUTBOX_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)
    # When a pending message may next be tried: NULL at once; later after a failure (backoff) or
    # while a dispatcher is sending it (its lease).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)
    # Messages to the customer: when their outcome (sent or failed) reached the complaint's
    # workflow (delivery.reporting); NULL until then.
    reported_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)


class ClosureRecordRow(Base):
    """The audit record of a closed complaint. Written once, never updated."""

    __tablename__ = "closure_records"

    stream_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    archived_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The stream's last event when it was archived, and the record's own hash chained to it
    # (store.chain); NULL for records archived before the chain existed.
    last_event_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_event_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ProjectionCheckpointRow(Base):
    """How far each projection has read the event log: the last position it has applied."""

    __tablename__ = "projection_checkpoints"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


class ComplaintListRow(Base):
    """The complaint list read model: one row per complaint, written only by its projection.

    `state` is the folded ComplaintState; the other columns are copied out of it for filtering and
    sorting. No personal data: the state has none, and the subject is in ComplaintRegistered's data.
    """

    __tablename__ = "complaint_list"
    __table_args__ = (
        # The list's order, and so its keyset pagination.
        Index("ix_complaint_list_next_due_at_complaint_id", "next_due_at", "complaint_id"),
        Index("ix_complaint_list_status", "status"),
        Index("ix_complaint_list_tier", "tier"),
        Index("ix_complaint_list_team", "team"),
        Index("ix_complaint_list_contract", "contract"),
        # What a new complaint's assignment counts (store.workload), read from the index alone.
        Index("ix_complaint_list_workload", "contract", "assignee", "status"),
    )

    complaint_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    contract: Mapped[str] = mapped_column(String(40), server_default="default")
    status: Mapped[str] = mapped_column(String(30))
    tier: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(40))
    team: Mapped[str] = mapped_column(String(100))
    assignee: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(Text)
    breached: Mapped[bool] = mapped_column(Boolean)
    escalation_level: Mapped[int] = mapped_column(Integer)
    next_due_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)
    next_due_kind: Mapped[str | None] = mapped_column(String(30), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    updated_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReportComplaintRow(Base):
    """The report read model: one row per complaint with the moments the metrics measure.

    Written only by the report projection (store.report_model). No personal data, no free text.
    """

    __tablename__ = "report_complaints"
    __table_args__ = (
        Index("ix_report_complaints_received_at", "received_at"),
        Index("ix_report_complaints_contract", "contract"),
    )

    complaint_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    contract: Mapped[str] = mapped_column(String(40), server_default="default")
    version: Mapped[int] = mapped_column(Integer)  # events of the stream folded in so far
    channel: Mapped[str] = mapped_column(String(20))
    tier: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(40))
    team: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    registered_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    first_response_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)
    initial_solution_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)
    escalated: Mapped[bool] = mapped_column(Boolean)
    reopen_count: Mapped[int] = mapped_column(Integer)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Copied from the complaint's deadline_ledger rows, so a report reads this table alone.
    deadlines_met: Mapped[int] = mapped_column(Integer)
    deadlines_breached: Mapped[int] = mapped_column(Integer)
    # The customer left without word from us, or without an answer (domain.events
    # CLOSED_LOOP_BREACHES): breaches the contracts count beside the deadlines'.
    closed_loop_breaches: Mapped[int] = mapped_column(Integer, server_default="0")
    # The first round's resolution: True met in time, False breached, None not settled yet.
    resolved_in_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class DeadlineLedgerRow(Base):
    """Every deadline of every complaint round: when due, met, breached (see store.report_model)."""

    __tablename__ = "deadline_ledger"
    __table_args__ = (Index("ix_deadline_ledger_due_at", "due_at"),)

    complaint_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    warned_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)
    met_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)


class CustomerKeyRow(Base):
    """A customer's data key, wrapped (AES-GCM) by a master key; see store.vault.

    `customer_ref` is a keyed HMAC of the customer's e-mail or phone (else of the complaint id),
    never the address itself; `phone_ref` that of the phone too when both were given, so either
    finds the customer. Erasure sets `wrapped_key` to NULL: every ciphertext made with the key
    becomes unreadable, and the row stays as the record that it was erased.
    """

    __tablename__ = "customer_keys"

    key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_ref: Mapped[str] = mapped_column(String(64), index=True)
    phone_ref: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    wrapped_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    master_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    erased_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)


class IntakeKeyRow(Base):
    """Which complaint a caller's idempotency key made (see store.intake_keys).

    A key belongs to the caller that sent it (`scope`: an API key's id, "web-form", "email",
    "cli"), so the same key from another caller is another row. `key_digest` and `body_digest`
    are keyed HMACs (store.vault's fingerprint): a key or an external reference may name the
    customer, and a submission's body does.
    """

    __tablename__ = "intake_keys"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(100))
    body_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class InboundMailRow(Base):
    """Every inbound e-mail and what became of it (store.inbound_mail). The raw message is
    personal data: only sealed (AES-GCM, a master key, bound to the row's id) is it stored.
    `reason` and the other columns never hold an address, a name or a body."""

    __tablename__ = "inbound_mail"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Unique: a message delivered again is recognised (NULLs, mails without one, never clash).
    message_id: Mapped[str | None] = mapped_column(String(998), unique=True, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTC_DATETIME, index=True)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(Text)
    complaint_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    raw_key_id: Mapped[str] = mapped_column(String(32))
    raw_sealed: Mapped[bytes] = mapped_column(LargeBinary)


class AttachmentRow(Base):
    """A photo or document of a complaint (see store.attachments), named by the SHA-256 of its
    content. The content and the file name are sealed with the customer's data key (`key_id`),
    so erasing the customer makes both unreadable; type and size stay for the figures."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("complaint_id", "sha256"),)

    id: Mapped[int] = mapped_column(AUTOINCREMENT_ID, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(36))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(10))
    sealed_name: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class AccessLogRow(Base):
    """Who saw a customer's personal data: one row per view (store.access_log). Append-only:
    nothing in the code updates or deletes a row, and on PostgreSQL a trigger refuses it
    (migration 0012). Never the data itself: which complaint, who, where, when."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_complaint_id", "complaint_id"),)

    id: Mapped[int] = mapped_column(AUTOINCREMENT_ID, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(String(100))
    viewed_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    key_id: Mapped[str] = mapped_column(String(100))
    viewer: Mapped[str] = mapped_column(String(200))
    surface: Mapped[str] = mapped_column(String(40))


class SentReportRow(Base):
    """A contract's report as it was built and sent (store.sent_reports). Its content (figures,
    CSV, PDF, their hash) is written once and never updated, so the report of a past week reads
    as it was sent even after late events changed the live figures; only `sent_at` is stamped,
    once, when it was delivered. No personal data: figures, category names, frequent terms."""

    __tablename__ = "sent_reports"
    __table_args__ = (Index("ix_sent_reports_contract_period_start", "contract", "period_start"),)

    id: Mapped[int] = mapped_column(AUTOINCREMENT_ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # report:<contract>:<kind>:<period>
    contract: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[datetime] = mapped_column(UTC_DATETIME)
    period_end: Mapped[datetime] = mapped_column(UTC_DATETIME)
    recipients: Mapped[list[str]] = mapped_column(JSON)
    built_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    sent_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of figures, CSV and PDF
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    csv: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)


class ReportNoticeRow(Base):
    """A notice about the reports, sent once per key: a team flagged for review (per flag), a
    report that could not be delivered (per report). Claimed before it is sent."""

    __tablename__ = "report_notices"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    contract: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)  # never personal data
    recipients: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    sent_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True)


class ReportDeliveryRow(Base):
    """What became of one sending of a report to one recipient (store.sent_reports): delivered,
    or not after every retry and why. Append-only: a resend is a new run of the report's
    workflow, so new rows under its own `run_id`; no row is ever updated."""

    __tablename__ = "report_deliveries"
    __table_args__ = (
        UniqueConstraint("report_key", "run_id", "recipient"),
        Index("ix_report_deliveries_report_key", "report_key"),
    )

    id: Mapped[int] = mapped_column(AUTOINCREMENT_ID, primary_key=True, autoincrement=True)
    report_key: Mapped[str] = mapped_column(String(200))  # sent_reports.key
    run_id: Mapped[str] = mapped_column(String(100))  # the workflow run that sent it
    recipient: Mapped[str] = mapped_column(String(254))
    delivered: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why not, when not
    requested_by: Mapped[str | None] = mapped_column(String(200), nullable=True)  # a resend's
    at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class QaReviewRow(Base):
    """The spot-check read model: a complaint's latest review (store.qa_reviews), placed by the
    contract, team, agent and receipt time the review names. Written only by its projection."""

    __tablename__ = "qa_reviews"
    __table_args__ = (Index("ix_qa_reviews_contract_received_at", "contract", "received_at"),)

    complaint_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    contract: Mapped[str] = mapped_column(String(40))
    team: Mapped[str] = mapped_column(String(100))
    agent: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    reviewed_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    reviewer: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)  # share of the most it could be, 0 to 1
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)  # item: share of the scale, 0 to 1
    reviews: Mapped[int] = mapped_column(Integer)  # of this complaint so far; the latest stands


class SessionRow(Base):
    """A browser's sign-in (store.sessions): the key it was opened with and until when; ending
    it deletes the row. Only a digest of the session id is stored, so a copy of the table opens no
    session; the cookie holds the id, never the API key."""

    __tablename__ = "sessions"

    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    expires_at: Mapped[datetime] = mapped_column(UTC_DATETIME, index=True)
