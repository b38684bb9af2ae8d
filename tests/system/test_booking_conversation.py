"""Booking a screening call end to end: the running Rasa server's REST channel, the real action
server and database (SQLite and PostgreSQL), and `kapbot bookings list --json` afterwards."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest

from bot.content.model import load_content
from bot.db.session import session_scope
from bot.desk.bookings import get_booking, list_bookings
from tests.integration.test_cli_handoffs import kapbot
from tests.system.conftest import CLINIC_ENV, exchange, say, say_each

pytestmark = pytest.mark.slow
CLINIC_TZ = ZoneInfo(CLINIC_ENV["CLINIC_TIMEZONE"])
BOOKING_REFERENCE = re.compile(r"\bB-[0-9A-Z]{8}\b")


@pytest.fixture(scope="module")
def messages():
    return load_content().messages


def opening(message: str) -> str:
    """The fixed start of a message with {placeholders}."""
    return message.split("{", 1)[0].strip()


def new_visitor() -> str:
    return f"visitor-{uuid.uuid4().hex[:8]}"


def bookings_json(database_url: str, tmp_path) -> list[dict]:
    result = kapbot("bookings", "list", "--json", url=database_url, var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def next_weekday_at(weekday: int, hour: int) -> dt.datetime:
    """The coming `weekday` (0 = Monday, never today) at `hour`:00 clinic time, in UTC."""
    today = dt.datetime.now(CLINIC_TZ).date()
    days = (weekday - today.weekday()) % 7 or 7
    local = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), CLINIC_TZ)
    return local.astimezone(dt.timezone.utc)


def new_phone() -> tuple[str, str, str]:
    """A phone number no other test books with (one upcoming call per number): as typed, in
    E.164 and as the bot shows it."""
    number = uuid.uuid4().int % 8_000_000 + 2_000_000
    exchange_, line = divmod(number, 10_000)
    return (
        f"555 {exchange_} {line:04d}",
        f"+1555{exchange_}{line:04d}",
        f"(555) {exchange_}-{line:04d}",
    )


def start_booking(
    rasa_url: str, sender: str, messages, email: str = "skip", phone: str | None = None
) -> list[dict]:
    """Name, phone (by default one of its own) and email answered; returns the time
    question's messages."""
    asked = say(rasa_url, sender, "I'd like to book a screening call")
    assert asked == messages["ask_booking_name"]
    assert say(rasa_url, sender, "Ana Ruiz") == messages["ask_booking_phone"]
    assert say(rasa_url, sender, phone or new_phone()[0]) == messages["ask_booking_email"]
    return exchange(rasa_url, sender, email)


def test_booking_with_a_button_shows_up_in_the_cli_with_its_utc_time(servers, messages, tmp_path):
    rasa_url, database_url = servers
    sender = new_visitor()
    typed, e164, shown = new_phone()
    [question] = start_booking(rasa_url, sender, messages, email="ana@example.com", phone=typed)
    assert question["text"].startswith(opening(messages["ask_booking_slot"]))
    first = question["buttons"][0]
    assert len(question["buttons"]) == 5

    consent = exchange(rasa_url, sender, first["payload"])
    assert shown in consent[0]["text"]
    # A button sends its label, as if typed (bot/content/buttons.py).
    yes_no = [b["payload"] for b in consent[0]["buttons"]]
    assert yes_no == [messages["yes_button"], messages["no_button"]]
    [summary] = exchange(rasa_url, sender, yes_no[0])
    assert "Ana Ruiz" in summary["text"] and "ana@example.com" in summary["text"]
    assert first["title"] in summary["text"]
    assert summary["buttons"][0]["payload"] == messages["confirm_button"]
    assert summary["buttons"][-1]["payload"] == messages["cancel_button"]

    done = say(rasa_url, sender, summary["buttons"][0]["payload"])
    reference = BOOKING_REFERENCE.search(done).group(0)
    assert first["title"] in done and "/calendar/" in done and ".ics" in done

    [listed] = [b for b in bookings_json(database_url, tmp_path) if b["reference"] == reference]
    assert (listed["name"], listed["phone"], listed["email"], listed["status"]) == (
        "Ana Ruiz",
        e164,
        "ana@example.com",
        "booked",
    )
    slot_start = dt.datetime.fromisoformat(listed["slot_start"])
    assert slot_start.utcoffset() == dt.timedelta(0)
    # The button showed the clinic's local time; the list holds the same moment in UTC.
    local = slot_start.astimezone(CLINIC_TZ)
    assert f"{local.day} {local:%b}" in first["title"]
    assert f"{local.hour % 12 or 12}:{local.minute:02d}" in first["title"]


def test_free_text_time_is_booked_at_the_right_utc_moment(servers, messages, tmp_path):
    rasa_url, database_url = servers
    # A weekday two days ahead: never today, whose "<weekday> at 10" may mean today itself.
    weekday = (dt.datetime.now(CLINIC_TZ).weekday() + 2) % 7
    expected = next_weekday_at(weekday, 10)
    with session_scope(database_url) as session:
        taken = any(b.slot_start == expected for b in list_bookings(session, status="booked"))
    sender = new_visitor()
    start_booking(rasa_url, sender, messages)
    reply = say(rasa_url, sender, f"{expected.astimezone(CLINIC_TZ):%A} at 10")
    # Said only when the time asked for was not free (another test may have booked it).
    assert reply.startswith(opening(messages["booking_slot_nearest"])) == taken
    assert "Do you agree that the clinic may call you" in reply
    say(rasa_url, sender, "yes")
    reference = BOOKING_REFERENCE.search(say(rasa_url, sender, "book it")).group(0)

    [listed] = [b for b in bookings_json(database_url, tmp_path) if b["reference"] == reference]
    booked = dt.datetime.fromisoformat(listed["slot_start"])
    if not taken:
        assert booked == expected
    else:
        assert (
            booked != expected
            and booked.astimezone(CLINIC_TZ).date() == expected.astimezone(CLINIC_TZ).date()
        )


def test_invalid_phone_gets_a_specific_reprompt_then_a_valid_one_is_taken(servers, messages):
    rasa_url, _ = servers
    sender = new_visitor()
    say(rasa_url, sender, "can I book a consultation?")
    say(rasa_url, sender, "Sam Lee")
    assert say(rasa_url, sender, "12") == "\n".join(
        [messages["invalid_booking_phone"], messages["ask_booking_phone"]]
    )
    assert say(rasa_url, sender, "my number is 555 321 7788") == messages["ask_booking_email"]


def test_three_failed_answers_offer_the_phone_number_or_a_person(servers, messages):
    rasa_url, _ = servers
    sender = new_visitor()
    say_each(rasa_url, sender, "book a call", "Sam Lee", "12", "34")
    third = exchange(rasa_url, sender, "56")
    text = "\n".join(m.get("text", "") for m in third)
    assert "(555) 777-1234" in text
    person = messages["talk_to_person_button"]
    assert any(b["payload"] == person for m in third for b in m.get("buttons", []))


def test_a_question_mid_form_is_answered_and_the_form_resumes(servers, messages):
    rasa_url, _ = servers
    sender = new_visitor()
    say(rasa_url, sender, "I want to book a screening")
    reply = say(rasa_url, sender, "wait, is ketamine addictive?")
    assert "Source: How Safe Is KAP?" in reply
    assert reply.endswith(messages["ask_booking_name"])
    assert say(rasa_url, sender, "Ana Ruiz") == messages["ask_booking_phone"]


def test_stop_mid_form_cancels_and_stores_nothing(servers, messages):
    rasa_url, database_url = servers
    sender = new_visitor()
    start_booking(rasa_url, sender, messages)
    stopped = say(rasa_url, sender, "stop")
    assert stopped.startswith(opening(messages["booking_stopped"]))
    with session_scope(database_url) as session:
        assert [b for b in list_bookings(session) if b.conversation_id == sender] == []


def test_a_booking_is_cancelled_with_its_reference_and_phone(servers, messages):
    rasa_url, database_url = servers
    sender = new_visitor()
    typed, _, shown = new_phone()
    [question] = start_booking(rasa_url, sender, messages, phone=typed)
    exchange(rasa_url, sender, question["buttons"][-1]["payload"])
    say(rasa_url, sender, "yes")
    reference = BOOKING_REFERENCE.search(say(rasa_url, sender, messages["confirm_button"])).group(0)

    other = new_visitor()
    asked = say(rasa_url, other, f"please cancel my booking {reference}")
    assert asked == messages["ask_cancel_phone"]  # the reference came with the request
    wrong = say(rasa_url, other, "555 000 1111")
    assert wrong.startswith(opening(messages["booking_cancel_failed"]))
    with session_scope(database_url) as session:
        assert get_booking(session, reference).status == "booked"

    say(rasa_url, other, "I need to cancel my screening call")
    assert say(rasa_url, other, reference.lower()) == messages["ask_cancel_phone"]
    cancelled = say(rasa_url, other, shown)
    assert cancelled.startswith("Your screening call at") and reference in cancelled
    with session_scope(database_url) as session:
        assert get_booking(session, reference).status == "cancelled"


def test_two_visitors_confirming_one_time_only_one_gets_it(servers, messages):
    rasa_url, database_url = servers
    first, second = new_visitor(), new_visitor()
    [question] = start_booking(rasa_url, first, messages)
    start_booking(rasa_url, second, messages)
    wanted = question["buttons"][2]["payload"]
    for visitor in (first, second):
        exchange(rasa_url, visitor, wanted)
        say(rasa_url, visitor, "yes")
    assert BOOKING_REFERENCE.search(say(rasa_url, first, messages["confirm_button"]))
    lost = exchange(rasa_url, second, messages["confirm_button"])
    assert lost[0]["text"] == messages["booking_slot_taken"]
    # ...and is offered the free times again, without the one just taken.
    offered = [b["payload"] for b in lost[-1]["buttons"]]
    assert wanted not in offered and len(offered) == 5
    with session_scope(database_url) as session:
        assert [b.conversation_id for b in list_bookings(session) if b.status == "booked"].count(
            second
        ) == 0


def test_twenty_simultaneous_confirmations_for_one_time_yield_one_booking(servers, messages):
    rasa_url, database_url = servers
    visitors = [new_visitor() for _ in range(20)]
    wanted = None
    for visitor in visitors:
        [question] = start_booking(rasa_url, visitor, messages)
        wanted = wanted or question["buttons"][-1]["payload"]
        exchange(rasa_url, visitor, wanted)
        say(rasa_url, visitor, "yes")
    # All twenty press "Book it" at once, through the REST channel.
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda v: say(rasa_url, v, messages["confirm_button"]), visitors))
    booked = [r for r in replies if BOOKING_REFERENCE.search(r)]
    assert len(booked) == 1
    assert sum(r.startswith(messages["booking_slot_taken"]) for r in replies) == 19
    with session_scope(database_url) as session:
        ours = [b for b in list_bookings(session) if b.conversation_id in visitors]
    assert len(ours) == 1 and ours[0].status == "booked"


def test_after_an_eligibility_handoff_a_booking_carries_its_reference(servers, messages):
    rasa_url, database_url = servers
    sender = new_visitor()
    typed, e164, _ = new_phone()
    handed_over = say_each(
        rasa_url,
        sender,
        "I take lithium, could I still have KAP?",
        "yes please",
        "Ana Ruiz",
        typed,
        "yes",
    )
    handoff_reference = re.search(r"KAP-[0-9A-Z]{6}", handed_over).group(0)
    assert handed_over.endswith(messages["offer_booking"])
    # Name and phone were given for the handoff: the booking goes straight to the email.
    assert say(rasa_url, sender, "yes") == messages["ask_booking_email"]
    [question] = exchange(rasa_url, sender, "skip")
    exchange(rasa_url, sender, question["buttons"][0]["payload"])
    say(rasa_url, sender, "yes")
    reference = BOOKING_REFERENCE.search(say(rasa_url, sender, messages["confirm_button"])).group(0)
    with session_scope(database_url) as session:
        booking = get_booking(session, reference)
        assert booking.handoff_reference == handoff_reference
        assert (booking.name, booking.phone) == ("Ana Ruiz", e164)
