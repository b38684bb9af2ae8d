"""The screening-call bookings in the console: one day's calls or the upcoming ones (of one
client address, to cancel a booking flood at once), cancelling and marking done, and a day's
calendar file. Cancelling goes through the service function the CLI uses too."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from bot.db.models import Booking, Handoff, utc_now
from bot.desk import audit
from bot.desk.booking_calendar import bookings_ics
from bot.desk.bookings import BookingError, cancel_for_clinic, list_bookings, mark_done
from bot.web.clinic import clinic_calendar
from bot.web.staff.pages import (
    attachment,
    audited_change,
    clinic_day,
    database,
    error_page,
    locked_or_404,
    me,
    parse_date,
)

LIST_LIMIT = 500


def add_routes(staff: Blueprint) -> None:
    staff.add_url_rule("/bookings", view_func=booking_list, methods=["GET"])
    staff.add_url_rule("/bookings/<reference>/cancel", view_func=cancel_booking, methods=["POST"])
    staff.add_url_rule("/bookings/cancel", view_func=cancel_bookings, methods=["POST"])
    staff.add_url_rule("/bookings/<reference>/done", view_func=booking_done, methods=["POST"])
    staff.add_url_rule("/bookings.ics", view_func=bookings_calendar, methods=["GET"])


def _chosen_day(problems: list[str]) -> dt.date | None:
    """?day=YYYY-MM-DD, by default today on the clinic's clock."""
    raw = request.args.get("day", "").strip()
    if not raw:
        return clinic_calendar().today(utc_now())
    return parse_date(raw, "Day", problems)


def booking_list():
    problems: list[str] = []
    # One client address's upcoming calls: what a booking flood looks like, to cancel at once.
    address = request.args.get("address", "").strip()[:64]
    upcoming = request.args.get("view", "").strip() == "upcoming" or bool(address)
    day = None if upcoming else _chosen_day(problems)
    clinic, now = clinic_calendar(), utc_now()
    bookings: list[Booking] = []
    with database() as db:
        if upcoming:
            bookings = list_bookings(
                db,
                status="booked",
                since=now,
                calendar=clinic,
                limit=LIST_LIMIT,
                client_address=address or None,
            )
        elif not problems:
            bookings = list_bookings(db, day, calendar=clinic, limit=LIST_LIMIT)
        linked = {b.handoff_reference for b in bookings if b.handoff_reference}
        # Handoffs that `kapbot purge` removed are shown without a link.
        known = linked and set(
            db.execute(sa.select(Handoff.reference).where(Handoff.reference.in_(linked))).scalars()
        )
        audit.record(
            db,
            me().username,
            "bookings_listed",
            detail="invalid filters" if problems else _booking_view(upcoming, address, day),
        )
    one_day = dt.timedelta(days=1)
    return (
        render_template(
            "staff/bookings.html",
            bookings=bookings,
            day=day,
            upcoming=upcoming,
            address=address,
            problems=problems,
            known_handoffs=known,
            previous_day=day - one_day if day else None,
            next_day=day + one_day if day else None,
            today=clinic.today(now),
            timezone=clinic.timezone.key,
            limit=LIST_LIMIT,
        ),
        400 if problems else 200,
    )


def _booking_view(upcoming: bool, address: str, day: dt.date | None) -> str:
    if address:
        return f"upcoming address={address}"
    return "upcoming" if upcoming else f"day={day}"


def _change_booking(reference: str, action: str, change, done: str):
    booking = audited_change(reference, action, Booking, change, BookingError, done)
    return redirect(url_for("staff.booking_list", day=clinic_day(booking.slot_start)))


def _cancel_for_clinic(references: list[str], reason: str) -> None:
    """Cancels through the one service function the CLI uses too (row locks, audit entries
    with the reason), and says what became of each."""
    try:
        with database() as db:
            result = cancel_for_clinic(db, references, by=me().username, reason=reason)
    except BookingError as error:
        flash(str(error), "error")
        return
    if len(result.cancelled) == 1:
        flash(
            f"Booking {result.cancelled[0]} is cancelled; its time can be booked again.", "success"
        )
    elif result.cancelled:
        flash(
            f"Cancelled {len(result.cancelled)} calls: {', '.join(result.cancelled)}; "
            "their times can be booked again.",
            "success",
        )
    for why in result.refused.values():
        flash(why, "error")
    if not result.cancelled and not result.refused:
        flash("Choose at least one call to cancel.", "error")


def cancel_booking(reference: str):
    with database() as db:
        booking = locked_or_404(db, Booking, reference)
        day = clinic_day(booking.slot_start)
    reason = request.form.get("reason", "").strip() or "cancelled on the bookings page"
    _cancel_for_clinic([reference], reason)
    return redirect(url_for("staff.booking_list", day=day))


def cancel_bookings():
    """Several calls at once (a booking flood), with one reason for the audit log."""
    _cancel_for_clinic(request.form.getlist("reference"), request.form.get("reason", ""))
    address = request.form.get("address", "").strip()
    if address:
        return redirect(url_for("staff.booking_list", address=address))
    return redirect(url_for("staff.booking_list", view="upcoming"))


def booking_done(reference: str):
    return _change_booking(
        reference,
        "booking_done",
        lambda db, booking: mark_done(db, booking),
        f"Booking {reference} is marked as done.",
    )


def bookings_calendar():
    problems: list[str] = []
    day = _chosen_day(problems)
    if problems:
        return error_page(400, "Not a date", problems[0])
    clinic = clinic_calendar()
    with database() as db:
        bookings = [b for b in list_bookings(db, day, calendar=clinic) if b.status != "cancelled"]
        body = bookings_ics(bookings, clinic)
        audit.record(db, me().username, "bookings_exported", detail=f"day={day}")
    return attachment(body, "text/calendar", f"screening-calls-{day}.ics")
