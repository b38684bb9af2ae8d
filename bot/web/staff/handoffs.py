"""The handoffs in the console: the list with its filters and pages, one handoff's transcript,
claiming, noting and resolving it, and its exports. Every view and change is written to the
audit log in the same transaction as the change; visitors' personal data never goes to the
application log or the audit log."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, request, url_for

from bot.db.models import HANDOFF_REASONS, HANDOFF_STATUSES, URGENCIES, Handoff
from bot.desk import audit, handoff_flood
from bot.desk.bookings import bookings_for_handoff
from bot.desk.handoffs import (
    HandoffError,
    add_note,
    claim_handoff,
    count_handoffs,
    get_handoff,
    handoff_to_dict,
    list_handoffs,
    resolve_handoff,
    transcript_as_text,
)
from bot.web.staff.pages import attachment, audited_change, database, me, parse_date

PAGE_SIZE = 50
FLOOD_CHOICES = {"yes": True, "no": False}


def add_routes(staff: Blueprint) -> None:
    # /handoffs first: url_for builds an endpoint's first rule.
    staff.add_url_rule("/handoffs", view_func=handoff_list, methods=["GET"])
    staff.add_url_rule("/", view_func=handoff_list, methods=["GET"])
    staff.add_url_rule("/handoffs/<reference>", view_func=handoff_detail, methods=["GET"])
    staff.add_url_rule("/handoffs/<reference>/claim", view_func=claim, methods=["POST"])
    staff.add_url_rule("/handoffs/<reference>/resolve", view_func=resolve, methods=["POST"])
    staff.add_url_rule("/handoffs/<reference>/notes", view_func=note, methods=["POST"])
    staff.add_url_rule("/handoffs/<reference>/export.txt", view_func=export_text, methods=["GET"])
    staff.add_url_rule("/handoffs/<reference>/export.json", view_func=export_json, methods=["GET"])


# --- The list ---------------------------------------------------------------------------------


@dataclass
class Filters:
    status: str = ""
    reason: str = ""
    date_from: str = ""
    date_to: str = ""
    urgency: str = ""
    flood: str = ""  # "yes": only those marked possible flood, "no": only the others

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in vars(self).items() if value]
        return " ".join(parts) or "no filters"

    def query(self, **extra) -> dict[str, str]:
        """The query string that shows these filters (for the paging links)."""
        names = {"date_from": "from", "date_to": "to"}
        return {names.get(k, k): v for k, v in {**vars(self), **extra}.items() if v}


def _page(raw: str, problems: list[str]) -> int:
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        problems.append("'Page' must be a whole number from 1.")
        return 1
    return int(raw)


def _parse_filters(args) -> tuple[Filters, dict, list[str]]:
    """The query string's filters, the matching list_handoffs arguments and any problems."""
    filters = Filters(
        status=args.get("status", "").strip(),
        reason=args.get("reason", "").strip(),
        date_from=args.get("from", "").strip(),
        date_to=args.get("to", "").strip(),
        urgency=args.get("urgency", "").strip(),
        flood=args.get("flood", "").strip(),
    )
    problems: list[str] = []
    if filters.urgency and filters.urgency not in URGENCIES:
        problems.append(f"Urgency must be one of: {', '.join(URGENCIES)}.")
    if filters.flood and filters.flood not in FLOOD_CHOICES:
        problems.append("'Possible flood' must be yes or no.")
    if filters.status and filters.status not in HANDOFF_STATUSES:
        problems.append(f"Status must be one of: {', '.join(HANDOFF_STATUSES)}.")
    if filters.reason and filters.reason not in HANDOFF_REASONS:
        problems.append(f"Reason must be one of: {', '.join(HANDOFF_REASONS)}.")
    start = parse_date(filters.date_from, "From", problems)
    end = parse_date(filters.date_to, "To", problems)
    if start and end and start > end:
        problems.append("'From' must be on or before 'To'.")
    utc = dt.timezone.utc
    arguments = {
        "status": filters.status or None,
        "reason": filters.reason or None,
        "created_from": dt.datetime.combine(start, dt.time(), utc) if start else None,
        # 'To' is inclusive: everything before the next day's midnight.
        "created_to": (
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), utc) if end else None
        ),
        "urgency": filters.urgency or None,
        "possible_flood": FLOOD_CHOICES.get(filters.flood),
    }
    return filters, arguments, problems


def handoff_list():
    """Every handoff is reachable: filtered, then paged (PAGE_SIZE a page), with those marked
    "possible flood" after the others and their addresses summed up apart."""
    filters, arguments, problems = _parse_filters(request.args)
    page = _page(request.args.get("page", "").strip(), problems)
    handoffs: list[Handoff] = []
    total, groups = 0, []
    with database() as db:
        if not problems:
            total = count_handoffs(db, **arguments)
            offset = (page - 1) * PAGE_SIZE
            handoffs = list_handoffs(db, **arguments, limit=PAGE_SIZE, offset=offset)
            groups = handoff_flood.flood_groups(db)
        audit.record(
            db,
            me().username,
            "handoffs_listed",
            detail="invalid filters"
            if problems
            else filters.describe() + (f" page={page}" if page > 1 else ""),
        )
    pages = max(1, -(-total // PAGE_SIZE))
    return (
        render_template(
            "staff/handoffs.html",
            handoffs=handoffs,
            filters=filters,
            problems=problems,
            statuses=HANDOFF_STATUSES,
            reasons=HANDOFF_REASONS,
            urgencies=URGENCIES,
            page=page,
            pages=pages,
            total=total,
            first=(page - 1) * PAGE_SIZE + 1,
            flood_groups=groups,
        ),
        400 if problems else 200,
    )


# --- One handoff ------------------------------------------------------------------------------


def _handoff_or_404(db, reference: str) -> Handoff:
    handoff = get_handoff(db, reference)
    if handoff is None:
        abort(404)
    return handoff


def handoff_detail(reference: str):
    with database() as db:
        handoff = _handoff_or_404(db, reference)
        audit.record(db, me().username, "handoff_viewed", target=handoff.reference)
        page = render_template(
            "staff/handoff.html",
            handoff=handoff,
            bookings=bookings_for_handoff(db, handoff.reference),
            note_limit=4000,
        )
    return page


def _change(reference: str, action: str, change, done: str):
    audited_change(reference, action, Handoff, change, HandoffError, done)
    return redirect(url_for("staff.handoff_detail", reference=reference))


def claim(reference: str):
    return _change(
        reference,
        "handoff_claimed",
        lambda db, handoff: claim_handoff(db, handoff, me().username),
        f"You claimed {reference}.",
    )


def resolve(reference: str):
    return _change(
        reference,
        "handoff_resolved",
        lambda db, handoff: resolve_handoff(db, handoff, me().username),
        f"{reference} is resolved.",
    )


def note(reference: str):
    text = request.form.get("text", "")
    # The note's text is not audited: it may hold the visitor's personal data.
    return _change(
        reference,
        "handoff_note_added",
        lambda db, handoff: add_note(db, handoff, me().username, text),
        "Your note is saved.",
    )


def export_text(reference: str):
    with database() as db:
        handoff = _handoff_or_404(db, reference)
        body = transcript_as_text(handoff)
        audit.record(db, me().username, "handoff_exported", target=reference, detail="text")
    return attachment(body, "text/plain", f"{reference}.txt")


def export_json(reference: str):
    with database() as db:
        handoff = _handoff_or_404(db, reference)
        body = json.dumps(handoff_to_dict(handoff), ensure_ascii=False, indent=2)
        audit.record(db, me().username, "handoff_exported", target=reference, detail="json")
    return attachment(body + "\n", "application/json", f"{reference}.json")
