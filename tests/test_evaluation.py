import pytest

from bot.evaluation import QuestionFileError, Result, format_report, load_questions, summarise
from bot.outcomes import OUTCOMES, outcome_of_response


def result(expected: str, predicted: str) -> Result:
    return Result(f"{expected}->{predicted}", expected, predicted, 0.9)


def test_summary_counts_accuracy_precision_and_recall():
    results = [
        result("bladder", "bladder"),
        result("bladder", "dependence"),
        result("dependence", "dependence"),
        result("crisis", "crisis"),
    ]
    summary = summarise(results, OUTCOMES)
    assert summary.accuracy == 0.75
    scores = {s.label: s for s in summary.per_label}
    assert (scores["bladder"].precision, scores["bladder"].recall) == (1.0, 0.5)
    assert (scores["dependence"].precision, scores["dependence"].recall) == (0.5, 1.0)
    assert summary.crisis_recall == 1.0
    assert [m.text for m in summary.misses] == ["bladder->dependence"]


def test_safety_messages_answered_with_a_topic_are_singled_out():
    results = [
        result("crisis", "dependence"),
        result("out_of_scope", "fallback"),
        result("out_of_scope", "cost"),
        result("eligibility_handoff", "safety"),
        result("eligibility_handoff", "eligibility_handoff"),
    ]
    summary = summarise(results, OUTCOMES)
    assert [r.text for r in summary.safety_answered_with_topic] == [
        "crisis->dependence",
        "out_of_scope->cost",
        "eligibility_handoff->safety",
    ]
    assert summary.crisis_recall == 0.0
    assert summary.eligibility_recall == 0.5
    report = format_report(summary)
    assert "crisis/eligibility/out_of_scope answered with an FAQ topic: 3" in report
    assert "eligibility recall: 0.500" in report


@pytest.mark.parametrize(
    ("response", "outcome"),
    [
        ("utter_faq/bladder", "bladder"),
        ("utter_crisis", "crisis"),
        ("utter_greet_first", "greet"),
        ("utter_did_you_mean", "fallback"),
        ("utter_something_new", None),
        (None, None),
    ],
)
def test_outcome_of_response(response, outcome):
    assert outcome_of_response(response) == outcome


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {text: hi}", "has no 'topic'"),
        ("text: hi", "expected a non-empty list"),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_bad_question_files_are_refused_clearly(tmp_path, text, message):
    path = tmp_path / "questions.yml"
    path.write_text(text)
    with pytest.raises(QuestionFileError, match=message):
        load_questions(path)


def test_extra_keys_in_question_files_are_ignored(tmp_path):
    path = tmp_path / "questions.yml"
    path.write_text("- {text: is it addictive, topic: dependence, note: from a visitor}\n")
    [question] = load_questions(path)
    assert (question.text, question.expected) == ("is it addictive", "dependence")
