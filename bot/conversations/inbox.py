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
  `unanswered`; listed from the handoff itself if the conversation is gone).
Confident errors reach the editors this way too. A message listed for several reasons is one
entry with all of them. Button clicks and answers to a form's questions (a name, a phone
number) are not questions and never appear. Personal details are masked (bot/desk/masking.py) before
any text leaves this module. Decisions are kept in kap_inbox_decisions, by key, so a decided
message does not come back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.content.buttons import clicked_topic
from bot.content.checks import EDITOR_REFUSED
from bot.content.editing import ContentProject, clean_example
from bot.content.model import current
from bot.content.outcomes import INTENT_OUTCOMES, OUTCOMES, outcome_of_response
from bot.conversations import follow_ups
from bot.conversations.answer_feedback import down_votes
from bot.db.models import Handoff, InboxDecision, utc_now
from bot.desk import audit
from bot.desk.masking import mask
from bot.models.evaluation import is_topic
from bot.models.tuning import Thresholds, configured_thresholds
from bot.settings import get_settings

FALLBACK_INTENT = "nlu_fallback"
FAQ_INTENT = "faq"
DID_YOU_MEAN_RESPONSE = "utter_did_you_mean"
DID_YOU_MEAN_ACTION = "action_default_ask_affirmation"
# Slots whose values are the visitor's personal details (domain.yml's forms).
NAME_SLOTS = ("contact_name", "booking_name")
PHONE_SLOTS = ("booking_phone", "cancel_phone")
EMAIL_SLOTS = ("booking_email",)
EITHER_SLOTS = ("contact_detail",)  # a phone number or an email address
# Answers whose follow-up is checked: a topic, or the bot saying it cannot answer.
ANSWERS_WITHOUT_A_TOPIC = ("out_of_scope", "unanswered")
# "At once": a follow-up later than this is a new question, not a reaction to the answer.
FOLLOW_UP_SECONDS = 600
UNANSWERED_REASON = "unanswered"  # the handoff reason of a question the article does not cover
NOT_HELPFUL = "marked not helpful (👎)"
HANDED_OVER = "not covered by the article; passed to the care team"

# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py), read only.
EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


class InboxError(ValueError):
    """A decision that cannot be made; the message says why in plain words."""


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


def _answer(events: list[dict]) -> str | None:
    """The outcome of the first bot message among `events` (one turn): a topic id or an
    outcome (bot/content/outcomes.py)."""
    for event in events:
        if event.get("event") == "bot":
            outcome = outcome_of_response((event.get("metadata") or {}).get("utter_action"))
            if outcome:
                return outcome
    return None


def _is_question(events: list[dict], index: int) -> bool:
    """A visitor message typed as a question: not empty, not a /intent, not a "did you mean"
    button, not an answer to a form's question."""
    event = events[index]
    text = str(event.get("text") or "")
    if event.get("event") != "user" or not text.strip() or text.startswith("/"):
        return False
    return not _answered_a_form(events, index)


def _chose_a_suggestion(events: list[dict], index: int) -> bool:
    """The message at `index` is a "did you mean" button (its topic's label, clicked or typed)
    answering the suggestions of the turn before."""
    previous = max((i for i in range(index) if events[i].get("event") == "user"), default=None)
    if previous is None or not _offered_did_you_mean(events[previous + 1 : index]):
        return False
    # current(): the labels of the bot's buttons, a published model's new topics included.
    return clicked_topic(str(events[index].get("text") or ""), current()) is not None


def _top_topic(parse_data: dict) -> str | None:
    if (parse_data.get("intent") or {}).get("name") != FAQ_INTENT:
        return None
    ranking = _topic_ranking(parse_data)
    return _topic_of(ranking[0]) if ranking else None


def _doubted_answer(events: list[dict], index: int, end: int) -> tuple[str, str] | None:
    """(answer, why) when the bot answered the question at `index` confidently (a topic, or
    that it cannot answer) and the visitor's next message, at once, casts doubt on it."""
    answer = _answer(events[index + 1 : end])
    if answer is None or not (is_topic(answer, OUTCOMES) or answer in ANSWERS_WITHOUT_A_TOPIC):
        return None
    if end >= len(events):
        return None
    question, following = events[index], events[end]
    text = str(following.get("text") or "")
    waited = float(following.get("timestamp") or 0) - float(question.get("timestamp") or 0)
    if not text.strip() or text.startswith("/") or waited > FOLLOW_UP_SECONDS:
        return None
    parse_data = following.get("parse_data") or {}
    why = follow_ups.judge(
        str(question.get("text") or ""),
        answer if is_topic(answer, OUTCOMES) else None,
        text,
        (parse_data.get("intent") or {}).get("name"),
        _top_topic(parse_data),
    )
    if answer == "unanswered" and why == follow_ups.ASKED_FOR_A_PERSON:
        return None  # the bot offered a person itself: asking for one is the expected reply
    return (answer, why) if why else None


def _question_answered_with(events: list[dict], topic: str, before: float) -> int | None:
    """Index of the visitor's question whose answer was `topic`, the latest one before the
    time `before` (a vote comes after the answer), or the latest at all."""
    latest = latest_before = None
    for index, event in enumerate(events):
        if event.get("event") != "user":
            continue
        if _answer(events[index + 1 : _turn_end(events, index)]) != topic:
            continue
        latest = index
        if float(event.get("timestamp") or 0) <= before:
            latest_before = index
    found = latest_before if latest_before is not None else latest
    # A "did you mean" button click: the question is the message it answered.
    if found is not None and _chose_a_suggestion(events, found):
        earlier = [i for i in range(found) if events[i].get("event") == "user"]
        found = earlier[-1] if earlier else found
    return found


def _handed_over_question(events: list[dict], handoff: Handoff) -> int | None:
    """Index of the message the `unanswered` handoff passed on: its question, the latest one
    sent before the handoff was made."""
    made = handoff.created_at.timestamp() if handoff.created_at else float("inf")
    found = None
    for index, event in enumerate(events):
        if event.get("event") == "user" and str(event.get("text") or "") == handoff.question:
            if found is None or float(event.get("timestamp") or 0) <= made:
                found = index
    return found


def conversation_items(
    sender_id: str,
    events: list[dict],
    thresholds: Thresholds,
    region: str = "US",
    *,
    down_votes: list[tuple[str, dt.datetime]] = (),
    handoffs: list[Handoff] = (),
) -> list[InboxItem]:
    """The inbox messages of one conversation (its events in order, Rasa's dict form), with
    its 👎 votes as (topic, time) and its `unanswered` handoffs."""
    details = _personal_details(events)
    found: dict[int, tuple[list[str], Guess | None]] = {}  # event index -> (reasons, guess)

    def add(index: int, reason: str, guess: Guess | None) -> None:
        reasons = found.setdefault(index, ([], guess))[0]
        if reason not in reasons:
            reasons.append(reason)

    for index, (reason, guess) in _unsure_messages(events, thresholds):
        add(index, reason, guess)
    for index, event in enumerate(events):
        if not _is_question(events, index) or _chose_a_suggestion(events, index):
            continue
        doubted = _doubted_answer(events, index, _turn_end(events, index))
        if doubted:
            answer, why = doubted
            topic = _topic_confidence(event.get("parse_data") or {}, answer)
            add(index, f"answered {answer}, then {why}", Guess(answer, topic))
    for topic, at in down_votes:
        index = _question_answered_with(events, topic, at.timestamp())
        if index is not None:
            confidence = _topic_confidence(events[index].get("parse_data") or {}, topic)
            add(index, NOT_HELPFUL, Guess(topic, confidence))
    for handoff in handoffs:
        index = _handed_over_question(events, handoff)
        if index is not None:
            add(index, HANDED_OVER, Guess(UNANSWERED_REASON, None))

    items = []
    for index in sorted(found):
        reasons, guess = found[index]
        event = events[index]
        timestamp = float(event.get("timestamp") or 0.0)
        items.append(
            InboxItem(
                key=message_key(sender_id, timestamp),
                received_at=dt.datetime.fromtimestamp(timestamp, dt.timezone.utc),
                text=mask(str(event.get("text") or ""), region=region, **details),
                reason="; ".join(reasons),
                guess=guess,
            )
        )
    return items


def _topic_confidence(parse_data: dict, topic: str) -> float | None:
    ranked = {_topic_of(i): _confidence(i) for i in _topic_ranking(parse_data)}
    if topic in ranked:
        return ranked[topic]
    return _confidence(parse_data.get("intent") or {})


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


def _unsure_messages(
    events: list[dict], thresholds: Thresholds
) -> Iterator[tuple[int, tuple[str, Guess | None]]]:
    """(index, (reason, guess)) of the messages the bot was unsure about."""
    for index, event in enumerate(events):
        if not _is_question(events, index):
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
            chosen = clicked_topic(str((following or {}).get("text") or ""), current())
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
        yield index, (reason, guess)


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


def _unanswered_handoffs(session: Session) -> dict[str, list[Handoff]]:
    """Conversation id -> its handoffs of questions the article does not cover."""
    found: dict[str, list[Handoff]] = {}
    query = sa.select(Handoff).where(Handoff.reason == UNANSWERED_REASON)
    for handoff in session.execute(query).scalars():
        found.setdefault(handoff.conversation_id, []).append(handoff)
    return found


class _Sources:
    """What the inbox reads besides the tracker store, read once per listing."""

    def __init__(self, session: Session) -> None:
        settings = get_settings()
        self.region = settings.phone_region
        self.thresholds = configured_thresholds(settings.content_root / "config.yml")
        self.down_votes = down_votes(session)
        self.handoffs = _unanswered_handoffs(session)

    def items(self, sender_id: str, events: list[dict]) -> list[InboxItem]:
        return conversation_items(
            sender_id,
            events,
            self.thresholds,
            self.region,
            down_votes=self.down_votes.get(sender_id, []),
            handoffs=self.handoffs.get(sender_id, []),
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


def _has_events(session: Session) -> bool:
    return sa.inspect(session.connection()).has_table("events")


def inbox_messages(session: Session, limit: int = 100) -> list[InboxItem]:
    """Undecided inbox messages, newest first, at most `limit`."""
    decided = _decided_keys(session)
    sources = _Sources(session)
    conversations = list(_conversations(session)) if _has_events(session) else []
    found = [
        item
        for item in sources.orphan_handoff_items({sender for sender, _ in conversations})
        if item.key not in decided
    ]
    found.sort(key=lambda item: item.received_at, reverse=True)
    for sender_id, last in conversations:
        # Conversations come most recently active first: once `limit` messages are newer than
        # everything a conversation can hold, the rest cannot make the list.
        if len(found) >= limit and found[limit - 1].received_at.timestamp() > last:
            break
        items = sources.items(sender_id, _events(session, sender_id))
        found += [item for item in items if item.key not in decided]
        found.sort(key=lambda item: item.received_at, reverse=True)
    return found[:limit]


def _region() -> str:
    return get_settings().phone_region


def find_item(session: Session, key: str) -> InboxItem | None:
    """The inbox message with this key, if it is (still) in the tracker store (or, for an
    `unanswered` handoff whose conversation is gone, in the handoffs), decided or not. Only the
    conversation that holds it is read."""
    sources = _Sources(session)
    senders: set[str] = set()
    if _has_events(session):
        messages = sa.select(EVENTS.c.sender_id, EVENTS.c.timestamp).where(
            EVENTS.c.type_name == "user"
        )
        for sender_id, timestamp in session.execute(messages):
            senders.add(sender_id)
            if message_key(sender_id, float(timestamp)) != key:
                continue
            items = sources.items(sender_id, _events(session, sender_id))
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
