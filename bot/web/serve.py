"""Serves the web app with waitress (`python -m bot.web.serve`), as `kapbot serve` does."""

from __future__ import annotations

import logging

from waitress import serve

from bot.settings import get_settings
from bot.web import create_app


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    serve(create_app(settings), host=settings.web_host, port=settings.web_port, threads=8)


if __name__ == "__main__":
    main()
