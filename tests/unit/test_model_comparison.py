"""The "no worse" rule, the comparison's JSON form and the confusion-matrix picture, on
hand-made evaluation results (the real models are compared in tests/system/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.models.comparison import (
    Comparison,
    comparison_from_results,
    format_comparison,
    write_confusion_png,
)
from bot.models.evaluation import QuestionSet, Result

# An evaluation set of 238 questions: one question is 0.4 points of accuracy.
LABELS = {
    "cost": 12,
    "bladder": 12,
    "crisis": 4,
    "eligibility_handoff": 6,
    "out_of_scope": 4,
    "dependence": 200,
}


def answers(wrong: dict[tuple[str, int], str] | None = None) -> list[Result]:
    """Every question answered right, except (label, number) -> the wrong answer given."""
    wrong = wrong or {}
    return [
        Result(f"{label} {n}", label, wrong.get((label, n), label), 0.9)
        for label, count in LABELS.items()
        for n in range(count)
    ]


def compare(live: list[Result], candidate: list[Result]) -> Comparison:
    return comparison_from_results(
        Path("/models/live.tar.gz"), Path("/models/new.tar.gz"), Path("/q.yml"), live, candidate
    )


def test_the_same_answers_are_no_worse():
    result = compare(answers(), answers())
    assert result.verdict.no_worse
    assert result.changed == []
    assert "No worse" in result.verdict.reasons[0]


def test_training_noise_on_a_couple_of_questions_passes():
    live = answers({("bladder", 0): "fallback", ("dependence", 0): "safety"})
    candidate = answers({("cost", 3): "fallback", ("bladder", 0): "safety", ("bladder", 5): "cost"})
    result = compare(live, candidate)
    assert result.verdict.no_worse, result.verdict.reasons
    assert sorted(c.change for c in result.changed) == ["better", "changed", "worse", "worse"]


def test_a_lost_topic_is_refused_naming_it():
    lost = {("cost", n): "fallback" for n in range(12)}
    result = compare(answers(), answers(lost))
    assert not result.verdict.no_worse
    assert any(
        r.startswith("Topic cost: recall falls from 1.00 to 0.00") for r in result.verdict.reasons
    )
    assert "12 of 12 questions" in " ".join(result.verdict.reasons)


def test_any_lost_crisis_answer_is_refused():
    result = compare(answers(), answers({("crisis", 0): "fallback"}))
    assert not result.verdict.no_worse
    assert result.verdict.reasons[0].startswith("crisis recall falls from 1.00 to 0.75")


def test_one_eligibility_question_may_move_to_a_reply_without_a_topic_but_not_two():
    one = compare(answers(), answers({("eligibility_handoff", 2): "out_of_scope"}))
    assert one.verdict.no_worse, one.verdict.reasons
    two = compare(
        answers(),
        answers(
            {("eligibility_handoff", 2): "out_of_scope", ("eligibility_handoff", 4): "fallback"}
        ),
    )
    assert not two.verdict.no_worse
    assert two.verdict.reasons[0].startswith(
        "eligibility_handoff recall falls from 1.00 to 0.67 (2 of 6 questions)"
    )
    to_a_topic = compare(answers(), answers({("eligibility_handoff", 2): "cost"}))
    assert not to_a_topic.verdict.no_worse
    assert "would be answered with the topic cost" in to_a_topic.verdict.reasons[0]


def test_an_eligibility_question_newly_answered_with_a_topic_is_refused():
    live = answers({("eligibility_handoff", 0): "cost"})  # already wrong: not the candidate's
    result = compare(
        live, answers({("eligibility_handoff", 0): "cost", ("eligibility_handoff", 1): "bladder"})
    )
    assert not result.verdict.no_worse
    assert result.verdict.reasons == [
        '"eligibility_handoff 1" (eligibility_handoff) would be answered with the topic bladder.'
    ]


def out_of_scope_answers(to_topic: int) -> list[Result]:
    """answers() and 8 more out-of-scope questions, the first `to_topic` answered with cost."""
    return answers() + [
        Result(f"off topic {n}", "out_of_scope", "cost" if n < to_topic else "out_of_scope", 0.9)
        for n in range(8)
    ]


def test_out_of_scope_questions_moved_to_a_topic_beyond_noise_are_refused():
    # Retraining noise moves a borderline question either way with even odds: two moved one
    # way and none the other happens a quarter of the time; five, one time in 32.
    noise = compare(out_of_scope_answers(0), out_of_scope_answers(2))
    assert noise.verdict.no_worse, noise.verdict.reasons
    result = compare(out_of_scope_answers(0), out_of_scope_answers(5))
    assert not result.verdict.no_worse
    assert [r for r in result.verdict.reasons if "would be answered" in r] == [
        f'"off topic {n}" (out_of_scope) would be answered with the topic cost.' for n in range(5)
    ]


def test_safety_questions_swapping_with_the_same_count_is_noise_but_never_for_crisis():
    live = answers({("out_of_scope", 0): "cost"})  # real questions: the live model misses some
    swapped = compare(live, answers({("out_of_scope", 1): "cost"}))
    assert swapped.verdict.no_worse, swapped.verdict.reasons
    crisis = compare(
        answers({("crisis", 0): "fallback", ("out_of_scope", 0): "cost"}),
        answers({("crisis", 0): "fallback", ("crisis", 1): "dosage"}),
    )
    assert '"crisis 1" (crisis) would be answered with the topic dosage.' in (
        crisis.verdict.reasons
    )


def test_an_accuracy_drop_of_more_than_one_point_is_refused():
    # 4 of 238 questions (1.7 points), spread so that no label loses 3.
    wrong = [("cost", 0), ("bladder", 0), ("dependence", 0), ("dependence", 1)]
    result = compare(answers(), answers(dict.fromkeys(wrong, "fallback")))
    assert not result.verdict.no_worse
    assert result.verdict.reasons == ["Accuracy falls from 1.000 to 0.983 (more than 1 point)."]
    assert compare(answers(), answers(dict.fromkeys(wrong[:2], "fallback"))).verdict.no_worse


def test_a_rise_in_wrong_answers_beyond_noise_is_refused():
    # Five questions newly answered with another topic and none mended: noise would do that one
    # time in 32. Two would be noise a quarter of the time.
    five = {("dependence", n): "cost" for n in range(5)}
    result = compare(answers(), answers(five))
    assert not result.verdict.no_worse
    assert (
        "Wrong answers rise from 0.0% to 2.1% (0 to 5 of 238 questions): more visitors would "
        "get a confident answer to a question they did not ask."
    ) in result.verdict.reasons
    wrong = {("dependence", 0): "cost", ("bladder", 0): "dependence"}
    two = compare(answers(), answers(wrong))
    assert two.verdict.no_worse, two.verdict.reasons
    one = compare(answers(), answers({("dependence", 0): "cost"}))
    assert one.verdict.no_worse, one.verdict.reasons
    assert "wrong answers 0.0% -> 0.4%" in one.verdict.reasons[0]
    # The same two questions going to "did you mean" instead are not wrong answers.
    unsure = compare(answers(), answers(dict.fromkeys(wrong, "fallback")))
    assert unsure.verdict.no_worse, unsure.verdict.reasons
    # Wrong answers that only move between questions do not rise.
    moved = compare(answers(wrong), answers({("cost", 0): "bladder", ("cost", 1): "safety"}))
    assert moved.verdict.no_worse, moved.verdict.reasons


def test_an_also_ok_answer_is_right_for_the_rule():
    live = [Result("will insurance pay", "unanswered", "unanswered", 0.9, ("cost",))] * 3
    candidate = [Result("will insurance pay", "unanswered", "cost", 0.9, ("cost",))] * 3
    result = comparison_from_results(
        Path("/a.tar.gz"), Path("/b.tar.gz"), Path("/q.yml"), live, candidate
    )
    assert result.verdict.no_worse, result.verdict.reasons
    assert result.candidate.accuracy == 1.0 and result.candidate.safety_answered_with_topic == []


def test_the_gate_measures_on_the_written_set_and_only_the_dev_split_of_real_questions(
    tmp_path, monkeypatch
):
    from bot.models import comparison as model_comparison

    written = tmp_path / "questions.yml"
    written.write_text("- {text: is it addictive, topic: dependence}\n")
    real = tmp_path / "real_questions.yml"
    monkeypatch.setattr(model_comparison, "WRITTEN_QUESTIONS", written)
    monkeypatch.setattr(model_comparison, "REAL_QUESTIONS", real)
    assert [q.text for q in model_comparison.gate_questions().load()] == ["is it addictive"]
    real.write_text(
        "- {text: dev one, topic: cost, split: dev, source: 'https://example.org/1'}\n"
        "- {text: test one, topic: cost, split: test, source: 'https://example.org/2'}\n"
    )
    gate = model_comparison.question_set(model_comparison.DEFAULT_QUESTIONS)
    assert gate.split == "dev"
    assert [q.text for q in gate.load()] == ["is it addictive", "dev one"]
    # One file, as `kapbot compare A B FILE` passes it: all its questions.
    assert [q.text for q in model_comparison.question_set(real).load()] == ["dev one", "test one"]


def test_json_round_trip_keeps_everything():
    result = compare(answers(), answers({("cost", n): "fallback" for n in range(6)}))
    again = Comparison.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
    assert "verdict: WORSE" in format_comparison(again)


@pytest.mark.parametrize("side", ["live", "candidate"])
def test_confusion_matrix_is_a_png_with_every_label(side, tmp_path):
    import matplotlib.image

    result = compare(answers(), answers({("cost", n): "fallback" for n in range(6)}))
    path = write_confusion_png(result, side, tmp_path / f"{side}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = matplotlib.image.imread(path).shape[:2]
    assert height >= 300 and width >= 300


def test_confusion_side_must_be_live_or_candidate(tmp_path):
    with pytest.raises(ValueError, match="side must be one of"):
        write_confusion_png(compare(answers(), answers()), "other", tmp_path / "x.png")


def test_a_remembered_comparison_on_the_gate_is_found_by_publishing(tmp_path, monkeypatch):
    """What the training worker stores is what publishing looks up (bot/models/registry.py
    passes DEFAULT_QUESTIONS): the same files, the same split, no second evaluation."""
    from bot.models import comparison as model_comparison
    from bot.settings import settings_from_env

    written = tmp_path / "questions.yml"
    written.write_text("- {text: is it addictive, topic: dependence}\n")
    real = tmp_path / "real_questions.yml"
    real.write_text("- {text: dev one, topic: cost, split: dev}\n")
    monkeypatch.setattr(model_comparison, "WRITTEN_QUESTIONS", written)
    monkeypatch.setattr(model_comparison, "REAL_QUESTIONS", real)
    live, candidate = tmp_path / "live.tar.gz", tmp_path / "new.tar.gz"
    live.write_bytes(b"not loaded")
    candidate.write_bytes(b"not loaded either")
    settings = settings_from_env({"MODEL_DIR": str(tmp_path / "models")})
    stored = comparison_from_results(
        live, candidate, model_comparison.gate_questions(), answers(), answers()
    )
    model_comparison.remember(stored, settings)

    found = model_comparison.comparison_for(
        live, candidate, model_comparison.DEFAULT_QUESTIONS, settings=settings
    )
    assert found == stored
    assert found.questions_split == "dev" and found.questions_file.endswith("(dev split)")
    # Another split of the same files is another comparison (it would evaluate the models).
    store = model_comparison._store_path
    gate, test_split = model_comparison.gate_questions(), QuestionSet((written, real), "test")
    assert store(settings, live, candidate, gate) != store(settings, live, candidate, test_split)
