"""The audit log page, for administrators."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from bot.desk import audit
from bot.web.staff.access import require_role
from bot.web.staff.pages import database, me

AUDIT_PAGE_SIZE = 100


def add_routes(staff: Blueprint) -> None:
    staff.add_url_rule("/audit", view_func=audit_log, methods=["GET"])


@require_role("admin")
def audit_log():
    """Every entry stays reachable: pages of AUDIT_PAGE_SIZE, a filter by who and what, and
    failed sign-ins for unknown names (anyone can make thousands) hidden unless asked for."""
    wanted = audit.AuditFilter(
        actor=request.args.get("actor", "").strip()[:64],
        action=request.args.get("action", "").strip()[:64],
        include_unknown_names=request.args.get("unknown") == "1",
    )
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() and 0 < int(number) <= 100_000 else 1
    with database() as db:
        audit.record(db, me().username, "audit_viewed")
        page = audit.page_of_entries(db, wanted, number, AUDIT_PAGE_SIZE)
        actions = audit.actions_in_use(db)
    # The filter again, for the paging links (empty fields left out).
    here = {"actor": wanted.actor, "action": wanted.action}
    here = {name: value for name, value in here.items() if value}
    if wanted.include_unknown_names:
        here["unknown"] = "1"
    return render_template(
        "staff/audit.html",
        page=page,
        wanted=wanted,
        actions=actions,
        size=AUDIT_PAGE_SIZE,
        here=here,
    )
