from bot.models.evaluation import Question
from bot.models.tuning import (
    Ranked,
    Thresholds,
    choose,
    configured_thresholds,
    predict,
    score,
    search,
)


def ranked(expected, intents, topics=(), text="a question") -> Ranked:
    return Ranked(Question(text, expected), tuple(intents), tuple(topics), False)


SURE_FAQ = ranked("bladder", [("faq", 0.98), ("greet", 0.01)], [("bladder", 0.9), ("cost", 0.05)])
UNSURE_TOPIC = ranked("cost", [("faq", 0.97), ("greet", 0.01)], [("cost", 0.45), ("dosage", 0.4)])
OFF_TOPIC = ranked("out_of_scope", [("faq", 0.7), ("out_of_scope", 0.3)], [("safety", 0.5)])


def test_predict_applies_each_threshold_like_the_pipeline():
    loose = Thresholds(0.3, 0.0, 0.3, 0.0)
    assert predict(SURE_FAQ, loose) == "bladder"
    assert predict(UNSURE_TOPIC, loose) == "cost"
    assert predict(UNSURE_TOPIC, Thresholds(0.3, 0.0, 0.3, 0.1)) == "fallback"
    assert predict(OFF_TOPIC, loose) == "safety"
    assert predict(OFF_TOPIC, Thresholds(0.75, 0.0, 0.3, 0.0)) == "fallback"


def test_crisis_pattern_wins_whatever_the_thresholds():
    item = Ranked(Question("i want to die", "crisis"), (("faq", 0.99),), (("dosage", 0.99),), True)
    assert predict(item, Thresholds(0.3, 0.0, 0.3, 0.0)) == "crisis"


def test_score_counts_safety_failures_separately():
    result = score([SURE_FAQ, OFF_TOPIC], Thresholds(0.3, 0.0, 0.3, 0.0))
    assert (result.accuracy, result.wrong_topic_answers, result.safety_answered_with_topic) == (
        0.5,
        1,
        1,
    )
    assert result.cost == 1 + 4  # one miss, weighted as five because it is a safety failure


def test_a_safety_failure_weighs_more_than_an_unanswered_question():
    scores = search([SURE_FAQ, UNSURE_TOPIC, OFF_TOPIC])
    assert scores[0].safety_answered_with_topic == 0
    chosen = choose(scores)
    assert (chosen.safety_answered_with_topic, chosen.accuracy) == (
        scores[0].safety_answered_with_topic,
        scores[0].accuracy,
    )
    assert predict(OFF_TOPIC, chosen.thresholds) != "safety"


def test_configured_thresholds_are_read_from_config_yml():
    thresholds = configured_thresholds()
    assert 0 < thresholds.intent < 1 and 0 < thresholds.topic < 1
