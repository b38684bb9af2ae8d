"""`kapbot signoff` on a scratch copy of the project whose answers nobody has signed off (as the
repository's), with a real SQLite database for the accounts and the audit log (in-process with
click's runner)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.content.model import load_content
from bot.content.signoff import signoff_states
from bot.db.migrate import upgrade
from bot.db.session import session_scope
from bot.desk.audit import recent_entries
from bot.desk.staff_accounts import create_user
from tests.project_copies import copy_project


@pytest.fixture
def kapbot(tmp_path, environment):
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    upgrade(url)
    with session_scope(url) as session:
        create_user(session, "cleo", "correct horse battery staple", "clinician")
        create_user(session, "erin", "correct horse battery staple", "editor")
    root = copy_project(tmp_path / "project", signed_off=False)
    environment(
        DATABASE_URL=url, KAPBOT_VAR_DIR=str(tmp_path / "var"), KAPBOT_CONTENT_ROOT=str(root)
    )

    def run(*args: str):
        return CliRunner().invoke(main, ["signoff", *args])

    run.content_dir = root / "content"
    run.url = url
    return run


def test_status_then_approve_all_as_a_clinician(kapbot):
    waiting = kapbot("status", "--json")
    assert waiting.exit_code == 1, waiting.output
    rows = json.loads(waiting.stdout)
    assert len(rows) == len(load_content(kapbot.content_dir).topics)
    assert not any(row["approved"] for row in rows)

    approved = kapbot("approve", "--all", "--clinician", "cleo")
    assert approved.exit_code == 0, approved.output
    assert "bladder: approved by cleo" in approved.stdout
    table = kapbot("status")
    assert table.exit_code == 0 and "approved by cleo on" in table.stdout
    assert kapbot("approve", "--all", "--clinician", "cleo").stdout.startswith("Every answer")
    with session_scope(kapbot.url) as session:
        actions = [(e.actor, e.action) for e in recent_entries(session, 100)]
    assert actions.count(("cleo", "answer_approved")) == len(rows)


def test_only_an_active_clinician_account_decides(kapbot):
    for who in ("erin", "nobody"):
        refused = kapbot("approve", "bladder", "--clinician", who)
        assert refused.exit_code == 2
    assert (
        "not an active clinician account (role: editor)"
        in kapbot("approve", "bladder", "--clinician", "erin").output
    )
    assert kapbot("approve", "no_such_topic", "--clinician", "cleo").exit_code == 2
    assert kapbot("approve", "--clinician", "cleo").exit_code == 2  # neither topics nor --all
    assert not any(s.approved for s in signoff_states(kapbot.content_dir).values())


def test_request_changes_is_recorded_with_its_comment(kapbot):
    asked = kapbot(
        "request-changes", "bladder", "--clinician", "cleo", "--comment", "Cite the risks section."
    )
    assert asked.exit_code == 0, asked.output
    state = signoff_states(kapbot.content_dir)["bladder"]
    assert state.status == "changes requested"
    assert state.change_request.comment == "Cite the risks section."
    blank = kapbot("request-changes", "bladder", "--clinician", "cleo", "--comment", " ")
    assert blank.exit_code == 2 and "say what should change" in blank.output
