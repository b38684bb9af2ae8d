"""What another local user can see of a running `kapbot serve`: no process's command line holds
Rasa's API token, and var/ with the database and the secrets in it is the owner's only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests

from tests.system.test_serve import Serve, serve_env

pytestmark = pytest.mark.slow


def descendants(pid: int) -> list[int]:
    """Every process started, directly or not, by `pid`."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        try:
            # The parent is the 4th field, after "(command name)", which may contain spaces.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
        except (ValueError, OSError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        found += children
        frontier += children
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_api_token_is_on_no_command_line_and_var_is_private(settings_for, model_path):
    settings = settings_for()
    # The token and the key generated into var/ on the first start, as on a fresh install.
    env = {**serve_env(settings), "RASA_API_TOKEN": "", "SECRET_KEY": ""}
    serve = Serve(env)
    try:
        serve.wait_for_banner()
        token = (settings.var_dir / "rasa-api-token").read_text().strip()
        assert len(token) >= 32
        processes = descendants(serve.process.pid)
        assert len(processes) >= 3  # Rasa, the action server and the web app at least
        for pid in [serve.process.pid, *processes]:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
            assert token.encode() not in command, command.replace(b"\0", b" ")

        # The API still needs the token.
        status = f"{settings.rasa_url}/status"
        assert requests.get(status, timeout=10).status_code == 401
        assert requests.get(status, params={"token": "wrong"}, timeout=10).status_code == 401
        assert requests.get(status, params={"token": token}, timeout=10).status_code == 200

        assert mode(settings.var_dir) == 0o700
        for name in ("kapbot.db", "rasa-api-token", "secret_key"):
            assert mode(settings.var_dir / name) == 0o600, name
    finally:
        assert serve.interrupt() == 0
