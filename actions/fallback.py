"""The "did you mean…" step of the two-stage fallback, with the likeliest topics as buttons."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.shared import content
from bot.content.buttons import button
from bot.content.model import Content

MAX_SUGGESTIONS = 3


def suggested_topics(parse_data: dict[str, Any], limit: int = MAX_SUGGESTIONS) -> list[str]:
    """The FAQ topics the ResponseSelector ranked highest for this message, best first."""
    ranking = parse_data.get("response_selector", {}).get("faq", {}).get("ranking", [])
    topics = []
    for item in ranking:
        key = item.get("intent_response_key", "")
        if key.startswith("faq/"):
            topics.append(key.split("/", 1)[1])
        if len(topics) == limit:
            break
    return topics


def did_you_mean_buttons(parse_data: dict[str, Any], content: Content) -> list[dict[str, str]]:
    known = set(content.topic_ids)
    buttons = [
        button(content.topic(topic_id).label)
        for topic_id in suggested_topics(parse_data)
        if topic_id in known
    ]
    # "None of these" counts as a denial for Rasa's two-stage fallback.
    buttons.append(button(content.messages["none_of_these"]))
    return buttons


class ActionDidYouMean(Action):
    """Replaces Rasa's default affirmation question ("Did you mean 'faq'?")."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        buttons = did_you_mean_buttons(tracker.latest_message, content())
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []
