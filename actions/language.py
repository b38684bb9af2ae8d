"""The reply to a message in another language (bot/nlu/language_gate.py found it).

The assistant answers in English only, so it says so, with the clinic's number and the emergency
number: first in the visitor's language when content/messages.yml has it, then in English.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.shared import clinic_details
from bot.content.outcomes import OTHER_LANGUAGE_RESPONSE


def detected_language(tracker: Tracker) -> str | None:
    """The ISO 639-1 code the NLU put in the latest message's parse data, if any."""
    found = tracker.latest_message.get("language") or {}
    code = found.get("code") if isinstance(found, dict) else None
    return code if isinstance(code, str) and code.isalpha() else None


class ActionOtherLanguage(Action):
    def name(self) -> str:
        return "action_other_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        details = clinic_details()
        code = detected_language(tracker)
        translated = f"{OTHER_LANGUAGE_RESPONSE}_{code}"
        if code and translated in (domain.get("responses") or {}):
            dispatcher.utter_message(response=translated, **details)
        dispatcher.utter_message(response=OTHER_LANGUAGE_RESPONSE, **details)
        return []
