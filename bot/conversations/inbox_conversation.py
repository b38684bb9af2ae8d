"""Which messages of one conversation belong in the review inbox, and why (the list is in
bot/conversations/inbox.py's docstring): read from the conversation's events as Rasa stored
them, in its dict form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from typing import Any

from bot.content.buttons import clicked_topic
from bot.content.model import current
from bot.content.outcomes import INTENT_OUTCOMES, OUTCOMES, outcome_of_response
from bot.conversations import follow_ups
from bot.conversations.inbox_entries import (
    HANDED_OVER,
    NOT_HELPFUL,
    SENT_FROM_GAPS,
    UNANSWERED_REASON,
    Guess,
    InboxItem,
    message_key,
)
from bot.db.models import Handoff
from bot.desk.masking import mask
from bot.models.evaluation import is_topic
from bot.models.tuning import Thresholds

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


def topic_ranking(parse_data: dict) -> list[dict]:
    return ((parse_data.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("ranking") or []


def topic_of(item: dict) -> str:
    return str(item.get("intent_response_key", "")).split("/", 1)[-1]


def best_guess(parse_data: dict) -> Guess | None:
    """The likeliest label for a message: its best-ranked intent that names a topic (then the
    likeliest topic) or an outcome."""
    for intent in parse_data.get("intent_ranking") or []:
        name = intent.get("name")
        if name == FAQ_INTENT:
            ranking = topic_ranking(parse_data)
            if ranking:
                return Guess(topic_of(ranking[0]), _confidence(ranking[0]))
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
        ranking = topic_ranking(parse_data)
        top = float(ranking[0].get("confidence") or 0.0) if ranking else 0.0
        if top < thresholds.topic:
            return top
    return None


def turn_end(events: list[dict], start: int) -> int:
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


def offered_did_you_mean(events: list[dict]) -> bool:
    for event in events:
        if event.get("event") == "action" and event.get("name") == DID_YOU_MEAN_ACTION:
            return True
        metadata = event.get("metadata") or {}
        if event.get("event") == "bot" and metadata.get("utter_action") == DID_YOU_MEAN_RESPONSE:
            return True
    return False


def personal_details(events: list[dict]) -> dict[str, set[str]]:
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


def answer_outcome(events: list[dict]) -> str | None:
    """The outcome of the first bot message among `events` (one turn): a topic id or an
    outcome (bot/content/outcomes.py)."""
    for event in events:
        if event.get("event") == "bot":
            outcome = outcome_of_response((event.get("metadata") or {}).get("utter_action"))
            if outcome:
                return outcome
    return None


def is_question(events: list[dict], index: int) -> bool:
    """A visitor message typed as a question: not empty, not a /intent, not a "did you mean"
    button, not an answer to a form's question."""
    event = events[index]
    text = str(event.get("text") or "")
    if event.get("event") != "user" or not text.strip() or text.startswith("/"):
        return False
    return not _answered_a_form(events, index)


def chose_a_suggestion(events: list[dict], index: int) -> bool:
    """The message at `index` is a "did you mean" button (its topic's label, clicked or typed)
    answering the suggestions of the turn before."""
    previous = max((i for i in range(index) if events[i].get("event") == "user"), default=None)
    if previous is None or not offered_did_you_mean(events[previous + 1 : index]):
        return False
    # current(): the labels of the bot's buttons, a published model's new topics included.
    return clicked_topic(str(events[index].get("text") or ""), current()) is not None


def _top_topic(parse_data: dict) -> str | None:
    if (parse_data.get("intent") or {}).get("name") != FAQ_INTENT:
        return None
    ranking = topic_ranking(parse_data)
    return topic_of(ranking[0]) if ranking else None


def _doubted_answer(events: list[dict], index: int, end: int) -> tuple[str, str] | None:
    """(answer, why) when the bot answered the question at `index` confidently (a topic, or
    that it cannot answer) and the visitor's next message, at once, casts doubt on it."""
    answer = answer_outcome(events[index + 1 : end])
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
        if answer_outcome(events[index + 1 : turn_end(events, index)]) != topic:
            continue
        latest = index
        if float(event.get("timestamp") or 0) <= before:
            latest_before = index
    found = latest_before if latest_before is not None else latest
    # A "did you mean" button click: the question is the message it answered.
    if found is not None and chose_a_suggestion(events, found):
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
    requested: Collection[float] = (),
) -> list[InboxItem]:
    """The inbox messages of one conversation (its events in order, Rasa's dict form), with
    its 👎 votes as (topic, time), its `unanswered` handoffs and the times of the messages an
    editor sent to the inbox from the gap report."""
    details = personal_details(events)
    found: dict[int, tuple[list[str], Guess | None]] = {}  # event index -> (reasons, guess)

    def add(index: int, reason: str, guess: Guess | None) -> None:
        reasons = found.setdefault(index, ([], guess))[0]
        if reason not in reasons:
            reasons.append(reason)

    for index, (reason, guess) in _unsure_messages(events, thresholds):
        add(index, reason, guess)
    for index, event in enumerate(events):
        if not is_question(events, index) or chose_a_suggestion(events, index):
            continue
        doubted = _doubted_answer(events, index, turn_end(events, index))
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
    wanted = set(requested)
    for index, event in enumerate(events):
        if event.get("event") == "user" and float(event.get("timestamp") or 0) in wanted:
            add(index, SENT_FROM_GAPS, best_guess(event.get("parse_data") or {}))

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
    ranked = {topic_of(i): _confidence(i) for i in topic_ranking(parse_data)}
    if topic in ranked:
        return ranked[topic]
    return _confidence(parse_data.get("intent") or {})


def _unsure_messages(
    events: list[dict], thresholds: Thresholds
) -> Iterator[tuple[int, tuple[str, Guess | None]]]:
    """(index, (reason, guess)) of the messages the bot was unsure about."""
    for index, event in enumerate(events):
        if not is_question(events, index):
            continue
        parse_data = event.get("parse_data") or {}
        guess = best_guess(parse_data)
        end = turn_end(events, index)
        if offered_did_you_mean(events[index + 1 : end]):
            # The bot's suggestions were the likeliest topics, whatever the intent ranking says.
            ranking = topic_ranking(parse_data)
            if ranking:
                guess = Guess(topic_of(ranking[0]), _confidence(ranking[0]))
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
                ranked = {topic_of(i): _confidence(i) for i in topic_ranking(parse_data)}
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
