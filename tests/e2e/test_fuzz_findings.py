"""Every request a fuzzing campaign (`make fuzz`, tests/e2e/test_fuzz.py) found answered wrongly,
kept as an explicit request with the answer it must get, over real HTTP against the e2e stack.

A campaign draws new cases each run, so a finding it made once may never be drawn again: here
it is asked every run. Add each new finding (with its seed, or where it was found) to FINDINGS.
Findings kept in other files: a phone of punctuation only (test_bad_input), a repeated query
parameter (test_roles), a malformed cursor (test_hardening)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Stack, form

# (method, path, query, JSON body) -> (status, [(field, rule)]); "{cid}": an existing complaint.
FINDINGS = {
    # The first `make fuzz` campaign (before it printed its seed): a parameter with no name
    # was ignored, and the list answered 200 for everything.
    "query parameter with an empty name": (
        ("GET", "/api/complaints", {"": "0"}, None),
        (422, [("(empty name)", "extra_forbidden")]),
    ),
    "misspelt filter": (
        ("GET", "/api/complaints", {"teem": "quality"}, None),
        (422, [("teem", "extra_forbidden")]),
    ),
    "query parameter on an operation that takes none": (
        ("GET", "/api/complaints/{cid}", {"x": "1"}, None),
        (422, [("x", "extra_forbidden")]),
    ),
    # issue 14 (make test on a fresh machine, before the fuzz test was derandomized).
    "control characters in the team filter": (
        ("GET", "/api/complaints", {"team": "\x1f\x1f"}, None),
        (422, [("team", "string_pattern_mismatch")]),
    ),
    "a line break in the assignee filter": (
        ("GET", "/api/complaints", {"assignee": "ann\n"}, None),
        (422, [("assignee", "string_pattern_mismatch")]),
    ),
    # d0fd5e2: a trailing form feed (whitespace to str.strip) was stripped and accepted.
    "trailing form feed in a subject": (
        ("POST", "/api/complaints", {}, form(subject="Charger\x0c")),
        (422, [("subject", "value_error")]),
    ),
    # b8346f8: a DEL in a text.
    "DEL in a note": (
        ("POST", "/api/complaints/{cid}/actions/note", {}, {"text": "a\x7fb"}),
        (422, [("text", "value_error")]),
    ),
    # 68436c2: a contract the deployment does not serve.
    "unknown contract": (
        ("POST", "/api/complaints", {}, form(contract="lg")),
        (422, [("contract", "unknown_contract")]),
    ),
    # 92ec17c: a repeated ?contract on the archive of sent reports.
    "repeated contract on /reports/sent": (
        ("GET", "/reports/sent", {"contract": ["a", "b"]}, None),
        (422, [("contract", "repeated")]),
    ),
    # make fuzz, seed 486463443: the default range before `to` fell off the calendar (500).
    "a report's day before the calendar's reach": (
        ("GET", "/api/reports/sla", {"to": "0001-01-01"}, None),
        (422, [("to", "out_of_range")]),
    ),
    "the deadline ledger's day before the calendar's reach": (
        ("GET", "/api/reports/deadlines", {"to": "0001-01-01"}, None),
        (422, [("to", "out_of_range")]),
    ),
    "a report's last day at the calendar's end": (
        ("GET", "/api/reports/sla", {"from": "9999-12-25", "to": "9999-12-31"}, None),
        (422, [("from", "out_of_range"), ("to", "out_of_range")]),
    ),
    # make fuzz, seed 2243397643: a NEL (U+0085) is a space to the server's pattern and was
    # none to the schema's; the pattern now lists its spaces, so both refuse it.
    "NEL in an e-mail address": (
        ("POST", "/api/complaints", {}, form(customer={"name": "Li", "email": "li\x85@ex.com"})),
        (422, [("customer.email", "string_pattern_mismatch")]),
    ),
    # make fuzz, seed 1587883929: lax pydantic read 1 as true.
    "a number for urgent": (
        ("POST", "/api/complaints", {}, form(urgent=1)),
        (422, [("urgent", "bool_type")]),
    ),
    # 52f1723: a number read as a Unix time.
    "a report's day given as a number": (
        ("GET", "/api/reports/sla", {"from": "1700000000", "to": "2024-03-24"}, None),
        (422, [("from", "value_error")]),
    ),
}


# make fuzz, seed 542625902: an operation of the schema outside /api answered a missing key
# with the sign-in page, where the schema documents a JSON error.
async def test_a_refusal_by_an_operation_outside_api_is_the_documented_json(stack: Stack):
    async with httpx.AsyncClient(base_url=stack.url, timeout=20) as anonymous:
        answer = await anonymous.get("/reports/sent")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert answer.headers["content-type"] == "application/json"
    assert [(d["field"], d["rule"]) for d in answer.json()["detail"]] == [
        ("Authorization", "missing")
    ]


@pytest.mark.parametrize("finding", FINDINGS)
async def test_a_finding_of_the_fuzzing_is_answered_by_its_rule(stack: Stack, finding: str):
    (method, path, query, body), (status, fields_and_rules) = FINDINGS[finding]
    if "{cid}" in path:
        path = path.format(cid=(await stack.submit()).json()["id"])
    before = stack.event_count()
    answer = await stack.http.request(method, path, params=query, json=body)
    assert answer.status_code == status, answer.text
    assert [(d["field"], d["rule"]) for d in answer.json()["detail"]] == fields_and_rules
    assert stack.event_count() == before
