"""Booking a screening call in the chat, and cancelling one.

booking_form asks for a name, a phone number, an optional email, a time and consent to be
called, then shows a summary: book it, change a detail, or cancel. Nothing is stored until the
visitor confirms; the database (a unique index on active bookings' slot) decides who gets a
slot two visitors confirm at once. After three failed answers to one question the bot offers
the clinic's phone number or a person. The texts are in content/messages.yml.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.shared import clinic_details, content, in_thread, latest_intent
from bot.content.buttons import button
from bot.db.models import utc_now
from bot.db.session import session_scope
from bot.desk.bookings import (
    AlreadyBooked,
    BookingError,
    BookingNotFound,
    SlotTaken,
    TooManyBookings,
    cancel_by_visitor,
    create_booking,
    free_slots,
)
from bot.desk.contact import clean_name, display_phone, parse_contact_detail, phone_in
from bot.desk.scheduling import (
    ClinicCalendar,
    SlotRequest,
    format_slot,
    nearest_free_slot,
    parse_slot_request,
)
from bot.protection.client_address import from_events
from bot.settings import get_settings

log = logging.getLogger(__name__)

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
# Booking references: "B-" and 8 characters of bot.desk.bookings' alphabet (no 0, 1, I, L, O).
REFERENCE = re.compile(r"\bB[-\s]?([2-9A-HJKMNP-Z]{8})\b", re.I)
_SKIP_EMAIL = re.compile(r"^(skip|no|none|nope|no email|no thanks|n/?a|rather not)\b", re.I)
# What a "change ..." answer to the summary refers to.
_FIELDS = (
    ("booking_slot", re.compile(r"\b(time|day|date|slot|when)\b", re.I)),
    ("booking_phone", re.compile(r"\b(phone|number|mobile|cell)\b", re.I)),
    ("booking_email", re.compile(r"\b(e-?mail)\b", re.I)),
    ("booking_name", re.compile(r"\bname\b", re.I)),
)
# Only an unmistakable yes books the call: "yes, but make it 3pm" is a change, not a yes.
_CONFIRM = re.compile(
    r"^(yes|yes please|yep|yeah|book it|book it please|please book it|confirm|"
    r"confirm it|go ahead|ok|okay|sure|that's right|looks good|all good|perfect)[\s.!]*$",
    re.I,
)
_CHANGE = re.compile(
    r"\b(change|edit|different|another|wrong|instead|but|actually|wait|correct|fix|update|"
    r"not|no)\b",
    re.I,
)
# A day or a time in the answer to the summary means the time is to change.
_MENTIONS_TIME = re.compile(
    r"\d|\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b|\b(morning|afternoon|evening|today|"
    r"tomorrow|week|noon)\b",
    re.I,
)
_CANCEL = re.compile(r"\b(cancel|forget it|don'?t book|never ?mind)\b", re.I)


def _calendar() -> ClinicCalendar:
    return ClinicCalendar.from_settings(get_settings())


def _current_free_slots() -> list[dt.datetime]:
    with session_scope() as session:
        return free_slots(session, _calendar(), utc_now())


def slot_for_text(
    text: str, free: list[dt.datetime], calendar: ClinicCalendar
) -> dt.datetime | None:
    """The free slot whose button the visitor pressed (its label, with or without the zone)."""
    wanted = " ".join((text or "").lower().split())
    for slot in free:
        label = format_slot(slot, calendar).lower()
        if wanted in (label, label.rsplit(" (", 1)[0]):
            return slot
    return None


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


def _still_free(text: str, free: list[dt.datetime]) -> dt.datetime | None:
    """A time already chosen (kept as ISO 8601 in the slot) that is still free: re-validated
    when the form starts again, it must not move."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo and moment in free else None


def _is_what_was_asked(chosen: dt.datetime, request: SlotRequest, calendar: ClinicCalendar) -> bool:
    """Whether the slot picked is the one asked for (else the visitor is told it is the
    nearest). "As soon as possible" asks for nothing in particular."""
    if request.soonest:
        return True
    local = calendar.local(chosen)
    if request.date != local.date():
        return False
    if request.time is not None:
        return request.time == local.time().replace(tzinfo=None)
    window = request.window
    return window is None or window[0] <= local.time().replace(tzinfo=None) < window[1]


class ValidateBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    def _failed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, response: str
    ) -> dict[str, Any]:
        return failed_answer(dispatcher, tracker, slot, response)

    @staticmethod
    def _accepted(slot: str, value: Any) -> dict[str, Any]:
        return {slot: value, "booking_failures": 0}

    async def validate_booking_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        name = clean_name(value if isinstance(value, str) else "")
        if name is None:
            return self._failed(dispatcher, tracker, "booking_name", "utter_invalid_booking_name")
        return self._accepted("booking_name", name)

    async def validate_booking_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        e164 = phone_in(value if isinstance(value, str) else "", get_settings().phone_region)
        if e164 is None:
            return self._failed(dispatcher, tracker, "booking_phone", "utter_invalid_booking_phone")
        # Kept as the visitor reads it (the consent question quotes it); stored as E.164.
        return self._accepted("booking_phone", display_phone(e164, get_settings().phone_region))

    async def validate_booking_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = (value if isinstance(value, str) else "").strip()
        if latest_intent(tracker) == "deny" or _SKIP_EMAIL.match(text):
            return self._accepted("booking_email", NO_EMAIL)
        words = [word for word in text.split() if "@" in word]
        detail = parse_contact_detail(words[-1] if words else text)
        if detail is None or detail.email is None:
            return self._failed(dispatcher, tracker, "booking_email", "utter_invalid_booking_email")
        return self._accepted("booking_email", detail.email)

    async def validate_booking_slot(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = value if isinstance(value, str) else ""
        calendar = _calendar()
        try:
            free = await in_thread(_current_free_slots)
        except Exception as error:  # noqa: BLE001 - the visitor must always get an answer
            log.error("Free slots could not be read: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_booking_system_down", **clinic_details())
            return {"booking_slot": None}
        chosen = slot_for_text(text, free, calendar) or _still_free(text, free)
        if chosen is None:
            request = parse_slot_request(text, utc_now(), calendar)
            chosen = nearest_free_slot(request, free) if request else None
            if chosen is None:
                return self._failed(
                    dispatcher, tracker, "booking_slot", "utter_invalid_booking_slot"
                )
            if not _is_what_was_asked(chosen, request, calendar):
                dispatcher.utter_message(
                    response="utter_booking_slot_nearest", time=format_slot(chosen, calendar)
                )
        return self._accepted("booking_slot", chosen.isoformat())

    async def validate_booking_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is True:
            return self._accepted("booking_consent", True)
        return self._failed(dispatcher, tracker, "booking_consent", "utter_booking_consent_needed")

    async def validate_booking_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = (value if isinstance(value, str) else "").strip()
        intent = latest_intent(tracker)
        if intent in ("stop", "cancel_booking") or _CANCEL.search(text):
            return {"booking_confirmed": CANCELLED}
        if _CONFIRM.match(text) and not _CHANGE.search(text):
            return await self._book(dispatcher, tracker)
        # Which detail to change: the one named, else the time if a day or time is mentioned.
        for slot, mentions in _FIELDS:
            if mentions.search(text):
                return {slot: None, "booking_confirmed": None, "booking_failures": 0}
        if _MENTIONS_TIME.search(text):
            return {"booking_slot": None, "booking_confirmed": None, "booking_failures": 0}
        # "no", "wait", anything else: nothing is booked; say what the choices are.
        return self._failed(
            dispatcher, tracker, "booking_confirmed", "utter_invalid_booking_confirmation"
        )

    async def _book(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        email = tracker.get_slot("booking_email")
        details = {
            "slot_start": dt.datetime.fromisoformat(tracker.get_slot("booking_slot")),
            "name": tracker.get_slot("booking_name"),
            "phone": tracker.get_slot("booking_phone"),
            "email": None if email in (None, NO_EMAIL) else email,
            "consent": tracker.get_slot("booking_consent") is True,
            "conversation_id": tracker.sender_id,
            "handoff_reference": tracker.get_slot("booking_handoff_reference"),
            "phone_region": get_settings().phone_region,
            # Against a script booking every free time (bot/desk/bookings.py).
            "client_address": from_events(tracker.events),
            "limit_per_address": get_settings().booking_limit_per_address,
        }

        calendar = _calendar()

        def store() -> tuple[str, str] | None:
            # The summary may have waited: the time must still be one the clinic offers (the
            # race between visitors for it is the database's to decide, in create_booking).
            if details["slot_start"] not in calendar.candidate_slots(utc_now()):
                return None
            with session_scope() as session:
                booking = create_booking(session, **details)
                return booking.reference, booking.calendar_token

        try:
            stored = await in_thread(store)
        except SlotTaken:
            dispatcher.utter_message(response="utter_booking_slot_taken")
            return {"booking_slot": None, "booking_confirmed": None}
        except AlreadyBooked as existing:
            _say_already_booked(dispatcher, existing, calendar)
            return {"booking_confirmed": NOT_RECORDED}
        except TooManyBookings:
            text = content().messages["booking_limit_reached"].format(**clinic_details())
            dispatcher.utter_message(text=text)
            return {"booking_confirmed": NOT_RECORDED}
        except Exception as error:  # noqa: BLE001 - the visitor must always get an answer
            # The reason only: the details are personal.
            log.error("A booking could not be stored: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_booking_not_recorded", **clinic_details())
            return {"booking_confirmed": NOT_RECORDED}
        if stored is None:
            dispatcher.utter_message(response="utter_booking_slot_expired")
            return {"booking_slot": None, "booking_confirmed": None}
        reference, token = stored
        # Said here, from what the insert returned: no second database read that could fail.
        dispatcher.utter_message(
            response="utter_booking_done",
            reference=reference,
            phone=details["phone"],
            time=format_slot(details["slot_start"], calendar),
            calendar_url=calendar_url(token),
        )
        return {"booking_confirmed": reference}


def _say_already_booked(
    dispatcher: CollectingDispatcher, existing: AlreadyBooked, calendar: ClinicCalendar
) -> None:
    """One upcoming call at a time: the first one's time and reference, and a button that
    starts cancelling it (the visitor then books again to change it)."""
    messages = content().messages
    cancel = messages["cancel_existing_booking_button"].format(reference=existing.reference)
    dispatcher.utter_message(
        text=messages["booking_already_booked"].format(
            time=format_slot(existing.slot_start, calendar), reference=existing.reference
        ),
        buttons=[button(cancel)],
    )


class ActionAskBookingSlot(Action):
    """The time question, with the next free times as buttons."""

    def name(self) -> str:
        return "action_ask_booking_slot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        calendar = _calendar()
        try:
            free = await in_thread(_current_free_slots)
            problem = None if free else "utter_booking_no_free_slots"
        except Exception as error:  # noqa: BLE001 - the visitor must always get an answer
            log.error("Free slots could not be read: %s", type(error).__name__)
            problem = "utter_booking_system_down"
        if problem:
            # No time can be offered: the booking ends here, with the clinic's number.
            dispatcher.utter_message(response=problem, **clinic_details())
            return [ActiveLoop(None), SlotSet("requested_slot", None), *_cleared_booking()]
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
            time=format_slot(dt.datetime.fromisoformat(slot), _calendar()) if slot else "",
        )
        return []


def _cleared_booking() -> list[dict[str, Any]]:
    return [
        *(SlotSet(slot, None) for slot in BOOKING_SLOTS),
        SlotSet("booking_handoff_reference", None),
        SlotSet("booking_failures", 0),
    ]


def calendar_url(token: str) -> str:
    return f"{get_settings().public_base_url}/calendar/{token}.ics"


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
        return _cleared_booking()


class ActionClearBooking(Action):
    """Forgets a booking in progress without a word (the visitor went another way)."""

    def name(self) -> str:
        return "action_clear_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return _cleared_booking()


class ActionBookingStopped(Action):
    """ "stop" during the form: nothing is booked."""

    def name(self) -> str:
        return "action_booking_stopped"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_booking_stopped", **clinic_details())
        return _cleared_booking()


# --- Cancelling with the reference and the phone number ----------------------------------------


def reference_in(text: str) -> str | None:
    match = REFERENCE.search(text or "")
    return f"B-{match.group(1).upper()}" if match else None


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
            reference = reference_in(tracker.latest_message.get("text", ""))
            if reference:
                return {"cancel_reference": reference}
        return {}

    async def validate_cancel_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reference = reference_in(value if isinstance(value, str) else "")
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
                time=format_slot(slot_start, _calendar()),
            )
        return [SlotSet("cancel_reference", None), SlotSet("cancel_phone", None)]
