"""Calendar files (ICS) of screening calls: the visitor's own, fetched with the booking's calendar
token, and the staff's calendar of the calls to make."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from icalendar import Alarm, Calendar, Event
from sqlalchemy.orm import Session

from bot.db.models import Booking
from bot.desk.scheduling import ClinicCalendar

# What the visitor's calendar entry says to have ready. Kept here rather than in content/: it is
# part of the calendar file's format, not an answer the bot gives in the chat.
CALL_PREPARATION = (
    "A member of the clinic's care team will call you at this time for a short screening call "
    "about ketamine-assisted psychotherapy.\n"
    "\n"
    "Please have ready:\n"
    "- your phone nearby, at the number you gave us\n"
    "- a list of the medications you take now, with doses\n"
    "- a list of your current health conditions\n"
    "- the questions you want to ask us\n"
)


def get_by_calendar_token(session: Session, token: str) -> Booking | None:
    if not token:
        return None
    query = sa.select(Booking).where(Booking.calendar_token == token)
    return session.execute(query).scalar_one_or_none()


def _calendar(method: str = "PUBLISH") -> Calendar:
    ics = Calendar()
    ics.add("prodid", "-//KAP Assistant//Screening calls//EN")
    ics.add("version", "2.0")
    ics.add("method", method)
    return ics


def _event(booking: Booking, calendar: ClinicCalendar, summary: str, description: str) -> Event:
    event = Event()
    event.add("uid", f"{booking.reference}@kapbot")
    event.add("dtstamp", booking.created_at.astimezone(dt.timezone.utc))
    event.add("dtstart", booking.slot_start.astimezone(dt.timezone.utc))
    event.add("dtend", (booking.slot_start + calendar.slot_length).astimezone(dt.timezone.utc))
    event.add("summary", summary)
    event.add("description", description)
    event.add("status", "CANCELLED" if booking.status == "cancelled" else "CONFIRMED")
    return event


def booking_ics(booking: Booking, calendar: ClinicCalendar) -> bytes:
    """The visitor's own calendar file: their call, what to have ready, and the reference to
    cancel with. Nothing else about them (no name or number): it may be forwarded."""
    description = CALL_PREPARATION + f"\nYour booking reference: {booking.reference}\n"
    if calendar.phone:
        description += f"To cancel or change it, call {calendar.name} at {calendar.phone}.\n"
    event = _event(booking, calendar, f"Screening call with {calendar.name}", description)
    reminder = Alarm()
    reminder.add("action", "DISPLAY")
    reminder.add("description", "Screening call in 30 minutes: keep your phone nearby.")
    reminder.add("trigger", dt.timedelta(minutes=-30))
    event.add_component(reminder)
    ics = _calendar()
    ics.add_component(event)
    return ics.to_ical()


def bookings_ics(bookings: Iterable[Booking], calendar: ClinicCalendar) -> bytes:
    """The staff's calendar of `bookings`: who to call, at which number."""
    ics = _calendar()
    for booking in bookings:
        lines = [f"Booking {booking.reference}", f"Phone: {booking.phone}"]
        if booking.email:
            lines.append(f"Email: {booking.email}")
        if booking.handoff_reference:
            lines.append(f"Handoff: {booking.handoff_reference}")
        summary = f"Screening call: {booking.name}"
        ics.add_component(_event(booking, calendar, summary, "\n".join(lines) + "\n"))
    return ics.to_ical()
