"""The booking actions' own logic, against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import ActionCancelBooking
from actions.booking_form import ValidateBookingForm, slot_for_text
from actions.booking_shared import NO_EMAIL, NOT_RECORDED, calendar_url
from bot.db.session import session_scope
from bot.desk.booking_creation import free_slots
from bot.desk.bookings import get_booking
from bot.desk.references import booking_reference_in
from bot.desk.scheduling import ClinicCalendar, format_slot
from bot.settings import get_settings


@pytest.fixture
def clinic(database_url, environment, tmp_path):
    environment(
        DATABASE_URL=database_url,
        KAPBOT_VAR_DIR=str(tmp_path / "var"),
        CLINIC_TIMEZONE="America/New_York",
        CLINIC_DAYS="mon,tue,wed,thu,fri,sat,sun",
        CLINIC_HOURS="09:00-17:00",
        CLINIC_PHONE="(555) 777-1234",
    )
    return database_url


def tracker(
    text: str,
    intent: str = "inform",
    slots: dict | None = None,
    sender_id: str = "visitor-booking",
    address: str | None = None,
) -> Tracker:
    # The public channels put the client's address on the user event
    # (bot/protection/client_address.py).
    metadata = {"client_address": address} if address else {}
    return Tracker(
        sender_id=sender_id,
        slots=slots or {},
        latest_message={"intent": {"name": intent, "confidence": 0.9}, "text": text},
        events=[{"event": "user", "text": text, "metadata": metadata}],
        paused=False,
        followup_action=None,
        active_loop={"name": "booking_form"},
        latest_action_name="action_listen",
    )


def first_free_slot(url: str) -> dt.datetime:
    with session_scope(url) as session:
        return free_slots(
            session,
            ClinicCalendar.from_settings(get_settings()),
            dt.datetime.now(dt.timezone.utc),
        )[0]


def filled(slot: dt.datetime, **overrides) -> dict:
    return {
        "booking_name": "Ana Ruiz",
        "booking_phone": "(555) 123-4567",
        "booking_email": NO_EMAIL,
        "booking_slot": slot.isoformat(),
        "booking_consent": True,
        **overrides,
    }


def test_references_and_buttons_are_recognised():
    assert booking_reference_in("please cancel b-7kq2m9xa thanks") == "B-7KQ2M9XA"
    assert booking_reference_in("cancel B 7KQ2M9XA") == "B-7KQ2M9XA"
    assert booking_reference_in("cancel my booking") is None
    calendar = ClinicCalendar.from_settings(get_settings())
    slot = dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.timezone.utc)
    label = format_slot(slot, calendar)
    assert slot_for_text(label, [slot], calendar) == slot
    assert slot_for_text(label.rsplit(" (", 1)[0].upper(), [slot], calendar) == slot
    assert slot_for_text("tuesday", [slot], calendar) is None


async def test_confirming_books_the_call_and_keeps_the_reference(clinic):
    slot = first_free_slot(clinic)
    dispatcher = CollectingDispatcher()
    result = await ValidateBookingForm().validate_booking_confirmed(
        "Book it", dispatcher, tracker("Book it", "affirm", filled(slot)), {}
    )
    reference = result["booking_confirmed"]
    with session_scope(clinic) as session:
        booking = get_booking(session, reference)
        assert (booking.phone, booking.email, booking.slot_start) == ("+15551234567", None, slot)


async def test_a_change_asks_that_question_again_and_books_nothing(clinic):
    slot = first_free_slot(clinic)
    for text, slot_name in [
        ("Change the phone number", "booking_phone"),
        ("change the time", "booking_slot"),
        ("can I change my email", "booking_email"),
        ("change the name", "booking_name"),
    ]:
        result = await ValidateBookingForm().validate_booking_confirmed(
            text, CollectingDispatcher(), tracker(text, slots=filled(slot)), {}
        )
        assert result[slot_name] is None and result["booking_confirmed"] is None
    assert first_free_slot(clinic) == slot


async def test_a_taken_time_is_asked_again(clinic):
    slot = first_free_slot(clinic)
    form = ValidateBookingForm()
    await form.validate_booking_confirmed(
        "yes", CollectingDispatcher(), tracker("yes", "affirm", filled(slot)), {}
    )
    dispatcher = CollectingDispatcher()
    other = filled(slot, booking_name="Sam Lee", booking_phone="(555) 765-4321")
    second = tracker("yes", "affirm", other, sender_id="another-visitor")
    result = await form.validate_booking_confirmed("yes", dispatcher, second, {})
    assert result == {"booking_slot": None, "booking_confirmed": None}
    assert dispatcher.messages[0]["response"] == "utter_booking_slot_taken"


async def test_a_second_call_is_refused_with_the_first_one_s_reference_and_a_cancel_button(clinic):
    first = first_free_slot(clinic)
    form = ValidateBookingForm()
    booked = await form.validate_booking_confirmed(
        "yes", CollectingDispatcher(), tracker("yes", "affirm", filled(first)), {}
    )
    second = first_free_slot(clinic)
    for slots, sender in [
        (filled(second, booking_phone="(555) 765-4321"), "visitor-booking"),  # same conversation
        (filled(second), "someone-else"),  # same phone number
    ]:
        dispatcher = CollectingDispatcher()
        result = await form.validate_booking_confirmed(
            "yes", dispatcher, tracker("yes", "affirm", slots, sender_id=sender), {}
        )
        assert result == {"booking_confirmed": NOT_RECORDED}
        (said,) = dispatcher.messages
        assert booked["booking_confirmed"] in said["text"] and "already have" in said["text"]
        assert [b["payload"] for b in said["buttons"]] == [
            f"Cancel my booking {booked['booking_confirmed']}"
        ]
    assert first_free_slot(clinic) == second  # nothing more was booked


async def test_an_address_over_its_daily_share_gets_the_clinic_s_number(clinic, environment):
    environment(BOOKING_LIMIT_PER_ADDRESS="2")
    form = ValidateBookingForm()
    replies = []
    for n in range(3):
        slots = filled(first_free_slot(clinic), booking_phone=f"(555) 76{n}-4321")
        dispatcher = CollectingDispatcher()
        turn = tracker("yes", "affirm", slots, sender_id=f"script-{n}", address="203.0.113.7")
        replies.append(await form.validate_booking_confirmed("yes", dispatcher, turn, {}))
    assert [r["booking_confirmed"].startswith("B-") for r in replies] == [True, True, False]
    assert replies[2] == {"booking_confirmed": NOT_RECORDED}
    assert "(555) 777-1234" in dispatcher.messages[0]["text"]


async def test_database_down_the_visitor_gets_the_phone_number(environment):
    environment(
        DATABASE_URL="postgresql://postgres@127.0.0.1:9/kapbot", CLINIC_PHONE="(555) 777-1234"
    )
    calendar = ClinicCalendar.from_settings(get_settings())
    slot = calendar.candidate_slots(dt.datetime.now(dt.timezone.utc))[0]
    dispatcher = CollectingDispatcher()
    result = await ValidateBookingForm().validate_booking_confirmed(
        "yes", dispatcher, tracker("yes", "affirm", filled(slot)), {}
    )
    assert result == {"booking_confirmed": "not_recorded"}
    [message] = dispatcher.messages
    assert message["response"] == "utter_booking_not_recorded"
    assert message["clinic_phone"] == "(555) 777-1234"

    cancel = CollectingDispatcher()
    await ActionCancelBooking().run(
        cancel, tracker("x", slots={"cancel_reference": "B-7KQ2M9XA", "cancel_phone": "1"}), {}
    )
    assert cancel.messages[0]["response"] == "utter_booking_system_down"


@pytest.mark.parametrize(
    ("slot", "typed", "kept"),
    [
        ("booking_name", "my name is Ana Ruiz", "Ana Ruiz"),
        ("booking_name", "555 123 4567", None),
        ("booking_phone", "my number is 555 321 7788", "(555) 321-7788"),
        ("booking_phone", "12", None),
        ("booking_email", "skip", NO_EMAIL),
        ("booking_email", "it's Ana@Example.com", "Ana@example.com"),
        ("booking_email", "not an email", None),
    ],
)
async def test_answers_are_kept_normalised_or_refused(slot, typed, kept):
    dispatcher = CollectingDispatcher()
    result = await getattr(ValidateBookingForm(), f"validate_{slot}")(
        typed, dispatcher, tracker(typed), {}
    )
    assert result[slot] == kept
    assert bool(dispatcher.messages) == (kept is None)


async def test_the_third_failure_offers_the_phone_and_a_person():
    form = ValidateBookingForm()
    dispatcher = CollectingDispatcher()
    result = await form.validate_booking_phone(
        "12", dispatcher, tracker("12", slots={"booking_failures": 2}), {}
    )
    assert result["booking_failures"] == 0
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == ["utter_invalid_booking_phone", "utter_booking_trouble"]
    assert dispatcher.messages[1]["buttons"][0]["payload"] == "Talk to a person"


@pytest.mark.parametrize(
    ("text", "intent", "asked_again"),
    [
        ("correct the phone number", "inform", "booking_phone"),
        ("correct the spelling of my name", "inform", "booking_name"),
        ("sure, but can I change to friday", "affirm", "booking_slot"),
        ("book it for tuesday instead", "inform", "booking_slot"),
        ("yes, but make it 3pm", "affirm", "booking_slot"),
        ("ok but the number is 555 222 3333", "affirm", "booking_phone"),
    ],
)
async def test_a_yes_with_a_change_changes_and_books_nothing(clinic, text, intent, asked_again):
    slot = first_free_slot(clinic)
    result = await ValidateBookingForm().validate_booking_confirmed(
        text, CollectingDispatcher(), tracker(text, intent, filled(slot)), {}
    )
    assert result[asked_again] is None and result["booking_confirmed"] is None
    assert first_free_slot(clinic) == slot


@pytest.mark.parametrize("text", ["no", "not yet", "okay wait", "hmm"])
async def test_anything_but_a_clear_yes_books_nothing_and_lists_the_choices(clinic, text):
    slot = first_free_slot(clinic)
    dispatcher = CollectingDispatcher()
    result = await ValidateBookingForm().validate_booking_confirmed(
        text, dispatcher, tracker(text, "deny", filled(slot)), {}
    )
    assert result["booking_confirmed"] is None
    assert dispatcher.messages[0]["response"] == "utter_invalid_booking_confirmation"
    assert first_free_slot(clinic) == slot


@pytest.mark.parametrize(
    ("text", "intent"), [("ok no cancel it", "stop"), ("cancel", "cancel_booking")]
)
async def test_cancel_at_the_summary_ends_without_a_booking(clinic, text, intent):
    slot = first_free_slot(clinic)
    result = await ValidateBookingForm().validate_booking_confirmed(
        text, CollectingDispatcher(), tracker(text, intent, filled(slot)), {}
    )
    assert result == {"booking_confirmed": "cancelled"}
    assert first_free_slot(clinic) == slot


def free_slot_after_another(url: str) -> dt.datetime:
    """A free slot that is not the first of its run: "first free + 30 minutes" is closed when
    the first free slot is the last of the day, so the test would depend on the time it runs."""
    with session_scope(url) as session:
        slots = free_slots(
            session, ClinicCalendar.from_settings(get_settings()), dt.datetime.now(dt.timezone.utc)
        )
    pairs = zip(slots, slots[1:], strict=False)
    return next(b for a, b in pairs if b - a == dt.timedelta(minutes=30))


async def test_a_time_already_chosen_keeps_its_minute_when_checked_again(clinic):
    slot = free_slot_after_another(clinic)
    dispatcher = CollectingDispatcher()
    result = await ValidateBookingForm().validate_booking_slot(
        slot.isoformat(), dispatcher, tracker(slot.isoformat()), {}
    )
    assert result["booking_slot"] == slot.isoformat() and dispatcher.messages == []


async def test_a_time_in_the_past_is_not_booked(clinic):
    past = dt.datetime(2020, 1, 6, 15, 0, tzinfo=dt.timezone.utc)
    dispatcher = CollectingDispatcher()
    result = await ValidateBookingForm().validate_booking_confirmed(
        "yes", dispatcher, tracker("yes", "affirm", filled(past)), {}
    )
    assert result == {"booking_slot": None, "booking_confirmed": None}
    assert dispatcher.messages[0]["response"] == "utter_booking_slot_expired"


async def test_evening_outside_clinic_hours_is_said_to_be_the_nearest(clinic):
    dispatcher = CollectingDispatcher()
    result = await ValidateBookingForm().validate_booking_slot(
        "friday evening", dispatcher, tracker("friday evening"), {}
    )
    assert result["booking_slot"] is not None
    assert dispatcher.messages[0]["response"] == "utter_booking_slot_nearest"


def test_the_calendar_link_uses_the_public_address(environment):
    environment(PUBLIC_URL="https://chat.example-clinic.org")
    assert calendar_url("TOKEN") == "https://chat.example-clinic.org/calendar/TOKEN.ics"
