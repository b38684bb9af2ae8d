from __future__ import annotations

from flask import Blueprint, jsonify

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    """Liveness: the web app process answers."""
    return jsonify(status="ok")
