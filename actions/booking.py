"""Booking a screening call in the chat, and cancelling one: the actions around the booking form
(its time question with the free times as buttons, its summary, what happens when it ends or is
stopped) and the cancel form with its action. The form's validation, which books the call when
the visitor confirms, is in actions/booking_form.py. After three failed answers to one question
the bot offers the clinic's phone number or a person. The texts are in content/messages.yml.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking_shared import (
    CANCELLED,
    NO_EMAIL,
    SLOT_BUTTONS,
    cleared_booking,
    clinic_calendar,
    current_free_slots,
    failed_answer,
)
from actions.shared import clinic_details, content, in_thread, latest_intent
from bot.content.buttons import button
from bot.db.models import utc_now
from bot.db.session import session_scope
from bot.desk.bookings import BookingError, BookingNotFound, cancel_by_visitor
from bot.desk.contact import phone_in
from bot.desk.references import booking_reference_in
from bot.desk.scheduling import format_slot
from bot.settings import get_settings

log = logging.getLogger(__name__)


class ActionAskBookingSlot(Action):
    """The time question, with the next free times as buttons."""

    def name(self) -> str:
        return "action_ask_booking_slot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        calendar = clinic_calendar()
        try:
            free = await in_thread(current_free_slots)
            problem = None if free else "utter_booking_no_free_slots"
        except Exception as error:  # noqa: BLE001 - the visitor must always get an answer
            log.error("Free slots could not be read: %s", type(error).__name__)
            problem = "utter_booking_system_down"
        if problem:
            # No time can be offered: the booking ends here, with the clinic's number.
            dispatcher.utter_message(response=problem, **clinic_details())
            return [ActiveLoop(None), SlotSet("requested_slot", None), *cleared_booking()]
        labels = [format_slot(slot, calendar) for slot in free[:SLOT_BUTTONS]]
        dispatcher.utter_message(
            response="utter_booking_slot_question",
            buttons=[button(label) for label in labels],
            timezone=calendar.local(utc_now()).tzname(),
        )
        return []


class ActionAskBookingConfirmed(Action):
    """The summary: book it, change a detail, or cancel."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        labels = content().messages
        email = tracker.get_slot("booking_email")
        slot = tracker.get_slot("booking_slot")
        buttons = [
            button(labels["confirm_button"]),
            *(
                button(labels[key])
                for key in (
                    "change_time_button",
                    "change_phone_button",
                    "change_name_button",
                    "change_email_button",
                )
            ),
            button(labels["cancel_button"]),
        ]
        dispatcher.utter_message(
            response="utter_booking_summary",
            buttons=buttons,
            name=tracker.get_slot("booking_name") or "",
            phone=tracker.get_slot("booking_phone") or "",
            email="none" if email in (None, NO_EMAIL) else email,
            time=format_slot(dt.datetime.fromisoformat(slot), clinic_calendar()) if slot else "",
        )
        return []


class ActionBookingDone(Action):
    """After the form: the confirmation was already said by the validator (or the visitor
    cancelled at the summary); the form's slots are cleared for a next booking."""

    def name(self) -> str:
        return "action_booking_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("booking_confirmed") == CANCELLED:
            dispatcher.utter_message(response="utter_booking_stopped", **clinic_details())
        return cleared_booking()


class ActionClearBooking(Action):
    """Forgets a booking in progress without a word (the visitor went another way)."""

    def name(self) -> str:
        return "action_clear_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return cleared_booking()


class ActionBookingStopped(Action):
    """ "stop" during the form: nothing is booked."""

    def name(self) -> str:
        return "action_booking_stopped"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_booking_stopped", **clinic_details())
        return cleared_booking()


# --- Cancelling with the reference and the phone number ----------------------------------------


class ValidateCancelBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_cancel_booking_form"

    async def extract_cancel_reference(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "cancel B-7KQ2M9XA": the reference given with the request needs no question.
        if (
            tracker.get_slot("cancel_reference") is None
            and latest_intent(tracker) == "cancel_booking"
        ):
            reference = booking_reference_in(tracker.latest_message.get("text", ""))
            if reference:
                return {"cancel_reference": reference}
        return {}

    async def validate_cancel_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reference = booking_reference_in(value if isinstance(value, str) else "")
        if reference is None:
            return failed_answer(
                dispatcher, tracker, "cancel_reference", "utter_invalid_cancel_reference"
            )
        return {"cancel_reference": reference, "booking_failures": 0}

    async def validate_cancel_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        e164 = phone_in(value if isinstance(value, str) else "", get_settings().phone_region)
        if e164 is None:
            return failed_answer(dispatcher, tracker, "cancel_phone", "utter_invalid_booking_phone")
        return {"cancel_phone": e164, "booking_failures": 0}


class ActionCancelBooking(Action):
    def name(self) -> str:
        return "action_cancel_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        reference = tracker.get_slot("cancel_reference") or ""
        phone = tracker.get_slot("cancel_phone") or ""

        def cancel() -> dt.datetime:
            with session_scope() as session:
                booking = cancel_by_visitor(session, reference, phone, get_settings().phone_region)
                return booking.slot_start

        try:
            slot_start = await in_thread(cancel)
        except BookingNotFound:
            dispatcher.utter_message(response="utter_booking_cancel_failed", **clinic_details())
        except BookingError as error:
            # Already cancelled, or the call is over: the service says which, in plain words.
            dispatcher.utter_message(text=str(error))
        except Exception as error:  # noqa: BLE001
            log.error("Cancelling booking %s failed: %s", reference, type(error).__name__)
            dispatcher.utter_message(response="utter_booking_system_down", **clinic_details())
        else:
            dispatcher.utter_message(
                response="utter_booking_cancelled",
                reference=reference,
                time=format_slot(slot_start, clinic_calendar()),
            )
        return [SlotSet("cancel_reference", None), SlotSet("cancel_phone", None)]
