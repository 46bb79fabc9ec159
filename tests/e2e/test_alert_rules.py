"""The shipped Prometheus files, checked by Prometheus's own promtool (Debian's `prometheus`
package; `make test` installs it): the alert rules load and pass their unit tests
(deploy/prometheus/alerts_test.yml), the scrape config loads, and every expression of the
Grafana dashboard parses as PromQL. That their metric names exist is tests/e2e/test_metrics.py's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.chaos.processes import REPO
from tests.e2e.metric_names import dashboard_expressions

PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "complaints.json"
# What Grafana puts in place of its interval variables before it sends a query.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: `make promtool` (apt-get install prometheus)")
    return path


def run(promtool: str, *args: str, cwd: Path = PROMETHEUS) -> str:
    done = subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_alert_rules_load_and_pass_their_unit_tests(promtool: str):
    assert "SUCCESS: 7 rules found" in run(promtool, "check", "rules", "alerts.yml")
    assert "SUCCESS" in run(promtool, "test", "rules", "alerts_test.yml")


def test_the_scrape_config_loads_with_its_rules(promtool: str, tmp_path: Path):
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    # In the container the rules are mounted at /etc/prometheus; here they are in the repo.
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    config["rule_files"] = [str(PROMETHEUS / "alerts.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)


def test_every_dashboard_expression_is_valid_promql(promtool: str, tmp_path: Path):
    rules = []
    for n, expression in enumerate(dashboard_expressions(DASHBOARD)):
        for variable, value in GRAFANA_VARIABLES.items():
            expression = expression.replace(variable, value)
        rules.append({"record": f"dashboard:expression_{n}", "expr": expression})
    assert len(rules) > 20
    (tmp_path / "dashboard.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})
    )
    run(promtool, "check", "rules", "dashboard.yml", cwd=tmp_path)
