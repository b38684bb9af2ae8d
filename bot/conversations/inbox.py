"""The review inbox: real visitor messages the bot did not handle confidently, or answered
confidently and perhaps wrongly, for editors to turn into training examples or dismiss.

Messages are read from Rasa's tracker store (the `events` table of SQLTrackerStore, in the same
DATABASE_URL as the project's tables). A visitor message is in the inbox when
- the NLU fell back (`nlu_fallback`: the FallbackClassifier or the FaqConfidenceGate), or
- its intent or its FAQ topic is less confident than the thresholds in config.yml, or
- the bot asked "did you mean…" and the visitor took none of the suggestions, or
- the bot answered it (a topic, or "I can't answer that") and the visitor's very next message
  asked again in other words, said it was not what they asked, or asked for a person
  (bot/conversations/follow_ups.py), or
- the visitor marked the answer to it not helpful (👎, kap_answer_feedback), or
- it was passed to the care team because the article does not cover it (a handoff with reason
  `unanswered`; listed from the handoff itself if the conversation is gone), or
- an editor sent it here from the gap report (bot/conversations/gaps.py; kap_inbox_requests).
Confident errors reach the editors this way too. A message listed for several reasons is one
entry with all of them. Button clicks and answers to a form's questions (a name, a phone
number) are not questions and never appear. Personal details are masked (bot/desk/masking.py) before
any text leaves these modules. Decisions are kept in kap_inbox_decisions, by key, so a decided
message does not come back.

Here: listing the inbox from the tracker store and deciding its messages (assign or dismiss).
Which messages of a conversation are listed is in bot/conversations/inbox_conversation.py; the
entries themselves in bot/conversations/inbox_entries.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.content.checks import EDITOR_REFUSED
from bot.content.editing import ContentProject, clean_example
from bot.conversations.answer_feedback import down_votes
from bot.conversations.inbox_conversation import conversation_items
from bot.conversations.inbox_entries import (
    UNANSWERED_REASON,
    InboxItem,
    handoff_item,
    message_key,
)
from bot.db.models import Handoff, InboxDecision, InboxRequest, utc_now
from bot.db.rasa_events import EVENTS, conversation_events, conversations, has_events
from bot.desk import audit
from bot.desk.masking import mask
from bot.models.tuning import configured_thresholds
from bot.settings import get_settings


class InboxError(ValueError):
    """A decision that cannot be made; the message says why in plain words."""


def _decided_keys(session: Session) -> set[str]:
    return set(session.execute(sa.select(InboxDecision.key)).scalars())


def _unanswered_handoffs(session: Session) -> dict[str, list[Handoff]]:
    """Conversation id -> its handoffs of questions the article does not cover."""
    found: dict[str, list[Handoff]] = {}
    query = sa.select(Handoff).where(Handoff.reason == UNANSWERED_REASON)
    for handoff in session.execute(query).scalars():
        found.setdefault(handoff.conversation_id, []).append(handoff)
    return found


def _requested_from_gaps(session: Session) -> dict[str, set[float]]:
    """Conversation id -> the times of its messages an editor sent here from the gap report."""
    found: dict[str, set[float]] = {}
    query = sa.select(InboxRequest.conversation_id, InboxRequest.message_timestamp)
    for conversation_id, timestamp in session.execute(query):
        found.setdefault(conversation_id, set()).add(float(timestamp))
    return found


def request_review(session: Session, conversation_id: str, timestamp: float, by: str) -> bool:
    """Sends one visitor message (named by its conversation and time in the tracker store) to
    the inbox, unless it was sent already; True when it was added. The audit entry is the
    caller's: one per batch the editor sent."""
    key = message_key(conversation_id, timestamp)
    exists = session.execute(sa.select(InboxRequest.id).where(InboxRequest.key == key)).first()
    if exists:
        return False
    session.add(
        InboxRequest(
            key=key, conversation_id=conversation_id, message_timestamp=timestamp, requested_by=by
        )
    )
    session.flush()
    return True


class InboxSources:
    """What the inbox reads besides the tracker store, read once per listing."""

    def __init__(self, session: Session) -> None:
        settings = get_settings()
        self.region = settings.phone_region
        self.thresholds = configured_thresholds(settings.content_root / "config.yml")
        self.down_votes = down_votes(session)
        self.handoffs = _unanswered_handoffs(session)
        self.requested = _requested_from_gaps(session)

    def items(self, sender_id: str, events: list[dict]) -> list[InboxItem]:
        return conversation_items(
            sender_id,
            events,
            self.thresholds,
            self.region,
            down_votes=self.down_votes.get(sender_id, []),
            handoffs=self.handoffs.get(sender_id, []),
            requested=self.requested.get(sender_id, ()),
        )

    def orphan_handoff_items(self, senders_with_events: set[str]) -> list[InboxItem]:
        """`unanswered` handoffs whose conversation is gone from the tracker store."""
        return [
            handoff_item(handoff, self.region)
            for sender_id, handoffs in self.handoffs.items()
            if sender_id not in senders_with_events
            for handoff in handoffs
            if handoff.question
        ]


def inbox_messages(session: Session, limit: int = 100) -> list[InboxItem]:
    """Undecided inbox messages, newest first, at most `limit`."""
    decided = _decided_keys(session)
    sources = InboxSources(session)
    active = list(conversations(session)) if has_events(session) else []
    found = [
        item
        for item in sources.orphan_handoff_items({sender for sender, _ in active})
        if item.key not in decided
    ]
    found.sort(key=lambda item: item.received_at, reverse=True)
    for sender_id, last in active:
        # Conversations come most recently active first: once `limit` messages are newer than
        # everything a conversation can hold, the rest cannot make the list.
        if len(found) >= limit and found[limit - 1].received_at.timestamp() > last:
            break
        items = sources.items(sender_id, conversation_events(session, sender_id))
        found += [item for item in items if item.key not in decided]
        found.sort(key=lambda item: item.received_at, reverse=True)
    return found[:limit]


def _region() -> str:
    return get_settings().phone_region


def find_item(session: Session, key: str) -> InboxItem | None:
    """The inbox message with this key, if it is (still) in the tracker store (or, for an
    `unanswered` handoff whose conversation is gone, in the handoffs), decided or not. Only the
    conversation that holds it is read."""
    sources = InboxSources(session)
    senders: set[str] = set()
    if has_events(session):
        messages = sa.select(EVENTS.c.sender_id, EVENTS.c.timestamp).where(
            EVENTS.c.type_name == "user"
        )
        for sender_id, timestamp in session.execute(messages):
            senders.add(sender_id)
            if message_key(sender_id, float(timestamp)) != key:
                continue
            items = sources.items(sender_id, conversation_events(session, sender_id))
            return next((item for item in items if item.key == key), None)
    return next((i for i in sources.orphan_handoff_items(senders) if i.key == key), None)


def _decide(
    session: Session, key: str, decision: str, by: str, label: str | None = None
) -> InboxItem:
    previous = _decision(session, key)
    if previous is not None:
        raise InboxError(_already(previous))
    item = find_item(session, key)
    if item is None:
        raise InboxError(f"There is no message {key} in the inbox.")
    try:
        with session.begin_nested():
            session.add(
                InboxDecision(
                    key=key, decision=decision, label=label, decided_by=by, decided_at=utc_now()
                )
            )
    except sa.exc.IntegrityError:
        # Someone decided it between our check and our insert.
        raise InboxError(_already(_decision(session, key))) from None
    return item


def _decision(session: Session, key: str) -> InboxDecision | None:
    query = sa.select(InboxDecision).where(InboxDecision.key == key)
    return session.execute(query).scalar_one_or_none()


def _already(decision: InboxDecision) -> str:
    when = decision.decided_at.strftime("%Y-%m-%d %H:%M UTC")
    what = f"assigned to {decision.label}" if decision.decision == "assigned" else "dismissed"
    return f"This message was already {what} by {decision.decided_by} on {when}."


def assign(
    session: Session,
    key: str,
    label: str,
    by: str,
    *,
    text: str | None = None,
    project: ContentProject | None = None,
) -> InboxItem:
    """Makes the message a training example of `label` (a topic id or an outcome), through the
    content editor's checks, and records the decision. `text` replaces the masked message (an
    editor's correction; it is masked again). Raises InboxError, or the editor's
    ContentEditError when the example is refused; the session then holds no decision."""
    project = project or ContentProject()
    try:
        intent = project.intent_for_label(label)
    except KeyError:
        raise InboxError(
            f"“{label}” is not a topic or an outcome; choose one from the list."
        ) from None
    with session.begin_nested():
        item = _decide(session, key, "assigned", by, label)
        example = item.text if text is None else mask(text, region=_region())
        # Rasa reads brackets as markup; what the visitor meant is the words around them.
        project.add_example(intent, clean_example(EDITOR_REFUSED.sub(" ", example)))
        audit.record(session, by, "inbox.assign", target=key, detail=f"label={label}")
    return item


def dismiss(session: Session, key: str, by: str) -> InboxItem:
    """Records that the message needs no training example."""
    item = _decide(session, key, "dismissed", by)
    audit.record(session, by, "inbox.dismiss", target=key)
    return item
