"""The review inbox's entries: a visitor message the editors should look at, why it is listed,
and the bot's best guess of what it meant (bot/conversations/inbox.py explains which messages
are listed). Texts are masked (bot/desk/masking.py) before they are put in an entry."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from bot.db.models import Handoff, utc_now
from bot.desk.masking import mask

UNANSWERED_REASON = "unanswered"  # the handoff reason of a question the article does not cover
NOT_HELPFUL = "marked not helpful (👎)"
HANDED_OVER = "not covered by the article; passed to the care team"
SENT_FROM_GAPS = "sent from the gap report"


@dataclass(frozen=True)
class Guess:
    label: str  # a topic id or an outcome (bot/content/outcomes.py)
    confidence: float | None


@dataclass(frozen=True)
class InboxItem:
    key: str
    received_at: dt.datetime  # UTC
    text: str  # masked
    # "fallback", "low confidence 0.41", "did-you-mean not taken", "answered cost, then
    # rephrased", "marked not helpful (👎)", …; several joined with "; "
    reason: str
    guess: Guess | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "received_at": self.received_at.isoformat(),
            "text": self.text,
            "reason": self.reason,
            "guess": (
                {"label": self.guess.label, "confidence": self.guess.confidence}
                if self.guess
                else None
            ),
        }


def message_key(sender_id: str, timestamp: float) -> str:
    """A stable name for one visitor message that does not reveal the conversation."""
    return hashlib.sha256(f"{sender_id}\x00{timestamp!r}".encode()).hexdigest()[:20]


def handoff_item(handoff: Handoff, region: str = "US") -> InboxItem:
    """The inbox entry of an `unanswered` handoff whose conversation is no longer in the tracker
    store (deleted by the visitor, or purged): its question, masked with its contact details."""
    created = handoff.created_at or utc_now()
    return InboxItem(
        key=hashlib.sha256(f"handoff\x00{handoff.reference}".encode()).hexdigest()[:20],
        received_at=created,
        text=mask(
            handoff.question or "",
            region=region,
            names=[handoff.contact_name] if handoff.contact_name else [],
            phones=[handoff.contact_phone] if handoff.contact_phone else [],
            emails=[handoff.contact_email] if handoff.contact_email else [],
        ),
        reason=HANDED_OVER,
        guess=Guess(UNANSWERED_REASON, None),
    )
