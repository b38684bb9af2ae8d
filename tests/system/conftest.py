"""The action server and the Rasa server, started once per database for the system tests."""

from __future__ import annotations

import contextlib
import os
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


def _run_servers(model_path, folder, database_url):
    actions_port, rasa_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAPBOT_VAR_DIR": str(folder / "var"),
        "ACTIONS_URL": f"http://127.0.0.1:{actions_port}",
        **CLINIC_ENV,
        "NOTIFY_EMAILS": "",
        "NOTIFY_WEBHOOK_URL": "",
        "SANIC_HOST": "127.0.0.1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    logs = [open(folder / "actions.log", "w"), open(folder / "rasa.log", "w")]
    actions = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
        cwd=PROJECT_ROOT, env=env, stdout=logs[0], stderr=subprocess.STDOUT,
    )  # fmt: skip
    rasa = subprocess.Popen(
        [
            sys.executable, "-m", "rasa", "run",
            "--model", str(model_path),
            "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml",
            "--interface", "127.0.0.1",
            "--port", str(rasa_port),
        ],
        cwd=PROJECT_ROOT, env=env, stdout=logs[1], stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{actions_port}/health", actions, timeout=60)
        wait_for(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", rasa)
        yield f"http://127.0.0.1:{rasa_port}", database_url
    finally:
        stop_process(rasa)
        stop_process(actions)
        for log in logs:
            log.close()


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
