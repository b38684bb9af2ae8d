"""The issue: an editor added a topic and published the model trained with it, and until the
processes were restarted the action server offered no "did you mean" button for the topic and
the widget refused 👍/👎 on its answer (HTTP 422): each process had read the content once.

Publishing swaps the model into the running Rasa servers; nothing restarts. So here, in one
process, the same objects serve before and after: the action server's "did you mean" action,
the web app (widget feedback), the inbox and the NLU's button handler. The topic is added the
way the staff console adds it (ContentProject.save_topic) to a scratch project that
KAPBOT_CONTENT_ROOT names, the project training reads. No model is trained for it: the
published model's part, ranking the new topic for a question, is the parse data it produces.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionDidYouMean
from bot.channels.visitor_messages import refusal_for
from bot.content.editing import ContentProject
from bot.content.model import current
from bot.conversations.inbox_conversation import conversation_items
from bot.db.migrate import upgrade
from bot.models.tuning import configured_thresholds
from bot.nlu.components import RESPONSE_SELECTOR, ButtonLabelHandler
from bot.settings import get_settings
from bot.web import create_app
from tests.conftest import free_port
from tests.integration.db.conversations import FALLBACK, Conversation
from tests.project_copies import copy_project
from tests.unit.actions.test_fallback import parse_data
from tests.unit.content.test_editing import NEW_EXAMPLES, PARKING_LIKE_ANSWER

NEW_TOPIC, LABEL = "home_sessions", "Can I do KAP at home?"


@pytest.fixture
def project(tmp_path, environment):
    root = copy_project(tmp_path / "project")
    database_url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    environment(
        KAPBOT_CONTENT_ROOT=str(root),
        KAPBOT_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=database_url,
        RASA_PORT=str(free_port()),
    )
    upgrade(database_url)
    return root


def add_the_topic(root) -> None:
    """What the editor's "New topic" form does; training and publishing follow."""
    ContentProject(root, rasa_validation=False).save_topic(
        NEW_TOPIC,
        label=LABEL,
        answer=PARKING_LIKE_ANSWER,
        source_section="Understanding the Safety Profile",
        reviewed=dt.date.today(),
        examples=NEW_EXAMPLES,
        new=True,
    )


async def test_a_published_topic_has_its_button_and_its_feedback_without_a_restart(project):
    action = ActionDidYouMean()
    widget = create_app(get_settings()).test_client()
    # The published model ranks the new topic first for a question about it.
    asked = parse_data(NEW_TOPIC, "safety")

    async def buttons() -> list[str]:
        tracker = Tracker("visitor", {}, asked, [], False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        await action.run(dispatcher, tracker, {})
        return [button["payload"] for button in dispatcher.messages[0]["buttons"]]

    def vote() -> int:
        body = {"conversation_id": str(uuid.uuid4()), "answer_text": PARKING_LIKE_ANSWER}
        return widget.post("/api/feedback", json={**body, "vote": "up"}).status_code

    safety, none_of_these = current().topic("safety").label, current().messages["none_of_these"]
    assert await buttons() == [safety, none_of_these]
    assert vote() == 422

    add_the_topic(project)

    assert await buttons() == [LABEL, safety, none_of_these]
    assert vote() == 201


def test_a_click_on_the_new_topics_button_is_understood_without_a_restart(project):
    handler = ButtonLabelHandler({})
    thresholds = configured_thresholds(project / "config.yml")
    conversation = Conversation(minute=0)
    conversation.says("can i do it from home", **FALLBACK, topics=[(NEW_TOPIC, 0.4)])
    conversation.did_you_mean()
    conversation.says(LABEL, "faq", 0.5, topics=[(NEW_TOPIC, 0.5)])
    events = [event.as_dict() for event in conversation.events]

    def clicked() -> tuple[str | None, list[str]]:
        # What the Rasa server's NLU makes of the click, and what the inbox makes of it.
        ranking = [{"intent_response_key": f"faq/{NEW_TOPIC}", "confidence": 0.4}]
        message = Message(
            data={
                TEXT: LABEL,
                INTENT: {"name": "nlu_fallback", "confidence": 0.4},
                RESPONSE_SELECTOR: {"faq": {"ranking": ranking, "response": {}}},
            }
        )
        handler.process([message])
        answer = message.get(RESPONSE_SELECTOR)["faq"].get("response", {})
        items = conversation_items(conversation.sender, events, thresholds)
        return answer.get("intent_response_key"), [item.reason for item in items]

    assert clicked() == (None, ["did-you-mean not taken"])

    add_the_topic(project)

    assert clicked() == (f"faq/{NEW_TOPIC}", [f"fallback; the visitor chose {NEW_TOPIC}"])


def test_the_channels_own_replies_follow_messages_yml_without_a_restart(project):
    messages = project / "content" / "messages.yml"
    lines = messages.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("empty_message: >-\n")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("  "))
    assert refusal_for("") != "Please type a question."
    lines[start:end] = ['empty_message: "Please type a question."\n']
    messages.write_text("".join(lines), encoding="utf-8")
    assert refusal_for("") == "Please type a question."
