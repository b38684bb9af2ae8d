"""The tracker store opens an urgent handoff when a crisis turn is saved (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

import bot.desk.handoff_delivery as handoff_delivery
from bot.db.session import session_scope
from bot.desk.handoffs import list_handoffs
from bot.stores.tracker_store import CrisisHandoffSQLTrackerStore, crisis_reference


@pytest.fixture
def store(database_url, environment, monkeypatch, tmp_path):
    environment(
        DATABASE_URL=database_url,
        KAPBOT_VAR_DIR=str(tmp_path / "var"),
        SMTP_HOST="",
        NOTIFY_EMAILS="",
        NOTIFY_WEBHOOK_URL="",
    )
    monkeypatch.setattr(handoff_delivery, "_recording", True)
    yield CrisisHandoffSQLTrackerStore(domain=Domain.empty(), host=database_url)
    # Rasa's own table: the run's PostgreSQL database is shared with the other tests.
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS events"))
    engine.dispose()


def turn(sender: str, text: str, intent: str, reply: str, response: str) -> list:
    return [
        UserUttered(text, intent={"name": intent, "confidence": 0.97}),
        ActionExecuted(response),
        BotUttered(reply, metadata={"utter_action": response}),
        ActionExecuted("action_listen"),
    ]


def conversation(*turns: list) -> DialogueStateTracker:
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    events = [ActionExecuted("action_listen")]
    for each in turns:
        events += each
    return DialogueStateTracker.from_events(sender, events)


def handoffs(url: str, sender: str):
    with session_scope(url) as session:
        return [
            h for h in list_handoffs(session, with_transcripts=True) if h.conversation_id == sender
        ]


async def test_a_saved_crisis_turn_opens_one_urgent_handoff_with_the_transcript(
    store, database_url
):
    tracker = conversation(
        turn("", "is it addictive", "faq", "Dependence is unlikely.", "utter_faq"),
        turn("", "i want to end it all", "crisis", "Call 911 or 988 now.", "utter_crisis"),
    )
    await store.save(tracker)
    handoff_delivery.wait_for_background_work()

    [handoff] = handoffs(database_url, tracker.sender_id)
    assert (handoff.reason, handoff.urgency, handoff.contact_consent) == ("crisis", "urgent", False)
    assert handoff.question == "i want to end it all"
    said = [(t.speaker, t.text) for t in handoff.turns]
    assert ("user", "i want to end it all") in said and ("bot", "Call 911 or 988 now.") in said
    assert ("user", "is it addictive") in said


async def test_saving_again_or_from_another_instance_opens_no_second_handoff(store, database_url):
    tracker = conversation(turn("", "help me", "crisis", "Call 911 or 988 now.", "utter_crisis"))
    await store.save(tracker)
    await store.save(tracker)
    other_instance = CrisisHandoffSQLTrackerStore(domain=Domain.empty(), host=database_url)
    await other_instance.save(tracker)
    handoff_delivery.wait_for_background_work()
    [handoff] = handoffs(database_url, tracker.sender_id)
    assert handoff.reference == crisis_reference(tracker.sender_id, tracker.latest_message)


async def test_other_turns_open_no_handoff(store, database_url):
    tracker = conversation(
        turn("", "i want to end it all", "crisis", "Call 911 or 988 now.", "utter_crisis"),
        turn("", "is it addictive", "faq", "Dependence is unlikely.", "utter_faq"),
    )
    # Only the latest turn counts: this save is for the FAQ answer.
    await store.save(tracker)
    handoff_delivery.wait_for_background_work()
    assert handoffs(database_url, tracker.sender_id) == []
    # And the conversation itself is stored as Rasa would store it.
    restored = await store.retrieve(tracker.sender_id)
    assert [e.text for e in restored.events if isinstance(e, UserUttered)] == [
        "i want to end it all",
        "is it addictive",
    ]
