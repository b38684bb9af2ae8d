"""Flood control for handoffs: a script sending crisis messages must not bury real ones.

- One unresolved crisis handoff per conversation: a later crisis message of the same
  conversation is added to it (its transcript grows) instead of opening another. The unique
  `open_crisis_of` column enforces it whichever process stores the handoff.
- More new handoffs than the cap from one client address within the window are still stored
  (a real crisis may hide among them) but marked "possible flood": the console lists them apart
  and notifications count them rather than announce each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db.models import Handoff, TranscriptTurn
from bot.desk.handoff_drafts import HandoffDraft, store_draft, transcript_turn


@dataclass(frozen=True)
class FloodLimit:
    handoffs: int
    window: dt.timedelta

    @classmethod
    def from_settings(cls, settings) -> FloodLimit:
        return cls(
            settings.handoff_flood_limit,
            dt.timedelta(minutes=settings.handoff_flood_window_minutes),
        )


@dataclass(frozen=True)
class Filed:
    """What became of a draft: a new handoff, or turns added to the open crisis handoff."""

    reference: str
    new: bool
    possible_flood: bool


def open_crisis_handoff(session: Session, conversation_id: str) -> Handoff | None:
    """The conversation's unresolved crisis handoff, row-locked where the database can."""
    return session.execute(
        sa.select(Handoff).where(Handoff.open_crisis_of == conversation_id).with_for_update()
    ).scalar_one_or_none()


def _append_turns(session: Session, handoff: Handoff, draft: HandoffDraft) -> None:
    """Adds the draft's turns that are newer than the handoff's last one (the draft holds the
    whole conversation so far)."""
    last_position, last_time = session.execute(
        sa.select(sa.func.max(TranscriptTurn.position), sa.func.max(TranscriptTurn.time)).where(
            TranscriptTurn.handoff_id == handoff.id
        )
    ).one()
    position = -1 if last_position is None else last_position
    for turn in draft.transcript:
        if last_time is not None and turn.time <= _aware(last_time):
            continue
        position += 1
        added = transcript_turn(position, turn)
        added.handoff_id = handoff.id
        session.add(added)
    session.flush()


def _aware(value: dt.datetime) -> dt.datetime:
    # An aggregate bypasses the column type: SQLite hands back a naive UTC value (or a string).
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def over_limit(session: Session, address: str | None, limit: FloodLimit, now: dt.datetime) -> bool:
    """Whether `address` already opened `limit.handoffs` handoffs within the window."""
    if not address:
        return False
    recent = session.execute(
        sa.select(sa.func.count(Handoff.id)).where(
            Handoff.client_address == address, Handoff.created_at > now - limit.window
        )
    ).scalar_one()
    return recent >= limit.handoffs


def file_draft(session: Session, draft: HandoffDraft, limit: FloodLimit) -> Filed:
    """Stores the draft as a new handoff, or adds a crisis message to its conversation's open
    crisis handoff. A concurrent insert for the same conversation fails on the unique column;
    the caller's retry then finds that handoff and adds to it."""
    if draft.reason == "crisis" and draft.conversation_id:
        existing = open_crisis_handoff(session, draft.conversation_id)
        if existing is not None:
            _append_turns(session, existing, draft)
            return Filed(existing.reference, new=False, possible_flood=existing.possible_flood)
    flood = over_limit(session, draft.client_address, limit, draft.created_at)
    handoff = store_draft(session, draft)
    handoff.possible_flood = flood
    if draft.reason == "crisis" and draft.conversation_id:
        handoff.open_crisis_of = draft.conversation_id
    session.flush()
    return Filed(handoff.reference, new=True, possible_flood=flood)


@dataclass(frozen=True)
class FloodGroup:
    client_address: str
    handoffs: int
    open: int
    first: dt.datetime
    last: dt.datetime


def flood_groups(session: Session) -> list[FloodGroup]:
    """The handoffs marked "possible flood", grouped by client address, largest first."""
    rows = session.execute(
        sa.select(
            Handoff.client_address,
            sa.func.count(Handoff.id),
            sa.func.sum(sa.case((Handoff.status == "open", 1), else_=0)),
            sa.func.min(Handoff.created_at),
            sa.func.max(Handoff.created_at),
        )
        .where(Handoff.possible_flood.is_(True))
        .group_by(Handoff.client_address)
        .order_by(sa.func.count(Handoff.id).desc())
    ).all()
    return [
        FloodGroup(address or "unknown", count, int(open_ or 0), _aware(first), _aware(last))
        for address, count, open_, first, last in rows
    ]
