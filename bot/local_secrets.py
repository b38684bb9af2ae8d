"""Secrets generated once on this machine and kept in a file only its owner can read."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def persistent_secret(path: Path) -> str:
    """The secret kept in `path`, generated (and written 0600) the first time."""
    path.parent.mkdir(parents=True, exist_ok=True)
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
