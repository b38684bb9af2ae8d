"""The booking form's validation: booking_form asks for a name, a phone number, an optional
email, a time and consent to be called, then shows a summary: book it, change a detail, or
cancel. Nothing is stored until the visitor confirms the summary, here; the database (a unique
index on active bookings' slot) decides who gets a slot two visitors confirm at once. The texts
are in content/messages.yml.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking_shared import (
    CANCELLED,
    NO_EMAIL,
    NOT_RECORDED,
    calendar_url,
    clinic_calendar,
    current_free_slots,
    failed_answer,
)
from actions.shared import clinic_details, content, in_thread, latest_intent
from bot.content.buttons import button
from bot.db.models import utc_now
from bot.db.session import session_scope
from bot.desk.booking_creation import AlreadyBooked, SlotTaken, TooManyBookings, create_booking
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
        calendar = clinic_calendar()
        try:
            free = await in_thread(current_free_slots)
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

        calendar = clinic_calendar()

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
