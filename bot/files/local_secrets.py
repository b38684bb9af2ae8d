"""Secrets generated once on this machine and kept in a file only its owner can read, and the
other files and folders that hold visitors' data or secrets (0600 files, 0700 folders)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def private_directory(path: Path) -> Path:
    """`path`, created if need be, that only its owner can open (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _keep_private(path, 0o700)
    return path


def private_file(path: Path) -> None:
    """Creates `path` empty and 0600 unless it exists; an existing one loses group and others'
    access. For files that another library then opens (SQLite), which would use the umask."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    _keep_private(path, 0o600)


def _keep_private(path: Path, mode: int) -> None:
    status = path.stat()
    # Another user's file (a shared deployment) is theirs to set; chmod would fail anyway.
    if status.st_mode & 0o077 and status.st_uid == os.getuid():
        path.chmod(mode)


def persistent_secret(path: Path) -> str:
    """The secret kept in `path`, generated (and written 0600) the first time."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return existing
    key = secrets.token_hex(32)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(key + "\n")
    try:
        # Another process may have written one first: keep theirs, so both use the same key.
        os.link(temporary, path)
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip() or key
    finally:
        temporary.unlink()
    return key
