"""Histories of the main paths, recorded from real runs and checked in, replayed on every run:
a workflow change that would break complaints already running fails here first.

Record with COMPLAINTS_RECORD_HISTORIES=1 make test. After a change of decisions (gated by
workflow.patched), record under new names (keep_history's name) and keep the older files: they
are the complaints still running.
"""

import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from engine.worker_assembly import WORKFLOWS
from security.codec import REFUSED
from tests.keys import CONVERTER, MIGRATION_CONVERTER
from tests.workflows.conftest import HISTORIES
from workflows.complaint import CONTRACT_CALENDARS, LOCAL_APPENDS_AND_LOAD

RECORDED = sorted(HISTORIES.glob("*.json"))
# Recorded before payloads were encrypted: they replay, as such complaints still running do in
# production, only with the migration setting COMPLAINTS_ACCEPT_PLAINTEXT_PAYLOADS on.
RECORDED_IN_CLEAR = {
    "tier3_left_alone",
    "tier3_answered_in_time",
    "paused_and_resumed",
    "reclassified_1_to_3",
    "reopened",
    "auto_closed",
    "tier3_left_alone_with_warnings",
}


def converter_for(path):
    return MIGRATION_CONVERTER if path.stem in RECORDED_IN_CLEAR else CONVERTER


def test_the_main_paths_are_recorded():
    assert {p.stem for p in RECORDED} >= {
        "tier3_left_alone",
        "tier3_answered_in_time",
        "paused_and_resumed",
        "reclassified_1_to_3",
        "reopened",
        "auto_closed",
        "tier3_left_alone_with_warnings",
        # the closed loop with the customer, late warnings, a decision in one workflow task
        "tier3_left_alone_with_warnings_lean",
        "tier3_left_alone_customer_kept_informed_lean",
        "tier3_answered_in_time_lean",
        "paused_and_resumed_lean",
        "reclassified_1_to_3_lean",
        "reopened_lean",
        "auto_closed_lean",
        "closed_loop_no_reply_lean",
        "closed_loop_undelivered_lean",
        # new terms reached it while it ran (PolicyAmended), its timer moved with them
        "policy_amended_lean",
        "policy_amended_calendars",
        # business-hours tiers re-escalate in business time; quiet hours for staff
        "tier3_left_alone_with_warnings_calendars",
        "tier3_left_alone_customer_kept_informed_calendars",
        "tier3_answered_in_time_calendars",
        "paused_and_resumed_calendars",
        "reclassified_1_to_3_calendars",
        "reopened_calendars",
        "auto_closed_calendars",
        "closed_loop_no_reply_calendars",
        "closed_loop_undelivered_calendars",
        "tier1_overnight_calendars",
        # each decision's append a local activity (one workflow task per decision), and a new
        # complaint to the least loaded member present (one patch)
        "tier3_left_alone_with_warnings_by_load",
        "tier3_left_alone_customer_kept_informed_by_load",
        "tier3_answered_in_time_by_load",
        "paused_and_resumed_by_load",
        "reclassified_1_to_3_by_load",
        "reopened_by_load",
        "auto_closed_by_load",
        "closed_loop_no_reply_by_load",
        "closed_loop_undelivered_by_load",
        "tier1_overnight_by_load",
        "policy_amended_by_load",
        "assigned_to_lead_by_load",
        # the customer wrote while it was open, and nobody answered in time (no patch: histories
        # from before never hold such a message, the domain refused it then; and their policies
        # owe no answer time, so an answer to our question decides as it ran)
        "customer_wrote_unanswered_by_load",
        # ... and their answer to our question is owed an answer, whoever holds it told
        "paused_and_resumed_answer_owed_by_load",
        # a contract's report: before and after the per-recipient delivery record, a resend
        "report_sent",
        "report_partly_undelivered",
        "report_partly_undelivered_deliveries",
        "report_resent_deliveries",
    }


def patch_markers(path) -> list[str]:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    return [
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history.events
        if e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]


def test_a_new_complaint_records_only_the_newest_patch():
    newest = [p for p in RECORDED if p.stem.endswith("_by_load")]
    assert newest and all(patch_markers(p) == [LOCAL_APPENDS_AND_LOAD] for p in newest)
    calendars = [p for p in RECORDED if p.stem.endswith("_calendars")]
    assert calendars and all(patch_markers(p) == [CONTRACT_CALENDARS] for p in calendars)


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_recorded_history_replays(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter_for(path))
    await replayer.replay_workflow(history)


@pytest.mark.parametrize("stem", sorted(RECORDED_IN_CLEAR))
async def test_a_history_in_clear_is_refused_without_the_migration_setting(stem, caplog):
    path = HISTORIES / f"{stem}.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, Exception)
    assert REFUSED.decode() in caplog.text  # the worker's log names the setting


async def test_an_incompatible_change_is_caught():
    from temporalio.workflow import NondeterminismError

    from tests.workflows.incompatible_workflow import IncompatibleComplaintWorkflow

    path = HISTORIES / "tier3_answered_in_time.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[IncompatibleComplaintWorkflow], data_converter=converter_for(path)
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(history)
