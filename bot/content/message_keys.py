"""The keys of content/messages.yml: the Rasa response each one becomes, or what says it instead
(the public channels, the booking actions), and the labels of the buttons."""

from __future__ import annotations

# Languages the "English only" reply is translated into (ISO 639-1), other_language_<code>.
OTHER_LANGUAGE_CODES = ("es", "fr", "de", "it", "pt", "nl", "pl", "ru", "zh")
# Keys of content/messages.yml and the Rasa response each one becomes.
MESSAGE_RESPONSES = {
    "greet_first": "utter_greet_first",
    "greet_again": "utter_greet_again",
    "ask_what_next": "utter_ask_what_next",
    "goodbye": "utter_goodbye",
    "thanks": "utter_thanks",
    "bot_challenge": "utter_bot_challenge",
    "crisis": "utter_crisis",
    "out_of_scope": "utter_out_of_scope",
    "did_you_mean": "utter_did_you_mean",
    "ask_rephrase": "utter_ask_rephrase",
    "default_fallback": "utter_default",
    "handoff_offer_eligibility": "utter_handoff_offer_eligibility",
    "handoff_offer_human": "utter_handoff_offer_human",
    "handoff_offer_unanswered": "utter_handoff_offer_unanswered",
    # Instead of a topic's answer while no clinician has approved any text of it
    # (bot/nlg/approved_answers.py).
    "answer_under_review": "utter_answer_under_review",
    # The same in the middle of a form, which then asks its own question: no offer.
    "answer_under_review_in_form": "utter_answer_under_review_in_form",
    "ask_contact_name": "utter_ask_contact_name",
    "ask_contact_detail": "utter_ask_contact_detail",
    "ask_contact_consent": "utter_ask_contact_consent",
    "invalid_contact_name": "utter_invalid_contact_name",
    "invalid_contact_detail": "utter_invalid_contact_detail",
    "handoff_recorded": "utter_handoff_recorded",
    "handoff_not_recorded": "utter_handoff_not_recorded",
    "handoff_declined": "utter_handoff_declined",
    "handoff_stopped": "utter_handoff_stopped",
    "handoff_question_added": "utter_handoff_question_added",
    "offer_booking": "utter_offer_booking",
    "ask_booking_name": "utter_ask_booking_name",
    "ask_booking_phone": "utter_ask_booking_phone",
    "ask_booking_email": "utter_ask_booking_email",
    "ask_booking_slot": "utter_booking_slot_question",
    "booking_no_free_slots": "utter_booking_no_free_slots",
    "ask_booking_consent": "utter_ask_booking_consent",
    "ask_booking_confirmed": "utter_booking_summary",
    "booking_done": "utter_booking_done",
    "booking_not_recorded": "utter_booking_not_recorded",
    "booking_slot_taken": "utter_booking_slot_taken",
    "booking_slot_expired": "utter_booking_slot_expired",
    "booking_system_down": "utter_booking_system_down",
    "booking_slot_nearest": "utter_booking_slot_nearest",
    "invalid_booking_name": "utter_invalid_booking_name",
    "invalid_booking_phone": "utter_invalid_booking_phone",
    "invalid_booking_email": "utter_invalid_booking_email",
    "invalid_booking_slot": "utter_invalid_booking_slot",
    "booking_consent_needed": "utter_booking_consent_needed",
    "invalid_booking_confirmation": "utter_invalid_booking_confirmation",
    "booking_trouble": "utter_booking_trouble",
    "booking_stopped": "utter_booking_stopped",
    "booking_eligibility_noted": "utter_booking_eligibility_noted",
    "inform_out_of_context": "utter_inform_out_of_context",
    "ask_cancel_reference": "utter_ask_cancel_reference",
    "ask_cancel_phone": "utter_ask_cancel_phone",
    "invalid_cancel_reference": "utter_invalid_cancel_reference",
    "booking_cancelled": "utter_booking_cancelled",
    "booking_cancel_failed": "utter_booking_cancel_failed",
    # A message in another language: the reply in English, and in the languages below.
    "other_language": "utter_other_language",
    **{f"other_language_{code}": f"utter_other_language_{code}" for code in OTHER_LANGUAGE_CODES},
}
# Said by the booking actions themselves (actions/booking.py), so not Rasa responses either.
ACTION_MESSAGES = (
    "booking_already_booked",
    "cancel_existing_booking_button",
    "booking_limit_reached",
)
BUTTON_LABELS = (
    "none_of_these",
    "yes_button",
    "no_button",
    "confirm_button",
    "change_time_button",
    "change_phone_button",
    "change_name_button",
    "change_email_button",
    "cancel_button",
    "talk_to_person_button",
)
# Replies the public channels send themselves, before or instead of Rasa's answer
# (bot/channels/visitor_messages.py), so they are not Rasa responses.
CHANNEL_MESSAGES = ("empty_message", "message_too_long", "assistant_unavailable", "slow_down")
