"""The website widget in a real browser (Debian's Chromium, driven by Playwright) on the demo
clinic page, talking to the real Rasa server (socket.io channel) and action server started as
`kapbot serve` starts them, with the web app served on a loopback port."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from bot.db.migrate import upgrade
from bot.db.models import AnswerFeedback
from bot.db.session import session_scope
from bot.ops.runner import child_environment, process_specs
from bot.settings import PROJECT_ROOT, get_settings, settings_from_env
from tests.browser.conftest import running_site
from tests.conftest import free_port
from tests.integration.db.conversations import stored_user_texts

pytestmark = pytest.mark.slow

AXE = PROJECT_ROOT / "tests" / "browser" / "vendor" / "axe.min.js"
XSS = "<img src=x onerror=alert(1)>"
SESSION_KEY = "kapw.session"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Rasa and the action server on a SQLite database, the web app on a free port; yields
    (web app URL, settings). Rasa admits socket.io connections from the web app's origin only."""
    folder = tmp_path_factory.mktemp("widget")
    port = free_port()
    settings = settings_from_env(
        {
            "KAPBOT_VAR_DIR": str(folder / "var"),
            "MODEL_DIR": str(get_settings().model_dir),
            "DATABASE_URL": f"sqlite:///{folder / 'kapbot.db'}",
            "WEB_PORT": str(port),
            "RASA_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
        }
    )
    upgrade(settings.database_url)
    env = {
        **child_environment(settings),
        "KAPBOT_VAR_DIR": str(settings.var_dir),
        "NOTIFY_EMAILS": "",
        "NOTIFY_WEBHOOK_URL": "",
    }
    # The web app runs in this process, so only Rasa and the action server are children.
    with running_site(settings, process_specs(settings), env):
        yield f"http://127.0.0.1:{port}", settings


@pytest.fixture
def page(browser):
    """A fresh browser profile at desktop size; fails the test if any dialog (alert) opens or
    the page's Content-Security-Policy blocks anything."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(HOLD_REPLIES_SCRIPT)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    # The web app's Content-Security-Policy must not block anything the widget needs.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and blocked.append(message.text),
    )
    yield page
    context.close()
    assert dialogs == [], f"a script ran and opened a dialog: {dialogs}"
    assert blocked == [], f"the Content-Security-Policy blocked: {blocked}"


def open_widget(page, base):
    from playwright.sync_api import expect

    page.goto(f"{base}/")
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_role("textbox", name="Type your message")).to_be_focused()
    expect(page.locator(".kapw-state")).to_have_text("Online", timeout=30_000)


def ask(page, text):
    page.get_by_role("textbox", name="Type your message").fill(text)
    page.get_by_role("textbox", name="Type your message").press("Enter")


# Installed before the page's scripts run: wraps the socket.io client the widget loads, so that
# while `window.kapwTestHold.held` is true, everything the server sends back (its replies and the
# acknowledgement of a sent message) waits, in order, until `release()`. A test can then look at
# what the widget shows while it waits for Rasa, however fast Rasa answers.
HOLD_REPLIES_SCRIPT = """
(() => {
  const waiting = [];
  const hold = (fn) => function (...args) {
    if (window.kapwTestHold.held) waiting.push(() => fn.apply(this, args));
    else fn.apply(this, args);
  };
  window.kapwTestHold = {
    held: false,
    release() { this.held = false; waiting.splice(0).forEach((call) => call()); },
  };
  let realIo;
  Object.defineProperty(window, "io", {
    configurable: true,
    get() {
      if (!realIo) return undefined;
      return (...args) => {
        const socket = realIo(...args);
        const on = socket.on.bind(socket);
        const emit = socket.emit.bind(socket);
        socket.on = (event, fn) => on(event, event === "bot_uttered" ? hold(fn) : fn);
        socket.emit = (event, ...rest) => {
          const last = rest[rest.length - 1];
          if (typeof last === "function") rest[rest.length - 1] = hold(last);
          return emit(event, ...rest);
        };
        return socket;
      };
    },
    set(value) { realIo = value; },
  });
})();
"""


def hold_replies(page):
    page.evaluate("window.kapwTestHold.held = true")


def release_replies(page):
    page.evaluate("window.kapwTestHold.release()")


def user_messages_stored(settings, conversation_id, expected_count=None) -> list[str]:
    """What the tracker store holds as this conversation's user messages. Rasa saves the
    tracker just after sending the replies: with `expected_count`, wait for that many."""
    deadline = time.monotonic() + 10
    while True:
        stored = _user_messages(settings, conversation_id)
        if expected_count in (None, len(stored)) or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)


def _user_messages(settings, conversation_id) -> list[str]:
    return stored_user_texts(settings.database_url, conversation_id)


def serious_accessibility_violations(page) -> list:
    """axe-core's serious and critical findings on the page as it is now."""
    # Evaluated by the test driver, not as a <script> the page's CSP would refuse.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        (violation["id"], [node["target"] for node in violation["nodes"]])
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_ask_click_a_suggestion_and_continue_after_a_reload(site, page, screenshots):
    from playwright.sync_api import expect

    base, settings = site
    open_widget(page, base)
    log = page.get_by_role("log", name="Conversation")
    expect(page.get_by_text("not medical advice")).to_be_visible()

    # The reply is held until the test has seen "typing…": a fast Rasa cannot race the check.
    hold_replies(page)
    ask(page, "Is ketamine addictive?")
    expect(page.locator(".kapw-typing")).to_be_visible()
    release_replies(page)
    expect(log).to_contain_text("dependent", timeout=60_000)
    expect(page.locator(".kapw-typing")).to_be_hidden(timeout=60_000)
    expect(log).to_contain_text("Source: How Safe Is KAP?")

    # A vague message gets the fallback's "did you mean" buttons.
    ask(page, "ketamine")
    suggestions = page.get_by_role("group", name="Suggested replies").last
    expect(suggestions.get_by_role("button").first).to_be_visible(timeout=60_000)
    first = suggestions.get_by_role("button").first
    title = first.inner_text()
    first.click()
    expect(first).to_be_disabled()
    expect(page.locator(".kapw-user .kapw-text").last).to_have_text(title)
    # Each FAQ answer arrives with its own "Source: ..." line.
    sources = page.locator(".kapw-bot").filter(has_text="Source: How Safe Is KAP?")
    expect(sources).to_have_count(2, timeout=60_000)

    conversation_id = page.evaluate(f"JSON.parse(localStorage.getItem('{SESSION_KEY}'))")
    uuid.UUID(conversation_id)
    page.screenshot(path=str(screenshots / "widget-desktop.png"))
    assert serious_accessibility_violations(page) == []

    # A reload keeps the conversation on screen, and the next message joins the same tracker.
    page.reload()
    expect(log).to_contain_text("dependent")
    used = page.get_by_role("group", name="Suggested replies").last.get_by_role("button").first
    expect(used).to_be_disabled()
    expect(page.locator(".kapw-state")).to_have_text("Online", timeout=30_000)
    ask(page, "How long does a session last?")
    expect(sources).to_have_count(3, timeout=60_000)
    stored = user_messages_stored(settings, conversation_id, 5)
    # (Rasa's two-stage fallback records the clicked suggestion twice: its own doing.)
    assert stored[:2] == ["Is ketamine addictive?", "ketamine"]
    assert stored[-1] == "How long does a session last?"
    assert stored.count("How long does a session last?") == 1  # nothing sent twice

    # Another page of the site, in another tab, shows the same conversation.
    other_page = page.context.new_page()
    other_page.goto(f"{base}/")
    other_page.get_by_role("button", name="Open chat").click()
    expect(other_page.get_by_role("log", name="Conversation")).to_contain_text(
        "How long does a session last?"
    )


def test_rate_an_answer_then_delete_the_conversation(site, page):
    from playwright.sync_api import expect

    base, settings = site
    open_widget(page, base)
    ask(page, "Is ketamine addictive?")
    page.get_by_role("button", name="Not helpful").click()
    expect(page.get_by_text("Thank you for your feedback.")).to_be_visible()
    expect(page.get_by_role("button", name="Helpful", exact=True)).to_be_disabled()
    conversation_id = page.evaluate(f"JSON.parse(localStorage.getItem('{SESSION_KEY}'))")
    with session_scope(settings.database_url) as session:
        votes = session.query(AnswerFeedback).filter_by(conversation_id=conversation_id).all()
        assert [(vote.topic, vote.vote) for vote in votes] == [("dependence", "down")]
    assert user_messages_stored(settings, conversation_id, 1) == ["Is ketamine addictive?"]

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Delete this conversation").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("cannot be recovered")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".kapw-bot")).to_have_count(2)

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Delete this conversation").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator(".kapw-msg")).to_have_count(0)
    assert user_messages_stored(settings, conversation_id) == []
    # The fresh session works: the next question gets its answer under the new id, which the
    # server gave on reconnecting.
    ask(page, "Is ketamine addictive?")
    expect(page.get_by_role("log", name="Conversation")).to_contain_text(
        "dependent", timeout=60_000
    )
    fresh = page.evaluate(f"JSON.parse(localStorage.getItem('{SESSION_KEY}'))")
    assert fresh != conversation_id
    assert user_messages_stored(settings, fresh, 1) == ["Is ketamine addictive?"]


def test_a_message_typed_while_offline_is_kept_and_sent_on_reconnecting(site, page):
    from playwright.sync_api import expect

    base, settings = site
    # Rasa unreachable: every socket.io request fails, as when the visitor's network drops.
    page.route("**/socket.io/**", lambda route: route.abort())
    page.goto(f"{base}/")
    page.get_by_role("button", name="Open chat").click()
    expect(page.locator(".kapw-state")).to_contain_text("Offline")
    ask(page, "Is ketamine addictive?")
    expect(page.locator(".kapw-user")).to_contain_text("waiting to send")
    # Even a reload while offline keeps it.
    page.reload()
    expect(page.locator(".kapw-user")).to_contain_text("waiting to send")

    page.unroute("**/socket.io/**")
    expect(page.locator(".kapw-state")).to_have_text("Online", timeout=30_000)
    expect(page.get_by_role("log", name="Conversation")).to_contain_text(
        "dependent", timeout=60_000
    )
    expect(page.locator(".kapw-user")).not_to_contain_text("waiting to send")
    conversation_id = page.evaluate(f"JSON.parse(localStorage.getItem('{SESSION_KEY}'))")
    assert user_messages_stored(settings, conversation_id, 1) == ["Is ketamine addictive?"]


def test_markup_from_either_side_shows_as_text_and_no_script_runs(site, page):
    from playwright.sync_api import expect

    base, _settings = site
    open_widget(page, base)
    ask(page, XSS)
    expect(page.locator(".kapw-user .kapw-text").last).to_have_text(XSS)
    expect(page.locator(".kapw-bot")).to_have_count(1, timeout=60_000)

    # A bot message carrying markup and links goes through the same rendering as a live one:
    # put it in the stored history and reload.
    session = page.evaluate(f"JSON.parse(localStorage.getItem('{SESSION_KEY}'))")
    bot_text = f"{XSS} See https://example.org/kap. Not a link: javascript:alert(2)"
    page.evaluate(
        """([key, text]) => {
            const history = JSON.parse(localStorage.getItem(key));
            history.push({from: "bot", text: text, buttons: []});
            localStorage.setItem(key, JSON.stringify(history));
        }""",
        [f"kapw.history.{session}", bot_text],
    )
    page.reload()
    last = page.locator(".kapw-bot").last
    expect(last.locator(".kapw-text")).to_have_text(bot_text)
    links = last.get_by_role("link")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/kap")
    expect(links).to_have_attribute("target", "_blank")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    # No script can run if the markup never became elements: no <img>, <script> or element
    # with an inline handler anywhere in the widget (checked now, not after a wait for one).
    scriptable = page.evaluate(
        """() => [...document.querySelectorAll('.kapw *')].filter(element =>
            ['IMG', 'SCRIPT', 'IFRAME'].includes(element.tagName) ||
            [...element.attributes].some(attribute => attribute.name.startsWith('on'))
        ).length"""
    )
    assert scriptable == 0


def test_keyboard_only(site, page):
    from playwright.sync_api import expect

    base, _settings = site
    page.goto(f"{base}/")
    launcher = page.get_by_role("button", name="Open chat")
    for _ in range(10):
        page.keyboard.press("Tab")
        if launcher.evaluate("element => element === document.activeElement"):
            break
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    box = page.get_by_role("textbox", name="Type your message")
    expect(box).to_be_focused()
    page.keyboard.type("Is ketamine addictive?")
    page.keyboard.press("Enter")
    expect(page.get_by_role("log", name="Conversation")).to_contain_text(
        "dependent", timeout=60_000
    )
    # The answer itself, not only its last message (the source line), reaches the live region.
    region = page.locator(".kapw [aria-live='polite']")
    expect(region).to_contain_text("dependent")
    expect(region).to_contain_text("Source:")

    # Crisis information without a server round trip.
    requests_made: list[str] = []
    page.on("request", lambda request: requests_made.append(request.url))
    page.get_by_role("link", name="Need help now?").focus()
    page.keyboard.press("Enter")
    crisis = page.locator(".kapw-crisis")
    expect(crisis).to_contain_text("call 911 now")
    expect(crisis).to_contain_text("call or text 988")
    assert requests_made == []

    page.keyboard.press("Escape")
    expect(box).to_be_hidden()
    expect(launcher).to_be_focused()


def test_mobile_360_px_and_accessibility(site, browser, screenshots):
    from playwright.sync_api import expect

    base, _settings = site
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        open_widget(page, base)
        ask(page, "Is ketamine addictive?")
        expect(page.get_by_role("log", name="Conversation")).to_contain_text(
            "dependent", timeout=60_000
        )
        expect(page.get_by_role("button", name="Not helpful")).to_be_visible()
        page.screenshot(path=str(screenshots / "widget-mobile.png"))
        # A long unbroken word wraps instead of widening the page.
        ask(page, "x" * 300)
        expect(page.locator(".kapw-user")).to_have_count(2)
        long_message = page.locator(".kapw-user").last.bounding_box()
        assert long_message["x"] >= 0 and long_message["x"] + long_message["width"] <= 360
        panel = page.get_by_role("dialog", name="KAP Assistant chat").bounding_box()
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 360
        no_sideways_scroll = "document.documentElement.scrollWidth <= 360"
        assert page.evaluate(no_sideways_scroll)
        for control in (
            page.get_by_role("textbox", name="Type your message"),
            page.get_by_role("button", name="Send"),
            page.get_by_role("link", name="Need help now?"),
        ):
            expect(control).to_be_in_viewport()

        assert serious_accessibility_violations(page) == []
    finally:
        context.close()


def test_socketio_refuses_an_origin_not_in_cors_origins(site):
    _base, settings = site
    handshake = f"{settings.rasa_url}/socket.io/?EIO=4&transport=polling"
    allowed = requests.get(handshake, headers={"Origin": settings.web_url}, timeout=10)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == settings.web_url
    refused = requests.get(handshake, headers={"Origin": "https://evil.example"}, timeout=10)
    assert refused.status_code == 400
