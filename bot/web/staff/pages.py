"""What the console's pages share: the database session and the signed-in account of this
request, error pages, downloads, date arguments, the audited change of one row, and the template
filters that show times."""

from __future__ import annotations

import datetime as dt

from flask import Response, abort, current_app, flash, g, render_template

from bot.db.session import session_scope
from bot.desk import audit
from bot.desk.references import locked_by_reference
from bot.desk.scheduling import format_slot
from bot.web.clinic import clinic_calendar
from bot.web.staff.sessions import StaffIdentity


def database():
    return session_scope(current_app.config.get("DATABASE_URL") or None)


def me() -> StaffIdentity:
    """The signed-in account, which the sign-in check (bot/web/staff/access.py) put there."""
    return g.staff_user


def error_page(status: int, title: str, message: str):
    return render_template("staff/error.html", title=title, message=message), status


def attachment(body: str | bytes, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def parse_date(raw: str, label: str, problems: list[str]) -> dt.date | None:
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(f"'{label}' must be a date written as YYYY-MM-DD, for example 2026-01-31.")
        return None


def locked_or_404(db, model, reference: str):
    """The handoff or booking with this reference, row-locked until commit; 404 if none."""
    row = locked_by_reference(db, model, reference)
    if row is None:
        abort(404)
    return row


def audited_change(reference: str, action: str, model, change, refusals, done: str):
    """Finds the row to change (404 if there is none), changes it and audits the change, or
    audits the refusal and shows its reason; returns the row."""
    with database() as db:
        row = locked_or_404(db, model, reference)
        try:
            change(db, row)
        except refusals as error:
            audit.record(
                db, me().username, f"{action}_refused", target=reference, detail=str(error)
            )
            flash(str(error), "error")
        else:
            audit.record(db, me().username, action, target=reference)
            flash(done, "success")
    return row


# --- Template filters -------------------------------------------------------------------------


def format_utc(value: dt.datetime | None, seconds: bool = False) -> str:
    if value is None:
        return ""
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def format_clinic_slot(value: dt.datetime | None) -> str:
    """A slot on the clinic's clock: 'Tue 1 Dec, 10:30 am (EST)'."""
    return format_slot(value, clinic_calendar()) if value else ""


def clinic_day(value: dt.datetime) -> str:
    """The clinic-local date of `value`, as YYYY-MM-DD."""
    return clinic_calendar().local(value).date().isoformat()


TEMPLATE_FILTERS = {"utc": format_utc, "clinic_slot": format_clinic_slot, "clinic_day": clinic_day}
