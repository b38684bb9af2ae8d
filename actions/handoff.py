"""Passing a visitor's question to the clinic's care team.

Clinical-eligibility questions ("can I do this if I take lithium?"), on-topic questions the
article does not cover ("can I drink alcohol after a session?") and requests for a person are
never answered by the bot: it offers a handoff (a plain response, see bot/data/rules.yml),
collects a name, a phone number or email and explicit consent (handoff_form), then records the
handoff with the conversation so far. Crisis messages create an urgent handoff too, in the Rasa
server (bot/stores/tracker_store.py), so the crisis reply never waits on it.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.shared import clinic_details, in_thread, latest_intent
from bot.content.message_keys import MESSAGE_RESPONSES
from bot.desk.contact import clean_name, display_phone, parse_contact_detail
from bot.desk.handoff_delivery import record_handoff
from bot.desk.handoff_drafts import Contact, HandoffDraft, transcript_from_events
from bot.protection.client_address import from_events
from bot.settings import get_settings

log = logging.getLogger(__name__)

FORM_SLOTS = ("contact_name", "contact_detail", "contact_consent")
# The offer is a plain response (no action-server round trip on the common path); the response
# that was given tells why the visitor is being handed over.
OFFER_REASONS = {
    "utter_handoff_offer_eligibility": "eligibility",
    "utter_handoff_offer_human": "human_request",
    "utter_handoff_offer_unanswered": "unanswered",
    # "Yes" to the offer made instead of an answer no clinician has approved yet.
    "action_reply_after_answer": "unanswered",
}
UNDER_REVIEW_RESPONSE = MESSAGE_RESPONSES["answer_under_review"]


def _cleared_slots() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


def _declined(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """No handoff after all: nothing personal is kept, and the visitor gets the clinic's number."""
    dispatcher.utter_message(response="utter_handoff_declined", **clinic_details())
    return _cleared_slots()


def handoff_request(events: list[dict[str, Any]]) -> tuple[str, str | None]:
    """(reason, question) of the latest handoff offer: which offer the bot made, and the
    visitor's message it answered (not the "yes" to an offer made in an answer's place)."""
    offer_at = None
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "action" and event.get("name") in OFFER_REASONS:
            offer_at = index
            break
    if offer_at is None:
        return "eligibility", None
    reason = OFFER_REASONS[events[offer_at]["name"]]
    for event in reversed(events[:offer_at]):
        if event.get("event") == "user" and _intent(event) != "affirm":
            return reason, event.get("text")
    return reason, None


def _intent(user_event: dict[str, Any]) -> str | None:
    return ((user_event.get("parse_data") or {}).get("intent") or {}).get("name")


def answer_withheld(events: list[dict[str, Any]], domain: DomainDict) -> bool:
    """Whether the bot's latest message was "a clinician is reviewing this answer", said in
    place of an answer no clinician has approved (bot/nlg/approved_answers.py)."""
    said = {
        variant.get("text")
        for variant in domain.get("responses", {}).get(UNDER_REVIEW_RESPONSE, [])
    }
    for event in reversed(events):
        if event.get("event") == "bot":
            return event.get("text") in said
    return False


class ActionReplyAfterAnswer(Action):
    """A yes or no just after an answer. After "a clinician is reviewing this answer" it is the
    reply to the offer to pass the question on; after any other answer it is out of context and
    is taken as anywhere else (bot/data/rules.yml)."""

    def name(self) -> str:
        return "action_reply_after_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        affirmed = latest_intent(tracker) == "affirm"
        if not answer_withheld(tracker.events, domain):
            dispatcher.utter_message(
                response="utter_ask_what_next" if affirmed else "utter_goodbye"
            )
            return []
        if affirmed:
            return [FollowupAction("handoff_form")]
        return _declined(dispatcher)


class ActionDeclineHandoff(Action):
    """ "No" to the offer: nothing personal is kept, and the visitor gets the clinic's number."""

    def name(self) -> str:
        return "action_decline_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return _declined(dispatcher)


class ActionHandoffStopped(Action):
    """ "stop" in the middle of the form."""

    def name(self) -> str:
        return "action_handoff_stopped"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_handoff_stopped", **clinic_details())
        return _cleared_slots()


def _explain_refusal(dispatcher: CollectingDispatcher, tracker: Tracker, response: str) -> None:
    """Why an answer was not taken. Another personal clinical remark mid-form is not an error:
    it is already in the transcript that goes to the care team."""
    if latest_intent(tracker) == "eligibility":
        dispatcher.utter_message(response="utter_handoff_question_added")
    else:
        dispatcher.utter_message(response=response)


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_form"

    async def validate_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        name = clean_name(value if isinstance(value, str) else "")
        if name is None:
            _explain_refusal(dispatcher, tracker, "utter_invalid_contact_name")
        return {"contact_name": name}

    async def validate_contact_detail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        detail = parse_contact_detail(
            value if isinstance(value, str) else "", get_settings().phone_region
        )
        if detail is None:
            _explain_refusal(dispatcher, tracker, "utter_invalid_contact_detail")
            return {"contact_detail": None}
        return {"contact_detail": str(detail)}


class ActionSubmitHandoff(Action):
    """Records the handoff once the visitor has agreed to be contacted."""

    def name(self) -> str:
        return "action_submit_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("contact_consent") is not True:
            # No consent, no contact: nothing personal is stored.
            return _declined(dispatcher)
        detail = parse_contact_detail(
            tracker.get_slot("contact_detail") or "", get_settings().phone_region
        )
        reason, question = handoff_request(tracker.events)
        draft = HandoffDraft(
            reason=reason,
            conversation_id=tracker.sender_id,
            question=question,
            transcript=transcript_from_events(tracker.events),
            contact=Contact(
                name=tracker.get_slot("contact_name") or "",
                phone=detail.phone if detail else None,
                email=detail.email if detail else None,
                consent=True,
            ),
            # The flood cap counts new handoffs per client address (bot/desk/handoff_flood.py).
            client_address=from_events(tracker.events),
        )
        try:
            stored = await in_thread(record_handoff, draft)
        except Exception as error:  # noqa: BLE001 - the visitor must always get an answer
            log.error("Handoff %s could not be recorded: %s", draft.reference, type(error).__name__)
            stored = False
        dispatcher.utter_message(
            response="utter_handoff_recorded" if stored else "utter_handoff_not_recorded",
            reference=draft.reference,
            **clinic_details(),
        )
        if not stored or reason != "eligibility":
            return _cleared_slots()
        # A clinician will want to talk it through: offer a screening call, which then carries
        # this handoff's reference (staff see both together) and needs no name or phone again.
        return [
            *_cleared_slots(),
            SlotSet("booking_handoff_reference", draft.reference),
            SlotSet("booking_name", draft.contact.name),
            SlotSet(
                "booking_phone", display_phone(draft.contact.phone, get_settings().phone_region)
            )
            if draft.contact.phone
            else SlotSet("booking_phone", None),
            FollowupAction("utter_offer_booking"),
        ]
