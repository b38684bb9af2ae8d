"""The web app without Rasa: health, the page, and how bad input and a missing Rasa are handled."""

import pytest

from bot.settings import settings_from_env
from bot.web import create_app
from tests.conftest import free_port


@pytest.fixture
def client():
    # A port nothing listens on: the relay meets a real refused connection.
    settings = settings_from_env({"RASA_PORT": str(free_port())})
    return create_app(settings).test_client()


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_chat_page_has_the_form_disclaimer_and_crisis_numbers(client):
    page = client.get("/chat").get_data(as_text=True)
    assert 'id="chat-form"' in page
    assert "does not give medical advice" in page
    assert "911" in page and "988" in page
    assert "<script>" not in page  # no inline script: the page's JS is a static file


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "Send a JSON object"),
        ({"sender": "bad id!", "message": "hi"}, "'sender' must be a conversation id"),
        ({"sender": "abcdef123456", "message": "   "}, "Type a message first."),
        ({"sender": "abcdef123456", "message": "x" * 2001}, "under 2000 characters"),
        ({"sender": "abcdef123456", "message": ["hi"]}, "Type a message first."),
    ],
)
def test_bad_input_gets_a_clear_400(client, body, message):
    if isinstance(body, str):
        response = client.post("/api/chat", data=body, content_type="application/json")
    else:
        response = client.post("/api/chat", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_oversized_request_is_refused(client):
    response = client.post("/api/chat", data="x" * 20_000, content_type="application/json")
    assert response.status_code == 413


def test_unreachable_rasa_gives_an_honest_503_with_crisis_numbers(client):
    response = client.post("/api/chat", json={"sender": "abcdef123456", "message": "hello"})
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert "not available right now" in error and "988" in error
