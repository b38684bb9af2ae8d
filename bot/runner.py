"""`kapbot serve`: the Rasa server, the action server and the web app as one foreground command.

Each child runs in its own process group, so one Ctrl-C (or SIGTERM) here stops all of them,
including worker processes they fork, and a child that dies takes the others down with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bot.local_assistant import NoModelError
from bot.settings import PROJECT_ROOT, Settings, SettingsError

READY_TIMEOUT_SECONDS = 240
STOP_TIMEOUT_SECONDS = 15


@dataclass
class ProcessSpec:
    name: str
    command: list[str]
    port: int
    ready_url: str


def process_specs(
    settings: Settings, model: Path | None = None, api_token: str | None = None
) -> list[ProcessSpec]:
    """`model`: the model file Rasa starts with (default: the newest in MODEL_DIR); `api_token`
    turns on Rasa's HTTP API with that token, for publishing models without a restart."""
    python = sys.executable
    api = ["--enable-api", "--auth-token", api_token] if api_token else []
    return [
        ProcessSpec(
            "actions",
            [
                python,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(settings.actions_port),
            ],
            settings.actions_port,
            f"{settings.actions_url}/health",
        ),
        ProcessSpec(
            "rasa",
            [
                python,
                "-m",
                "rasa",
                "run",
                "--model",
                str(model or settings.model_dir),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
                "--interface",
                settings.rasa_host,
                "--port",
                str(settings.rasa_port),
                # No --cors: browsers reach Rasa only through the socket.io channel, which
                # checks the origin and sends the CORS headers itself (bot/channels/socketio.py);
                # Sanic's CORS would add a second Access-Control-Allow-Origin header, which
                # browsers refuse.
                *api,
            ],
            settings.rasa_port,
            f"{settings.rasa_url}/webhooks/rest/",
        ),
        ProcessSpec(
            "web",
            [python, "-m", "bot.web.serve"],
            settings.web_port,
            f"{settings.web_url}/healthz",
        ),
    ]


def child_environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        **settings.process_environment(),
        # rasa_sdk has no --interface option; it reads the bind address from here.
        "SANIC_HOST": settings.actions_host,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONUNBUFFERED": "1",
    }


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
            return response.status == 200
    except OSError:
        return False


def _relay_output(name: str, stream) -> None:
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"[{name:7}] {line}")
        sys.stdout.flush()


class Supervisor:
    def __init__(self, specs: list[ProcessSpec], env: dict[str, str]) -> None:
        self.specs = specs
        self.env = env
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()

    def start(self) -> None:
        for spec in self.specs:
            child = subprocess.Popen(
                spec.command,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            self.children[spec.name] = child
            threading.Thread(
                target=_relay_output, args=(spec.name, child.stdout), daemon=True
            ).start()

    def dead_child(self) -> str | None:
        for name, child in self.children.items():
            if child.poll() is not None:
                return name
        return None

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> str | None:
        """Returns None when every process answers, or the name of one that died or hung."""
        pending = {spec.name: spec for spec in self.specs}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline and not self.stopping.is_set():
            dead = self.dead_child()
            if dead:
                return dead
            for name, spec in list(pending.items()):
                if is_ready(spec.ready_url):
                    del pending[name]
            time.sleep(0.5)
        return next(iter(pending), None)

    def stop(self) -> None:
        self.stopping.set()
        for child in self.children.values():
            if child.poll() is None:
                try:
                    os.killpg(child.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.wait()


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def banner(settings: Settings) -> str:
    return "\n".join(
        [
            "",
            "KAP Assistant is running:",
            f"  Website widget demo   {settings.web_url}/   (embed: {settings.web_url}/widget.js)",
            f"  Plain chat page       {settings.web_url}/chat",
            f"  Staff console         {settings.web_url}/staff   "
            "(accounts: .venv/bin/kapbot staff add NAME --role admin)",
            f"  Web app health        {settings.web_url}/healthz",
            f"  Rasa server           {settings.rasa_url}   "
            "(REST: /webhooks/rest/webhook, socket.io: /socket.io)",
            f"  Action server         {settings.actions_url}/health",
            f"  Data stored in        {_without_password(settings.database_url)}",
            "Press Ctrl-C to stop everything.",
            "",
        ]
    )


def serve_all(settings: Settings) -> int:
    import sqlalchemy as sa

    from bot.db.migrate import upgrade
    from bot.model_registry import RegistryError, live_model
    from bot.rasa_api import serving_token

    try:
        model = live_model(settings)
        token = serving_token(settings)
    except (NoModelError, RegistryError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if token is None:
        print(
            "note: Rasa's HTTP API is off (RASA_HOST is not loopback): models cannot be "
            "published without a restart.",
            file=sys.stderr,
        )
    specs = process_specs(settings, model, token)
    busy = [f"{spec.name} ({spec.port})" for spec in specs if port_in_use("127.0.0.1", spec.port)]
    if busy:
        print(
            f"error: port already in use: {', '.join(busy)}. Stop whatever uses it "
            "(another `make run`?) or choose other ports in .env "
            "(RASA_PORT, ACTIONS_PORT, WEB_PORT).",
            file=sys.stderr,
        )
        return 1
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    try:
        # The actions and the staff console need the project's tables before the first visitor.
        upgrade(settings.database_url)
    except (sa.exc.SQLAlchemyError, OSError) as error:
        reason = getattr(error, "orig", None) or error
        print(f"error: cannot prepare the database: {str(reason).strip()}", file=sys.stderr)
        return 1
    print(f"Starting with model {model.name} (Rasa takes about a minute to load TensorFlow)…")
    supervisor = Supervisor(specs, child_environment(settings))

    def on_signal(signum, _frame) -> None:
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    supervisor.start()
    try:
        problem = supervisor.wait_until_ready()
        if supervisor.stopping.is_set():
            return 0
        if problem:
            print(
                f"error: the {problem} process did not start; see its output above.",
                file=sys.stderr,
            )
            return 1
        print(banner(settings), flush=True)
        while not supervisor.stopping.is_set():
            dead = supervisor.dead_child()
            if dead:
                print(f"error: the {dead} process stopped; stopping the others.", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("Stopping…", flush=True)
        supervisor.stop()
