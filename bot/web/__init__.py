"""The project's web app: health check, the website widget and its demo page, a plain chat page
and the staff console."""

from __future__ import annotations

from flask import Flask

from bot.settings import Settings, get_settings
from bot.web import headers, health, security
from bot.web.public import chat, visitor_calendar, widget
from bot.web.staff import console


def create_app(settings: Settings | None = None, test_config: dict | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config.update(
        KAPBOT_SETTINGS=settings,
        RASA_URL=settings.rasa_url,
        RASA_TIMEOUT_SECONDS=30,
        MAX_CONTENT_LENGTH=16 * 1024,
        MAX_MESSAGE_CHARS=2000,
        DATABASE_URL=settings.database_url,
    )
    if test_config:
        app.config.update(test_config)

    security.init_app(app, settings)
    headers.init_app(app)
    # A JSON API called by the chat page's script, not a form: no CSRF token to send.
    security.csrf.exempt(chat.blueprint)
    # The widget posts JSON from the visitor's browser, with no session and no form to protect.
    security.csrf.exempt(widget.blueprint)
    staff = console.create_blueprint()
    # The staff console checks the token itself, right after its sign-in check (so that an
    # anonymous post gets 401, not the app-wide check's 400); the content, sign-off and gap
    # report pages are nested in it, and exempt apart (flask_wtf looks at the innermost one).
    security.csrf.exempt(staff)
    for nested in console.nested_blueprints():
        security.csrf.exempt(nested)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(widget.blueprint)
    app.register_blueprint(chat.blueprint)
    app.register_blueprint(staff)
    app.register_blueprint(visitor_calendar.blueprint)
    return app
