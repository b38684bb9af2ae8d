"""The action server and the Rasa server, started once per database for the system tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import pytest
import requests

from bot.db.migrate import upgrade
from bot.settings import PROJECT_ROOT
from tests.conftest import free_port, stop_process, throwaway_postgres_database, wait_for

# Every day is a clinic day here, so booking tests find free times whatever day they run on.
CLINIC_ENV = {
    "CLINIC_PHONE": "(555) 777-1234",
    "OFFICE_HOURS": "weekdays 8 to 4",
    "CLINIC_TIMEZONE": "America/New_York",
    "CLINIC_DAYS": "mon,tue,wed,thu,fri,sat,sun",
    "CLINIC_HOURS": "09:00-17:00",
    "SLOT_MINUTES": "30",
    "CLINIC_HOLIDAYS": "",
    "PHONE_REGION": "US",
}
# The shared servers take every test's messages from this one machine: no per-client limits
# here. tests/system/test_rate_limits.py starts servers of its own with low ones.
NO_RATE_LIMITS = {"RATE_LIMIT_PER_ADDRESS": "10000000", "RATE_LIMIT_PER_CONVERSATION": "10000000"}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def servers(request, model_path, tmp_path_factory):
    """The action server and the Rasa server on one database; yields (rasa_url, database_url)."""
    folder = tmp_path_factory.mktemp(f"servers-{request.param}")
    with contextlib.ExitStack() as cleanup:
        if request.param == "sqlite":
            database_url = f"sqlite:///{folder / 'kapbot.db'}"
        else:
            # Its own database: the data-layer tests empty theirs after every test.
            database_url = cleanup.enter_context(throwaway_postgres_database())
        upgrade(database_url)
        yield from _run_servers(model_path, folder, database_url)


class ActionServer:
    """The action server started exactly as `kapbot serve` starts it, which a test may stop,
    restart, pause (SIGSTOP: it accepts connections but never answers) and resume."""

    def __init__(self, settings, env, log_path) -> None:
        from bot.ops.runner import process_specs

        self.spec = next(spec for spec in process_specs(settings) if spec.name == "actions")
        self.env = env
        self.log = open(log_path, "a")
        self.process: subprocess.Popen | None = None

    def launch(self) -> None:
        self.process = subprocess.Popen(
            self.spec.command, cwd=PROJECT_ROOT, env=self.env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_until_ready(self) -> None:
        wait_for(self.spec.ready_url, self.process, timeout=60)

    def start(self) -> None:
        self.launch()
        self.wait_until_ready()

    def stop(self) -> None:
        self.resume()
        stop_process(self.process)

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        self.log.close()


API_TOKEN = "test-api-token-7c1f"  # noqa: S105 - a throwaway token for a test server
# The action server of each `servers` database, for the tests that stop or pause it.
ACTION_SERVERS: dict[str, ActionServer] = {}


def _run_servers(model_path, folder, database_url, extra_env=None):
    from bot.settings import settings_from_env

    actions_port, rasa_port = free_port(), free_port()
    settings = settings_from_env(
        {"DATABASE_URL": database_url, "ACTIONS_PORT": str(actions_port), **CLINIC_ENV}
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAPBOT_VAR_DIR": str(folder / "var"),
        "ACTIONS_URL": settings.actions_url,
        **CLINIC_ENV,
        "NOTIFY_EMAILS": "",
        "NOTIFY_WEBHOOK_URL": "",
        # As `kapbot serve` sets it: rasa_sdk binds to this address.
        "SANIC_HOST": settings.actions_host,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        **NO_RATE_LIMITS,
        # Every test books from 127.0.0.1: the per-address cap is tested in test_floods.py.
        "BOOKING_LIMIT_PER_ADDRESS": "100000",
        **(extra_env or {}),
    }
    actions = ActionServer(settings, env, folder / "actions.log")
    rasa_log = open(folder / "rasa.log", "w")
    actions.launch()
    # Rasa's HTTP API on, with a token, as in production (tests/system/test_access.py).
    rasa = subprocess.Popen(
        [
            sys.executable, "-m", "rasa", "run",
            "--model", str(model_path),
            "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml",
            "--interface", "127.0.0.1",
            "--port", str(rasa_port),
            "--enable-api", "--auth-token", API_TOKEN,
        ],
        cwd=PROJECT_ROOT, env=env, stdout=rasa_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        actions.wait_until_ready()
        wait_for(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", rasa)
        ACTION_SERVERS[database_url] = actions
        yield f"http://127.0.0.1:{rasa_port}", database_url
    finally:
        ACTION_SERVERS.pop(database_url, None)
        stop_process(rasa)
        actions.close()
        rasa_log.close()


@pytest.fixture
def action_server(servers) -> ActionServer:
    """The action server of the `servers` in use."""
    return ACTION_SERVERS[servers[1]]


def exchange(rasa_url: str, sender: str, text: str) -> list[dict]:
    """The bot's messages (text, buttons) in reply to `text`, through the REST channel."""
    reply = requests.post(
        f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
    )
    reply.raise_for_status()
    return reply.json()


def say(rasa_url: str, sender: str, text: str) -> str:
    return "\n".join(message.get("text", "") for message in exchange(rasa_url, sender, text))


def say_each(rasa_url: str, sender: str, *texts: str) -> str:
    """Sends the texts in turn; the bot's reply to the last one."""
    reply = ""
    for text in texts:
        reply = say(rasa_url, sender, text)
    return reply
