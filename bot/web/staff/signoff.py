"""Clinician sign-off pages under /staff/content/signoff: each topic's answer next to the article
section it cites, with what changed since the last approved text, and the clinician's Approve or
Request changes. Editors and admins may read them (an editor sees what the clinician asked);
only a clinician decides. The work is bot/content/signoff.py's, which `kapbot content approve`
uses too; every decision goes to the audit log."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bot.content import editing
from bot.content.article import section_texts
from bot.content.signoff import (
    SignoffError,
    answer_diff,
    approve,
    request_changes,
    signoff_states,
)
from bot.desk import audit
from bot.web.staff.access import require_role
from bot.web.staff.pages import database, me

READER_ROLES = ("editor", "admin", "clinician")

# Its endpoints are staff.signoff.<view>, at /staff/content/signoff/...
blueprint = Blueprint("signoff", __name__, url_prefix="/content/signoff")


def candidate_awaiting_signoff(candidate: str | None) -> list:
    """The answers in a trained candidate that publishing would refuse for want of a clinician's
    sign-off (bot/models/answer_signoff.py), for the training run's page."""
    from bot.models.answer_signoff import unapproved_answers
    from bot.models.store import RegistryError

    if not candidate or not Path(candidate).is_file():
        return []
    try:
        return unapproved_answers(Path(candidate), _content_dir())
    except RegistryError as error:
        flash(f"The candidate's answers cannot be checked for sign-off: {error}.", "error")
        return []


def _content_dir():
    return editing.project().files.content_dir


def _state_or_404(topic_id: str):
    try:
        states = signoff_states(_content_dir())
    except SignoffError as error:
        abort(500, str(error))
    if topic_id not in states:
        abort(404)
    return states[topic_id]


@blueprint.get("/<topic_id>")
@require_role(*READER_ROLES)
def review(topic_id: str):
    state = _state_or_404(topic_id)
    topic = editing.get_topic(topic_id)
    article = editing.project().files.article.read_text(encoding="utf-8")
    section = section_texts(article).get(topic.source_section, "")
    approved = state.last_approved
    return render_template(
        "staff/content/signoff.html",
        topic=topic,
        state=state,
        section_text=section,
        diff=answer_diff(approved.answer if approved else "", topic.answer),
        section_moved=approved is not None and approved.source_section != topic.source_section,
        may_decide=me().role == "clinician",
        section="topics",
    )


def _decided(topic_id: str, action: str, decide) -> bool:
    """Records the clinician's decision and its audit entry (the entry is committed only if the
    decision was written); False, with the reason flashed, when it could not be recorded."""
    seen = request.form.get("seen_answer", "")
    with database() as db:
        try:
            decision = decide(seen)
        except SignoffError as error:
            flash(f"Nothing recorded: {error}.", "error")
            return False
        detail = f"{decision.source_section}: {decision.answer[:200]}"
        if decision.comment:
            detail = f"{decision.comment} | {detail}"
        audit.record(db, me().username, action, target=topic_id, detail=detail)
    return True


@blueprint.post("/<topic_id>/approve")
@require_role("clinician")
def approve_answer(topic_id: str):
    _state_or_404(topic_id)

    def approving(seen):
        return approve(_content_dir(), topic_id, me().username, seen)

    if not _decided(topic_id, "answer_approved", approving):
        return redirect(url_for("staff.signoff.review", topic_id=topic_id))
    flash(
        "Approved. A model with this answer may now be published; the live model changes only "
        "when an editor publishes.",
        "success",
    )
    return redirect(url_for("staff.content.topics"))


@blueprint.post("/<topic_id>/request-changes")
@require_role("clinician")
def request_answer_changes(topic_id: str):
    _state_or_404(topic_id)
    comment = request.form.get("comment", "")

    def requesting(seen):
        return request_changes(_content_dir(), topic_id, me().username, seen, comment)

    if not _decided(topic_id, "answer_changes_requested", requesting):
        return redirect(url_for("staff.signoff.review", topic_id=topic_id))
    flash(
        "Changes requested. The editors see your comment; visitors keep the last approved text.",
        "success",
    )
    return redirect(url_for("staff.content.topics"))
