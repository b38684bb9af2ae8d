"""Production mode under load, end to end: `kapbot serve --prod` with two Rasa instances behind
nginx, the action server and the web app, on a PostgreSQL cluster and a Redis server of the
test's own (tests/system/private_services.py), so the fault test can restart them.

One set of servers serves every test here (they take ~40 s to start): the ordering test, a
clean load run (100 simulated visitors for 60 s, tests/system/visitors.py; `make bench` only)
and a load run with faults (kill a Rasa instance, kill the action server, restart PostgreSQL,
restart Redis; 30 s in `make test`, 60 s in `make bench`). The fault test runs last, since it
leaves a Rasa instance restarting.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bot.db.migrate import upgrade
from bot.stores.lock_store import AtomicRedisLockStore, redis_connection_options
from tests.conftest import free_prod_mode_ports
from tests.system.conftest import CLINIC_ENV, NO_RATE_LIMITS
from tests.system.private_services import private_postgres, private_redis
from tests.system.test_serve import Serve
from tests.system.visitors import Conversation, Visitor, run_visitors
from tests.volume import volume

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
VISITORS = 100
LOAD_SECONDS = volume(full=60, smoke=30)
# When each fault of the fault test comes, as a share of the load run.
FAULTS_AT = {"rasa-1": 1 / 12, "actions": 1 / 4, "postgres": 0.45, "redis": 0.65}


class Deployment:
    def __init__(self, serve: Serve, env: dict[str, str], database_url: str, postgres, redis):
        self.serve = serve
        self.env = env
        self.database_url = database_url
        self.postgres = postgres
        self.redis = redis
        self.var_dir = Path(env["KAPBOT_VAR_DIR"])
        rasa_port = int(env["RASA_PORT"])
        self.balancer_url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
        self.instance_urls = [
            f"http://127.0.0.1:{rasa_port + n}/webhooks/rest/webhook" for n in (1, 2)
        ]

    def pid(self, name: str) -> int:
        return int((self.var_dir / "run" / f"{name}.pid").read_text())

    def kill(self, name: str) -> None:
        """A crash: SIGKILL to the process and anything it started."""
        os.killpg(self.pid(name), signal.SIGKILL)

    def output(self) -> str:
        return "".join(self.serve.lines)

    def user_texts(self, senders: list[str]) -> dict[str, list[str]]:
        """The visitor messages of each conversation's tracker, in order, as Rasa reads them: a
        `rewind` event (UserUtteranceReverted, e.g. from Rasa's default fallback action when a
        custom action failed) takes back the message before it."""
        engine = sa.create_engine(self.database_url, future=True)
        texts: dict[str, list[str]] = {sender: [] for sender in senders}
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT sender_id, type_name, data FROM events "
                    "WHERE type_name IN ('user', 'rewind') AND sender_id = ANY(:senders) "
                    "ORDER BY id"
                ),
                {"senders": senders},
            )
            for sender, kind, data in rows:
                if kind == "user":
                    texts[sender].append(json.loads(data)["text"])
                elif texts[sender]:
                    texts[sender].pop()
        engine.dispose()
        return texts

    def stored_references(self) -> tuple[set[str], set[str]]:
        """Booking and hand-off references in the database (and hand-offs kept on disk while the
        database was down, see bot/desk/handoffs.py)."""
        engine = sa.create_engine(self.database_url, future=True)
        with engine.connect() as connection:
            bookings = set(
                connection.execute(
                    sa.text("SELECT reference FROM kap_bookings WHERE status = 'booked'")
                ).scalars()
            )
            handoffs = set(
                connection.execute(sa.text("SELECT reference FROM kap_handoffs")).scalars()
            )
        engine.dispose()
        pending = self.var_dir / "pending-handoffs.jsonl"
        if pending.exists():
            handoffs |= {json.loads(line)["reference"] for line in pending.read_text().splitlines()}
        return bookings, handoffs


@pytest.fixture(scope="module")
def deployment(model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("prod-mode")
    with private_postgres() as postgres, private_redis() as redis:
        database_url = postgres.create_database("kapbot_load")
        upgrade(database_url)
        env = {
            **CLINIC_ENV,
            # Five-minute calls on 60 days ahead: room for every simulated visitor's booking.
            "SLOT_MINUTES": "5",
            "BOOKING_DAYS_AHEAD": "60",
            "KAPBOT_VAR_DIR": str(folder / "var"),
            "MODEL_DIR": str(model_path.parent),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "RASA_INSTANCES": "2",
            **free_prod_mode_ports(2),
            "NOTIFY_EMAILS": "",
            "NOTIFY_WEBHOOK_URL": "",
            "LOG_LEVEL": "WARNING",
            # 100 simulated visitors, all from this machine through nginx.
            **NO_RATE_LIMITS,
            "BOOKING_LIMIT_PER_ADDRESS": "100000",
        }
        serve = Serve(env, "--prod")
        try:
            serve.wait_for_banner()
            yield Deployment(serve, env, database_url, postgres, redis)
        finally:
            status = serve.interrupt()
            # What every process said, for a failure's post-mortem.
            (folder / "serve.log").write_text("".join(serve.lines))
            assert status == 0, serve.lines[-40:]


def acknowledged_turns_are_stored_in_order(
    deployment: Deployment, conversations: list[Conversation]
) -> list[str]:
    """Problems with the trackers: an acknowledged message missing or out of order, or a
    message stored that was not sent (a retried message stored twice is allowed)."""
    stored = deployment.user_texts([c.sender for c in conversations])
    problems = []
    for conversation in conversations:
        sent = [turn.text for turn in conversation.turns]
        retried = {turn.text for turn in conversation.turns if turn.attempts > 1}
        if conversation.failed:
            retried.add(conversation.failed)
        texts = stored[conversation.sender]
        # Collapse a retried message stored twice in a row into one.
        collapsed = [
            t for i, t in enumerate(texts) if not (i and t == texts[i - 1] and t in retried)
        ]
        unanswered_tail = [conversation.failed] if conversation.failed else []
        if collapsed not in (sent, sent + unanswered_tail):
            tried = [
                (t.text, t.attempts, t.statuses, round(t.sent_at, 1)) for t in conversation.turns
            ]
            problems.append(f"{conversation.sender}: sent {tried}, stored {texts}")
    return problems


def references_are_stored(deployment: Deployment, conversations: list[Conversation]) -> list[str]:
    bookings, handoffs = deployment.stored_references()
    problems = []
    for conversation in conversations:
        if conversation.booking_reference and conversation.booking_reference not in bookings:
            problems.append(f"booking {conversation.booking_reference} of {conversation.sender}")
        if conversation.handoff_reference and conversation.handoff_reference not in handoffs:
            problems.append(f"hand-off {conversation.handoff_reference} of {conversation.sender}")
    return problems


def conversations_of(crowd: list[Visitor]) -> list[Conversation]:
    return [conversation for visitor in crowd for conversation in visitor.conversations]


def test_the_balancer_passes_on_the_channels_and_never_rasas_api(deployment):
    balancer = deployment.balancer_url.removesuffix("/webhooks/rest/webhook")
    assert requests.get(f"{balancer}/webhooks/rest/", timeout=10).status_code == 200
    assert requests.get(f"{balancer}/balancer/health", timeout=10).text == "ok\n"
    # The API is on (models are published through it), but only on the instances' loopback.
    instance = deployment.instance_urls[0].removesuffix("/webhooks/rest/webhook")
    assert requests.get(f"{instance}/status", timeout=10).status_code == 401
    for path in ("/status", "/model", "/conversations/x/tracker", "/version"):
        assert requests.get(f"{balancer}{path}", timeout=10).status_code == 404, path


def test_five_messages_at_once_through_alternating_instances_are_handled_in_order(deployment):
    sender = "ordering-0001"
    texts = [
        "is ketamine addictive?",
        "what about the bladder?",
        "how long is a session?",
        "how much does it cost?",
        "thanks",
    ]

    store = AtomicRedisLockStore(**redis_connection_options(deployment.redis.url))

    def tickets() -> int:
        lock = store.get_lock(sender)
        return len(lock.tickets) if lock else 0

    def send(index: int) -> requests.Response:
        url = deployment.instance_urls[index % 2]
        return requests.post(url, json={"sender": sender, "message": texts[index]}, timeout=60)

    # A first message warms each instance up (TensorFlow's first prediction is slow).
    for url in deployment.instance_urls:
        requests.post(url, json={"sender": "warm-up", "message": "hello"}, timeout=60)
    with ThreadPoolExecutor(len(texts)) as pool:
        sent: list = []
        for index in range(len(texts)):
            # The next message goes once every earlier one still unanswered holds its lock
            # ticket, so its ticket comes after theirs: the order is set by the tickets, not by
            # how fast an instance takes a message in. Answers are read before tickets: a
            # ticket is given back before its answer is sent, so the count can only fall short.
            deadline = time.monotonic() + 60
            while (unanswered := sum(not future.done() for future in sent)) > tickets():
                assert time.monotonic() < deadline, f"{unanswered} messages hold no ticket"
                time.sleep(0.01)
            sent.append(pool.submit(send, index))
        replies = [future.result() for future in sent]

    assert [reply.status_code for reply in replies] == [200] * 5
    engine = sa.create_engine(deployment.database_url, future=True)
    with engine.connect() as connection:
        events = connection.execute(
            sa.text(
                "SELECT type_name, data FROM events WHERE sender_id = :s "
                "AND type_name IN ('user', 'bot') ORDER BY id"
            ),
            {"s": sender},
        ).all()
    engine.dispose()
    # The tracker, turn by turn: each message, then the bot's answer to it, then the next.
    stored: list[tuple[str, str]] = []
    for kind, data in events:
        text = json.loads(data)["text"]
        if kind == "user":
            stored.append((text, ""))
        else:
            stored[-1] = (stored[-1][0], (stored[-1][1] + "\n\n" + text).strip())
    # The REST channel sends a text's paragraphs as separate messages.
    answered = ["\n\n".join(m["text"] for m in reply.json()).strip() for reply in replies]
    assert stored == list(zip(texts, answered, strict=True))
    assert all(answered) and len(set(answered)) == 5
    assert "Could not acquire lock" not in deployment.output()
    assert "LockError" not in deployment.output()


@pytest.mark.volume
def test_a_hundred_visitors_for_a_minute_lose_nothing_and_see_no_server_error(deployment):
    crowd = asyncio.run(run_visitors(deployment.balancer_url, VISITORS, LOAD_SECONDS, seed=1))
    conversations = conversations_of(crowd)
    turns = [turn for conversation in conversations for turn in conversation.turns]
    print(
        f"{len(conversations)} conversations, {len(turns)} turns, "
        f"{sum(c.booking_reference is not None for c in conversations)} bookings, "
        f"{sum(c.handoff_reference is not None for c in conversations)} hand-offs"
    )
    assert len(turns) > 600
    # No failed attempt at all: no 5xx, no connection error, no empty answer, nothing unanswered.
    assert [turn.statuses for turn in turns if turn.statuses] == []
    assert [c.failed for c in conversations if c.failed] == []
    assert acknowledged_turns_are_stored_in_order(deployment, conversations) == []
    assert references_are_stored(deployment, conversations) == []
    # The flows worked, not just the transport: bookings and hand-offs were made.
    bookings = [c for c in conversations if c.kind == "booking" and c.turns]
    handoffs = [c for c in conversations if c.kind == "handoff" and c.turns]
    assert sum(c.booking_reference is not None for c in bookings) >= 0.9 * len(bookings)
    assert sum(c.handoff_reference is not None for c in handoffs) >= 0.9 * len(handoffs)
    # Both instances took part.
    access_log = (deployment.var_dir / "nginx" / "access.log").read_text()
    for url in deployment.instance_urls:
        assert url.split("/")[2] in access_log
    assert "Could not acquire lock" not in deployment.output()


def test_faults_during_load_lose_no_acknowledged_turn_booking_or_handoff(deployment):
    faults: list[tuple[str, float]] = []

    async def inject_faults() -> None:
        async def after(share: float, name: str, action) -> None:
            await asyncio.sleep(share * LOAD_SECONDS)
            faults.append((name, time.monotonic()))
            await asyncio.to_thread(action)

        await asyncio.gather(
            after(FAULTS_AT["rasa-1"], "rasa-1 killed", lambda: deployment.kill("rasa-1")),
            after(FAULTS_AT["actions"], "action server killed", lambda: deployment.kill("actions")),
            after(FAULTS_AT["postgres"], "PostgreSQL restarted", deployment.postgres.restart),
            after(FAULTS_AT["redis"], "Redis restarted", deployment.redis.restart),
        )

    async def load_with_faults():
        crowd, _ = await asyncio.gather(
            run_visitors(deployment.balancer_url, VISITORS, LOAD_SECONDS, seed=2), inject_faults()
        )
        return crowd

    crowd = asyncio.run(load_with_faults())
    print("faults at", [(name, round(at, 1)) for name, at in faults])
    conversations = conversations_of(crowd)
    turns = [turn for conversation in conversations for turn in conversation.turns]
    retried = [turn for turn in turns if turn.attempts > 1]
    print(
        f"{len(conversations)} conversations, {len(turns)} turns, {len(retried)} retried "
        f"({sorted({s for t in retried for s in t.statuses})}), max attempts "
        f"{max(t.attempts for t in turns)}"
    )
    # Every visitor got an answer to every message (retries allowed, see visitors.py).
    assert [c.failed for c in conversations if c.failed] == []
    print("output of kapbot serve:", deployment.var_dir.parent / "serve.log")
    misordered = acknowledged_turns_are_stored_in_order(deployment, conversations)
    assert misordered == [], "\n".join(misordered[:5])
    assert references_are_stored(deployment, conversations) == []
    # Each fault happened during load and visitors kept being answered after it, bookings
    # (which need the action server and PostgreSQL) included.
    for name, at in faults:
        later = [t for t in turns if t.sent_at > at + 1]
        assert len(later) > 50, name
        booked_later = [
            c for c in conversations if c.booking_reference and c.turns[-1].answered_at > at + 1
        ]
        assert booked_later, f"no booking confirmed after {name}"
    output = deployment.output()
    assert "the rasa-1 process stopped; started it again" in output
    assert "the actions process stopped; started it again" in output
