"""The pattern layer that backs the classifier for crisis messages: it must catch them all."""

import pytest

from bot.nlu.crisis_patterns import crisis_match

CRISIS_MESSAGES = [
    "should I call 911",
    "988",
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
    # phone numbers typed into the booking form that hold an emergency number's digits
    "555 911 2345",
    "555 988 1234",
    "(911) 234-5678",
    "+1 911 234 5678",
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


# Medical emergencies in any wording: overdose, breathing, chest pain, fainting, seizures, and a
# bad reaction happening now to the visitor or someone with them.
EMERGENCIES = [
    "took too many",
    "i took 3 at once",
    "double dose",
    "I accidentally doubled my dose",
    "took two lozenges together by mistake",
    "i took too many of my lozenges and now my chest hurts",
    "I took my dose twice, is that bad",
    "took more than I was prescribed",
    "i swallowed a whole strip of them",
    "what happens if you take too much ketamine",
    "i can't breathe properly",
    "my husband is struggling to breathe",
    "her breathing is really shallow",
    "my chest feels tight and I'm dizzy",
    "pain in my chest since the session",
    "my boyfriend fainted",
    "I feel faint",
    "she collapsed in the bathroom",
    "he's unresponsive",
    "he isn't responding to me",
    "my daughter is having a seizure",
    "someone is convulsing",
    "my friend is having a bad trip right now what do I do",
    "my friend is having a bad reaction to ketamine",
    "help, my friend is freaking out",
    "I'm panicking right now and can't calm down",
    "something is really wrong with me after the lozenge",
    "his lips are turning blue",
    "my heart is racing and pounding",
    "chest pain",
    "seizure",
    "I accidentally took 2 of my pills instead of one",
    "he's making a weird snoring noise and his eyes rolled back",
    "what's the point of carrying on",
    "I don't see any future for me",
    "I could be gone tonight and no one would ever notice",
]
# General questions about the same risks, with nobody in them and nothing happening now.
GENERAL_RISK_QUESTIONS = [
    "can ketamine cause seizures?",
    "is chest pain a side effect?",
    "does ketamine cause breathing problems",
    "can it cause a stroke",
    "how common is fainting with ketamine",
    "can you have a bad trip on ketamine",
    "does ketamine raise blood pressure?",
    "is ketamine addictive?",
    "can i drink alcohol after a session",
    "how long does ketamine stay in your body",
]


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergencies_match_in_any_wording(text):
    assert crisis_match(text), text


@pytest.mark.parametrize("text", GENERAL_RISK_QUESTIONS)
def test_general_questions_about_risks_do_not_match(text):
    assert crisis_match(text) is None, text
