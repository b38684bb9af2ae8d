"""End to end through the running Rasa server's REST channel, with the real action server:
a personal question reaches the care team's database with its transcript, on SQLite and on
PostgreSQL (where the Rasa tracker store lives too)."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import sqlalchemy as sa

from bot.db.session import session_scope
from bot.desk.handoffs import get_handoff, list_handoffs
from tests.system.conftest import say

pytestmark = pytest.mark.slow


def test_personal_question_reaches_the_care_team_with_the_transcript(servers):
    rasa_url, database_url = servers
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    question = "I'm on lithium for bipolar, would ketamine therapy be safe for me?"

    offer = say(rasa_url, sender, question)
    assert "clinician" in offer and "care team" in offer
    assert "What name" in say(rasa_url, sender, "yes please")
    assert "phone number or email" in say(rasa_url, sender, "Ana Ruiz")
    consent_question = say(rasa_url, sender, "555 123 4567")
    assert "Ana Ruiz" in consent_question and "+15551234567" in consent_question
    confirmation = say(rasa_url, sender, "yes")
    reference = re.search(r"KAP-[0-9A-Z]{6}", confirmation).group(0)
    assert "weekdays 8 to 4" in confirmation

    with session_scope(database_url) as session:
        handoff = get_handoff(session, reference)
        assert handoff is not None
        assert (handoff.reason, handoff.status, handoff.conversation_id) == (
            "eligibility",
            "open",
            sender,
        )
        assert handoff.question == question
        assert (handoff.contact_name, handoff.contact_phone) == ("Ana Ruiz", "+15551234567")
        assert handoff.contact_consent is True
        user_turns = [t for t in handoff.turns if t.speaker == "user"]
        assert [t.text for t in user_turns] == [
            question,
            "yes please",
            "Ana Ruiz",
            "555 123 4567",
            "yes",
        ]
        assert user_turns[0].intent == "eligibility" and user_turns[0].confidence > 0
        assert any(t.speaker == "bot" and "clinician" in t.text for t in handoff.turns)


def test_no_to_the_offer_stores_nothing_and_gives_the_phone_number(servers):
    rasa_url, database_url = servers
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    say(rasa_url, sender, "can I do KAP while pregnant?")
    reply = say(rasa_url, sender, "no thanks")
    assert "(555) 777-1234" in reply
    with session_scope(database_url) as session:
        assert [h for h in list_handoffs(session) if h.conversation_id == sender] == []


def test_crisis_reply_comes_first_and_staff_get_an_urgent_handoff(servers):
    rasa_url, database_url = servers
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    reply = say(rasa_url, sender, "i don't want to live anymore")
    assert "988" in reply and "911" in reply
    deadline = time.monotonic() + 30
    urgent = []
    while not urgent and time.monotonic() < deadline:
        with session_scope(database_url) as session:
            urgent = [
                (h.reason, h.urgency)
                for h in list_handoffs(session, reason="crisis")
                if h.conversation_id == sender
            ]
        time.sleep(0.2)
    assert urgent == [("crisis", "urgent")]


def test_the_conversation_itself_is_kept_in_the_tracker_store(servers):
    rasa_url, database_url = servers
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    say(rasa_url, sender, "will it damage my bladder?")
    engine = sa.create_engine(database_url, future=True)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
            {"s": sender},
        ).all()
    engine.dispose()
    assert any("will it damage my bladder?" in row.data for row in rows if row.type_name == "user")
    assert "bot" in [row.type_name for row in rows]
