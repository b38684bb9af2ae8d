"""Background training runs that really train: a broken one fails in plain words and only one runs
at a time; a good one's progress moves through training and evaluation."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.models.rasa_training import progress_from_log
from bot.models.training_jobs import (
    TrainingAlreadyRunning,
    current_run,
    get_run,
    start_training,
)
from tests.integration.test_training_jobs import audit_actions
from tests.project_copies import copy_project


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
