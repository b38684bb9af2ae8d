from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.greeting import ActionGreet


def tracker_with(disclaimer_shown: bool) -> Tracker:
    return Tracker(
        sender_id="visitor",
        slots={"disclaimer_shown": disclaimer_shown},
        latest_message={"intent": {"name": "greet", "confidence": 0.99}, "text": "hi"},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_first_greeting_gives_the_disclaimer_and_remembers_it():
    dispatcher = CollectingDispatcher()
    events = await ActionGreet().run(dispatcher, tracker_with(False), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_greet_first"]
    assert events == [SlotSet("disclaimer_shown", True)]


async def test_later_greetings_skip_the_disclaimer():
    dispatcher = CollectingDispatcher()
    events = await ActionGreet().run(dispatcher, tracker_with(True), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_greet_again"]
    assert events == []
