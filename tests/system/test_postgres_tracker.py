"""The production path: the Rasa server keeps conversations in the real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
import sqlalchemy as sa

from bot.content.model import load_content
from bot.settings import PROJECT_ROOT
from tests.conftest import free_port, stop_process, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_rasa_server_stores_the_conversation_in_postgresql(
    postgres_database, action_server, model_path, tmp_path
):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": postgres_database,
        "ACTIONS_URL": action_server,
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    log = open(tmp_path / "rasa.log", "w")
    rasa = subprocess.Popen(
        [
            sys.executable, "-m", "rasa", "run",
            "--model", str(model_path),
            "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml",
            "--interface", "127.0.0.1",
            "--port", str(port),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/webhooks/rest/", rasa)
        sender = "postgres-visitor-1"
        reply = requests.post(
            f"http://127.0.0.1:{port}/webhooks/rest/webhook",
            json={"sender": sender, "message": "will it damage my bladder?"},
            timeout=60,
        ).json()
        assert reply[0]["text"].startswith(load_content().topic("bladder").answer)
    finally:
        stop_process(rasa)
        log.close()

    engine = sa.create_engine(postgres_database, future=True)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
            {"s": sender},
        ).all()
    engine.dispose()
    kinds = [row.type_name for row in rows]
    assert "user" in kinds and "bot" in kinds
    assert any("will it damage my bladder?" in row.data for row in rows if row.type_name == "user")
