"""What Rasa and its dependencies print, sorted for an operator's terminal (`kapbot train`,
`kapbot serve`): the warnings an operator must act on, once each, and errors; not the
dependencies' deprecation warnings, the warnings this project expects, Rasa's INFO log lines or
tqdm's progress bars. Whatever is dropped here is still in the log file the command names.
"""

from __future__ import annotations

import re

from bot.content.rasa_check import ANSI_CODE, is_expected_warning

# Python's warnings: "/path/module.py:12: SomeWarning: message", then the message's further
# lines and an indented source line (Rasa puts "  More info at <docs>" there instead).
_WARNING = re.compile(r"^(?P<path>\S+?\.py):(?P<line>\d+): (?P<category>\w+): ?(?P<message>.*)$")
# Rasa's log lines ("2026-12-07 12:36:47 INFO     rasa.validator  - ...") and the web app's
# ("INFO waitress: ...", bot/web/serve.py).
_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?\s+(?P<level>[A-Z]+)\s+(?P<logger>[\w.]+)\s+- "
)
_SHORT_LOG_LINE = re.compile(r"^(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>[\w.]+): ")
# tqdm's bars: "Epochs:  50%|...", "Processed actions: 0it [00:00, ...]".
_PROGRESS_BAR = re.compile(r"^[\w #]+:\s+(\d+%\||\d+it \[)")
_ERROR_START = re.compile(r"^(Traceback \(most recent call last\):|[\w.]*(Error|Exception)\b)")
_DEPRECATION = re.compile(r"(Deprecation|Future|(Moved|Removed)In\d+)Warning$")
_RASA_CODE = re.compile(r"/site-packages/(rasa|rasa_sdk)/")
_DEPENDENCY_CODE = re.compile(r"/(site|dist)-packages/")
_LOUD_LEVELS = ("WARNING", "ERROR", "CRITICAL")


def clean(line: str) -> str:
    return ANSI_CODE.sub("", line).rstrip()


def _starts_record(line: str) -> bool:
    return any(
        pattern.match(line)
        for pattern in (_WARNING, _LOG_LINE, _SHORT_LOG_LINE, _PROGRESS_BAR, _ERROR_START)
    )


def needs_acting_on(category: str, path: str, message: str) -> bool:
    """Whether a Python warning is for the operator: none of the deprecation kinds, none from
    a dependency other than Rasa, none of the ones the project expects
    (bot/content/rasa_check.py's EXPECTED_RASA_WARNINGS)."""
    if _DEPRECATION.search(category):
        return False
    if not _DEPENDENCY_CODE.search(path):
        return True  # this project's own code, or the standard library's
    if not _RASA_CODE.search(path):
        return False
    return not is_expected_warning(message)


class OutputFilter:
    """Sorts one process's output line by line: `feed` returns the lines to show for a line
    (a warning only once it is whole, as one line: "warning: ..."), `close` those still held.

    `others`: whether to show the lines of no kind known here (a traceback's, a message
    printed by hand); `info_from`: the loggers whose INFO lines are shown (WARNING and above
    always are)."""

    def __init__(self, *, others: bool, info_from: tuple[str, ...] = ()) -> None:
        self.others = others
        self.info_from = info_from
        self._warning: list[str] = []
        self._seen: set[str] = set()

    def feed(self, line: str) -> list[str]:
        text = clean(line)
        shown: list[str] = []
        if self._warning:
            if not text:
                return []  # a blank line: the warning may go on
            if not _starts_record(text):
                self._warning.append(text)
                # The indented line (source line, Rasa's "More info at") is a warning's last.
                return self._end_warning() if text[0].isspace() else []
            shown = self._end_warning()
        if not text or _PROGRESS_BAR.match(text):
            return shown
        if _WARNING.match(text):
            self._warning = [text]
            return shown
        log = _LOG_LINE.match(text) or _SHORT_LOG_LINE.match(text)
        if log:
            if log["level"] in _LOUD_LEVELS or log["logger"].startswith(self.info_from):
                shown.append(text)
            return shown
        if self.others:
            shown.append(line.rstrip("\r\n"))
        return shown

    def close(self) -> list[str]:
        return self._end_warning() if self._warning else []

    def _end_warning(self) -> list[str]:
        lines, self._warning = self._warning, []
        header = _WARNING.match(lines[0])
        more = [line.strip() for line in lines[1:]]
        words = [header["message"].strip()]
        words += [line for line, raw in zip(more, lines[1:], strict=True) if not raw[0].isspace()]
        message = " ".join(word for word in words if word)
        if not needs_acting_on(header["category"], header["path"], message):
            return []
        if message in self._seen:
            return []
        self._seen.add(message)
        docs = [line[len("More info at ") :] for line in more if line.startswith("More info at ")]
        if _DEPENDENCY_CODE.search(header["path"]):
            where = f" ({docs[0]})" if docs else ""
        else:
            where = f" ({header['path']}:{header['line']})"
        return [f"warning: {message}{where}"]


def log_tail(text: str, count: int = 30) -> list[str]:
    """The last `count` lines of a log as a terminal shows them: a line redrawn with carriage
    returns (a progress bar) as its last drawing, without colour codes or empty lines."""
    lines = []
    for line in text.split("\n"):
        drawings = [clean(drawing) for drawing in line.split("\r") if clean(drawing).strip()]
        lines += drawings[-1:]
    return lines[-count:]
