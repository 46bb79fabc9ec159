"""docker-compose.yml, checked without a Docker engine: valid under the Compose Specification's
own JSON schema (vendored beside this file, SOURCE.md), and right in what a schema cannot know:
images pinned, dependencies that exist, health checks on what runs for good, settings the
engine reads, variables the README documents, files it mounts, the search attributes the
workflows publish. The namespace set-up script runs against a real dev server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from engine.binaries import temporal_cli
from engine.settings import Settings
from tests.ports import free_port
from workflows import search

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
TEXT = (ROOT / "docker-compose.yml").read_text()
# ${NAME}, ${NAME:-default}, ${NAME:?error}: the variables the operator may set.
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")
PINNED = re.compile(r"^[\w./-]+:(?!latest$)[\w.-]*\d[\w.-]*(@sha256:[0-9a-f]{64})?$")


def one_shot() -> set[str]:
    """Services others wait for to finish: they exit, so they have no health to check."""
    return {
        name
        for service in SERVICES.values()
        for name, condition in _depends_on(service).items()
        if condition.get("condition") == "service_completed_successfully"
    }


def _depends_on(service: dict) -> dict[str, dict]:
    depends = service.get("depends_on", {})
    return {name: {} for name in depends} if isinstance(depends, list) else depends


def test_the_file_is_valid_under_the_compose_specification():
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(COMPOSE)
    ]
    assert errors == []


def test_the_schema_check_can_fail():
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    broken = {"services": {"api": {"image": "x:1", "depends_on": "worker", "healthcheck": []}}}
    assert len(list(Draft7Validator(schema).iter_errors(broken))) >= 2


def test_every_image_is_pinned_to_a_version():
    images = {name: s["image"] for name, s in SERVICES.items() if "build" not in s}
    assert images and {n: i for n, i in images.items() if not PINNED.match(i)} == {}
    assert not PINNED.match("postgres") and not PINNED.match("temporalio/server:latest")


def test_temporal_runs_on_the_server_and_admin_tools_images_not_auto_setup():
    images = {s.get("image", "").split(":")[0] for s in SERVICES.values()}
    assert {"temporalio/server", "temporalio/admin-tools", "temporalio/ui"} <= images
    assert "temporalio/auto-setup" not in images  # deprecated by Temporal


def test_every_dependency_names_a_service():
    unknown = {
        (name, needed)
        for name, service in SERVICES.items()
        for needed in _depends_on(service)
        if needed not in SERVICES
    }
    assert unknown == set()


def test_the_server_starts_after_its_schema_and_the_engine_after_its_set_up():
    assert _depends_on(SERVICES["temporal"])["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    assert "temporal-setup" in _depends_on(SERVICES["worker"])


def test_every_long_running_service_has_a_health_check():
    long_running = set(SERVICES) - one_shot()
    assert one_shot() == {"temporal-schema", "temporal-setup"}
    assert {
        name for name in long_running if "test" not in SERVICES[name].get("healthcheck", {})
    } == set()


def test_every_complaints_variable_is_a_setting_the_engine_reads():
    known = {f"COMPLAINTS_{name.upper()}" for name in Settings.model_fields}
    used = set(re.findall(r"\bCOMPLAINTS_[A-Z0-9_]+", TEXT))
    assert {"COMPLAINTS_CODEC_CORS_ORIGINS", "COMPLAINTS_DATABASE_URL"} <= used
    assert used - known == set()


def test_every_variable_the_operator_may_set_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    variables = set(VARIABLE.findall(TEXT))
    assert {"POSTGRES_PASSWORD", "COMPLAINTS_CODEC_KEYS"} <= variables
    assert {v for v in variables if f"`{v}`" not in readme} == set()


def test_every_file_mounted_from_the_repository_exists():
    sources = [
        volume.split(":")[0]
        for service in SERVICES.values()
        for volume in service.get("volumes", [])
        if isinstance(volume, str) and volume.startswith("./")
    ]
    assert sources and [s for s in sources if not (ROOT / s).is_file()] == []


def test_the_set_up_registers_every_search_attribute_the_workflows_publish():
    declared = SERVICES["temporal-setup"]["environment"]["SEARCH_ATTRIBUTES"].split()
    published = {
        f"{key.name}={key.indexed_value_type.name.title().replace('_', '')}" for key in search.ALL
    }
    assert sorted(declared) == sorted(published)
    # In the namespace the engine uses.
    engine_namespace = SERVICES["worker"]["environment"]["COMPLAINTS_NAMESPACE"]
    assert SERVICES["temporal-setup"]["environment"]["NAMESPACE"] == engine_namespace


def test_the_ui_decodes_through_the_api_codec_which_allows_the_ui_origin():
    ui, api = SERVICES["temporal-ui"], SERVICES["api"]
    assert ui["environment"]["TEMPORAL_CODEC_ENDPOINT"].endswith("/codec")
    assert ui["environment"]["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    ui_port = ui["ports"][0].rsplit(":", 2)[-1]
    assert api["environment"]["COMPLAINTS_CODEC_CORS_ORIGINS"].endswith(f":{ui_port}}}")


@pytest.mark.parametrize("script", ["setup-schema.sh", "setup-namespace.sh"])
def test_the_set_up_scripts_are_valid_shell(script):
    checked = subprocess.run(["sh", "-n", ROOT / "deploy" / "temporal" / script])
    assert checked.returncode == 0


def test_the_namespace_set_up_works_on_a_real_server_and_again(tmp_path):
    """What the temporal-setup service runs, with the same `temporal` CLI, on a dev server: a
    new namespace with every search attribute; run twice, it changes nothing and succeeds."""
    port = free_port()
    cli = temporal_cli()
    server = subprocess.Popen(
        [cli, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless",
         "--log-level", "error", "--db-filename", str(tmp_path / "temporal.sqlite3")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    env = {
        **os.environ,
        "PATH": f"{Path(cli).parent}:{os.environ['PATH']}",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "NAMESPACE": "complaints-compose-test",
        "SEARCH_ATTRIBUTES": SERVICES["temporal-setup"]["environment"]["SEARCH_ATTRIBUTES"],
        "ATTEMPTS": "30",
    }
    script = ROOT / "deploy" / "temporal" / "setup-namespace.sh"
    try:
        runs = [
            subprocess.run(
                [shutil.which("sh"), script], env=env, capture_output=True, text=True, timeout=120
            )  # fmt: skip
            for _ in range(2)
        ]
        listed = subprocess.run(
            [cli, "operator", "search-attribute", "list", "--address", env["TEMPORAL_ADDRESS"],
             "--namespace", env["NAMESPACE"]],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert [r.returncode for r in runs] == [0, 0], [r.stderr[-2000:] for r in runs]
    assert "created" not in runs[1].stdout.lower()
    assert runs[1].stdout.count("exists") == len(search.ALL)
    for key in search.ALL:
        assert re.search(rf"\b{key.name}\s+{key.indexed_value_type.name.title()}", listed), listed
