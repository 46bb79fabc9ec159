"""Inputs and outputs of the activities: shared by the workflow (which must not import the
activity implementations and their database libraries) and the activities themselves."""

from pydantic import BaseModel, ConfigDict

from domain.events import Event


class StampedEvent(BaseModel):
    """A domain event with the id the workflow made for it (`workflow.uuid4()`), so a retried
    append recognises events it already stored."""

    model_config = ConfigDict(frozen=True)
    event_id: str
    event: Event


class AppendRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    stream_id: str
    expected_version: int
    events: list[StampedEvent]
    # The complaint's tier when it decided, for the worker's metrics only (engine.metrics); None
    # in appends scheduled before the workflow sent it. Not a decision: replay ignores it.
    tier: int | None = None


class AppendOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)
    version: int
    written: int
    # What the stream holds past the expected version when it is not exactly this request: an
    # earlier attempt of the decision, lost with its workflow task and made again later, had
    # committed its own events (a local activity's input is not in history). The workflow adopts
    # them, since they are the record. Empty when the request was written (or written before).
    adopted: list[StampedEvent] = []


class TeamLoadRequest(BaseModel):
    """The team a new complaint is routed to (activities.assignment.team_load)."""

    model_config = ConfigDict(frozen=True)
    contract: str | None
    team: str
    members: list[str]
