"""kapbot eval and kapbot ask with the trained model."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_cli import kapbot, write_questions


@pytest.mark.slow
def test_eval_json_is_one_object_with_a_result_per_question(tmp_path, model_path):
    items = [
        {"text": "will my bladder be ok", "topic": "bladder", "note": "ignored"},
        {"text": "i want to kill myself", "topic": "crisis"},
        {"text": "how much does it cost", "topic": "dosage"},  # deliberately mislabelled
    ]
    result = kapbot("eval", write_questions(tmp_path / "q.yml", items), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert [r["text"] for r in report["results"]] == [i["text"] for i in items]
    assert set(report["results"][0]) == {
        "text", "expected", "predicted", "confidence", "also_ok", "kind"
    }  # fmt: skip
    predicted = [r["predicted"] for r in report["results"]]
    assert predicted == ["bladder", "crisis", "cost"]
    assert [r["kind"] for r in report["results"]] == ["right", "right", "wrong"]
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert (report["wrong_rate"], report["fallback_rate"]) == (pytest.approx(1 / 3), 0.0)
    dosage = next(row for row in report["per_label"] if row["label"] == "dosage")
    assert (dosage["right"], dosage["fallback"], dosage["wrong"]) == (0, 0, 1)


@pytest.mark.slow
def test_ask_prints_the_answer_and_the_outcome(model_path):
    result = kapbot("ask", "is ketamine addictive?")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Source: How Safe Is KAP? — Considering the Risks" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("outcome: dependence")
