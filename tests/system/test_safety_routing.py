"""Safety routing end to end, through the running Rasa server's REST channel with the real action
server: emergencies in any wording get the emergency reply first; questions that turn on
someone's medications, conditions or circumstances go to staff, personal or not; on-topic
questions the article does not cover are said so and can be passed on (reason `unanswered`); a
message in another language gets "English only", never a guess."""

from __future__ import annotations

import re
import uuid

import pytest

from bot.db.session import session_scope
from bot.desk.handoffs import get_handoff, list_handoffs
from tests.system.conftest import exchange, say

pytestmark = pytest.mark.slow

CRISIS_OPENING = "If you are in immediate danger or this is a medical emergency, call 911"
CLINIC_PHONE = "(555) 777-1234"  # tests/system/conftest.py

EMERGENCIES = [
    "took too many",
    "i took 3 at once",
    "I took a double dose by accident",
    "i took too many of my lozenges and now my chest hurts",
    "my friend is having a bad trip right now what do I do",
    "my husband is struggling to breathe",
    "my chest really hurts",
    "she fainted and isn't responding",
    "he's having a seizure",
]
ELIGIBILITY = [
    "is it safe while breastfeeding?",
    "Can you take ketamine on SSRIs?",
    "does lithium interact with ketamine?",
    "is it safe for someone who has bipolar disorder?",
    "can people with heart disease do KAP?",
    "will I qualify?",
    "am I a candidate?",
    "is there an age limit for KAP?",
]
GENERAL = ["how safe is KAP?", "does ketamine raise blood pressure?", "is ketamine addictive?"]


def _sender() -> str:
    return f"visitor-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("text", EMERGENCIES)
def test_an_emergency_in_any_wording_gets_the_emergency_reply_first(servers, text):
    rasa_url, _ = servers
    messages = exchange(rasa_url, _sender(), text)
    assert messages and messages[0]["text"].startswith(CRISIS_OPENING), (text, messages)


@pytest.mark.parametrize("text", ELIGIBILITY)
def test_a_question_that_turns_on_someone_goes_to_staff_personal_or_not(servers, text):
    rasa_url, _ = servers
    reply = say(rasa_url, _sender(), text)
    assert "clinician" in reply and "care team" in reply, (text, reply)


@pytest.mark.parametrize("text", GENERAL)
def test_general_questions_keep_their_topic_answer(servers, text):
    rasa_url, _ = servers
    reply = say(rasa_url, _sender(), text)
    assert "Source: How Safe Is KAP?" in reply and "clinician has to" not in reply, (text, reply)


def test_an_unanswered_question_is_offered_to_the_care_team_and_recorded(servers):
    rasa_url, database_url = servers
    sender = _sender()
    question = "can I drink alcohol the evening after my session?"

    [offer] = exchange(rasa_url, sender, question)
    assert "article doesn't cover that" in offer["text"] and "care team" in offer["text"]
    assert [b["title"] for b in offer["buttons"]] == ["Yes, please", "No, thanks"]
    assert "What name" in say(rasa_url, sender, "Yes, please")
    assert "phone number or email" in say(rasa_url, sender, "Sam Lee")
    assert "Sam Lee" in say(rasa_url, sender, "sam.lee@example.com")
    confirmation = say(rasa_url, sender, "yes")
    reference = re.search(r"KAP-[0-9A-Z]{6}", confirmation).group(0)
    assert "book a screening call" not in confirmation  # offered after eligibility only

    with session_scope(database_url) as session:
        handoff = get_handoff(session, reference)
        assert (handoff.reason, handoff.urgency, handoff.conversation_id) == (
            "unanswered",
            "normal",
            sender,
        )
        assert handoff.question == question
        assert (handoff.contact_name, handoff.contact_email) == ("Sam Lee", "sam.lee@example.com")
        assert handoff.turns[0].speaker == "user" and handoff.turns[0].intent == "unanswered"


def test_no_to_passing_on_an_unanswered_question_keeps_nothing(servers):
    rasa_url, database_url = servers
    sender = _sender()
    assert "doesn't cover" in say(rasa_url, sender, "will my insurance pay for the sessions?")
    reply = say(rasa_url, sender, "no thanks")
    assert CLINIC_PHONE in reply and "nothing will be passed" in reply
    with session_scope(database_url) as session:
        assert [h for h in list_handoffs(session) if h.conversation_id == sender] == []


def test_an_off_topic_question_keeps_the_polite_refusal(servers):
    rasa_url, _ = servers
    reply = say(rasa_url, _sender(), "what's the weather going to be like tomorrow?")
    assert "not something I can answer" in reply and "doesn't cover" not in reply


@pytest.mark.parametrize(
    ("text", "translated"),
    [
        ("Ist die Blase nach einer Ketamin-Behandlung gefährdet?", "nur auf Englisch"),
        ("¿Cuánto cuesta una sesión de terapia con ketamina?", "solo puedo responder en inglés"),
        ("这个治疗安全吗？", "我只能用英语回答"),
    ],
)
def test_another_language_gets_english_only_in_both_languages_and_no_crisis(
    servers, text, translated
):
    rasa_url, database_url = servers
    sender = _sender()
    messages = [m["text"] for m in exchange(rasa_url, sender, text)]
    assert len(messages) == 2, messages
    assert translated in messages[0] and CLINIC_PHONE in messages[0] and "911" in messages[0]
    assert "only answer in English" in messages[1] and CLINIC_PHONE in messages[1]
    assert "988" not in " ".join(messages)  # not the crisis reply
    # ... and no urgent handoff: the conversation is an ordinary one.
    with session_scope(database_url) as session:
        assert [h for h in list_handoffs(session) if h.conversation_id == sender] == []


def test_short_english_answers_are_never_taken_for_another_language(servers):
    rasa_url, _ = servers
    sender = _sender()
    assert "clinician" in say(rasa_url, sender, "can I do KAP if I'm on lithium?")
    assert "What name" in say(rasa_url, sender, "ok")
    assert "phone number or email" in say(rasa_url, sender, "Jürgen Müller")
    assert "Jürgen Müller" in say(rasa_url, sender, "555 123 4567")
