"""Screening-call bookings once made: finding and listing them, cancelling them (by the visitor,
with the reference and phone number, or by the clinic) and marking a call done, and a booking as
a dict for JSON. Free slots and booking are in bot/desk/booking_creation.py; calendar files in
bot/desk/booking_calendar.py.

Plain functions over a SQLAlchemy session, like bot/desk/handoffs.py; the custom actions, the staff
console and the CLI are thin layers over them. When the clinic takes calls comes from a
`ClinicCalendar` (bot/desk/scheduling.py).

Times: `slot_start` is stored, compared and exported in UTC; `booking_to_dict` writes it as ISO
8601 with a `+00:00` offset, and `format_slot` shows it on the clinic's clock.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db.models import BOOKING_STATUSES, Booking, utc_now
from bot.desk.aware_times import require_aware
from bot.desk.contact import normalise_phone
from bot.desk.references import locked_by_reference, normalise_reference
from bot.desk.scheduling import ClinicCalendar, format_slot

NOT_FOUND = (
    "No booking matches that reference and phone number. Check both and try again, or call the "
    "clinic."
)


class BookingError(ValueError):
    """A booking request that cannot be carried out; the message says why."""


class BookingNotFound(BookingError):
    """No booking with that reference and phone: the same message whichever was wrong."""


# --- Reading ----------------------------------------------------------------------------------


def get_booking(session: Session, reference: str) -> Booking | None:
    """The booking with `reference` ("b-abcd2345" works too), or None."""
    query = sa.select(Booking).where(Booking.reference == normalise_reference(reference))
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
        require_aware(since, "since", BookingError)
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
        booking = locked_by_reference(session, Booking, reference)
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
