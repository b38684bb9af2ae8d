"""Clinician sign-off in the staff console (Flask's test client, CSRF on; SQLite and the real
PostgreSQL): the topics list shows each answer's state, an editor's edit sets it back to
awaiting, the clinician's page shows the change next to the article's section, and only a
clinician's Approve or Request changes is recorded, in the sign-off record and the audit log."""

from __future__ import annotations

import re

import pytest

from bot.content.editing import ContentProject
from bot.content.signoff import signoff_states
from bot.db.session import session_scope
from bot.desk.staff_accounts import create_user
from bot.settings import get_settings
from bot.web import create_app
from tests.integration.web.test_staff_console import (
    PASSWORD,
    audit_rows,
    flashes,
    post_form,
    sign_in,
    text_of,
)

ADDED = "Tell the screening clinician about any bladder symptoms you already have."


@pytest.fixture
def client(project, database_url):
    with session_scope(database_url) as session:
        create_user(session, "erin", PASSWORD, "editor")
        create_user(session, "cleo", PASSWORD, "clinician")
    return create_app(get_settings(), {"TESTING": True}).test_client()


def edit_bladder(project_root) -> tuple[str, str]:
    editor = ContentProject(project_root, rasa_validation=False)
    topic = editor.get_topic("bladder")
    editor.save_topic(
        "bladder",
        label=topic.label,
        answer=f"{topic.answer} {ADDED}",
        source_section=topic.source_section,
        reviewed=topic.reviewed,
        examples=topic.examples,
    )
    return topic.answer, f"{topic.answer} {ADDED}"


def state_of(project_root, topic_id="bladder"):
    return signoff_states(project_root / "content")[topic_id]


def test_the_clinician_sees_the_change_beside_the_section_and_approves_it(
    client, project, database_url
):
    before, after = edit_bladder(project)
    sign_in(client, "cleo")
    topics = text_of(client.get("/staff/content"))
    assert "1 answer awaiting a clinician's sign-off" in topics
    row = re.search(r'<tr id="topic-bladder">(.*?)</tr>', topics, re.S).group(1)
    assert "Awaiting sign-off" in row and "Review and decide" in row
    assert "/staff/content/topics/" not in topics  # a clinician edits nothing

    page_path = "/staff/content/signoff/bladder"
    page = text_of(client.get(page_path))
    assert f"<ins>{ADDED}</ins>" in page
    assert "<del>" not in page
    section = re.search(r'id="article-section">(.*?)</pre>', page, re.S).group(1)
    assert "bladder" in section.lower() and "Considering the Risks" in page
    assert "Visitors get the last approved text, approved by dr.test on 2026-12-07" in page

    approved = post_form(client, f"{page_path}/approve", page_path, seen_answer=after)
    assert approved.status_code == 302
    assert state_of(project).approved
    assert state_of(project).describe().startswith("approved by cleo on ")
    actions = [(actor, action, target) for actor, action, target, _ in audit_rows(database_url)]
    assert ("cleo", "answer_approved", "bladder") in actions
    listed = text_of(client.get(approved.headers["Location"]))
    assert "Every answer is signed off by a clinician." in listed


def test_a_request_for_changes_reaches_the_editor_and_keeps_the_approved_text(
    client, project, database_url
):
    before, after = edit_bladder(project)
    sign_in(client, "cleo")
    page_path = "/staff/content/signoff/bladder"
    empty = post_form(client, f"{page_path}/request-changes", page_path, seen_answer=after)
    assert "say what should change" in " ".join(flashes(client.get(empty.headers["Location"])))
    asked = post_form(
        client,
        f"{page_path}/request-changes",
        page_path,
        seen_answer=after,
        comment="Say who to tell: the screening team.",
    )
    assert asked.status_code == 302
    state = state_of(project)
    assert state.status == "changes requested"
    assert state.last_approved.answer == before

    editor = create_app(get_settings(), {"TESTING": True}).test_client()
    sign_in(editor, "erin")
    form = text_of(editor.get("/staff/content/topics/bladder"))
    assert "cleo asked for changes on" in form
    assert "Say who to tell: the screening team." in form
    actions = [(actor, action, target) for actor, action, target, _ in audit_rows(database_url)]
    assert ("cleo", "answer_changes_requested", "bladder") in actions


def test_a_decision_on_text_that_changed_since_the_page_was_opened_is_refused(client, project):
    before, after = edit_bladder(project)
    sign_in(client, "cleo")
    page_path = "/staff/content/signoff/bladder"
    stale = post_form(client, f"{page_path}/approve", page_path, seen_answer=before)
    shown = " ".join(flashes(client.get(stale.headers["Location"])))
    assert "Nothing recorded" in shown and "changed after you opened it" in shown
    assert not state_of(project).approved


def test_an_editor_may_read_the_sign_off_page_but_not_decide(client, project):
    _before, after = edit_bladder(project)
    sign_in(client, "erin")
    page_path = "/staff/content/signoff/bladder"
    page = text_of(client.get(page_path))
    assert "Only a clinician can approve an answer." in page
    assert 'id="approve"' not in page
    refused = post_form(client, f"{page_path}/approve", page_path, seen_answer=after)
    assert refused.status_code == 403
    assert not state_of(project).approved
    assert client.get("/staff/content/signoff/no_such_topic").status_code == 404
