"""A scratch copy of the project's editable files, so tests can change them freely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

EDITABLE = ("content", "bot/data", "domain.yml", "config.yml")


def copy_project(target: Path) -> Path:
    for name in EDITABLE:
        source, destination = PROJECT_ROOT / name, target / name
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return target


@pytest.fixture
def project_copy(tmp_path) -> Path:
    return copy_project(tmp_path / "project")
