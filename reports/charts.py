"""The /reports page's charts as inline SVG: no script, no build step, readable when printed.

Each function takes the report's rows (one group, in period order) and returns markup; every
label is escaped, every number is ours.
"""

from __future__ import annotations

from html import escape

from reports.metrics import RATINGS, Figures

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 640, 220, 16, 36, 36
GREEN, RED, BLUE, GREY = "#1b7a3a", "#b00020", "#2f5da8", "#888"


def breach_trend(rows: list[Figures]) -> str:
    """Deadlines met and breached per period, side by side, with the breach share above."""
    groups = []
    for r in rows:
        settled = r.deadlines_met + r.deadlines_breached
        share = f"{r.deadlines_breached / settled:.0%}" if settled else ""
        groups.append((r.period, [(r.deadlines_met, GREEN), (r.deadlines_breached, RED)], share))
    return _bars(
        "breach-trend",
        "Deadlines met and breached per period",
        groups,
        legend=[("met", GREEN), ("breached", RED)],
    )


def response_times(rows: list[Figures]) -> str:
    """How long first responses took, over the whole range."""
    totals: dict[str, int] = {}
    for r in rows:
        for bucket, count in r.first_response_distribution.items():
            totals[bucket] = totals.get(bucket, 0) + count
    groups = [(bucket, [(count, BLUE)], str(count)) for bucket, count in totals.items()]
    return _bars("response-times", "Time to first response (complaints)", groups)


def satisfaction(rows: list[Figures]) -> str:
    """Ratings 1 to 5 over the whole range, with the average per period underneath."""
    totals = {rating: sum(r.satisfaction_distribution[rating] for r in rows) for rating in RATINGS}
    colours = {1: RED, 2: RED, 3: GREY, 4: GREEN, 5: GREEN}
    groups = [
        (f"{rating}★", [(totals[rating], colours[rating])], str(totals[rating]))
        for rating in RATINGS
    ]
    return _bars("csat", "Customer satisfaction (ratings)", groups)


def _bars(
    chart_id: str,
    title: str,
    groups: list[tuple[str, list[tuple[int, str]], str]],
    legend: list[tuple[str, str]] = (),
) -> str:
    """A grouped bar chart: per group a label, its bars (value, colour) and a note on top."""
    plot_height = HEIGHT - TOP - BOTTOM
    peak = max((v for _, bars, _ in groups for v, _ in bars), default=0) or 1
    slot = (WIDTH - LEFT) / max(len(groups), 1)
    bar_width = min(28.0, slot * 0.8 / max(len(groups[0][1]) if groups else 1, 1))
    parts = [
        f'<svg id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="{GREY}"/>',
        f'<text x="2" y="{TOP + 8}" fill="{GREY}">{peak}</text>',
    ]
    for n, (label, bars, note) in enumerate(groups):
        x = LEFT + n * slot + (slot - bar_width * len(bars)) / 2
        for value, colour in bars:
            height = plot_height * value / peak
            y = HEIGHT - BOTTOM - height
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
                f'height="{height:.1f}" '
                f'fill="{colour}"><title>{escape(label)}: {value}</title></rect>'
            )
            x += bar_width
        centre = LEFT + n * slot + slot / 2
        parts.append(
            f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
        if note:
            parts.append(
                f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 28}" text-anchor="middle" '
                f'fill="{GREY}">{escape(note)}</text>'
            )
    for n, (name, colour) in enumerate(legend):
        x = WIDTH - 90 * (len(legend) - n)
        parts.append(f'<rect x="{x}" y="2" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
