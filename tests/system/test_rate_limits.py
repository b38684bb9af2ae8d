"""Floods against a real Rasa server with low per-client limits (issue 14): the flooding client
is asked to slow down (never a 5xx, never silence) while other visitors are answered as usual;
a crisis message still gets the crisis reply; bodies over the cap are refused unread (413).

Clients are told apart as nginx tells them apart in production mode: by the address it puts
last in X-Forwarded-For, which the channels believe from a proxy on loopback."""

from __future__ import annotations

import random
import string
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
import socketio
import sqlalchemy as sa

from bot.channels.visitor_messages import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, message_cost
from bot.content.model import load_content
from bot.db.migrate import upgrade
from bot.settings import settings_from_env
from bot.web import create_app
from tests.system.conftest import _run_servers

PER_CONVERSATION, PER_ADDRESS = 4, 8
LIMITS = {
    "RATE_LIMIT_PER_CONVERSATION": str(PER_CONVERSATION),
    "RATE_LIMIT_PER_ADDRESS": str(PER_ADDRESS),
    # Long enough that no count runs out while a test runs.
    "RATE_LIMIT_WINDOW_SECONDS": "3600",
}
CONTENT = load_content()
SLOW_DOWN = CONTENT.messages["slow_down"].split(".")[0]
CRISIS = " ".join(CONTENT.messages["crisis"].split())
DEPENDENCE = " ".join(CONTENT.topic("dependence").answer.split())


@pytest.fixture(scope="module")
def limited(model_path, tmp_path_factory):
    """An action server and a Rasa server of their own, with low limits; (rasa_url, db url)."""
    folder = tmp_path_factory.mktemp("limited-servers")
    database_url = f"sqlite:///{folder / 'kapbot.db'}"
    upgrade(database_url)
    yield from _run_servers(model_path, folder, database_url, extra_env=LIMITS)


def send(rasa_url: str, sender: str, text: str, address: str) -> str:
    """The bot's reply through the REST channel, from a client at `address`."""
    answer = requests.post(
        f"{rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        headers={"X-Forwarded-For": address},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text[:300]
    messages = answer.json()
    assert messages, "silence"
    return " ".join(" ".join(m.get("text", "") for m in messages).split())


def attack_message(rng: random.Random) -> str:
    """The message of issue 14: "my" and 199 made-up words of 8 or 9 letters."""
    words = (
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.choice((8, 9))))
        for _ in range(199)
    )
    return "my " + " ".join(words)


def test_a_flooding_client_is_asked_to_slow_down_and_another_is_not(limited):
    rasa_url, _ = limited
    replies = [send(rasa_url, "flood-one", "hello", "203.0.113.10") for _ in range(6)]
    assert [SLOW_DOWN in reply for reply in replies] == [False] * 4 + [True] * 2
    # New conversation ids do not get round it: the address has its own limit.
    replies = [send(rasa_url, f"flood-new-{n}", "hello", "203.0.113.10") for n in range(4)]
    assert all(SLOW_DOWN in reply for reply in replies[-2:])
    # Meanwhile another client is answered as usual.
    assert DEPENDENCE in send(rasa_url, "calm-one", "is ketamine addictive?", "198.51.100.20")


def test_a_limited_client_still_gets_the_crisis_reply_and_its_handoff(limited):
    rasa_url, database_url = limited
    sender, address = "flood-crisis", "203.0.113.11"
    replies = [send(rasa_url, sender, "what does it cost", address) for _ in range(5)]
    assert SLOW_DOWN in replies[-1]
    # The first crisis message over the limit runs the whole turn; later ones get the crisis
    # reply at once.
    for text in ("I want to kill myself", "i want to end my life tonight", "I want to kill myself"):
        reply = send(rasa_url, sender, text, address)
        assert CRISIS in reply and SLOW_DOWN not in reply
    assert wait_for_crisis_handoffs(database_url, sender) >= 1


def wait_for_crisis_handoffs(database_url: str, conversation: str) -> int:
    """The crisis handoffs of `conversation`, once there are any (they are written in the
    background) or after 30 s."""
    engine = sa.create_engine(database_url)
    query = sa.text(
        "SELECT count(*) FROM kap_handoffs WHERE conversation_id = :c AND reason = 'crisis'"
    )
    try:
        for _ in range(60):
            with engine.connect() as connection:
                found = connection.execute(query, {"c": conversation}).scalar()
            if found:
                return found
            time.sleep(0.5)
        return 0
    finally:
        engine.dispose()


def test_bodies_over_the_cap_are_refused_unread_on_rest_and_socketio(limited):
    rasa_url, _ = limited
    huge = "a" * (MAX_BODY_BYTES + 1)
    rest = requests.post(
        f"{rasa_url}/webhooks/rest/webhook",
        json={"sender": "big-body", "message": huge},
        timeout=60,
    )
    assert rest.status_code == 413
    # A socket.io (Engine.IO long-polling) POST: refused before Engine.IO reads it.
    polling = requests.post(
        f"{rasa_url}/socket.io/?EIO=4&transport=polling&sid=any",
        data=("4" + huge).encode(),
        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://127.0.0.1:8080"},
        timeout=60,
    )
    assert polling.status_code == 413
    # Under the cap, an over-long message still gets its clear reply.
    reply = send(rasa_url, "long-body", "a " * MAX_MESSAGE_CHARS, "203.0.113.12")
    assert str(MAX_MESSAGE_CHARS) in reply


def test_two_attackers_are_limited_and_a_visitor_still_gets_its_answers(limited):
    """The attack of issue 14, back to back from two clients, while a visitor asks away."""
    rasa_url, _ = limited
    answered = {"attacker-1": 0, "attacker-2": 0}
    stop = threading.Event()

    def attacker(name: str, address: str) -> None:
        rng = random.Random(name)
        while not stop.is_set():
            if SLOW_DOWN not in send(rasa_url, name, attack_message(rng), address):
                answered[name] += 1

    threads = [
        threading.Thread(target=attacker, args=("attacker-1", "203.0.113.21")),
        threading.Thread(target=attacker, args=("attacker-2", "203.0.113.22")),
    ]
    for thread in threads:
        thread.start()
    try:
        replies = [
            send(rasa_url, f"visitor-{n}", "is ketamine addictive?", "198.51.100.30")
            for n in range(PER_ADDRESS)
        ]
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert all(DEPENDENCE in reply for reply in replies)
    # Only what their limits allow reached the NLU (a long message counts as several; with
    # these low limits, none); the rest were refused at the door.
    allowed = PER_CONVERSATION // message_cost(attack_message(random.Random(0)))
    assert answered == {"attacker-1": allowed, "attacker-2": allowed}


def test_the_chat_page_api_limits_too_but_still_relays_a_crisis(limited):
    rasa_url, database_url = limited
    settings = settings_from_env(
        {"RASA_PORT": str(urlsplit(rasa_url).port), "DATABASE_URL": database_url, **LIMITS}
    )
    client = create_app(settings).test_client()
    sender = "chat-page-flood"

    def chat(text: str) -> str:
        answer = client.post("/api/chat", json={"sender": sender, "message": text})
        assert answer.status_code == 200
        return " ".join(" ".join(m["text"] for m in answer.get_json()["messages"]).split())

    replies = [chat("is ketamine addictive?") for _ in range(6)]
    assert [SLOW_DOWN in reply for reply in replies] == [False] * 4 + [True] * 2
    assert CRISIS in chat("I want to kill myself")


def test_a_flooding_socketio_client_is_asked_to_slow_down(limited):
    rasa_url, _ = limited
    client = socketio.Client(reconnection=False)
    replies: list[str] = []
    arrived = threading.Condition()

    confirmed: list[str] = []

    @client.on("bot_uttered")
    def on_reply(data):
        with arrived:
            replies.append(" ".join(str(data.get("text", "")).split()))
            arrived.notify_all()

    @client.on("session_confirm")
    def on_confirm(data):
        with arrived:
            confirmed.append(data["session_id"] if isinstance(data, dict) else data)
            arrived.notify_all()

    client.connect(
        rasa_url,
        headers={"Origin": "http://127.0.0.1:8080", "X-Forwarded-For": "203.0.113.40"},
        transports=["polling"],
    )
    try:
        client.emit("session_request", {})
        with arrived:
            assert arrived.wait_for(lambda: confirmed, timeout=30)
        for number in range(1, 7):
            client.emit("user_uttered", {"message": "hello", "session_id": confirmed[0]})
            with arrived:
                assert arrived.wait_for(lambda n=number: len(replies) >= n, timeout=60)
    finally:
        client.disconnect()
    assert [SLOW_DOWN in reply for reply in replies[:6]] == [False] * 4 + [True] * 2
