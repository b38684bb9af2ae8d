"""The greeting: the "automated assistant, not medical advice" disclaimer is said once."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("disclaimer_shown"):
            dispatcher.utter_message(response="utter_greet_again")
            return []
        dispatcher.utter_message(response="utter_greet_first")
        return [SlotSet("disclaimer_shown", True)]
