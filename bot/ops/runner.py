"""`kapbot serve`: the Rasa server, the action server and the web app as one foreground command.

Each child runs in its own process group, so one Ctrl-C (or SIGTERM) here stops all of them,
including worker processes they fork, and a child that dies takes the others down with it.
"""

from __future__ import annotations

import dataclasses
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

from bot.content.signoff import under_review_warning
from bot.files.local_secrets import private_directory
from bot.models.store import NoModelError
from bot.ops.balancer import balancer_health_url, nginx_command, write_nginx_config
from bot.ops.child_output import ServeLog, relay_output
from bot.ops.prod_mode import prod_mode_problems
from bot.settings import PROJECT_ROOT, Settings, SettingsError, shown_path

READY_TIMEOUT_SECONDS = 240
STOP_TIMEOUT_SECONDS = 15
# Production mode starts a process that stopped again, as systemd's Restart=on-failure would,
# but gives up (and stops everything) on one that keeps failing.
RESTART_LIMIT = 3
RESTART_WINDOW_SECONDS = 300


@dataclass
class ProcessSpec:
    name: str
    command: list[str]
    port: int
    ready_url: str


def _rasa_spec(
    name: str, settings: Settings, host: str, port: int, model: Path | None, api: list[str]
) -> ProcessSpec:
    return ProcessSpec(
        name,
        [
            sys.executable,
            # `rasa run`, taking the API token from RASA_API_TOKEN or var/ instead of this
            # command line, which every local user can read (bot/ops/rasa_server.py).
            "-m",
            "bot.ops.rasa_server",
            "run",
            "--model",
            str(model or settings.model_dir),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
            "--interface",
            host,
            "--port",
            str(port),
            # No --cors: browsers reach Rasa only through the socket.io channel, which
            # checks the origin and sends the CORS headers itself (bot/channels/socketio.py);
            # Sanic's CORS would add a second Access-Control-Allow-Origin header, which
            # browsers refuse.
            *api,
        ],
        port,
        f"http://{host}:{port}/webhooks/rest/",
    )


def process_specs(
    settings: Settings, model: Path | None = None, api_token: str | None = None
) -> list[ProcessSpec]:
    """What `kapbot serve` runs: one Rasa server, or in production mode several on 127.0.0.1
    behind nginx on rasa_host:rasa_port. `model`: the model file Rasa starts with (default: the
    newest in MODEL_DIR); `api_token` turns on Rasa's HTTP API, for publishing models without a
    restart (Rasa reads the token itself, where bot/models/rasa_api.py keeps it)."""
    python = sys.executable
    api = ["--enable-api"] if api_token else []
    actions = ProcessSpec(
        "actions",
        [python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(settings.actions_port)],
        settings.actions_port,
        f"{settings.actions_url}/health",
    )
    web = ProcessSpec(
        "web", [python, "-m", "bot.web.serve"], settings.web_port, f"{settings.web_url}/healthz"
    )
    if not settings.prod_mode:
        rasa = _rasa_spec("rasa", settings, settings.rasa_host, settings.rasa_port, model, api)
        return [actions, rasa, web]
    instances = [
        _rasa_spec(f"rasa-{number}", settings, "127.0.0.1", port, model, api)
        for number, port in enumerate(settings.rasa_instance_ports, start=1)
    ]
    nginx = ProcessSpec(
        "nginx", nginx_command(settings), settings.rasa_port, balancer_health_url(settings)
    )
    return [actions, *instances, web, nginx]


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


class Supervisor:
    def __init__(
        self,
        specs: list[ProcessSpec],
        env: dict[str, str],
        pid_dir: Path | None = None,
        log: ServeLog | None = None,
    ) -> None:
        self.specs = specs
        self.env = env
        # Each child's pid in NAME.pid, for operators (and the fault tests) to find one.
        self.pid_dir = pid_dir
        # Every line the children print; the terminal gets what matters (bot/ops/child_output.py).
        self.log = log
        self.children: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, list[float]] = {}
        self.stopping = threading.Event()

    def start(self) -> None:
        for spec in self.specs:
            self._spawn(spec)

    def _spawn(self, spec: ProcessSpec) -> None:
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
        if self.pid_dir is not None:
            self.pid_dir.mkdir(parents=True, exist_ok=True)
            (self.pid_dir / f"{spec.name}.pid").write_text(f"{child.pid}\n")
        threading.Thread(
            target=relay_output, args=(spec.name, child.stdout, self.log), daemon=True
        ).start()

    def restart(self, name: str) -> bool:
        """Starts a stopped child again, unless it already stopped RESTART_LIMIT times within
        RESTART_WINDOW_SECONDS (then it is broken, not unlucky): False."""
        now = time.monotonic()
        recent = [t for t in self.restarts.get(name, []) if now - t < RESTART_WINDOW_SECONDS]
        if len(recent) >= RESTART_LIMIT:
            return False
        self.restarts[name] = [*recent, now]
        self.children[name].wait()
        self._spawn(next(spec for spec in self.specs if spec.name == name))
        return True

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
            *(
                [
                    f"    balanced by nginx over {len(settings.rasa_api_urls)} instances: "
                    + ", ".join(settings.rasa_api_urls),
                    f"  Conversation locks    {_without_password(settings.redis_url)}",
                ]
                if settings.prod_mode
                else []
            ),
            f"  Action server         {settings.actions_url}/health",
            f"  Data stored in        {_without_password(settings.database_url)}",
            *under_review_warning(settings.content_root / "content"),
            "Press Ctrl-C to stop everything.",
            "",
        ]
    )


def _refused_by_prod_mode(settings: Settings) -> bool:
    problems = prod_mode_problems(settings)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return bool(problems)


def _model_and_token(settings: Settings) -> tuple[Path, str | None] | None:
    """The model Rasa starts with and the token of its HTTP API (None: the API is off); None
    when there is no model or no token can be made, having said why."""
    from bot.models.rasa_api import serving_token
    from bot.models.store import RegistryError, live_model

    try:
        model = live_model(settings)
        # Production mode's instances listen on loopback whatever RASA_HOST (nginx's address)
        # is, and nginx passes on only the channels, never the API.
        token = serving_token(
            dataclasses.replace(settings, rasa_host="127.0.0.1") if settings.prod_mode else settings
        )
    except (NoModelError, RegistryError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    if token is None:
        print(
            "note: Rasa's HTTP API is off (RASA_HOST is not loopback): models cannot be "
            "published without a restart.",
            file=sys.stderr,
        )
    return model, token


def _ports_busy(specs: list[ProcessSpec]) -> bool:
    busy = [f"{spec.name} ({spec.port})" for spec in specs if port_in_use("127.0.0.1", spec.port)]
    if busy:
        print(
            f"error: port already in use: {', '.join(busy)}. Stop whatever uses it "
            "(another `make run`?) or choose other ports in .env "
            "(RASA_PORT, ACTIONS_PORT, WEB_PORT; production mode's Rasa instances use the "
            "RASA_INSTANCES ports after RASA_PORT).",
            file=sys.stderr,
        )
    return bool(busy)


def _database_ready(settings: Settings) -> bool:
    import sqlalchemy as sa

    from bot.db.migrate import upgrade

    try:
        # The actions and the staff console need the project's tables before the first visitor.
        upgrade(settings.database_url)
    except (sa.exc.SQLAlchemyError, OSError) as error:
        reason = getattr(error, "orig", None) or error
        print(f"error: cannot prepare the database: {str(reason).strip()}", file=sys.stderr)
        return False
    return True


def _supervise(supervisor: Supervisor, settings: Settings) -> int:
    """Runs the processes until a signal or a death; production mode restarts a dead one."""

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
            where = f" and in {shown_path(supervisor.log.path)}" if supervisor.log else ""
            print(
                f"error: the {problem} process did not start; see its output above{where}.",
                file=sys.stderr,
            )
            return 1
        print(banner(settings), flush=True)
        while not supervisor.stopping.is_set():
            dead = supervisor.dead_child()
            if dead and settings.prod_mode and supervisor.restart(dead):
                # The other instances (nginx skips the stopped one) and the visitors carry on.
                print(f"warning: the {dead} process stopped; started it again.", flush=True)
            elif dead:
                print(f"error: the {dead} process stopped; stopping the others.", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("Stopping…", flush=True)
        supervisor.stop()


def serve_all(settings: Settings) -> int:
    # What the processes write (the SQLite database, var/'s secrets, pending handoffs, logs) is
    # the owner's only, whatever the shell's umask.
    os.umask(0o077)
    if settings.prod_mode and _refused_by_prod_mode(settings):
        return 1
    model_and_token = _model_and_token(settings)
    if model_and_token is None:
        return 1
    model, token = model_and_token
    specs = process_specs(settings, model, token)
    if _ports_busy(specs):
        return 1
    private_directory(settings.var_dir)
    if not _database_ready(settings):
        return 1
    if settings.prod_mode:
        write_nginx_config(settings)
    log = ServeLog(settings.var_dir / "log" / "serve.log")
    print(
        f"Starting with model {model.name} (Rasa takes about a minute to load TensorFlow; "
        f"every process's output: {shown_path(log.path)})…",
        flush=True,
    )
    supervisor = Supervisor(
        specs, child_environment(settings), pid_dir=settings.var_dir / "run", log=log
    )
    try:
        return _supervise(supervisor, settings)
    finally:
        log.close()
