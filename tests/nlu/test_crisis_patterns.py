"""The pattern layer that backs the classifier for crisis messages: it must catch them all."""

import pytest

from bot.nlu.crisis_patterns import crisis_match

CRISIS_MESSAGES = [
    "I want to kill myself",
    "i've been thinking about suicide",
    "im feeling suicidal tonight",
    "thinking of ending it all",
    "I don't want to live anymore",
    "i dont want to be here anymore",
    "honestly everyone would be better off dead without me, i mean me",
    "I want to die",
    "i wanna die",
    "I have been cutting myself again",
    "how do i stop self-harming",
    "i keep hurting myself",
    "I took too many pills",
    "my brother took a bunch of his sleeping pills",
    "I think I overdosed",
    "what if i overdose during a session",
    "my friend OD'd",
    "can you OD on it",
    "is ODing possible in a session",
    "she is not breathing",
    "he passed out and won't wake up",
    "I'm having chest pain right now",
    "this is an emergency",
    "should i call an ambulance",
    "is he having a seizure",
    "I want to end my life",
    "KILL MYSELF",
    "I don\u2019t want to live",
    "nobody would miss me if i was gone",
    "i'm tired of living",
    "I can't go on like this",
    "I'm just a burden to my family",
    "what's a lethal amount of ketamine",
    "I've started giving my things away",
    "sometimes i wish i could go to sleep and never wake up",
    "if this doesn't work i'm done with life",
    "what is the easiest way to die",
    "how much would it take to kill someone",
    "I took way too much of my medication",
]

ORDINARY_MESSAGES = [
    "is ketamine addictive?",
    "how long does a session last",
    "can I end the session early if I feel bad",
    "what are the side effects",
    "will it hurt my bladder",
    "how much does it cost",
    "what does integration therapy mean",
    "is it safe",
    "hello",
    "does it help with trauma",
]


@pytest.mark.parametrize("text", CRISIS_MESSAGES)
def test_crisis_messages_match(text):
    assert crisis_match(text), text


@pytest.mark.parametrize("text", ORDINARY_MESSAGES)
def test_ordinary_questions_do_not_match(text):
    assert crisis_match(text) is None
