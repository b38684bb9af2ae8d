"""The project's web app: health check and a plain chat page (the widget and staff console
arrive as further blueprints)."""

from __future__ import annotations

from flask import Flask

from bot.settings import Settings, get_settings


def create_app(settings: Settings | None = None, test_config: dict | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config.update(
        KAPBOT_SETTINGS=settings,
        RASA_URL=settings.rasa_url,
        RASA_TIMEOUT_SECONDS=30,
        MAX_CONTENT_LENGTH=16 * 1024,
        MAX_MESSAGE_CHARS=2000,
    )
    if test_config:
        app.config.update(test_config)

    from bot.web import chat, health

    app.register_blueprint(health.blueprint)
    app.register_blueprint(chat.blueprint)
    return app
