"""A contract's report as documents: the CSV of its figures, charts (PNG, matplotlib), the PDF
(reportlab) and the e-mail's HTML body.

The PDF is one document for every recipient, headed in English and Chinese, so the archive holds
exactly what each of them got; the e-mail's body is in the recipient's own language. Chinese is
set in reportlab's built-in CID font STSong-Light, which the PDF names and every PDF reader
supplies: no font file to ship or fetch, and text extraction reads it back as written.
"""

from __future__ import annotations

import csv
import functools
import io
from html import escape

from jinja2 import Environment, PackageLoader, StrictUndefined

from reports.contract_report import BusinessHours, ContractReport, Durations
from reports.export import duration_text
from reports.report_labels import LABELS, labels

FONT = "STSong-Light"
GREEN, RED, BLUE = "#1b7a3a", "#b00020", "#2f5da8"
CHARTS = ("by_channel", "deadlines", "satisfaction_distribution")

_templates = Environment(
    loader=PackageLoader("reports", "templates"), undefined=StrictUndefined, autoescape=True
)


# matplotlib and reportlab are loaded when the first report is drawn, not when the engine
# starts: with numpy they are some 50 MiB the engine's process would otherwise hold from its
# start (bench/workflow_memory.py), for reports drawn once a week or a month.
@functools.cache
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory only
    import matplotlib.pyplot

    return matplotlib.pyplot


@functools.cache
def _pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def spread_text(d: Durations) -> str:
    return f"{duration_text(d.median_seconds)} / {duration_text(d.p90_seconds)}"


def target_value(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if name == "csat" else percent(value)


# --- CSV -------------------------------------------------------------------------------------


def as_csv(report: ContractReport) -> str:
    """One line per figure: section, item, value (and a second value where there is one).
    Machine-readable: English keys, rates as fractions, durations in seconds."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["section", "item", "value", "other"])
    for key in ("contract", "kind", "period", "start", "end", "timezone"):
        w.writerow(["report", key, str(getattr(report, key)), ""])
    w.writerow(["volume", "received", report.volume, report.previous_volume])
    w.writerows(["channel", k, v, ""] for k, v in report.by_channel.items())
    w.writerows(["category", k, v, ""] for k, v in report.by_category.items())
    w.writerows(
        ["deadlines_met_breached", f"tier {t.tier}", t.met, t.breached]
        for t in report.deadlines_by_tier
    )
    w.writerows(
        ["closed_loop_breached", f"tier {t.tier}", t.closed_loop_breached, ""]
        for t in report.deadlines_by_tier
    )
    for name in ("first_response", "resolution"):
        d: Durations = getattr(report, name)
        w.writerow(
            [f"{name}_seconds", "median/p90", _number(d.median_seconds), _number(d.p90_seconds)]
        )
    w.writerow(["rates", "resolved", report.resolved, ""])
    for name in (
        "first_contact_resolution_rate",
        "reopen_rate",
        "resolution_rate",
        "first_response_in_time",
        "satisfaction_average",
    ):
        w.writerow(["rates", name, _number(getattr(report, name)), ""])
    w.writerows(
        ["satisfaction", str(r), n, ""] for r, n in report.satisfaction_distribution.items()
    )
    for t in report.targets:
        outcome = "" if t.met is None else ("met" if t.met else "missed")
        w.writerow(["target", t.name, _number(t.actual), f"{t.target} {outcome}".strip()])
    for f in report.flagged_teams:
        rates = " ".join(f"{r:.4f}" for r in f.resolution_rates)
        w.writerow(["flagged_team", f.team, " ".join(f.weeks), rates])
    w.writerows(business_hours_csv(report))
    w.writerows(
        ["demand_category", k, v, report.demand.previous_categories.get(k, 0)]
        for k, v in report.demand.categories.items()
    )
    for section in ("terms", "rising", "falling"):
        w.writerows(
            [f"demand_{section}", t.term, t.count, t.previous]
            for t in getattr(report.demand, section)
        )
    w.writerows(_qa_csv_rows(report))
    return out.getvalue()


def business_hours_csv(report: ContractReport) -> list[list[object]]:
    """The business-hours tiers' times, business time and wall clock each on a line of its own
    (seconds, median and p90)."""
    times = report.business_hours
    if times is None:
        return []
    rows: list[list[object]] = [["business_hours", "tiers", " ".join(map(str, times.tiers)), ""]]
    for name in ("first_response", "resolution"):
        business, wall = getattr(times, name), getattr(times, f"{name}_wall_clock")
        for clock, d in (("business", business), ("wall_clock", wall)):
            median, p90 = _number(d.median_seconds), _number(d.p90_seconds)
            rows.append([f"{name}_{clock}_seconds", "median/p90", median, p90])
    return rows


def _qa_csv_rows(report: ContractReport) -> list[list[object]]:
    """The spot-checks: qa (all, then each checklist item), qa_team, qa_agent (team/agent);
    value the score as a fraction, other the complaints reviewed."""
    qa = report.qa
    if qa is None:
        return []
    rows: list[list[object]] = [["qa", "all", _number(qa.score), qa.reviewed]]
    rows += [["qa_item", item, _number(share), ""] for item, share in qa.items.items()]
    rows += [["qa_team", g.team, _number(g.score), g.reviewed] for g in qa.teams]
    rows += [["qa_agent", f"{g.team}/{g.agent}", _number(g.score), g.reviewed] for g in qa.agents]
    return rows


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


# --- charts ----------------------------------------------------------------------------------


def charts(report: ContractReport) -> dict[str, bytes]:
    """PNG charts by name (CHARTS); labels are ids and numbers only (no CJK font is needed),
    titles come from the document around them."""
    tiers = report.deadlines_by_tier
    return {
        "by_channel": _bars(list(report.by_channel), [list(report.by_channel.values())], [BLUE]),
        "deadlines": _bars(
            [f"tier {t.tier}" for t in tiers],
            [[t.met for t in tiers], [t.breached for t in tiers]],
            [GREEN, RED],
        ),
        "satisfaction_distribution": _bars(
            [f"{r}" for r in report.satisfaction_distribution],
            [list(report.satisfaction_distribution.values())],
            [BLUE],
        ),
    }


def _bars(names: list[str], series: list[list[int]], colours: list[str]) -> bytes:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 2.2), dpi=100)
    try:
        width = 0.8 / len(series)
        for n, (values, colour) in enumerate(zip(series, colours, strict=True)):
            xs = [i + (n - (len(series) - 1) / 2) * width for i in range(len(names))]
            axes.bar(xs, values, width=width, color=colour)
        axes.set_xticks(range(len(names)), names)
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        out = io.BytesIO()
        # No timestamp or version in the file: the same figures make the same bytes.
        figure.savefig(out, format="png", metadata={"Software": None})
        return out.getvalue()
    finally:
        plt.close(figure)


# --- PDF -------------------------------------------------------------------------------------


def _both(key: str) -> str:
    """A heading in English and Chinese."""
    return f"{LABELS['en'][key]} / {LABELS['zh'][key]}"


def as_pdf(report: ContractReport, pngs: dict[str, bytes]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate

    _pdf_font()
    title = ParagraphStyle("title", fontName=FONT, fontSize=15, leading=20, spaceAfter=4)
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=11, leading=15, spaceBefore=8)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    story: list = [
        Paragraph(escape(f"{report.contract_name}: {_both(report.kind)}"), title),
        Paragraph(
            escape(
                f"{_both('period')}: {report.period} ({report.start:%Y-%m-%d %H:%M}"
                f" - {report.end:%Y-%m-%d %H:%M} {report.timezone})"
            ),
            body,
        ),
    ]

    def section(key: str, rows: list[list[object]], chart: str | None = None) -> None:
        story.append(Paragraph(escape(_both(key)), heading))
        if rows:
            story.append(_table(rows))
        if chart:
            story.append(Image(io.BytesIO(pngs[chart]), width=125 * mm, height=55 * mm))

    section(
        "volume",
        [[_both("volume"), report.volume], [_both("previous_volume"), report.previous_volume]],
    )
    if not report.volume:
        story.append(Paragraph(escape(_both("no_complaints")), body))
    section("by_channel", [[k, v] for k, v in report.by_channel.items()], "by_channel")
    section("by_category", [[k, v] for k, v in report.by_category.items()])
    section(
        "deadlines",
        [[_both("tier"), _both("met"), _both("breached"), _both("closed_loop_breached")]]
        + [[t.tier, t.met, t.breached, t.closed_loop_breached] for t in report.deadlines_by_tier],
        "deadlines",
    )
    section("first_response", [[spread_text(report.first_response)]])
    section("resolution", [[spread_text(report.resolution)]])
    if report.business_hours is not None:
        section("business_hours", business_hours_rows(report.business_hours))
    section(
        "rates",
        [
            [_both("resolved"), report.resolved],
            *[
                [_both(k), percent(getattr(report, k))]
                for k in (
                    "first_contact_resolution_rate",
                    "reopen_rate",
                    "resolution_rate",
                    "first_response_in_time",
                )
            ],
            [_both("satisfaction_average"), target_value("csat", report.satisfaction_average)],
        ],
    )
    section(
        "satisfaction_distribution",
        [[f"{r}", n] for r, n in report.satisfaction_distribution.items()],
        "satisfaction_distribution",
    )
    section(
        "targets",
        [
            [
                _both(t.name),
                f"{_both('target')} {target_value(t.name, t.target)}",
                f"{_both('actual')} {target_value(t.name, t.actual)}",
                _outcome(t.met),
            ]
            for t in report.targets
        ],
    )
    section(
        "flagged",
        [
            [f.team, " ".join(f.weeks), " ".join(percent(r) for r in f.resolution_rates)]
            for f in report.flagged_teams
        ],
    )
    if not report.flagged_teams:
        story.append(Paragraph(escape(_both("none_flagged")), body))
    demand = report.demand
    section(
        "demand",
        [[_both("categories"), _both("complaints"), _both("previous")]]
        + [[k, v, demand.previous_categories.get(k, 0)] for k, v in demand.categories.items()],
    )
    for key in ("terms", "rising", "falling"):
        terms = getattr(demand, key)
        section(key, [[t.term, t.count, t.previous] for t in terms])
    section("qa", _qa_pdf_rows(report))
    if report.qa is None or not report.qa.reviewed:
        story.append(Paragraph(escape(_both("qa_none")), body))
    out = io.BytesIO()
    # invariant: no creation time or random id in the file, so equal reports hash equal.
    SimpleDocTemplate(out, pagesize=A4, title=report.period, invariant=1).build(story)
    return out.getvalue()


def business_hours_rows(times: BusinessHours) -> list[list[object]]:
    """The PDF's table: tiers, then first response and resolution, business time beside wall
    clock (median / p90 each)."""
    return [
        [_both("tier"), ", ".join(map(str, times.tiers)), ""],
        ["", _both("business_time"), _both("wall_clock")],
        [_both("first_response"), spread_text(times.first_response),
         spread_text(times.first_response_wall_clock)],
        [_both("resolution"), spread_text(times.resolution),
         spread_text(times.resolution_wall_clock)],
    ]  # fmt: skip


def _qa_pdf_rows(report: ContractReport) -> list[list[object]]:
    qa = report.qa
    if qa is None or not qa.reviewed:
        return []
    head = [[_both("qa_team"), "", _both("qa_reviewed"), _both("qa_score")]]
    return (
        head
        + [[g.team, _both("qa_team"), g.reviewed, percent(g.score)] for g in qa.teams]
        + [[g.team, g.agent, g.reviewed, percent(g.score)] for g in qa.agents]
        + [[item, "", "", percent(share)] for item, share in qa.items.items()]
    )


def _outcome(met: bool | None) -> str:
    if met is None:
        return _both("target_unmeasured")
    return _both("target_met") if met else _both("target_missed")


def _table(rows: list[list[object]]):
    from reportlab.lib import colors
    from reportlab.platypus import Table

    table = Table([[str(c) for c in row] for row in rows], hAlign="LEFT")
    table.setStyle(
        [
            ("FONT", (0, 0), (-1, -1), FONT, 9),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    return table


# --- e-mail body -----------------------------------------------------------------------------


def as_html(report: ContractReport, locale: str, chart_ids: dict[str, str]) -> str:
    """The e-mail's HTML body: the key figures in `locale`; charts by Content-ID."""
    return _templates.get_template("contract_report_mail.html").render(
        r=report,
        t=labels(locale),
        locale=locale if locale in LABELS else "en",
        charts=chart_ids,
        percent=percent,
        spread_text=spread_text,
        target_value=target_value,
    )


def subject(report: ContractReport, locale: str) -> str:
    return f"{report.contract_name}: {labels(locale)[report.kind]} {report.period}"
