"""`kapbot serve` (what `make run` starts), end to end: the three processes, a conversation over
REST and through the web app, one Ctrl-C stopping everything, and the conversation surviving a
restart in the SQLite tracker store."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from bot.content.model import load_content
from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
BANNER = "KAP Assistant is running"


class Serve:
    """`kapbot serve` as a child process, its output collected line by line."""

    def __init__(self, env: dict[str, str], *options: str) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", *options],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        for line in iter(self.process.stdout.readline, ""):
            self.lines.append(line)

    def wait_for_banner(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(BANNER in line for line in self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        self.interrupt()
        pytest.fail("kapbot serve did not start:\n" + "".join(self.lines[-60:]))

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it to the foreground command."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


def serve_env(settings) -> dict[str, str]:
    """What `kapbot serve` needs to run with `settings` (from `settings_for`)."""
    return {
        "KAPBOT_VAR_DIR": str(settings.var_dir),
        "MODEL_DIR": str(settings.model_dir),
        "RASA_PORT": str(settings.rasa_port),
        "ACTIONS_PORT": str(settings.actions_port),
        "WEB_PORT": str(settings.web_port),
    }


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def chat(settings, sender: str, text: str) -> list[str]:
    response = requests.post(
        f"{settings.web_url}/api/chat", json={"sender": sender, "message": text}, timeout=60
    )
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"]]


def socketio_exchange(rasa_url: str, text: str) -> list[str]:
    """One message over Rasa's socket.io channel, as a website widget sends it.

    Long-polling transport: the websocket transport of this python-socketio needs a newer
    aiohttp than Rasa 3.6 allows; the channel's events are the same on both."""
    import threading

    import socketio

    replies: list[str] = []
    got_reply = threading.Event()
    client = socketio.Client()

    @client.on("bot_uttered")
    def on_bot_uttered(data):
        replies.append(data.get("text", ""))
        got_reply.set()

    confirmed: list[str] = []
    got_session = threading.Event()

    @client.on("session_confirm")
    def on_session_confirm(data):
        confirmed.append(data["session_id"])  # the server names the conversation
        got_session.set()

    client.connect(rasa_url, socketio_path="/socket.io", transports=["polling"])
    try:
        client.emit("session_request", {})
        assert got_session.wait(timeout=60), "no session_confirm within 60 s"
        client.emit("user_uttered", {"message": text, "session_id": confirmed[0]})
        assert got_reply.wait(timeout=60), "no bot_uttered event within 60 s"
    finally:
        client.disconnect()
    return replies


def test_serve_runs_a_conversation_and_keeps_it_across_a_restart(settings_for, model_path):
    settings = settings_for()
    env = serve_env(settings)
    content = load_content()
    sender = "restart-check-0001"

    first = Serve(env)
    first.wait_for_banner()
    output = "".join(first.lines)
    for url in (settings.web_url, settings.rasa_url, settings.actions_url):
        assert url in output

    assert chat(settings, sender, "hi") == [content.messages["greet_first"]]
    rest = requests.post(
        f"{settings.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": "is ketamine addictive?"},
        timeout=60,
    ).json()
    assert rest[0]["text"].startswith(content.topic("dependence").answer)
    over_socketio = socketio_exchange(settings.rasa_url, "does it hurt the bladder?")
    assert over_socketio[0].startswith(content.topic("bladder").answer)

    assert first.interrupt() == 0
    ports = (settings.rasa_port, settings.actions_port, settings.web_port)
    assert all(port_is_free(port) for port in ports), "a process outlived Ctrl-C"

    second = Serve(env)
    try:
        second.wait_for_banner()
        # The disclaimer was already given in this conversation before the restart.
        assert chat(settings, sender, "hello") == [content.messages["greet_again"]]
    finally:
        second.interrupt()
    assert (settings.var_dir / "kapbot.db").exists()


def test_serve_refuses_to_start_on_a_busy_port(settings_for, model_path):
    settings = settings_for()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", settings.web_port))
        busy.listen()
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "serve"],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "KAPBOT_VAR_DIR": str(settings.var_dir),
                "MODEL_DIR": str(settings.model_dir),
                "RASA_PORT": str(settings.rasa_port),
                "ACTIONS_PORT": str(settings.actions_port),
                "WEB_PORT": str(settings.web_port),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port already in use: web ({settings.web_port})" in result.stderr
