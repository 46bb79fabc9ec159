"""The side effects of a contract's report: build and archive it, send it to each recipient,
stamp it sent, and send a notice once (a team flagged for review, a report undelivered).

Synchronous (SQLAlchemy, smtplib): the worker runs them on its thread pool. A delivery that may
work later raises, so Temporal retries it with the workflow's backoff; one that never will
(SMTP 5xx, no SMTP server configured) raises a non-retryable error naming why, never an address.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.report_models import (
    UNDELIVERABLE,
    BuiltReport,
    NoticeRequest,
    RecordDeliveries,
    ReportInput,
    SendReport,
)
from delivery.report_mail import notice_mail, notice_text, report_mail
from delivery.senders import PermanentFailure, SmtpSender, TemporaryFailure
from domain.policy import PerformanceReview
from domain.report_times import period_of, report_key
from engine.contracts import ContractBook
from reports.contract_report import build_report
from reports.contract_report_render import as_csv, as_pdf, charts
from store.report_deliveries import Delivery, ReportDeliveries
from store.sent_reports import ArchivedReport, Notice, SentReports

log = structlog.get_logger(__name__)


class ReportActivities:
    def __init__(
        self,
        engine: Engine,
        contracts: ContractBook,
        smtp: SmtpSender | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._archive = SentReports(engine)
        self._deliveries = ReportDeliveries(engine)
        self._contracts = contracts
        self._smtp = smtp
        self._clock = clock

    @activity.defn(name="build_contract_report")
    def build(self, req: ReportInput) -> BuiltReport:
        """Build the report and archive it, unless the archive holds it already: then that one
        is the report, as first built (the figures may have moved since)."""
        contract = self._contracts.contracts[req.contract]
        zone = ZoneInfo(contract.policy.timezone)
        period = period_of(req.kind, req.due, zone)
        key = report_key(contract.id, req.kind, period.label)
        archived = self._archive.get(key)
        if archived is None:
            report = build_report(self._engine, contract, period)
            figures = report.model_dump(mode="json")
            csv_text, pdf = as_csv(report), as_pdf(report, charts(report))
            archived = self._archive.archive(
                ArchivedReport(
                    key=key,
                    contract=contract.id,
                    kind=req.kind,
                    period=period.label,
                    period_start=period.start,
                    period_end=period.end,
                    recipients=list(contract.report_recipients),
                    built_at=self._clock(),
                    content_hash=content_hash(figures, csv_text, pdf),
                    figures=figures,
                    csv=csv_text,
                    pdf=pdf,
                )
            )
        owed = self._deliveries.owed(key, archived.recipients)
        if archived.recipients and not owed:
            # Every recipient has it (a run that delivered to the last of them stopped before
            # its stamp): stamp it now, and send nothing.
            self._archive.mark_sent(key, self._clock())
        log.info("report built", key=key, content_hash=archived.content_hash, owed=len(owed))
        return BuiltReport(
            key=key,
            period=period.label,
            content_hash=archived.content_hash,
            recipients=owed,
            already_sent=archived.sent_at is not None or bool(archived.recipients and not owed),
            flag_notices=[
                flag_notice(contract.id, contract.policy.performance_review, f)
                for f in archived.figures.get("flagged_teams", [])
            ],
        )

    @activity.defn(name="send_contract_report")
    def send(self, req: SendReport) -> None:
        archived = self._archive.get(req.key)
        if archived is None:
            raise ApplicationError(f"{req.key}: not in the archive", non_retryable=True)
        smtp = self._mailer()
        locale = self._contracts.directory_of(archived.contract).locale_of(req.recipient) or "en"
        _deliver(smtp, report_mail(archived, req.recipient, locale, smtp.from_address))
        log.info("report delivered", key=req.key)

    @activity.defn(name="record_report_deliveries")
    def record_deliveries(self, req: RecordDeliveries) -> None:
        """What became of this run's sending, per recipient; append-only (a resend adds rows)."""
        at = self._clock()
        self._deliveries.record(
            [
                Delivery(req.key, req.run_id, r, True, at, requested_by=req.requested_by)
                for r in req.delivered
            ]
            + [
                Delivery(req.key, req.run_id, r, False, at, why, req.requested_by)
                for r, why in req.undelivered.items()
            ]
        )

    @activity.defn(name="mark_report_sent")
    def mark_sent(self, key: str) -> None:
        self._archive.mark_sent(key, self._clock())

    @activity.defn(name="send_report_notice")
    def notify(self, req: NoticeRequest) -> list[str]:
        """Send the notice to the contract's supervisors (and its report recipients when asked),
        once for its key: a notice already sent sends nothing. Returns who it went to."""
        contract = self._contracts.of(req.contract)
        directory = self._contracts.directory_of(req.contract)
        people = {r.email: r.locale for r in directory.supervisors() if r.email}
        if req.to_report_recipients:
            for address in contract.report_recipients:
                people.setdefault(address, directory.locale_of(address) or "en")
        notice = self._archive.claim_notice(
            Notice(
                key=req.key,
                contract=contract.id,
                kind=req.kind,
                details=req.details,
                recipients=sorted(people),
                created_at=self._clock(),
            )
        )
        if notice.sent_at is not None:
            return []
        smtp = self._mailer()
        for address in notice.recipients:
            title, body = notice_text(
                req.kind, people.get(address, "en"), contract=contract.name, **req.details
            )
            _deliver(smtp, notice_mail(req.key, address, title, body, smtp.from_address))
        self._archive.notice_sent(req.key, self._clock())
        log.info("report notice sent", key=req.key, kind=req.kind, count=len(notice.recipients))
        return notice.recipients

    def _mailer(self) -> SmtpSender:
        if self._smtp is None:
            raise ApplicationError(
                "no SMTP server configured (COMPLAINTS_SMTP_HOST)",
                type=UNDELIVERABLE,
                non_retryable=True,
            )
        return self._smtp

    def all(self) -> list:
        return [self.build, self.send, self.record_deliveries, self.mark_sent, self.notify]


def _deliver(smtp: SmtpSender, mail) -> None:
    try:
        smtp.send_mail(mail)
    except PermanentFailure as exc:
        raise ApplicationError(str(exc), type=UNDELIVERABLE, non_retryable=True) from None
    except TemporaryFailure:
        raise  # retried by Temporal, with the workflow's backoff


def flag_notice(contract_id: str, review: PerformanceReview, flag: dict) -> NoticeRequest:
    """The notice of one flag: keyed by the team and the first week of its run, so the weeks the
    run goes on (and the monthly report that sees it too) tell nobody again."""
    weeks, rates = flag["weeks"], flag["resolution_rates"]
    return NoticeRequest(
        key=f"review:{contract_id}:{flag['team']}:{weeks[0]}",
        contract=contract_id,
        kind="review_flag",
        details={
            "team": flag["team"],
            "threshold": f"{review.resolution_rate_below:.0%}",
            "count": len(weeks),
            "lines": "\n".join(f"  {w}: {r:.1%}" for w, r in zip(weeks, rates, strict=True)),
        },
        to_report_recipients=True,  # the client contact may demand a change of team
    )


def content_hash(figures: dict, csv_text: str, pdf: bytes) -> str:
    """SHA-256 over the figures (canonical JSON), the CSV and the PDF, each length-prefixed so
    no two different reports can run together into the same bytes."""
    digest = hashlib.sha256()
    canonical = json.dumps(figures, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    for part in (canonical.encode(), csv_text.encode(), pdf):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
