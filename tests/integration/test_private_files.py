"""Files that hold visitors' data or secrets are the owner's only, whatever the umask: the SQLite
database as the first command creates it, and var/ with its generated secrets."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from bot.files.local_secrets import persistent_secret
from bot.settings import PROJECT_ROOT


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_sqlite_database_is_the_owners_only(tmp_path):
    database = tmp_path / "var" / "kapbot.db"
    upgraded = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{database}",
            "KAPBOT_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # a usual shell's umask: 0644 files
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert mode(database) == 0o600
    assert mode(database.parent) == 0o700


def test_an_existing_world_readable_database_is_made_private(tmp_path):
    from bot.db.session import get_engine

    database = tmp_path / "old.db"
    database.touch(mode=0o644)
    database.chmod(0o644)
    get_engine(f"sqlite:///{database}")
    assert mode(database) == 0o600


def test_generated_secrets_and_their_folder_are_the_owners_only(tmp_path):
    previous = os.umask(0o022)
    try:
        persistent_secret(tmp_path / "var" / "secret_key")
    finally:
        os.umask(previous)
    assert mode(tmp_path / "var") == 0o700
    assert mode(tmp_path / "var" / "secret_key") == 0o600
