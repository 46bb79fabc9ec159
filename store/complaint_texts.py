"""The words customers used: the subject and description of each complaint's registration, for
the demand summary (reports.demand). Both are in the registration's data, never its personal
part (the customer's name and addresses), which this module does not read."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select

from store.db import for_reading
from store.tables import EventRow

_CHUNK = 500  # stream ids per query: well under every backend's parameter limit


def registration_texts(engine: Engine, complaint_ids: Sequence[str]) -> dict[str, str]:
    """complaint id -> its subject and description, one text."""
    texts: dict[str, str] = {}
    reader = for_reading(engine)
    with reader.connect() as connection:
        for start in range(0, len(complaint_ids), _CHUNK):
            query = select(EventRow.stream_id, EventRow.data).where(
                EventRow.stream_id.in_(complaint_ids[start : start + _CHUNK]),
                EventRow.version == 1,
                EventRow.type == "ComplaintRegistered",
            )
            for stream_id, data in connection.execute(query):
                texts[stream_id] = f"{data.get('subject', '')}\n{data.get('description', '')}"
    return texts
