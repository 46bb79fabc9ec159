"""The intake key table: a key belongs to the caller that sent it, one complaint per key and
caller, decided atomically (store.intake_keys), on SQLite and PostgreSQL."""

import hashlib
import itertools
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from engine.intake import new_complaint_id
from store import EventStore, make_engine, migrate
from store.tables import IntakeKeyRow
from tests.keys import VAULT

BODY = {"subject": "Charger", "customer": {"name": "Li Lei", "phone": "+86 138 0000 0000"}}
OTHER_BODY = {**BODY, "subject": "Charger, again"}


def test_a_key_makes_one_complaint_per_caller(store: EventStore) -> None:
    first = store.claim_intake_key("ck-aaaaaaaaaaaa", "key:k-1", BODY, "C-FIRST")
    again = store.claim_intake_key("ck-aaaaaaaaaaaa", "key:k-1", BODY, "C-AGAIN")
    other_caller = store.claim_intake_key("ck-bbbbbbbbbbbb", "key:k-1", BODY, "C-OTHER")

    assert (first.complaint_id, first.made, first.same_body) == ("C-FIRST", True, True)
    assert (again.complaint_id, again.made, again.same_body) == ("C-FIRST", False, True)
    assert (other_caller.complaint_id, other_caller.made) == ("C-OTHER", True)


def test_the_same_key_with_another_body_is_told_apart(store: EventStore) -> None:
    store.claim_intake_key("web-form", "key:token", BODY, "C-FIRST")

    changed = store.claim_intake_key("web-form", "key:token", OTHER_BODY, "C-SECOND")

    assert (changed.complaint_id, changed.made, changed.same_body) == ("C-FIRST", False, False)


def test_callers_racing_with_one_key_get_one_complaint(store: EventStore) -> None:
    """The primary key decides: every loser reads the winner's row."""
    racers = 8
    start = threading.Barrier(racers)

    def race(n: int):
        start.wait()
        return store.claim_intake_key("email", "key:<m-1@example.com>", BODY, f"C-RACER{n}")

    with ThreadPoolExecutor(racers) as pool:
        claims = list(pool.map(race, range(racers)))

    assert len({c.complaint_id for c in claims}) == 1
    assert sum(c.made for c in claims) == 1 and all(c.same_body for c in claims)


def test_neither_the_key_nor_the_body_is_kept_in_clear(store: EventStore) -> None:
    key = "ref:api:order-li-lei-0042"
    store.claim_intake_key("ck-aaaaaaaaaaaa", key, BODY, "C-FIRST")

    with store.engine.connect() as connection:
        row = connection.execute(select(IntakeKeyRow)).one()

    canonical = json.dumps(BODY, separators=(",", ":"), sort_keys=True).encode()
    stored = " ".join(str(value) for value in row)
    assert key not in stored and "Li Lei" not in stored and "order" not in stored
    # Keyed: an unkeyed hash of the body (or key) could be tested against guesses.
    assert row.body_digest != hashlib.sha256(canonical).hexdigest()
    assert row.key_digest != hashlib.sha256(key.encode()).hexdigest()


SUBMISSIONS = 10_000
_DATABASES = itertools.count()  # a fresh database for each example


@settings(
    max_examples=2,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    key=st.text(min_size=1, max_size=200),
    scopes=st.lists(st.text(min_size=1, max_size=100), min_size=2, max_size=2, unique=True),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_key_sent_by_two_callers_many_times_is_two_complaints(
    tmp_path: Path, key: str, scopes: list[str], seed: int
) -> None:
    """10,000 submissions with one idempotency key, each from one of two API keys (in a drawn
    order), are exactly two complaints, each the first of its own caller. At the mapping layer
    (store.intake_keys, on SQLite), which decides this for the service, so it is fast; the
    service over Temporal has its own tests (tests/workflows/test_service.py)."""
    order = random.Random(seed)  # which caller sends each submission
    engine = make_engine(f"sqlite:///{tmp_path / f'{next(_DATABASES)}.sqlite3'}")
    migrate(engine)
    store = EventStore(engine, VAULT)
    first: dict[str, str] = {}
    try:
        for _ in range(SUBMISSIONS):
            scope = order.choice(scopes)
            claim = store.claim_intake_key(scope, f"key:{key}", BODY, new_complaint_id())
            first.setdefault(scope, claim.complaint_id)
            assert claim.complaint_id == first[scope] and claim.same_body
        with engine.connect() as connection:
            rows = connection.execute(select(IntakeKeyRow.scope, IntakeKeyRow.complaint_id)).all()
    finally:
        engine.dispose()
    assert sorted(rows) == sorted(first.items()) and len(set(first.values())) == len(first)
