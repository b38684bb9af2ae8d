"""The `kapbot` command as scripts and editors use it (run as a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from bot.settings import PROJECT_ROOT


def kapbot(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def write_questions(path, items) -> str:
    path.write_text(yaml.safe_dump(items))
    return str(path)


def test_eval_without_a_model_says_how_to_get_one(tmp_path):
    questions = write_questions(tmp_path / "q.yml", [{"text": "hi", "topic": "greet"}])
    result = kapbot("eval", questions, MODEL_DIR=str(tmp_path / "no-models"))
    assert result.returncode == 1
    assert "No trained model in" in result.stderr and "make model" in result.stderr


def test_eval_refuses_a_malformed_question_file(tmp_path):
    questions = write_questions(tmp_path / "q.yml", [{"text": "is it addictive?"}])
    result = kapbot("eval", questions)
    assert result.returncode == 1
    assert "item 1 ('is it addictive?') has no 'topic'" in result.stderr


def test_bad_configuration_is_reported_before_anything_runs():
    result = kapbot("build", RASA_PORT="fifty")
    assert result.returncode == 2
    assert "RASA_PORT must be a whole number" in result.stderr


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
