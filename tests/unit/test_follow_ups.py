"""What a visitor's next message says about the answer they just got
(bot/conversations/follow_ups.py)."""

import pytest

from bot.conversations.follow_ups import (
    ASKED_FOR_A_PERSON,
    COMPLAINED,
    REPHRASED,
    is_complaint,
    judge,
)


@pytest.mark.parametrize(
    "text",
    [
        "that's not what I asked",
        "That’s not what i asked!",
        "not my question",
        "this is not my question",
        "wrong answer",
        "you didn't answer my question",
        "you did not answer the question",
        "you misunderstood",
    ],
)
def test_complaints_about_the_answer(text):
    assert is_complaint(text)


@pytest.mark.parametrize(
    "text", ["thanks", "what about the bladder", "is it the wrong time to ask about cost"]
)
def test_other_messages_are_not_complaints(text):
    assert not is_complaint(text)


@pytest.mark.parametrize(
    ("question", "follow_up", "intent", "topic", "why"),
    [
        ("is ketamine addictive", "can you get addicted to ketamine?", "faq", "safety", REPHRASED),
        ("wine after?", "alcohol after a session ok?", "faq", "side_effects", REPHRASED),
        ("how much is it", "that's not what I asked", "goodbye", None, COMPLAINED),
        ("how much is it", "can I talk to a person", "human_request", None, ASKED_FOR_A_PERSON),
        ("is ketamine safe", "what is the dosage of ketamine", "faq", "dosage", None),
        ("is it addictive", "thanks!", "thanks", None, None),
    ],
)
def test_judge(question, follow_up, intent, topic, why):
    assert judge(question, "side_effects", follow_up, intent, topic) == why
