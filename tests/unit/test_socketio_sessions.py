"""Socket.io conversation ids that only the server hands out (bot/channels/sessions.py)."""

from __future__ import annotations

import uuid

import pytest

from bot.channels import sessions
from bot.settings import settings_from_env


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    def use(key: str) -> None:
        settings = settings_from_env({"SECRET_KEY": key})
        monkeypatch.setattr(sessions, "get_settings", lambda: settings)
        sessions._signing_key.cache_clear()

    use("k" * 64)
    yield use
    sessions._signing_key.cache_clear()


def test_a_new_conversation_gets_a_random_id_and_its_token_resumes_it():
    first, second = sessions.new_session(), sessions.new_session()
    assert first.session_id != second.session_id
    uuid.UUID(first.session_id)
    asked = {"session_id": first.session_id, "session_token": first.token}
    assert sessions.resume(asked) == first


@pytest.mark.parametrize(
    "request_",
    [
        None,
        "a-session-id",
        ["x"],
        {},
        {"session_id": "victim-0001"},
        {"session_id": "victim-0001", "session_token": "0" * 64},
        {"session_id": "victim-0001", "session_token": 42},
        {"session_id": "victim-0001", "session_token": "é" * 64},
        {"session_id": "\ud800", "session_token": "0" * 64},
        {"session_id": 7, "session_token": "0" * 64},
    ],
)
def test_anything_but_a_conversation_with_its_own_token_gets_a_new_one(request_):
    given = sessions.resume(request_)
    assert given.session_id != "victim-0001"
    uuid.UUID(given.session_id)


def test_a_token_is_only_good_for_its_own_conversation_and_key(secret):
    mine, theirs = sessions.new_session(), sessions.new_session()
    swapped = {"session_id": theirs.session_id, "session_token": mine.token}
    assert sessions.resume(swapped).session_id not in (mine.session_id, theirs.session_id)
    secret("another key" * 4)  # SECRET_KEY changed: old tokens no longer count
    kept = {"session_id": mine.session_id, "session_token": mine.token}
    assert sessions.resume(kept).session_id != mine.session_id
