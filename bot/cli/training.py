"""What `kapbot train` shows while Rasa trains: one progress bar for the whole training (a line
per stage instead when the output is not a terminal), Rasa's warnings that an operator must act
on, once each (bot/models/rasa_output.py), and the model it saved. Rasa's full output goes to
var/log/train.log; when the training fails, its last lines are shown and the log named."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import click

from bot.settings import get_settings, shown_path

TAIL_LINES = 30
_BAR_FORMAT = "  {percentage:3.0f}%|{bar}| {elapsed}  {desc}"


class TrainingView:
    """The terminal's view of one training, given Rasa's output so far by `watch`."""

    def __init__(self, interactive: bool) -> None:
        from tqdm import tqdm

        from bot.models.rasa_output import OutputFilter

        self.warnings = OutputFilter(others=False)
        self.read = 0  # how much of the output the warnings were looked for in
        self.stage = ""
        self.bar = tqdm(
            total=100,
            file=sys.stdout,
            bar_format=_BAR_FORMAT,
            # Some terminals (a pty without a size) say 0: tqdm would then draw nothing.
            ncols=shutil.get_terminal_size().columns or 80,
            nrows=shutil.get_terminal_size().lines or 24,
            disable=not interactive,
        )

    def watch(self, output: str) -> None:
        from bot.models.rasa_training import progress_from_log

        self._show_warnings(output)
        self._show_progress(*progress_from_log(output))

    def finish(self, output: str, trained: bool) -> None:
        """Shows the rest of the output (Rasa's last line may lack its newline)."""
        from bot.models.rasa_training import progress_from_log

        self._show_warnings(output + "\n")
        for line in self.warnings.close():
            self.bar.write(line, file=sys.stdout)
        self._show_progress(*progress_from_log(output + "\n"))
        if trained:
            self._show_progress(100, "Trained")
        self.bar.close()

    def _show_warnings(self, output: str) -> None:
        # Only whole lines: the last one may still be being written.
        end = max(output.rfind("\n"), output.rfind("\r")) + 1
        if end <= self.read:
            return
        for line in re.split(r"[\r\n]+", output[self.read : end])[:-1]:
            for shown in self.warnings.feed(line):
                self.bar.write(shown, file=sys.stdout)
        self.read = end

    def _show_progress(self, percent: int, step: str) -> None:
        stage = step.split(", epoch")[0]
        if self.bar.disable:
            if stage != self.stage:
                click.echo(f"  {percent:3d}%  {stage}")
        else:
            self.bar.n = percent
            self.bar.set_description_str(step, refresh=False)
            self.bar.refresh()
        self.stage = stage


def train_live_model(force: bool) -> int:
    """Trains a model into MODEL_DIR with the view above: 0 when trained, 1 when not."""
    from bot.files.local_secrets import private_directory
    from bot.models.rasa_training import TrainingFailed, train_model

    settings = get_settings()
    private_directory(settings.var_dir)
    log_path = settings.var_dir / "log" / "train.log"
    log_path.parent.mkdir(exist_ok=True)
    click.echo(
        f"Training the model, about 3 minutes on 2 cores (Rasa's output: {shown_path(log_path)})"
    )
    view = TrainingView(interactive=sys.stdout.isatty())
    try:
        model = train_model(settings, log_path, view.watch, force=force)
    except TrainingFailed as failure:
        view.finish(_read(log_path), trained=False)
        _show_failure(log_path, str(failure))
        return 1
    view.finish(_read(log_path), trained=True)
    click.echo(f"model: {shown_path(model)}")
    return 0


def _read(path: Path) -> str:
    # As bytes: reading text would turn tqdm's carriage returns into newlines.
    return path.read_bytes().decode("utf-8", errors="replace")


def _show_failure(log_path: Path, failure: str) -> None:
    from bot.models.rasa_output import log_tail

    click.echo(f"--- the last lines of {shown_path(log_path)} ---", err=True)
    for line in log_tail(_read(log_path), TAIL_LINES):
        click.echo(line, err=True)
    click.echo(f"error: {failure} (Rasa's whole output: {shown_path(log_path)})", err=True)
