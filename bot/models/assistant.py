"""The trained assistant in this process: the live model, its real dialogue policies, and the
custom actions run in-process, so `kapbot ask` and `kapbot eval` need no server running."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content.outcomes import FALLBACK, outcome_of_response
from bot.models.store import live_model

FALLBACK_ACTIONS = ("action_two_stage_fallback", "action_default_ask_affirmation")


@dataclass
class Reply:
    """What the bot answered to one message."""

    texts: list[str]
    buttons: list[dict[str, Any]]
    outcome: str | None
    confidence: float
    intent: str | None
    response_names: list[str] = field(default_factory=list)


def _in_process_endpoint():
    """An action endpoint whose requests run rasa_sdk's executor here instead of over HTTP."""
    from rasa.core.actions.action import ActionExecutionRejection
    from rasa.utils.endpoints import EndpointConfig
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import ActionExecutionRejection as SdkRejection

    import actions
    from bot.desk.handoff_delivery import set_recording

    # Evaluations and `kapbot ask` must not leave handoffs in the staff console.
    set_recording(False)
    executor = ActionExecutor()
    executor.register_package(actions)

    class InProcessActionEndpoint(EndpointConfig):
        async def request(
            self, method="post", subpath=None, content_type=None, compress=False, **kwargs
        ):  # noqa: E501
            try:
                return await executor.run(kwargs["json"])
            except SdkRejection as rejection:
                raise ActionExecutionRejection(rejection.action_name, rejection.message) from None

    return InProcessActionEndpoint(url="in-process://actions")


def _reply_from_events(events: list, parse_data: dict[str, Any]) -> Reply:
    from rasa.shared.core.events import ActionExecuted, BotUttered

    texts: list[str] = []
    buttons: list[dict[str, Any]] = []
    names: list[str] = []
    fallback_ran = False
    for event in events:
        if isinstance(event, BotUttered):
            if event.text:
                texts.append(event.text)
            buttons.extend(event.data.get("buttons") or [])
            name = (event.metadata or {}).get("utter_action")
            if name:
                names.append(name)
        elif isinstance(event, ActionExecuted) and event.action_name in FALLBACK_ACTIONS:
            fallback_ran = True
    # The answer decides the outcome: a fallback loop that ends by answering is not a fallback.
    outcomes = [outcome_of_response(name) for name in names]
    outcome = next((o for o in outcomes if o), FALLBACK if fallback_ran else None)

    intent = (parse_data.get("intent") or {}).get("name")
    confidence = float((parse_data.get("intent") or {}).get("confidence") or 0.0)
    if intent == "faq":
        selected = parse_data.get("response_selector", {}).get("faq", {}).get("response", {})
        confidence = float(selected.get("confidence") or confidence)
    return Reply(texts, buttons, outcome, confidence, intent, names)


class LocalAssistant:
    """Loads a trained model once and answers messages in conversations of its own."""

    def __init__(self, model_path: Path | None = None) -> None:
        # By default the model visitors get: the published one (bot/models/store.py).
        self.model_path = model_path or live_model()
        self._agent = None

    def load(self) -> LocalAssistant:
        from rasa.core.agent import Agent

        agent = Agent(action_endpoint=_in_process_endpoint())
        agent.load_model(str(self.model_path))
        self._agent = agent
        return self

    async def parse(self, text: str) -> dict[str, Any]:
        """What the NLU pipeline makes of `text`, without running the dialogue."""
        if self._agent is None:
            self.load()
        return await self._agent.parse_message(text)

    async def ask(self, text: str, sender_id: str | None = None) -> Reply:
        """Sends `text` in conversation `sender_id` (a fresh conversation when None)."""
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
        from rasa.shared.core.events import UserUttered

        if self._agent is None:
            self.load()
        sender_id = sender_id or f"local-{uuid.uuid4().hex}"
        tracker_store = self._agent.tracker_store
        before = await tracker_store.retrieve(sender_id)
        seen = len(before.events) if before else 0
        await self._agent.handle_message(
            UserMessage(text, CollectingOutputChannel(), sender_id=sender_id)
        )
        tracker = await tracker_store.retrieve(sender_id)
        new_events = list(tracker.events)[seen:]
        user_events = [e for e in new_events if isinstance(e, UserUttered)]
        parse_data = user_events[-1].parse_data if user_events else {}
        return _reply_from_events(new_events, parse_data)
