"""The real browser the browser tests drive: Debian's Chromium through Playwright (test tools
cannot download browsers here; `.ci/run` installs Chromium with apt)."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where the browser tests save the pictures docs/ shows: docs/ itself only when asked
    (`make screenshots`, KAPBOT_SCREENSHOTS=docs), so that `make test` leaves the tree as it was."""
    if os.environ.get("KAPBOT_SCREENSHOTS") == "docs":
        return PROJECT_ROOT / "docs"
    return tmp_path_factory.mktemp("screenshots")


# Per module, not per session: Playwright's sync API keeps an event loop of its own running while
# the browser is open, which the rest of the suite should not run beside.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def running_site(settings, specs, env):
    """The children in `specs` but the web app (Rasa, the action server) under a Supervisor, and
    the web app in a thread of this process on settings.web_port; yields once all answer."""
    from werkzeug.serving import make_server

    from bot.ops.runner import Supervisor
    from bot.web import create_app
    from tests.system.conftest import NO_RATE_LIMITS

    # Every browser test writes from this machine; the limits are tested in tests/system.
    supervisor = Supervisor(
        [spec for spec in specs if spec.name != "web"], {**env, **NO_RATE_LIMITS}
    )
    supervisor.start()
    server = make_server("127.0.0.1", settings.web_port, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        not_ready = supervisor.wait_until_ready()
        assert not_ready is None, f"{not_ready} did not start"
        yield
    finally:
        server.shutdown()
        thread.join(timeout=10)
        supervisor.stop()
