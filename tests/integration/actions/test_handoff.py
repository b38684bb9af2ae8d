"""The handoff actions against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import bot.desk.handoff_delivery as handoff_delivery
from actions.handoff import (
    ActionDeclineHandoff,
    ActionReplyAfterAnswer,
    ActionSubmitHandoff,
    ValidateHandoffForm,
    handoff_request,
)
from bot.content.build import render_responses
from bot.content.model import load_content
from bot.db.session import session_scope
from bot.desk.handoffs import list_handoffs

UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:9/kapbot"


def configure(environment, monkeypatch, tmp_path, database_url: str) -> None:
    environment(
        DATABASE_URL=database_url,
        KAPBOT_VAR_DIR=str(tmp_path / "var"),
        CLINIC_PHONE="(555) 777-1234",
        OFFICE_HOURS="weekdays 8 to 4",
        SMTP_HOST="",
        NOTIFY_EMAILS="",
        NOTIFY_WEBHOOK_URL="",
    )
    monkeypatch.setattr(handoff_delivery, "_recording", True)


@pytest.fixture
def handoff_database(database_url, environment, monkeypatch, tmp_path):
    configure(environment, monkeypatch, tmp_path, database_url)
    return database_url


@pytest.fixture
def unreachable_database(environment, monkeypatch, tmp_path):
    configure(environment, monkeypatch, tmp_path, UNREACHABLE_DATABASE)
    return tmp_path / "var" / "pending-handoffs.jsonl"


def conversation_events(question: str) -> list[dict]:
    now = time.time()
    return [
        {"event": "action", "name": "action_listen", "timestamp": now - 60},
        {
            "event": "user",
            "text": question,
            "timestamp": now - 50,
            "parse_data": {"intent": {"name": "eligibility", "confidence": 0.93}},
        },
        {"event": "action", "name": "utter_handoff_offer_eligibility", "timestamp": now - 49},
        {"event": "bot", "text": "A clinician has to look at that.", "timestamp": now - 49},
        {
            "event": "user",
            "text": "yes",
            "timestamp": now - 40,
            "parse_data": {"intent": {"name": "affirm", "confidence": 0.99}},
        },
        {"event": "slot", "name": "contact_name", "value": "Ana", "timestamp": now - 30},
    ]


def tracker(intent="eligibility", text="can I do KAP if I take lithium?", slots=None, events=None):
    return Tracker(
        sender_id="visitor-123",
        slots=slots or {},
        latest_message={"intent": {"name": intent, "confidence": 0.9}, "text": text},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def filled_form(consent=True, detail="+15551234567"):
    question = "can I do KAP if I take lithium?"
    return tracker(
        intent="affirm",
        text="yes",
        slots={
            "contact_name": "Ana Ruiz",
            "contact_detail": detail,
            "contact_consent": consent,
        },
        events=conversation_events(question),
    )


def stored(url: str):
    with session_scope(url) as session:
        return list_handoffs(session, with_transcripts=True)


def test_the_offer_given_tells_the_reason_and_the_question_before_it():
    events = conversation_events("can I do KAP if I take lithium?")
    assert handoff_request(events) == ("eligibility", "can I do KAP if I take lithium?")
    later = [
        *events,
        {"event": "user", "text": "can i talk to a person", "timestamp": time.time()},
        {"event": "action", "name": "utter_handoff_offer_human", "timestamp": time.time()},
    ]
    assert handoff_request(later) == ("human_request", "can i talk to a person")
    assert handoff_request([]) == ("eligibility", None)


def answer_then_reply(answer_text: str, reply_intent: str) -> list[dict]:
    """A question about a topic, the bot's answer (or the offer in its place), then yes or no."""
    now = time.time()
    return [
        {"event": "action", "name": "action_listen", "timestamp": now - 60},
        {
            "event": "user",
            "text": "Is the bladder thing real?",
            "timestamp": now - 50,
            "parse_data": {"intent": {"name": "faq", "confidence": 0.9}},
        },
        {"event": "action", "name": "utter_faq", "timestamp": now - 49},
        {
            "event": "bot",
            "text": answer_text,
            "timestamp": now - 49,
            "metadata": {"utter_action": "utter_faq/bladder"},
        },
        {
            "event": "user",
            "text": "Yes, please" if reply_intent == "affirm" else "No, thanks",
            "timestamp": now - 40,
            "parse_data": {"intent": {"name": reply_intent, "confidence": 0.99}},
        },
        {"event": "action", "name": "action_reply_after_answer", "timestamp": now - 39},
    ]


@pytest.mark.parametrize(
    ("withheld", "reply", "expected_events", "expected_response"),
    [
        (True, "affirm", [FollowupAction("handoff_form")], None),
        (
            True,
            "deny",
            [SlotSet(slot, None) for slot in ("contact_name", "contact_detail", "contact_consent")],
            "utter_handoff_declined",
        ),
        (False, "affirm", [], "utter_ask_what_next"),
        (False, "deny", [], "utter_goodbye"),
    ],
)
async def test_yes_or_no_after_an_answer_under_review_answers_the_offer_made_in_its_place(
    handoff_database, withheld, reply, expected_events, expected_response
):
    content = load_content()
    said = content.messages["answer_under_review"] if withheld else "Rarely. Source: ..."
    events = answer_then_reply(said, reply)
    dispatcher = CollectingDispatcher()
    domain = {"responses": render_responses(content)}

    returned = await ActionReplyAfterAnswer().run(
        dispatcher, tracker(intent=reply, events=events), domain
    )

    assert returned == expected_events
    assert [m["response"] for m in dispatcher.messages] == (
        [expected_response] if expected_response else []
    )
    if withheld and reply == "affirm":
        # The handoff that follows is an unanswered question, and names it (not the "yes").
        assert handoff_request(events) == ("unanswered", "Is the bladder thing real?")


async def test_no_to_the_offer_gives_the_clinic_number_and_stores_nothing(handoff_database):
    dispatcher = CollectingDispatcher()
    events = await ActionDeclineHandoff().run(dispatcher, filled_form(), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_declined"
    assert message["clinic_phone"] == "(555) 777-1234"
    assert message["office_hours"] == "weekdays 8 to 4"
    assert SlotSet("contact_name", None) in events
    assert stored(handoff_database) == []


@pytest.mark.parametrize(
    ("slot", "typed", "kept"),
    [
        ("contact_name", "I'm Ana Ruiz", "Ana Ruiz"),
        ("contact_name", "how much does it cost?", None),
        ("contact_detail", "555 123 4567", "+15551234567"),
        ("contact_detail", "ana@example.com", "ana@example.com"),
        ("contact_detail", "tomorrow", None),
    ],
)
async def test_form_keeps_valid_details_and_explains_invalid_ones(slot, typed, kept):
    dispatcher = CollectingDispatcher()
    validator = ValidateHandoffForm()
    result = await getattr(validator, f"validate_{slot}")(typed, dispatcher, tracker(), {})
    assert result == {slot: kept}
    assert bool(dispatcher.messages) == (kept is None)


async def test_consent_records_the_handoff_with_its_transcript(handoff_database):
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitHandoff().run(dispatcher, filled_form(), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_recorded"
    [handoff] = stored(handoff_database)
    assert message["reference"] == handoff.reference
    assert message["office_hours"] == "weekdays 8 to 4"
    assert (handoff.reason, handoff.urgency, handoff.status) == ("eligibility", "normal", "open")
    assert (handoff.contact_name, handoff.contact_phone, handoff.contact_email) == (
        "Ana Ruiz",
        "+15551234567",
        None,
    )
    assert handoff.contact_consent is True
    assert handoff.conversation_id == "visitor-123"
    assert [(t.speaker, t.text, t.intent) for t in handoff.turns] == [
        ("user", "can I do KAP if I take lithium?", "eligibility"),
        ("bot", "A clinician has to look at that.", None),
        ("user", "yes", "affirm"),
    ]
    assert handoff.turns[0].confidence == pytest.approx(0.93)
    assert SlotSet("contact_detail", None) in events


async def test_email_contact_is_stored_as_email(handoff_database):
    await ActionSubmitHandoff().run(
        CollectingDispatcher(), filled_form(detail="ana@example.com"), {}
    )
    [handoff] = stored(handoff_database)
    assert (handoff.contact_phone, handoff.contact_email) == (None, "ana@example.com")


async def test_without_consent_nothing_is_stored(handoff_database):
    dispatcher = CollectingDispatcher()
    await ActionSubmitHandoff().run(dispatcher, filled_form(consent=False), {})
    assert dispatcher.messages[0]["response"] == "utter_handoff_declined"
    assert stored(handoff_database) == []


async def test_database_down_visitor_is_told_and_the_handoff_is_kept(unreachable_database):
    dispatcher = CollectingDispatcher()
    await ActionSubmitHandoff().run(dispatcher, filled_form(), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_not_recorded"
    assert message["clinic_phone"] == "(555) 777-1234"
    kept = unreachable_database.read_text(encoding="utf-8")
    assert message["reference"] in kept and "Ana Ruiz" in kept


async def test_local_evaluation_records_nothing(handoff_database, monkeypatch):
    monkeypatch.setattr(handoff_delivery, "_recording", False)
    dispatcher = CollectingDispatcher()
    await ActionSubmitHandoff().run(dispatcher, filled_form(), {})
    assert dispatcher.messages[0]["response"] == "utter_handoff_recorded"
    assert stored(handoff_database) == []


async def test_a_personal_clinical_remark_mid_form_goes_along_with_the_question():
    dispatcher = CollectingDispatcher()
    result = await ValidateHandoffForm().validate_contact_name(
        "also i take lithium, is that ok?",
        dispatcher,
        tracker("eligibility", "also i take lithium, is that ok?"),
        {},
    )
    assert result == {"contact_name": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_question_added"]
