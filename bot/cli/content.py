"""`kapbot` for the content editors: build the responses from content/, check content/ and the
training data, and work through the inbox of messages the bot was unsure about."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli.common import fail, migrate, operator, print_table, require_latest_schema
from bot.settings import get_settings, shown_path


@click.command()
def build() -> None:
    """Regenerate bot/data/responses.yml from content/."""
    from bot.content.build import RESPONSES_PATH
    from bot.content.build import build as build_responses
    from bot.content.model import ContentError

    try:
        changed = build_responses()
    except ContentError as error:
        fail("content/ has problems:\n  - " + "\n  - ".join(error.problems))
    click.echo(f"{shown_path(RESPONSES_PATH)}: {'updated' if changed else 'up to date'}")


@click.command()
@click.option(
    "--content-only", is_flag=True, help="Only the content checks (seconds; no rasa data validate)."
)
def validate(content_only: bool) -> None:
    """Check content/ and the Rasa training data; exit 1 on any problem (warnings: exit 0)."""
    from bot.content.checks import check_project
    from bot.content.model import ProjectFiles
    from bot.content.rasa_check import rasa_data_problems

    files = ProjectFiles(get_settings().content_root)
    problems, warnings_ = check_project(files)
    if not content_only:
        problems += rasa_data_problems(files.root)
    for warning in warnings_:
        click.echo(f"warning: {warning}")
    for problem in problems:
        click.echo(f"problem: {problem}")
    if problems:
        fail(f"validation failed: {len(problems)} problem(s)")
    click.echo("content checks: OK" if content_only else "content and training data: OK")


@click.group()
def inbox() -> None:
    """Visitor messages the bot was unsure about: list them, make one a training example, or
    dismiss it."""


@inbox.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
def inbox_list(as_json: bool, limit: int) -> None:
    """Undecided messages, newest first (personal details masked)."""
    from bot.conversations.inbox import inbox_messages
    from bot.db.session import session_scope

    require_latest_schema()
    with session_scope() as session:
        items = inbox_messages(session, limit=limit)
    if as_json:
        click.echo(json.dumps([item.to_dict() for item in items], ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("the inbox is empty")
        return
    table = [("KEY", "RECEIVED (UTC)", "REASON", "GUESS", "MESSAGE")]
    for item in items:
        guess = item.guess
        table.append(
            (
                item.key,
                item.received_at.strftime("%Y-%m-%d %H:%M"),
                item.reason,
                f"{guess.label} {guess.confidence:.2f}" if guess and guess.confidence else "-",
                item.text,
            )
        )
    print_table(table)


def _decide_in_inbox(decide) -> None:
    """Runs one inbox decision; a refusal exits 1 with the reasons in plain words."""
    from bot.content.editing import ContentEditError
    from bot.conversations.inbox import InboxError
    from bot.db.session import session_scope

    migrate()
    try:
        with session_scope() as session:
            item = decide(session, f"cli:{operator()}")
    except InboxError as error:
        fail(str(error))
    except ContentEditError as error:
        reasons = [m for ms in error.field_problems.values() for m in ms] + error.problems
        fail("the example was refused:\n  - " + "\n  - ".join(reasons))
    return item


@inbox.command("assign")
@click.argument("key")
@click.argument("label")
def inbox_assign(key: str, label: str) -> None:
    """Add message KEY as a training example of LABEL (a topic id or an outcome)."""
    from bot.content.editing import project
    from bot.conversations.inbox import assign

    item = _decide_in_inbox(lambda session, by: assign(session, key, label, by))
    intent = project().intent_for_label(label)
    click.echo(f"added “{item.text}” to {intent}; retrain the model for it to count")


@inbox.command("dismiss")
@click.argument("key")
def inbox_dismiss(key: str) -> None:
    """Dismiss message KEY: it needs no training example."""
    from bot.conversations.inbox import dismiss

    _decide_in_inbox(lambda session, by: dismiss(session, key, by))
    click.echo(f"dismissed {key}")


@click.group()
def article() -> None:
    """The clinic's article as revisions: record a new one, and see which answers its changes
    ask an editor to check again."""


@article.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def article_add(file: Path) -> None:
    """Record FILE as the article's next revision and make it the current article. Exit 2 when
    FILE is not new or lacks a section a topic cites (nothing is changed then)."""
    from bot.content.article import ArticleError, add_revision

    content_dir = get_settings().content_root / "content"
    try:
        text = file.read_text(encoding="utf-8")
        revision = add_revision(content_dir, text)
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text", 2)
    except ArticleError as error:
        fail(str(error), 2)
    click.echo(
        f"Recorded revision {revision.number} of the article ({revision.recorded}, "
        f"sha256 {revision.sha256[:12]}…)."
    )
    changed = ", ".join(f"“{name}”" for name in revision.changed_sections) or "none"
    click.echo(f"Sections whose text changed: {changed}.")
    _echo_topics_to_review(content_dir)


@article.command("status")
@click.option("--diff", is_flag=True, help="Show what changed in each flagged topic's section.")
def article_status(diff: bool) -> None:
    """The article's revisions, and the answers to check against it again."""
    from bot.content.article import ArticleError, load_revisions

    content_dir = get_settings().content_root / "content"
    try:
        revisions = load_revisions(content_dir)
    except ArticleError as error:
        fail(str(error), 2)
    if not revisions:
        click.echo("No revision recorded yet: `kapbot article add FILE` records the first.")
        return
    for revision in revisions:
        changed = ", ".join(revision.changed_sections) or "-"
        click.echo(
            f"revision {revision.number}  {revision.recorded}  {revision.sha256[:12]}  {changed}"
        )
    _echo_topics_to_review(content_dir, diff=diff)


def _echo_topics_to_review(content_dir: Path, diff: bool = False) -> None:
    from bot.content.article import article_state

    _latest, flags = article_state(content_dir)
    if not flags:
        click.echo("No answer needs checking against the article again.")
        return
    click.echo("Article changed since review; check these answers and update `reviewed`:")
    for topic_id, flag in flags.items():
        click.echo(f"  {topic_id}: “{flag.section}” changed in revision {flag.revision.number}")
        if diff:
            click.echo(flag.diff)


@click.command()
@click.option(
    "--since",
    "days",
    type=click.IntRange(1, 365),
    default=30,
    show_default=True,
    metavar="DAYS",
    help="The period: the last DAYS days.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--chart", type=click.Path(dir_okay=False, path_type=Path), help="Write the weekly chart PNG."
)
def gaps(days: int, as_json: bool, chart: Path | None) -> None:
    """What visitors asked over the last DAYS days that the bot did not answer well, grouped into
    themes (with the nearest topic, or "new topic?"), and answer health per week. Texts are
    masked."""
    from bot.conversations.answer_health import health_chart_png
    from bot.conversations.gaps import gap_report, report_dict
    from bot.db.session import session_scope

    require_latest_schema()
    with session_scope() as session:
        report = gap_report(session, days)
    if chart:
        chart.write_bytes(health_chart_png(report.weeks))
    if as_json:
        click.echo(json.dumps(report_dict(report), ensure_ascii=False))
        return
    counts = report.kind_counts()
    click.echo(
        f"{report.questions} questions in the last {days} days: {counts['not answered']} not "
        f"answered, {counts['not helpful']} marked not helpful, "
        f"{counts['asked again']} asked again."
    )
    for number, theme in enumerate(report.themes, start=1):
        near = "new topic?" if theme.new_topic else f"nearest topic {theme.nearest_topic}"
        kinds = ", ".join(f"{n} {kind}" for kind, n in theme.kind_counts().items() if n)
        click.echo(f"{number}. {theme.size} messages ({kinds}); {near}")
        for text in theme.examples:
            click.echo(f"     “{text}”")
    rows = [("week", "answered", "did you mean", "not answered", "not helpful")]
    rows += [(w.week.isoformat(), *map(str, w.values())) for w in report.weeks]
    print_table(rows)
