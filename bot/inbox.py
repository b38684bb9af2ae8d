"""The review inbox: real visitor messages the bot did not handle confidently, for editors to turn
into training examples or dismiss.

Messages are read from Rasa's tracker store (the `events` table of SQLTrackerStore, in the same
DATABASE_URL as the project's tables). A visitor message is in the inbox when
- the NLU fell back (`nlu_fallback`: the FallbackClassifier or the FaqConfidenceGate), or
- its intent or its FAQ topic is less confident than the thresholds in config.yml, or
- the bot asked "did you mean…" and the visitor took none of the suggestions.
Button clicks and answers to a form's questions (a name, a phone number) are not questions and
never appear. Personal details are masked (bot/masking.py) before any text leaves this module.
Decisions are kept in kap_inbox_decisions, by key, so a decided message does not come back.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot import audit
from bot.content.buttons import clicked_topic
from bot.content.checks import EDITOR_REFUSED
from bot.content.editing import ContentProject, clean_example
from bot.content.model import Content, load_content
from bot.db.models import InboxDecision, utc_now
from bot.masking import mask
from bot.outcomes import INTENT_OUTCOMES, OUTCOMES
from bot.settings import get_settings
from bot.tuning import Thresholds, configured_thresholds

FALLBACK_INTENT = "nlu_fallback"
FAQ_INTENT = "faq"
DID_YOU_MEAN_RESPONSE = "utter_did_you_mean"
DID_YOU_MEAN_ACTION = "action_default_ask_affirmation"
# Slots whose values are the visitor's personal details (domain.yml's forms).
NAME_SLOTS = ("contact_name", "booking_name")
PHONE_SLOTS = ("booking_phone", "cancel_phone")
EMAIL_SLOTS = ("booking_email",)
EITHER_SLOTS = ("contact_detail",)  # a phone number or an email address

# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py), read only.
EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


@functools.lru_cache(maxsize=1)
def _content() -> Content:
    # The button labels the bot showed: they change only with a new model and a restart.
    return load_content()


class InboxError(ValueError):
    """A decision that cannot be made; the message says why in plain words."""


@dataclass(frozen=True)
class Guess:
    label: str  # a topic id or an outcome (bot/outcomes.py)
    confidence: float | None


@dataclass(frozen=True)
class InboxItem:
    key: str
    received_at: dt.datetime  # UTC
    text: str  # masked
    reason: str  # "fallback", "low confidence 0.41", "did-you-mean not taken", …
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


# --- Reading one conversation -----------------------------------------------------------------


def _topic_ranking(parse_data: dict) -> list[dict]:
    return ((parse_data.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("ranking") or []


def _topic_of(item: dict) -> str:
    return str(item.get("intent_response_key", "")).split("/", 1)[-1]


def best_guess(parse_data: dict) -> Guess | None:
    """The likeliest label for a message: its best-ranked intent that names a topic (then the
    likeliest topic) or an outcome."""
    for intent in parse_data.get("intent_ranking") or []:
        name = intent.get("name")
        if name == FAQ_INTENT:
            ranking = _topic_ranking(parse_data)
            if ranking:
                return Guess(_topic_of(ranking[0]), _confidence(ranking[0]))
        outcome = INTENT_OUTCOMES.get(name, name)
        if outcome in OUTCOMES:
            return Guess(outcome, _confidence(intent))
    return None


def _confidence(item: dict) -> float | None:
    value = item.get("confidence")
    return None if value is None else round(float(value), 4)


def _low_confidence(parse_data: dict, thresholds: Thresholds) -> float | None:
    """The confidence that is below config.yml's thresholds, if one is."""
    intent = parse_data.get("intent") or {}
    confidence = float(intent.get("confidence") or 0.0)
    if confidence < thresholds.intent:
        return confidence
    if intent.get("name") == FAQ_INTENT:
        ranking = _topic_ranking(parse_data)
        top = float(ranking[0].get("confidence") or 0.0) if ranking else 0.0
        if top < thresholds.topic:
            return top
    return None


def _turn_end(events: list[dict], start: int) -> int:
    """Index of the next visitor message after `start` (or the end)."""
    for index in range(start + 1, len(events)):
        if events[index].get("event") == "user":
            return index
    return len(events)


def _answered_a_form(events: list[dict], index: int) -> bool:
    """A slot was filled from this message before any action ran: it answered a form's
    question."""
    for event in events[index + 1 :]:
        kind = event.get("event")
        if kind == "slot":
            return True
        if kind in ("action", "user"):
            return False
    return False


def _offered_did_you_mean(events: list[dict]) -> bool:
    for event in events:
        if event.get("event") == "action" and event.get("name") == DID_YOU_MEAN_ACTION:
            return True
        metadata = event.get("metadata") or {}
        if event.get("event") == "bot" and metadata.get("utter_action") == DID_YOU_MEAN_RESPONSE:
            return True
    return False


def _personal_details(events: list[dict]) -> dict[str, set[str]]:
    """What the visitor gave the forms, as the slots held it after each turn (validated: a
    value the form rejected is replaced before the next message)."""
    found: dict[str, set[str]] = {"names": set(), "phones": set(), "emails": set()}
    slots: dict[str, Any] = {}

    def collect() -> None:
        for slot, value in slots.items():
            if not isinstance(value, str) or not value.strip():
                continue
            if slot in NAME_SLOTS:
                found["names"].add(value)
            elif slot in PHONE_SLOTS or (slot in EITHER_SLOTS and "@" not in value):
                found["phones"].add(value)
            elif slot in EMAIL_SLOTS or slot in EITHER_SLOTS:
                found["emails"].add(value)

    for event in events:
        if event.get("event") == "user":
            collect()
        elif event.get("event") == "slot":
            slots[event.get("name")] = event.get("value")
    collect()
    return found


def conversation_items(
    sender_id: str, events: list[dict], thresholds: Thresholds, region: str = "US"
) -> list[InboxItem]:
    """The inbox messages of one conversation (its events in order, Rasa's dict form)."""
    details = _personal_details(events)
    items = []
    for index, event in enumerate(events):
        text = str(event.get("text") or "")
        if event.get("event") != "user" or not text.strip() or text.startswith("/"):
            continue
        if _answered_a_form(events, index):
            continue
        parse_data = event.get("parse_data") or {}
        guess = best_guess(parse_data)
        end = _turn_end(events, index)
        if _offered_did_you_mean(events[index + 1 : end]):
            # The bot's suggestions were the likeliest topics, whatever the intent ranking says.
            ranking = _topic_ranking(parse_data)
            if ranking:
                guess = Guess(_topic_of(ranking[0]), _confidence(ranking[0]))
            following = events[end] if end < len(events) else None
            # A "did you mean" button sends its topic's label (bot/content/buttons.py).
            chosen = clicked_topic(str((following or {}).get("text") or ""), _content())
            taken = (
                chosen
                or ((following or {}).get("parse_data") or {}).get("intent", {}).get("name")
                == "affirm"
            )
            if following is None:
                reason = "fallback"  # the visitor has not answered (yet)
            elif not taken:
                reason = "did-you-mean not taken"
            elif chosen:
                topic = chosen
                ranked = {_topic_of(i): _confidence(i) for i in _topic_ranking(parse_data)}
                reason, guess = (
                    f"fallback; the visitor chose {topic}",
                    Guess(topic, ranked.get(topic)),
                )
            else:
                reason = "fallback; the visitor accepted the suggestion"
        elif (parse_data.get("intent") or {}).get("name") == FALLBACK_INTENT:
            reason = "fallback"
        else:
            low = _low_confidence(parse_data, thresholds)
            if low is None:
                continue
            reason = f"low confidence {low:.2f}"
        timestamp = float(event.get("timestamp") or 0.0)
        items.append(
            InboxItem(
                key=message_key(sender_id, timestamp),
                received_at=dt.datetime.fromtimestamp(timestamp, dt.timezone.utc),
                text=mask(text, region=region, **details),
                reason=reason,
                guess=guess,
            )
        )
    return items


# --- The inbox --------------------------------------------------------------------------------


def _conversations(session: Session) -> Iterator[tuple[str, float]]:
    """(sender_id, time of its last event), most recently active first."""
    last = sa.func.max(EVENTS.c.timestamp).label("last")
    query = sa.select(EVENTS.c.sender_id, last).group_by(EVENTS.c.sender_id).order_by(last.desc())
    for sender_id, when in session.execute(query):
        yield sender_id, float(when or 0.0)


def _events(session: Session, sender_id: str) -> list[dict]:
    query = (
        sa.select(EVENTS.c.data)
        .where(EVENTS.c.sender_id == sender_id)
        .order_by(EVENTS.c.timestamp, EVENTS.c.id)
    )
    return [json.loads(data) for (data,) in session.execute(query)]


def _decided_keys(session: Session) -> set[str]:
    return set(session.execute(sa.select(InboxDecision.key)).scalars())


def inbox_messages(session: Session, limit: int = 100) -> list[InboxItem]:
    """Undecided inbox messages, newest first, at most `limit`."""
    decided = _decided_keys(session)
    found: list[InboxItem] = []
    conversations = _conversations_with_items(session)
    for last, items in conversations:
        # Conversations come most recently active first: once `limit` messages are newer than
        # everything a conversation can hold, the rest cannot make the list.
        if len(found) >= limit and found[limit - 1].received_at.timestamp() > last:
            break
        found += [item for item in items if item.key not in decided]
        found.sort(key=lambda item: item.received_at, reverse=True)
    return found[:limit]


def _region() -> str:
    return get_settings().phone_region


def _conversations_with_items(session: Session) -> Iterator[tuple[float, list[InboxItem]]]:
    if not sa.inspect(session.connection()).has_table("events"):
        return
    settings = get_settings()
    thresholds = configured_thresholds(settings.content_root / "config.yml")
    for sender_id, last in _conversations(session):
        events = _events(session, sender_id)
        yield last, conversation_items(sender_id, events, thresholds, settings.phone_region)


def find_item(session: Session, key: str) -> InboxItem | None:
    """The inbox message with this key, if it is (still) in the tracker store and undecided or
    not. Only the conversation that holds it is read."""
    if not sa.inspect(session.connection()).has_table("events"):
        return None
    messages = sa.select(EVENTS.c.sender_id, EVENTS.c.timestamp).where(EVENTS.c.type_name == "user")
    for sender_id, timestamp in session.execute(messages):
        if message_key(sender_id, float(timestamp)) != key:
            continue
        settings = get_settings()
        thresholds = configured_thresholds(settings.content_root / "config.yml")
        items = conversation_items(
            sender_id, _events(session, sender_id), thresholds, settings.phone_region
        )
        return next((item for item in items if item.key == key), None)
    return None


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
