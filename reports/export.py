"""The SLA report as JSON, CSV (one line per period and group) and a text table for people.

New CSV columns go at the end of a line, so a spreadsheet reading columns by position keeps
working."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from reports.business_time import BusinessHoursTimes
from reports.metrics import (
    RATINGS,
    RESPONSE_BUCKETS,
    TARGET_FIGURES,
    Figures,
    SlaReport,
    Spread,
    TargetCheck,
)

_TIMES = ("register", "first_response", "initial_solution", "resolution")


def as_json(report: SlaReport) -> dict[str, Any]:
    out = asdict(report)
    out["first_day"] = report.first_day.isoformat()
    out["last_day"] = report.last_day.isoformat()
    for row in out["rows"]:
        row["period_start"] = row["period_start"].isoformat()
    return out


def csv_header() -> list[str]:
    header = ["period", "period_start", "group", "volume"]
    for name in _TIMES:
        header += [f"time_to_{name}_count", f"time_to_{name}_median_s", f"time_to_{name}_p90_s"]
    header += [f"first_response_{bucket}" for bucket, _ in RESPONSE_BUCKETS]
    header += [
        "deadlines_met",
        "deadlines_breached",
        "resolved",
        "first_contact_resolution_rate",
        "reopen_rate",
        "resolution_rate",
        "satisfaction_average",
    ]
    header += [f"satisfaction_{r}" for r in RATINGS]
    header += ["first_response_in_time_rate", "contract", "contract_name"]
    for target in TARGET_FIGURES:
        header += [f"target_{target}", f"target_{target}_status"]
    # Added after the columns above, so a reader of the earlier layout still finds them.
    return header + business_hours_header() + ["closed_loop_breaches"]


def csv_line(row: Figures) -> list[Any]:
    line: list[Any] = [row.period, row.period_start.isoformat(), row.group, row.volume]
    for name in _TIMES:
        s: Spread = getattr(row, f"time_to_{name}")
        line += [s.count, _blank(s.median), _blank(s.p90)]
    line += list(row.first_response_distribution.values())
    line += [
        row.deadlines_met,
        row.deadlines_breached,
        row.resolved,
        _blank(row.first_contact_resolution_rate),
        _blank(row.reopen_rate),
        _blank(row.resolution_rate),
        _blank(row.satisfaction_average),
    ]
    line += [row.satisfaction_distribution[r] for r in RATINGS]
    line += [_blank(row.first_response_in_time_rate), row.contract or "", row.contract_name or ""]
    checks = {c.target: c for c in row.targets}
    for target in TARGET_FIGURES:
        check = checks.get(target)
        line += [check.promised, check.status] if check else ["", ""]
    return line + business_hours_line(row.business_hours) + [row.closed_loop_breaches]


# The business-hours tiers' times: business time, wall clock beside (reports.business_time).
_BUSINESS_SPREADS = (
    "first_response",
    "first_response_wall_clock",
    "resolution",
    "resolution_wall_clock",
)


def business_hours_header() -> list[str]:
    header = ["business_hours_tiers"]
    for name in _BUSINESS_SPREADS:
        header += [f"business_hours_{name}_count", f"business_hours_{name}_median_s"]
        header += [f"business_hours_{name}_p90_s"]
    return header


def business_hours_line(times: BusinessHoursTimes | None) -> list[Any]:
    if times is None:
        return [""] * len(business_hours_header())
    line: list[Any] = [" ".join(str(t) for t in times.tiers)]
    for name in _BUSINESS_SPREADS:
        s: Spread = getattr(times, name)
        line += [s.count, _blank(s.median), _blank(s.p90)]
    return line


def business_hours_text(times: BusinessHoursTimes) -> str:
    """'first response 1.0h (wall clock 64.0h) / ...': business time first, wall clock beside."""
    return (
        f"first response {_pair(times.first_response)}"
        f" (wall clock {_pair(times.first_response_wall_clock)}),"
        f" resolution {_pair(times.resolution)}"
        f" (wall clock {_pair(times.resolution_wall_clock)})"
    )


def as_csv(report: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_header())
    writer.writerows(csv_line(row) for row in report.rows)
    return out.getvalue()


def as_table(report: SlaReport) -> str:
    """A compact table: the figures a supervisor reads first."""
    lines = [
        f"SLA report by {report.period}, grouped by {report.group_by}: "
        f"{report.first_day} to {report.last_day} ({zone_text(report)})",
        f"{'period':<9} {'group':<17} {'vol':>5} {'1st resp p50/p90':>17} "
        f"{'resolve p50/p90':>17} {'met':>5} {'brch':>5} {'FCR':>5} {'reop':>5} {'res%':>5} "
        f"{'1st%':>5} {'CSAT':>4}",
    ]
    for r in report.rows:
        lines.append(
            f"{r.period:<9} {r.group[:17]:<17} {r.volume:>5} "
            f"{_pair(r.time_to_first_response):>17} {_pair(r.time_to_resolution):>17} "
            f"{r.deadlines_met:>5} {r.deadlines_breached:>5} "
            f"{_percent(r.first_contact_resolution_rate):>5} {_percent(r.reopen_rate):>5} "
            f"{_percent(r.resolution_rate):>5} {_percent(r.first_response_in_time_rate):>5} "
            f"{'-' if r.satisfaction_average is None else f'{r.satisfaction_average:.1f}':>4}"
        )
    if not report.rows:
        lines.append("(no complaints received in this range)")
    on_hours = [r for r in report.rows if r.business_hours]
    if on_hours:
        lines.append("Business-hours tiers, business time p50/p90 (wall clock p50/p90):")
    for r in on_hours:
        tiers = ",".join(str(t) for t in r.business_hours.tiers)  # type: ignore[union-attr]
        text = business_hours_text(r.business_hours)  # type: ignore[arg-type]
        lines.append(f"  {r.period:<9} {r.group} [tiers {tiers}]: {text}")
    targeted = [r for r in report.rows if r.targets]
    if targeted:
        lines.append("Targets (met / MISSED / no data):")
    for r in targeted:
        checks = "; ".join(target_text(c) for c in r.targets)
        lines.append(f"  {r.period:<9} {r.group} [{contract_label(r)}]: {checks}")
    for flag in report.flagged_teams:
        rates = ", ".join(_percent(r) for r in flag.resolution_rates)
        lines.append(
            f"FLAGGED for review: {flag.team} ({flag.contract}), resolution rate {rates} in "
            f"{', '.join(flag.weeks)}"
        )
    return "\n".join(lines)


def zone_text(report: SlaReport) -> str:
    """Which time zone the periods are in, and why that one."""
    if report.timezone_of is None:
        return report.timezone
    if report.contract is not None:
        return f"{report.timezone}, contract {report.timezone_of}'s time zone"
    return f"{report.timezone}, the default contract {report.timezone_of}'s: across contracts"


def contract_label(row: Figures) -> str:
    """A contract as people read it: its name and its id."""
    return f"{row.contract_name} ({row.contract})" if row.contract_name else str(row.contract)


def target_text(check: TargetCheck) -> str:
    shown = _figure_text(check.target, check.actual)
    status = {"met": "met", "missed": "MISSED", "no_data": "no data"}[check.status]
    return f"{check.target} {shown} vs {_figure_text(check.target, check.promised)} {status}"


def _figure_text(target: str, value: float | None) -> str:
    # CSAT is a mean rating; every other target is a share.
    if target == "csat":
        return "-" if value is None else f"{value:.2f}"
    return _percent(value)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f}m"
    hours = minutes / 60
    return f"{hours:.1f}h" if hours < 48 else f"{hours / 24:.1f}d"


def _pair(s: Spread) -> str:
    return f"{duration_text(s.median)}/{duration_text(s.p90)}"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _blank(value: float | None) -> Any:
    return "" if value is None else round(value, 4)
