"""Rasa's own SQL tracker store table (rasa/core/tracker_store.py's SQLTrackerStore), in the
same database as the project's tables: read by the inbox and the gap report, deleted from by a
visitor's request and by retention. Rasa creates and writes it; this project never migrates it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


def has_events(session: Session) -> bool:
    """Whether Rasa has created its table yet (it does on its first conversation)."""
    return sa.inspect(session.connection()).has_table(EVENTS.name)


def conversations(session: Session, since: float | None = None) -> Iterator[tuple[str, float]]:
    """(sender_id, time of its last event), most recently active first; with `since` (a Unix
    time), only conversations active since then."""
    last = sa.func.max(EVENTS.c.timestamp).label("last")
    query = sa.select(EVENTS.c.sender_id, last).group_by(EVENTS.c.sender_id)
    if since is not None:
        query = query.having(last >= since)
    for sender_id, when in session.execute(query.order_by(last.desc())):
        yield sender_id, float(when or 0.0)


def conversation_events(session: Session, sender_id: str) -> list[dict]:
    """One conversation's events in order, in Rasa's dict form."""
    query = (
        sa.select(EVENTS.c.data)
        .where(EVENTS.c.sender_id == sender_id)
        .order_by(EVENTS.c.timestamp, EVENTS.c.id)
    )
    return [json.loads(data) for (data,) in session.execute(query)]
