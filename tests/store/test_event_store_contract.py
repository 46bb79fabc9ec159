"""What every EventStore backend must do, one caller at a time."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from store import AppendResult, ConcurrencyConflict, EventStore, event_store
from store.db import autocommit_engine
from tests.store.builders import OCCURRED_AT, new_event, new_events, outbox_message


def test_events_read_back_as_appended(store: EventStore) -> None:
    registered = new_event(
        "ComplaintRegistered",
        data={"channel": "phone", "category": "billing"},
        personal={"name": "Ada Lovelace", "phone": "+44 20 7946 0000"},
    )
    noted = new_event("NoteAdded")

    result = store.append("complaint-1", 0, [registered, noted])

    assert result == AppendResult(version=2, written=2)
    first, second = store.read_stream("complaint-1")
    assert [first.stream_id, second.stream_id] == ["complaint-1", "complaint-1"]
    assert [first.version, second.version] == [1, 2]
    assert [first.event_id, second.event_id] == [registered.event_id, noted.event_id]
    assert [first.type, second.type] == ["ComplaintRegistered", "NoteAdded"]
    assert first.data == {"channel": "phone", "category": "billing"}
    assert first.personal == {"name": "Ada Lovelace", "phone": "+44 20 7946 0000"}
    assert second.personal is None
    assert first.position < second.position
    assert first.occurred_at == OCCURRED_AT and first.occurred_at.tzinfo == UTC
    assert first.recorded_at.tzinfo == UTC
    assert abs(first.recorded_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_times_in_other_zones_come_back_as_the_same_instant_in_utc(store: EventStore) -> None:
    in_paris = datetime(2025, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))

    store.append("complaint-1", 0, [new_event(occurred_at=in_paris)])

    (event,) = store.read_stream("complaint-1")
    assert event.occurred_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert event.occurred_at.tzinfo == UTC


def test_naive_times_are_refused(store: EventStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.append("complaint-1", 0, [new_event(occurred_at=datetime(2025, 6, 1, 14, 0))])
    assert store.stream_version("complaint-1") == 0


def test_an_append_needs_events_with_distinct_ids(store: EventStore) -> None:
    with pytest.raises(ValueError, match="at least one event"):
        store.append("complaint-1", 0, [], closure_record={"outcome": "upheld"})
    event = new_event()
    with pytest.raises(ValueError, match="distinct ids"):
        store.append("complaint-1", 0, [event, event])


def test_versions_continue_from_the_expected_version(store: EventStore) -> None:
    store.append("complaint-1", 0, new_events(2))
    store.append("complaint-1", 2, new_events(1))
    result = store.append("complaint-1", 3, new_events(3))

    assert result == AppendResult(version=6, written=3)
    assert store.stream_version("complaint-1") == 6
    assert [event.version for event in store.read_stream("complaint-1")] == [1, 2, 3, 4, 5, 6]
    assert [event.version for event in store.read_stream("complaint-1", from_version=5)] == [5, 6]


def test_an_unknown_stream_is_empty(store: EventStore) -> None:
    assert store.stream_version("nothing-here") == 0
    assert store.read_stream("nothing-here") == []
    assert store.closure_record("nothing-here") is None
    assert store.outbox_for("nothing-here") == []


@pytest.mark.parametrize("expected_version", [0, 1, 5])
def test_appending_at_the_wrong_version_is_a_conflict(
    store: EventStore, expected_version: int
) -> None:
    store.append("complaint-1", 0, new_events(2))

    with pytest.raises(ConcurrencyConflict) as conflict:
        store.append("complaint-1", expected_version, new_events(1))

    assert conflict.value.stream_id == "complaint-1"
    assert conflict.value.expected_version == expected_version
    assert conflict.value.actual_version == 2
    assert str(conflict.value) == (f"stream 'complaint-1' is at version 2, not {expected_version}")
    assert store.stream_version("complaint-1") == 2


def test_repeating_a_committed_append_writes_nothing(store: EventStore) -> None:
    batch = new_events(3)
    store.append("complaint-1", 0, batch)

    assert store.append("complaint-1", 0, batch) == AppendResult(version=3, written=0)
    assert len(store.read_stream("complaint-1")) == 3
    assert len(store.read_all()) == 3


def test_a_repeat_is_recognised_after_the_stream_moved_on(store: EventStore) -> None:
    first_batch = new_events(2)
    store.append("complaint-1", 0, first_batch)
    store.append("complaint-1", 2, new_events(2))

    assert store.append("complaint-1", 0, first_batch) == AppendResult(version=4, written=0)
    assert len(store.read_all()) == 4


def test_a_partly_stored_batch_is_a_conflict(store: EventStore) -> None:
    first, second, third = new_events(3)
    store.append("complaint-1", 0, [first, second])

    with pytest.raises(ConcurrencyConflict, match="1 of the 2 events to append are already stored"):
        store.append("complaint-1", 2, [second, third])
    assert [event.event_id for event in store.read_all()] == [first.event_id, second.event_id]


def test_outbox_and_closure_record_are_written_with_the_events(store: EventStore) -> None:
    # Held for quiet hours: not to be sent before the opening.
    to_team_lead = dataclasses.replace(
        outbox_message("complaint-1", recipient="team_lead"),
        not_before=OCCURRED_AT + timedelta(hours=12),
    )
    to_customer = outbox_message("complaint-1", kind="closure_letter", recipient="customer")

    store.append(
        "complaint-1",
        0,
        new_events(1),
        outbox=[to_team_lead, to_customer],
        closure_record={"outcome": "upheld"},
    )

    assert store.outbox_for("complaint-1") == [to_team_lead, to_customer]
    assert store.pending_outbox() == [to_team_lead, to_customer]
    assert store.pending_outbox(limit=1) == [to_team_lead]
    assert store.closure_record("complaint-1") == {"outcome": "upheld"}


def test_a_repeated_append_adds_no_outbox_message_or_closure_record(store: EventStore) -> None:
    batch = new_events(2)
    message = outbox_message("complaint-1")
    store.append("complaint-1", 0, batch, outbox=[message], closure_record={"outcome": "upheld"})

    result = store.append(
        "complaint-1", 0, batch, outbox=[message], closure_record={"outcome": "rejected"}
    )

    assert result.written == 0
    assert store.outbox_for("complaint-1") == [message]
    assert store.closure_record("complaint-1") == {"outcome": "upheld"}


def test_an_outbox_message_already_queued_is_not_queued_again(store: EventStore) -> None:
    message = outbox_message("complaint-1")
    store.append("complaint-1", 0, new_events(1), outbox=[message])
    store.append("complaint-1", 1, new_events(1), outbox=[message])

    assert store.outbox_for("complaint-1") == [message]


def test_the_first_closure_record_stands(store: EventStore) -> None:
    store.append("complaint-1", 0, new_events(1), closure_record={"outcome": "upheld"})
    store.append("complaint-1", 1, new_events(1), closure_record={"outcome": "rejected"})

    assert store.closure_record("complaint-1") == {"outcome": "upheld"}
    assert store.stream_version("complaint-1") == 2


def test_a_conflicting_append_writes_no_outbox_message_or_closure_record(
    store: EventStore,
) -> None:
    store.append("complaint-1", 0, new_events(1))

    with pytest.raises(ConcurrencyConflict):
        store.append(
            "complaint-1",
            0,
            new_events(1),
            outbox=[outbox_message("complaint-1")],
            closure_record={"outcome": "upheld"},
        )

    assert store.outbox_for("complaint-1") == []
    assert store.closure_record("complaint-1") is None


def test_an_append_failing_half_way_leaves_nothing_behind(store: EventStore) -> None:
    borrowed = new_event()
    store.append("complaint-2", 0, [borrowed])

    # Reusing another stream's event id only fails at the insert, after the checks.
    with pytest.raises(IntegrityError):
        store.append(
            "complaint-1",
            0,
            [new_event(), borrowed],
            outbox=[outbox_message("complaint-1")],
            closure_record={"outcome": "upheld"},
        )

    assert store.read_stream("complaint-1") == []
    assert store.outbox_for("complaint-1") == []
    assert store.closure_record("complaint-1") is None


def test_read_all_pages_through_every_stream_in_position_order(store: EventStore) -> None:
    for version in range(3):
        for stream_id in ("complaint-1", "complaint-2", "complaint-3"):
            store.append(stream_id, version, new_events(1))

    pages, checkpoint = [], 0
    while page := store.read_all(after_position=checkpoint, limit=4):
        pages.append(page)
        checkpoint = page[-1].position

    assert [len(page) for page in pages] == [4, 4, 1]
    events = [event for page in pages for event in page]
    assert [event.position for event in events] == sorted({event.position for event in events})
    assert [(event.stream_id, event.version) for event in events[:4]] == [
        ("complaint-1", 1),
        ("complaint-2", 1),
        ("complaint-3", 1),
        ("complaint-1", 2),
    ]


def miss_the_next_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next look for an earlier attempt see nothing, as if another append had slipped
    past the write lock and committed just after it, so that the insert hits the constraints."""
    real_check = event_store._earlier_outcome
    calls = 0

    def check(*args: Any) -> AppendResult | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else real_check(*args)

    monkeypatch.setattr(event_store, "_earlier_outcome", check)


def test_a_repeat_that_reaches_the_constraints_writes_nothing(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = new_events(2)
    store.append("complaint-1", 0, batch)
    miss_the_next_check(monkeypatch)

    assert store.append("complaint-1", 0, batch) == AppendResult(version=2, written=0)
    assert len(store.read_all()) == 2


def test_a_version_clash_that_reaches_the_constraints_is_a_conflict(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append("complaint-1", 0, new_events(1))
    miss_the_next_check(monkeypatch)

    with pytest.raises(ConcurrencyConflict) as conflict:
        store.append("complaint-1", 0, new_events(1))

    assert (conflict.value.expected_version, conflict.value.actual_version) == (0, 1)


def test_a_batch_clashing_in_the_middle_writes_none_of_it(store: EventStore) -> None:
    first, second = new_events(2)
    store.append("complaint-1", 0, [first, second])
    before, after = new_events(2)

    # Only the middle event is stored already, at another version: a retry can never complete
    # half a batch, nor write its outbox message.
    with pytest.raises(ConcurrencyConflict, match="1 of the 3 events to append are already stored"):
        store.append(
            "complaint-1", 2, [before, second, after], outbox=[outbox_message("complaint-1")]
        )

    assert [event.event_id for event in store.read_all()] == [first.event_id, second.event_id]
    assert store.outbox_for("complaint-1") == []


def test_an_append_ahead_of_the_stream_writes_nothing(store: EventStore) -> None:
    store.append("complaint-1", 0, new_events(2))

    with pytest.raises(ConcurrencyConflict) as conflict:
        store.append(
            "complaint-1",
            3,
            new_events(2),
            outbox=[outbox_message("complaint-1")],
            closure_record={"outcome": "upheld"},
        )

    assert (conflict.value.expected_version, conflict.value.actual_version) == (3, 2)
    assert store.stream_version("complaint-1") == 2
    assert store.outbox_for("complaint-1") == []
    assert store.closure_record("complaint-1") is None


def test_positions_follow_the_versions_of_a_batch(store: EventStore) -> None:
    store.append("complaint-1", 0, new_events(5))

    events = store.read_all()
    assert [event.version for event in events] == [1, 2, 3, 4, 5]
    assert [event.position for event in events] == sorted(event.position for event in events)


def test_personal_data_sealed_already_is_stored_as_it_comes(store: EventStore) -> None:
    sealed = store.seal_personal("complaint-1", {"name": "Ada Lovelace", "email": "ada@x.org"})
    registered = new_event("ComplaintRegistered", personal=sealed)

    store.append("complaint-1", 0, [registered], closure_record={"customer": sealed})

    (event,) = store.read_stream("complaint-1")
    assert event.personal == {"name": "Ada Lovelace", "email": "ada@x.org"}
    assert store.closure_record("complaint-1") == {
        "customer": {"name": "Ada Lovelace", "email": "ada@x.org"}
    }


def test_an_append_survives_a_connection_the_server_dropped(
    store: EventStore, engine: Engine
) -> None:
    """On PostgreSQL an append's statement runs on a pool whose connections are not pinged
    (store.db.autocommit_engine); one the server has dropped must not fail the append."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    store.append("complaint-1", 0, new_events(1))
    with autocommit_engine(engine).connect() as pooled:
        backend = pooled.scalar(select(func.pg_backend_pid()))
    with engine.begin() as connection:
        connection.execute(select(func.pg_terminate_backend(backend)))

    assert store.append("complaint-1", 1, new_events(2)) == AppendResult(version=3, written=2)
    assert store.append("complaint-1", 3, new_events(1)) == AppendResult(version=4, written=1)


def test_the_append_pool_closes_with_its_engine(store: EventStore, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL appends through a pool of their own")
    store.append("complaint-1", 0, new_events(1))
    assert autocommit_engine(engine).pool.checkedin() == 1

    engine.dispose()

    assert autocommit_engine(engine).pool.checkedin() == 0
