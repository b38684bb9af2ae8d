"""Taking over another visitor's conversation on the real Rasa server's socket.io channel, with a
real python-socketio client: knowing a visitor's conversation id (staff see it, the site keeps it
in localStorage) must not let anyone read their replies or write into their conversation."""

from __future__ import annotations

import threading
import time

import pytest
import socketio

from bot.content.model import load_content
from tests.integration.db.conversations import stored_user_texts

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("servers", ["sqlite"], indirect=True)]

ORIGIN = "http://127.0.0.1:8080"  # allowed by default (CORS_ORIGINS)
DEPENDENCE = load_content().topic("dependence").answer
BLADDER = load_content().topic("bladder").answer


def _as_confirmation(data) -> dict:
    # Rasa's own channel confirms with the bare id, which the client chose.
    return data if isinstance(data, dict) else {"session_id": data, "session_token": None}


class Visitor:
    """One browser tab: a socket.io connection, the conversation the server gave it and every
    bot message that reached it."""

    def __init__(self, rasa_url: str) -> None:
        self.client = socketio.Client(reconnection=False)
        self.confirmed: list[dict] = []
        self.replies: list[str] = []
        self.changed = threading.Condition()
        self.client.on("session_confirm", self._note(self.confirmed, _as_confirmation))
        self.client.on("bot_uttered", self._note(self.replies, lambda data: data.get("text", "")))
        self.client.connect(rasa_url, headers={"Origin": ORIGIN}, transports=["polling"])

    def _note(self, into: list, pick=lambda data: data):
        def handler(data):
            with self.changed:
                into.append(pick(data))
                self.changed.notify_all()

        return handler

    def wait(self, condition, timeout: float = 60) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, timeout=timeout), "nothing came in time"

    def request_session(self, request: dict) -> dict:
        asked = len(self.confirmed)
        self.client.emit("session_request", request)
        self.wait(lambda: len(self.confirmed) > asked)
        return self.confirmed[-1]

    def say(self, text: str, session_id: str, answer: str) -> None:
        """Sends `text` naming `session_id` and waits for a reply starting with `answer` (under
        load the channel may first apologise for a slow reply, then answer)."""
        seen = len(self.replies)
        self.client.emit("user_uttered", {"message": text, "session_id": session_id})
        self.wait(lambda: any(reply.startswith(answer) for reply in self.replies[seen:]))

    def close(self) -> None:
        self.client.disconnect()


def stored(database_url: str, sender: str, count: int) -> list[str]:
    """The visitor messages stored for `sender`, once there are `count` (Rasa saves the
    conversation just after sending the replies)."""
    deadline = time.monotonic() + 30
    while len(texts := stored_user_texts(database_url, sender)) < count:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return texts


@pytest.fixture
def visitors(servers):
    opened: list[Visitor] = []

    def open_one() -> Visitor:
        opened.append(Visitor(servers[0]))
        return opened[-1]

    yield open_one
    for visitor in opened:
        visitor.close()


def test_a_foreign_conversation_id_gets_a_new_empty_conversation(servers, visitors):
    _rasa_url, database_url = servers
    alice = visitors()
    mallory = visitors()
    mine = alice.request_session({})
    alice.say("is ketamine addictive?", mine["session_id"], DEPENDENCE)

    # Mallory knows Alice's id, not its token, and forges one too.
    theirs = mallory.request_session({"session_id": mine["session_id"]})
    assert theirs["session_id"] != mine["session_id"]
    for forged in ("0" * 64, mine["session_token"][:-1] + "x"):
        theirs = mallory.request_session({**mine, "session_token": forged})
        assert theirs["session_id"] != mine["session_id"]
    # Alice carries on; Mallory writes naming Alice's conversation (ignored), then its own.
    # Replies reach each connection in the order they were sent, so by the time Mallory has
    # its own answer, Alice's (sent before Mallory even wrote) would have arrived first.
    alice.say("does it hurt the bladder?", mine["session_id"], BLADDER)
    mallory.client.emit(
        "user_uttered", {"message": "I want to book", "session_id": mine["session_id"]}
    )
    mallory.say("is ketamine addictive?", theirs["session_id"], DEPENDENCE)
    assert not any(text.startswith(BLADDER) for text in mallory.replies)

    # Nothing of Mallory's went into Alice's conversation.
    assert stored(database_url, theirs["session_id"], 1) == ["is ketamine addictive?"]
    assert stored(database_url, mine["session_id"], 2) == [
        "is ketamine addictive?",
        "does it hurt the bladder?",
    ]


def test_a_reload_with_its_token_continues_the_same_conversation(servers, visitors):
    _rasa_url, database_url = servers
    first_tab = visitors()
    mine = first_tab.request_session({"session_id": "chosen-by-the-client"})
    assert mine["session_id"] != "chosen-by-the-client"
    first_tab.say("is ketamine addictive?", mine["session_id"], DEPENDENCE)
    first_tab.close()

    reloaded = visitors()
    assert reloaded.request_session(mine) == mine
    reloaded.say("does it hurt the bladder?", mine["session_id"], BLADDER)
    assert stored(database_url, mine["session_id"], 2) == [
        "is ketamine addictive?",
        "does it hurt the bladder?",
    ]
