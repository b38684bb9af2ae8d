"""Comparing, publishing and rolling back models against a real Rasa server, started the way
`kapbot serve` starts it (bot/ops/runner.py) with its HTTP API on and a token, with the `kapbot`
commands an operator or a script would type."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import yaml

from bot.content.model import load_content
from bot.db.migrate import upgrade
from bot.db.models import AuditEntry
from bot.db.session import session_scope
from bot.ops.runner import Supervisor, child_environment, process_specs
from bot.settings import PROJECT_ROOT
from tests.conftest import WORSE_TOPIC, free_port
from tests.system.conftest import say

pytestmark = pytest.mark.slow
QUESTIONS = PROJECT_ROOT / "tests" / "eval" / "questions.yml"
TOKEN = "lifecycle-test-token"
COST_QUESTION = "how much does kap cost"


@pytest.fixture(scope="module")
def lifecycle(model_path, worse_candidate_run, settings_for_module):
    """A Rasa server started with the live model and the API on; the registry's model folder
    holds the live model, with the comparison the training worker made kept beside it."""
    run, worse_settings = worse_candidate_run
    settings, _env = settings_for_module
    settings.model_dir.mkdir(parents=True)
    (settings.model_dir / model_path.name).symlink_to(model_path)
    # The comparison the worker stored: publishing the candidate need not evaluate it again.
    shutil.copytree(worse_settings.model_dir / "comparisons", settings.model_dir / "comparisons")
    upgrade(settings.database_url)
    specs = [spec for spec in process_specs(settings, model_path, TOKEN) if spec.name == "rasa"]
    supervisor = Supervisor(specs, child_environment(settings))
    supervisor.start()
    try:
        assert supervisor.wait_until_ready() is None, "the Rasa server did not start"
        yield settings
    finally:
        supervisor.stop()


@pytest.fixture(scope="module")
def settings_for_module(tmp_path_factory):
    from bot.settings import settings_from_env
    from tests.project_copies import copy_project

    folder = tmp_path_factory.mktemp("lifecycle")
    port = free_port()
    env = {
        # Every answer signed off: these tests are about the comparison and the servers.
        "KAPBOT_CONTENT_ROOT": str(copy_project(folder / "project")),
        "KAPBOT_VAR_DIR": str(folder / "var"),
        "MODEL_DIR": str(folder / "models"),
        "DATABASE_URL": f"sqlite:///{folder / 'kapbot.db'}",
        "RASA_PORT": str(port),
        "ACTIONS_PORT": str(free_port()),
        "RASA_API_TOKEN": TOKEN,
    }
    return settings_from_env(env), env


def kapbot(settings_env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **settings_env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def status(settings, token: str | None = TOKEN) -> requests.Response:
    params = {"token": token} if token is not None else {}
    return requests.get(f"{settings.rasa_url}/status", params=params, timeout=10)


def cost_answer() -> str:
    topic = next(t for t in load_content().topics if t.id == WORSE_TOPIC)
    return topic.answer.split(". ")[0]  # its first sentence


def audit_actions(settings) -> list[tuple[str, str, str]]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(row.action, row.target, row.detail or "") for row in rows]


def some_questions(path: Path) -> Path:
    """The held-out questions of the topic the worse candidate lost, and every fourth other one:
    a quarter of the evaluation, the same verdict."""
    items = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    others = [item for item in items if item["topic"] != WORSE_TOPIC]
    chosen = [item for item in items if item["topic"] == WORSE_TOPIC] + others[::4]
    path.write_text(yaml.safe_dump(chosen, allow_unicode=True), encoding="utf-8")
    return path


def test_compare_names_the_topic_the_worse_candidate_lost(
    worse_candidate_run, model_path, tmp_path
):
    run, worse_settings = worse_candidate_run
    questions = some_questions(tmp_path / "questions.yml")
    env = {
        "KAPBOT_VAR_DIR": str(worse_settings.var_dir),
        "MODEL_DIR": str(worse_settings.model_dir),
    }

    result = kapbot(env, "compare", str(model_path), run.candidate, str(questions), "--json")

    assert result.returncode == 1, result.stderr
    comparison = json.loads(result.stdout)
    assert comparison["verdict"]["no_worse"] is False
    assert any(f"Topic {WORSE_TOPIC}:" in reason for reason in comparison["verdict"]["reasons"])
    row = next(row for row in comparison["labels"] if row["label"] == WORSE_TOPIC)
    assert row["live_recall"] >= 0.75 and row["candidate_recall"] <= 0.25
    lost = [c for c in comparison["changed"] if c["expected"] == WORSE_TOPIC]
    assert lost and all(c["change"] == "worse" for c in lost if c["live"] == WORSE_TOPIC)


def test_compare_of_a_missing_or_broken_model_exits_2(worse_candidate_run, model_path, tmp_path):
    run, worse_settings = worse_candidate_run
    env = {
        "KAPBOT_VAR_DIR": str(worse_settings.var_dir),
        "MODEL_DIR": str(worse_settings.model_dir),
    }
    missing = kapbot(env, "compare", str(model_path), str(tmp_path / "no.tar.gz"), str(QUESTIONS))
    assert missing.returncode == 2
    assert "no model file" in missing.stderr
    broken = tmp_path / "broken.tar.gz"
    broken.write_text("not a model")
    corrupt = kapbot(env, "compare", run.candidate, str(broken), str(QUESTIONS))
    assert corrupt.returncode == 2
    assert "not a trained model" in corrupt.stderr


def test_a_candidate_with_answers_no_clinician_approved_is_refused_naming_them(
    lifecycle, worse_candidate_model, model_path, settings_for_module, tmp_path
):
    from tests.project_copies import copy_project

    _settings, env = settings_for_module
    unsigned = copy_project(tmp_path / "unsigned", signed_off=False)
    half = copy_project(tmp_path / "half")
    ledger = half / "content" / "signoffs" / "answers.yml"
    entries = yaml.safe_load(ledger.read_text(encoding="utf-8"))
    del entries["topics"]["bladder"], entries["topics"]["cost"]
    ledger.write_text(yaml.safe_dump(entries), encoding="utf-8")

    for root, named in ((unsigned, {"bladder", "cost", "safety"}), (half, {"bladder", "cost"})):
        result = kapbot(
            {**env, "KAPBOT_CONTENT_ROOT": str(root)}, "publish", str(worse_candidate_model)
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "await a clinician's sign-off" in result.stderr
        listed = set(re.findall(r"^  - (\w+) \(", result.stderr, re.M))
        assert named <= listed
        if root == half:
            assert listed == named
    assert status(lifecycle).json()["model_file"] == model_path.name
    assert not (lifecycle.model_dir / "registry.json").exists()


def test_worse_candidate_is_refused_with_the_reason_and_nothing_changes(
    lifecycle, worse_candidate_model, model_path, settings_for_module
):
    _settings, env = settings_for_module

    result = kapbot(env, "publish", str(worse_candidate_model))

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Topic {WORSE_TOPIC}: recall falls" in result.stderr
    assert "--override" in result.stderr
    assert status(lifecycle).json()["model_file"] == model_path.name
    assert not (lifecycle.model_dir / "registry.json").exists()


def test_the_api_refuses_requests_without_the_token(lifecycle):
    assert status(lifecycle, token=None).status_code in (401, 403)
    assert status(lifecycle, token="wrong").status_code in (401, 403)
    refused = requests.put(
        f"{lifecycle.rasa_url}/model", json={"model_file": "/etc/passwd"}, timeout=10
    )
    assert refused.status_code in (401, 403)


def test_wrong_token_or_broken_model_leave_the_live_model_unchanged(
    lifecycle, worse_candidate_model, model_path, settings_for_module, tmp_path
):
    _settings, env = settings_for_module
    wrong = kapbot(
        {**env, "RASA_API_TOKEN": "wrong"},
        "publish",
        str(worse_candidate_model),
        "--override",
        "test",
    )
    assert wrong.returncode == 3
    assert "refused the API token" in wrong.stderr
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    corrupt = kapbot(env, "publish", str(broken), "--override", "test")
    assert corrupt.returncode == 2
    assert "not a trained model" in corrupt.stderr
    down = kapbot(
        {**env, "RASA_API_URLS": f"http://127.0.0.1:{free_port()}"},
        "publish", str(worse_candidate_model), "--override", "test",
    )  # fmt: skip
    assert down.returncode == 3
    assert "no Rasa server answers" in down.stderr
    assert status(lifecycle).json()["model_file"] == model_path.name
    assert not (lifecycle.model_dir / "registry.json").exists()


def test_when_one_of_several_servers_fails_the_others_go_back_to_the_live_model(
    lifecycle, worse_candidate_model, model_path, settings_for_module
):
    _settings, env = settings_for_module
    down = f"http://127.0.0.1:{free_port()}"
    both = {**env, "RASA_API_URLS": f"{lifecycle.rasa_url},{down}"}

    result = kapbot(both, "publish", str(worse_candidate_model), "--override", "test")

    assert result.returncode == 3
    assert f"no Rasa server answers at {down}" in result.stderr
    assert f"{lifecycle.rasa_url} went back to {model_path.name}" in result.stderr
    assert status(lifecycle).json()["model_file"] == model_path.name
    assert not (lifecycle.model_dir / "registry.json").exists()
    assert kapbot(env, "publish").returncode == 2  # no candidates in this model folder


def test_override_publishes_without_a_restart_then_rollback_restores(
    lifecycle, worse_candidate_model, model_path, settings_for_module
):
    _settings, env = settings_for_module
    assert cost_answer() in say(lifecycle.rasa_url, "before-publish", COST_QUESTION)

    published = kapbot(
        env, "publish", str(worse_candidate_model), "--override", "demo for the test"
    )

    assert published.returncode == 0, published.stderr
    assert status(lifecycle).json()["model_file"] == worse_candidate_model.name
    assert cost_answer() not in say(lifecycle.rasa_url, "after-publish", COST_QUESTION)
    override = [a for a in audit_actions(lifecycle) if a[0] == "model_published_override"]
    assert override and override[-1][1] == worse_candidate_model.name
    assert "demo for the test" in override[-1][2] and WORSE_TOPIC in override[-1][2]

    rolled_back = kapbot(env, "rollback")

    assert rolled_back.returncode == 0, rolled_back.stderr
    assert status(lifecycle).json()["model_file"] == model_path.name
    assert cost_answer() in say(lifecycle.rasa_url, "after-rollback", COST_QUESTION)
    assert ("model_rolled_back", model_path.name, f"replaced {worse_candidate_model.name}") in (
        audit_actions(lifecycle)
    )
    nothing_left = kapbot(env, "rollback")
    assert nothing_left.returncode == 2
    assert "no earlier live model" in nothing_left.stderr
