"""What `kapbot serve` shows of its processes' output: everything goes to var/log/serve.log
(the previous run's is kept as serve.log.1), and the terminal shows each line that matters,
prefixed with the process's name: errors, warnings an operator must act on (once each), the
project's own log lines and any line of no kind bot/models/rasa_output.py knows (a traceback, a
crash message). The dependencies' deprecation warnings and the libraries' INFO lines
("Registered function for ...", "Loading model ...") are only in the log."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from bot.models.rasa_output import OutputFilter

# Loggers whose INFO lines the terminal shows: this project's (a crisis handoff recorded, ...).
OWN_LOGGERS = ("bot.", "actions.")


class ServeLog:
    """The whole output of one `kapbot serve`, each line prefixed with its process's name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.replace(path.with_name(path.name + ".1"))
        # Open while the processes run; closed by close().
        self._file = open(path, "w", encoding="utf-8", errors="replace")
        self._lock = threading.Lock()
        self.write("serve", f"started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")

    def write(self, name: str, line: str) -> None:
        with self._lock:
            self._file.write(f"[{name:7}] {line}")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def relay_output(name: str, stream, log: ServeLog | None = None) -> None:
    """Copies a process's output to `log` and what matters of it to the terminal, until it ends."""
    shown = OutputFilter(others=True, info_from=OWN_LOGGERS)

    def show(lines: list[str]) -> None:
        for line in lines:
            sys.stdout.write(f"[{name:7}] {line}\n")
        sys.stdout.flush()

    for line in iter(stream.readline, ""):
        if log is not None:
            try:
                log.write(name, line)
            except ValueError:  # closed: kapbot serve is stopping
                log = None
        show(shown.feed(line.rstrip("\n")))
    show(shown.close())
