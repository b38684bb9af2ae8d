"""The real browser the browser tests drive: Debian's Chromium through Playwright (test tools
cannot download browsers here; `.ci/run` installs Chromium with apt)."""

from __future__ import annotations

import pytest

CHROMIUM = "/usr/bin/chromium"


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
