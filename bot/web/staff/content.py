"""The content editors' pages under /staff/content: the topics and their training examples, the
inbox of visitor messages the bot was unsure about or answered doubtfully
(bot/conversations/inbox.py), training a candidate model, comparing it with the live one,
publishing it and rolling back.

The pages have a blueprint of their own, nested in the staff console's (bot/web/staff/console.py),
so the console's sign-in and CSRF checks cover them; each one also needs the editor or admin
role. The pages are thin: the work is done by bot/content/editing.py, bot/conversations/inbox.py,
bot/models/training_jobs.py and bot/models/registry.py, which the `kapbot` command line uses too.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from bot.content import editing
from bot.content.article import ArticleError, article_state
from bot.content.signoff import SignoffError, signoff_states
from bot.conversations import inbox as review_inbox
from bot.conversations.answer_feedback import FeedbackCount, feedback_by_topic
from bot.desk import audit
from bot.models import registry as model_registry
from bot.models import store as model_store
from bot.models import training_jobs
from bot.models.comparison import Comparison, load_comparison
from bot.models.store import NoModelError
from bot.web.staff.access import require_role
from bot.web.staff.pages import database, format_utc, me
from bot.web.staff.signoff import candidate_awaiting_signoff

EDITOR_ROLES = ("editor", "admin")
TOPIC_FIELDS = ("id", "label", "answer", "source_section", "reviewed", "examples")
RECENT_RUNS = 10

# Its endpoints are staff.content.<view>, at /staff/content/...
blueprint = Blueprint("content", __name__, url_prefix="/content")


def editors_only(view):
    return require_role(*EDITOR_ROLES)(view)


# --- Topics -----------------------------------------------------------------------------------


@blueprint.get("")
@require_role(*EDITOR_ROLES, "clinician")
def topics():
    with database() as db:
        feedback = feedback_by_topic(db)
    content_dir = editing.project().files.content_dir
    try:
        revision, article_flags = article_state(content_dir)
        signoffs = signoff_states(content_dir)
    except (ArticleError, SignoffError) as error:
        flash(f"The article's revisions or the sign-offs cannot be read: {error}", "error")
        revision, article_flags, signoffs = None, {}, {}
    return render_template(
        "staff/content/topics.html",
        topics=editing.list_topics(),
        feedback=feedback,
        no_feedback=FeedbackCount(),
        article_revision=revision,
        article_flags=article_flags,
        signoffs=signoffs,
        awaiting=[state for state in signoffs.values() if not state.approved],
        may_edit=me().role in EDITOR_ROLES,
        may_decide=me().role == "clinician",
        section="topics",
    )


@blueprint.route("/topics/new", methods=["GET", "POST"])
@editors_only
def topic_new():
    return _topic_form(None)


@blueprint.route("/topics/<topic_id>", methods=["GET", "POST"])
@editors_only
def topic_edit(topic_id: str):
    return _topic_form(topic_id)


def _form_from_topic(topic) -> dict[str, str]:
    if topic is None:
        return {name: "" for name in TOPIC_FIELDS} | {
            "reviewed": dt.date.today().isoformat(),
            "version": "",
        }
    return {
        "version": topic.version,
        "id": topic.id,
        "label": topic.label,
        "answer": topic.answer,
        "source_section": topic.source_section,
        "reviewed": topic.reviewed.isoformat(),
        "examples": "\n".join(topic.examples),
    }


def _signoff_state(topic_id: str | None):
    if topic_id is None:
        return None
    try:
        return signoff_states(editing.project().files.content_dir).get(topic_id)
    except SignoffError:
        return None


def _render_topic_form(topic_id, form, errors, problems, status=200):
    return (
        render_template(
            "staff/content/topic_form.html",
            topic_id=topic_id,
            form=form,
            errors=errors,
            problems=problems,
            sections=editing.source_sections(),
            signoff=_signoff_state(topic_id),
            section="topics",
        ),
        status,
    )


def _topic_form(topic_id: str | None):
    new = topic_id is None
    topic = None
    if not new:
        try:
            topic = editing.get_topic(topic_id)
        except KeyError:
            abort(404)
    if request.method == "GET":
        form = _form_from_topic(topic)
        if new:  # from a gap report theme: its messages as the first examples
            form["examples"] = "\n".join(request.args.getlist("example"))
        return _render_topic_form(topic_id, form, {}, [])

    form = {name: request.form.get(name, "") for name in TOPIC_FIELDS}
    form["version"] = request.form.get("version", "")
    target = form["id"].strip() if new else topic_id
    examples = [line.strip() for line in form["examples"].splitlines() if line.strip()]
    try:
        result = editing.save_topic(
            target,
            label=form["label"],
            answer=form["answer"],
            source_section=form["source_section"],
            reviewed=form["reviewed"].strip(),
            examples=examples,
            new=new,
            # A form opened before someone else saved this topic must not overwrite their change.
            base_version=None if new else form["version"] or None,
        )
    except editing.ContentEditError as error:
        return _render_topic_form(topic_id, form, error.field_problems, error.problems, 422)
    with database() as db:
        audit.record(
            db,
            me().username,
            "content_topic_added" if new else "content_topic_saved",
            target=target,
            detail=f"{len(examples)} examples",
        )
    flash(
        f"Saved “{' '.join(form['label'].split())}”. "
        "Visitors get the change after you retrain and publish (a new answer text once a "
        "clinician approves it).",
        "success",
    )
    for warning in result.warnings:
        flash(warning, "warning")
    return redirect(url_for("staff.content.topic_edit", topic_id=target))


# --- Inbox ------------------------------------------------------------------------------------


@blueprint.get("/inbox")
@editors_only
def inbox():
    with database() as db:
        items = review_inbox.inbox_messages(db)
        audit.record(db, me().username, "content_inbox_viewed", detail=f"{len(items)} messages")
    return render_template(
        "staff/content/inbox.html", items=items, labels=editing.labels(), section="inbox"
    )


@blueprint.post("/inbox/<key>/assign")
@editors_only
def inbox_assign(key: str):
    label = request.form.get("label", "").strip()
    # The editor may correct the example's wording; it is masked again before it is kept.
    corrected = request.form.get("text", "").strip() or None
    if not label:
        flash("Choose a topic or outcome for the message first.", "error")
        return redirect(url_for("staff.content.inbox"))
    try:
        with database() as db:
            review_inbox.assign(db, key, label, by=me().username, text=corrected)
    except editing.ContentEditError as error:
        reasons = [p for problems in error.field_problems.values() for p in problems]
        flash("Not added: " + " ".join(reasons + error.problems), "error")
    except review_inbox.InboxError as error:
        flash(str(error), "error")
    else:
        flash(
            f"Added the message as an example of {label}. Retrain to teach it to the bot.",
            "success",
        )
    return redirect(url_for("staff.content.inbox"))


@blueprint.post("/inbox/<key>/dismiss")
@editors_only
def inbox_dismiss(key: str):
    try:
        with database() as db:
            review_inbox.dismiss(db, key, by=me().username)
    except review_inbox.InboxError as error:
        flash(str(error), "error")
    else:
        flash("Dismissed. The message will not be shown again.", "success")
    return redirect(url_for("staff.content.inbox"))


# --- Training, comparison, publishing ---------------------------------------------------------


def _live_model() -> Path | None:
    try:
        return model_store.live_model()
    except NoModelError:
        return None


@blueprint.get("/training")
@editors_only
def training():
    runs = training_jobs.list_runs()
    return render_template(
        "staff/content/training.html",
        # One read of the runs' status files: current_run() would read them all again.
        current=next((run for run in runs if run.active), None),
        runs=runs[:RECENT_RUNS],
        live=_live_model(),
        previous=model_store.previous_model(),
        section="training",
    )


@blueprint.post("/training")
@editors_only
def training_start():
    try:
        run = training_jobs.start_training(me().username)
    except training_jobs.TrainingAlreadyRunning as error:
        flash(f"Not started: {error}.", "error")
        return redirect(url_for("staff.content.training_run", run_id=error.run.id))
    flash("Training started. It takes a few minutes; this page shows its progress.", "success")
    return redirect(url_for("staff.content.training_run", run_id=run.id))


def _run_or_404(run_id: str) -> training_jobs.TrainingRun:
    try:
        return training_jobs.get_run(run_id)
    except (training_jobs.NoSuchRun, ValueError):
        abort(404)


def _comparison(run: training_jobs.TrainingRun) -> Comparison | None:
    if run.state != "done" or not run.comparison:
        return None
    return load_comparison(Path(run.comparison))


@blueprint.get("/training/<run_id>")
@editors_only
def training_run(run_id: str):
    run = _run_or_404(run_id)
    live = _live_model()
    comparison = _comparison(run)
    return render_template(
        "staff/content/run.html",
        run=run,
        comparison=comparison,
        # Publishing makes sense only while the model it was compared with is still live.
        still_comparable=bool(comparison and live and comparison.compares(live, run.candidate)),
        published=bool(live and run.candidate and live.resolve() == Path(run.candidate).resolve()),
        live=live,
        awaiting_signoff=candidate_awaiting_signoff(run.candidate) if comparison else [],
        section="training",
    )


@blueprint.get("/training/<run_id>/status")
@editors_only
def training_status(run_id: str):
    run = _run_or_404(run_id)
    return jsonify(
        state=run.state,
        progress=run.progress,
        step=run.step,
        error=run.error,
        finished=not run.active,
    )


@blueprint.get("/training/<run_id>/confusion-<side>.png")
@editors_only
def training_confusion(run_id: str, side: str):
    path = _run_or_404(run_id).confusion.get(side)
    if not path or not Path(path).is_file():
        abort(404)
    return send_file(path, mimetype="image/png")


@blueprint.post("/training/<run_id>/publish")
@editors_only
def training_publish(run_id: str):
    run = _run_or_404(run_id)
    back = url_for("staff.content.training_run", run_id=run_id)
    comparison = _comparison(run)
    if comparison is None or not run.candidate:
        flash("This training has no finished candidate model to publish.", "error")
        return redirect(back)
    override = request.form.get("override_reason", "").strip() or None
    if override and me().role != "admin":
        abort(403)
    try:
        model_registry.publish(
            Path(run.candidate), me().username, override_reason=override, comparison=comparison
        )
    except model_registry.AwaitingSignoff as error:
        flash(
            "Not published: these answers await a clinician's sign-off: "
            + "; ".join(error.reasons),
            "error",
        )
        return redirect(back)
    except model_registry.PublishRefused as error:
        flash(
            "Not published: the candidate is worse than the live model. " + " ".join(error.reasons),
            "error",
        )
        return redirect(back)
    except model_store.RegistryError as error:
        flash(f"Not published: {error}.", "error")
        return redirect(back)
    flash("Published. Visitors now get answers from the new model.", "success")
    return redirect(url_for("staff.content.training"))


@blueprint.post("/rollback")
@editors_only
def rollback():
    try:
        change = model_registry.rollback(me().username)
    except model_store.RegistryError as error:
        flash(f"Not rolled back: {error}.", "error")
    else:
        flash(f"Rolled back. Visitors get answers from {change.live.name} again.", "success")
    return redirect(url_for("staff.content.training"))


@blueprint.app_template_filter("iso_utc")
def format_iso_utc(value: str | None) -> str:
    """A stored ISO 8601 time ('2026-11-27T08:10:00+00:00') the way the console shows times."""
    if not value:
        return ""
    try:
        return format_utc(dt.datetime.fromisoformat(value))
    except ValueError:
        return value
