"""The supervisors' away marks as every new complaint's assignment reads them (store.presence)."""

from datetime import UTC, date, datetime

from sqlalchemy import Engine

from domain.presence import AwayCancelled, AwayMarked, AwayPeriod
from store import EventStore, migrate
from store.presence import PresenceLog

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
MONDAY, FRIDAY = date(2025, 3, 3), date(2025, 3, 7)


def mark(person: str) -> AwayMarked:
    return AwayMarked(at=NOW, person=person, start=MONDAY, end=FRIDAY, by="sup.liu")


def test_a_reader_sees_every_mark_made_since_it_last_read_also_through_another_log(
    engine: Engine,
) -> None:
    """The assignment's reader keeps the standing periods between registrations; a mark made
    since (by the API, another process in production) is never missed."""
    migrate(engine)
    store = EventStore(engine)
    reader, supervisors = PresenceLog(store), PresenceLog(store)
    assert reader.periods("acme") == []

    supervisors.record("acme", lambda _standing: mark("agent.chen"))
    chen = AwayPeriod(person="agent.chen", start=MONDAY, end=FRIDAY)
    assert reader.periods("acme") == [chen]
    assert reader.periods("acme") == [chen]  # read again without a new mark

    supervisors.record("acme", lambda _standing: mark("agent.wang"))
    supervisors.record(
        "acme", lambda _standing: AwayCancelled(at=NOW, person="agent.chen", start=MONDAY, by="x")
    )
    assert reader.periods("acme") == [AwayPeriod(person="agent.wang", start=MONDAY, end=FRIDAY)]
    assert reader.periods(None) == []  # each contract its own stream


def test_what_a_caller_does_to_the_periods_it_got_does_not_change_the_next_answer(
    engine: Engine,
) -> None:
    migrate(engine)
    store = EventStore(engine)
    log = PresenceLog(store)
    log.record(None, lambda _standing: mark("agent.chen"))
    log.periods(None).clear()
    assert len(log.periods(None)) == 1
