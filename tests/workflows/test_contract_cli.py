"""`complaints contracts list|apply` against the time-skipping server: the dry run shows what
--yes then records, a complaint that refuses is reported and the rest go on."""

from __future__ import annotations

import asyncio
import base64
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from domain import commands as c
from engine.contracts import load_contracts
from engine.service import ComplaintService
from entrypoints.cli import main
from store import ComplaintListProjection, ProjectionRunner
from tests.store.conftest import logging_as_it_was  # noqa: F401 (a fixture)
from tests.workflows.test_contracts import BOOK, EXAMPLE, outage


def _key(byte: int) -> str:  # tests.keys' keys, as the CLI reads them from the environment
    return base64.b64encode(bytes([byte]) * 32).decode()


@pytest.fixture
def amended_files(tmp_path: Path) -> Path:
    """The example contracts, Globex's edited: a shorter first response and a longer initial
    solution for outages, and its `accounts` team renamed."""
    shutil.copytree(EXAMPLE.parent, tmp_path / "contracts")
    policy = tmp_path / "contracts" / "globex" / "policy.toml"
    text = policy.read_text()
    for old, new in [
        ('first_response = "15m", initial_solution = "1h"',
         'first_response = "5m", initial_solution = "2h"'),
        ('billing = "accounts"', 'billing = "desk"'),
        ('other = "accounts"', 'other = "desk"'),
        ("[teams.accounts]", "[teams.desk]"),
    ]:  # fmt: skip
        assert old in text
        text = text.replace(old, new)
    policy.write_text(text)
    parties = policy.with_name("parties.toml")
    parties.write_text(parties.read_text().replace("[teams.accounts]", "[teams.desk]"))
    return tmp_path / "contracts" / "contracts.toml"


@pytest.fixture
def cli_env(harness, amended_files, tmp_path, monkeypatch):
    values = {
        "CONTRACTS": str(amended_files),
        "DATABASE_URL": str(harness.store.engine.url),
        "DATA_DIR": str(tmp_path),
        "TEMPORAL_ADDRESS": harness.client.service_client.config.target_host,
        "TASK_QUEUE": harness.task_queue,
        "CODEC_KEYS": f"test-codec:{_key(1)}",
        "MASTER_KEYS": f"test-master:{_key(2)}",
        "IDENTITY_KEY": _key(3),
    }
    for name, value in values.items():
        monkeypatch.setenv(f"COMPLAINTS_{name}", value)


async def cli(capsys, *argv: str) -> str:
    """What the command printed (without the test worker's log lines: the CLI's logging setup
    sends them to the same stdout)."""
    await asyncio.to_thread(main, list(argv))  # main runs its own event loop
    out = capsys.readouterr().out.splitlines(keepends=True)
    return "".join(line for line in out if "events appended" not in line)


# Each test asks for logging_as_it_was last, so the CLI's logging is undone before the worker
# (which logs as it stops) and capsys (whose stream the CLI's handler writes to) are.
async def test_apply_shows_then_records_the_amendment(
    harness,
    cli_env,
    amended_files,
    capsys,
    logging_as_it_was,  # noqa: F811
):
    service = ComplaintService(harness.client, harness.task_queue, BOOK, harness.store)

    async def submitted(submission: c.Submission) -> str:
        cid = (await service.submit(submission, scope="cli")).state.complaint_id
        harness.started.append(harness.client.get_workflow_handle(cid))
        return cid

    power = await submitted(outage("globex"))
    paused = await submitted(outage("globex"))
    bill = await submitted(
        outage("globex").model_copy(update={"subject": "Invoice", "description": "Wrong bill"})
    )
    acme = await submitted(outage("acme"))
    t0 = (await service.state(power)).received_at
    await service.act(paused, c.RequestInfo(by="globex.carl", question="Which street?"))
    await harness.skip_to(t0 + timedelta(minutes=8))
    await service.act(power, c.AddNote(by="globex.carl", text="crew sent"))  # its clock: +8m
    ProjectionRunner(harness.store.engine, [ComplaintListProjection()]).run_to_end()
    old, new = BOOK.of("globex").version, load_contracts(amended_files).of("globex").version

    listed = await cli(capsys, "contracts", "list")
    assert f"globex  Globex Energy (Germany)  version {new}" in listed
    assert f"     3 running on {old}\n" in listed
    assert f"     1 running on {BOOK.of('acme').version}  (the files')" in listed

    dry = await cli(capsys, "contracts", "apply", "globex")
    assert f"Contract globex (Globex Energy (Germany)): the files' version {new}" in dry
    assert acme not in dry
    block = dry.split(f"{power}  open, on {old}\n")[1]
    first, second = block.splitlines()[:2]
    # Berlin time: the complaint came in at t0; the first response was due 15 minutes later.
    assert first.startswith("    first_response ") and first.endswith("-10m  breached at once")
    assert second.startswith("    initial_solution ") and second.endswith("+1h")
    assert f"{paused}  waiting_on_customer, on {old}\n    waiting on the customer" in dry
    assert (
        f"{bill}  open, on {old}\n    refused: cannot amend the terms of complaint {bill}: "
        "the new terms' teams lack its team 'accounts' (reassign it first)"
    ) in dry
    assert "Dry run, nothing recorded: 2 would be amended, 1 would refuse, 0 already on" in dry
    assert "New complaints take the files' version once the engine's processes" in dry
    assert all(r.type != "PolicyAmended" for r in harness.store.read_stream(power))

    done = await cli(capsys, "contracts", "apply", "globex", "--yes", "--by", "ops.wu")
    assert done.splitlines()[:-2] == dry.splitlines()[:-3]  # what the dry run showed
    assert "2 amended, 1 refused, 0 already on" in done
    recorded = [r for r in harness.store.read_stream(power)]
    amended = next(r for r in recorded if r.type == "PolicyAmended")
    assert (amended.data["by"], amended.data["to_version"]) == ("ops.wu", new)
    after = [r.type for r in recorded[recorded.index(amended) :]]
    assert after[:2] == ["PolicyAmended", "DeadlinesScheduled"] and "DeadlineBreached" in after
    assert [r.type for r in harness.store.read_stream(bill)].count("PolicyAmended") == 0
    assert (await service.state(paused)).policy_version == new

    ProjectionRunner(harness.store.engine, [ComplaintListProjection()]).run_to_end()
    listed = await cli(capsys, "contracts", "list")
    assert f"     2 running on {new}  (the files')" in listed
    assert f"     1 running on {old}\n" in listed
    only_new = await cli(capsys, "contracts", "apply", "globex", "--new-complaints-only")
    assert "no running complaint amended; 1 keep their versions" in only_new


async def test_an_unknown_contract_is_a_usage_error(
    harness,
    cli_env,
    capsys,
    logging_as_it_was,  # noqa: F811
):
    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(main, ["contracts", "apply", "initech"])
    assert exited.value.code == 2
    assert "contract_id: no contract 'initech' in the files (acme, globex)" in (
        capsys.readouterr().err
    )
