"""`kapbot signoff`: where each answer's clinician sign-off stands, and a clinician's decisions
from the command line (the console's sign-off page does the same, bot/web/staff/signoff.py).

A decision names the clinician's console account (`--clinician`), which must exist, be active
and have the clinician role: the command line is for the clinic's go-live and for scripts,
not a way around the role."""

from __future__ import annotations

import json

import click

from bot.cli.common import fail, migrate, operator, print_table
from bot.settings import get_settings


@click.group()
def signoff() -> None:
    """Clinician sign-off of the answers visitors see: list where each stands, approve, or
    request changes."""


def _content_dir():
    return get_settings().content_root / "content"


def _states():
    from bot.content.signoff import SignoffError, signoff_states

    try:
        return signoff_states(_content_dir())
    except SignoffError as error:
        fail(str(error), 2)


@signoff.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def signoff_status(as_json: bool) -> None:
    """Each topic's sign-off state. Exit 0 when every answer is approved, 1 when some await
    sign-off (publishing a model with them is refused)."""
    states = _states()
    if as_json:
        rows = [
            {"topic": s.topic_id, "approved": s.approved, "state": s.describe()}
            | ({"change_request": s.change_request.comment} if s.change_request else {})
            for s in states.values()
        ]
        click.echo(json.dumps(rows, ensure_ascii=False))
    else:
        print_table([("topic", "sign-off")] + [(s.topic_id, s.describe()) for s in states.values()])
    waiting = [s for s in states.values() if not s.approved]
    if waiting and not as_json:
        click.echo(f"{len(waiting)} of {len(states)} answers await a clinician's sign-off.")
    raise SystemExit(1 if waiting else 0)


def _check_clinician(username: str) -> str:
    from bot.db.session import session_scope
    from bot.desk.staff_accounts import AccountError, account

    with session_scope() as session:
        try:
            user = account(session, username)
        except AccountError as error:
            fail(str(error), 2)
        if user.role != "clinician" or not user.active:
            fail(f"{user.username} is not an active clinician account (role: {user.role})", 2)
        return user.username


def _audit(clinician: str, action: str, entries: list[tuple[str, str]]) -> None:
    """One audit entry per (topic id, detail), committed together."""
    from bot.db.session import session_scope
    from bot.desk import audit

    with session_scope() as session:
        for topic_id, detail in entries:
            detail = f"{detail} (cli:{operator()})"
            audit.record(session, clinician, action, target=topic_id, detail=detail)


@signoff.command("approve")
@click.argument("topics", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every answer that awaits sign-off.")
@click.option("--clinician", required=True, help="The approving clinician's console account.")
def signoff_approve(topics: tuple[str, ...], every: bool, clinician: str) -> None:
    """Record CLINICIAN's approval of the current answer of each TOPIC (or --all awaiting),
    against the latest article revision. Exit 2 on an unknown topic or account."""
    from bot.content.model import load_content
    from bot.content.signoff import SignoffError, approve_answers

    if bool(topics) == every:
        fail("name the topics to approve, or --all (not both)", 2)
    migrate()
    name = _check_clinician(clinician)
    states = _states()
    chosen = [t for t, s in states.items() if not s.approved] if every else list(topics)
    unknown = [t for t in chosen if t not in states]
    if unknown:
        fail(f"no such topic: {', '.join(unknown)}", 2)
    if not chosen:
        click.echo("Every answer is approved already.")
        return
    content = load_content(_content_dir())
    seen = {topic_id: content.topic(topic_id).answer for topic_id in chosen}
    try:
        decisions = approve_answers(_content_dir(), seen, name)
    except SignoffError as error:
        fail(str(error), 2)
    _audit(
        name,
        "answer_approved",
        [(d.topic_id, f"{d.source_section}: {d.answer[:200]}") for d in decisions],
    )
    for decision in decisions:
        click.echo(f"{decision.topic_id}: approved by {name}")


@signoff.command("request-changes")
@click.argument("topic")
@click.option("--clinician", required=True, help="The clinician's console account.")
@click.option("--comment", required=True, help="What should change (the editors see it).")
def signoff_request_changes(topic: str, clinician: str, comment: str) -> None:
    """Record that CLINICIAN does not approve TOPIC's current answer, and why."""
    from bot.content.model import load_content
    from bot.content.signoff import SignoffError, request_changes

    migrate()
    name = _check_clinician(clinician)
    try:
        answer = load_content(_content_dir()).topic(topic).answer
    except KeyError:
        fail(f"no such topic: {topic}", 2)
    try:
        request_changes(_content_dir(), topic, name, answer, comment)
    except SignoffError as error:
        fail(f"{topic}: {error}", 2)
    _audit(name, "answer_changes_requested", [(topic, comment)])
    click.echo(f"{topic}: changes requested by {name}")
