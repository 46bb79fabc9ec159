"""The sent report's business-time figures: a tier-2 complaint received Friday 17:30 in Shanghai
and answered Monday 09:30 took one business hour (64 on the wall), and the report says both, in
the figures archived as JSON, the CSV, the PDF (its text read back with pypdf) and the HTML."""

from __future__ import annotations

from domain import commands as c
from tests.unit.helpers import Story, local, minutes, registration
from tests.unit.report_stories import decisions
from tests.workflows.test_contract_reports import (  # noqa: F401 (fixtures)
    CLIENT,
    FRIDAY,
    attachments,
    env,
    html_of,
    pdf_text,
    reports,
    smtp,
)

FRIDAY_EVENING = local(2026, 11, 20, 17, 30)  # in week 2026-W48's report (from 16:30)


def over_the_weekend() -> dict:
    story = Story()
    cid = "C-W"
    made = [story.when(registration("My parcel is late", cid=cid), FRIDAY_EVENING)]
    monday = local(2026, 11, 23, 9, 30)
    made.append(story.when(c.Respond(by="agent.wang", message="Checking"), monday))
    made.append(story.when(c.Resolve(by="agent.wang", resolution="Found"), monday + minutes(90)))
    return {cid: [d for d in made if d]}


async def test_the_report_shows_business_time_beside_wall_clock(reports, smtp):  # noqa: F811
    # decisions(): C (tier 2) and D (tier 1) answered within Wednesday's open hours, where
    # business time is wall time: first response 30m and 40m, resolution 3h and 40m.
    reports.record(decisions() | over_the_weekend())

    outcome = await reports.trigger("weekly", FRIDAY)

    figures = reports.archive.get(outcome.key).figures["business_hours"]
    assert figures["tiers"] == [1, 2]
    # First response: business 30m, 40m, 60m; wall clock 30m, 40m, 64h.
    assert figures["first_response"] == {"count": 3, "median_seconds": 2400, "p90_seconds": 3600}
    assert figures["first_response_wall_clock"]["p90_seconds"] == 64 * 3600
    # Resolution: business 40m, 2.5h, 3h; wall clock 40m, 3h, 65.5h.
    assert figures["resolution"]["median_seconds"] == 2.5 * 3600
    assert figures["resolution_wall_clock"]["p90_seconds"] == 65.5 * 3600
    [mail] = smtp.to(CLIENT)
    files = attachments(mail)
    csv_text = files["default-weekly-2026-W48.csv"]
    assert "first_response_business_seconds,median/p90,2400,3600" in csv_text
    assert "first_response_wall_clock_seconds,median/p90,2400,230400" in csv_text
    assert "resolution_business_seconds,median/p90,9000,10800" in csv_text
    text = pdf_text(files["default-weekly-2026-W48.pdf"])
    assert "Business-hours tiers: business time (wall clock)" in text
    assert "40m / 60m 40m / 2.7d" in text  # first response: business, then wall clock
    assert "2.5h / 3.0h 3.0h / 2.7d" in text  # resolution
    html = html_of(mail)
    assert "Business-hours tiers" in html and "<strong>40m / 60m</strong>" in html
