"""Sessions, cookies, CSRF protection, the request size limit and the trusted proxy for the web
app."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.files.local_secrets import persistent_secret
from bot.settings import Settings, SettingsError

csrf = CSRFProtect()
SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)


def secret_key_for(settings: Settings) -> str:
    """SECRET_KEY if set. Otherwise, outside production, a key generated once and kept in
    var_dir/secret_key (readable by the owner only) so sessions survive restarts."""
    if settings.secret_key:
        return settings.secret_key
    if settings.environment == "production":
        raise SettingsError(
            "SECRET_KEY must be set in production: it signs the staff console's session "
            "cookies. Generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`"
            " and put it in the environment or .env."
        )
    return persistent_secret(Path(settings.var_dir) / SECRET_KEY_FILE)


def init_app(app: Flask, settings: Settings) -> None:
    """Secret key, cookie flags and app-wide CSRF protection (JSON APIs are exempted where they
    are registered)."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key_for(settings)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Sent over HTTPS only when visitors reach the app by HTTPS (or in production).
    if settings.environment == "production" or settings.public_base_url.startswith("https:"):
        app.config["SESSION_COOKIE_SECURE"] = True
    if settings.trust_proxy:
        # One proxy in front: its X-Forwarded-* headers give the client's address and scheme.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", dt.timedelta(hours=8))
    # A CSRF token lives as long as the sign-in; the default (1 hour) would make a form left
    # open over lunch fail.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        limit = app.config["MAX_CONTENT_LENGTH"] // 1024
        message = f"The request is too large: this app accepts at most {limit} KB."
        if request.path.startswith("/api/") or request.is_json:
            return jsonify(error=message), 413
        return render_template("staff/error.html", title="Too large", message=message), 413

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError):
        return (
            render_template(
                "staff/error.html",
                title="Form expired",
                message="The form could not be accepted because its security token is missing "
                "or out of date. Go back, reload the page and try again.",
            ),
            400,
        )
