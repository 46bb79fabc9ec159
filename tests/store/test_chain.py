# ruff: noqa: F811  (pytest fixtures imported from other suites are used as arguments)
"""The hash chain on SQLite and PostgreSQL: every append chains its events (both append paths),
the closure record chains to its stream's last event, and store.verify proves the log or names
the first link broken by a hand edit. Erasure leaves the chain whole."""

from sqlalchemy import Engine, text

from store import EventStore
from store.chain import event_hash
from store.erasure import erase_customer
from store.verify import verify
from tests.keys import VAULT
from tests.security.conftest import SECRET, file_complaint
from tests.store.builders import new_events
from tests.store.conftest import engine, store  # noqa: F401  (fixtures)


def run_sql(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement))


def test_an_untouched_log_is_proved(store: EventStore, engine: Engine) -> None:
    store.append("complaint-1", 0, new_events(2))
    store.append("complaint-1", 2, new_events(3))
    store.append("complaint-2", 0, new_events(1))
    file_complaint(store, "C-CH1", archive=True)

    proof = verify(engine)

    assert proof.broken is None
    assert (proof.streams, proof.closure_records) == (3, 1)
    assert proof.events == 6 + store.stream_version("C-CH1")
    assert proof.unchained == 0


def test_a_store_with_a_stale_idea_of_the_head_still_chains(
    store: EventStore, engine: Engine
) -> None:
    other = EventStore(engine, VAULT)  # a second worker, appending to the same stream
    store.append("complaint-1", 0, new_events(1))
    other.append("complaint-1", 1, new_events(1))
    store.append("complaint-1", 2, new_events(1))
    other.append("complaint-1", 3, new_events(1))

    assert verify(engine).broken is None


def test_data_edited_by_hand_is_the_first_broken_link(store: EventStore, engine: Engine) -> None:
    store.append("complaint-1", 0, new_events(3))
    run_sql(
        engine,
        """UPDATE events SET data = '{"n": 99}'
           WHERE stream_id = 'complaint-1' AND version = 2""",
    )

    broken = verify(engine).broken

    assert broken is not None
    assert (broken.stream_id, broken.version) == ("complaint-1", 2)
    assert "stored hash" in broken.what


def test_an_edit_rehashed_by_hand_breaks_the_next_link(store: EventStore, engine: Engine) -> None:
    store.append("complaint-1", 0, new_events(3))
    (first, second, _) = store.read_stream("complaint-1")
    with engine.connect() as connection:
        first_hash = connection.scalar(text("SELECT hash FROM events WHERE version = 1"))
    forged = event_hash(
        first_hash,
        event_id=second.event_id,
        stream_id="complaint-1",
        version=2,
        type_=second.type,
        data={"n": 99},
        occurred_at=second.occurred_at,
    )
    # Whoever edits an event and rehashes it still leaves the next one chained to the old hash.
    run_sql(
        engine, f"""UPDATE events SET data = '{{"n": 99}}', hash = '{forged}' WHERE version = 2"""
    )

    broken = verify(engine).broken

    assert broken is not None and broken.version == 3


def test_a_deleted_event_is_a_gap(store: EventStore, engine: Engine) -> None:
    store.append("complaint-1", 0, new_events(3))
    run_sql(engine, "DELETE FROM events WHERE version = 2")

    broken = verify(engine).broken

    assert broken is not None and broken.version == 3 and "missing" in broken.what


def test_a_closure_record_edited_by_hand_is_reported(store: EventStore, engine: Engine) -> None:
    file_complaint(store, "C-CH2", archive=True)
    run_sql(engine, 'UPDATE closure_records SET record = \'{"resolution": "none"}\'')

    broken = verify(engine).broken

    assert broken is not None
    assert (broken.stream_id, broken.version) == ("C-CH2", None)
    assert "record" in broken.what


def test_an_erased_customers_stream_still_verifies(store: EventStore, engine: Engine) -> None:
    file_complaint(store, "C-CH3", archive=True)

    erase_customer(store, VAULT, email=SECRET.email, by="dpo.wu")

    proof = verify(engine)
    assert proof.broken is None
    assert proof.streams == 2  # the complaint and the erasures stream
    assert proof.closure_records == 1


def test_the_chain_starts_after_events_appended_before_it(
    store: EventStore, engine: Engine
) -> None:
    store.append("complaint-1", 0, new_events(2))
    run_sql(engine, "UPDATE events SET hash = NULL")  # as migration 0012 finds them
    store.append("complaint-1", 2, new_events(2))

    proof = verify(engine)

    assert proof.broken is None
    assert (proof.unchained, proof.events) == (2, 2)


def test_a_hash_removed_after_the_chain_began_is_reported(
    store: EventStore, engine: Engine
) -> None:
    store.append("complaint-1", 0, new_events(3))
    run_sql(engine, "UPDATE events SET hash = NULL WHERE version = 3")

    broken = verify(engine).broken

    assert broken is not None and broken.version == 3 and "no hash" in broken.what


def test_progress_is_reported_on_long_walks(store: EventStore, engine: Engine, monkeypatch) -> None:
    monkeypatch.setattr("store.verify.PROGRESS_EVERY", 2)
    store.append("complaint-1", 0, new_events(5))
    seen: list[int] = []

    verify(engine, progress=lambda proof: seen.append(proof.events))

    assert seen == [2, 4]
