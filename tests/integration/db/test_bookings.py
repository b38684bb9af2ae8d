"""Screening-call bookings on real databases (SQLite and PostgreSQL, see `database_url`)."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import zoneinfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from bot.conversations.retention import purge
from bot.db.migrate import current_revision, downgrade, head_revision, upgrade
from bot.db.models import Booking
from bot.db.session import get_engine, session_factory, session_scope
from bot.desk.booking_calendar import booking_ics, bookings_ics, get_by_calendar_token
from bot.desk.booking_creation import SlotTaken, create_booking, free_slots
from bot.desk.bookings import (
    NOT_FOUND,
    BookingError,
    BookingNotFound,
    booking_to_dict,
    bookings_for_handoff,
    cancel_by_staff,
    cancel_by_visitor,
    get_booking,
    list_bookings,
    mark_done,
)
from bot.desk.handoff_drafts import Contact, HandoffDraft, store_draft
from bot.desk.handoffs import resolve_handoff
from bot.desk.scheduling import ClinicCalendar
from bot.settings import settings_from_env

UTC = dt.timezone.utc
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
CLINIC = ClinicCalendar.from_settings(
    settings_from_env({"CLINIC_NAME": "Lakeside Clinic", "CLINIC_PHONE": "(555) 010-0000"})
)
# Monday 23 November 2026, 8 am in New York.
NOW = dt.datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
SLOT = dt.datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # Tuesday 10:30 am EST
NAME, PHONE, E164, EMAIL = "Ramona Quill", "(555) 013-7788", "+15550137788", "ramona@example.org"


def book(url: str, slot: dt.datetime = SLOT, **overrides) -> Booking:
    values = {
        "slot_start": slot,
        "name": NAME,
        "phone": PHONE,
        "email": EMAIL,
        "consent": True,
        "conversation_id": "conv-1",
    }
    values.update(overrides)
    with session_scope(url) as session:
        return create_booking(session, **values)


def count(url: str, **where) -> int:
    with session_scope(url) as session:
        query = sa.select(sa.func.count()).select_from(Booking).filter_by(**where)
        return session.execute(query).scalar_one()


def reload(url: str, reference: str) -> Booking:
    with session_scope(url) as session:
        return get_booking(session, reference)


# --- Booking ----------------------------------------------------------------------------------


def test_a_booking_is_stored_with_a_reference_a_calendar_token_and_an_e164_phone(database_url):
    local_slot = SLOT.astimezone(NEW_YORK)  # any time zone is accepted and stored as UTC
    booking = book(database_url, local_slot, handoff_reference="kap-egbt23")
    assert re.fullmatch(r"B-[2-9A-HJKMNP-Z]{8}", booking.reference)
    assert len(booking.calendar_token) == 32

    stored = reload(database_url, booking.reference)
    assert stored.slot_start == SLOT and stored.slot_start.tzinfo == UTC
    assert (stored.status, stored.name, stored.phone, stored.email) == ("booked", NAME, E164, EMAIL)
    assert stored.consent is True and stored.conversation_id == "conv-1"
    assert stored.handoff_reference == "KAP-EGBT23"
    assert stored.created_at.tzinfo == UTC
    assert (stored.cancelled_at, stored.cancelled_by) == (None, None)
    assert reload(database_url, booking.reference.lower()).id == stored.id
    assert reload(database_url, " " + booking.reference + " ").id == stored.id
    with session_scope(database_url) as session:
        assert get_by_calendar_token(session, booking.calendar_token).id == stored.id
        assert get_by_calendar_token(session, "not-a-token") is None
        assert get_by_calendar_token(session, "") is None
        assert get_booking(session, "B-NOSUCH22") is None

    other = book(database_url, SLOT + dt.timedelta(minutes=30), email=None)
    assert other.reference != booking.reference
    assert other.calendar_token != booking.calendar_token
    assert reload(database_url, other.reference).email is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slot": dt.datetime(2026, 11, 24, 10, 30)}, "slot_start must be an aware datetime"),
        ({"consent": False}, "consent"),
        ({"consent": None}, "consent"),
        ({"consent": "yes"}, "consent"),
        ({"name": "  "}, "needs the visitor's name"),
        ({"name": "x" * 121}, "name is longer than 120 characters"),
        ({"phone": "call me"}, "phone number that can be called"),
        ({"phone": ""}, "phone number that can be called"),
        ({"email": "a" * 250 + "@x.org"}, "email address is longer than 254"),
    ],
)
def test_invalid_bookings_are_refused_and_nothing_is_stored(database_url, overrides, message):
    with pytest.raises(BookingError, match=message):
        book(database_url, **overrides)
    assert count(database_url) == 0


def test_a_taken_slot_raises_slot_taken_and_the_session_stays_usable(database_url):
    first = book(database_url)
    with session_scope(database_url) as session:
        with pytest.raises(SlotTaken, match="just been taken"):
            create_booking(
                session,
                slot_start=SLOT.astimezone(NEW_YORK),
                name="Somebody Else",
                phone="+1 555 013 9999",
                email=None,
                consent=True,
                conversation_id="conv-2",
            )
        # Rolled back cleanly: the same session books another slot.
        second = create_booking(
            session,
            slot_start=SLOT + dt.timedelta(hours=1),
            name="Somebody Else",
            phone="+1 555 013 9999",
            email=None,
            consent=True,
            conversation_id="conv-2",
        )
    assert isinstance(SlotTaken("x"), BookingError) and isinstance(SlotTaken("x"), ValueError)
    assert count(database_url) == 2
    assert reload(database_url, first.reference).name == NAME
    assert reload(database_url, second.reference).slot_start == SLOT + dt.timedelta(hours=1)


def test_the_database_itself_allows_one_active_booking_per_slot(database_url):
    first = book(database_url)

    def insert(status: str) -> None:
        with session_scope(database_url) as session:
            session.add(
                Booking(
                    reference=f"B-RAW{status[:4].upper()}",
                    slot_start=SLOT,
                    status=status,
                    name="Raw Insert",
                    phone="+15550100000",
                    consent=True,
                    conversation_id="raw",
                    calendar_token=f"token-{status}",
                )
            )

    with pytest.raises(sa.exc.IntegrityError):
        insert("booked")
    insert("cancelled")  # a cancelled booking does not hold the slot
    insert("done")
    assert count(database_url) == 3
    # Nor can a cancelled booking come back while another holds the slot.
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope(database_url) as session:
            session.execute(
                sa.update(Booking).where(Booking.reference == "B-RAWCANC").values(status="booked")
            )
    assert reload(database_url, first.reference).status == "booked"


def test_twenty_visitors_asking_for_one_slot_at_the_same_moment_get_it_once(database_url):
    attempts = 20
    factory = session_factory(database_url)
    barrier = threading.Barrier(attempts)
    outcomes: list[str | None] = [None] * attempts

    def attempt(number: int) -> None:
        session = factory()
        try:
            barrier.wait(timeout=30)
            create_booking(
                session,
                slot_start=SLOT,
                name=f"Visitor {number}",
                phone=f"+1 555 013 {number:04d}",
                email=None,
                consent=True,
                conversation_id=f"conv-{number}",
            )
            outcomes[number] = "booked"
        except SlotTaken:
            outcomes[number] = "taken"
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcomes[number] = f"{type(error).__name__}: {error}"
        finally:
            session.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["booked"] + ["taken"] * (attempts - 1), outcomes
    assert count(database_url) == 1
    with session_scope(database_url) as session:
        (winner,) = list_bookings(session, status="booked")
    assert winner.name == f"Visitor {outcomes.index('booked')}"


def test_a_cancelled_slot_can_be_booked_again(database_url):
    first = book(database_url)
    with session_scope(database_url) as session:
        cancel_by_visitor(session, first.reference, PHONE, "US", now=NOW)
    second = book(database_url, name="Second Visitor")
    with session_scope(database_url) as session:
        cancel_by_staff(session, get_booking(session, second.reference), "alice")
    third = book(database_url, name="Third Visitor")
    with pytest.raises(SlotTaken):
        book(database_url, name="Fourth Visitor")
    assert count(database_url, status="cancelled") == 2
    assert count(database_url, status="booked") == 1
    assert reload(database_url, third.reference).status == "booked"


# --- Free slots -------------------------------------------------------------------------------


def test_free_slots_leave_out_booked_slots_only(database_url):
    with session_scope(database_url) as session:
        everything = free_slots(session, CLINIC, NOW)
    assert everything == CLINIC.candidate_slots(NOW) and len(everything) == 160

    taken = book(database_url)
    later = book(database_url, everything[-1])
    cancelled = book(database_url, everything[0])
    with session_scope(database_url) as session:
        cancel_by_staff(session, get_booking(session, cancelled.reference), "alice")
        mark_done(session, get_booking(session, later.reference))
    # A slot outside the candidates (last week's) changes nothing.
    book(database_url, NOW - dt.timedelta(days=7))
    with session_scope(database_url) as session:
        free = free_slots(session, CLINIC, NOW)
    assert SLOT not in free and taken.slot_start == SLOT
    assert everything[0] in free  # cancelled: free again
    assert everything[-1] in free  # done is not booked
    assert free == [slot for slot in everything if slot != SLOT]


# --- Cancelling -------------------------------------------------------------------------------


def test_a_visitor_cancels_with_the_reference_and_the_phone_in_any_format(database_url):
    booking = book(database_url)
    spaced = " ".join(booking.reference.lower())
    with session_scope(database_url) as session:
        cancelled = cancel_by_visitor(session, spaced, "+1 555.013.7788", "US", now=NOW)
        assert cancelled.reference == booking.reference
    stored = reload(database_url, booking.reference)
    assert (stored.status, stored.cancelled_by, stored.cancelled_at) == (
        "cancelled",
        "visitor",
        NOW,
    )

    with session_scope(database_url) as session:
        with pytest.raises(BookingError, match="is already cancelled") as refused:
            cancel_by_visitor(session, booking.reference, PHONE, "US", now=NOW)
    assert not isinstance(refused.value, BookingNotFound)


def test_a_wrong_reference_or_phone_gets_the_same_answer_and_changes_nothing(database_url):
    booking = book(database_url)
    other = book(database_url, SLOT + dt.timedelta(hours=1), phone="+1 555 013 4444")
    wrong = [
        ("B-NOSUCH22", PHONE),  # no such reference
        (booking.reference, "+1 555 013 4444"),  # another booking's phone
        (other.reference, PHONE),
        (booking.reference, "+44 20 7946 0000"),
        (booking.reference, "not a phone"),
        (booking.reference, ""),
        ("", ""),
    ]
    messages = set()
    for reference, phone in wrong:
        with session_scope(database_url) as session:
            with pytest.raises(BookingNotFound) as refused:
                cancel_by_visitor(session, reference, phone, "US", now=NOW)
        messages.add(str(refused.value))
    assert messages == {NOT_FOUND}
    assert count(database_url, status="booked") == 2


def test_a_visitor_cannot_cancel_a_call_that_has_passed_or_taken_place(database_url):
    booking = book(database_url)
    with session_scope(database_url) as session:
        with pytest.raises(BookingError, match="already started or passed"):
            cancel_by_visitor(session, booking.reference, PHONE, "US", now=SLOT)
    with session_scope(database_url) as session:
        mark_done(session, get_booking(session, booking.reference))
    with session_scope(database_url) as session:
        with pytest.raises(BookingError, match="has already taken place"):
            cancel_by_visitor(session, booking.reference, PHONE, "US", now=NOW)
    assert reload(database_url, booking.reference).status == "done"


def test_staff_cancel_and_mark_done_and_the_steps_they_refuse(database_url):
    first = book(database_url)
    second = book(database_url, SLOT + dt.timedelta(hours=1))
    with session_scope(database_url) as session:
        cancel_by_staff(session, get_booking(session, first.reference), "alice")
        mark_done(session, get_booking(session, second.reference))
    stored = reload(database_url, first.reference)
    assert (stored.status, stored.cancelled_by) == ("cancelled", "alice")
    assert stored.cancelled_at.tzinfo == UTC
    assert reload(database_url, second.reference).status == "done"
    with session_scope(database_url) as session:
        cancelled, done = (
            get_booking(session, first.reference),
            get_booking(session, second.reference),
        )
        for change in (
            lambda: cancel_by_staff(session, cancelled, "bob"),
            lambda: mark_done(session, cancelled),
        ):
            with pytest.raises(BookingError, match="is already cancelled"):
                change()
        for change in (
            lambda: cancel_by_staff(session, done, "bob"),
            lambda: mark_done(session, done),
        ):
            with pytest.raises(BookingError, match="has already taken place"):
                change()
    assert reload(database_url, first.reference).cancelled_by == "alice"


# --- Listing ----------------------------------------------------------------------------------


def test_list_bookings_by_clinic_day_status_and_time(database_url):
    # Tuesday 24 November in New York runs from 05:00 UTC to 05:00 UTC the next day.
    late = book(database_url, dt.datetime(2026, 11, 24, 21, 30, tzinfo=UTC))  # 4:30 pm EST
    early = book(database_url, dt.datetime(2026, 11, 24, 14, 0, tzinfo=UTC))  # 9:00 am EST
    next_day = book(database_url, dt.datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    cancelled = book(database_url, SLOT)
    with session_scope(database_url) as session:
        cancel_by_staff(session, get_booking(session, cancelled.reference), "alice")

    def listed(*args, **kwargs) -> list[str]:
        with session_scope(database_url) as session:
            return [b.reference for b in list_bookings(session, *args, calendar=CLINIC, **kwargs)]

    tuesday = dt.date(2026, 11, 24)
    assert listed() == [early.reference, cancelled.reference, late.reference, next_day.reference]
    assert listed(tuesday) == [early.reference, cancelled.reference, late.reference]
    assert listed(tuesday, "booked") == [early.reference, late.reference]
    assert listed(status="cancelled") == [cancelled.reference]
    assert listed(dt.date(2026, 11, 25)) == [next_day.reference]
    assert listed(dt.date(2026, 11, 26)) == []
    assert listed(since=SLOT, status="booked") == [late.reference, next_day.reference]
    assert listed(limit=1) == [early.reference]
    with session_scope(database_url) as session:
        with pytest.raises(BookingError, match="status must be one of booked, cancelled, done"):
            list_bookings(session, status="gone")
        with pytest.raises(BookingError, match="aware"):
            list_bookings(session, since=dt.datetime(2026, 11, 24))


def test_bookings_keep_their_handoff_reference_when_the_handoff_is_purged(database_url):
    draft = HandoffDraft(
        reason="eligibility",
        conversation_id="conv-1",
        question="Can I do KAP on lithium?",
        transcript=[],
        contact=Contact(NAME, E164, None, consent=True),
        created_at=NOW - dt.timedelta(days=40),
    )
    with session_scope(database_url) as session:
        handoff = store_draft(session, draft)
        resolve_handoff(session, handoff, "dr.lee")
        handoff.resolved_at = draft.created_at
    booking = book(database_url, handoff_reference=draft.reference)
    with session_scope(database_url) as session:
        assert [b.reference for b in bookings_for_handoff(session, draft.reference)] == [
            booking.reference
        ]
        assert purge(session, 30, now=NOW).handoffs == 1
    assert reload(database_url, booking.reference).handoff_reference == draft.reference


# --- Export -----------------------------------------------------------------------------------


def test_booking_to_dict_gives_utc_times_with_an_offset(database_url):
    booking = book(database_url, handoff_reference="KAP-EGBT23")
    with session_scope(database_url) as session:
        data = booking_to_dict(get_booking(session, booking.reference), CLINIC)
    assert json.loads(json.dumps(data)) == data
    assert data["reference"] == booking.reference
    assert data["slot_start"] == "2026-11-24T15:30:00+00:00"
    assert data["slot_text"] == "Tue 24 Nov, 10:30 am (EST)"
    assert (data["name"], data["phone"], data["email"]) == (NAME, E164, EMAIL)
    assert (data["status"], data["handoff_reference"], data["consent"]) == (
        "booked",
        "KAP-EGBT23",
        True,
    )
    assert dt.datetime.fromisoformat(data["created_at"]).utcoffset() == dt.timedelta(0)
    assert data["cancelled_at"] is None and "calendar_token" not in data


def test_the_visitors_calendar_file_holds_their_call_and_nothing_personal(database_url):
    booking = book(database_url)
    with session_scope(database_url) as session:
        body = booking_ics(get_booking(session, booking.reference), CLINIC)
    assert isinstance(body, bytes)
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))  # folded as RFC 5545 says
    for personal in (NAME, E164, PHONE, EMAIL, "Ramona", "7788"):
        assert personal.encode() not in body

    parsed = Calendar.from_ical(body)
    (event,) = parsed.walk("VEVENT")
    assert event.decoded("dtstart") == SLOT and event.decoded(
        "dtstart"
    ).utcoffset() == dt.timedelta(0)
    assert event.decoded("dtend") == SLOT + dt.timedelta(minutes=30)
    assert b"DTSTART:20261124T153000Z" in body
    assert str(event["summary"]) == "Screening call with Lakeside Clinic"
    description = str(event["description"])
    for needed in ("phone nearby", "medications", "health conditions", "questions"):
        assert needed in description
    assert booking.reference in description and "(555) 010-0000" in description
    assert str(event["uid"]) == f"{booking.reference}@kapbot"
    assert str(event["status"]) == "CONFIRMED"
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("trigger") == -dt.timedelta(minutes=30)


def test_the_staff_calendar_file_escapes_what_visitors_typed(database_url):
    awkward = "Doe, Jane; \\Jr"
    first = book(database_url, name=awkward, email=None)
    second = book(database_url, SLOT + dt.timedelta(hours=2), handoff_reference="KAP-EGBT23")
    with session_scope(database_url) as session:
        body = bookings_ics(list_bookings(session, calendar=CLINIC), CLINIC)
    assert b"Doe\\, Jane\\; \\\\Jr" in body
    events = Calendar.from_ical(body).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == [
        f"Screening call: {awkward}",
        f"Screening call: {NAME}",
    ]
    assert [e.decoded("dtstart") for e in events] == [SLOT, SLOT + dt.timedelta(hours=2)]
    assert f"Phone: {E164}" in str(events[0]["description"])
    assert "Email" not in str(events[0]["description"])
    assert f"Email: {EMAIL}" in str(events[1]["description"])
    assert "Handoff: KAP-EGBT23" in str(events[1]["description"])
    assert {str(e["uid"]) for e in events} == {
        f"{first.reference}@kapbot",
        f"{second.reference}@kapbot",
    }
    assert Calendar.from_ical(bookings_ics([], CLINIC)).walk("VEVENT") == []


# --- Migration --------------------------------------------------------------------------------


def test_migration_0002_adds_and_removes_only_the_bookings_table(database_url):
    book(database_url)
    downgrade(database_url, "0001")
    assert current_revision(database_url) == "0001"
    tables = set(sa.inspect(get_engine(database_url)).get_table_names())
    assert "kap_bookings" not in tables and "kap_handoffs" in tables
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    indexes = {
        index["name"]: index
        for index in sa.inspect(get_engine(database_url)).get_indexes("kap_bookings")
    }
    assert indexes["uq_kap_bookings_active_slot"]["unique"]
    book(database_url)
    with pytest.raises(SlotTaken):
        book(database_url)
