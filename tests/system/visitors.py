"""Simulated website visitors for the production-mode load tests: each runs one multi-turn
conversation after another (an FAQ and its follow-up, a booking, or a hand-off) through the
REST channel, and records what it sent and what it was told.

The client's retry policy, like a real widget's: a message is sent again, unchanged and on the
same conversation, when the request fails to connect, times out, or is answered with a 5xx
status or with no message at all (Rasa's REST channel answers 200 and an empty list when it
failed to handle the message; the project's answers with the "try again" apology, marked
`"custom": {"unavailable": true}`; it may or may not have stored the message: not when the lock
store or the database failed, yes when only the action server did). It waits 0.5 s, 1 s, 2 s,
then 2 s between attempts, for at most 20 attempts. It waits 150 s for an answer: longer than nginx
waits for an instance (120 s), and than a message can wait for its conversation's lock when
the instance holding it died (Rasa's TICKET_LOCK_LIFETIME, 60 s). A client that gave up sooner
and sent again would have two copies of the message queued, the abandoned one handled after
its successors.

A message is *acknowledged* when the bot answered it (200 and at least one message); only
acknowledged messages count as turns. A retried message may be stored twice, right after
itself (the first attempt was stored but not answered); the tests allow exactly that.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import time
from dataclasses import dataclass, field

import aiohttp

BOOKING_REFERENCE = re.compile(r"\bB-[0-9A-Z]{8}\b")
HANDOFF_REFERENCE = re.compile(r"\bKAP-[0-9A-Z]{6}\b")
ATTEMPT_TIMEOUT_SECONDS = 150
MAX_ATTEMPTS = 20
BACKOFF_SECONDS = (0.5, 1.0, 2.0)

FAQ_PAIRS = [
    ("is ketamine addictive?", "what about the bladder?"),
    ("what are the side effects of KAP?", "how long do they last?"),
    ("how long is a session?", "how much does it cost?"),
    ("is ketamine therapy safe?", "can it cause dissociation?"),
]
FIRST_NAMES = ["Ana", "Sam", "Lee", "Maria", "Tom", "Nadia", "Omar", "Grace", "Ivan", "Jun"]
LAST_NAMES = ["Ruiz", "Park", "Smith", "Okafor", "Novak", "Haddad", "Meyer", "Silva"]
PERSONAL_QUESTIONS = [
    "I'm on lithium for bipolar, would ketamine therapy be safe for me?",
    "can I do KAP while pregnant?",
    "I take an MAOI, is ketamine ok for me?",
]


@dataclass
class Turn:
    text: str
    replies: list[dict]
    attempts: int
    sent_at: float
    answered_at: float
    statuses: list[str]  # what each failed attempt got: "502", "empty", "ConnectionError", ...


@dataclass
class Conversation:
    sender: str
    kind: str
    turns: list[Turn] = field(default_factory=list)
    booking_reference: str | None = None
    handoff_reference: str | None = None
    failed: str | None = None  # a message that was never answered

    def reply_text(self, index: int = -1) -> str:
        return "\n".join(m.get("text", "") for m in self.turns[index].replies)


class Visitor:
    def __init__(self, session: aiohttp.ClientSession, url: str, number: int, seed: int) -> None:
        self.session = session
        self.url = url
        self.number = number
        self.random = random.Random(seed)
        self.conversations: list[Conversation] = []

    async def send(self, conversation: Conversation, text: str) -> str:
        """Sends one message until it is acknowledged (see the module's retry policy); returns
        the bot's reply text."""
        started = time.monotonic()
        statuses: list[str] = []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self.session.post(
                    self.url,
                    json={"sender": conversation.sender, "message": text},
                    timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT_SECONDS),
                ) as response:
                    body = await response.json(content_type=None) if response.status < 500 else None
                    # The apology for a turn Rasa did not answer is no answer either
                    # (bot/channels/rest.py marks it).
                    unavailable = any(
                        (m.get("custom") or {}).get("unavailable") for m in body or []
                    )
                    if response.status == 200 and body and not unavailable:
                        conversation.turns.append(
                            Turn(text, body, attempt, started, time.monotonic(), statuses)
                        )
                        return "\n".join(m.get("text", "") for m in body)
                    if response.status < 500 and response.status != 200:
                        raise AssertionError(f"HTTP {response.status} for {text!r}")
                    statuses.append(
                        str(response.status)
                        if response.status != 200
                        else ("unavailable" if unavailable else "empty")
                    )
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                statuses.append(type(error).__name__)
            await asyncio.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1])
        conversation.failed = text
        raise RuntimeError(f"{text!r} was not answered after {MAX_ATTEMPTS} attempts: {statuses}")

    async def run(self, until: float) -> None:
        """Conversations one after another until `until` (time.monotonic()); the one under way
        then is finished."""
        while time.monotonic() < until:
            kind = self.random.choices(["faq", "booking", "handoff"], weights=[5, 3, 2])[0]
            conversation = Conversation(
                f"load-{self.number}-{len(self.conversations)}-{self.random.getrandbits(32):08x}",
                kind,
            )
            self.conversations.append(conversation)
            try:
                await getattr(self, kind)(conversation)
            except RuntimeError:
                return

    def name(self) -> str:
        return f"{self.random.choice(FIRST_NAMES)} {self.random.choice(LAST_NAMES)}"

    def phone(self) -> str:
        return f"555 {self.random.randrange(200, 999)} {self.number:04d}"

    async def faq(self, conversation: Conversation) -> None:
        question, follow_up = self.random.choice(FAQ_PAIRS)
        await self.send(conversation, "hi")
        await self.send(conversation, question)
        await self.send(conversation, follow_up)

    async def booking(self, conversation: Conversation) -> None:
        await self.send(conversation, "I'd like to book a screening call")
        await self.send(conversation, self.name())
        await self.send(conversation, self.phone())
        await self.send(conversation, "skip")
        # A random time weeks ahead, so 100 visitors seldom want the same one.
        day = dt.date.today() + dt.timedelta(days=self.random.randrange(3, 55))
        minute = self.random.randrange(0, 60, 5)
        hour = self.random.choice([9, 10, 11, 1, 2, 3, 4])
        suffix = "am" if hour >= 9 else "pm"
        await self.send(conversation, f"{day:%B} {day.day} at {hour}:{minute:02d}{suffix}")
        await self.send(conversation, "yes")
        done = await self.send(conversation, "book it")
        found = BOOKING_REFERENCE.search(done)
        conversation.booking_reference = found.group(0) if found else None

    async def handoff(self, conversation: Conversation) -> None:
        await self.send(conversation, self.random.choice(PERSONAL_QUESTIONS))
        await self.send(conversation, "yes please")
        await self.send(conversation, self.name())
        await self.send(conversation, self.phone())
        done = await self.send(conversation, "yes")
        found = HANDOFF_REFERENCE.search(done)
        conversation.handoff_reference = found.group(0) if found else None


async def run_visitors(url: str, visitors: int, seconds: float, seed: int) -> list[Visitor]:
    """`visitors` simulated visitors at once for `seconds`; returns them with what they did."""
    until = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=visitors)
    async with aiohttp.ClientSession(connector=connector) as session:
        crowd = [Visitor(session, url, number, seed * 1000 + number) for number in range(visitors)]
        await asyncio.gather(*(visitor.run(until) for visitor in crowd))
    return crowd
