"""Hostile input through the public channels of a real Rasa server (REST and socket.io): generated
messages and bodies (hypothesis, derandomized so every run sends the same ones: a few hundred in
`make test`, thousands in `make bench`). No 5xx, no stack trace in any answer, a reply to every
message, no intent or slot chosen by the visitor, nothing over-long stored, and the server
answers normally afterwards."""

from __future__ import annotations

import itertools
import json
import threading

import pytest
import requests
import socketio
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.visitor_messages import MAX_BODY_BYTES, MAX_MESSAGE_CHARS
from bot.content.model import load_content
from tests.system.conftest import say
from tests.volume import volume

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("servers", ["sqlite"], indirect=True)]

REST_CASES = volume(full=1500, smoke=300)
SOCKETIO_CASES = volume(full=500, smoke=100)
STACK_TRACE = ("Traceback", 'File "', '.py", line', "Exception:")
INTENTS = [
    "affirm", "deny", "book_screening", "cancel_booking", "inform", "stop", "restart",
    "session_start", "human_request", "eligibility", "crisis", "faq/cost", "nlu_fallback",
]  # fmt: skip
SLOTS = ["booking_name", "booking_phone", "booking_slot", "booking_consent", "booking_confirmed",
         "contact_name", "contact_consent", "cancel_reference", "requested_slot"]  # fmt: skip
SNIPPETS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "'; DROP TABLE events; --",
    "1' OR '1'='1", "\" OR 1=1 --", "{{7*7}}", "${jndi:ldap://x}", "../../etc/passwd",
    "\u202eevil\u202c", "שלום, האם זה בטוח?", "هل هو آمن؟", "👩‍⚕️💊🧠", "\x00\x01\x1b[31m",
    "is ketamine addictive?", "I'd like to book a screening call", "yes", "stop",
]  # fmt: skip

injections = st.builds(
    lambda spaces, slashes, intent, entities: (
        spaces + "/" * slashes + intent + (json.dumps(entities) if entities else "")
    ),
    st.sampled_from(["", " ", "\n\t "]),
    st.integers(1, 3),
    st.sampled_from(INTENTS),
    st.dictionaries(st.sampled_from(SLOTS), st.one_of(st.text(max_size=20), st.booleans())),
)
texts = st.one_of(
    st.text(max_size=300),  # any Unicode: control characters, right-to-left, emoji, surrogates
    st.text(alphabet=" \t\n\r\u00a0\u2003\u3000\x1c\x1f", max_size=30),  # whitespace only
    st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=4).map(" ".join),
    injections,
    # Over-long, up to what a request may carry (a larger body is refused with 413 unread).
    st.integers(MAX_MESSAGE_CHARS + 1, MAX_BODY_BYTES - 1000).map(
        lambda n: ("a" * 9 + " ") * (n // 10)
    ),
)
not_text = st.one_of(
    st.none(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.text()),
)  # fmt: skip
senders = st.one_of(
    not_text, st.just(""), st.text(max_size=40), st.just("x" * 200), st.just("ok-sender\x00")
)


# What goes over the wire: (JSON body or raw bytes, is it a valid message?).
def _body(message, sender=None, **extra) -> dict:
    return {"message": message, **({"sender": sender} if sender is not None else {}), **extra}


rest_requests = st.one_of(
    st.tuples(st.builds(_body, texts), st.just(True)),
    st.tuples(st.builds(_body, not_text, senders), st.just(False)),
    st.tuples(st.builds(_body, texts, senders), st.just(False)),
    st.tuples(st.binary(max_size=200), st.just(False)),  # malformed JSON
    st.tuples(
        st.one_of(st.lists(st.integers()), st.text(), st.integers()).map(json.dumps),
        st.just(False),
    ),
    # Metadata and a channel name of the visitor's choosing: neither may be stored.
    st.tuples(
        st.builds(lambda t: _body(t, metadata={"x": 1}, input_channel="api"), texts),
        st.just(True),
    ),
)
HYPOTHESIS = {
    "derandomize": True,
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


def no_stack_trace(text: str) -> None:
    assert not any(marker in text for marker in STACK_TRACE), text[:500]


def test_hostile_rest_requests(servers):
    rasa_url, database_url = servers
    webhook = f"{rasa_url}/webhooks/rest/webhook"
    numbers = itertools.count()
    http = requests.Session()
    seen = {"valid": 0, "refused": 0}

    @settings(max_examples=REST_CASES, **HYPOTHESIS)
    @given(request=rest_requests)
    def one(request):
        body, valid = request
        sender = f"hostile-rest-{next(numbers)}"
        if valid:
            body = {**body, "sender": sender}
        if isinstance(body, (bytes, str)):
            answer = http.post(webhook, data=body, timeout=30)
        else:
            answer = http.post(webhook, json=body, timeout=30)
        assert answer.status_code < 500, (body, answer.text[:300])
        no_stack_trace(answer.text)
        if valid:
            # Every message gets a reply, addressed to this conversation.
            assert answer.status_code == 200
            messages = answer.json()
            assert messages and all(m["recipient_id"] == sender for m in messages)
            seen["valid"] += 1
        elif answer.status_code >= 400:
            assert answer.status_code == 400, answer.text[:300]
            seen["refused"] += 1

    one()
    # Both kinds were sent in numbers: about half the cases are valid messages.
    assert min(seen.values()) >= REST_CASES // 4, seen
    assert_nothing_injected_or_oversized(database_url, "hostile-rest-%")
    assert_still_answering(rasa_url)


def test_hostile_socketio_messages(servers):
    rasa_url, database_url = servers
    client = socketio.Client(reconnection=False)
    replies: dict[str, list] = {}
    arrived = threading.Condition()
    confirmed: list[str] = []

    @client.on("bot_uttered")
    def on_reply(data):
        with arrived:
            replies.setdefault(current["session"], []).append(data)
            arrived.notify_all()

    @client.on("session_confirm")
    def on_confirm(data):
        with arrived:
            confirmed.append(data["session_id"])
            arrived.notify_all()

    origin = "http://127.0.0.1:8080"  # allowed by default (CORS_ORIGINS)
    client.connect(rasa_url, headers={"Origin": origin}, transports=["polling"])
    numbers = itertools.count()
    current = {"session": ""}

    def wait(condition, timeout: float = 30) -> bool:
        with arrived:
            return arrived.wait_for(condition, timeout=timeout)

    @settings(max_examples=SOCKETIO_CASES, **HYPOTHESIS)
    @given(text=st.one_of(texts, not_text), extra=st.one_of(st.none(), not_text))
    def one(text, extra):
        session = new_session({"session_id": f"hostile-sio-{next(numbers)}"})
        data = {"message": text, "session_id": session, "metadata": extra}
        client.emit("user_uttered", data)
        if isinstance(text, str):
            assert wait(lambda: replies.get(session)), f"no reply to {text[:80]!r}"
            for reply in replies[session]:
                no_stack_trace(json.dumps(reply))
        # Something that is not text is ignored; a bad session request gets a new conversation.
        client.emit("user_uttered", {"message": "hi", "session_id": extra})
        new_session(extra)

    def new_session(request) -> str:
        """The conversation the server gives in answer to `request` (never the one it names)."""
        asked = len(confirmed)
        client.emit("session_request", request)
        assert wait(lambda: len(confirmed) > asked)
        current["session"] = confirmed[-1]
        return confirmed[-1]

    try:
        one()
        # The connection survived all of it and still gets answers.
        after = new_session({"session_id": "hostile-sio-after"})
        client.emit("user_uttered", {"message": "is ketamine addictive?", "session_id": after})
        assert wait(lambda: replies.get(after))
    finally:
        client.disconnect()
    assert_nothing_injected_or_oversized(database_url, confirmed)
    assert_still_answering(rasa_url)


def assert_nothing_injected_or_oversized(database_url: str, senders: str | list[str]) -> None:
    """`senders`: a LIKE pattern, or the conversation ids the server gave."""
    if isinstance(senders, str):
        match, params = "LIKE :senders", {}
    else:
        match, params = "IN :senders", {"expanding": True}

    def query(sql: str) -> sa.TextClause:
        return sa.text(sql.replace("MATCHES", match)).bindparams(
            sa.bindparam("senders", senders, **params)
        )

    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            query("SELECT type_name, data FROM events WHERE sender_id MATCHES")
        ).all()
        bookings = connection.execute(
            query("SELECT count(*) FROM kap_bookings WHERE conversation_id MATCHES")
        ).scalar()
        handoffs = connection.execute(
            query(
                "SELECT count(*) FROM kap_handoffs"
                " WHERE reason != 'crisis' AND conversation_id MATCHES"
            )
        ).scalar()
    engine.dispose()
    assert rows, "nothing was stored at all"
    user_events = [json.loads(data) for kind, data in rows if kind == "user"]
    assert user_events
    for event in user_events:
        text = event.get("text") or ""
        assert not text.startswith("/"), text[:80]
        assert 0 < len(text) <= MAX_MESSAGE_CHARS
        assert "\x00" not in text
        assert event["parse_data"]["entities"] == []
        assert event["input_channel"] in ("rest", "socketio")
        # Rasa's own metadata and the address the channel saw: none that the visitor sent.
        metadata = event.get("metadata") or {}
        assert set(metadata) <= {"assistant_id", "model_id", "client_address"}
        assert metadata.get("client_address", "127.0.0.1") == "127.0.0.1"
    kinds = {kind for kind, _ in rows}
    assert "restart" not in kinds and "reset_slots" not in kinds
    injected_slots = [json.loads(data) for kind, data in rows if kind == "slot"]
    # Rasa keeps the first message's metadata in session_started_metadata: only the channel's.
    allowed = {"requested_slot", "booking_failures", "session_started_metadata"}
    assert {slot["name"] for slot in injected_slots} <= allowed
    for slot in injected_slots:
        if slot["name"] == "session_started_metadata":
            assert set(slot["value"] or {}) <= {"client_address"}, slot
    assert bookings == 0 and handoffs == 0
    assert max(len(data) for _, data in rows) < 20 * MAX_MESSAGE_CHARS


def assert_still_answering(rasa_url: str) -> None:
    answer = say(rasa_url, "after-hostile-input", "is ketamine addictive?")
    assert load_content().topic("dependence").answer in answer
