"""Booking a screening call: the free slots, and creating a booking within the limits against
floods (one upcoming call per phone number and conversation, a daily share per client address).

That a slot is taken by at most one active booking is enforced by the database (a partial unique
index on slot_start where status is 'booked'), not checked before inserting: two visitors asking
for the same slot at once cannot both get it, whichever process serves them.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db.models import Booking, utc_now
from bot.desk.aware_times import require_aware
from bot.desk.bookings import BookingError
from bot.desk.contact import normalise_phone
from bot.desk.references import new_booking_reference, normalise_reference
from bot.desk.scheduling import ClinicCalendar

log = logging.getLogger(__name__)

# A reference or token collision is about one in 10^11: a few fresh ones are plenty.
_ATTEMPTS = 3


class SlotTaken(BookingError):
    """Someone else holds the slot (the database refused a second active booking for it)."""


class AlreadyBooked(BookingError):
    """The phone number or the conversation already has an upcoming call: one at a time."""

    def __init__(self, booking: Booking) -> None:
        super().__init__(
            f"There is already a call booked ({booking.reference}): change or cancel it first."
        )
        self.reference, self.slot_start = booking.reference, booking.slot_start


class TooManyBookings(BookingError):
    """The client address booked its day's share of calls (a script filling the calendar)."""


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


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
    require_aware(slot_start, "slot_start", BookingError)
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
    return _insert(
        session,
        slot_start=slot_start,
        status="booked",
        name=name,
        phone=e164,
        email=email,
        consent=True,
        conversation_id=conversation_id,
        handoff_reference=handoff_reference,
        client_address=(client_address or "")[:64] or None,
    )


def _insert(session: Session, **fields) -> Booking:
    """Commits a new booking with fresh references; SlotTaken if another holds the slot."""
    slot_start = fields["slot_start"]
    for _ in range(_ATTEMPTS):
        booking = Booking(
            reference=new_booking_reference(),
            created_at=utc_now(),
            calendar_token=new_calendar_token(),
            **fields,
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
