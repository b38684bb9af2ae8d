"""What visitors get of an answer (bot/nlg/approved_answers.py): the approved text only, whatever
the model holds, and "a clinician is reviewing this answer" with a handoff offer for a topic no
clinician has approved. Rasa's own response generator and domain, a real sign-off record."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop
from rasa.shared.core.trackers import DialogueStateTracker

from bot.content.build import faq_response_name, render_responses
from bot.content.model import load_content
from bot.content.signoff import approve, ledger_path
from bot.nlg.approved_answers import ApprovedAnswerGenerator

DAY = dt.date(2026, 12, 7)
EDIT = " Drinking plenty of water is not mentioned in the article."


@pytest.fixture
def content_dir(unsigned_project_copy, environment):
    environment(KAPBOT_CONTENT_ROOT=str(unsigned_project_copy))
    return unsigned_project_copy / "content"


def generator(content_dir, without=(), **answers: str) -> ApprovedAnswerGenerator:
    """A generator over the responses of a model trained on the content, with `answers`
    (topic id -> answer text, source line included) in place of the content's and the
    responses named in `without` left out."""
    responses = render_responses(load_content(content_dir))
    for topic_id, text in answers.items():
        responses[faq_response_name(topic_id)] = [{"text": text}]
    for name in without:
        del responses[name]
    return ApprovedAnswerGenerator(domain=Domain.from_dict({"responses": responses}))


def say(nlg: ApprovedAnswerGenerator, response: str, in_form: str | None = None) -> dict:
    tracker = DialogueStateTracker("visitor", slots=[])
    if in_form:
        tracker.update(ActiveLoop(in_form))
    return asyncio.run(nlg.generate(response, tracker, "rest"))


def model_text(content_dir, topic_id: str) -> str:
    return render_responses(load_content(content_dir))[faq_response_name(topic_id)][0]["text"]


def test_a_topic_never_approved_is_under_review_with_a_handoff_offer(content_dir):
    messages = load_content(content_dir).messages

    said = say(generator(content_dir), "utter_faq/bladder")

    assert said["text"] == messages["answer_under_review"]
    assert [button["title"] for button in said["buttons"]] == [
        messages["yes_button"],
        messages["no_button"],
    ]
    assert "Source:" not in said["text"]


def test_the_approved_text_is_given_as_the_model_holds_it(content_dir):
    approve(
        content_dir, "bladder", "dr.ada", load_content(content_dir).topic("bladder").answer, DAY
    )

    said = say(generator(content_dir), "utter_faq/bladder")

    assert said["text"] == model_text(content_dir, "bladder")
    assert said["text"].endswith("Source: How Safe Is KAP? — Considering the Risks")
    # Other topics are still under review: approvals are per topic.
    assert "reviewing" in say(generator(content_dir), "utter_faq/dependence")["text"]


def test_a_model_holding_an_unapproved_edit_gives_the_approved_text(content_dir):
    bladder = load_content(content_dir).topic("bladder")
    approved, section = bladder.answer, bladder.source_section
    approve(content_dir, "bladder", "dr.ada", approved, DAY)
    answer, _, source = model_text(content_dir, "bladder").rpartition("\n\n")
    assert section != "Introduction" and source.endswith(section)
    edited = f"{answer}{EDIT}\n\n{source.replace(section, 'Introduction')}"

    said = say(generator(content_dir, bladder=edited), "utter_faq/bladder")

    assert EDIT.strip() not in said["text"]
    assert said["text"] == f"{' '.join(approved.split())}\n\n{source}"


def test_an_approval_applies_at_once_without_a_new_model(content_dir):
    nlg = generator(content_dir)
    assert "reviewing" in say(nlg, "utter_faq/bladder")["text"]

    approve(
        content_dir, "bladder", "dr.ada", load_content(content_dir).topic("bladder").answer, DAY
    )

    assert say(nlg, "utter_faq/bladder")["text"] == model_text(content_dir, "bladder")


def test_an_unreadable_record_withholds_every_answer(content_dir, caplog):
    approve(
        content_dir, "bladder", "dr.ada", load_content(content_dir).topic("bladder").answer, DAY
    )
    ledger_path(content_dir).write_text("topics: [half an edit\n", encoding="utf-8")

    with caplog.at_level(logging.ERROR):
        said = say(generator(content_dir), "utter_faq/bladder")

    assert said["text"] == load_content(content_dir).messages["answer_under_review"]
    assert "sign-off record cannot be read" in caplog.text


def test_in_the_middle_of_a_form_it_is_said_without_the_offer(content_dir):
    messages = load_content(content_dir).messages

    said = say(generator(content_dir), "utter_faq/bladder", in_form="handoff_form")

    assert said["text"] == messages["answer_under_review_in_form"]
    assert not said.get("buttons")


def test_a_model_from_before_the_message_existed_says_the_content_s(content_dir):
    nlg = generator(content_dir, without=["utter_answer_under_review"])

    said = say(nlg, "utter_faq/bladder")

    assert said["text"] == load_content(content_dir).messages["answer_under_review"]
    assert len(said["buttons"]) == 2


def test_other_responses_are_rasa_s_own(content_dir):
    said = say(generator(content_dir), "utter_greet_first")

    assert said["text"] == load_content(content_dir).messages["greet_first"]
