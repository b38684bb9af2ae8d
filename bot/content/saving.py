"""How a content change is saved: checked first on a scratch copy of the project (responses.yml
regenerated there, the content checks and `rasa data validate` run on it), then the real files
replaced, each atomically, so that a reader sees the old file or the new one, never half."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from bot.content.build import render_file
from bot.content.checks import check_project
from bot.content.model import ContentError, ProjectFiles, load_content
from bot.content.rasa_check import rasa_data_problems
from bot.files.atomic import write_atomically

# What a scratch copy needs for the checks and for `rasa data validate`.
_COPIED = ("content", "bot/data", "domain.yml", "config.yml")


def check_on_scratch_copy(
    files: ProjectFiles, topics_text: str, nlu_text: str, *, rasa_validation: bool
) -> tuple[list[str], str]:
    """What is wrong with the project in `files` as it would be with these topics.yml and
    nlu.yml (an empty list: nothing), and the responses.yml they make."""
    with tempfile.TemporaryDirectory(prefix="kapbot-content-") as scratch:
        copy = ProjectFiles(Path(scratch))
        for name in _COPIED:
            source, target = files.root / name, copy.root / name
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        copy.topics.write_text(topics_text, encoding="utf-8")
        copy.nlu.write_text(nlu_text, encoding="utf-8")
        try:
            responses_text = render_file(load_content(copy.content_dir))
        except ContentError as error:
            return [_plain(p) for p in error.problems], ""
        copy.responses.write_text(responses_text, encoding="utf-8")
        problems, _ = check_project(copy)
        if problems:
            return [_plain(p) for p in problems], responses_text
        if rasa_validation:
            return rasa_data_problems(copy.root), responses_text
    return [], responses_text


def write_changed(files: ProjectFiles, texts: list[tuple[Path, str]]) -> list[str]:
    """Replaces each file whose text differs; returns their paths relative to the project root."""
    changed = []
    for path, text in texts:
        if path.read_text(encoding="utf-8") != text:
            write_atomically(path, text)
            changed.append(str(path.relative_to(files.root)))
    return changed


def _plain(problem: str) -> str:
    """A content-check message without the file prefix an editor does not need."""
    return re.sub(r"^topics\.yml, ", "", problem)
