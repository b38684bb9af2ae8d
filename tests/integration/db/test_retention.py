"""`kapbot purge`'s service (bot/conversations/retention.py) on real databases (SQLite and
PostgreSQL): what it
keeps whatever the period, what it refuses, and a visitor writing while it runs."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from bot.conversations.retention import MIN_DAYS, RetentionError, purge
from bot.db.models import Handoff, HandoffNote, TranscriptTurn
from bot.db.session import get_engine, session_scope
from bot.desk.booking_creation import create_booking
from bot.desk.bookings import get_booking
from bot.desk.handoff_drafts import store_draft
from bot.desk.handoffs import add_note, claim_handoff, get_handoff, resolve_handoff
from tests.integration.db.test_handoffs import draft

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def handoff(url: str, status: str, age_days: float, resolved_days_ago: float | None = None):
    """A handoff created `age_days` ago, claimed or resolved (`resolved_days_ago`) as asked."""
    item = draft(created_at=NOW - dt.timedelta(days=age_days))
    with session_scope(url) as session:
        stored = store_draft(session, item)
        add_note(session, stored, "dr.lee", "Called back.")
        if status == "claimed":
            claim_handoff(session, stored, "dr.lee")
        if status == "resolved":
            resolve_handoff(session, stored, "dr.lee")
            stored.resolved_at = NOW - dt.timedelta(days=resolved_days_ago)
    return item.reference


def count(url: str, model) -> int:
    with session_scope(url) as session:
        return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_open_and_claimed_handoffs_stay_however_old_resolved_ones_go(database_url):
    old_open = handoff(database_url, "open", 400)
    old_claimed = handoff(database_url, "claimed", 400)
    finished = handoff(database_url, "resolved", 100, resolved_days_ago=95)
    # Created long ago but resolved last week: the retention period runs from its resolution.
    lately_resolved = handoff(database_url, "resolved", 100, resolved_days_ago=5)

    with session_scope(database_url) as session:
        report = purge(session, 30, now=NOW)
    assert (report.handoffs, report.turns, report.notes) == (1, 4, 1)
    with session_scope(database_url) as session:
        assert get_handoff(session, finished) is None
        for kept in (old_open, old_claimed, lately_resolved):
            assert get_handoff(session, kept) is not None

    # Even a forced purge of everything keeps what someone still has to act on.
    with session_scope(database_url) as session:
        everything = purge(session, 0, now=NOW, force=True)
    assert everything.handoffs == 1
    with session_scope(database_url) as session:
        left = set(session.execute(sa.select(Handoff.reference)).scalars())
    assert left == {old_open, old_claimed}
    assert count(database_url, TranscriptTurn) == 8 and count(database_url, HandoffNote) == 2


def test_a_period_under_a_week_is_refused_without_force_and_deletes_nothing(database_url):
    finished = handoff(database_url, "resolved", 3, resolved_days_ago=2)
    for days in (0, MIN_DAYS - 1):
        with session_scope(database_url) as session, pytest.raises(RetentionError, match="--force"):
            purge(session, days, now=NOW)
    with session_scope(database_url) as session, pytest.raises(RetentionError, match="zero or"):
        purge(session, -1, now=NOW, force=True)
    with session_scope(database_url) as session:
        assert get_handoff(session, finished) is not None
        assert purge(session, MIN_DAYS, now=NOW).handoffs == 0


def test_upcoming_calls_stay_even_when_everything_is_purged(database_url):
    def book(slot: dt.datetime, phone: str) -> str:
        with session_scope(database_url) as session:
            return create_booking(
                session, slot_start=slot, name="Ramona Quill", phone=phone,
                email=None, consent=True, conversation_id=f"conv-{phone[-2:]}",
            ).reference  # fmt: skip

    past = book(NOW - dt.timedelta(days=40), "(555) 013-7701")
    yesterday = book(NOW - dt.timedelta(days=1), "(555) 013-7702")
    upcoming = book(NOW + dt.timedelta(hours=2), "(555) 013-7703")
    with session_scope(database_url) as session:
        assert purge(session, 30, now=NOW).bookings == 1
    with session_scope(database_url) as session:
        assert purge(session, 0, now=NOW, force=True).bookings == 1
        assert get_booking(session, past) is None and get_booking(session, yesterday) is None
        assert get_booking(session, upcoming) is not None


# --- Conversations in Rasa's tracker store -------------------------------------------------------


async def save_conversation(store, sender: str, *days_ago: float) -> None:
    """A conversation in Rasa's own tracker store: one visitor message per age given."""
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker(sender, slots=[])
    for age in days_ago:
        stamp = (NOW - dt.timedelta(days=age)).timestamp()
        tracker.update(UserUttered("my number is 555 0101", timestamp=stamp))
    await store.save(tracker)


@pytest.fixture
async def tracker_store(database_url):
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    store = SQLTrackerStore(Domain.empty(), host=database_url)
    yield store
    store.engine.dispose()
    with get_engine(database_url).begin() as connection:
        connection.execute(sa.text("DROP TABLE events"))


async def test_whole_conversations_last_active_before_the_cutoff_go(tracker_store, database_url):
    await save_conversation(tracker_store, "finished", 45, 40)
    # Began long ago but still going on: kept whole, its old events too.
    await save_conversation(tracker_store, "ongoing", 60, 2)
    await save_conversation(tracker_store, "recent", 1)
    with session_scope(database_url) as session:
        report = purge(session, 30, now=NOW)
    assert (report.conversations, report.events) == (1, 2)
    assert sorted(await tracker_store.keys()) == ["ongoing", "recent"]
    assert len((await tracker_store.retrieve_full_tracker("ongoing")).events) == 2


async def test_a_message_written_while_the_purge_runs_keeps_its_conversation(
    tracker_store, database_url
):
    """The visitor's message is committed, by another connection, just before the purge's
    DELETE of conversations runs: a purge that picked the conversations first would delete it."""
    from rasa.shared.core.events import UserUttered

    await save_conversation(tracker_store, "returning", 45, 40)
    await save_conversation(tracker_store, "gone", 50)
    late = UserUttered("I'm back, can I still book?", timestamp=NOW.timestamp())
    visitor = sa.create_engine(database_url)

    def visitor_writes(_connection, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM EVENTS"):
            with visitor.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO events (sender_id, type_name, timestamp, data)"
                        " VALUES ('returning', 'user', :stamp, :data)"
                    ),
                    {"stamp": late.timestamp, "data": json.dumps(late.as_dict())},
                )

    engine = get_engine(database_url)
    sa.event.listen(engine, "before_cursor_execute", visitor_writes)
    try:
        with session_scope(database_url) as session:
            report = purge(session, 30, now=NOW)
    finally:
        sa.event.remove(engine, "before_cursor_execute", visitor_writes)
        visitor.dispose()
    assert (report.conversations, report.events) == (1, 1)
    returning = await tracker_store.retrieve_full_tracker("returning")
    texts = [event.text for event in returning.events if isinstance(event, UserUttered)]
    assert texts == ["my number is 555 0101", "my number is 555 0101", late.text]
    assert sorted(await tracker_store.keys()) == ["returning"]


def test_without_a_tracker_store_table_no_conversation_is_purged(database_url):
    with session_scope(database_url) as session:
        report = purge(session, 30, now=NOW)
    assert (report.conversations, report.events) == (0, 0)
