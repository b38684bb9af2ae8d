"""What the booking actions share: the booking form's slots and what they hold when it ends,
the clinic's calendar and its free times, the re-prompt that offers a person after repeated
failed answers, and the link to a booking's calendar file."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.shared import clinic_details, content
from bot.content.buttons import button
from bot.db.models import utc_now
from bot.db.session import session_scope
from bot.desk.booking_creation import free_slots
from bot.desk.scheduling import ClinicCalendar
from bot.settings import get_settings

BOOKING_SLOTS = (
    "booking_name",
    "booking_phone",
    "booking_email",
    "booking_slot",
    "booking_consent",
    "booking_confirmed",
)
NO_EMAIL = "none"
# What booking_confirmed holds when the form ends without a booking.
NOT_RECORDED = "not_recorded"
CANCELLED = "cancelled"
MAX_FAILURES = 3
SLOT_BUTTONS = 5


def clinic_calendar() -> ClinicCalendar:
    return ClinicCalendar.from_settings(get_settings())


def current_free_slots() -> list[dt.datetime]:
    with session_scope() as session:
        return free_slots(session, clinic_calendar(), utc_now())


def failed_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, response: str
) -> dict[str, Any]:
    """A specific re-prompt; after MAX_FAILURES on one question, the clinic's number and a
    person are offered."""
    failures = int(tracker.get_slot("booking_failures") or 0) + 1
    dispatcher.utter_message(response=response)
    if failures >= MAX_FAILURES:
        person = button(content().messages["talk_to_person_button"])
        dispatcher.utter_message(
            response="utter_booking_trouble", buttons=[person], **clinic_details()
        )
        failures = 0
    return {slot: None, "booking_failures": failures}


def cleared_booking() -> list[dict[str, Any]]:
    return [
        *(SlotSet(slot, None) for slot in BOOKING_SLOTS),
        SlotSet("booking_handoff_reference", None),
        SlotSet("booking_failures", 0),
    ]


def calendar_url(token: str) -> str:
    return f"{get_settings().public_base_url}/calendar/{token}.ics"
