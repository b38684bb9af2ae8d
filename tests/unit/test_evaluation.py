import pytest

from bot.content.outcomes import OUTCOMES, outcome_of_response
from bot.models.evaluation import (
    QuestionFileError,
    QuestionSet,
    Result,
    format_report,
    load_questions,
    summarise,
)


def result(expected: str, predicted: str, also_ok: tuple[str, ...] = ()) -> Result:
    return Result(f"{expected}->{predicted}", expected, predicted, 0.9, also_ok)


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
    assert "crisis/eligibility/out_of_scope/unanswered answered with an FAQ topic: 3" in report
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


def test_answers_are_right_did_you_mean_or_wrong_per_label_and_overall():
    results = [
        result("bladder", "bladder"),
        result("bladder", "fallback"),
        result("bladder", "dependence"),  # a confident wrong answer
        result("dependence", "out_of_scope"),  # an outcome other than the expected one: wrong
        result("cost", "unanswered", also_ok=("unanswered",)),  # also fine for this question
        result("crisis", "crisis"),
        result("out_of_scope", "fallback"),
        result("greet", "other_language"),
    ]
    summary = summarise(results, OUTCOMES)
    assert [r.kind for r in results] == [
        "right", "fallback", "wrong", "wrong", "right", "right", "fallback", "wrong"
    ]  # fmt: skip
    assert (summary.right, summary.fallback, summary.wrong) == (3, 2, 3)
    assert (summary.accuracy, summary.fallback_rate, summary.wrong_rate) == (3 / 8, 2 / 8, 3 / 8)
    scores = {s.label: s for s in summary.per_label}
    assert (scores["bladder"].right, scores["bladder"].fallback, scores["bladder"].wrong) == (
        1, 1, 1
    )  # fmt: skip
    assert scores["cost"].recall == 1.0
    # A fallback is a miss, but not a wrong answer; the misses say which kind each is.
    assert [m.text for m in summary.misses] == [
        "bladder->fallback", "bladder->dependence", "dependence->out_of_scope",
        "out_of_scope->fallback", "greet->other_language",
    ]  # fmt: skip
    report = format_report(summary)
    assert "wrong: 0.375 (3 of 8)" in report
    assert "did you mean / rephrase: 0.250 (2 of 8)" in report
    assert "  wrong    expected bladder" in report


def test_also_ok_counts_as_right_even_for_a_topic_on_a_safety_question():
    results = [
        result("unanswered", "cost", also_ok=("cost",)),  # the cost topic says what it can
        result("unanswered", "safety"),  # answered with a topic: confidently wrong
        result("unanswered", "out_of_scope"),
        result("out_of_scope", "unanswered"),
    ]
    summary = summarise(results, OUTCOMES)
    assert [r.text for r in summary.safety_answered_with_topic] == ["unanswered->safety"]
    assert (summary.out_of_scope_total, summary.out_of_scope_answered_with_topic) == (4, 1)
    assert summary.out_of_scope_topic_rate == 0.25
    assert summary.accuracy == 0.25
    assert "out-of-scope/unanswered answered with an FAQ topic: 0.250 (1 of 4)" in format_report(
        summary
    )


def test_also_ok_source_and_split_are_read_and_the_split_selects(tmp_path):
    path = tmp_path / "real_questions.yml"
    path.write_text(
        "- {text: will insurance pay for this, topic: unanswered, also_ok: [cost],\n"
        "   source: 'https://example.org/q/1', split: dev}\n"
        "- {text: can i drive home after, topic: unanswered, split: test}\n"
        "- {text: is it addictive, topic: dependence}\n"
    )
    every = load_questions(path)
    assert [q.text for q in every] == [
        "will insurance pay for this", "can i drive home after", "is it addictive"
    ]  # fmt: skip
    assert (every[0].also_ok, every[0].source, every[0].split) == (
        ("cost",), "https://example.org/q/1", "dev"
    )  # fmt: skip
    assert [q.text for q in load_questions(path, "dev")] == [
        "will insurance pay for this", "is it addictive"
    ]  # fmt: skip
    assert [q.text for q in load_questions(path, "test")] == [
        "can i drive home after", "is it addictive"
    ]  # fmt: skip
    with pytest.raises(QuestionFileError, match="unknown split 'train'"):
        load_questions(path, "train")


def test_a_question_set_joins_files_and_keeps_one_split(tmp_path):
    written = tmp_path / "questions.yml"
    written.write_text("- {text: is it addictive, topic: dependence}\n")
    real = tmp_path / "real.yml"
    real.write_text(
        "- {text: dev question, topic: cost, split: dev}\n"
        "- {text: test question, topic: cost, split: test}\n"
    )
    dev = QuestionSet((written, real), "dev")
    assert [q.text for q in dev.load()] == ["is it addictive", "dev question"]
    assert dev.describe().endswith("real.yml (dev split)")
    assert QuestionSet.of(written).load()[0].expected == "dependence"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {text: hi, topic: greet, split: train}", "'split' must be one of dev, test"),
        ("- {text: hi, topic: greet, also_ok: [1]}", "'also_ok' must be a list of labels"),
    ],
)
def test_bad_split_or_also_ok_is_refused_clearly(tmp_path, text, message):
    path = tmp_path / "questions.yml"
    path.write_text(text)
    with pytest.raises(QuestionFileError, match=message):
        load_questions(path)


def test_results_keep_also_ok_through_json():
    import json

    before = result("unanswered", "cost", also_ok=("cost",))
    again = Result.from_dict(json.loads(json.dumps(before.__dict__)))
    assert again == before and again.kind == "right"
