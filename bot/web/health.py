"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can serve visitors)."""

from __future__ import annotations

import requests
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from bot.db.session import get_engine

blueprint = Blueprint("health", __name__)
CHECK_TIMEOUT_SECONDS = 2


@blueprint.get("/healthz")
def healthz():
    """Liveness: the web app process answers."""
    return jsonify(status="ok")


def _rasa_problem() -> str | None:
    url = f"{current_app.config['RASA_URL']}/webhooks/rest/"
    try:
        answer = requests.get(url, timeout=CHECK_TIMEOUT_SECONDS)
        answer.raise_for_status()
        loaded = answer.json().get("model_loaded")
    except (requests.RequestException, ValueError, AttributeError) as error:
        return f"rasa: not answering ({type(error).__name__})"
    return None if loaded else "rasa: no model loaded"


def _database_problem() -> str | None:
    try:
        with get_engine(current_app.config["DATABASE_URL"]).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return f"database: not reachable ({type(error).__name__})"
    return None


def _redis_problem() -> str | None:
    url = current_app.config["KAPBOT_SETTINGS"].redis_url
    if not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(
            url, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
        )
        client.ping()
    except (redis.RedisError, OSError, ValueError) as error:
        return f"redis: not reachable ({type(error).__name__})"
    return None


@blueprint.get("/readyz")
def readyz():
    """Readiness: Rasa has a model loaded, the database and Redis (when configured) answer.
    503 with the list of what is not ready."""
    problems = [p for p in (_rasa_problem(), _database_problem(), _redis_problem()) if p]
    if problems:
        return jsonify(status="not ready", problems=problems), 503
    return jsonify(status="ready")
