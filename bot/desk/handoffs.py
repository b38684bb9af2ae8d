"""Handoffs as the care team works them: finding and listing them, claiming, resolving and
noting them, and exporting one (JSON, or text to read). What a handoff holds before it is
stored is in bot/desk/handoff_drafts.py; storing it reliably and telling staff, in
bot/desk/handoff_delivery.py.

Plain functions over a SQLAlchemy session; the staff console and the CLI are thin layers over
them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from bot.db.models import (
    HANDOFF_REASONS,
    HANDOFF_STATUSES,
    URGENCIES,
    Handoff,
    HandoffNote,
    utc_now,
)
from bot.db.rasa_events import EVENTS, has_events
from bot.desk.aware_times import require_aware

_NOTE_LIMIT = 4000


class HandoffError(ValueError):
    """A handoff request that cannot be carried out; the message says why."""


def get_handoff(session: Session, reference: str) -> Handoff | None:
    return session.execute(
        sa.select(Handoff)
        .where(Handoff.reference == reference)
        .options(selectinload(Handoff.turns), selectinload(Handoff.notes))
    ).scalar_one_or_none()


def _filtered(
    query: sa.Select,
    status: str | None = None,
    reason: str | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
    urgency: str | None = None,
    possible_flood: bool | None = None,
) -> sa.Select:
    if status is not None and status not in HANDOFF_STATUSES:
        raise HandoffError(f"status must be one of {', '.join(HANDOFF_STATUSES)}, got {status!r}")
    if reason is not None and reason not in HANDOFF_REASONS:
        raise HandoffError(f"reason must be one of {', '.join(HANDOFF_REASONS)}, got {reason!r}")
    if urgency is not None and urgency not in URGENCIES:
        raise HandoffError(f"urgency must be one of {', '.join(URGENCIES)}, got {urgency!r}")
    for bound in (created_from, created_to):
        if bound is not None:
            require_aware(bound, "a date filter", HandoffError)
    if status:
        query = query.where(Handoff.status == status)
    if reason:
        query = query.where(Handoff.reason == reason)
    if urgency:
        query = query.where(Handoff.urgency == urgency)
    if created_from:
        query = query.where(Handoff.created_at >= created_from)
    if created_to:
        query = query.where(Handoff.created_at < created_to)
    if possible_flood is not None:
        query = query.where(Handoff.possible_flood.is_(bool(possible_flood)))
    return query


def count_handoffs(session: Session, **filters: Any) -> int:
    """How many handoffs `list_handoffs` with the same filters would list without a limit."""
    return session.execute(_filtered(sa.select(sa.func.count(Handoff.id)), **filters)).scalar_one()


def list_handoffs(
    session: Session,
    *,
    limit: int | None = None,
    offset: int = 0,
    with_transcripts: bool = False,
    **filters: Any,
) -> list[Handoff]:
    """Those not marked "possible flood" first, then urgent first, then newest first. Filters:
    status, reason, urgency, created_from, created_to (aware datetimes), possible_flood."""
    query = _filtered(sa.select(Handoff), **filters)
    urgent_first = sa.case((Handoff.urgency == "urgent", 0), else_=1)
    query = query.order_by(
        Handoff.possible_flood, urgent_first, Handoff.created_at.desc(), Handoff.id.desc()
    )
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    if with_transcripts:
        query = query.options(selectinload(Handoff.turns), selectinload(Handoff.notes))
    return list(session.execute(query).scalars())


def claim_handoff(session: Session, handoff: Handoff, by: str) -> None:
    if handoff.status != "open":
        raise HandoffError(
            f"{handoff.reference} is {handoff.status}: only an open one can be claimed"
        )
    handoff.status, handoff.claimed_by, handoff.claimed_at = "claimed", by, utc_now()


def resolve_handoff(session: Session, handoff: Handoff, by: str) -> None:
    if handoff.status == "resolved":
        raise HandoffError(f"{handoff.reference} is already resolved")
    if handoff.status == "open":
        handoff.claimed_by, handoff.claimed_at = by, utc_now()
    handoff.status, handoff.resolved_by, handoff.resolved_at = "resolved", by, utc_now()
    # A later crisis message of the conversation opens a new handoff again.
    handoff.open_crisis_of = None


def add_note(session: Session, handoff: Handoff, author: str, text: str) -> HandoffNote:
    text = (text or "").strip()
    if not text:
        raise HandoffError("A note needs some text.")
    if len(text) > _NOTE_LIMIT:
        raise HandoffError(f"A note can be at most {_NOTE_LIMIT} characters.")
    note = HandoffNote(author=author, text=text, created_at=utc_now())
    handoff.notes.append(note)
    session.flush()
    return note


def delete_conversation(session: Session, conversation_id: str) -> int:
    """Deletes one conversation from the Rasa tracker store (everything the visitor typed,
    contact details the form collected included); returns how many events went. Hand-offs and
    bookings already made keep their own copy: the clinic has to act on them."""
    if not has_events(session):
        return 0
    return session.execute(sa.delete(EVENTS).where(EVENTS.c.sender_id == conversation_id)).rowcount


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def handoff_to_dict(handoff: Handoff) -> dict[str, Any]:
    return {
        "reference": handoff.reference,
        "created_at": _iso(handoff.created_at),
        "reason": handoff.reason,
        "urgency": handoff.urgency,
        "status": handoff.status,
        "conversation_id": handoff.conversation_id,
        "question": handoff.question,
        "contact": {
            "name": handoff.contact_name,
            "phone": handoff.contact_phone,
            "email": handoff.contact_email,
            "consent": handoff.contact_consent,
        },
        "claimed_by": handoff.claimed_by,
        "claimed_at": _iso(handoff.claimed_at),
        "resolved_by": handoff.resolved_by,
        "resolved_at": _iso(handoff.resolved_at),
        "client_address": handoff.client_address,
        "possible_flood": bool(handoff.possible_flood),
        "transcript": [
            {
                "speaker": turn.speaker,
                "text": turn.text,
                "time": _iso(turn.time),
                **(
                    {"intent": turn.intent, "confidence": turn.confidence}
                    if turn.speaker == "user"
                    else {}
                ),
            }
            for turn in handoff.turns
        ],
        "notes": [
            {"author": note.author, "time": _iso(note.created_at), "text": note.text}
            for note in handoff.notes
        ],
    }


def transcript_as_text(handoff: Handoff) -> str:
    lines = [
        f"Handoff {handoff.reference}",
        f"Created: {_iso(handoff.created_at)}",
        f"Reason: {handoff.reason}   Urgency: {handoff.urgency}   Status: {handoff.status}",
    ]
    if handoff.contact_name or handoff.contact_phone or handoff.contact_email:
        contact = ", ".join(
            x for x in (handoff.contact_name, handoff.contact_phone, handoff.contact_email) if x
        )
        consent = "yes" if handoff.contact_consent else "no"
        lines.append(f"Contact: {contact}   Consent to contact: {consent}")
    if handoff.question:
        lines.append(f"Question: {handoff.question}")
    lines.append("")
    for turn in handoff.turns:
        stamp = turn.time.strftime("%Y-%m-%d %H:%M:%S UTC")
        speaker = "Visitor" if turn.speaker == "user" else "Bot"
        nlu = ""
        if turn.speaker == "user" and turn.intent:
            nlu = f"  [{turn.intent} {turn.confidence or 0:.2f}]"
        lines.append(f"[{stamp}] {speaker}: {turn.text}{nlu}")
    for note in handoff.notes:
        lines.append(f"Note by {note.author} at {_iso(note.created_at)}: {note.text}")
    return "\n".join(lines) + "\n"
