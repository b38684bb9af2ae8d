"""Confident answers that may be wrong reach the editors' inbox, end to end: conversations
through the running Rasa server's REST channel (with the real action server), votes through the
web app's /api/feedback, on SQLite and on PostgreSQL (where Rasa's tracker store lives too)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from bot.content.model import load_content
from bot.conversations.inbox import EVENTS, inbox_messages
from bot.conversations.inbox_entries import InboxItem, message_key
from bot.db.session import session_scope
from bot.settings import settings_from_env
from bot.web import create_app
from tests.conftest import free_port
from tests.system.conftest import exchange, say

pytestmark = pytest.mark.slow


def inbox_of(database_url: str, sender: str) -> list[InboxItem]:
    """The undecided inbox entries of one conversation (the servers' database is shared)."""
    with session_scope(database_url) as session:
        stamps = session.execute(
            sa.select(EVENTS.c.timestamp).where(
                EVENTS.c.sender_id == sender, EVENTS.c.type_name == "user"
            )
        ).scalars()
        keys = {message_key(sender, float(stamp)) for stamp in stamps}
        return [item for item in inbox_messages(session, limit=10_000) if item.key in keys]


def test_an_answer_marked_not_helpful_in_the_widget_reaches_the_inbox(servers, environment):
    rasa_url, database_url = servers
    environment(DATABASE_URL=database_url)
    sender = str(uuid.uuid4())  # the widget's conversation id
    # The widget shows each message the bot sends apart; the first is the answer's first part.
    answer = exchange(rasa_url, sender, "is ketamine addictive?")[0]["text"]
    assert load_content().topic("dependence").answer.split(". ")[0] in answer
    say(rasa_url, sender, "how long does a session last?")
    assert inbox_of(database_url, sender) == []  # both answered confidently

    web = create_app(
        settings_from_env({"RASA_PORT": str(free_port()), "DATABASE_URL": database_url})
    ).test_client()
    # The widget sends the text of the answer rated (one paragraph of it, on socket.io).
    voted = web.post(
        "/api/feedback",
        json={"conversation_id": sender, "answer_text": answer, "vote": "down"},
    )
    assert voted.status_code == 201, voted.get_json()

    [item] = inbox_of(database_url, sender)
    assert (item.text, item.reason) == ("is ketamine addictive?", "marked not helpful (👎)")
    assert item.guess.label == "dependence"


def test_a_confident_answer_followed_by_a_rephrase_or_a_complaint_reaches_the_inbox(
    servers, environment
):
    rasa_url, database_url = servers
    environment(DATABASE_URL=database_url)
    rephrased, complained = f"visitor-{uuid.uuid4().hex[:8]}", f"visitor-{uuid.uuid4().hex[:8]}"
    say(rasa_url, rephrased, "is ketamine addictive?")
    say(rasa_url, rephrased, "I mean, is ketamine actually addictive for people?")
    say(rasa_url, complained, "how much does kap cost")
    say(rasa_url, complained, "that's not what I asked")

    [again] = inbox_of(database_url, rephrased)
    assert (again.text, again.reason) == (
        "is ketamine addictive?",
        "answered dependence, then rephrased",
    )
    [wrong] = inbox_of(database_url, complained)
    assert (wrong.text, wrong.reason) == (
        "how much does kap cost",
        "answered cost, then not what I asked",
    )
