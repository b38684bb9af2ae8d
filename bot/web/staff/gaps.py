"""The gap report under /staff/content/gaps (editors and admins): the themes of what visitors asked
and the bot did not answer well, answer health week by week with its chart, the visitors' votes
per topic, a CSV export, and from a theme: its messages to the inbox, or a new topic's draft.
The work is bot/conversations/gaps.py's, which `kapbot gaps` uses too."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.conversations.answer_health import health_chart_png
from bot.conversations.gaps import KINDS, gap_report, report_csv
from bot.conversations.inbox import request_review
from bot.desk import audit
from bot.web.staff.access import require_role
from bot.web.staff.pages import attachment, database, me

EDITOR_ROLES = ("editor", "admin")
DEFAULT_DAYS, MAX_DAYS = 30, 365

# Its endpoints are staff.gaps.<view>, at /staff/content/gaps...
blueprint = Blueprint("gaps", __name__, url_prefix="/content/gaps")


def _days() -> int:
    raw = request.values.get("days", "").strip()
    if not raw:
        return DEFAULT_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        flash(
            f"The period must be a whole number of days from 1 to {MAX_DAYS}; showing the last "
            f"{DEFAULT_DAYS} days.",
            "error",
        )
        return DEFAULT_DAYS
    return int(raw)


def _report(days: int):
    with database() as db:
        return gap_report(db, days)


@blueprint.get("")
@require_role(*EDITOR_ROLES)
def report():
    days = _days()
    found = _report(days)
    return render_template(
        "staff/content/gaps.html",
        report=found,
        days=days,
        kinds=KINDS,
        new_topic_links={t.key: _new_topic_link(t) for t in found.themes},
        section="gaps",
    )


def _new_topic_link(theme) -> str:
    query = urlencode([("example", text) for text in theme.examples], doseq=True)
    return f"{url_for('staff.content.topic_new')}?{query}"


@blueprint.get("/health.png")
@require_role(*EDITOR_ROLES)
def health_chart():
    return Response(health_chart_png(_report(_days()).weeks), mimetype="image/png")


@blueprint.get("/export.csv")
@require_role(*EDITOR_ROLES)
def export():
    days = _days()
    today = dt.date.today().isoformat()
    return attachment(report_csv(_report(days)), "text/csv", f"gap-report-{days}-days-{today}.csv")


@blueprint.post("/themes/<theme_key>/inbox")
@require_role(*EDITOR_ROLES)
def send_to_inbox(theme_key: str):
    days = _days()
    back = url_for("staff.gaps.report", days=days)
    with database() as db:
        found = gap_report(db, days)
        theme = next((t for t in found.themes if t.key == theme_key), None)
        if theme is None:
            flash(
                "The report changed since you opened it (new messages regroup the themes): "
                "here it is again; please choose the theme once more.",
                "error",
            )
            return redirect(back)
        added = sum(
            request_review(db, m.conversation_id, m.timestamp, me().username)
            for m in theme.messages
        )
        audit.record(
            db,
            me().username,
            "gap_theme_sent_to_inbox",
            target=theme_key,
            detail=f"{added} of {theme.size} messages; e.g. {theme.examples[0][:120]}",
        )
    flash(
        f"Sent {added} message{'s' if added != 1 else ''} to the inbox"
        + (f" ({theme.size - added} were there already)" if added < theme.size else "")
        + ".",
        "success",
    )
    return redirect(back)
