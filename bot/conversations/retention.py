"""Retention: deleting what the clinic no longer needs, as `kapbot purge --older-than DAYS` asks.

What goes, each in statements whose condition the database checks when it deletes (never a list
of rows picked first and deleted later, which would take whatever changed in between):

- handoffs the care team resolved more than DAYS days ago, with their transcripts and notes;
  open and claimed handoffs stay, however old: someone still has to act on them;
- bookings of calls that took place more than DAYS days ago; an upcoming call always stays;
- conversations in Rasa's tracker store whose last event is more than DAYS days old, whole.

A period under MIN_DAYS is refused unless forced: `--older-than 0` would wipe every finished
handoff and every conversation not active this very second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db.models import Booking, Handoff, HandoffNote, TranscriptTurn, utc_now
from bot.db.rasa_events import has_events

MIN_DAYS = 7
# Bulk deletes: the session cannot evaluate the conditions in Python, so it is not synchronised
# (objects already loaded in this session are not removed from it).
_BULK = {"synchronize_session": False}


class RetentionError(ValueError):
    """A purge that was refused; the message says why and what to do."""


@dataclass(frozen=True)
class PurgeReport:
    handoffs: int
    turns: int
    notes: int
    bookings: int
    conversations: int
    events: int

    def audit_detail(self) -> str:
        return (
            f"handoffs={self.handoffs} turns={self.turns} notes={self.notes} "
            f"conversations={self.conversations} conversation_events={self.events} "
            f"bookings={self.bookings}"
        )


def cutoff_for(days: int, *, now: dt.datetime, force: bool = False) -> dt.datetime:
    """The moment before which data goes; refuses a negative period, and one under MIN_DAYS
    without `force`."""
    if days < 0:
        raise RetentionError("--older-than must be zero or more days")
    if days < MIN_DAYS and not force:
        raise RetentionError(
            f"--older-than {days} would delete data younger than {MIN_DAYS} days, "
            "conversations still going on this week included; add --force if that is meant"
        )
    return now - dt.timedelta(days=days)


def purge(
    session: Session, days: int, *, now: dt.datetime | None = None, force: bool = False
) -> PurgeReport:
    """Deletes what is older than `days` days (see the module's docstring); the caller commits."""
    cutoff = cutoff_for(days, now=now or utc_now(), force=force)
    # Conversations first: on SQLite the first delete takes the database's write lock, and a
    # visitor's message should wait for the shortest time.
    conversations, events = _purge_conversations(session, cutoff)
    handoffs, turns, notes = _purge_handoffs(session, cutoff)
    bookings = session.execute(
        sa.delete(Booking).where(Booking.slot_start < cutoff), execution_options=_BULK
    ).rowcount
    return PurgeReport(handoffs, turns, notes, bookings, conversations, events)


def _purge_handoffs(session: Session, cutoff: dt.datetime) -> tuple[int, int, int]:
    finished = sa.and_(
        Handoff.status == "resolved",
        sa.func.coalesce(Handoff.resolved_at, Handoff.created_at) < cutoff,
    )
    finished_ids = sa.select(Handoff.id).where(finished)
    turns = session.execute(
        sa.delete(TranscriptTurn).where(TranscriptTurn.handoff_id.in_(finished_ids)),
        execution_options=_BULK,
    ).rowcount
    notes = session.execute(
        sa.delete(HandoffNote).where(HandoffNote.handoff_id.in_(finished_ids)),
        execution_options=_BULK,
    ).rowcount
    handoffs = session.execute(sa.delete(Handoff).where(finished), execution_options=_BULK).rowcount
    return handoffs, turns, notes


def _purge_conversations(session: Session, cutoff: dt.datetime) -> tuple[int, int]:
    """Whole conversations only: cutting the old events out of one still going on would leave
    Rasa a tracker without its session start and slots. One DELETE, whose "nothing newer"
    condition is checked as it deletes: a message the visitor writes while the purge runs keeps
    the conversation."""
    if not has_events(session):
        return 0, 0
    # Written out: SQLAlchemy 1.4 (Rasa's pin) compiles no RETURNING for SQLite, which has had it
    # since 3.35.
    deleted = session.execute(
        sa.text(
            "DELETE FROM events WHERE timestamp < :cutoff AND NOT EXISTS ("
            " SELECT 1 FROM events AS newer"
            " WHERE newer.sender_id = events.sender_id AND newer.timestamp >= :cutoff"
            ") RETURNING sender_id"
        ),
        {"cutoff": cutoff.timestamp()},
    ).scalars()
    senders = list(deleted)
    return len(set(senders)), len(senders)
