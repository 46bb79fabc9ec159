"""The metric names a PromQL expression reads, and the expressions of the shipped dashboard
(Grafana JSON) and alert rules (Prometheus YAML)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

# PromQL words that are not metric names: operators, modifiers, aggregation clauses, and the
# aggregations (whose clause may stand between them and their parenthesis: `sum by (le) (...)`).
KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "atan2", "inf", "nan", "sum", "min", "max", "avg", "group", "stddev",
    "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk",
}  # fmt: skip
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")  # label matchers: their names are labels, not metrics
_RANGES = re.compile(r"\[[^\]]*\]")  # [5m], [$__rate_interval], subqueries [1h:5m]
_CLAUSES = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_WORD = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def metric_names(expression: str) -> set[str]:
    text = _STRINGS.sub('""', expression)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _CLAUSES.sub(r"\1", text)
    names = set()
    for word, call in _WORD.findall(text):
        if call or word.lower() in KEYWORDS or re.fullmatch(r"\d.*", word):
            continue  # a function, an operator word
        names.add(word)
    return names


def dashboard_expressions(path: Path) -> Iterator[str]:
    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))  # rows hold their panels

    dashboard = json.loads(path.read_text())
    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield target["expr"]
    # Template variables may only pick the data source: a query variable's names would go
    # unchecked.
    variables = dashboard.get("templating", {}).get("list", [])
    assert all(v.get("type") == "datasource" for v in variables), variables


def rule_expressions(path: Path) -> Iterator[tuple[str, str]]:
    """(alert or record name, expression) of every rule."""
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule.get("alert") or rule["record"], rule["expr"]


def names_in_dashboard(path: Path) -> set[str]:
    return set().union(*(metric_names(e) for e in dashboard_expressions(path)))


def names_in_rules(path: Path) -> set[str]:
    return set().union(*(metric_names(e) for _, e in rule_expressions(path)))
