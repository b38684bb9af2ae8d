"""`rasa train` in a child process, for one candidate model (the data built from the content
root, the model written to the candidates folder, bot/models/registry.py) or for `kapbot train`
(the project's data, into MODEL_DIR), and what its log says as it goes (progress) or when it
fails (the error, in plain words).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings, rasa_project_args

# The worker polls the Rasa log this often for progress.
POLL_SECONDS = 1.0
# Share of the progress bar each phase takes (training is ~85% of the time).
TRAINING_DONE_AT = 85
# The components that take most of the training time, and the words the console shows for them:
# (step text, progress at its first epoch, progress at its last).
SLOW_COMPONENTS = {
    "QuickLoadingDIETClassifier": ("Training the intent classifier", 10, 45),
    "QuickLoadingResponseSelector": ("Training the answer selector", 45, 80),
}
_COMPONENT_STARTED = re.compile(r"Starting to train component '(\w+)'")
_EPOCH = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")
_SAVED_AT = re.compile(r"Your Rasa model is trained and saved at '([^']+)'")

# (percent 0-100, what is happening in plain words)
Report = Callable[[int, str], None]


class TrainingFailed(RuntimeError):
    """Rasa's training ended without a model; the message says why in plain words."""


def worker_environment(settings: Settings) -> dict[str, str]:
    """The worker must see the same folders and database as the process that started it."""
    return {
        **os.environ,
        **settings.process_environment(),
        "KAPBOT_VAR_DIR": str(settings.var_dir),
        "KAPBOT_CONTENT_ROOT": str(settings.content_root),
        "MODEL_DIR": str(settings.model_dir),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONUNBUFFERED": "1",
    }


def progress_from_log(text: str) -> tuple[int, str]:
    """(percent, step) of a Rasa training from its output so far: which component trains and
    its epoch on tqdm's progress bar ("Epochs:  50%|...| 40/80")."""
    percent, step = 5, "Preparing the training data"
    component = None
    # tqdm redraws its bar with carriage returns; every redraw is a line here. The last line
    # may still be being written ("| 4" of "| 40/80"): only whole lines count.
    lines = re.split(r"[\r\n]+", text)
    for line in lines[:-1]:
        started = _COMPONENT_STARTED.search(line)
        if started:
            component = started.group(1)
            if component in SLOW_COMPONENTS:
                words, low, _high = SLOW_COMPONENTS[component]
                percent, step = low, words
            else:
                step = f"Training {component}"
            continue
        epoch = _EPOCH.search(line)
        if epoch and component in SLOW_COMPONENTS:
            total = int(epoch.group(2))
            done = min(int(epoch.group(1)), total)
            words, low, high = SLOW_COMPONENTS[component]
            percent = low + round((high - low) * done / max(total, 1))
            step = f"{words}, epoch {done} of {total}"
        elif "Your Rasa model is trained and saved at" in line:
            percent, step = TRAINING_DONE_AT, "Saving the model"
    return percent, step


_ERROR_LINE = re.compile(r"(Error|Exception)\b.*?:\s*(.+)")


def plain_failure(text: str) -> str:
    """What went wrong in a failed Rasa training, for an editor: the last error line of the log
    without the traceback around it."""
    found = None
    for line in re.split(r"[\r\n]+", text):
        line = line.strip()
        match = _ERROR_LINE.search(line)
        if match and not line.startswith(("File ", "Traceback")):
            found = line
    lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]
    detail = found or (lines[-1] if lines else "no output")
    detail = re.sub(r"^\S*(Error|Exception):\s*", "", detail)
    detail = re.sub(r"^[\w.]*(rasa|bot)\.[\w.]+\s+-\s+", "", detail)
    return f"The training failed: {detail[:500]}"


def train_candidate(settings: Settings, run_id: str, log_path: Path, report: Report) -> Path:
    """Trains the candidate model `<run_id>.tar.gz` on the content root's data, appending Rasa's
    output to `log_path` and reporting progress read from it; raises TrainingFailed."""
    from bot.content.build import build
    from bot.models.registry import candidates_dir
    from bot.nlu.spacy_pipeline import build_spacy_pipeline, pipeline_is_built

    root = settings.content_root
    build(root / "content", root / "bot" / "data" / "responses.yml")
    if not pipeline_is_built():
        build_spacy_pipeline()
    out = candidates_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    # The data from the content root; the code (custom components, the spaCy pipeline that
    # config.yml names relative to the project) from this project, where Rasa runs.
    command = [sys.executable, "-m", "rasa", "train", *rasa_project_args(root)]
    command += ["--out", str(out), "--fixed-model-name", run_id]
    returncode, output = _run_logged(
        command, settings, log_path, lambda text: report(*progress_from_log(text))
    )
    model = out / f"{run_id}.tar.gz"
    if returncode != 0 or not model.is_file():
        raise TrainingFailed(plain_failure(output))
    return model


def train_model(
    settings: Settings, log_path: Path, watch: Callable[[str], None], force: bool = False
) -> Path:
    """`kapbot train`: trains a model into MODEL_DIR on the project's data, writing Rasa's
    output to `log_path` (a fresh one) and passing the output so far to `watch` every
    POLL_SECONDS; returns the model, raises TrainingFailed."""
    out = settings.model_dir
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "rasa", "train", *rasa_project_args(), "--out", str(out)]
    if force:
        command.append("--force")
    log_path.write_bytes(b"")
    returncode, output = _run_logged(command, settings, log_path, watch)
    saved = _SAVED_AT.search(output)
    if returncode != 0 or saved is None or not Path(saved.group(1)).is_file():
        raise TrainingFailed(plain_failure(output))
    return Path(saved.group(1))


def _run_logged(
    command: list[str], settings: Settings, log_path: Path, watch: Callable[[str], None]
) -> tuple[int, str]:
    """Runs `rasa train` appending its output to `log_path`; (exit code, its output)."""
    start = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log:
        training = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            # INFO: the "Starting to train component" lines tell which part is training.
            env={**worker_environment(settings), "LOG_LEVEL": "INFO"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        while training.poll() is None:
            time.sleep(POLL_SECONDS)
            watch(_read_log(log_path, start))
    return training.returncode, _read_log(log_path, start)


def _read_log(path: Path, start: int) -> str:
    with open(path, "rb") as log:
        log.seek(start)
        return log.read().decode("utf-8", errors="replace")
