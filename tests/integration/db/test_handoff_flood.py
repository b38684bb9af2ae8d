"""Flood control for handoffs on real databases: one open crisis handoff per conversation,
the per-address cap that marks "possible flood", and paging that reaches every handoff."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from bot.db.models import Handoff
from bot.db.session import session_scope
from bot.desk.handoff_delivery import deliver
from bot.desk.handoff_drafts import HandoffDraft, Turn
from bot.desk.handoff_flood import FloodLimit, file_draft, flood_groups
from bot.desk.handoffs import count_handoffs, get_handoff, list_handoffs, resolve_handoff

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
LIMIT = FloodLimit(handoffs=3, window=dt.timedelta(hours=1))
CRISIS = "I want to kill myself"


def crisis(conversation: str, minute: int, address: str | None = "203.0.113.7") -> HandoffDraft:
    """A crisis draft as the tracker store makes it: the conversation so far, up to `minute`."""
    transcript = []
    for m in range(minute + 1):
        at = T0 + dt.timedelta(minutes=m)
        transcript += [
            Turn("user", f"{CRISIS} ({m})", at, "crisis", 0.99),
            Turn("bot", "Please call 911 or 988 now.", at + dt.timedelta(seconds=1)),
        ]
    return HandoffDraft(
        reason="crisis",
        conversation_id=conversation,
        question=f"{CRISIS} ({minute})",
        transcript=transcript,
        created_at=T0 + dt.timedelta(minutes=minute),
        client_address=address,
    )


def file(url: str, draft: HandoffDraft):
    with session_scope(url) as session:
        return file_draft(session, draft, LIMIT)


def test_later_crisis_messages_of_a_conversation_join_its_open_handoff(database_url):
    first = file(database_url, crisis("conv-1", 0))
    later = [file(database_url, crisis("conv-1", minute)) for minute in (1, 2, 3)]

    assert first.new and not any(f.new for f in later)
    assert {f.reference for f in later} == {first.reference}
    with session_scope(database_url) as session:
        (handoff,) = list_handoffs(session, reason="crisis", with_transcripts=True)
        user_turns = [t.text for t in handoff.turns if t.speaker == "user"]
        assert user_turns == [f"{CRISIS} ({m})" for m in range(4)]
        assert [t.position for t in handoff.turns] == list(range(8))
        # Resolved, it no longer takes messages: the next crisis opens a new handoff.
        resolve_handoff(session, handoff, "dr.lee")
    again = file(database_url, crisis("conv-1", 9))
    assert again.new and again.reference != first.reference


def test_over_the_cap_an_address_s_handoffs_are_stored_but_marked_possible_flood(database_url):
    filed = [file(database_url, crisis(f"conv-{n}", n)) for n in range(7)]
    other = file(database_url, crisis("elsewhere", 8, address="198.51.100.4"))

    assert all(f.new for f in filed)
    assert [f.possible_flood for f in filed] == [False] * 3 + [True] * 4
    assert not other.possible_flood
    with session_scope(database_url) as session:
        assert count_handoffs(session) == 8
        assert count_handoffs(session, possible_flood=True) == 4
        listed = list_handoffs(session)
        # The real-looking ones first, the possible flood after them.
        assert [h.possible_flood for h in listed] == [False] * 4 + [True] * 4
        (group,) = flood_groups(session)
        assert (group.client_address, group.handoffs, group.open) == ("203.0.113.7", 4, 4)


def test_the_window_ends_and_an_unknown_address_is_never_capped(database_url):
    for n in range(3):
        file(database_url, crisis(f"conv-{n}", n))
    two_hours_on = crisis("conv-late", 120)
    assert not file(database_url, two_hours_on).possible_flood
    assert not any(
        file(database_url, crisis(f"cli-{n}", n, address=None)).possible_flood for n in range(5)
    )


def test_two_processes_storing_one_conversation_s_crisis_at_once_open_one_handoff(
    database_url, tmp_path
):
    drafts = [crisis("conv-race", minute) for minute in range(6)]

    def store(item: HandoffDraft) -> bool:
        return deliver(
            item,
            database_url,
            pending=tmp_path / "pending.jsonl",
            backoff_seconds=0,
            store=lambda session, d: file_draft(session, d, LIMIT),
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert all(pool.map(store, drafts))
    with session_scope(database_url) as session:
        rows = (
            session.execute(sa.select(Handoff).where(Handoff.conversation_id == "conv-race"))
            .scalars()
            .all()
        )
        assert len(rows) == 1
        users = [t for t in get_handoff(session, rows[0].reference).turns if t.speaker == "user"]
        assert len(users) == 6
    assert not (tmp_path / "pending.jsonl").exists()


def test_paging_reaches_every_handoff_with_every_filter(database_url):
    with session_scope(database_url) as session:
        for n in range(23):
            normal = HandoffDraft(
                reason="unanswered" if n % 2 else "human_request",
                conversation_id=f"page-{n}",
                question=None,
                transcript=[],
                created_at=T0 + dt.timedelta(minutes=n),
            )
            file_draft(session, normal, LIMIT)
    with session_scope(database_url) as session:
        pages = [list_handoffs(session, limit=10, offset=o) for o in (0, 10, 20)]
        seen = [h.conversation_id for page in pages for h in page]
        assert [len(p) for p in pages] == [10, 10, 3]
        assert sorted(seen) == sorted(f"page-{n}" for n in range(23))
        assert count_handoffs(session, reason="unanswered") == 11
        assert count_handoffs(session, urgency="urgent") == 0
        assert count_handoffs(session, urgency="normal", possible_flood=False) == 23
        since = T0 + dt.timedelta(minutes=20)
        assert count_handoffs(session, created_from=since) == 3
