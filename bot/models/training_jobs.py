"""Training a candidate model in the background, one at a time, for the staff console.

A run is a folder `var/training/<id>/` holding `status.json` and the training log. The web app
starts a detached worker process (`kapbot train --candidate --run-id ID`) and only reads the
folder afterwards, so a run survives a restart of the web app; a run whose worker died without
finishing is reported as failed. The worker trains a candidate (bot/models/rasa_training.py)
into the candidates folder, then compares it with the live model on the evaluation set
(bot/models/comparison.py) and writes the comparison and its confusion matrices next to the log.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.files.atomic import write_atomically
from bot.files.file_lock import exclusive_lock
from bot.models.rasa_training import (
    TRAINING_DONE_AT,
    Report,
    TrainingFailed,
    train_candidate,
    worker_environment,
)
from bot.settings import PROJECT_ROOT, Settings, get_settings

ACTIVE_STATES = ("training", "evaluating")


class TrainingAlreadyRunning(RuntimeError):
    """Only one training runs at a time; `run` is the one running."""

    def __init__(self, run: TrainingRun) -> None:
        super().__init__(
            f"a training is already running (started by {run.actor} at {run.started_at}, "
            f"{run.progress}%: {run.step})"
        )
        self.run = run


class NoSuchRun(LookupError):
    pass


@dataclass
class TrainingRun:
    id: str
    actor: str
    state: str  # training, evaluating, done, failed
    progress: int  # 0-100
    step: str  # what is happening, in plain words
    started_at: str
    finished_at: str | None = None
    pid: int | None = None
    pid_started: str | None = None  # the worker's start time, telling it from a reused pid
    candidate: str | None = None
    compare_with: str | None = None  # None: the live model when the evaluation starts
    questions: str = ""  # a question file; "" for the publish gate's (bot/models/comparison.py)
    comparison: str | None = None  # comparison.json
    confusion: dict[str, str] = field(default_factory=dict)  # side -> PNG
    no_worse: bool | None = None
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    log: str = ""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def to_dict(self) -> dict:
        return asdict(self)


def runs_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).var_dir / "training"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _status_path(settings: Settings, run_id: str) -> Path:
    if not re.fullmatch(r"[0-9A-Za-z-]+", run_id or ""):
        raise NoSuchRun(f"no training run {run_id!r}")
    return runs_dir(settings) / run_id / "status.json"


def _write(settings: Settings, run: TrainingRun) -> None:
    path = _status_path(settings, run.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(run.to_dict(), indent=2))  # never half a status


def _read(settings: Settings, run_id: str) -> TrainingRun:
    path = _status_path(settings, run_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NoSuchRun(f"no training run {run_id!r}") from None
    known = {name for name in TrainingRun.__dataclass_fields__}
    return TrainingRun(**{name: value for name, value in data.items() if name in known})


# Worker processes this process started, polled so that finished ones do not linger as zombies.
_children: dict[str, subprocess.Popen] = {}


def _process_started(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot), or None if it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def _worker_alive(run: TrainingRun) -> bool:
    child = _children.get(run.id)
    if child is not None:
        child.poll()  # reaps it once finished, so it does not linger as a zombie
    if not run.pid:
        return False
    # The pid may belong to another process by now: its start time must be the worker's.
    return _process_started(run.pid) == run.pid_started


def get_run(run_id: str, settings: Settings | None = None) -> TrainingRun:
    """The run's state as on disk; an active run whose worker is gone is reported failed."""
    settings = settings or get_settings()
    run = _read(settings, run_id)
    if run.active and not _worker_alive(run):
        run = _read(settings, run_id)  # it may have finished just now
        if run.active:
            run.state = "failed"
            run.error = (
                "The training process stopped before finishing (the machine or the web app may "
                "have restarted, or it ran out of memory). Start the training again."
            )
            run.finished_at = run.finished_at or _now()
            _write(settings, run)
    return run


def list_runs(settings: Settings | None = None) -> list[TrainingRun]:
    """All runs, newest first."""
    settings = settings or get_settings()
    folder = runs_dir(settings)
    ids = sorted((p.parent.name for p in folder.glob("*/status.json")), reverse=True)
    return [get_run(run_id, settings) for run_id in ids]


def current_run(settings: Settings | None = None) -> TrainingRun | None:
    """The run in progress, if any."""
    return next((run for run in list_runs(settings) if run.active), None)


def _new_run(
    settings: Settings, actor: str, questions: Path | None, compare_with: Path | None
) -> TrainingRun:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_id = f"{stamp}-{secrets.token_hex(2)}"
    run = TrainingRun(
        id=run_id,
        actor=actor,
        state="training",
        progress=0,
        step="Starting",
        started_at=_now(),
        questions=str(Path(questions).resolve()) if questions else "",
        compare_with=str(Path(compare_with).resolve()) if compare_with else None,
        log=str(runs_dir(settings) / run_id / "training.log"),
    )
    _write(settings, run)
    return run


def _audit(settings: Settings, actor: str, action: str, target: str, detail: str = "") -> None:
    from bot.db.session import session_scope
    from bot.desk import audit

    with session_scope(settings.database_url) as session:
        audit.record(session, actor, action, target=target, detail=detail or None)


def start_training(
    actor: str,
    *,
    settings: Settings | None = None,
    questions: Path | None = None,
    compare_with: Path | None = None,
) -> TrainingRun:
    """Starts a background training of a candidate model on the training data in
    `settings.content_root` (what the content editor changes); raises TrainingAlreadyRunning."""
    settings = settings or get_settings()

    def launch(run: TrainingRun) -> int:
        with open(run.log, "ab") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "train", "--candidate", "--run-id", run.id],
                cwd=PROJECT_ROOT,
                env=worker_environment(settings),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not stopped by a Ctrl-C meant for the web app
            )
        _children[run.id] = child
        return child.pid

    return _register(settings, actor, questions, compare_with, launch)


def create_foreground_run(
    actor: str,
    *,
    settings: Settings | None = None,
    questions: Path | None = None,
    compare_with: Path | None = None,
) -> TrainingRun:
    """A run for `kapbot train --candidate` in this process (the console shows it too)."""
    settings = settings or get_settings()
    return _register(settings, actor, questions, compare_with, lambda run: os.getpid())


def _register(settings, actor, questions, compare_with, launch) -> TrainingRun:
    """Creates the run if none is active, and starts its worker with `launch` (-> its pid)."""
    with exclusive_lock(runs_dir(settings) / ".start.lock"):
        running = current_run(settings)
        if running is not None:
            raise TrainingAlreadyRunning(running)
        run = _new_run(settings, actor, questions, compare_with)
        try:  # recorded before the worker starts, so it comes before the worker's own entry
            _audit(settings, actor, "training_started", run.id)
        except Exception:
            error = "The training was not started: the audit log could not be written."
            _update(settings, run, state="failed", error=error, finished_at=_now())
            raise
        run.pid = launch(run)
        run.pid_started = _process_started(run.pid)
        _write(settings, run)
    return run


# --- The worker -------------------------------------------------------------------------------


def _update(settings: Settings, run: TrainingRun, **changes) -> TrainingRun:
    for name, value in changes.items():
        setattr(run, name, value)
    _write(settings, run)
    return run


def _reporter(settings: Settings, run: TrainingRun, echo) -> Report:
    """Records progress on the run and echoes it, when it changed."""

    def report(percent: int, step: str) -> None:
        if (percent, step) != (run.progress, run.step):
            _update(settings, run, progress=percent, step=step)
            echo(f"{percent:3d}%  {step}")

    return report


def _train_candidate(settings: Settings, run: TrainingRun, echo) -> Path:
    _update(settings, run, step="Preparing the training data", progress=2)
    return train_candidate(settings, run.id, Path(run.log), _reporter(settings, run, echo))


def _evaluate_candidate(settings: Settings, run: TrainingRun, candidate: Path, echo) -> None:
    from bot.models.comparison import (
        GATE_SPLIT,
        compare_models,
        gate_questions,
        remember,
        save_comparison,
        write_confusion_png,
    )
    from bot.models.evaluation import QuestionSet
    from bot.models.store import live_model

    live = Path(run.compare_with) if run.compare_with else live_model(settings)
    _update(settings, run, state="evaluating", compare_with=str(live))

    report = _reporter(settings, run, echo)

    def progress(fraction: float, step: str) -> None:
        report(TRAINING_DONE_AT + int((99 - TRAINING_DONE_AT) * fraction), step)

    # The console shows the questions that changed answer: only ever a dev split (never test).
    questions = (
        QuestionSet((Path(run.questions),), GATE_SPLIT) if run.questions else gate_questions()
    )
    comparison = compare_models(live, candidate, questions, progress=progress)
    folder = Path(run.log).parent
    save_comparison(comparison, folder / "comparison.json")
    remember(comparison, settings)  # publishing this candidate needs no second evaluation
    confusion = {
        side: str(write_confusion_png(comparison, side, folder / f"confusion-{side}.png"))
        for side in ("live", "candidate")
    }
    _update(
        settings,
        run,
        comparison=str(folder / "comparison.json"),
        confusion=confusion,
        no_worse=comparison.verdict.no_worse,
        reasons=comparison.verdict.reasons,
    )


def execute(run_id: str, *, settings: Settings | None = None, echo=print) -> TrainingRun:
    """The worker: trains the candidate of run `run_id`, then compares it with the live model.
    Never raises for a failed training: the run ends as failed with the reason in plain words."""
    from bot.content.model import ContentError
    from bot.models.evaluation import QuestionFileError
    from bot.models.store import NoModelError

    settings = settings or get_settings()
    run = _read(settings, run_id)
    _update(settings, run, pid=os.getpid(), pid_started=_process_started(os.getpid()))
    try:
        candidate = _train_candidate(settings, run, echo)
        _update(settings, run, candidate=str(candidate), progress=TRAINING_DONE_AT)
        _evaluate_candidate(settings, run, candidate, echo)
    except ContentError as error:
        failure = "The content has problems: " + "; ".join(error.problems)
    except (TrainingFailed, QuestionFileError, NoModelError) as error:
        failure = str(error)
    except Exception as error:  # noqa: BLE001 - whatever it is, the console must say it
        failure = f"The training failed unexpectedly: {type(error).__name__}: {error}"
    else:
        failure = None
    verdict = "" if run.no_worse is None else ("no worse" if run.no_worse else "worse")
    try:  # before the final state, so whoever sees the run finished also finds its audit entry
        _audit(
            settings,
            run.actor,
            "training_finished" if not failure else "training_failed",
            run.id,
            failure or f"candidate {Path(run.candidate).name}: {verdict} than the live model",
        )
    except Exception as error:  # noqa: BLE001 - the run's own record matters more
        echo(f"warning: the audit log could not be written: {error}")
    if failure:
        _update(settings, run, state="failed", error=failure, finished_at=_now())
        echo(failure)
    else:
        _update(settings, run, state="done", progress=100, step="Done", finished_at=_now())
    return run
