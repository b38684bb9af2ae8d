"""Clinician sign-off (bot/content/signoff.py): an answer is approved only as the exact text and
source section a clinician approved, against an article revision; editing the answer or its
section, or a revision changing that section, sets it back to awaiting sign-off; changing only
training examples does not. Publishing reads the same record (bot/models/answer_signoff.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile

import pytest
import yaml

from bot.content.article import add_revision
from bot.content.build import render_responses
from bot.content.editing import ContentProject
from bot.content.model import load_content
from bot.content.signoff import (
    APPROVED,
    AWAITING,
    CHANGES_REQUESTED,
    LEDGER_FILE,
    SignoffError,
    answer_diff,
    approve,
    ledger_path,
    request_changes,
    signoff_states,
)
from bot.models.answer_signoff import model_answers, unapproved_answers
from tests.unit.content.test_editing import save_as_is as edit

DAY = dt.date(2026, 12, 7)
RISKS = "Considering the Risks"


@pytest.fixture
def project(unsigned_project_copy):
    return ContentProject(unsigned_project_copy, rasa_validation=False)


@pytest.fixture
def content_dir(project):
    return project.files.content_dir


def answer_of(content_dir, topic_id: str) -> str:
    return load_content(content_dir).topic(topic_id).answer


def approve_all(content_dir, clinician="dr.ada") -> None:
    for topic in load_content(content_dir).topics:
        approve(content_dir, topic.id, clinician, topic.answer, today=DAY)


def test_the_record_is_not_a_training_input():
    # content/*.yml are training inputs (Makefile, tests/conftest.py): a sign-off needs no retrain.
    assert "/" in LEDGER_FILE


def test_an_answer_nobody_approved_awaits_sign_off(content_dir):
    ledger_path(content_dir).unlink(missing_ok=True)
    states = signoff_states(content_dir)
    assert set(states) == set(load_content(content_dir).topic_ids)
    assert {state.status for state in states.values()} == {AWAITING}
    assert all(state.last_approved is None for state in states.values())


def test_an_approval_names_the_clinician_the_day_and_the_article_revision(content_dir):
    approve(content_dir, "bladder", "dr.ada", answer_of(content_dir, "bladder"), today=DAY)
    state = signoff_states(content_dir)["bladder"]
    assert state.status == APPROVED
    assert state.describe() == "approved by dr.ada on 2026-12-07 against article revision 1"
    assert signoff_states(content_dir)["safety"].status == AWAITING
    written = yaml.safe_load(ledger_path(content_dir).read_text(encoding="utf-8"))
    assert written["topics"]["bladder"]["approved"]["clinician"] == "dr.ada"


def test_editing_the_answer_sets_it_back_to_awaiting_and_shows_what_changed(project, content_dir):
    approve_all(content_dir)
    before = answer_of(content_dir, "bladder")
    after = before.replace("bladder", "urinary bladder", 1)
    edit(project, "bladder", answer=after)
    state = signoff_states(content_dir)["bladder"]
    assert state.status == AWAITING
    assert state.last_approved.answer == before  # what visitors may still see
    runs = answer_diff(state.last_approved.answer, answer_of(content_dir, "bladder"))
    assert ("added", "urinary") in runs or any(k == "added" and "urinary" in t for k, t in runs)
    assert not any(kind == "removed" for kind, _ in runs)
    assert " ".join(text for kind, text in runs if kind != "removed") == after
    # The other answers are untouched.
    others = [s for t, s in signoff_states(content_dir).items() if t != "bladder"]
    assert all(state.approved for state in others)


def test_a_new_source_section_needs_sign_off_but_new_examples_do_not(project, content_dir):
    approve_all(content_dir)
    topic = project.get_topic("cost")
    edit(project, "cost", examples=[*topic.examples, "what do sessions usually run, price wise"])
    assert signoff_states(content_dir)["cost"].approved
    other = next(s for s in project.source_sections() if s != topic.source_section)
    edit(project, "cost", source_section=other)
    assert signoff_states(content_dir)["cost"].status == AWAITING


def test_a_change_request_keeps_the_last_approved_text_and_tells_the_editor_why(
    project, content_dir
):
    approve_all(content_dir)
    approved_text = answer_of(content_dir, "bladder")
    edit(project, "bladder", answer=approved_text + " Ask us anything.")
    with pytest.raises(SignoffError, match="say what should change"):
        request_changes(content_dir, "bladder", "dr.ada", answer_of(content_dir, "bladder"), " ")
    request_changes(
        content_dir, "bladder", "dr.ada", answer_of(content_dir, "bladder"), "Too casual."
    )
    state = signoff_states(content_dir)["bladder"]
    assert state.status == CHANGES_REQUESTED
    assert state.change_request.comment == "Too casual."
    assert state.last_approved.answer == approved_text
    # The editor's next text is a new one: the request was about the old.
    edit(project, "bladder", answer=approved_text + " The care team can say more.")
    state = signoff_states(content_dir)["bladder"]
    assert state.status == AWAITING and state.change_request is None
    approve(content_dir, "bladder", "dr.ada", answer_of(content_dir, "bladder"), today=DAY)
    assert signoff_states(content_dir)["bladder"].approved


def test_a_decision_on_a_text_that_changed_meanwhile_is_not_recorded(project, content_dir):
    seen = answer_of(content_dir, "bladder")
    edit(project, "bladder", answer=seen + " Ask us anything.")
    before = ledger_path(content_dir).read_bytes() if ledger_path(content_dir).exists() else None
    with pytest.raises(SignoffError, match="changed after you opened it"):
        approve(content_dir, "bladder", "dr.ada", seen, today=DAY)
    after = ledger_path(content_dir).read_bytes() if ledger_path(content_dir).exists() else None
    assert after == before
    with pytest.raises(SignoffError, match="no topic"):
        approve(content_dir, "no_such_topic", "dr.ada", seen, today=DAY)


def test_an_article_revision_changing_the_cited_section_asks_for_sign_off_again(content_dir):
    approve_all(content_dir)
    article_path = content_dir / "source" / "how-safe-is-kap.txt"
    article = article_path.read_text(encoding="utf-8")
    add_revision(
        content_dir,
        article.replace(f"\n{RISKS}\n", f"\n{RISKS}\n\nA sentence added by the clinic.\n"),
        today=DAY,
    )
    states = signoff_states(content_dir)
    citing = {t.id for t in load_content(content_dir).topics if t.source_section == RISKS}
    assert citing
    assert {t for t, s in states.items() if not s.approved} == citing
    for topic_id in citing:
        assert "article changed since approval (revision 2)" in states[topic_id].describe()
    topic_id = sorted(citing)[0]
    approve(content_dir, topic_id, "dr.ada", answer_of(content_dir, topic_id), today=DAY)
    again = signoff_states(content_dir)[topic_id]
    assert again.approved and again.last_approved.article_revision == 2


def model_archive(path, content) -> None:
    """A model archive's metadata.json holding these answers, as `rasa train` writes it."""
    metadata = json.dumps({"domain": {"responses": render_responses(content)}}).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("metadata.json")
        info.size = len(metadata)
        archive.addfile(info, io.BytesIO(metadata))


def test_the_publish_check_names_exactly_the_answers_in_the_model_not_approved(
    project, content_dir, tmp_path
):
    approve_all(content_dir)
    old = tmp_path / "old.tar.gz"
    model_archive(old, load_content(content_dir))
    edit(project, "bladder", answer=answer_of(content_dir, "bladder") + " Ask us anything.")
    new = tmp_path / "new.tar.gz"
    model_archive(new, load_content(content_dir))
    assert len(model_answers(new)) == len(load_content(content_dir).topics)

    assert unapproved_answers(old, content_dir) == []  # the last approved texts
    refused = unapproved_answers(new, content_dir)
    assert [a.topic_id for a in refused] == ["bladder"]
    assert "awaiting sign-off" in str(refused[0]) and "bladder" in str(refused[0])

    approve(content_dir, "bladder", "dr.ada", answer_of(content_dir, "bladder"), today=DAY)
    assert unapproved_answers(new, content_dir) == []
    # Once the new text is approved, the old one is no longer what visitors should see.
    assert [a.topic_id for a in unapproved_answers(old, content_dir)] == ["bladder"]
