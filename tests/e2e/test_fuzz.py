"""Fuzz the HTTP API from its own OpenAPI schema (schemathesis + hypothesis), over real HTTP
against the e2e stack, signed in as admin so requests reach past the keys.

For every operation, valid and invalid requests (schemathesis' positive and negative modes):
no 5xx, answers conform to the schema, the API refuses what the schema forbids, and every
refused request (4xx) writes no event. Half the valid requests aim at complaints that exist, so
actions get past "unknown complaint" into the domain's own rules.

In `make test` the cases are the same every run (derandomized): the suite passes or fails for
a reason, and every case a campaign ever found is kept as an explicit request in
tests/e2e/test_fuzz_findings.py. `make fuzz` is the campaign: COMPLAINTS_FUZZ_SEED picks new
cases (the seed is printed, so a finding can be replayed: `make fuzz SEED=<seed>`), and
COMPLAINTS_FUZZ_EXAMPLES sets how many per operation and mode.

The fuzzing runs in a thread: the server lives in this test's event loop, which must keep
serving while the thread waits on its answers. Figures are printed (pytest -s), never asserted.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Stack, bearer, form

# The campaign's seed (make fuzz); unset: derandomized, the same cases every run.
SEED = int(os.environ["COMPLAINTS_FUZZ_SEED"]) if os.environ.get("COMPLAINTS_FUZZ_SEED") else None
# Per operation and mode; ~20 operations x 2 modes at 15 keeps `make test`'s run near 30 s.
EXAMPLES = int(os.environ.get("COMPLAINTS_FUZZ_EXAMPLES") or 15)


# unknown_value: a category the complaint's contract lacks (each contract has its own). A
# spot-check's items and scale are its contract's checklist, and only a closed complaint is
# reviewed: data and state, which no schema states (domain.qa). An away period: who is in a
# team is data, today moves, and an end before the start is a relation between two fields.
# out_of_range: a report's day beyond what its arithmetic reaches (a date format has no range).
UNSTATED_RULES = ("invalid", "unknown_contract", "retired_contract", "unknown_value",
                  "unknown_item", "missing_item", "out_of_scale", "not_closed",
                  "unknown_person", "ended_in_past", "ends_before_start",
                  "out_of_range")  # fmt: skip


def refused(ctx, response, case):
    """schemathesis' negative_data_rejection, also counting 413 (body over 64 KiB) as a refusal:
    the body limit answers before anything parses the body."""
    if response.status_code == 413 or _negation_never_sent(response, case):
        return None
    return negative_data_rejection(ctx, response, case)


def _negation_never_sent(response, case) -> bool:
    """A case made invalid only by an extra query parameter whose value serializes to nothing
    (`{"": []}`: an empty list sends no parameter) and by dropping the Authorization header (the
    key this test sends puts it back): the server got a valid request, and answered it
    (make fuzz, seed 2243397643)."""
    mutations = getattr(case.meta.phase.data, "mutations", ()) if case.meta else ()
    only_extras = mutations and all(
        m.parameter_location.value == "header"
        or (m.parameter_location.value == "query" and m.keywords == ("additionalProperties",))
        for m in mutations
    )
    sent = parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)
    lost = [k for k in case.query or {} if k not in sent]
    return bool(only_extras and lost) and all(case.query[k] in ([], None) for k in lost)


def accepted(ctx, response, case):
    """schemathesis' positive_data_acceptance, except for a 422 by rules the schema cannot
    state: rule "invalid" (a cursor the server never issued, a period that ends before it
    starts), a contract the deployment does not serve (which ones it serves is data, not
    schema), a report's day out of range, or a text of only spaces (the domain strips them,
    then finds it empty). Refusals by any rule the schema states still fail the check."""
    if response.status_code == 422:
        detail = response.json().get("detail") or [{}]
        if all(d.get("rule") in UNSTATED_RULES or _blank(case, d) for d in detail):
            return None
    return positive_data_acceptance(ctx, response, case)


def _blank(case, detail: dict) -> bool:
    if detail.get("rule") != "string_too_short":
        return False
    value = case.body
    for part in detail.get("field", "").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return isinstance(value, str) and not value.strip()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    refused,
    accepted,
    ignored_auth,
]


def fuzz(stack: Stack, complaint_ids: list[str]) -> tuple[Counter, list[str]]:
    """Blocking: every operation of the schema, both modes. Returns the answers by status and
    the operations no request can be invalid for."""
    schema = schemathesis.openapi.from_url(f"{stack.url}/openapi.json")
    headers = bearer(stack.keys["admin"])
    statuses: Counter = Counter()
    no_invalid_form: list[str] = []
    last_position = [_position(stack)]

    def one(case) -> None:
        response = case.call(headers=headers, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)
        written = stack.store.read_all(after_position=last_position[0], limit=1000)
        if written:
            last_position[0] = written[-1].position
        if response.status_code >= 400:
            assert not written, (
                f"{case.method} {case.path} answered {response.status_code} "
                f"but wrote {[e.type for e in written]}"
            )

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases = st.tuples(
                operation.as_strategy(generation_mode=mode),
                st.sampled_from(complaint_ids),
                st.booleans(),
            ).map(lambda t, mode=mode: _aimed(*t, mode))

            @settings(
                max_examples=EXAMPLES,
                derandomize=SEED is None,  # the same cases every run: it fails for a reason
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @seed(SEED)
            @given(case=cases)
            def run(case) -> None:
                one(case)

            try:
                run()
            except Unsatisfiable:
                # Nothing in the request can be wrong (no parameters, no body): no negative case.
                assert mode is GenerationMode.NEGATIVE, operation.label
                no_invalid_form.append(operation.label)
    return statuses, no_invalid_form


def _aimed(case, complaint_id: str, aim: bool, mode: GenerationMode):
    if mode is GenerationMode.NEGATIVE:
        return case  # its id may be the invalid part: keep it
    if aim and case.path_parameters and "complaint_id" in case.path_parameters:
        case.path_parameters["complaint_id"] = complaint_id
    return case


def _position(stack: Stack) -> int:
    everything = stack.store.read_all(limit=1_000_000)
    return everything[-1].position if everything else 0


async def test_the_api_survives_fuzzing_from_its_schema(stack: Stack):
    ids = []
    for body in (form(), form(description="My parcel is late"), form(subject="How to")):
        response = await stack.submit(body)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    before = stack.event_count()
    # Before the run, so a failing campaign's seed is in the output too.
    print(f"\nschemathesis: {'seed ' + str(SEED) if SEED is not None else 'derandomized'}")
    started = time.monotonic()
    statuses, no_invalid_form = await asyncio.to_thread(fuzz, stack, ids)
    elapsed = time.monotonic() - started
    # Whatever the fuzzer made is this session's to clean up.
    for item in stack.store.read_all(limit=1_000_000):
        if item.type == "ComplaintRegistered":
            stack.complaint_ids.add(item.stream_id)
    how = f"random, seed {SEED}" if SEED is not None else "derandomized"
    print(
        f"schemathesis ({how}, {EXAMPLES} examples per operation and mode): "
        f"{sum(statuses.values())} requests in {elapsed:.1f} s; "
        f"by status {dict(sorted(statuses.items()))}; "
        f"{stack.event_count() - before} events written; "
        f"no invalid request possible for {no_invalid_form}"
    )
    assert sum(statuses.values()) > 0
    assert not any(code >= 500 for code in statuses)
