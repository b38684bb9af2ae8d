from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionDidYouMean, did_you_mean_buttons, suggested_topics
from bot.content.model import load_content


def parse_data(*ranked_topics: str) -> dict:
    ranking = [
        {"intent_response_key": f"faq/{topic}", "confidence": 0.5 / (i + 1)}
        for i, topic in enumerate(ranked_topics)
    ]
    return {
        "text": "is the k thing bad for u",
        "intent": {"name": "nlu_fallback", "confidence": 0.4},
        "response_selector": {"faq": {"ranking": ranking, "response": {}}},
    }


def test_suggestions_follow_the_response_selector_ranking():
    data = parse_data("safety", "side_effects", "dependence", "bladder")
    assert suggested_topics(data) == ["safety", "side_effects", "dependence"]


def test_buttons_name_topics_by_their_label_and_end_with_none_of_these():
    content = load_content()
    buttons = did_you_mean_buttons(parse_data("dependence", "bladder"), content)
    # A click sends the label as plain text (bot/content/buttons.py).
    dependence, bladder = content.topic("dependence").label, content.topic("bladder").label
    assert buttons[:2] == [
        {"title": dependence, "payload": dependence},
        {"title": bladder, "payload": bladder},
    ]
    none_of_these = content.messages["none_of_these"]
    assert buttons[-1] == {"title": none_of_these, "payload": none_of_these}


def test_unknown_topics_are_never_offered():
    content = load_content()
    buttons = did_you_mean_buttons(parse_data("not_a_topic", "cost"), content)
    assert [b["payload"] for b in buttons] == [
        content.topic("cost").label,
        content.messages["none_of_these"],
    ]


async def test_action_asks_did_you_mean_with_buttons():
    tracker = Tracker(
        "visitor",
        {},
        parse_data("cost", "number_of_sessions"),
        [],
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    assert await ActionDidYouMean().run(dispatcher, tracker, {}) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_did_you_mean"
    content = load_content()
    assert [b["payload"] for b in message["buttons"]] == [
        content.topic("cost").label,
        content.topic("number_of_sessions").label,
        content.messages["none_of_these"],
    ]
