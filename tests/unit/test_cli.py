"""The `kapbot` command as scripts and editors use it (run as a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

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
