"""Handoffs: a visitor's question passed to the care team with the conversation so far.

Plain functions over a SQLAlchemy session; the custom actions, the staff console and the CLI are
thin layers over them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from bot.db.models import (
    HANDOFF_REASONS,
    HANDOFF_STATUSES,
    SPEAKERS,
    URGENCIES,
    Handoff,
    HandoffNote,
    TranscriptTurn,
    utc_now,
)
from bot.files.file_lock import exclusive_lock

log = logging.getLogger(__name__)

# No 0/O, 1/I/L: a reference is read out over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_NOTE_LIMIT = 4000


class HandoffError(ValueError):
    """A handoff request that cannot be carried out; the message says why."""


def _require_aware(value: dt.datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise HandoffError(f"{what} must be an aware datetime (UTC), got a naive one")


def new_reference() -> str:
    return "KAP-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


@dataclass(frozen=True)
class Turn:
    speaker: str  # "user" or "bot"
    text: str
    time: dt.datetime
    intent: str | None = None
    confidence: float | None = None

    def __post_init__(self) -> None:
        # Checked here, not by the database: a draft that can never be stored must not end up
        # in the pending file.
        if self.speaker not in SPEAKERS:
            raise HandoffError(f"unknown speaker {self.speaker!r}")
        _require_aware(self.time, "a turn's time")


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str | None = None
    email: str | None = None
    consent: bool = False


@dataclass
class HandoffDraft:
    """Everything a handoff holds before it is stored; serialisable so it survives an outage."""

    reason: str
    conversation_id: str
    question: str | None
    transcript: list[Turn]
    contact: Contact | None = None
    urgency: str | None = None
    reference: str = field(default_factory=new_reference)
    created_at: dt.datetime = field(default_factory=utc_now)
    # Where the visitor's message came from (bot/protection/client_address.py), for flood control.
    client_address: str | None = None

    def __post_init__(self) -> None:
        if self.reason not in HANDOFF_REASONS:
            raise HandoffError(f"unknown handoff reason {self.reason!r}")
        if self.urgency is None:
            self.urgency = "urgent" if self.reason == "crisis" else "normal"
        if self.urgency not in URGENCIES:
            raise HandoffError(f"unknown urgency {self.urgency!r}")
        _require_aware(self.created_at, "created_at")
        # What PostgreSQL would refuse (so the draft could never leave the pending file). An
        # over-long conversation id is only cut: a crisis handoff must not fail on it.
        self.conversation_id = (self.conversation_id or "")[:128]
        self.client_address = (self.client_address or "")[:64] or None
        if self.contact:
            limits = {
                "name": (self.contact.name, 120),
                "phone": (self.contact.phone, 32),
                "email": (self.contact.email, 254),
            }
            for what, (value, limit) in limits.items():
                if value and len(value) > limit:
                    raise HandoffError(f"the contact {what} is longer than {limit} characters")

    def to_json(self) -> str:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        for turn in data["transcript"]:
            turn["time"] = turn["time"].isoformat()
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> HandoffDraft:
        data = json.loads(line)
        data["created_at"] = dt.datetime.fromisoformat(data["created_at"])
        data["transcript"] = [
            Turn(**{**turn, "time": dt.datetime.fromisoformat(turn["time"])})
            for turn in data["transcript"]
        ]
        data["contact"] = Contact(**data["contact"]) if data.get("contact") else None
        return cls(**data)


def transcript_from_events(events: Iterable[dict[str, Any]]) -> list[Turn]:
    """User and bot messages from a tracker's events (rasa_sdk's dict form), in order."""
    turns: list[Turn] = []
    for event in events:
        kind = event.get("event")
        if kind not in ("user", "bot"):
            continue
        text = event.get("text") or ""
        if kind == "bot" and not text:
            continue
        timestamp = event.get("timestamp") or time.time()
        when = dt.datetime.fromtimestamp(float(timestamp), tz=dt.timezone.utc)
        if kind == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            confidence = intent.get("confidence")
            turns.append(
                Turn(
                    "user",
                    text,
                    when,
                    intent.get("name"),
                    None if confidence is None else float(confidence),
                )
            )
        else:
            turns.append(Turn("bot", text, when))
    return turns


def transcript_turn(position: int, turn: Turn) -> TranscriptTurn:
    return TranscriptTurn(
        position=position,
        speaker=turn.speaker,
        text=turn.text,
        time=turn.time,
        intent=turn.intent,
        confidence=turn.confidence,
    )


def store_draft(session: Session, draft: HandoffDraft) -> Handoff:
    contact = draft.contact
    handoff = Handoff(
        reference=draft.reference,
        created_at=draft.created_at,
        reason=draft.reason,
        urgency=draft.urgency,
        status="open",
        conversation_id=draft.conversation_id,
        question=draft.question,
        contact_name=contact.name if contact else None,
        contact_phone=contact.phone if contact else None,
        contact_email=contact.email if contact else None,
        contact_consent=bool(contact and contact.consent),
        client_address=draft.client_address,
    )
    handoff.turns = [
        transcript_turn(position, turn) for position, turn in enumerate(draft.transcript)
    ]
    session.add(handoff)
    session.flush()
    return handoff


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
            _require_aware(bound, "a date filter")
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


# Rasa's SQL tracker store keeps every conversation in this table of the same database.
TRACKER_EVENTS = sa.table(
    "events", sa.column("timestamp", sa.Float), sa.column("sender_id", sa.String)
)


def delete_conversation(session: Session, conversation_id: str) -> int:
    """Deletes one conversation from the Rasa tracker store (everything the visitor typed,
    contact details the form collected included); returns how many events went. Hand-offs and
    bookings already made keep their own copy: the clinic has to act on them."""
    if not sa.inspect(session.connection()).has_table("events"):
        return 0
    return session.execute(
        sa.delete(TRACKER_EVENTS).where(TRACKER_EVENTS.c.sender_id == conversation_id)
    ).rowcount


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


# --- Delivery that survives an unreachable database -------------------------------------------


def pending_path() -> Path:
    from bot.settings import get_settings

    return get_settings().var_dir / "pending-handoffs.jsonl"


def deliver(
    draft: HandoffDraft,
    url: str | None = None,
    pending: Path | None = None,
    attempts: int = 3,
    backoff_seconds: float = 0.3,
    store: Callable[[Session, HandoffDraft], Any] = store_draft,
) -> bool:
    """Stores the handoff with `store`; True when stored. After `attempts` failures the draft is
    appended to a pending file (replayed by `replay_pending`) and False is returned: it is never
    lost."""
    from bot.db.session import session_scope

    for attempt in range(1, attempts + 1):
        try:
            with session_scope(url) as session:
                store(session, draft)
            return True
        except sa.exc.IntegrityError:
            # Already stored (the same draft delivered twice) or a reference collision: a new
            # reference for a collision is safe because the visitor has not seen this one yet.
            if _already_stored(url, draft):
                return True
            log.warning("Handoff reference %s is taken: trying a new one", draft.reference)
            draft.reference = new_reference()
        except Exception as error:  # noqa: BLE001 - whatever fails, the handoff is kept below
            # E.g. SQLAlchemyError, or OSError when SQLite's folder cannot be created. The
            # reason only: the draft holds personal data.
            log.error(
                "Storing handoff %s failed (attempt %d of %d): %s",
                draft.reference,
                attempt,
                attempts,
                type(error).__name__,
            )
            if attempt < attempts:
                time.sleep(backoff_seconds * attempt)
    pending = pending or pending_path()
    with _locked(pending, "lock"):
        _append_lines(pending, [draft.to_json()])
    log.error("Handoff %s kept in %s until the database is back", draft.reference, pending)
    return False


def _is_same(handoff: Handoff, draft: HandoffDraft) -> bool:
    """Whether `handoff` is `draft` stored (rather than another handoff with its reference)."""
    return (
        handoff.conversation_id == draft.conversation_id and handoff.created_at == draft.created_at
    )


def _already_stored(url: str | None, draft: HandoffDraft) -> bool:
    from bot.db.session import session_scope

    try:
        with session_scope(url) as session:
            existing = get_handoff(session, draft.reference)
            return existing is not None and _is_same(existing, draft)
    except (sa.exc.SQLAlchemyError, OSError):
        return False


def _append_lines(pending: Path, lines: list[str]) -> None:
    """Appends to the pending file, created readable by its owner only (it holds personal
    data)."""
    descriptor = os.open(pending, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with open(descriptor, "a", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))


def _locked(pending: Path, name: str):
    """An exclusive lock next to the pending file, shared by every process that uses it."""
    return exclusive_lock(pending.with_name(f"{pending.name}.{name}"))


def replay_pending(
    url: str | None = None,
    pending: Path | None = None,
    on_stored: Callable[[HandoffDraft], None] | None = None,
    store: Callable[[Session, HandoffDraft], Any] = store_draft,
) -> int:
    """Stores the handoffs kept while the database was down; returns how many were stored.
    `on_stored` is called with each one once it is stored (to notify staff).

    `deliver` may append to the pending file meanwhile (another process): the file is first moved
    aside under a lock, and what cannot be stored yet is appended back, so nothing is lost."""
    from bot.db.session import session_scope

    pending = pending or pending_path()
    claimed = pending.with_name(pending.name + ".replaying")
    if not pending.exists() and not claimed.exists():
        return 0
    with _locked(pending, "replay"):  # one replay at a time
        with _locked(pending, "lock"):
            if pending.exists():
                if claimed.exists():  # left by an interrupted replay
                    _append_lines(claimed, pending.read_text(encoding="utf-8").splitlines())
                    pending.unlink()
                else:
                    pending.replace(claimed)
        if not claimed.exists():
            return 0
        lines = [line for line in claimed.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept: list[str] = []
        stored = 0
        for line in lines:
            try:
                draft = HandoffDraft.from_json(line)
            except (ValueError, TypeError, KeyError) as error:
                log.error("Unreadable line in %s kept as it is: %s", pending, type(error).__name__)
                kept.append(line)
                continue
            try:
                with session_scope(url) as session:
                    existing = get_handoff(session, draft.reference)
                    if existing is None or not _is_same(existing, draft):
                        if existing is not None:
                            log.warning("Handoff reference %s is taken: new one", draft.reference)
                            draft.reference = new_reference()
                        store(session, draft)
                        stored += 1
                    else:
                        continue
            except Exception as error:  # noqa: BLE001 - kept for the next replay
                log.error("Replaying handoff %s failed: %s", draft.reference, type(error).__name__)
                kept.append(line)
                continue
            if on_stored is not None:
                try:
                    on_stored(draft)
                except Exception as error:  # noqa: BLE001 - it is stored; say why, go on
                    log.error("After replaying %s: %s", draft.reference, type(error).__name__)
        with _locked(pending, "lock"):
            if kept:
                _append_lines(pending, kept)
            claimed.unlink()
    return stored
