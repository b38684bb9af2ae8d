"""A PostgreSQL cluster and a Redis server of the test's own, on free ports in a temporary folder,
so a fault test can restart them without touching the machine's shared ones."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import free_port

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.data = folder / "data"

    def _pg_ctl(self, *arguments: str) -> None:
        # initdb and pg_ctl refuse to run as root: the cluster belongs to the postgres user.
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data),
             "-l", str(self.folder / "postgres.log"), "-w", "-t", "60", *arguments],
            check=True, capture_output=True,
        )  # fmt: skip

    def init_and_start(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(POSTGRES_BIN / "initdb"), "-D", str(self.data),
             "-U", "postgres", "-A", "trust", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        )
        self._pg_ctl("-o", options, "start")

    def restart(self) -> None:
        """A fast shutdown (open connections are cut, as in a real restart), then a start."""
        self._pg_ctl("-m", "fast", "restart")

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")

    def create_database(self, name: str) -> str:
        admin = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


@contextlib.contextmanager
def private_postgres():
    folder = Path(tempfile.mkdtemp(prefix="kapbot-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    os.chmod(folder, 0o700)
    cluster = PrivatePostgres(folder, free_port())
    try:
        cluster.init_and_start()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


class PrivateRedis:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.log = open(self.folder / "redis.log", "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.log.close()

    def restart(self) -> None:
        """Stopped and started again: everything it held (the locks) is gone, as after a crash
        of a Redis that saves nothing."""
        self.stop()
        self.start()


@contextlib.contextmanager
def private_redis():
    folder = Path(tempfile.mkdtemp(prefix="kapbot-redis-"))
    server = PrivateRedis(folder, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
