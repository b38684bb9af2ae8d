"""The content editors' pages under /staff/content through Flask's test client (CSRF on), on
SQLite and the real PostgreSQL, editing a scratch copy of the project's content files."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.content.editing import ContentProject
from bot.db.migrate import upgrade
from bot.db.models import AuditEntry
from bot.db.session import session_scope
from bot.desk.staff_accounts import create_user
from bot.models.store import live_model
from bot.settings import get_settings
from bot.web import create_app
from tests.integration.db.conversations import FALLBACK, Conversation
from tests.integration.web.test_staff_console import PASSWORD, post_form, sign_in, text_of
from tests.project_copies import copy_project

LONG_ANSWER = " ".join(["Ketamine is given in a calm clinic room with staff nearby."] * 13)


@pytest.fixture
def client(project, database_url):
    with session_scope(database_url) as session:
        create_user(session, "sam", PASSWORD, "staff")
        create_user(session, "erin", PASSWORD, "editor")
    app = create_app(get_settings(), {"TESTING": True})
    yield app.test_client()
    # Rasa's own table, written by the inbox test: the PostgreSQL database is shared.
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS events"))
    engine.dispose()


def content_rules(client) -> list[tuple[str, str]]:
    """(method, path) of every content route, with placeholders filled in."""
    found = []
    for rule in client.application.url_map.iter_rules():
        if not rule.rule.startswith("/staff/content"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", "x", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_a_staff_account_cannot_reach_any_content_page(client, database_url):
    rules = content_rules(client)
    assert len(rules) >= 12, rules  # topics, inbox, training, publish, rollback…
    sign_in(client, "sam")
    token = re.search(r'name="csrf_token" value="([^"]+)"', text_of(client.get("/staff/")))
    for method, path in rules:
        data = {"csrf_token": token.group(1)} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        assert response.status_code == 403, (method, path, response.status_code)
    assert "Content" not in [a for a in re.findall(r">([^<]+)</a>", text_of(client.get("/staff/")))]
    with session_scope(database_url) as session:
        denied = session.execute(
            sa.select(sa.func.count()).where(
                AuditEntry.actor == "sam", AuditEntry.action == "access_denied"
            )
        ).scalar_one()
    assert denied == len(rules)


def test_the_topic_list_shows_every_topic_with_its_examples_and_votes(client, project):
    sign_in(client, "erin")
    page = text_of(client.get("/staff/content"))
    topics = ContentProject(project).list_topics()
    assert len(topics) >= 15
    for topic in topics:
        row = re.search(rf'<tr id="topic-{topic.id}">(.*?)</tr>', page, re.S).group(1)
        assert topic.label in row and topic.source_section in row
        assert f'<td class="example-count">{topic.example_count}</td>' in row
        assert "0 helpful, 0 not helpful" in row


def test_a_refused_edit_is_explained_next_to_the_field_and_saves_nothing(client, project):
    sign_in(client, "erin")
    topics_file = project / "content" / "topics.yml"
    before = topics_file.read_text(encoding="utf-8")
    topic = ContentProject(project).get_topic("cost")
    page = f"/staff/content/topics/{topic.id}"
    response = post_form(
        client,
        page,
        page,
        label=topic.label,
        answer=LONG_ANSWER,
        source_section=topic.source_section,
        reviewed=topic.reviewed.isoformat(),
        examples="\n".join(topic.examples),
        version=topic.version,
    )
    body = text_of(response)
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="answer-error">([^<]+)</p>', body).group(1)
    assert "120" in error
    assert 'aria-invalid="true"' in body and LONG_ANSWER in body  # the editor's text is kept
    assert topics_file.read_text(encoding="utf-8") == before


def test_an_answer_saved_through_the_form_reaches_the_files_and_the_audit_log(
    client, project, database_url
):
    sign_in(client, "erin")
    topic = ContentProject(project).get_topic("cost")
    page = f"/staff/content/topics/{topic.id}"
    new_answer = topic.answer.replace("KAP", "Ketamine-assisted psychotherapy", 1)
    assert new_answer != topic.answer
    response = post_form(
        client,
        page,
        page,
        label=topic.label,
        answer=new_answer,
        source_section=topic.source_section,
        reviewed=topic.reviewed.isoformat(),
        examples="\n".join(topic.examples + ["what will the whole course set me back"]),
        version=topic.version,
    )
    assert response.status_code == 302, text_of(response)
    saved = ContentProject(project).get_topic("cost")
    assert saved.answer == " ".join(new_answer.split())
    assert saved.examples[-1] == "what will the whole course set me back"
    assert "Ketamine-assisted psychotherapy" in (project / "bot/data/responses.yml").read_text()
    assert "Saved" in text_of(client.get(response.headers["Location"]))
    with session_scope(database_url) as session:
        entry = session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "content_topic_saved")
        ).scalar_one()
    assert (entry.actor, entry.target) == ("erin", "cost")

    # The same stale form again: someone (this editor) saved in between, so it is refused.
    again = post_form(
        client,
        page,
        page,
        label=topic.label,
        answer=topic.answer,
        source_section=topic.source_section,
        reviewed=topic.reviewed.isoformat(),
        examples="\n".join(topic.examples),
        version=topic.version,
    )
    assert again.status_code == 422
    assert ContentProject(project).get_topic("cost").answer == saved.answer


def test_a_new_topic_that_is_not_ready_is_refused_field_by_field(client, project):
    sign_in(client, "erin")
    before = (project / "content" / "topics.yml").read_text(encoding="utf-8")
    page = "/staff/content/topics/new"
    response = post_form(
        client,
        page,
        page,
        id="driving_home",
        label="Can I drive home afterwards?",
        answer="Please ask the clinic.",
        source_section="Introduction",
        reviewed="2026-11-27",
        examples="can i drive home\ncan i drive after",
    )
    assert response.status_code == 422
    body = text_of(response)
    assert re.search(r'id="answer-error">[^<]*40', body)
    assert re.search(r'id="examples-error">[^<]*25', body)
    assert (project / "content" / "topics.yml").read_text(encoding="utf-8") == before


async def test_an_inbox_message_assigned_to_a_topic_becomes_a_masked_example(
    client, project, database_url
):
    store = SQLTrackerStore(domain=Domain.empty(), host=database_url)
    visitor = Conversation(minute=0)
    visitor.says(
        "whats the damage for a full course call me 415-555-0123",
        **FALLBACK,
        topics=[("benefits", 0.3)],
    )
    visitor.did_you_mean()
    visitor.says("/out_of_scope", "out_of_scope", 1.0)
    await visitor.save(store)
    tester = Conversation(minute=5)
    tester.says("asdf qwer", **FALLBACK, topics=[("dosage", 0.2)])
    await tester.save(store)

    sign_in(client, "erin")
    inbox = text_of(client.get("/staff/content/inbox"))
    assert "415-555-0123" not in inbox
    keys = re.findall(r'<tr class="inbox-item" id="inbox-([^"]+)">', inbox)
    shown_texts = re.findall(r'<th scope="row" class="text inbox-text">([^<]+)</th>', inbox)
    assert shown_texts[0] == "asdf qwer"  # newest first
    gibberish, key, shown = keys[0], keys[1], shown_texts[1]
    dismissed = post_form(
        client, f"/staff/content/inbox/{gibberish}/dismiss", "/staff/content/inbox"
    )
    assert dismissed.status_code == 302
    assert shown.startswith("whats the damage for a full course") and "PHONE" in shown
    response = post_form(
        client, f"/staff/content/inbox/{key}/assign", "/staff/content/inbox", label="cost"
    )
    assert response.status_code == 302
    after = text_of(client.get("/staff/content/inbox"))
    assert "Added the message as an example of cost" in after
    assert f'id="inbox-{key}"' not in after and f'id="inbox-{gibberish}"' not in after
    assert "asdf qwer" not in (project / "bot/data/nlu.yml").read_text(encoding="utf-8")
    examples = ContentProject(project).get_topic("cost").examples
    assert examples[-1] == shown


@pytest.mark.slow  # trains the worse candidate when its inputs changed
def test_a_worse_candidate_is_refused_with_the_reason_shown(
    worse_candidate_run, model_path, tmp_path, environment
):
    """The candidate trained without the cost topic's examples (tests/conftest.py), compared
    with the live model by the real training worker."""
    run, run_settings = worse_candidate_run
    models = tmp_path / "models"
    models.mkdir()
    (models / model_path.name).symlink_to(model_path)  # the model it was compared with is live
    database_url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    environment(
        KAPBOT_VAR_DIR=str(run_settings.var_dir),
        MODEL_DIR=str(models),
        DATABASE_URL=database_url,
        KAPBOT_CONTENT_ROOT=str(copy_project(tmp_path / "project")),
    )
    upgrade(database_url)
    with session_scope(database_url) as session:
        create_user(session, "erin", PASSWORD, "editor")
    client = create_app(get_settings(), {"TESTING": True}).test_client()
    sign_in(client, "erin")
    page_path = f"/staff/content/training/{run.id}"
    page = text_of(client.get(page_path))
    assert "cannot be published" in page
    reasons = re.search(r'<ul id="verdict-reasons">(.*?)</ul>', page, re.S).group(1)
    assert "Topic cost: recall falls" in reasons
    assert 'id="publish"' not in page and 'id="publish-override"' not in page

    refused = post_form(client, f"{page_path}/publish", page_path)
    assert refused.status_code == 302
    shown = text_of(client.get(refused.headers["Location"]))
    assert "Not published: the candidate is worse than the live model." in shown
    assert "Topic cost: recall falls" in shown
    # Only an admin may override, and only with a reason.
    overriding = post_form(client, f"{page_path}/publish", page_path, override_reason="trust me")
    assert overriding.status_code == 403
    assert live_model() == models / model_path.name


@pytest.mark.slow  # trains the worse candidate when its inputs changed
def test_a_candidate_with_unapproved_answers_names_them_and_offers_only_an_admin_override(
    worse_candidate_run, model_path, tmp_path, environment
):
    """The same candidate, with a project whose answers nobody has signed off (the
    repository's state) but the bladder one."""
    from bot.content.model import load_content
    from bot.content.signoff import approve

    run, run_settings = worse_candidate_run
    models = tmp_path / "models"
    models.mkdir()
    (models / model_path.name).symlink_to(model_path)
    root = copy_project(tmp_path / "project", signed_off=False)
    bladder = load_content(root / "content").topic("bladder")
    approve(root / "content", "bladder", "dr.test", bladder.answer)
    database_url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    environment(
        KAPBOT_VAR_DIR=str(run_settings.var_dir),
        MODEL_DIR=str(models),
        DATABASE_URL=database_url,
        KAPBOT_CONTENT_ROOT=str(root),
    )
    upgrade(database_url)
    with session_scope(database_url) as session:
        create_user(session, "erin", PASSWORD, "editor")
        create_user(session, "adam", PASSWORD, "admin")
    app = create_app(get_settings(), {"TESTING": True})
    page_path = f"/staff/content/training/{run.id}"
    editor = app.test_client()
    sign_in(editor, "erin")
    page = text_of(editor.get(page_path))
    notice = re.search(r'<div class="flash warning" id="awaiting-signoff">(.*?)</div>', page, re.S)
    named = set(re.findall(r"<li>(\w+) \(", notice.group(1)))
    assert named == set(load_content(root / "content").topic_ids) - {"bladder"}
    assert 'id="publish-override"' not in page
    refused = post_form(editor, f"{page_path}/publish", page_path)
    shown = text_of(editor.get(refused.headers["Location"]))
    assert "Not published: these answers await a clinician's sign-off" in shown
    assert "cost (" in shown and "bladder (" not in shown
    admin = app.test_client()
    sign_in(admin, "adam")
    assert 'id="publish-override"' in text_of(admin.get(page_path))
    assert live_model() == models / model_path.name


def test_the_topics_list_marks_the_answers_a_new_article_revision_asks_to_check(client, project):
    import datetime as dt

    from bot.content.article import add_revision
    from bot.content.model import load_content

    content_dir = project / "content"
    article = (content_dir / "source" / "how-safe-is-kap.txt").read_text(encoding="utf-8")
    changed = article.replace(
        "\nConsidering the Risks\n", "\nConsidering the Risks\n\nA sentence added by the clinic.\n"
    )
    add_revision(content_dir, changed, today=dt.date(2026, 12, 7))
    citing = {
        t.id
        for t in load_content(content_dir).topics
        if t.source_section == "Considering the Risks"
    }
    sign_in(client, "erin")

    page = text_of(client.get("/staff/content"))

    assert "revision 2 of the clinic's article, recorded 2026-12-07" in page
    assert f"{len(citing)} answers to check again" in page
    rows = dict(re.findall(r'<tr id="topic-(\w+)">(.*?)</tr>', page, re.S))
    marked = {topic for topic, row in rows.items() if "Article changed since review" in row}
    assert marked == citing
    assert all("+A sentence added by the clinic." in rows[topic] for topic in citing)
