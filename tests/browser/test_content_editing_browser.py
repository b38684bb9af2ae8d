"""A content editor closes the loop in a real browser (Debian's Chromium, driven by Playwright):
a visitor's question the bot could not answer reaches the inbox, the editor adds it to a topic,
retrains, reads the comparison with the live model, publishes, and the running Rasa server answers
the same question with the new model, with no restart. On the way, the editor also changes the
bladder answer: publishing is refused until a clinician, who sees the change beside the article's
section, approves it; a later change the clinician sends back never reaches visitors.

Everything is real: the Rasa server (model API on, with a token, on loopback) and the action
server as `kapbot serve` starts them, the web app on a loopback port, a real background training
(about three minutes) of a scratch copy of the project's content. The pictures in
docs/editing-content.md are taken here (`make screenshots` writes them to docs/)."""

from __future__ import annotations

import shutil
import uuid

import pytest
import requests

from bot.content.editing import ContentProject
from bot.db.migrate import upgrade
from bot.db.session import session_scope
from bot.desk.staff_accounts import create_user
from bot.models.store import live_model
from bot.ops.runner import child_environment, process_specs
from bot.settings import get_settings
from tests.browser.conftest import running_site
from tests.browser.test_widget_browser import ask, open_widget, serious_accessibility_violations
from tests.conftest import free_port
from tests.project_copies import copy_project

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
# Before: the bot is unsure ("did you mean…" benefits or conditions). It is a cost question.
QUESTION = "whats the damage for a full course"
BLADDER_QUESTION = "Is ketamine bad for the bladder?"
# The editor's first change to the bladder answer, which the clinician approves, and the second,
# which the clinician sends back.
APPROVED_ADDITION = "Tell the screening clinician about any bladder symptoms you already have."
RETURNED_ADDITION = "Bladder problems never happen with KAP."
TRAINING_TIMEOUT_MS = 15 * 60_000


@pytest.fixture(scope="module")
def editor_site(tmp_path_factory, model_path):
    """A scratch project, a model directory whose live model is the suite's model, Rasa with its
    model API and the action server, and the web app; yields (web URL, Rasa URL, project)."""
    folder = tmp_path_factory.mktemp("content-editing")
    project = copy_project(folder / "project")
    models = folder / "models"
    models.mkdir()
    shutil.copy2(model_path, models / model_path.name)
    web_port = free_port()
    variables = {
        "KAPBOT_VAR_DIR": str(folder / "var"),
        "KAPBOT_CONTENT_ROOT": str(project),
        "MODEL_DIR": str(models),
        "DATABASE_URL": f"sqlite:///{folder / 'kapbot.db'}",
        "WEB_PORT": str(web_port),
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "RASA_API_TOKEN": uuid.uuid4().hex,
        "NOTIFY_EMAILS": "",
        "NOTIFY_WEBHOOK_URL": "",
    }
    with pytest.MonkeyPatch.context() as patch:
        # The web app's training, publishing and editing read the settings from the environment.
        for name, value in variables.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        settings = get_settings()
        upgrade(settings.database_url)
        with session_scope(settings.database_url) as session:
            create_user(session, "erin", PASSWORD, "editor")
            create_user(session, "sam", PASSWORD, "staff")
            create_user(session, "cleo", PASSWORD, "clinician")
        env = {**child_environment(settings), **variables}
        # As `kapbot serve` starts them: the live model, and Rasa's model API with its token.
        specs = process_specs(settings, live_model(settings), settings.rasa_api_token)
        with running_site(settings, specs, env):
            yield f"http://127.0.0.1:{web_port}", settings.rasa_url, project
    get_settings.cache_clear()


def ask_rasa(rasa_url: str, text: str) -> str:
    """What the running Rasa server answers, as a new visitor, through the REST channel. Like the
    widget, it asks again after the "try again" apology (a first turn on a busy machine can
    outlast REPLY_TIMEOUT_SECONDS)."""
    for _attempt in range(3):
        response = requests.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": f"visitor-{uuid.uuid4().hex[:8]}", "message": text},
            timeout=60,
        )
        response.raise_for_status()
        messages = response.json()
        if not any(message.get("custom", {}).get("unavailable") for message in messages):
            return "\n".join(message.get("text", "") for message in messages)
    pytest.fail(f"Rasa did not answer {text!r}: {messages}")


def edit_answer(page, label: str, answer: str) -> str:
    """Saves a new answer for the topic called `label` through the editor's form."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Content", exact=True).click()
    page.get_by_role("link", name=label).click()
    page.get_by_label("Answer", exact=True).fill(answer)
    page.get_by_role("button", name="Check and save").click()
    expect(page.locator(".flash.success", has_text="Saved")).to_be_visible(timeout=60_000)
    expect(page.locator("#signoff-state")).to_contain_text("awaiting sign-off")
    return answer


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def page(browser):
    """A fresh profile; fails the test if the console's CSP blocks anything it loads."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and blocked.append(message.text),
    )
    yield page
    context.close()
    assert blocked == []


def test_a_staff_account_is_refused_the_content_pages(editor_site, page):
    from playwright.sync_api import expect

    base, _, _ = editor_site
    sign_in(page, base, "sam")
    expect(page.get_by_role("navigation", name="Staff console")).to_be_visible()
    expect(page.get_by_role("link", name="Content", exact=True)).to_have_count(0)
    response = page.goto(f"{base}/staff/content")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_inbox_to_published_model(editor_site, page, screenshots):
    from playwright.sync_api import expect

    base, rasa_url, project = editor_site
    cost_answer = ContentProject(project).get_topic("cost").answer
    first_words = " ".join(cost_answer.split()[:6])
    before = ask_rasa(rasa_url, QUESTION)
    assert "Did you mean" in before, "the question must be one the live model is unsure about"
    assert first_words not in before
    live_before = live_model()

    sign_in(page, base, "erin")
    page.get_by_role("link", name="Content", exact=True).click()
    expect(page.get_by_role("heading", name="Topics the bot answers")).to_be_visible()
    page.screenshot(path=str(screenshots / "content-topics.png"))
    assert serious_accessibility_violations(page) == []

    # A refused edit: explained next to the field, nothing saved.
    page.get_by_role("link", name=ContentProject(project).get_topic("cost").label).click()
    page.get_by_label("Answer", exact=True).fill("Ask the clinic.")
    page.get_by_role("button", name="Check and save").click()
    expect(page.locator("#answer-error")).to_contain_text("words")
    expect(page.get_by_label("Answer", exact=True)).to_have_attribute("aria-invalid", "true")
    page.locator("#answer-error").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "content-topic-form.png"))
    assert serious_accessibility_violations(page) == []
    assert ContentProject(project).get_topic("cost").answer == cost_answer

    # The visitor's question waits in the inbox, and becomes an example of the cost topic.
    page.get_by_role("link", name="Inbox").click()
    row = page.locator("tr.inbox-item").filter(has_text=QUESTION)
    expect(row).to_have_count(1)
    page.screenshot(path=str(screenshots / "content-inbox.png"))
    assert serious_accessibility_violations(page) == []
    row.get_by_label("Topic or outcome for this message").select_option("cost")
    row.get_by_role("button", name="Add as example").click()
    expect(page.get_by_text("Added the message as an example of cost")).to_be_visible()
    expect(page.locator("tr.inbox-item").filter(has_text=QUESTION)).to_have_count(0)
    assert QUESTION in ContentProject(project).get_topic("cost").examples

    # The gap report shows the same question among what the bot could not answer.
    page.get_by_role("link", name="Gap report").click()
    expect(page.locator("#theme-table")).to_contain_text(QUESTION)
    page.wait_for_function(
        "() => { const chart = document.querySelector('#health-chart');"
        " return chart.complete && chart.naturalWidth > 0; }",
        timeout=60_000,
    )
    assert page.locator("#health-chart").evaluate("img => img.naturalWidth") == 800
    page.screenshot(path=str(screenshots / "content-gaps.png"), full_page=True)
    assert serious_accessibility_violations(page) == []

    # The editor also adds a sentence to the bladder answer: a change a clinician must approve.
    bladder = ContentProject(project).get_topic("bladder")
    approved_text = edit_answer(page, bladder.label, f"{bladder.answer} {APPROVED_ADDITION}")
    assert APPROVED_ADDITION not in ask_rasa(rasa_url, BLADDER_QUESTION)

    # Retrain: progress while it runs, then the comparison with the live model.
    page.get_by_role("link", name="Retrain and publish").click()
    page.get_by_role("button", name="Retrain now").click()
    expect(page.locator("#progress-bar")).to_be_visible()
    expect(page.locator("#progress-step")).not_to_have_text("", timeout=60_000)
    page.screenshot(path=str(screenshots / "content-training-progress.png"))
    expect(page.get_by_role("heading", name="Verdict")).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    expect(page.locator("#verdict-text")).to_contain_text("no worse")
    expect(page.locator("#summary-table")).to_contain_text("Accuracy")
    expect(page.locator("#label-cost")).to_be_visible()
    assert page.locator("#candidate-confusion").evaluate("img => img.naturalWidth") > 300
    page.screenshot(path=str(screenshots / "content-comparison.png"), full_page=True)
    assert serious_accessibility_violations(page) == []

    # Refused: the bladder answer awaits a clinician's sign-off, as the page says.
    expect(page.locator("#awaiting-signoff")).to_contain_text("bladder")
    page.get_by_role("button", name="Publish this model").click()
    refusal = page.locator(".flash.error", has_text="await a clinician's sign-off")
    expect(refusal).to_be_visible(timeout=120_000)
    expect(refusal).to_contain_text("bladder")
    assert live_model() == live_before

    # The clinician sees the change next to the article's section, and approves it.
    clinician = page.context.browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(clinician, base, "cleo")
    clinician.get_by_role("link", name="Content", exact=True).click()
    expect(clinician.locator("#signoff-summary")).to_contain_text("1 answer awaiting")
    clinician.locator("#topic-bladder").get_by_role("link", name="Review and decide").click()
    expect(clinician.locator("#answer-diff ins")).to_have_text(APPROVED_ADDITION)
    expect(clinician.locator("#article-section")).to_contain_text("bladder")
    clinician.screenshot(path=str(screenshots / "content-signoff.png"), full_page=True)
    assert serious_accessibility_violations(clinician) == []
    clinician.get_by_role("button", name="Approve this answer").click()
    expect(clinician.locator(".flash.success", has_text="Approved.")).to_be_visible()
    expect(clinician.locator("#signoff-summary")).to_have_text(
        "Every answer is signed off by a clinician."
    )

    page.reload()
    expect(page.locator("#awaiting-signoff")).to_have_count(0)
    page.get_by_role("button", name="Publish this model").click()
    # The page's verdict also says "can be published": wait for the flash of the next page.
    expect(page.locator(".flash.success", has_text="Published. Visitors now get")).to_be_visible(
        timeout=120_000
    )
    live_after = live_model()
    assert live_after != live_before
    expect(page.locator("#live-model")).to_have_text(live_after.name)

    # The running server answers with the new model: the question now gets the cost answer.
    status = requests.get(
        f"{rasa_url}/status", params={"token": get_settings().rasa_api_token}, timeout=10
    ).json()
    assert status["model_file"].endswith(live_after.name)
    assert first_words in ask_rasa(rasa_url, QUESTION)
    # The widget shows the approved bladder text.
    visitor = page.context.browser.new_page()
    open_widget(visitor, base)
    ask(visitor, BLADDER_QUESTION)
    log = visitor.get_by_role("log", name="Conversation")
    expect(log).to_contain_text(APPROVED_ADDITION, timeout=60_000)

    # A second change, which the clinician sends back: the editor sees why, visitors keep the
    # approved text.
    edit_answer(page, bladder.label, f"{approved_text} {RETURNED_ADDITION}")
    clinician.goto(f"{base}/staff/content/signoff/bladder")
    expect(clinician.locator("#answer-diff ins")).to_have_text(RETURNED_ADDITION)
    clinician.get_by_label("What should change?").fill("Not true: say what the article says.")
    clinician.get_by_role("button", name="Request changes").click()
    expect(clinician.locator(".flash.success", has_text="Changes requested.")).to_be_visible()
    page.goto(f"{base}/staff/content/topics/bladder")
    expect(page.locator("#change-request")).to_contain_text("Not true: say what the article says.")
    assert live_model() == live_after
    ask(visitor, BLADDER_QUESTION)
    expect(visitor.locator(".kapw-bot").filter(has_text=APPROVED_ADDITION)).to_have_count(
        2, timeout=60_000
    )
    expect(log).not_to_contain_text(RETURNED_ADDITION)
    assert RETURNED_ADDITION not in ask_rasa(rasa_url, BLADDER_QUESTION)
    page.goto(f"{base}/staff/content/training")

    # And one click brings the previous model back.
    page.get_by_role("button", name=f"Roll back to {live_before.name}").click()
    expect(page.locator(".flash.success", has_text="Rolled back.")).to_be_visible(timeout=120_000)
    assert live_model() == live_before
    assert first_words not in ask_rasa(rasa_url, QUESTION)
