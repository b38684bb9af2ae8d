"""`rasa data validate` on one copy of the project, its findings put in plain words.

It runs in a subprocess: Rasa's validator imports TensorFlow (seconds, hundreds of MB), which the
web app has no other reason to load, and its warnings go through the process-wide `warnings`
machinery, which threads cannot capture separately.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT, rasa_project_args

TIMEOUT_SECONDS = 180
# Colour and cursor codes in Rasa's output.
ANSI_CODE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Rasa's warnings that this project's data gives on purpose, and why nobody need act on them
# (`rasa data validate` here, and `kapbot train`'s output, bot/models/rasa_output.py).
EXPECTED_RASA_WARNINGS = (
    (
        re.compile(r"The utterance '.+' is not used in any story or rule"),
        "sent by the custom actions and forms (actions/), which Rasa's check does not read",
    ),
    (
        re.compile(r"doesn't start with a '-' symbol"),
        "comment lines among the out_of_scope examples",
    ),
    (
        re.compile(r"Found intent 'faq' in stories which is not part of the domain"),
        "faq is a retrieval intent (faq/<topic>) that Rasa adds to the domain itself",
    ),
    (
        re.compile(r"The intent 'other_language' is listed in the domain file, but is not found"),
        "set by bot.nlu.language_gate.LanguageGate, never learnt from examples",
    ),
    (
        re.compile(r"your NLU configuration does not include a response selector component"),
        "Rasa's recipe check looks for the ResponseSelector class itself; config.yml has its "
        "subclass bot.nlu.quick_loading.QuickLoadingResponseSelector",
    ),
)


def is_expected_warning(message: str) -> bool:
    return any(pattern.search(message) for pattern, _why in EXPECTED_RASA_WARNINGS)


_RECORD_START = re.compile(r"UserWarning: |^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(ERROR|CRITICAL)\s")
_RECORD_END = re.compile(r"^\s+More info at|^/|^\d{4}-\d\d-\d\d |^Processed ")

# Rasa's wording -> an editor's (each pattern's groups fill the template).
_PLAIN_WORDS = [
    (
        re.compile(
            r"The example '(.+?)' was found labeled with multiple different intents.*"
            r"labeled with: (.+?)\.?$"
        ),  # fmt: skip
        "“{0}” is an example of more than one intent ({1}).",
    ),
    (
        re.compile(r"The intent '(.+?)' is listed in the domain file, but is not found in the NLU"),
        "The intent {0} has no training examples.",
    ),
    (
        re.compile(r"labeled with intent '(.+?)'\. This intent is not listed in your domain"),
        "The intent {0} is not known to the assistant (a developer has to add it to domain.yml).",
    ),
    (
        re.compile(r"The action '(.+?)' is used in the (?:stories|training data), but is not a"),
        "The bot has no response called {0}.",
    ),
    (
        re.compile(r"The intent '(.+?)' is used in your stories, but it is not listed"),
        "A conversation rule uses the intent {0}, which the assistant does not know.",
    ),
    (
        re.compile(r"Found intent '(.+?)' in stories which is not part of the domain"),
        "A conversation rule uses the intent {0}, which the assistant does not know.",
    ),
    (
        re.compile(r"(?i)misaligned entity annotation|entity .* annotation"),
        "An example contains brackets that the training data reads as markup.",
    ),
    (
        re.compile(r"(?i)(YamlSyntaxException|YamlValidationException|Failed to read)"),
        "A training data file is not valid YAML.",
    ),
]


def findings(output: str) -> list[str]:
    """Rasa's warnings and errors from the validator's output, one message each (a message may
    run over several lines)."""
    messages: list[str] = []
    current: list[str] | None = None
    for line in ANSI_CODE.sub("", output).splitlines():
        start = _RECORD_START.search(line)
        if start:
            if current:
                messages.append(" ".join(current))
            if "UserWarning" in start.group(0):
                current = [line[start.end() :].strip()]
            else:  # a log line: "2026-11-27 07:53:31 ERROR    rasa.x  - message"
                current = [line.split(" - ", 1)[-1].strip()]
        elif current is not None and (_RECORD_END.search(line) or not line.strip()):
            messages.append(" ".join(current))
            current = None
        elif current is not None:
            current.append(line.strip())
    if current:
        messages.append(" ".join(current))
    messages = [" ".join(m.split()) for m in messages]
    return [message for message in messages if not is_expected_warning(message)]


def in_plain_words(message: str) -> str:
    for pattern, template in _PLAIN_WORDS:
        found = pattern.search(message)
        if found:
            return template.format(*found.groups())
    # Unknown wording: Rasa's own message, without paths that mean nothing to an editor.
    message = re.sub(r"(?<![\w.])/(?:[\w.\-]+/)+([\w.\-]+)", r"\1", message)
    return f"The training data check reported: {message}"


def rasa_data_problems(root: Path) -> list[str]:
    """Problems `rasa data validate --fail-on-warnings` finds in the project copy at `root`, in
    plain words; empty when it passes."""
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # The custom NLU components in config.yml must import from this project's code.
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    command = [sys.executable, "-m", "rasa", "data", "validate", *rasa_project_args()]
    try:
        result = subprocess.run(
            [*command, "--fail-on-warnings"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return ["The training data check took too long; please try again."]
    if result.returncode == 0:
        return []
    plain = list(dict.fromkeys(in_plain_words(m) for m in findings(result.stdout + result.stderr)))
    return plain or [
        "The training data check (rasa data validate) failed; a developer can run "
        "`kapbot validate` to see why."
    ]
