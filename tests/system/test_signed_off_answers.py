"""Through the running Rasa server's REST channel: visitors get only an answer a clinician
approved (bot/nlg/approved_answers.py), whatever the model holds. The servers' model holds the
project's answers; the tests change the sign-off record its content root has, as the staff
console does, and put it back. No retrain and no restart between the two."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from pathlib import Path

import pytest
import yaml

from bot.content.model import load_content
from bot.content.signoff import ledger_path
from bot.db.session import session_scope
from bot.desk.handoffs import get_handoff
from bot.files.atomic import write_atomically
from tests.system.conftest import exchange, say

pytestmark = pytest.mark.slow

QUESTION = "Can ketamine hurt your bladder?"
OLDER_TEXT = "An earlier wording of the bladder answer that a clinician approved."


@pytest.fixture
def record(servers):
    """The sign-off record of the servers' content; restored after the test."""
    path = ledger_path(Path(os.environ["KAPBOT_CONTENT_ROOT"]) / "content")
    before = path.read_text(encoding="utf-8")

    def change(**bladder_entry):
        data = yaml.safe_load(before)
        data["topics"]["bladder"] = bladder_entry
        write_atomically(path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))

    yield change
    write_atomically(path, before)


def test_a_topic_with_no_approved_answer_offers_the_care_team_and_hands_the_question_over(
    servers, record
):
    rasa_url, database_url = servers
    messages = load_content().messages
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    record()  # bladder: nothing approved, no change requested

    [reply] = exchange(rasa_url, sender, QUESTION)
    assert reply["text"] == messages["answer_under_review"]
    assert [button["title"] for button in reply["buttons"]] == ["Yes, please", "No, thanks"]

    assert "What name" in say(rasa_url, sender, "Yes, please")
    assert "phone number or email" in say(rasa_url, sender, "Ana Ruiz")
    say(rasa_url, sender, "ana@example.com")
    reference = re.search(r"KAP-[0-9A-Z]{6}", say(rasa_url, sender, "yes")).group(0)
    with session_scope(database_url) as session:
        handoff = get_handoff(session, reference)
        assert (handoff.reason, handoff.question) == ("unanswered", QUESTION)
        assert handoff.contact_email == "ana@example.com"


def test_no_to_the_offer_gives_the_clinic_number_and_the_next_answer_flows(servers, record):
    rasa_url, _ = servers
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    record()

    say(rasa_url, sender, QUESTION)
    assert "(555) 777-1234" in say(rasa_url, sender, "No, thanks")
    # Other topics' approvals stand.
    assert "Source: How Safe Is KAP?" in say(rasa_url, sender, "How long does a session last?")


def test_in_the_middle_of_a_form_it_is_said_without_the_offer_and_the_form_goes_on(servers, record):
    rasa_url, _ = servers
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    record()

    say(rasa_url, sender, "I'm on lithium, can I do KAP?")
    assert "What name" in say(rasa_url, sender, "yes please")
    reply = exchange(rasa_url, sender, QUESTION)

    assert reply[0]["text"] == load_content().messages["answer_under_review_in_form"]
    assert not any(message.get("buttons") for message in reply)
    assert "What name" in reply[-1]["text"]


def test_a_model_holding_another_text_gives_the_last_approved_one(servers, record):
    rasa_url, _ = servers
    sender = f"visitor-{uuid.uuid4().hex[:8]}"
    model_answer = load_content().topic("bladder").answer
    assert model_answer in say(rasa_url, sender, QUESTION)  # approved as the model holds it

    record(
        approved={
            "answer": OLDER_TEXT,
            "source_section": "Introduction",
            "clinician": "dr.test",
            "on": dt.date(2026, 12, 1),
        }
    )

    # The answer and its source line, as two messages (bot/channels).
    reply = [message["text"] for message in exchange(rasa_url, sender, QUESTION)]
    assert reply == [OLDER_TEXT, "Source: How Safe Is KAP? — Introduction"]
    # A yes after a real answer is the usual "what else?", not a handoff.
    assert "What would you like to know" in say(rasa_url, sender, "yes")
