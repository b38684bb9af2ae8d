"""The review inbox reads real conversations from Rasa's SQL tracker store (SQLite and
PostgreSQL), masks them, and records each editor's decision once."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.audit import recent_entries
from bot.content.editing import ContentEditError, ContentProject
from bot.content.model import load_content
from bot.db.session import session_scope
from bot.inbox import InboxError, assign, dismiss, inbox_messages, message_key
from tests.content.conftest import copy_project
from tests.db.conversations import FALLBACK, Conversation


@pytest.fixture
def store(database_url, environment, tmp_path):
    environment(DATABASE_URL=database_url, KAPBOT_VAR_DIR=str(tmp_path / "var"))
    yield SQLTrackerStore(domain=Domain.empty(), host=database_url)
    # Rasa's own table: the run's PostgreSQL database is shared with the other tests.
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS events"))
    engine.dispose()


@pytest.fixture
def project(tmp_path):
    return ContentProject(copy_project(tmp_path / "project"), rasa_validation=False)


async def test_inbox_lists_unsure_turns_newest_first_and_nothing_else(store, database_url):
    confident = Conversation(minute=0)
    confident.says("is it addictive", "faq", 0.99, topics=[("dependence", 0.97)])
    confident.bot("utter_faq", "utter_faq/dependence")
    await confident.save(store)

    refused = Conversation(minute=1)  # "did you mean", then "Something else"
    asked = refused.says(
        "the ketamine thing", **FALLBACK, ranking=[("faq", 0.3)], topics=[("cost", 0.31)]
    )
    refused.did_you_mean()
    refused.says(load_content().messages["none_of_these"], "out_of_scope", 1.0)
    refused.bot("action_two_stage_fallback", "utter_ask_rephrase")
    await refused.save(store)

    chose = Conversation(minute=2)  # "did you mean", then a topic button
    chose.says("money stuff", **FALLBACK, topics=[("cost", 0.4), ("dosage", 0.2)])
    chose.did_you_mean()
    chose.says(load_content().topic("dosage").label, "faq", 1.0, topics=[("dosage", 1.0)])
    chose.bot("utter_faq", "utter_faq/dosage")
    await chose.save(store)

    unsure_topic = Conversation(minute=3)  # confident "faq", unsure which topic
    unsure_topic.says("how long is a course", "faq", 0.95, topics=[("onset", 0.2), ("cost", 0.1)])
    unsure_topic.bot("utter_faq", "utter_faq/onset")
    unsure_topic.says("thanks", "thanks", 0.99)
    unsure_topic.bot("utter_thanks", "utter_thanks")
    await unsure_topic.save(store)

    with session_scope(database_url) as session:
        items = inbox_messages(session)
    assert [(i.text, i.reason) for i in items] == [
        ("how long is a course", "low confidence 0.20"),
        ("money stuff", "fallback; the visitor chose dosage"),
        ("the ketamine thing", "did-you-mean not taken"),
    ]
    assert [(i.guess.label, i.guess.confidence) for i in items] == [
        ("onset", 0.2),
        ("dosage", 0.2),
        ("cost", 0.31),
    ]
    assert items[2].key == message_key(refused.sender, asked)
    assert items[2].received_at == dt.datetime.fromtimestamp(asked, dt.timezone.utc)
    with session_scope(database_url) as session:
        assert [i.text for i in inbox_messages(session, limit=1)] == ["how long is a course"]


async def test_personal_details_are_masked_and_form_answers_left_out(store, database_url):
    visitor = Conversation(minute=5)
    visitor.says("can I do this if I take lithium", "eligibility", 1.0)
    visitor.bot("utter_handoff_offer_eligibility", "utter_handoff_offer_eligibility")
    visitor.says("yes", "affirm", 0.99)
    visitor.bot("handoff_form", "utter_ask_contact_name")
    visitor.says("ana maría ruiz", **FALLBACK)  # the form's question answered: not in the inbox
    visitor.fills("contact_name", "ana maría ruiz")
    visitor.fills("contact_name", "Ana María Ruiz")  # what the form's validator kept
    visitor.bot("handoff_form", "utter_ask_contact_detail")
    visitor.says("5553217788", "inform", 0.4)
    visitor.fills("contact_detail", "+15553217788")
    visitor.bot("handoff_form", "utter_ask_contact_consent")
    visitor.says(
        "ruiz here again, my sister María asks: reach her on +44 20 7946 0958 or "
        "maria@example.org about B-7KQ2M9XA?",
        **FALLBACK,
    )
    visitor.did_you_mean()
    await visitor.save(store)

    with session_scope(database_url) as session:
        [item] = inbox_messages(session)
    assert item.text == (
        "NAME here again, my sister NAME asks: reach her on PHONE or EMAIL about REFERENCE?"
    )
    assert item.reason == "fallback"  # the visitor has not answered the suggestions yet


async def test_assigning_adds_the_masked_text_as_an_example_once(store, database_url, project):
    visitor = Conversation(minute=7)
    visitor.says("I'm Jo, what will my bill be", **FALLBACK, topics=[("cost", 0.3)])
    visitor.did_you_mean()
    visitor.says("how much is it then", "faq", 0.9, topics=[("cost", 0.9)])
    visitor.bot("utter_faq", "utter_faq/cost")
    await visitor.save(store)
    with session_scope(database_url) as session:
        [item] = inbox_messages(session)

    with session_scope(database_url) as session:
        assign(session, item.key, "cost", "editor-ann", project=project)
    assert project.get_topic("cost").examples[-1] == "I'm NAME, what will my bill be"
    with session_scope(database_url) as session:
        assert inbox_messages(session) == []
        with pytest.raises(InboxError, match="already assigned to cost by editor-ann on "):
            assign(session, item.key, "dosage", "editor-bob", project=project)
        with pytest.raises(InboxError, match="already assigned to cost by editor-ann"):
            dismiss(session, item.key, "editor-bob")
        [entry] = [e for e in recent_entries(session) if e.action.startswith("inbox.")]
        assert (entry.actor, entry.action, entry.target) == ("editor-ann", "inbox.assign", item.key)
        assert "Jo" not in (entry.detail or "") and "bill" not in (entry.detail or "")


async def test_a_refused_example_records_no_decision(store, database_url, project):
    visitor = Conversation(minute=9)
    visitor.says("what is KAP?", **FALLBACK)  # already an example of what_is_kap
    visitor.says("can my labrador come along", **FALLBACK)
    await visitor.save(store)
    with session_scope(database_url) as session:
        items = {i.text: i for i in inbox_messages(session)}

    with pytest.raises(ContentEditError) as refused:
        with session_scope(database_url) as session:
            assign(session, items["what is KAP?"].key, "cost", "editor-ann", project=project)
    assert refused.value.field_problems["examples"] == [
        "“what is KAP?” is already an example of the topic what_is_kap."
    ]
    with session_scope(database_url) as session:
        with pytest.raises(InboxError, match="“parking” is not a topic or an outcome"):
            assign(
                session,
                items["can my labrador come along"].key,
                "parking",
                "editor-ann",
                project=project,
            )
        with pytest.raises(InboxError, match="There is no message nope in the inbox"):
            dismiss(session, "nope", "editor-ann")
        dismiss(session, items["what is KAP?"].key, "editor-ann")
    with session_scope(database_url) as session:
        assert [i.text for i in inbox_messages(session)] == ["can my labrador come along"]
        assign(
            session,
            items["can my labrador come along"].key,
            "out_of_scope",
            "editor-ann",
            project=project,
        )
    assert "- can my labrador come along\n" in project.files.nlu.read_text()


def test_an_empty_tracker_store_gives_an_empty_inbox(database_url):
    with session_scope(database_url) as session:
        assert inbox_messages(session) == []
