"""Complaints under equal terms hold one policy object (workflows.shared_policies): the SDK keeps
each cached complaint's input decoded, so a policy per complaint was most of its memory."""

from __future__ import annotations

import gc

from tests.keys import CONVERTER
from tests.unit.helpers import POLICY, registration
from workflows.complaint import ComplaintInput


def decoded(inp: ComplaintInput) -> ComplaintInput:
    """`inp` as the worker gets it: through the data converter, as a workflow's input."""
    payload = CONVERTER.payload_converter.to_payloads([inp])
    return CONVERTER.payload_converter.from_payloads(payload, [ComplaintInput])[0]


def test_complaints_under_equal_terms_hold_one_policy():
    first = decoded(ComplaintInput(policy=POLICY, registration=registration(cid="C-1")))
    second = decoded(ComplaintInput(policy=POLICY, registration=registration(cid="C-2")))

    assert first.policy is second.policy
    assert first.policy == POLICY


def test_other_terms_are_another_policy():
    longer = POLICY.model_copy(update={"reopen_window": "14d"})
    first = decoded(ComplaintInput(policy=POLICY, registration=registration(cid="C-1")))
    other = decoded(ComplaintInput(policy=longer, registration=registration(cid="C-2")))

    assert other.policy is not first.policy
    assert other.policy.reopen_window == "14d"
    assert first.policy.reopen_window == "7d"


def test_terms_no_complaint_holds_are_let_go():
    from workflows import shared_policies

    rare = POLICY.model_copy(update={"confirmation_window": "2d3h"})  # no other test's terms
    inp = decoded(ComplaintInput(policy=rare, registration=registration()))
    key = inp.policy.model_dump_json()
    assert key in shared_policies._policies

    del inp, rare
    gc.collect()

    assert key not in shared_policies._policies
