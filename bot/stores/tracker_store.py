"""Rasa's SQL tracker store, plus one duty: when a crisis turn has been saved, an urgent handoff
is opened for staff in the background (or, if the conversation has one open already, the turn is
added to it; bot/desk/handoff_flood.py).

Doing this here rather than in a custom action keeps the crisis turn as fast as any answer (no
action-server round trip, no extra policy prediction) and means the crisis reply never depends on
the action server or the database being up. endpoints.yml names this class.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.desk.handoff_delivery import in_background, record_handoff
from bot.desk.handoff_drafts import HandoffDraft, transcript_from_events
from bot.desk.references import REFERENCE_ALPHABET
from bot.protection.client_address import from_metadata

log = logging.getLogger(__name__)

CRISIS_INTENT = "crisis"
_SEEN_LIMIT = 10_000
# How long a read or save waits for a database that stopped answering (a PostgreSQL restart
# takes a few seconds) before the error reaches Rasa.
DATABASE_RETRY_SECONDS = 20
_T = TypeVar("_T")


async def with_database_retries(operation: Callable[[], Awaitable[_T]]) -> _T:
    """Runs `operation` again while the database is unreachable, up to DATABASE_RETRY_SECONDS.

    Rasa wraps the tracker store in a FailSafeTrackerStore that, on any error, reads from and
    saves to an empty in-memory store instead: a message handled during a database restart
    would be answered as if the conversation were new, and its turn silently never reach the
    database, though the visitor saw the reply. Waiting out the restart here avoids both."""
    deadline = time.monotonic() + DATABASE_RETRY_SECONDS
    delay = 0.25
    while True:
        try:
            return await operation()
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            if time.monotonic() + delay > deadline:
                raise
            # The class only: the statement's parameters would hold what the visitor typed.
            log.warning("Tracker store database unreachable (%s); retrying", type(error).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def crisis_turn(tracker: DialogueStateTracker) -> UserUttered | None:
    """The visitor's crisis message, if the turn that answered it is the one just finished."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return event if (event.intent or {}).get("name") == CRISIS_INTENT else None
    return None


def crisis_reference(sender_id: str, message: UserUttered) -> str:
    """The same reference for the same message wherever and however often it is saved, so two
    saves (or two Rasa instances) cannot open two handoffs for one message."""
    digest = hashlib.sha256(f"{sender_id}\x00{message.timestamp!r}".encode()).digest()
    return "KAP-" + "".join(REFERENCE_ALPHABET[b % len(REFERENCE_ALPHABET)] for b in digest[:6])


def crisis_draft(
    sender_id: str, message: UserUttered, events: list[dict[str, Any]]
) -> HandoffDraft:
    return HandoffDraft(
        reason="crisis",
        conversation_id=sender_id,
        question=message.text,
        transcript=transcript_from_events(events),
        reference=crisis_reference(sender_id, message),
        created_at=dt.datetime.fromtimestamp(message.timestamp, dt.timezone.utc),
        # Set by the public channels (bot/protection/client_address.py): the flood cap counts per
        # address.
        client_address=from_metadata(getattr(message, "metadata", None)),
    )


class CrisisHandoffSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that opens an urgent handoff once a crisis turn is saved."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Rasa's engine does not check pooled connections before use, so every connection that
        # was open when PostgreSQL restarted would fail one visitor's message; SQLAlchemy's
        # pool_pre_ping (set on the pool Rasa built, as create_engine(pool_pre_ping=True) does)
        # replaces such a connection instead.
        self.engine.pool._pre_ping = True
        # Messages already handed over by this process (a later save must not redo the work).
        self._handed_over: OrderedDict[str, None] = OrderedDict()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await with_database_retries(lambda: SQLTrackerStore.retrieve(self, sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return await with_database_retries(
            lambda: SQLTrackerStore.retrieve_full_tracker(self, conversation_id)
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        # A failed save inserted nothing (one transaction), and the retry counts what is stored.
        await with_database_retries(lambda: SQLTrackerStore.save(self, tracker))
        message = crisis_turn(tracker)
        if message is None or tracker.latest_action_name != "action_listen":
            return
        reference = crisis_reference(tracker.sender_id, message)
        if reference in self._handed_over:
            return
        self._handed_over[reference] = None
        if len(self._handed_over) > _SEEN_LIMIT:
            self._handed_over.popitem(last=False)
        events = [event.as_dict() for event in tracker.events]
        in_background(_open_crisis_handoff, tracker.sender_id, message, events)


def _open_crisis_handoff(sender_id: str, message: UserUttered, events: list[dict]) -> None:
    draft = crisis_draft(sender_id, message, events)
    if record_handoff(draft):
        log.info("Crisis message recorded in urgent handoff %s", draft.reference)
