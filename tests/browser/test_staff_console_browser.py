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
from bot.desk.handoff_delivery import deliver
from bot.desk.handoff_drafts import Contact, HandoffDraft, Turn
from bot.desk.handoffs import get_handoff
from bot.desk.staff_accounts import create_user
from bot.settings import settings_from_env
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
        path = rule.rule.replace("<reference>", REFERENCE).replace("<username>", "alice")
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


# --- Sign-in that strangers cannot lock, sessions the server can end (issue 14) ----------------

STRANGER, OWNER = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def behind_proxy(tmp_path):
    """The web app as deployed behind nginx (TRUST_PROXY): each browser context says where it
    comes from in X-Forwarded-For, as nginx would. Users: alice (staff) and adam (admin)."""
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    upgrade(url)
    with session_scope(url) as session:
        create_user(session, "alice", PASSWORD, "staff")
        create_user(session, "adam", PASSWORD, "admin")
    port = free_port()
    env = {"KAPBOT_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": url, "WEB_PORT": str(port)}
    settings = settings_from_env({**env, "RASA_PORT": str(free_port()), "TRUST_PROXY": "true"})
    server = make_server("127.0.0.1", port, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def browser_from(browser, address: str):
    return browser.new_context(extra_http_headers={"X-Forwarded-For": address}).new_page()


def sign_in_page(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_strangers_wrong_passwords_do_not_keep_the_owner_out(behind_proxy, browser):
    from playwright.sync_api import expect

    base = behind_proxy
    stranger = browser_from(browser, STRANGER)
    # Five wrong passwords, then more until the stranger's address is made to wait (each wait
    # is twice the last, so however slow this machine, one guess soon lands inside one).
    for number in range(15):
        sign_in_page(stranger, base, "alice", f"a wrong guess {number}")
        alert = stranger.get_by_role("alert")
        expect(alert).to_be_visible()
        if "Too many sign-in attempts. Try again in" in alert.inner_text():
            break
        expect(alert).to_contain_text("Sign-in refused")
    else:
        pytest.fail("the stranger's address was never made to wait")
    assert number >= 5

    # ...but the owner, from their own address, signs in at once.
    owner = browser_from(browser, OWNER)
    sign_in_page(owner, base, "alice", PASSWORD)
    expect(owner.get_by_role("heading", name="Handoffs")).to_be_visible()


def test_after_sign_out_the_old_cookie_is_sent_to_sign_in(behind_proxy, browser):
    from playwright.sync_api import expect

    base = behind_proxy
    page = browser_from(browser, OWNER)
    sign_in_page(page, base, "alice", PASSWORD)
    expect(page.get_by_role("heading", name="Handoffs")).to_be_visible()
    stolen = page.context.cookies()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/staff/login")

    thief = browser.new_context()
    thief.add_cookies(stolen)
    replayed = thief.new_page()
    replayed.goto(f"{base}/staff/handoffs")
    expect(replayed).to_have_url(f"{base}/staff/login?next=/staff/handoffs")
    expect(replayed.get_by_role("alert")).to_contain_text("Your session has ended")


def test_an_admin_resets_a_password_and_the_user_must_choose_a_new_one(behind_proxy, browser):
    from playwright.sync_api import expect

    base = behind_proxy
    alice = browser_from(browser, OWNER)
    sign_in_page(alice, base, "alice", PASSWORD)
    expect(alice.get_by_role("heading", name="Handoffs")).to_be_visible()

    admin = browser_from(browser, "192.0.2.5")
    sign_in_page(admin, base, "adam", PASSWORD)
    admin.get_by_role("link", name="Accounts").click()
    admin.get_by_role("button", name="Reset the password of alice").click()
    temporary = admin.locator("#temporary-password code").inner_text()
    assert len(temporary) >= 12

    # Alice's open session has ended.
    alice.reload()
    expect(alice).to_have_url(f"{base}/staff/login?next=/staff/handoffs")
    sign_in_page(alice, base, "alice", temporary)
    expect(alice).to_have_url(f"{base}/staff/password")
    alice.get_by_label("Current password").fill(temporary)
    alice.get_by_label("New password (at least 12 characters)").fill("my own new passphrase")
    alice.get_by_label("The new password again").fill("my own new passphrase")
    alice.get_by_role("button", name="Change password").click()
    expect(alice.get_by_role("heading", name="Handoffs")).to_be_visible()
    expect(alice.get_by_role("status")).to_contain_text("Your password is changed.")
