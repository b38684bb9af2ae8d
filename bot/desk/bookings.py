"""Screening-call bookings: free slots, booking, cancelling, calendar files.

Plain functions over a SQLAlchemy session, like bot/desk/handoffs.py; the custom actions, the staff
console and the CLI are thin layers over them. When the clinic takes calls comes from a
`ClinicCalendar` (bot/desk/scheduling.py).

Times: `slot_start` is stored, compared and exported in UTC; `booking_to_dict` writes it as ISO
8601 with a `+00:00` offset, and `format_slot` shows it on the clinic's clock.

That a slot is taken by at most one active booking is enforced by the database (a partial unique
index on slot_start where status is 'booked'), not checked before inserting: two visitors asking
for the same slot at once cannot both get it, whichever process serves them.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from icalendar import Alarm, Calendar, Event
from sqlalchemy.orm import Session

from bot.db.models import BOOKING_STATUSES, Booking, utc_now
from bot.desk.contact import normalise_phone
from bot.desk.handoffs import REFERENCE_ALPHABET
from bot.desk.scheduling import ClinicCalendar, format_slot

log = logging.getLogger(__name__)

# As handoff references (no 0/O, 1/I/L: read out over the phone), but "B-" and eight characters.
_ATTEMPTS = 3

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
NOT_FOUND = (
    "No booking matches that reference and phone number. Check both and try again, or call the "
    "clinic."
)


class BookingError(ValueError):
    """A booking request that cannot be carried out; the message says why."""


class SlotTaken(BookingError):
    """Someone else holds the slot (the database refused a second active booking for it)."""


class BookingNotFound(BookingError):
    """No booking with that reference and phone: the same message whichever was wrong."""


class AlreadyBooked(BookingError):
    """The phone number or the conversation already has an upcoming call: one at a time."""

    def __init__(self, booking: Booking) -> None:
        super().__init__(
            f"There is already a call booked ({booking.reference}): change or cancel it first."
        )
        self.reference, self.slot_start = booking.reference, booking.slot_start


class TooManyBookings(BookingError):
    """The client address booked its day's share of calls (a script filling the calendar)."""


def new_reference() -> str:
    return "B-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


def _require_aware(value: dt.datetime, what: str) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise BookingError(f"{what} must be an aware datetime (UTC), got {value!r}")


def normalise_reference(reference: str) -> str:
    return "".join((reference or "").split()).upper()


# --- Slots ------------------------------------------------------------------------------------


def booked_slots(session: Session, start: dt.datetime, end: dt.datetime) -> set[dt.datetime]:
    """Slot starts held by an active booking in [start, end)."""
    query = sa.select(Booking.slot_start).where(
        Booking.status == "booked", Booking.slot_start >= start, Booking.slot_start < end
    )
    return set(session.execute(query).scalars())


def free_slots(session: Session, calendar: ClinicCalendar, now: dt.datetime) -> list[dt.datetime]:
    """The calendar's candidate slots (UTC, in order) that no active booking holds."""
    candidates = calendar.candidate_slots(now)
    if not candidates:
        return []
    taken = booked_slots(session, candidates[0], candidates[-1] + dt.timedelta(seconds=1))
    return [slot for slot in candidates if slot not in taken]


# --- Booking ----------------------------------------------------------------------------------


def _text(value: str | None, what: str, limit: int, required: bool = True) -> str | None:
    value = " ".join((value or "").split())
    if not value:
        if required:
            raise BookingError(f"A booking needs the visitor's {what}.")
        return None
    if len(value) > limit:
        raise BookingError(f"The {what} is longer than {limit} characters.")
    return value


def create_booking(
    session: Session,
    *,
    slot_start: dt.datetime,
    name: str,
    phone: str,
    email: str | None,
    consent: bool,
    conversation_id: str,
    handoff_reference: str | None = None,
    phone_region: str = "US",
    client_address: str | None = None,
    limit_per_address: int | None = None,
) -> Booking:
    """Books `slot_start` and COMMITS the session; raises SlotTaken if an active booking holds
    the slot (the session is rolled back then, so call it with nothing else pending).

    Against floods: AlreadyBooked if the phone number or the conversation has an upcoming call,
    TooManyBookings if `client_address` booked `limit_per_address` calls in the last 24 hours.

    Whether `slot_start` is one of the calendar's free slots is the caller's to check (with
    `free_slots`); this refuses naive datetimes, a booking without consent, and missing or
    over-long details. `phone` is stored in E.164 (read with `phone_region` if it has no +)."""
    _require_aware(slot_start, "slot_start")
    if consent is not True:
        raise BookingError("A booking needs the visitor's consent to be called.")
    name = _text(name, "name", 120)
    e164 = normalise_phone(phone, phone_region)
    if e164 is None:
        raise BookingError("A booking needs a phone number that can be called.")
    email = _text(email, "email address", 254, required=False)
    conversation_id = (conversation_id or "")[:128]
    handoff_reference = normalise_reference(handoff_reference or "") or None
    slot_start = slot_start.astimezone(dt.timezone.utc)
    _refuse_a_flood(session, e164, conversation_id, client_address, limit_per_address)

    for _ in range(_ATTEMPTS):
        booking = Booking(
            reference=new_reference(),
            created_at=utc_now(),
            slot_start=slot_start,
            status="booked",
            name=name,
            phone=e164,
            email=email,
            consent=True,
            conversation_id=conversation_id,
            handoff_reference=handoff_reference,
            calendar_token=new_calendar_token(),
            client_address=(client_address or "")[:64] or None,
        )
        session.add(booking)
        try:
            session.commit()
        except sa.exc.IntegrityError:
            session.rollback()
            # Asked after the failed insert, not before it: whichever insert the database let
            # through holds the slot now.
            if booked_slots(session, slot_start, slot_start + dt.timedelta(seconds=1)):
                raise SlotTaken("That time has just been taken. Please choose another.") from None
            # Otherwise a reference or token collision (about one in 10^11): new ones.
            log.warning("Booking reference or token collision: trying new ones")
            continue
        return booking
    raise BookingError("The booking could not be stored. Please try again.")


def upcoming_booking(
    session: Session, *, phone: str, conversation_id: str, now: dt.datetime | None = None
) -> Booking | None:
    """An active booking, not yet started, made with `phone` (E.164) or in the conversation."""
    query = (
        sa.select(Booking)
        .where(
            Booking.status == "booked",
            Booking.slot_start > (now or utc_now()),
            sa.or_(Booking.phone == phone, Booking.conversation_id == conversation_id),
        )
        .order_by(Booking.slot_start)
        .limit(1)
    )
    return session.execute(query).scalar_one_or_none()


def _refuse_a_flood(
    session: Session,
    phone: str,
    conversation_id: str,
    client_address: str | None,
    limit_per_address: int | None,
) -> None:
    existing = upcoming_booking(session, phone=phone, conversation_id=conversation_id)
    if existing is not None:
        raise AlreadyBooked(existing)
    if client_address and limit_per_address:
        # Cancelled ones count too: cancelling and booking again must not reset the cap.
        since = utc_now() - dt.timedelta(days=1)
        recent = session.execute(
            sa.select(sa.func.count(Booking.id)).where(
                Booking.client_address == client_address, Booking.created_at > since
            )
        ).scalar_one()
        if recent >= limit_per_address:
            raise TooManyBookings(
                "No more calls can be booked from this connection today. Please call the clinic."
            )


# --- Reading ----------------------------------------------------------------------------------


def get_booking(session: Session, reference: str) -> Booking | None:
    """The booking with `reference` ("b-abcd2345" works too), or None."""
    query = sa.select(Booking).where(Booking.reference == normalise_reference(reference))
    return session.execute(query).scalar_one_or_none()


def get_by_calendar_token(session: Session, token: str) -> Booking | None:
    if not token:
        return None
    query = sa.select(Booking).where(Booking.calendar_token == token)
    return session.execute(query).scalar_one_or_none()


def list_bookings(
    session: Session,
    day: dt.date | None = None,
    status: str | None = None,
    *,
    since: dt.datetime | None = None,
    calendar: ClinicCalendar | None = None,
    limit: int | None = None,
    client_address: str | None = None,
) -> list[Booking]:
    """Bookings in slot order: of one clinic-local `day`, and/or with `status`, and/or with a
    slot at or after `since`. `calendar` gives the clinic's time zone (default: the settings)."""
    if status is not None and status not in BOOKING_STATUSES:
        raise BookingError(f"status must be one of {', '.join(BOOKING_STATUSES)}, got {status!r}")
    query = sa.select(Booking)
    if day is not None:
        if calendar is None:
            from bot.settings import get_settings

            calendar = ClinicCalendar.from_settings(get_settings())
        start, end = calendar.day_bounds(day)
        query = query.where(Booking.slot_start >= start, Booking.slot_start < end)
    if status:
        query = query.where(Booking.status == status)
    if since is not None:
        _require_aware(since, "since")
        query = query.where(Booking.slot_start >= since)
    if client_address:
        query = query.where(Booking.client_address == client_address)
    query = query.order_by(Booking.slot_start, Booking.id)
    if limit:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def bookings_for_handoff(session: Session, handoff_reference: str) -> list[Booking]:
    query = (
        sa.select(Booking)
        .where(Booking.handoff_reference == handoff_reference)
        .order_by(Booking.slot_start, Booking.id)
    )
    return list(session.execute(query).scalars())


# --- Changes (the caller commits) -------------------------------------------------------------


def _refuse_unless_booked(booking: Booking) -> None:
    if booking.status == "cancelled":
        raise BookingError(f"Booking {booking.reference} is already cancelled.")
    if booking.status == "done":
        raise BookingError(f"Booking {booking.reference} has already taken place.")


def cancel_by_visitor(
    session: Session,
    reference: str,
    phone: str,
    phone_region: str = "US",
    now: dt.datetime | None = None,
) -> Booking:
    """Cancels the booking if `phone` is the one it was made with. BookingNotFound, with one
    message, whether the reference or the phone number is wrong: it tells nothing about which
    references exist. The slot is free again once the session commits."""
    e164 = normalise_phone(phone, phone_region)
    booking = session.execute(
        sa.select(Booking)
        .where(Booking.reference == normalise_reference(reference))
        .with_for_update()
    ).scalar_one_or_none()
    same_phone = (
        booking is not None
        and e164 is not None
        and hmac.compare_digest(booking.phone.encode(), e164.encode())
    )
    if not same_phone:
        raise BookingNotFound(NOT_FOUND)
    _refuse_unless_booked(booking)
    now = now or utc_now()
    if booking.slot_start <= now:
        raise BookingError(
            f"The call for booking {booking.reference} has already started or passed."
        )
    booking.status, booking.cancelled_at, booking.cancelled_by = "cancelled", now, "visitor"
    session.flush()
    return booking


def cancel_by_staff(session: Session, booking: Booking, by: str) -> None:
    _refuse_unless_booked(booking)
    booking.status, booking.cancelled_at, booking.cancelled_by = "cancelled", utc_now(), by
    session.flush()


REASON_LIMIT = 500


@dataclass
class StaffCancellation:
    cancelled: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def cancel_for_clinic(
    session: Session, references: Iterable[str], *, by: str, reason: str
) -> StaffCancellation:
    """Cancels the bookings for the clinic (a flood, or calls it cannot take), each row locked
    until commit where the database can, each cancellation or refusal in the audit log with the
    reason. The one way the console and the CLI cancel; the caller commits."""
    from bot.desk import audit

    reason = " ".join((reason or "").split())
    if not reason:
        raise BookingError("Say why these calls are cancelled (the reason goes in the audit log).")
    if len(reason) > REASON_LIMIT:
        raise BookingError(f"The reason can be at most {REASON_LIMIT} characters.")
    result = StaffCancellation()
    for reference in dict.fromkeys(normalise_reference(r) for r in references if r.strip()):
        booking = session.execute(
            sa.select(Booking).where(Booking.reference == reference).with_for_update()
        ).scalar_one_or_none()
        if booking is None:
            result.refused[reference] = f"no booking {reference!r}"
            continue
        try:
            cancel_by_staff(session, booking, by)
        except BookingError as error:
            result.refused[reference] = str(error)
            audit.record(
                session, by, "booking_cancelled_refused", target=reference, detail=str(error)
            )
        else:
            result.cancelled.append(reference)
            audit.record(session, by, "booking_cancelled", target=reference, detail=reason)
    return result


def mark_done(session: Session, booking: Booking) -> None:
    """The call took place."""
    _refuse_unless_booked(booking)
    booking.status = "done"
    session.flush()


# --- Export -----------------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat() if value else None


def booking_to_dict(booking: Booking, calendar: ClinicCalendar) -> dict[str, Any]:
    """Times in UTC, ISO 8601 with +00:00; `slot_text` is the slot on the clinic's clock."""
    return {
        "reference": booking.reference,
        "slot_start": _iso(booking.slot_start),
        "slot_text": format_slot(booking.slot_start, calendar),
        "name": booking.name,
        "phone": booking.phone,
        "email": booking.email,
        "consent": booking.consent,
        "status": booking.status,
        "handoff_reference": booking.handoff_reference,
        "conversation_id": booking.conversation_id,
        "created_at": _iso(booking.created_at),
        "cancelled_at": _iso(booking.cancelled_at),
        "cancelled_by": booking.cancelled_by,
        "client_address": booking.client_address,
    }


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
