"""Rasa's own checks on this project: `rasa data validate` and the conversation tests."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
DATA_ARGS = ["--config", "config.yml", "--domain", "domain.yml", "--data", "bot/data"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_rasa_data_validate_is_clean():
    result = rasa("data", "validate", *DATA_ARGS, "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_conversation_tests_pass(model_path, action_server, tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "{action_server}/webhook"\n')
    out = tmp_path / "results"
    result = rasa(
        "test", "core",
        "--model", str(model_path),
        "--stories", "tests/conversations",
        "--endpoints", str(endpoints),
        "--out", str(out),
        "--fail-on-prediction-errors",
    )  # fmt: skip
    failed = out / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stdout[-4000:]
    assert result.returncode == 0, details + result.stderr[-3000:]
    assert "# None of the test stories failed - all good!" in failed.read_text()
