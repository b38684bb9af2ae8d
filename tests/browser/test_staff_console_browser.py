"""The staff console in a real browser (Debian's Chromium, driven by Playwright) against the web
app served for real on a loopback port, with a SQLite database holding a handoff and a user."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from bot.db.migrate import upgrade
from bot.db.models import utc_now
from bot.db.session import session_scope
from bot.handoffs import Contact, HandoffDraft, Turn, deliver, get_handoff
from bot.settings import settings_from_env
from bot.staff_accounts import create_user
from bot.web import create_app
from tests.conftest import free_port

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
REFERENCE = "KAP-BRWS42"


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def served(tmp_path):
    """The web app on a free port, in a thread, with one user and one open handoff."""
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    upgrade(url)
    with session_scope(url) as session:
        create_user(session, "alice", PASSWORD, "staff")
    draft = HandoffDraft(
        reason="human_request",
        conversation_id="conv-browser",
        question="Could someone call me about dosing?",
        transcript=[
            Turn("user", "Could someone call me about dosing?", utc_now(), "ask_human", 0.83),
            Turn("bot", "I will pass this to the care team.", utc_now()),
        ],
        contact=Contact("Riley Browser", "555-0199", None, True),
        reference=REFERENCE,
    )
    assert deliver(draft, url=url, pending=tmp_path / "pending.jsonl")
    port = free_port()
    settings = settings_from_env(
        {
            "KAPBOT_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": url,
            "WEB_PORT": str(port),
            "RASA_PORT": str(free_port()),
        }
    )
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", url, app
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_sign_in_find_open_and_resolve_a_handoff(served, browser):
    from playwright.sync_api import expect

    base, url, _app = served
    page = browser.new_page()
    page.goto(f"{base}/staff/")
    expect(page).to_have_url(f"{base}/staff/login?next=/staff/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("a wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Sign-in refused")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/staff/")
    expect(page.get_by_role("heading", name="Handoffs")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=REFERENCE)
    expect(row).to_contain_text("human request")
    expect(row).to_contain_text("open")

    page.get_by_role("link", name=REFERENCE).click()
    expect(page).to_have_url(f"{base}/staff/handoffs/{REFERENCE}")
    expect(page.get_by_role("heading", name=f"Handoff {REFERENCE}")).to_be_visible()
    expect(page.locator("#transcript")).to_contain_text("Could someone call me about dosing?")
    expect(page.locator("#transcript")).to_contain_text("ask_human")
    expect(page.locator("#transcript")).to_contain_text("0.83")
    expect(page.get_by_text("Riley Browser")).to_be_visible()

    page.get_by_label("Add a note").fill("Left a voicemail.")
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_role("status")).to_contain_text("Your note is saved.")

    page.get_by_role("button", name="Mark resolved").click()
    expect(page.get_by_role("status")).to_contain_text(f"{REFERENCE} is resolved.")
    expect(page.locator("#handoff-status")).to_have_text("resolved")

    with session_scope(url) as session:
        stored = get_handoff(session, REFERENCE)
        assert (stored.status, stored.resolved_by) == ("resolved", "alice")
        assert [(note.author, note.text) for note in stored.notes] == [
            ("alice", "Left a voicemail.")
        ]

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/staff/login")
    page.goto(f"{base}/staff/handoffs/{REFERENCE}")
    expect(page).to_have_url(f"{base}/staff/login?next=/staff/handoffs/{REFERENCE}")


def test_anonymous_requests_to_every_staff_route_are_refused(served):
    base, _url, app = served
    opener = urllib.request.build_opener(NoRedirects)
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff") and rule.endpoint != "staff.login"
    ]
    assert len(rules) >= 9
    for rule in rules:
        path = rule.rule.replace("<reference>", REFERENCE)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            request = urllib.request.Request(
                base + path, method=method, data=b"" if method == "POST" else None
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                opener.open(request, timeout=10)
            body = refused.value.read().decode()
            if method == "GET":
                assert refused.value.code == 302, path
                assert refused.value.headers["Location"].startswith("/staff/login?next="), path
            else:
                assert refused.value.code == 401, path
            assert "Riley Browser" not in body and "dosing" not in body
