"""Conversations written to Rasa's SQL tracker store the way the Rasa server writes them."""

from __future__ import annotations

import datetime as dt
import uuid

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

START = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.timezone.utc).timestamp()
# What the FallbackClassifier stores for a message below its threshold (config.yml: 0.6).
FALLBACK = {"intent": "nlu_fallback", "confidence": 0.6}


class Conversation:
    """Builds a conversation event by event, as the Rasa server stores it (parse data with the
    intent ranking and the ResponseSelector's ranking, bot messages with their response)."""

    def __init__(self, minute: int) -> None:
        self.sender = f"visitor-{uuid.uuid4().hex[:8]}"
        self.clock = START + minute * 60
        self.events = [ActionExecuted("action_session_start", timestamp=self._tick())]
        self.events.append(ActionExecuted("action_listen", timestamp=self._tick()))

    def _tick(self) -> float:
        self.clock += 1.5
        return self.clock

    def says(self, text: str, intent: str, confidence: float, ranking=(), topics=()) -> float:
        """The visitor's message; `ranking` the runner-up intents, `topics` the FAQ topics."""
        parse_data = {
            "intent_ranking": [{"name": intent, "confidence": confidence}]
            + [{"name": name, "confidence": c} for name, c in ranking],
            "response_selector": {
                "all_retrieval_intents": ["faq"],
                "faq": {
                    "response": {"intent_response_key": f"faq/{topics[0][0]}"} if topics else {},
                    "ranking": [
                        {"intent_response_key": f"faq/{t}", "confidence": c} for t, c in topics
                    ],
                },
            },
        }
        timestamp = self._tick()
        self.events.append(
            UserUttered(
                text,
                intent={"name": intent, "confidence": confidence},
                parse_data=parse_data,
                timestamp=timestamp,
            )
        )
        return timestamp

    def asks(self, text: str, parse_data: dict) -> float:
        """The visitor's message with the parse data the real NLU gave it."""
        timestamp = self._tick()
        self.events.append(
            UserUttered(
                text, intent=parse_data.get("intent"), parse_data=parse_data, timestamp=timestamp
            )
        )
        return timestamp

    def fills(self, slot: str, value) -> None:
        self.events.append(SlotSet(slot, value, timestamp=self._tick()))

    def bot(self, action: str, response: str, text: str = "…") -> None:
        self.events.append(ActionExecuted(action, timestamp=self._tick()))
        self.events.append(
            BotUttered(text, metadata={"utter_action": response}, timestamp=self._tick())
        )
        self.events.append(ActionExecuted("action_listen", timestamp=self._tick()))

    def did_you_mean(self) -> None:
        self.bot("action_two_stage_fallback", "utter_did_you_mean", "Did you mean one of these?")

    async def save(self, store: SQLTrackerStore) -> None:
        await store.save(DialogueStateTracker.from_events(self.sender, self.events))


def stored_user_texts(database_url: str, sender: str) -> list[str]:
    """The visitor's messages that the tracker store holds for `sender`, in order."""
    import json

    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT data FROM events WHERE sender_id = :s AND type_name = 'user'"
                    " ORDER BY id"
                ),
                {"s": sender},
            ).scalars()
            return [json.loads(row)["text"] for row in rows]
    finally:
        engine.dispose()
