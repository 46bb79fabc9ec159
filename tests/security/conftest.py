"""Stores on SQLite and PostgreSQL (the store suite's fixtures), a customer whose every detail is
easy to find in raw bytes, and a reader of a database's raw rows."""

from uuid import uuid4

from sqlalchemy import Engine, inspect, text
from temporalio.testing import ActivityEnvironment

from activities.events import EventActivities
from activities.models import AppendRequest, StampedEvent
from domain import commands as c
from domain.events import ComplaintArchived, CustomerDetails
from store import EventStore
from tests.delivery.conftest import record
from tests.store.conftest import engine, store  # noqa: F401  (fixtures)
from tests.unit.helpers import T0, Story, minutes, registration

SECRET = CustomerDetails(
    name="Zhang Weiming", email="Zhang.Weiming@example.org", phone="+86 139 5555 0101"
)
# Every form in which the customer's details could leak.
NEEDLES = (SECRET.name, "Weiming", SECRET.email, SECRET.email.lower(), SECRET.phone, "55550101")


def leaks(haystack: str | bytes) -> list[str]:
    """The customer's details found in `haystack`."""
    if isinstance(haystack, bytes):
        return [n for n in NEEDLES if n.encode() in haystack]
    return [n for n in NEEDLES if n in haystack]


def raw_rows(db: Engine) -> str:
    """Everything in every table of the database, as text."""
    parts = []
    with db.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            parts.append(f"{table}: {rows!r}")
    return "\n".join(parts)


def file_complaint(
    events: EventStore, cid: str, customer: CustomerDetails = SECRET, archive: bool = False
) -> Story:
    """A complaint registered (and resolved and archived, if asked) through the real activities,
    as the workflow writes it."""
    story = Story()
    story.when(registration(cid=cid).model_copy(update={"customer": customer}), T0)
    if not archive:
        record(events, story, cid)
        return story
    story.when(c.Respond(by="agent.chen", message="Calling you"), T0 + minutes(5))
    story.when(c.Resolve(by="agent.chen", resolution="Refunded"), T0 + minutes(20))
    story.when(c.RecordFeedback(rating=4, comment="ok"), T0 + minutes(30))
    done = record(events, story, cid)
    ActivityEnvironment().run(
        EventActivities(events).archive_complaint,
        AppendRequest(
            stream_id=cid,
            expected_version=done,
            events=[StampedEvent(event_id=str(uuid4()), event=ComplaintArchived(at=T0))],
        ),
    )
    return story
