"""How the fault tests drive complaints: through engine.service.ComplaintService, as the API and
the CLI do, with fictional customers."""

from __future__ import annotations

import asyncio
import uuid

from domain import commands as c
from domain.events import CustomerDetails
from engine.service import ComplaintService
from tests.chaos.conftest import policy_toml

# Fictional; and the tests never log it.
CUSTOMER = CustomerDetails(name="Test Customer", email="customer@example.com")
FIRE = c.Submission(
    channel="web",
    subject="Kettle",
    description="The kettle caught fire",  # the policy's safety rule: tier 3
    customer=CUSTOMER,
)
RESPOND = c.Respond(by="agent.chen", message="Calling you now")
RESOLVE = c.Resolve(by="agent.chen", resolution="Replacement sent")

# One path for every complaint, whatever a fault delays: the first-response deadline (0 s) is
# breached and escalated within registration itself, and the other deadlines are out of reach
# during a test. An agent responds and resolves; with no feedback the clock closes the complaint
# 3 s after resolution and archives it 6 s after (the end of the reopen window).
PATH_POLICY = policy_toml(
    tier3={
        "acknowledge": "0m",
        "first_response": "0s",
        "initial_solution": "1h",
        "resolution": "1h",
    },
    confirmation_window="3s",
    reopen_window="6s",
)
PATH_ACTIONS = [RESPOND, RESOLVE]


async def submit(service: ComplaintService, key: str) -> str:
    """Submit, and again under the same idempotency key until the complaint is registered (no
    worker, or no database, delays it): intake makes one complaint of them all."""
    while True:
        try:
            intake = await service.submit(FIRE, key, scope="chaos")
        except TimeoutError:
            continue  # the server did not answer in time; the key finds what it started
        if intake.registered:
            return intake.state.complaint_id
        # Accepted (the API's 202): its workflow runs, its first append is still to come.


async def take_path(service: ComplaintService, key: str, intake: asyncio.Semaphore) -> str:
    """One complaint along the path of PATH_POLICY; returns its id once it is resolved."""
    # A submission polls until registered; hundreds at once would spend the server on queries.
    async with intake:
        cid = await submit(service, key)
    # Updates survive a dead worker: the client repeats the request under the same update id,
    # so an action is applied once however often it is sent.
    for action in PATH_ACTIONS:
        await service.act(cid, action)
    return cid


def take_paths(service: ComplaintService, count: int, concurrency: int) -> list[asyncio.Task]:
    """`count` complaints set on the path at once, at most `concurrency` of them in intake."""
    run = uuid.uuid4().hex[:8]
    intake = asyncio.Semaphore(concurrency)
    return [asyncio.create_task(take_path(service, f"{run}-{i}", intake)) for i in range(count)]
