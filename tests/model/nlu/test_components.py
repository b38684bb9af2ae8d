"""The custom NLU components on hand-made classifier output (no trained model needed)."""

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.content.model import load_content
from bot.nlu.components import (
    ButtonLabelHandler,
    CrisisPatternClassifier,
    EligibilityPatternClassifier,
    FaqConfidenceGate,
    LanguageGate,
)


def message(text: str, intent: str = "faq", confidence: float = 0.95, topics=None) -> Message:
    topics = topics or [("bladder", 0.9), ("cost", 0.05)]
    return Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "response_selector": {
                "faq": {
                    "response": {"intent_response_key": f"faq/{topics[0][0]}"},
                    "ranking": [
                        {"intent_response_key": f"faq/{t}", "confidence": c} for t, c in topics
                    ],
                }
            },
        }
    )


def test_crisis_pattern_overrides_a_confident_faq_prediction():
    [result] = CrisisPatternClassifier({}).process([message("is it addictive? i want to die")])
    assert result.get("intent") == {"name": "crisis", "confidence": 1.0}
    assert result.get("intent_ranking")[0]["name"] == "crisis"


def test_ordinary_messages_keep_their_prediction():
    [result] = CrisisPatternClassifier({}).process([message("will my bladder be ok")])
    assert result.get("intent")["name"] == "faq"


def test_gate_sends_an_unsure_topic_choice_to_the_fallback():
    gate = FaqConfidenceGate({"threshold": 0.5, "ambiguity_threshold": 0.1})
    sure, close, low = gate.process(
        [
            message("bladder?"),
            message("hmm", topics=[("bladder", 0.45), ("cost", 0.4)]),
            message("eh", topics=[("bladder", 0.3), ("cost", 0.1)]),
        ]
    )
    assert sure.get("intent")["name"] == "faq"
    assert close.get("intent")["name"] == "nlu_fallback"
    assert low.get("intent")["name"] == "nlu_fallback"


def test_topic_button_selects_that_answer():
    label = load_content().topic("cost").label
    [result] = ButtonLabelHandler({}).process([message(label, "nlu_fallback", 0.3)])
    assert result.get("intent") == {"name": "faq", "confidence": 1.0}
    response = result.get("response_selector")["faq"]["response"]
    assert response["utter_action"] == "utter_faq/cost"
    assert response["intent_response_key"] == "faq/cost"


def test_a_topic_the_response_selector_does_not_know_stays_plain_text():
    label = load_content().topic("bladder").label
    [result] = ButtonLabelHandler({}).process(
        [message(label, "nlu_fallback", 0.3, topics=[("cost", 0.3)])]
    )
    assert result.get("intent")["name"] == "nlu_fallback"


@pytest.mark.parametrize(
    ("key", "intent"),
    [
        ("yes_button", "affirm"),
        ("no_button", "deny"),
        ("confirm_button", "affirm"),
        ("cancel_button", "stop"),
        ("talk_to_person_button", "human_request"),
        ("none_of_these", "out_of_scope"),
    ],
)
def test_a_button_label_means_its_intent_however_it_is_typed(key, intent):
    typed = load_content().messages[key].upper().replace(",", "") + "!"
    [result] = ButtonLabelHandler({}).process([message(typed, "faq", 0.9)])
    assert result.get("intent") == {"name": intent, "confidence": 1.0}


def test_an_intent_payload_is_not_a_button():
    [result] = ButtonLabelHandler({}).process([message("/affirm", "faq", 0.9)])
    assert result.get("intent")["name"] == "faq"


def test_personal_clinical_question_overrides_a_confident_faq_prediction():
    [result] = EligibilityPatternClassifier({}).process(
        [message("is ketamine safe if i take lithium?", "faq", 0.97)]
    )
    assert result.get("intent") == {"name": "eligibility", "confidence": 1.0}
    assert result.get("intent_ranking")[0]["name"] == "eligibility"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("does ketamine raise blood pressure?", "faq"),  # general, not personal
        ("i take lithium and i want to die", "crisis"),  # crisis is never overridden
        ("can i talk to someone about my lithium", "human_request"),
        ("/faq/safety", "faq"),  # an intent payload of `kapbot ask`
    ],
)
def test_eligibility_pattern_leaves_other_messages_alone(text, intent):
    [result] = EligibilityPatternClassifier({}).process([message(text, intent, 0.9)])
    assert result.get("intent")["name"] == intent


def test_language_gate_answers_another_language_instead_of_a_crisis_guess():
    german = message("Ich habe seit der Behandlung Probleme mit der Blase, ist das gefährlich?")
    german.set("intent", {"name": "crisis", "confidence": 0.7})
    [result] = LanguageGate({}).process([german])
    assert result.get("intent") == {"name": "other_language", "confidence": 1.0}
    assert result.get("language")["code"] == "de"


def test_language_gate_keeps_crisis_for_a_word_of_danger_in_any_language():
    spanish = message("tengo pensamientos de suicidio y no sé qué hacer")
    [result] = CrisisPatternClassifier({}).process([spanish])
    [result] = LanguageGate({}).process([result])
    assert result.get("intent")["name"] == "crisis"


@pytest.mark.parametrize(
    "text", ["ok", "B-7KQ2M9XA", "Jürgen Müller", "555 123 4567", "i can't breathe", "/greet"]
)
def test_language_gate_leaves_english_and_form_answers_alone(text):
    [result] = LanguageGate({}).process([message(text, intent="affirm")])
    assert result.get("intent")["name"] == "affirm"
    assert result.get("language") is None


def test_a_request_for_a_screening_call_is_kept_over_the_eligibility_patterns():
    text = "can we set up a screening call to see if I'm eligible"
    [booking] = EligibilityPatternClassifier({}).process([message(text, intent="book_screening")])
    assert booking.get("intent")["name"] == "book_screening"
    [question] = EligibilityPatternClassifier({}).process([message("am I eligible?")])
    assert question.get("intent")["name"] == "eligibility"
