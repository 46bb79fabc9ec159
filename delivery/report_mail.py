"""The e-mails about a contract's reports: the report itself (an HTML body with the key figures
and charts, the PDF and the CSV attached) and the notices to its supervisors and client contact
(a team flagged for review; a report that could not be delivered).

Each mail's Message-ID is made from its key and recipient, the same on every attempt, so a
receiver can drop a repeat of a send whose outcome was lost (as for notifications).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from delivery.senders import KEY_HEADER, message_id
from reports.contract_report import ContractReport
from reports.contract_report_render import CHARTS, as_html, charts, subject
from reports.report_labels import labels
from store.sent_reports import ArchivedReport


def report_mail(archived: ArchivedReport, to: str, locale: str, sender: str) -> EmailMessage:
    """The archived report as the e-mail to `to`, in `locale`: attachments are the archived
    PDF and CSV, byte for byte."""
    report = ContractReport.model_validate(archived.figures)
    domain = sender.rpartition("@")[2] or "complaints.invalid"
    chart_ids = {name: make_msgid(name, domain) for name in CHARTS}
    mail = _headed(archived.key, to, subject(report, locale), sender)
    t = labels(locale)
    mail.set_content(f"{subject(report, locale)}\n\n{t['volume']}: {report.volume}\n"
                     f"{t['attached']}\n")  # fmt: skip
    mail.add_alternative(
        as_html(report, locale, {n: cid[1:-1] for n, cid in chart_ids.items()}), subtype="html"
    )
    html = mail.get_payload()[1]
    for name, png in charts(report).items():
        html.add_related(png, "image", "png", cid=chart_ids[name], filename=f"{name}.png")
    stem = f"{report.contract}-{report.kind}-{report.period}"
    mail.add_attachment(archived.pdf, "application", "pdf", filename=f"{stem}.pdf")
    mail.add_attachment(archived.csv, subtype="csv", filename=f"{stem}.csv")
    return mail


def notice_mail(key: str, to: str, title: str, body: str, sender: str) -> EmailMessage:
    mail = _headed(key, to, title, sender)
    mail.set_content(body)
    return mail


def _headed(key: str, to: str, title: str, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = title
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = message_id(key, to, sender.rpartition("@")[2] or "complaints.invalid")
    mail[KEY_HEADER] = key
    return mail


_NOTICES = {
    "en": {
        "review_flag": (
            "{contract}: team {team} flagged for review",
            "The resolution rate of team {team} ({contract}) stayed below {threshold} for"
            " {count} weeks running:\n{lines}\n\nThe client may ask for a change of team.\n",
        ),
        "report_undelivered": (
            "{contract}: the {period} report was not delivered",
            "The {period} report of {contract} could not be delivered after every retry:\n"
            "{lines}\n\nIt is archived as sent to the others (complaints reports sent, or the"
            " page /reports/sent); resend it to those it missed with"
            " `complaints reports resend ID`.\n",
        ),
    },
    "zh": {
        "review_flag": (
            "{contract}：团队 {team} 需评审",
            "团队 {team}（{contract}）的按时解决率连续 {count} 周低于 {threshold}：\n{lines}\n\n"
            "客户可以要求更换团队。\n",
        ),
        "report_undelivered": (
            "{contract}：{period} 报告未能送达",
            "{contract} 的 {period} 报告多次重试后仍未送达：\n{lines}\n\n"
            "报告已存档（complaints reports sent 或页面 /reports/sent），"
            "可用 `complaints reports resend ID` 补发给未送达的收件人。\n",
        ),
    },
}


def notice_text(kind: str, locale: str, **values: object) -> tuple[str, str]:
    """(subject, body) of a notice in `locale` (English unless "zh")."""
    title, body = _NOTICES["zh" if locale == "zh" else "en"][kind]
    return title.format(**values), body.format(**values)
