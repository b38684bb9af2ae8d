"""What a handoff holds before it is stored (a draft: the visitor's question, the conversation so
far, their contact details), the checks a draft must pass, and storing it.

A draft is checked when it is made, not by the database: one that could never be stored must
not end up in the pending file (bot/desk/handoff_delivery.py).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.db.models import HANDOFF_REASONS, SPEAKERS, URGENCIES, Handoff, TranscriptTurn, utc_now
from bot.desk.aware_times import require_aware
from bot.desk.handoffs import HandoffError
from bot.desk.references import new_handoff_reference


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
        require_aware(self.time, "a turn's time", HandoffError)


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
    reference: str = field(default_factory=new_handoff_reference)
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
        require_aware(self.created_at, "created_at", HandoffError)
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
