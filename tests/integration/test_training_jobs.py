"""Background training runs: one at a time, progress from Rasa's own output, failures in plain
words, and runs whose worker died shown as failed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from bot.db.models import AuditEntry
from bot.db.session import session_scope
from bot.models.training_jobs import (
    TrainingAlreadyRunning,
    create_foreground_run,
    current_run,
    get_run,
    list_runs,
)
from bot.settings import PROJECT_ROOT
from tests.project_copies import copy_project


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
