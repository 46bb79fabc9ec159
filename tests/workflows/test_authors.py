"""Who acted is the door's word, and who may act is the workflow's check: the `act` update's
validator holds the author to domain.access on the very state the action meets."""

from __future__ import annotations

import asyncio

import pytest

from domain import commands as c
from domain.access import Author, RoleForbidden, TeamForbidden, check_access
from engine.service import ComplaintNotFound, ComplaintService
from entrypoints.cli import main
from tests.store.conftest import logging_as_it_was  # noqa: F401 (a fixture)
from tests.workflows.test_contract_cli import _key
from tests.workflows.test_contracts import BOOK, EXAMPLE, outage

CHEN = Author(name="agent.chen", key_id="ck-00000000c4e0", role="agent", team="quality")
SUPERVISOR = Author(name="supervisor.wu", key_id="ck-0000000005a0", role="supervisor")


@pytest.fixture
def service(harness):
    return ComplaintService(harness.client, harness.task_queue, harness.policy, harness.store)


async def _complaint(harness) -> str:
    handle = (await harness.submit()).handle  # a charger on fire: team quality
    await harness.wait_for(handle, lambda state: state.status is not None)
    return handle.id


async def _updates_accepted(harness, cid: str) -> int:
    history = await harness.client.get_workflow_handle(cid).fetch_history()
    return sum(
        e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events
    )


def _notes(harness, cid: str) -> list:
    return [e for e in harness.events(cid) if e.type == "NoteAdded"]


async def test_an_agent_acting_on_a_complaint_moved_to_another_team_is_refused(service, harness):
    """The race the validator closes: the agent's read said the complaint was theirs, a
    supervisor moved it a moment later, and the agent's action arrives after. Refused by the
    validator: no event written and nothing in the workflow's history."""
    cid = await _complaint(harness)
    seen = await service.state(cid)
    check_access(CHEN, seen, "note")  # what a door's read would have allowed
    await service.act(
        cid, c.Reassign(by=SUPERVISOR.name, assignee="agent.wang", team="logistics"), SUPERVISOR
    )
    accepted = await _updates_accepted(harness, cid)

    note = c.parse_action("note", {"text": "Called the customer"}, CHEN)
    with pytest.raises(TeamForbidden, match="belongs to team 'logistics'"):
        await service.act(cid, note, CHEN)
    assert _notes(harness, cid) == []
    assert await _updates_accepted(harness, cid) == accepted  # refused before it was accepted


async def test_reclassifying_is_refused_to_an_agent_by_the_validator(service, harness):
    cid = await _complaint(harness)
    fields = {"tier": 1, "reason": "minor after all"}
    with pytest.raises(RoleForbidden, match="reclassify needs role supervisor"):
        await service.act(cid, c.parse_action("reclassify", fields, CHEN), CHEN)
    assert not [e for e in harness.events(cid) if e.type == "ComplaintReclassified"]
    await service.act(cid, c.parse_action("reclassify", fields, SUPERVISOR), SUPERVISOR)
    [done] = [e for e in harness.events(cid) if e.type == "ComplaintReclassified"]
    assert (done.by, done.by_key) == (SUPERVISOR.name, SUPERVISOR.key_id)


async def test_another_contracts_complaint_is_as_unknown_to_the_author(service, harness):
    cid = await _complaint(harness)  # the default contract
    scoped = SUPERVISOR.model_copy(update={"contracts": frozenset({"acme"})})
    with pytest.raises(ComplaintNotFound):
        await service.act(cid, c.parse_action("note", {"text": "x"}, scoped), scoped)
    assert _notes(harness, cid) == []


async def test_each_action_is_recorded_with_its_author_and_key(service, harness):
    cid = await _complaint(harness)
    await service.act(cid, c.parse_action("request-info", {"question": "Which model?"}, CHEN), CHEN)
    customer = Author.customer()
    reply = c.parse_action("customer-reply", {"message": "The X2"}, customer)
    await service.act(cid, reply, customer)
    events = {e.type: e for e in harness.events(cid)}
    asked, replied = events["InformationRequested"], events["CustomerReplied"]
    assert (asked.by, asked.by_key) == ("agent.chen", "ck-00000000c4e0")
    assert (replied.by, replied.by_key) == ("customer", None)


def test_an_author_named_in_the_fields_is_refused():
    with pytest.raises(Exception) as refused:
        c.parse_action("note", {"by": "supervisor.li", "text": "Approved"}, CHEN)
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == (("by",), c.AUTHOR_RULE)


@pytest.fixture
def cli_env(harness, tmp_path, monkeypatch):
    values = {
        "CONTRACTS": str(EXAMPLE),
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


async def test_the_cli_records_its_operator(
    harness,
    cli_env,
    monkeypatch,
    capsys,
    logging_as_it_was,  # noqa: F811
):
    service = ComplaintService(harness.client, harness.task_queue, BOOK, harness.store)
    cid = (await service.submit(outage("acme"), scope="cli")).state.complaint_id
    harness.started.append(harness.client.get_workflow_handle(cid))
    monkeypatch.setenv("LOGNAME", "ops.login")  # getpass reads it first
    monkeypatch.setenv("USER", "ops.login")

    await asyncio.to_thread(main, ["act", "--as", "ops.li", cid, "note", "text=checked"])
    await asyncio.to_thread(main, ["act", cid, "note", "text=checked again"])
    notes = [e for e in harness.events(cid) if e.type == "NoteAdded"]
    assert [(n.by, n.by_key) for n in notes] == [("ops.li", None), ("ops.login", None)]

    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(main, ["act", cid, "note", "by=supervisor.li", "text=forged"])
    assert exited.value.code == 2
    assert "by: the author of an action is whoever holds the key" in capsys.readouterr().err
    assert len([e for e in harness.events(cid) if e.type == "NoteAdded"]) == 2
