"""What the bot did with a message, named the way the evaluation set names it.

An outcome is a topic id from content/topics.yml (the FAQ answer given) or one of OUTCOMES.
"""

from __future__ import annotations

OUTCOMES = (
    "crisis",
    "eligibility_handoff",
    "human_request",
    "book_screening",
    "cancel_booking",
    "out_of_scope",
    "greet",
    "goodbye",
    "thanks",
    "bot_challenge",
    # An on-topic question the article does not cover: said so, handoff offered.
    "unanswered",
    # A message not in English: "English only; call the clinic".
    "other_language",
)
# Intents whose outcome has another name (the intent offers a handoff, the outcome names it).
INTENT_OUTCOMES = {"eligibility": "eligibility_handoff"}
FALLBACK = "fallback"  # the bot asked "did you mean…" or to rephrase: no answer was given
# utter_other_language is the English reply; utter_other_language_<code> the same in <code>.
OTHER_LANGUAGE_RESPONSE = "utter_other_language"

_RESPONSE_OUTCOMES = {
    "utter_crisis": "crisis",
    "utter_handoff_offer_eligibility": "eligibility_handoff",
    "utter_handoff_offer_human": "human_request",
    "utter_handoff_offer_unanswered": "unanswered",
    "utter_other_language": "other_language",
    "utter_ask_booking_name": "book_screening",
    "utter_ask_cancel_reference": "cancel_booking",
    # "cancel B-7KQ2M9XA": the reference came with the request, so the phone is asked first.
    "utter_ask_cancel_phone": "cancel_booking",
    "utter_out_of_scope": "out_of_scope",
    "utter_greet_first": "greet",
    "utter_greet_again": "greet",
    "utter_goodbye": "goodbye",
    "utter_thanks": "thanks",
    "utter_bot_challenge": "bot_challenge",
    "utter_did_you_mean": FALLBACK,
    "utter_ask_rephrase": FALLBACK,
    "utter_default": FALLBACK,
}


def outcome_of_response(response_name: str | None) -> str | None:
    """Maps a Rasa response name (`utter_faq/bladder`, `utter_crisis`) to its outcome."""
    if not response_name:
        return None
    if response_name.startswith("utter_faq/"):
        return response_name.split("/", 1)[1]
    if response_name.startswith(f"{OTHER_LANGUAGE_RESPONSE}_"):  # the reply in that language
        return "other_language"
    return _RESPONSE_OUTCOMES.get(response_name)
