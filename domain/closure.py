"""The closure record: what auditors read years later, built from the complaint's whole stream.

It holds the timeline (who did what, when), every deadline met or breached, the escalations,
the resolution and the customer's satisfaction. Who the customer was is under the record's
`customer` key (events.PERSONAL_FIELD) and nowhere else in it, so the store can seal it with the
customer's key, and erasing the customer erases it from the record too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain import events as ev
from domain.state import fold
from domain.vocabulary import CUSTOMER, DEFAULT_CONTRACT

_NARRATIVE = {  # the text an event carries, for the timeline
    "FirstResponseGiven": "message",
    "InitialSolutionGiven": "solution",
    "InformationRequested": "question",
    "CustomerReplied": "message",
    "CustomerWrote": "message",
    "ComplaintResolved": "resolution",
    "ComplaintReopened": "reason",
    "ComplaintReclassified": "reason",
    "NoteAdded": "text",
    "CustomerMessageUndelivered": "reason",
}


def _timeline_entry(event: ev.Event) -> dict[str, Any]:
    entry: dict[str, Any] = {"at": event.at.isoformat(), "event": event.type}
    if by := getattr(event, "by", None):
        entry["by"] = by
    if field := _NARRATIVE.get(event.type):
        entry["text"] = getattr(event, field)
    return entry


def _customer_messages(events: Sequence[ev.Event]) -> list[dict[str, Any]]:
    """Every message to the customer, in the words sent, with what became of it: the proof
    that the loop was closed (or where it was not)."""
    outcomes: dict[str, dict[str, Any]] = {}
    for e in events:
        if isinstance(e, ev.CustomerMessageDelivered):
            outcomes[e.key] = {"delivered_at": e.at.isoformat(), "channels": e.channels}
        elif isinstance(e, ev.CustomerMessageUndelivered):
            outcomes[e.key] = {"undelivered_at": e.at.isoformat(), "reason": e.reason}
    return [
        {
            "at": e.at.isoformat(),
            "kind": e.kind,
            "text": e.details.get("text"),
            **outcomes.get(e.key, {"outcome": "not reported"}),
        }
        for e in events
        if isinstance(e, ev.NotificationRequested) and e.recipient == CUSTOMER
    ]


def closure_record(events: Sequence[ev.Event]) -> dict[str, Any]:
    state = fold(events)
    registered = next(e for e in events if isinstance(e, ev.ComplaintRegistered))
    resolutions = [e for e in events if isinstance(e, ev.ComplaintResolved)]
    feedback = [e for e in events if isinstance(e, ev.FeedbackRecorded)]
    closed = [e for e in events if isinstance(e, ev.ComplaintClosed)]
    return {
        "complaint_id": state.complaint_id,
        # Which terms governed it at the end (the amendments below name any earlier ones): an
        # auditor finds each version in the contract's history.
        "contract": state.contract or DEFAULT_CONTRACT,
        "policy_version": state.policy_version,
        ev.PERSONAL_FIELD: registered.customer.model_dump(mode="json"),
        "channel": state.channel.value,
        "subject": registered.subject,
        "category": state.category,
        "tier": state.tier,
        "classified_by_rule": state.classified_by_rule,
        "team": state.team,
        "assignee": state.assignee,
        "received_at": state.received_at.isoformat(),
        "registered_at": state.registered_at.isoformat(),
        "closed_at": closed[-1].at.isoformat() if closed else None,
        "closed_because": closed[-1].reason if closed else None,
        "rounds": state.round,
        "resolution": resolutions[-1].resolution if resolutions else None,
        "satisfaction": (
            {"rating": feedback[-1].rating, "comment": feedback[-1].comment} if feedback else None
        ),
        "deadlines": [d.model_dump(mode="json") for d in state.deadlines],
        "breaches": sum(1 for e in events if isinstance(e, ev.Breach)),
        "escalations": [
            {"at": e.at.isoformat(), "level": e.level, "to": e.to_role, "reason": e.reason}
            for e in events
            if isinstance(e, ev.ComplaintEscalated)
        ],
        # New terms that reached it while it ran, and the deadlines each moved.
        "amendments": [
            e.model_dump(mode="json", exclude={"type"})
            for e in events
            if isinstance(e, ev.PolicyAmended)
        ],
        "pauses": [p.model_dump(mode="json") for p in state.pauses],
        "notifications": [
            {"key": e.key, "kind": e.kind, "recipient": e.recipient, "at": e.at.isoformat()}
            for e in events
            if isinstance(e, ev.NotificationRequested)
        ],
        "customer_messages": _customer_messages(events),
        "timeline": [
            _timeline_entry(e) for e in events if not isinstance(e, ev.NotificationRequested)
        ],
        "event_count": len(events),
    }
