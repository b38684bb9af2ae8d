"""`kapbot db`, `kapbot handoffs` and `kapbot purge`, run as the real console script."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.db.migrate import current_revision
from bot.db.models import AuditEntry, Handoff, TranscriptTurn
from bot.db.session import session_scope
from bot.desk.handoff_delivery import deliver
from bot.desk.handoff_drafts import Contact, HandoffDraft, Turn, store_draft
from bot.settings import PROJECT_ROOT
from tests.conftest import free_port

KAPBOT = Path(sys.executable).parent / "kapbot"
UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC).replace(microsecond=0)


def kapbot(*args: str, url: str, var_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "KAPBOT_VAR_DIR": str(var_dir)}
    return subprocess.run(
        [str(KAPBOT), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_draft(reason: str, age: dt.timedelta, conversation_id: str = "conv") -> HandoffDraft:
    created = NOW - age
    return HandoffDraft(
        reason=reason,
        conversation_id=conversation_id,
        question="Is KAP safe with my blood pressure?",
        transcript=[
            Turn("user", "is it safe with high blood pressure", created, "eligibility", 0.55),
            Turn("bot", "A clinician should answer that.", created),
        ],
        contact=Contact("Ada Visitor", "+1 555 010 2222", None, consent=True),
        created_at=created,
    )


def seed(url: str) -> dict[str, HandoffDraft]:
    drafts = {
        "crisis": make_draft("crisis", dt.timedelta(days=2)),
        "recent": make_draft("eligibility", dt.timedelta(hours=1)),
        "claimed": make_draft("human_request", dt.timedelta(days=1)),
        "old": make_draft("eligibility", dt.timedelta(days=45)),
    }
    with session_scope(url) as session:
        for name, item in drafts.items():
            handoff = store_draft(session, item)
            if name == "claimed":
                handoff.status, handoff.claimed_by = "claimed", "dr.lee"
                handoff.claimed_at = NOW
    return drafts


def test_handoffs_list_json_and_status_filter(database_url, tmp_path):
    drafts = seed(database_url)

    listed = kapbot("handoffs", "list", "--json", url=database_url, var_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    handoffs = json.loads(listed.stdout)
    assert [h["reference"] for h in handoffs] == [
        drafts[name].reference for name in ("crisis", "recent", "claimed", "old")
    ]
    first = handoffs[0]
    assert (first["reason"], first["urgency"], first["status"]) == ("crisis", "urgent", "open")
    assert dt.datetime.fromisoformat(first["created_at"]) == drafts["crisis"].created_at
    assert [(t["speaker"], t["text"]) for t in first["transcript"]] == [
        ("user", "is it safe with high blood pressure"),
        ("bot", "A clinician should answer that."),
    ]
    for turn in first["transcript"]:
        assert dt.datetime.fromisoformat(turn["time"]).tzinfo is not None

    open_only = kapbot(
        "handoffs", "list", "--json", "--status", "open", url=database_url, var_dir=tmp_path
    )
    assert open_only.returncode == 0, open_only.stderr
    assert {h["status"] for h in json.loads(open_only.stdout)} == {"open"}
    assert len(json.loads(open_only.stdout)) == 3


def resolve(url: str, draft: HandoffDraft, at: dt.datetime) -> None:
    with session_scope(url) as session:
        handoff = session.execute(
            sa.select(Handoff).where(Handoff.reference == draft.reference)
        ).scalar_one()
        handoff.status, handoff.resolved_by = "resolved", "dr.lee"
        handoff.resolved_at = at


def test_purge_removes_resolved_handoffs_and_says_what_it_removed(tmp_path):
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    upgraded = kapbot("db", "upgrade", url=url, var_dir=tmp_path)  # a fresh install
    assert upgraded.returncode == 0, upgraded.stderr
    assert "schema upgraded from empty to revision" in upgraded.stdout
    drafts = seed(url)
    resolve(url, drafts["old"], at=NOW - dt.timedelta(days=44))
    # Still open after two months: someone has yet to call back, so it stays.
    forgotten = make_draft("eligibility", dt.timedelta(days=60))
    with session_scope(url) as session:
        store_draft(session, forgotten)

    purged = kapbot("purge", "--older-than", "30", url=url, var_dir=tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert "removed 1 handoff(s) resolved before" in purged.stdout
    assert "contact details, 2 transcript message(s) and 0 note(s)" in purged.stdout
    assert "0 booking(s) of calls before" in purged.stdout

    with session_scope(url) as session:
        left = set(session.execute(sa.select(Handoff.reference)).scalars())
        turns = session.execute(sa.select(sa.func.count()).select_from(TranscriptTurn)).scalar()
        (audit,) = session.execute(sa.select(AuditEntry)).scalars()
    kept = {drafts[name].reference for name in ("crisis", "recent", "claimed")}
    assert left == kept | {forgotten.reference}
    assert turns == 8
    assert audit.action == "purge" and "handoffs=1" in audit.detail

    table = kapbot("handoffs", "list", "--reason", "eligibility", url=url, var_dir=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("REFERENCE") and lines[0].endswith("CLAIMED BY  FLOOD")
    assert len(lines) == 3 and lines[1].startswith(drafts["recent"].reference)
    assert "Ada Visitor" not in table.stdout


def test_purge_under_a_week_needs_force_and_never_touches_open_or_claimed_ones(tmp_path):
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    assert kapbot("db", "upgrade", url=url, var_dir=tmp_path).returncode == 0
    drafts = seed(url)
    resolve(url, drafts["recent"], at=NOW - dt.timedelta(minutes=1))

    refused = kapbot("purge", "--older-than", "0", url=url, var_dir=tmp_path)
    assert refused.returncode == 2
    assert "add --force if that is meant" in refused.stderr and refused.stdout == ""
    with session_scope(url) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Handoff)).scalar() == 4

    forced = kapbot("purge", "--older-than", "0", "--force", url=url, var_dir=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "removed 1 handoff(s) resolved before" in forced.stdout
    with session_scope(url) as session:
        left = set(session.execute(sa.select(Handoff.reference)).scalars())
    assert left == {drafts[name].reference for name in ("crisis", "claimed", "old")}


@pytest.mark.parametrize(
    "args, message",
    [
        (("handoffs", "list", "--status", "closed"), "status must be one of open, claimed"),
        (("handoffs", "list", "--reason", "billing"), "reason must be one of eligibility"),
        (("purge", "--older-than", "-1"), "-1 is not in the range x>=0"),
        (("purge", "--older-than", "soon"), "'soon' is not a valid integer"),
        (("purge",), "Missing option '--older-than'"),
    ],
)
def test_bad_input_is_refused_with_exit_code_2(tmp_path, args, message):
    result = kapbot(*args, url=f"sqlite:///{tmp_path / 'kapbot.db'}", var_dir=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_replay_stores_handoffs_kept_during_an_outage(tmp_path):
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    pending = tmp_path / "var" / "pending-handoffs.jsonl"
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/kapbot"
    kept = make_draft("crisis", dt.timedelta(minutes=5))
    assert deliver(kept, down, pending=pending, attempts=1) is False

    replayed = kapbot("handoffs", "replay", url=url, var_dir=tmp_path / "var")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "replayed 1 pending handoff(s)"
    assert not pending.exists()
    with session_scope(url) as session:
        assert session.execute(sa.select(Handoff.reference)).scalars().all() == [kept.reference]

    unreachable = kapbot("handoffs", "list", url=down, var_dir=tmp_path / "var")
    assert unreachable.returncode == 1
    assert "error: database postgresql://postgres@127.0.0.1" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_read_only_commands_leave_an_unmigrated_database_as_it_is_and_say_how_to_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    for command in (("handoffs", "list"), ("bookings", "list"), ("inbox", "list")):
        result = kapbot(*command, url=url, var_dir=tmp_path)
        assert result.returncode == 1, command
        assert f"error: database {url} is not at the latest schema revision" in result.stderr
        assert "run kapbot db upgrade" in result.stderr and result.stdout == ""
    assert current_revision(url) is None


def test_the_database_commands_do_not_import_rasa_or_tensorflow(tmp_path):
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    assert kapbot("db", "upgrade", url=url, var_dir=tmp_path).returncode == 0
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        "    main(['handoffs', 'list', '--json'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'rasa', 'tensorflow', 'spacy'}\n"
        "assert not heavy, heavy\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KAPBOT_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
