"""`make run` stays readable (issue 15): one line per set-up step, one progress bar for the
training, and of what Rasa and its dependencies print only what an operator must act on. The
outputs below are cut from real ones (`rasa train` on a story with an intent the domain lacks,
`kapbot serve`'s start-up), shortened where a line was long."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from bot.cli.training import TrainingView, train_live_model
from bot.models.rasa_output import OutputFilter, log_tail, needs_acting_on
from bot.ops.child_output import OWN_LOGGERS, ServeLog, relay_output
from bot.settings import PROJECT_ROOT

SITE = "/srv/kapbot/.venv/lib/python3.10/site-packages"
RASA_WARNING = f"\x1b[93m{SITE}/rasa/shared/utils/io.py:100: UserWarning: "
EPOCHS = "\r".join(
    f"Epochs:  {n * 100 // 80:2d}%|▏         | {n}/80 [00:0{n}<05:24,  4.10s/it, t_loss=4.44]"
    for n in range(0, 81, 20)
)

TRAINING_OUTPUT = "\n".join(
    [
        f"{SITE}/rasa/core/tracker_store.py:1044: MovedIn20Warning: Deprecated API features "
        "detected! These feature(s) are not compatible with SQLAlchemy 2.0.",
        "  Base: DeclarativeMeta = declarative_base()",
        f"{SITE}/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call to "
        "`pkg_resources.declare_namespace('ruamel')`.",
        "Implementing implicit namespace packages (as specified in PEP 420) is preferred to "
        "`pkg_resources.declare_namespace`.",
        "  declare_namespace(pkg)",
        "2026-12-07 12:36:43 INFO     rasa.cli.train  - Started validating domain and training "
        "data...",
        f"{RASA_WARNING}Issue found in 'bot/data/rules.yml': ",
        "Found intent 'faq' in stories which is not part of the domain.",
        "  More info at https://rasa.com/docs/rasa/stories",
        f"\x1b[0m{RASA_WARNING}Issue found in 'bot/data/stories.yml': ",
        "Found intent 'ask_parking' in stories which is not part of the domain.",
        "  More info at https://rasa.com/docs/rasa/stories",
        "\x1b[0m2026-12-07 13:02:08 INFO     rasa.validator  - Validating intents...",
        f"{RASA_WARNING}The intent 'other_language' is listed in the domain file, but is not "
        "found in the NLU training data.",
        f"\x1b[0m{RASA_WARNING}The utterance 'utter_ask_booking_name' is not used in any story "
        "or rule.",
        "\x1b[0mProcessed story blocks:   0%|          | 0/9 [00:00<?, ?it/s]\rProcessed story "
        "blocks: 100%|██████████| 9/9 [00:00<00:00, 973.43it/s]",
        f"{SITE}/matplotlib/fontconfig_pattern.py:66: PyparsingDeprecationWarning: "
        "'setParseAction' deprecated - use 'set_parse_action'",
        "  ).setParseAction(self._family)",
        # The same data problem again: Rasa checks the stories twice.
        f"{RASA_WARNING}Issue found in 'bot/data/stories.yml': ",
        "Found intent 'ask_parking' in stories which is not part of the domain.",
        "  More info at https://rasa.com/docs/rasa/stories",
        "\x1b[0m2026-12-07 12:37:19 INFO     rasa.engine.training.hooks  - Starting to train "
        "component 'QuickLoadingDIETClassifier'.",
        EPOCHS,
        "2026-12-07 12:38:54 INFO     rasa.engine.training.hooks  - Starting to train "
        "component 'QuickLoadingResponseSelector'.",
        EPOCHS,
        "2026-12-07 12:41:07 INFO     rasa.engine.training.hooks  - Starting to train "
        "component 'RulePolicy'.",
        "\x1b[92mYour Rasa model is trained and saved at 'var/models/20261207.tar.gz'.\x1b[0m",
        "",
    ]
)
ACTIONABLE = (
    "warning: Issue found in 'bot/data/stories.yml': Found intent 'ask_parking' in stories "
    "which is not part of the domain. (https://rasa.com/docs/rasa/stories)"
)


def _filtered(text: str, **options) -> list[str]:
    shown = OutputFilter(**options)
    lines = [line for piece in re.split(r"[\r\n]+", text) for line in shown.feed(piece)]
    return lines + shown.close()


def test_training_output_keeps_only_the_data_problem_once():
    assert _filtered(TRAINING_OUTPUT, others=False) == [ACTIONABLE]


def test_the_expected_warnings_have_their_reasons():
    # The known ones are dropped; the same kind about another intent is not.
    rasa = f"{SITE}/rasa/shared/utils/io.py"
    faq = "Found intent 'faq' in stories which is not part of the domain."
    assert not needs_acting_on("UserWarning", rasa, faq)
    assert needs_acting_on("UserWarning", rasa, faq.replace("'faq'", "'faqs'"))
    other = "The intent 'greet' is listed in the domain file, but is not found in the NLU data"
    assert needs_acting_on("UserWarning", rasa, other)
    # config.yml's ResponseSelector is a subclass, which Rasa's recipe check does not count.
    selector = (
        "You have defined training data with examples for training a response selector, but "
        "your NLU configuration does not include a response selector component."
    )
    assert not needs_acting_on("UserWarning", rasa, selector)


@pytest.mark.parametrize(
    ("category", "path", "shown"),
    [
        ("DeprecationWarning", f"{SITE}/rasa/shared/utils/validation.py", False),
        ("FutureWarning", f"{SITE}/rasa/utils/train_utils.py", False),
        ("MovedIn20Warning", f"{SITE}/rasa/core/tracker_store.py", False),
        ("UserWarning", f"{SITE}/sklearn/base.py", False),  # a dependency's
        ("UserWarning", f"{SITE}/rasa/shared/utils/io.py", True),
        ("UserWarning", "/srv/kapbot/bot/nlu/components.py", True),  # the project's own
        ("RuntimeWarning", "/usr/lib/python3.10/asyncio/events.py", True),
    ],
)
def test_which_warnings_need_acting_on(category, path, shown):
    assert needs_acting_on(category, path, "something") is shown


SERVE_OUTPUT = [
    f"{SITE}/sanic_cors/extension.py:39: DeprecationWarning: distutils Version classes are "
    "deprecated. Use packaging.version instead.",
    "  SANIC_VERSION = LooseVersion(sanic_version)",
    "2026-12-07 12:56:26 INFO     rasa_sdk.executor  - Registered function for "
    "'action_ask_booking_slot'.",
    "2026-12-07 12:56:26 INFO     rasa_sdk.endpoint  - Action endpoint is up and running on "
    "http://127.0.0.1:6155",
    "INFO waitress: Serving on http://127.0.0.1:6180",
    "2026-12-07 12:58:01 INFO     bot.stores.tracker_store  - Crisis message recorded in urgent "
    "handoff H-123",
    "2026-12-07 12:58:02 ERROR    rasa.core.processor  - Encountered an exception while running "
    "action 'action_submit_handoff'.",
    "Traceback (most recent call last):",
    '  File "/srv/kapbot/actions/handoff.py", line 80, in run',
    "ConnectionError: the database is down",
]


def test_serve_shows_errors_and_own_lines_and_logs_everything(tmp_path, capsys):
    log = ServeLog(tmp_path / "serve.log")
    relay_output("actions", io.StringIO("".join(f"{line}\n" for line in SERVE_OUTPUT)), log)
    log.close()
    shown = capsys.readouterr().out.splitlines()
    assert shown == [f"[actions] {line}" for line in SERVE_OUTPUT[5:]]
    logged = (tmp_path / "serve.log").read_text().splitlines()
    assert logged[1:] == [f"[actions] {line}" for line in SERVE_OUTPUT]


def test_serve_log_keeps_the_previous_run(tmp_path):
    ServeLog(tmp_path / "serve.log").close()
    (tmp_path / "serve.log").write_text("the first run\n")
    ServeLog(tmp_path / "serve.log").close()
    assert (tmp_path / "serve.log.1").read_text() == "the first run\n"


def test_serve_filter_shows_own_info_lines_only():
    lines = _filtered("\n".join(SERVE_OUTPUT[:6]), others=True, info_from=OWN_LOGGERS)
    assert lines == [SERVE_OUTPUT[5]]


def _watch_in_pieces(view: TrainingView, text: str) -> None:
    # Pieces that cut lines anywhere, and each line's end as a piece's end too: a stage shown
    # for seconds in a real training must not depend on where a piece happens to end.
    line_ends = {index + 1 for index, char in enumerate(text) if char == "\n"}
    for end in sorted(set(range(0, len(text), 97)) | line_ends):
        view.watch(text[:end])
    view.finish(text, trained=True)


def test_training_without_a_terminal_prints_a_line_per_stage(capsys):
    _watch_in_pieces(TrainingView(interactive=False), TRAINING_OUTPUT)
    assert capsys.readouterr().out.splitlines() == [
        "    5%  Preparing the training data",
        ACTIONABLE,
        "   10%  Training the intent classifier",
        "   45%  Training the answer selector",
        "   80%  Training RulePolicy",
        "   85%  Saving the model",
        "  100%  Trained",
    ]


def test_training_on_a_terminal_is_one_bar(capsys):
    _watch_in_pieces(TrainingView(interactive=True), TRAINING_OUTPUT)
    out = capsys.readouterr().out
    # The warning on a line of its own, then the bar, redrawn in place, ending at 100%.
    assert out.count("\n") == 2
    assert ACTIONABLE in out
    assert re.search(r"100%\|█+\| \d\d:\d\d  Trained\s*$", out.split("\r")[-1])


def test_a_failed_training_shows_the_last_lines_as_a_terminal_would():
    tail = log_tail(TRAINING_OUTPUT + "rasa.shared.exceptions.RasaException: bad data\n", 3)
    assert tail == [
        "2026-12-07 12:41:07 INFO     rasa.engine.training.hooks  - Starting to train "
        "component 'RulePolicy'.",
        "Your Rasa model is trained and saved at 'var/models/20261207.tar.gz'.",
        "rasa.shared.exceptions.RasaException: bad data",
    ]
    assert log_tail(EPOCHS) == [EPOCHS.split("\r")[-1]]


def _fake_training(text: str, model: Path | None):
    from bot.models.rasa_training import TrainingFailed

    def train_model(settings, log_path, watch, force=False) -> Path:
        log_path.write_text(text)
        watch(text)
        if model is None:
            raise TrainingFailed("The training failed: bad data")
        return model

    return train_model


def test_kapbot_train_prints_a_line_per_step(environment, monkeypatch, tmp_path, capsys):
    from bot.models import rasa_training

    environment(KAPBOT_VAR_DIR=str(tmp_path / "var"))
    model = tmp_path / "models" / "20261207.tar.gz"
    monkeypatch.setattr(rasa_training, "train_model", _fake_training(TRAINING_OUTPUT, model))
    assert train_live_model(force=False) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(f"(Rasa's output: {tmp_path}/var/log/train.log)")
    assert lines[1:3] == [ACTIONABLE, "   85%  Saving the model"]
    assert lines[3:] == ["  100%  Trained", f"model: {model}"]


def test_a_failed_training_shows_the_end_of_its_log(environment, monkeypatch, tmp_path, capsys):
    from bot.models import rasa_training

    environment(KAPBOT_VAR_DIR=str(tmp_path / "var"))
    text = TRAINING_OUTPUT + "rasa.shared.exceptions.RasaException: bad data\n"
    monkeypatch.setattr(rasa_training, "train_model", _fake_training(text, None))
    assert train_live_model(force=False) == 1
    log = tmp_path / "var" / "log" / "train.log"
    errors = capsys.readouterr().err.splitlines()
    assert errors[0] == f"--- the last lines of {log} ---"
    assert errors[1:-1] == log_tail(text, 30)
    assert errors[-1] == f"error: The training failed: bad data (Rasa's whole output: {log})"


# A stand-in for .venv/bin/python that answers setup-venv.sh's questions and plays a noisy
# installer (`-m uv pip install -r requirements.lock`).
FAKE_PYTHON = """#!/usr/bin/env bash
case "$1" in
  --version) echo "Python 3.10.13" ;;
  -c) case "$2" in *importlib*) echo "3.6.21" ;; esac ;;
  -m)
    shift 2
    case "$*" in
      check*) echo "No broken requirements found." ;;
      *requirements.lock*)
        for i in $(seq 1 300); do
          echo "Collecting package$i==1.0"
          echo "WARNING: Location 'file:///opt/pypi/simple/package$i/' is ignored" >&2
        done
        if [ -n "$FAIL_PIP" ]; then
          echo "ERROR: No matching distribution found for package301==1.0" >&2; exit 1
        fi ;;
      *) echo "Processing $*" ;;
    esac ;;
esac
"""


def _run_setup(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "scripts").mkdir()
    shutil.copy(PROJECT_ROOT / "scripts" / "setup-venv.sh", tmp_path / "scripts")
    (tmp_path / "requirements.lock").write_text("uv==0.13.10\nrasa==3.6.21\n")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return subprocess.run(
        ["bash", str(tmp_path / "scripts" / "setup-venv.sh")],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )


def test_setup_prints_one_line_per_step_and_logs_pip(tmp_path):
    done = _run_setup(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line[:4] for line in lines] == ["==> "] * 3
    assert lines[-1] == "==> .venv ready: Python 3.10.13, rasa 3.6.21"
    assert done.stderr == ""
    log = (tmp_path / "var" / "log" / "setup-pip.log").read_text()
    assert "Collecting package300==1.0" in log and "is ignored" in log


def test_a_failing_pip_shows_the_end_of_its_log(tmp_path):
    done = _run_setup(tmp_path, FAIL_PIP="1")
    assert done.returncode != 0
    assert len(done.stdout.splitlines()) == 1  # the step that failed
    errors = done.stderr.splitlines()
    assert "ERROR: No matching distribution found for package301==1.0" in errors
    assert len(errors) == 32  # a heading, 30 lines of the log, the error
    assert errors[-1].startswith(
        "error: uv pip install --python .venv/bin/python --compile-bytecode -r requirements.lock"
        " failed"
    )
    assert errors[-1].endswith("(whole output: var/log/setup-pip.log)")
