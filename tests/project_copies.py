"""A scratch copy of the project's editable files, so tests can change them freely."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

EDITABLE = ("content", "bot/data", "domain.yml", "config.yml")


# Who signs off the answers in a copy made `signed_off`, and when: a fixed day, so the copy's
# files are the same whenever a test makes it.
TEST_CLINICIAN = "dr.test"
SIGNED_OFF_ON = dt.date(2026, 12, 7)


def copy_project(target: Path, *, signed_off: bool = True) -> Path:
    """A copy of the project's editable files in `target`. `signed_off`: as at a clinic whose
    clinician has approved every answer (the repository records no approval: nobody clinical
    has signed these answers off), so a model trained from the copy may be published."""
    for name in EDITABLE:
        source, destination = PROJECT_ROOT / name, target / name
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    if signed_off:
        sign_off_every_answer(target / "content")
    return target


def sign_off_every_answer(content_dir: Path) -> None:
    from bot.content.model import load_content
    from bot.content.signoff import approve_answers

    answers = {topic.id: topic.answer for topic in load_content(content_dir).topics}
    approve_answers(content_dir, answers, TEST_CLINICIAN, today=SIGNED_OFF_ON)


@pytest.fixture
def project_copy(tmp_path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture
def unsigned_project_copy(tmp_path) -> Path:
    """A copy with no answer signed off, as the repository is."""
    return copy_project(tmp_path / "project", signed_off=False)
