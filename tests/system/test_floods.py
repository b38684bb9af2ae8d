"""Handoff and booking floods performed against the real Rasa server and action server (REST
channel, PostgreSQL), with a real SMTP server receiving the staff notifications.

A script sends crisis messages, in one conversation and from many conversations of one
address: every message gets the crisis reply, but the conversation keeps one open handoff, the
address opens at most HANDOFF_FLOOD_LIMIT handoffs not marked "possible flood", and staff get
batched notifications rather than one e-mail each. A script booking screening calls from one
address gets BOOKING_LIMIT_PER_ADDRESS of them, and one conversation cannot book twice.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import math
import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from bot.content.model import load_content
from bot.db.migrate import upgrade
from bot.db.models import Handoff, TranscriptTurn
from bot.db.session import session_scope
from bot.desk.bookings import list_bookings
from tests.conftest import free_port, throwaway_postgres_database
from tests.system.conftest import _run_servers

pytestmark = pytest.mark.slow

FLOOD_LIMIT = 5
BOOKING_LIMIT = 3
BATCH_SECONDS = 5
ATTACKER, VISITOR = "203.0.113.7", "198.51.100.4"
CRISIS = "I want to kill myself"
# How many crisis messages the flood test sends: FLOOD_MESSAGES=600 for the figure.
MESSAGES = int(os.environ.get("FLOOD_MESSAGES", "60"))
REFERENCE = re.compile(r"KAP-[0-9A-Z]{6}")
BOOKING_REFERENCE = re.compile(r"\bB-[0-9A-Z]{8}\b")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted"

    def announced(self) -> list[str]:
        """Every handoff reference the notifications linked to, in order (a notification lists
        50 at most, and counts the rest)."""
        links = [
            re.findall(r"/staff/handoffs/(KAP-[0-9A-Z]{6})", m.get_content()) for m in self.messages
        ]
        return [reference for found in links for reference in found]

    def announced_count(self) -> int:
        """How many new handoffs the notifications announced, by their subjects."""
        counts = [re.search(r"(\d+) new handoffs", m["Subject"]) for m in self.messages]
        return sum(int(found.group(1)) if found else 1 for found in counts)


@pytest.fixture(scope="module")
def flood_servers(model_path, tmp_path_factory):
    """Servers of their own, with the flood limits low and notifications to a local mailbox."""
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    folder = tmp_path_factory.mktemp("flood-servers")
    limits = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "NOTIFY_EMAILS": "oncall@clinic.test",
        "NOTIFY_BATCH_SECONDS": str(BATCH_SECONDS),
        "HANDOFF_FLOOD_LIMIT": str(FLOOD_LIMIT),
        "BOOKING_LIMIT_PER_ADDRESS": str(BOOKING_LIMIT),
    }
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(smtp.stop)
        database_url = cleanup.enter_context(throwaway_postgres_database())
        upgrade(database_url)
        for rasa_url, url in _run_servers(model_path, folder, database_url, limits):
            yield rasa_url, url, mailbox


def send(rasa_url: str, sender: str, text: str, address: str) -> list[dict]:
    """A message as it reaches the REST channel through a proxy on this machine that tells the
    client's address (the web app's relay, or nginx)."""
    reply = requests.post(
        f"{rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        headers={"X-Forwarded-For": address},
        timeout=120,
    )
    reply.raise_for_status()
    return reply.json()


def text(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def wait_until(condition, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return result


def test_a_crisis_flood_gets_every_reply_but_bounded_handoffs_and_batched_notifications(
    flood_servers,
):
    rasa_url, database_url, mailbox = flood_servers
    same_conversation = f"flood-{uuid.uuid4().hex[:8]}"
    half = MESSAGES // 2
    # Half in one conversation, half from as many new conversations, all from one address.
    script = [(same_conversation, ATTACKER)] * half
    script += [(f"flood-{uuid.uuid4().hex[:8]}", ATTACKER) for _ in range(MESSAGES - half)]
    real_visitor = f"visitor-{uuid.uuid4().hex[:8]}"

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda s: text(send(rasa_url, s[0], CRISIS, s[1])), script))
    real_reply = text(send(rasa_url, real_visitor, "i don't want to live anymore", VISITOR))
    assert all("988" in reply and "911" in reply for reply in replies + [real_reply])

    senders = {sender for sender, _ in script} | {real_visitor}

    def recorded():
        # Every crisis message has reached a handoff's transcript (they are written in the
        # background, so the replies never wait on the database).
        with session_scope(database_url) as session:
            turns = session.execute(
                sa.select(sa.func.count(TranscriptTurn.id))
                .join(Handoff)
                .where(
                    Handoff.conversation_id.in_(senders),
                    TranscriptTurn.speaker == "user",
                    TranscriptTurn.intent == "crisis",
                )
            ).scalar_one()
        return turns == MESSAGES + 1

    assert wait_until(recorded)
    with session_scope(database_url) as session:
        rows = (
            session.execute(sa.select(Handoff).where(Handoff.conversation_id.in_(senders)))
            .scalars()
            .all()
        )
        handoffs = {h.reference: h for h in rows}
        per_conversation = {}
        for h in rows:
            per_conversation.setdefault(h.conversation_id, []).append(h)
        attacker_rows = [h for h in rows if h.client_address == ATTACKER]
        not_marked = [h for h in attacker_rows if not h.possible_flood]
        (real,) = per_conversation[real_visitor]
        real_state = (real.client_address, real.possible_flood, real.urgency)
        session.expunge_all()

    # One open crisis handoff per conversation, whatever the number of messages.
    assert all(len(found) == 1 for found in per_conversation.values())
    assert len(rows) == MESSAGES - half + 2
    # The address's handoffs beyond the cap are kept, but marked "possible flood".
    assert len(not_marked) <= FLOOD_LIMIT and len(attacker_rows) == len(rows) - 1
    assert real_state == (VISITOR, False, "urgent")

    # Notifications: batched, each handoff announced exactly once.
    assert wait_until(lambda: mailbox.announced_count() == len(handoffs), timeout=60)
    announced = mailbox.announced()
    assert len(announced) == len(set(announced)) and set(announced) <= set(handoffs)
    assert real.reference in announced
    elapsed = time.monotonic() - started
    emails = len(mailbox.messages)
    assert emails <= math.ceil(elapsed / BATCH_SECONDS) + 1 < len(rows)
    print(  # the figures for the record (pytest -s)
        f"\n{MESSAGES + 1} crisis messages in {elapsed:.0f} s: {len(rows)} handoffs "
        f"({len(rows) - len(not_marked) - 1} marked possible flood), {emails} notification(s)"
    )


def book(rasa_url: str, sender: str, phone: str, address: str) -> str:
    """A scripted booking: every question answered, the first free time taken; the last reply."""
    messages = load_content().messages
    for answer in ("I'd like to book a screening call", "Sam Script", phone, "skip"):
        replies = send(rasa_url, sender, answer, address)
    if not replies or not replies[-1].get("buttons"):
        return text(replies)
    send(rasa_url, sender, replies[-1]["buttons"][0]["payload"], address)
    send(rasa_url, sender, "yes", address)
    return text(send(rasa_url, sender, messages["confirm_button"], address))


def test_a_scripted_booking_flood_gets_the_address_cap_and_one_call_per_conversation(
    flood_servers,
):
    rasa_url, database_url, _ = flood_servers
    messages = load_content().messages
    script = [f"booker-{uuid.uuid4().hex[:8]}" for _ in range(BOOKING_LIMIT + 3)]
    results = [
        book(rasa_url, sender, f"555 4{n:02d} 7788", ATTACKER) for n, sender in enumerate(script)
    ]
    booked = [r for r in results if BOOKING_REFERENCE.search(r)]
    refused = [r for r in results if not BOOKING_REFERENCE.search(r)]
    assert len(booked) == BOOKING_LIMIT
    limit_text = messages["booking_limit_reached"].split("{", 1)[0].strip()
    assert refused and all(limit_text in r for r in refused)

    # One conversation, a second call with another plausible number: told it has one already.
    visitor = f"visitor-{uuid.uuid4().hex[:8]}"
    first = book(rasa_url, visitor, "555 498 1234", VISITOR)
    reference = BOOKING_REFERENCE.search(first).group(0)
    second = send(rasa_url, visitor, "I'd like to book a screening call", VISITOR)
    for answer in ("Sam Again", "555 497 4321", "skip"):
        second = send(rasa_url, visitor, answer, VISITOR)
    send(rasa_url, visitor, second[-1]["buttons"][0]["payload"], VISITOR)
    send(rasa_url, visitor, "yes", VISITOR)
    again = send(rasa_url, visitor, messages["confirm_button"], VISITOR)
    assert reference in text(again) and "already have a screening call booked" in text(again)
    cancel = [b["payload"] for r in again for b in r.get("buttons") or []]
    assert cancel == [f"Cancel my booking {reference}"]

    with session_scope(database_url) as session:
        from_attacker = list_bookings(session, client_address=ATTACKER)
        ours = [b for b in list_bookings(session) if b.conversation_id == visitor]
    assert len(from_attacker) == BOOKING_LIMIT
    assert [b.reference for b in ours] == [reference]
    print(f"\nscripted booking flood: {len(script)} tries from one address, {len(booked)} booked")
