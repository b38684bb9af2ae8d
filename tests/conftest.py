"""Shared fixtures and the suite's layout:

- tests/unit: plain functions, no database, no servers, no TensorFlow;
- tests/integration: one real database (SQLite and PostgreSQL), or Redis;
- tests/model: the trained model, training and Rasa's own checks (TensorFlow);
- tests/system: real servers (Rasa, the action server, the web app, nginx);
- tests/browser: the widget and the console in Debian's Chromium.

model/, system/ and browser/ are marked `slow` and share one trained model (the one `make test`
trains), one in-process assistant and one action server."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, get_settings, settings_from_env
from tests.volume import FULL_VOLUME

# A scratch copy of the project's editable files (project_copy), for the tests that edit them.
pytest_plugins = ["tests.project_copies"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

POSTGRES_ADMIN_URL = os.environ.get(
    "KAPBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


# The suite's folders, in the order they run: the fast ones first, so a broken unit shows in
# seconds. model/, system/ and browser/ load TensorFlow or start servers: they are `slow`, and
# marked with their folder's name too. `make test` runs browser/ and model/ in one process and
# the rest beside it (scripts/run-tests.sh): browser/ first there, so that its retraining and
# the worse candidate's training in the other process overlap.
LEVELS = ("unit", "integration", "browser", "model", "system")
SLOW_LEVELS = {"model", "system", "browser"}


def pytest_configure(config):
    """Ctrl-C stops every run of `make test`: bash starts one of its two slow runs in the
    background (scripts/run-tests.sh) with SIGINT ignored, so pytest would never see it.

    The suite runs as a clinic whose clinician has approved every answer. The repository
    records no approval (nobody clinical has signed these answers off), and a Rasa server
    gives no unapproved answer (bot/nlg/approved_answers.py): on the repository's own content
    every answer would be "under review". So KAPBOT_CONTENT_ROOT, which the servers and
    commands the tests start inherit, names a signed-off copy of the project's editable files,
    unless the caller set one. Tests of the unapproved state use unsigned_project_copy."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get("KAPBOT_CONTENT_ROOT"):
        return
    import tempfile

    from tests.project_copies import copy_project

    folder = Path(tempfile.mkdtemp(prefix="kapbot-signed-off-"))
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    os.environ["KAPBOT_CONTENT_ROOT"] = str(copy_project(folder / "project"))
    get_settings.cache_clear()


def _level(item) -> str:
    parts = Path(str(item.path)).relative_to(Path(__file__).parent).parts
    return parts[0] if parts[0] in LEVELS else "unit"


def pytest_itemcollected(item):
    # Marked here, as each test is collected: `-m slow` and `-m "not slow"` select by it later.
    level = _level(item)
    if level in SLOW_LEVELS:
        item.add_marker(pytest.mark.slow)
        item.add_marker(getattr(pytest.mark, level))


@pytest.hookimpl(trylast=True)  # after pytest has grouped the tests by their shared fixtures
def pytest_collection_modifyitems(config, items):
    """Orders the tests by folder; tests marked `volume` run in `make bench`
    (KAPBOT_FULL_VOLUME=1), not in `make test`."""
    items.sort(key=lambda item: LEVELS.index(_level(item)))  # stable: keeps pytest's grouping
    if FULL_VOLUME:
        return
    volume_only = [item for item in items if item.get_closest_marker("volume")]
    if volume_only:
        config.hook.pytest_deselected(items=volume_only)
        items[:] = [item for item in items if not item.get_closest_marker("volume")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_prod_mode_ports(instances: int) -> dict[str, str]:
    """RASA_PORT with its `instances` successors free (production mode's balancer and
    instances), and ACTIONS_PORT and WEB_PORT outside that block: the kernel hands out free
    ports close together, so a free port taken afterwards can be one of the block."""
    for _ in range(100):
        base = free_port()
        block = range(base, base + instances + 1)
        if block[-1] >= 65535 or any(_port_in_use(port) for port in block):
            continue
        others: list[int] = []
        while len(others) < 2:
            port = free_port()
            if port not in block and port not in others:
                others.append(port)
        return {"RASA_PORT": str(base), "ACTIONS_PORT": str(others[0]), "WEB_PORT": str(others[1])}
    raise RuntimeError("no block of free ports")


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(url: str, process: subprocess.Popen | None = None, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def stop_process(process: subprocess.Popen) -> None:
    """Stops a server a test started. Killed after 5 s: Sanic waits up to 15 s for a socket.io
    client's open long poll, and a test's teardown needs no graceful end."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def model_path() -> Path:
    from bot.models.store import NoModelError, latest_model

    try:
        return latest_model()
    except NoModelError as error:
        pytest.fail(f"{error} (make test trains it before running the suite)")


@pytest.fixture(scope="session")
def assistant(model_path):
    """The trained assistant, loaded once, answering in-process."""
    import logging

    from rasa.utils.log_utils import configure_structlog

    from bot.models.assistant import LocalAssistant

    configure_structlog(logging.WARNING)
    return LocalAssistant(model_path).load()


@pytest.fixture(scope="session")
def action_server(tmp_path_factory) -> str:
    """A real action server on a free loopback port; yields its base URL."""
    from bot.db.migrate import upgrade

    port = free_port()
    folder = tmp_path_factory.mktemp("actions")
    log = folder / "actions.log"
    # Handoffs made by conversation tests go to a throwaway database, not the developer's.
    database_url = f"sqlite:///{folder / 'kapbot.db'}"
    upgrade(database_url)
    env = {
        **os.environ,
        "SANIC_HOST": "127.0.0.1",
        "DATABASE_URL": database_url,
        "KAPBOT_VAR_DIR": str(folder / "var"),
        "NOTIFY_EMAILS": "",
        "NOTIFY_WEBHOOK_URL": "",
    }
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/health", process, timeout=60)
        yield url
    finally:
        stop_process(process)


@contextlib.contextmanager
def throwaway_postgres_database():
    """A new PostgreSQL database; yields its URL and drops it afterwards."""
    import sqlalchemy as sa

    name = f"kapbot_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {error}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": name},
            )
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database():
    """A throwaway PostgreSQL database for this test run's data-layer tests."""
    with throwaway_postgres_database() as url:
        yield url


@pytest.fixture
def environment(monkeypatch):
    """Sets environment variables for one test and makes settings re-read them; both are undone
    after the test."""

    def set_variables(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_variables
    get_settings.cache_clear()


@pytest.fixture
def settings_for(tmp_path):
    """Settings with free ports and state under a temporary folder."""

    def make(**overrides: str):
        env = {
            "KAPBOT_VAR_DIR": str(tmp_path / "var"),
            "MODEL_DIR": str(get_settings().model_dir),
            "RASA_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "WEB_PORT": str(free_port()),
            **overrides,
        }
        return settings_from_env(env)

    return make


@pytest.fixture
def job_settings(tmp_path):
    """Settings for background training runs, with their own folders and database."""
    from bot.db.migrate import upgrade

    settings = settings_from_env(
        {
            "KAPBOT_VAR_DIR": str(tmp_path / "var"),
            "MODEL_DIR": str(tmp_path / "models"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'kapbot.db'}",
        }
    )
    upgrade(settings.database_url)
    return settings


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory) -> Path:
    """A SQLite file migrated to the latest revision once per run: each test gets a copy, which
    takes milliseconds where running every migration takes about a second."""
    from bot.db.migrate import upgrade

    path = tmp_path_factory.mktemp("migrated") / "kapbot.db"
    upgrade(f"sqlite:///{path}")
    return path


# The project's tables, which tests empty; Rasa's tables and Alembic's version table stay.
def _empty_project_tables(url: str) -> None:
    import sqlalchemy as sa

    from bot.db.migrate import current_revision, downgrade, head_revision, upgrade
    from bot.db.models import Base

    if current_revision(url) != head_revision():
        # A test downgraded the schema (the migration tests): back to a whole schema at head.
        downgrade(url)
        upgrade(url)
        return
    engine = sa.create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            # Without foreign-key triggers for this transaction, the tables empty in any order.
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table in Base.metadata.sorted_tables:
                connection.execute(table.delete())
            for (sequence,) in connection.execute(
                sa.text("SELECT sequence_name FROM information_schema.sequences")
            ):
                connection.execute(sa.text(f'ALTER SEQUENCE "{sequence}" RESTART'))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The project's schema, migrated with Alembic, on SQLite and on the real PostgreSQL.

    SQLite: a copy of a file migrated once per run. PostgreSQL: the run's throwaway database
    (see `postgres_database`), migrated once, and emptied of the project's rows before each test
    so tests do not see each other's rows."""
    if request.param == "sqlite":
        path = tmp_path / "kapbot-test.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    _empty_project_tables(url)
    yield url


# --- A deliberately worse candidate model ------------------------------------------------------

WORSE_TOPIC = "cost"  # the topic whose training examples the worse candidate never sees
# It is meant to be worse: 10 epochs for DIET and the ResponseSelector (config.yml: 60 and 40)
# cut their training to a sixth and a quarter; the rest of a training (featurising, Rasa's
# cache fingerprints, saving) takes as long as ever.
WORSE_EPOCHS = 10
TRAINING_INPUTS = ("config.yml", "domain.yml", "bot/data/*.yml", "content/*.yml")


def remove_topic_examples(project: Path, topic: str) -> None:
    """Deletes the `faq/<topic>` block from the project's NLU training data."""
    path = project / "bot" / "data" / "nlu.yml"
    kept, skipping = [], False
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("- intent:"):
            skipping = line.split(":", 1)[1].strip() == f"faq/{topic}"
        if not skipping:
            kept.append(line)
    path.write_text("".join(kept), encoding="utf-8")


def shorten_training(project: Path, epochs: int) -> None:
    """Sets every `epochs:` of the project's config.yml to `epochs`."""
    path = project / "config.yml"
    text = path.read_text(encoding="utf-8")
    shortened = re.sub(r"(?m)^(\s+epochs:) \d+$", rf"\1 {epochs}", text)
    assert shortened != text, "config.yml names no epochs"
    path.write_text(shortened, encoding="utf-8")


def _training_inputs_hash(project: Path) -> str:
    """The training data in `project`, and this project's custom NLU components."""
    import hashlib

    digest = hashlib.sha256()
    for pattern in (*TRAINING_INPUTS, "bot/nlu/*.py"):
        root = PROJECT_ROOT if pattern.startswith("bot/nlu/") else project
        for path in sorted(root.glob(pattern)):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def worse_candidate_run(model_path, tmp_path_factory):
    """A candidate trained without the examples of one topic (WORSE_TOPIC) and with fewer epochs
    (WORSE_EPOCHS), through the real background training worker, and compared by it with the live
    model: (run, settings).

    It is kept under var/test-models/ keyed by a hash of its training inputs, so only a changed
    project trains it again. `make test` runs two pytest processes side by side: a lock on that
    folder makes the second wait for the first's training and take its result."""
    from bot.files.file_lock import exclusive_lock
    from tests.project_copies import copy_project

    project = copy_project(tmp_path_factory.mktemp("worse-project"))
    remove_topic_examples(project, WORSE_TOPIC)
    shorten_training(project, WORSE_EPOCHS)
    folder = (
        PROJECT_ROOT
        / "var"
        / "test-models"
        / f"worse-{WORSE_TOPIC}-{_training_inputs_hash(project)}"
    )
    with exclusive_lock(folder.with_suffix(".lock")):
        return _worse_candidate(project, folder, model_path)


def _worse_candidate(project: Path, folder: Path, model_path: Path):
    """The worse candidate trained from `project` into `folder`, or the one already there if it
    was compared with `model_path`: (run, settings)."""
    import json

    from bot.db.migrate import upgrade
    from bot.models.training_jobs import get_run, list_runs, start_training

    settings = settings_from_env(
        {
            "KAPBOT_VAR_DIR": str(folder / "var"),
            "KAPBOT_CONTENT_ROOT": str(project),
            "MODEL_DIR": str(folder / "models"),
            "DATABASE_URL": f"sqlite:///{folder / 'var' / 'kapbot.db'}",
        }
    )
    done = [run for run in list_runs(settings) if run.state == "done"]
    if (
        done
        and Path(done[0].candidate).is_file()
        and done[0].compare_with == str(model_path.resolve())
    ):
        return done[0], settings
    upgrade(settings.database_url)
    # A Rasa cache of its own, and empty: restored from a cache (the project's .rasa/cache, or
    # this folder's from a training compared with an earlier live model), nothing is trained
    # and the log the progress tests read has no epochs.
    shutil.rmtree(folder / "rasa-cache", ignore_errors=True)
    previous_cache = os.environ.get("RASA_CACHE_DIRECTORY")
    os.environ["RASA_CACHE_DIRECTORY"] = str(folder / "rasa-cache")
    try:
        run = start_training("test", settings=settings, compare_with=model_path)
    finally:
        if previous_cache is None:
            del os.environ["RASA_CACHE_DIRECTORY"]
        else:
            os.environ["RASA_CACHE_DIRECTORY"] = previous_cache
    # What the console would have shown, polled like the console does.
    seen = []
    while run.active:
        time.sleep(1)
        run = get_run(run.id, settings)
        if not seen or seen[-1] != [run.progress, run.step]:
            seen.append([run.progress, run.step])
    (Path(run.log).parent / "observed-progress.json").write_text(json.dumps(seen))
    assert run.state == "done", f"training the worse candidate failed: {run.error} (log: {run.log})"
    return run, settings


@pytest.fixture(scope="session")
def worse_candidate_model(worse_candidate_run) -> Path:
    """The worse candidate's model file (see worse_candidate_run)."""
    run, _settings = worse_candidate_run
    return Path(run.candidate)
