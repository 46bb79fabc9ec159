"""Browser sessions in the store (store.sessions), on SQLite and PostgreSQL: a session speaks for
its key until it expires or is ended, and the table holds only digests of the ids."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from store.sessions import Sessions
from store.tables import SessionRow

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=12)


def sessions_on(store) -> Sessions:
    return Sessions(store.engine, DAY)


def test_a_session_speaks_for_its_key_until_it_expires(store):
    sessions = sessions_on(store)
    session_id = sessions.open("ck-0123456789ab", NOW)
    assert sessions.key_of(session_id, NOW + DAY - timedelta(seconds=1)) == "ck-0123456789ab"
    assert sessions.key_of(session_id, NOW + DAY) is None
    assert sessions.key_of(session_id[:-1] + ("A" if session_id[-1] != "A" else "B"), NOW) is None


def test_ending_one_session_leaves_the_others(store):
    sessions = sessions_on(store)
    one, two = sessions.open("ck-0123456789ab", NOW), sessions.open("ck-0123456789ab", NOW)
    other = sessions.open("ck-ba9876543210", NOW)
    sessions.end(one)
    assert sessions.key_of(one, NOW) is None and sessions.key_of(two, NOW) == "ck-0123456789ab"
    assert sessions.end_all("ck-0123456789ab") == 1
    assert sessions.key_of(two, NOW) is None and sessions.key_of(other, NOW) == "ck-ba9876543210"


def test_anything_not_made_here_is_no_session_and_no_error(store):
    sessions = sessions_on(store)
    for junk in ("", "x", "é" * 43, "A" * 44, "' OR 1=1 --", "\x00" * 43):
        assert sessions.key_of(junk, NOW) is None
        sessions.end(junk)


def test_only_digests_are_stored_and_a_sign_in_sweeps_expired_rows(store):
    sessions = sessions_on(store)
    old = sessions.open("ck-0123456789ab", NOW - 2 * DAY)
    new = sessions.open("ck-0123456789ab", NOW)
    with store.engine.connect() as connection:
        digests = connection.execute(select(SessionRow.id_digest)).scalars().all()
    assert len(digests) == 1 and new not in digests and old not in digests
