"""Background training runs: one at a time, progress from Rasa's own output, failures in plain
words, and runs whose worker died shown as failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.db.migrate import upgrade
from bot.db.models import AuditEntry
from bot.db.session import session_scope
from bot.models.rasa_training import progress_from_log
from bot.models.training_jobs import (
    TrainingAlreadyRunning,
    create_foreground_run,
    current_run,
    get_run,
    list_runs,
    start_training,
)
from bot.settings import PROJECT_ROOT, settings_from_env
from tests.content.conftest import copy_project


@pytest.fixture
def job_settings(tmp_path):
    settings = settings_from_env(
        {
            "KAPBOT_VAR_DIR": str(tmp_path / "var"),
            "MODEL_DIR": str(tmp_path / "models"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'kapbot.db'}",
        }
    )
    upgrade(settings.database_url)
    return settings


def audit_actions(settings) -> list[tuple[str, str]]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(row.action, row.target) for row in rows]


def test_a_run_whose_worker_died_is_shown_as_failed(job_settings):
    # A worker that registers its run and dies, as when the machine restarts mid-training.
    code = (
        "import sys; from bot.settings import settings_from_env; "
        "from bot.models.training_jobs import create_foreground_run; "
        "print(create_foreground_run('editor1', settings=settings_from_env(dict(\n"
        f"KAPBOT_VAR_DIR={str(job_settings.var_dir)!r}, MODEL_DIR={str(job_settings.model_dir)!r},"
        f"DATABASE_URL={job_settings.database_url!r}))).id)"
    )
    started = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    run_id = started.stdout.strip()

    run = get_run(run_id, job_settings)

    assert run.state == "failed"
    assert "stopped before finishing" in run.error
    assert current_run(job_settings) is None
    assert [r.id for r in list_runs(job_settings)] == [run_id]
    assert ("training_started", run_id) in audit_actions(job_settings)


def test_a_run_in_a_living_process_is_current_and_blocks_another(job_settings):
    run = create_foreground_run("cli:operator", settings=job_settings)

    assert current_run(job_settings).id == run.id
    with pytest.raises(TrainingAlreadyRunning):
        create_foreground_run("cli:other", settings=job_settings)


@pytest.mark.slow
def test_a_broken_training_fails_in_plain_words_and_only_one_runs_at_a_time(job_settings, tmp_path):
    project = copy_project(tmp_path / "project")
    (project / "bot" / "data" / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: [unclosed\n', encoding="utf-8"
    )
    job_settings = replace(job_settings, content_root=project)
    run = start_training("editor1", settings=job_settings)

    with pytest.raises(TrainingAlreadyRunning) as refused:
        start_training("editor2", settings=job_settings)
    assert refused.value.run.id == run.id
    assert "already running" in str(refused.value)
    assert current_run(job_settings).id == run.id

    deadline = time.monotonic() + 240
    while run.active and time.monotonic() < deadline:
        time.sleep(1)
        run = get_run(run.id, job_settings)

    assert run.state == "failed", run
    assert run.error.startswith("The training failed:")
    assert "nlu.yml" in run.error
    assert "Traceback" not in run.error and "\n" not in run.error
    assert run.finished_at is not None
    assert current_run(job_settings) is None
    assert [a for a in audit_actions(job_settings) if a[1] == run.id] == [
        ("training_started", run.id),
        ("training_failed", run.id),
    ]


def test_kapbot_train_candidate_reports_a_failure_and_exits_1(job_settings, tmp_path):
    project = copy_project(tmp_path / "project")
    (project / "domain.yml").write_text("responses: [unclosed\n", encoding="utf-8")
    env = {
        **os.environ,
        "KAPBOT_VAR_DIR": str(job_settings.var_dir),
        "KAPBOT_CONTENT_ROOT": str(project),
        "MODEL_DIR": str(job_settings.model_dir),
        "DATABASE_URL": job_settings.database_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "train", "--candidate"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert result.returncode == 1, result.stdout + result.stderr
    assert "The training failed: Failed to read" in result.stdout
    assert "domain.yml" in result.stdout
    (run,) = list_runs(job_settings)
    assert run.state == "failed" and run.actor.startswith("cli:")


@pytest.mark.slow
def test_progress_moved_through_training_and_evaluation(worse_candidate_run):
    run, _settings = worse_candidate_run
    seen = json.loads((Path(run.log).parent / "observed-progress.json").read_text())
    percents = [percent for percent, _step in seen]
    steps = [step for _percent, step in seen]

    assert percents == sorted(percents)
    assert seen[-1] == [100, "Done"]
    assert any(step.startswith("Training the intent classifier, epoch") for step in steps)
    assert any(step.startswith("Training the answer selector, epoch") for step in steps)
    assert any(step.startswith("Evaluating the candidate model: question") for step in steps)
    assert run.no_worse is False and run.reasons
    assert all(Path(png).read_bytes()[:4] == b"\x89PNG" for png in run.confusion.values())


@pytest.mark.slow
def test_progress_from_a_real_training_log(worse_candidate_run):
    run, _settings = worse_candidate_run
    log = Path(run.log).read_text(encoding="utf-8", errors="replace")
    marks = [progress_from_log(log[:end]) for end in range(0, len(log), max(1, len(log) // 200))]

    percents = [percent for percent, _step in marks]
    assert percents == sorted(percents)
    assert progress_from_log(log) == (85, "Saving the model")
    steps = {step for _percent, step in marks}
    assert any(step.startswith("Training the intent classifier, epoch") for step in steps)
    assert any(step.startswith("Training the answer selector, epoch") for step in steps)
