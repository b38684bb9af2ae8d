"""The handoff data layer on real databases (SQLite and PostgreSQL, see `database_url`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.db.migrate import VERSION_TABLE, current_revision, downgrade, head_revision, upgrade
from bot.db.models import Base, Handoff
from bot.db.session import get_engine, session_scope
from bot.desk.handoff_delivery import deliver, replay_pending
from bot.desk.handoff_drafts import Contact, HandoffDraft, Turn, store_draft, transcript_from_events
from bot.desk.handoffs import (
    HandoffError,
    add_note,
    claim_handoff,
    get_handoff,
    handoff_to_dict,
    list_handoffs,
    resolve_handoff,
    transcript_as_text,
)
from bot.desk.references import new_handoff_reference
from tests.conftest import free_port

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 14, 30, 15, 123456, tzinfo=UTC)

# Personal data that must never reach a log line.
NAME, PHONE, EMAIL = "Ramona Quill", "+1 555 013 7788", "ramona.quill@example.org"
QUESTION = "Can I take ketamine while on lithium for my bipolar disorder?"


def draft(
    reason: str = "eligibility",
    created_at: dt.datetime = T0,
    conversation_id: str = "conv-1",
    **overrides,
) -> HandoffDraft:
    transcript = [
        Turn("user", "hi", created_at - dt.timedelta(seconds=30), "greet", 0.9731),
        Turn("bot", "Hello! Ask me about KAP.", created_at - dt.timedelta(seconds=29)),
        Turn("user", QUESTION, created_at - dt.timedelta(seconds=10), "eligibility", 0.61),
        Turn("bot", "I'll pass this to the care team.", created_at - dt.timedelta(seconds=9)),
    ]
    values = {
        "reason": reason,
        "conversation_id": conversation_id,
        "question": QUESTION,
        "transcript": transcript,
        "contact": Contact(NAME, PHONE, EMAIL, consent=True),
        "created_at": created_at,
    }
    values.update(overrides)
    return HandoffDraft(**values)


def store(url: str, *drafts: HandoffDraft) -> list[str]:
    with session_scope(url) as session:
        for item in drafts:
            store_draft(session, item)
    return [item.reference for item in drafts]


def count(url: str, model) -> int:
    with session_scope(url) as session:
        return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


# --- Storing and reading ------------------------------------------------------------------------


def test_a_stored_handoff_keeps_its_transcript_in_order_with_aware_utc_times(database_url):
    paris = dt.timezone(dt.timedelta(hours=2))
    original = draft(reason="crisis", created_at=T0.astimezone(paris))
    original.transcript.append(Turn("user", "still there?", T0.astimezone(paris)))
    store(database_url, original)

    with session_scope(database_url) as session:
        handoff = get_handoff(session, original.reference)
        assert handoff is not None
        assert (handoff.reason, handoff.urgency, handoff.status) == ("crisis", "urgent", "open")
        assert handoff.conversation_id == "conv-1" and handoff.question == QUESTION
        assert (handoff.contact_name, handoff.contact_phone, handoff.contact_email) == (
            NAME,
            PHONE,
            EMAIL,
        )
        assert handoff.contact_consent is True
        assert handoff.created_at == T0 and handoff.created_at.tzinfo == UTC
        turns = [(t.position, t.speaker, t.text, t.intent, t.confidence) for t in handoff.turns]
        assert turns == [
            (0, "user", "hi", "greet", pytest.approx(0.9731)),
            (1, "bot", "Hello! Ask me about KAP.", None, None),
            (2, "user", QUESTION, "eligibility", pytest.approx(0.61)),
            (3, "bot", "I'll pass this to the care team.", None, None),
            (4, "user", "still there?", None, None),
        ]
        for turn, sent in zip(handoff.turns, original.transcript, strict=True):
            assert turn.time == sent.time
            assert turn.time.tzinfo == UTC
        assert handoff.turns[-1].time == T0


def test_a_handoff_without_contact_details_or_with_a_long_conversation_id_is_stored(database_url):
    anonymous = draft(contact=None, question=None, transcript=[], conversation_id="c" * 300)
    store(database_url, anonymous)
    with session_scope(database_url) as session:
        handoff = get_handoff(session, anonymous.reference)
        assert handoff.contact_name is None and handoff.contact_consent is False
        assert handoff.turns == [] and handoff.question is None
        assert handoff.conversation_id == "c" * 128


def test_references_are_readable_and_unique(database_url):
    reference = new_handoff_reference()
    assert re.fullmatch(r"KAP-[2-9A-HJKMNP-Z]{6}", reference)
    store(database_url, draft(reference=reference))
    with pytest.raises(sa.exc.IntegrityError):
        store(database_url, draft(reference=reference, conversation_id="conv-2"))
    assert count(database_url, Handoff) == 1
    assert get_handoff_or_none(database_url, "KAP-NOSUCH") is None


def get_handoff_or_none(url: str, reference: str):
    with session_scope(url) as session:
        return get_handoff(session, reference)


# --- Listing ------------------------------------------------------------------------------------


def seed_for_listing(url: str) -> dict[str, str]:
    drafts = {
        "old_crisis": draft("crisis", T0 - dt.timedelta(days=3)),
        "new_crisis": draft("crisis", T0 - dt.timedelta(days=1)),
        "oldest": draft("eligibility", T0 - dt.timedelta(days=10)),
        "newest": draft("human_request", T0),
        "middle": draft("eligibility", T0 - dt.timedelta(days=2)),
    }
    store(url, *drafts.values())
    return {name: item.reference for name, item in drafts.items()}


def test_the_list_puts_urgent_first_then_newest_first(database_url):
    refs = seed_for_listing(database_url)
    with session_scope(database_url) as session:
        found = [h.reference for h in list_handoffs(session)]
        limited = [h.reference for h in list_handoffs(session, limit=3)]
    expected = [refs[name] for name in ("new_crisis", "old_crisis", "newest", "middle", "oldest")]
    assert found == expected
    assert limited == expected[:3]


def test_the_list_filters_by_status_reason_and_date_range(database_url):
    refs = seed_for_listing(database_url)
    with session_scope(database_url) as session:
        claim_handoff(session, get_handoff(session, refs["middle"]), "dr.lee")
        resolve_handoff(session, get_handoff(session, refs["oldest"]), "dr.lee")

    def listed(**filters) -> set[str]:
        with session_scope(database_url) as session:
            return {h.reference for h in list_handoffs(session, **filters)}

    names = {reference: name for name, reference in refs.items()}
    assert {names[r] for r in listed(status="claimed")} == {"middle"}
    assert {names[r] for r in listed(status="resolved")} == {"oldest"}
    assert {names[r] for r in listed(status="open")} == {"old_crisis", "new_crisis", "newest"}
    assert {names[r] for r in listed(reason="eligibility")} == {"middle", "oldest"}
    assert {names[r] for r in listed(reason="crisis", status="open")} == {
        "old_crisis",
        "new_crisis",
    }
    # From is inclusive, to is exclusive; any time zone is accepted.
    window = listed(
        created_from=T0 - dt.timedelta(days=3),
        created_to=(T0 - dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=-5))),
    )
    assert {names[r] for r in window} == {"old_crisis", "middle"}
    assert listed(created_from=T0 + dt.timedelta(seconds=1)) == set()


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "closed"},
        {"status": ""},
        {"reason": "billing"},
        {"created_from": dt.datetime(2026, 1, 1)},  # naive: ambiguous
        {"created_to": dt.datetime(2026, 1, 1)},
    ],
)
def test_invalid_list_filters_are_refused(database_url, filters):
    with session_scope(database_url) as session, pytest.raises(HandoffError):
        list_handoffs(session, **filters)


# --- Claiming, resolving, notes -----------------------------------------------------------------


def test_claim_then_resolve_and_the_transitions_that_are_refused(database_url):
    first, second = store(database_url, draft(), draft(conversation_id="conv-2"))
    with session_scope(database_url) as session:
        handoff = get_handoff(session, first)
        claim_handoff(session, handoff, "dr.lee")
        with pytest.raises(HandoffError, match="only an open one can be claimed"):
            claim_handoff(session, handoff, "dr.ng")
    with session_scope(database_url) as session:
        handoff = get_handoff(session, first)
        assert (handoff.status, handoff.claimed_by) == ("claimed", "dr.lee")
        assert handoff.claimed_at.tzinfo == UTC
        resolve_handoff(session, handoff, "dr.ng")
    with session_scope(database_url) as session:
        handoff = get_handoff(session, first)
        assert (handoff.status, handoff.claimed_by, handoff.resolved_by) == (
            "resolved",
            "dr.lee",
            "dr.ng",
        )
        assert handoff.resolved_at >= handoff.claimed_at
        with pytest.raises(HandoffError, match="already resolved"):
            resolve_handoff(session, handoff, "dr.ng")
        with pytest.raises(HandoffError):
            claim_handoff(session, handoff, "dr.ng")
        # Resolving an open one directly records who took it.
        other = get_handoff(session, second)
        resolve_handoff(session, other, "dr.ng")
    with session_scope(database_url) as session:
        other = get_handoff(session, second)
        assert (other.status, other.claimed_by, other.resolved_by) == ("resolved", "dr.ng", "dr.ng")


def test_notes_are_kept_in_order_and_empty_or_overlong_ones_refused(database_url):
    (reference,) = store(database_url, draft())
    with session_scope(database_url) as session:
        handoff = get_handoff(session, reference)
        add_note(session, handoff, "dr.lee", "  Called back, left a voicemail.  ")
        add_note(session, handoff, "dr.ng", "x" * 4000)
        for text in ("", "   \n ", None, "y" * 4001):
            with pytest.raises(HandoffError):
                add_note(session, handoff, "dr.lee", text)
    with session_scope(database_url) as session:
        notes = get_handoff(session, reference).notes
        assert [(n.author, n.text) for n in notes] == [
            ("dr.lee", "Called back, left a voicemail."),
            ("dr.ng", "x" * 4000),
        ]
        assert notes[0].created_at.tzinfo == UTC


# --- Export -------------------------------------------------------------------------------------


def test_handoff_to_dict_and_transcript_as_text(database_url):
    (reference,) = store(database_url, draft("crisis"))
    with session_scope(database_url) as session:
        handoff = get_handoff(session, reference)
        add_note(session, handoff, "dr.lee", "Called at 15:02.")
        data = handoff_to_dict(handoff)
        text = transcript_as_text(handoff)

    assert json.loads(json.dumps(data)) == data
    assert data["reference"] == reference
    assert data["created_at"] == "2026-03-02T14:30:15.123456+00:00"
    assert (data["reason"], data["urgency"], data["status"]) == ("crisis", "urgent", "open")
    assert data["contact"] == {"name": NAME, "phone": PHONE, "email": EMAIL, "consent": True}
    assert data["question"] == QUESTION
    assert data["transcript"][0] == {
        "speaker": "user",
        "text": "hi",
        "time": "2026-03-02T14:29:45.123456+00:00",
        "intent": "greet",
        "confidence": pytest.approx(0.9731),
    }
    assert data["transcript"][1] == {
        "speaker": "bot",
        "text": "Hello! Ask me about KAP.",
        "time": "2026-03-02T14:29:46.123456+00:00",
    }
    assert [t["speaker"] for t in data["transcript"]] == ["user", "bot", "user", "bot"]
    assert data["notes"] == [
        {"author": "dr.lee", "time": data["notes"][0]["time"], "text": "Called at 15:02."}
    ]
    assert data["claimed_by"] is None and data["resolved_at"] is None

    lines = text.splitlines()
    assert lines[0] == f"Handoff {reference}"
    assert "Reason: crisis   Urgency: urgent   Status: open" in text
    assert f"Contact: {NAME}, {PHONE}, {EMAIL}   Consent to contact: yes" in text
    assert f"Question: {QUESTION}" in text
    assert "[2026-03-02 14:29:45 UTC] Visitor: hi  [greet 0.97]" in lines
    assert "[2026-03-02 14:29:46 UTC] Bot: Hello! Ask me about KAP." in lines
    assert lines.index("[2026-03-02 14:29:45 UTC] Visitor: hi  [greet 0.97]") < lines.index(
        f"[2026-03-02 14:30:05 UTC] Visitor: {QUESTION}  [eligibility 0.61]"
    )
    assert lines[-1].startswith("Note by dr.lee at ") and lines[-1].endswith("Called at 15:02.")


def test_transcript_from_rasa_sdk_tracker_events():
    start = 1772460000.25  # 2026-03-02 14:00:00.25 UTC
    events = [
        {"event": "action", "timestamp": start, "name": "action_session_start"},
        {"event": "session_started", "timestamp": start},
        {"event": "action", "timestamp": start, "name": "action_listen"},
        {
            "event": "user",
            "timestamp": start + 1,
            "text": "hello there",
            "parse_data": {
                "intent": {"name": "greet", "confidence": 0.9876},
                "entities": [],
                "text": "hello there",
                "intent_ranking": [{"name": "greet", "confidence": 0.9876}],
            },
            "input_channel": "rest",
            "message_id": "m1",
            "metadata": {},
        },
        {
            "event": "user_featurization",
            "timestamp": start + 1,
            "use_text_for_featurization": False,
        },
        {
            "event": "action",
            "timestamp": start + 1.5,
            "name": "utter_greet",
            "policy": "RulePolicy",
        },
        {
            "event": "bot",
            "timestamp": start + 1.6,
            "text": "Hi! I answer questions about KAP.",
            "data": {"buttons": None},
            "metadata": {"utter_action": "utter_greet"},
        },
        {"event": "bot", "timestamp": start + 1.7, "text": None, "data": {"custom": {"a": 1}}},
        {"event": "slot", "timestamp": start + 2, "name": "topic", "value": "bladder"},
        {
            "event": "user",
            "timestamp": start + 30,
            "text": "/request_human",
            "parse_data": {"intent": {"name": "request_human", "confidence": 1}, "entities": []},
        },
        {"event": "user", "timestamp": start + 40, "text": "no nlu", "parse_data": None},
        {"event": "bot", "text": "no timestamp"},
    ]
    before = time.time()
    turns = transcript_from_events(events)

    assert [(t.speaker, t.text, t.intent, t.confidence) for t in turns] == [
        ("user", "hello there", "greet", 0.9876),
        ("bot", "Hi! I answer questions about KAP.", None, None),
        ("user", "/request_human", "request_human", 1.0),
        ("user", "no nlu", None, None),
        ("bot", "no timestamp", None, None),
    ]
    assert isinstance(turns[2].confidence, float)
    assert turns[0].time == dt.datetime(2026, 3, 2, 14, 0, 1, 250000, tzinfo=UTC)
    assert turns[1].time == dt.datetime(2026, 3, 2, 14, 0, 1, 850000, tzinfo=UTC)
    assert all(t.time.tzinfo == UTC for t in turns)
    assert turns[-1].time.timestamp() >= before - 1


# --- Drafts -------------------------------------------------------------------------------------


def test_a_draft_survives_json_and_invalid_drafts_are_refused_up_front():
    original = draft("crisis")
    copy = HandoffDraft.from_json(original.to_json())
    assert copy == original
    assert copy.urgency == "urgent" and draft().urgency == "normal"

    with pytest.raises(HandoffError):
        draft("billing")
    with pytest.raises(HandoffError):
        draft(urgency="whenever")
    with pytest.raises(HandoffError):
        draft(created_at=dt.datetime(2026, 3, 2, 14, 0))  # naive
    with pytest.raises(HandoffError):
        Turn("system", "hi", T0)
    with pytest.raises(HandoffError):
        Turn("user", "hi", dt.datetime(2026, 3, 2, 14, 0))
    with pytest.raises(HandoffError):
        draft(contact=Contact("x" * 121))


# --- Delivery when the database is down ---------------------------------------------------------


@pytest.fixture(params=["postgresql-refused", "sqlite-unusable-path"])
def unreachable_url(request, tmp_path):
    if request.param == "postgresql-refused":
        return f"postgresql://postgres@127.0.0.1:{free_port()}/kapbot"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where SQLite's folder should be")
    return f"sqlite:///{blocker / 'var' / 'kapbot.db'}"


def test_deliver_keeps_the_handoff_when_the_database_is_down_and_replay_stores_it_once(
    database_url, unreachable_url, tmp_path, caplog
):
    pending = tmp_path / "var" / "pending-handoffs.jsonl"
    original = draft("crisis")
    reference = original.reference
    caplog.set_level(logging.INFO, logger="bot.desk.handoff_delivery")

    started = time.monotonic()
    stored = deliver(original, unreachable_url, pending=pending, attempts=2, backoff_seconds=0)
    assert stored is False
    assert time.monotonic() - started < 10
    assert original.reference == reference  # the visitor may already have been told it

    assert len(pending.read_text().splitlines()) == 1
    assert HandoffDraft.from_json(pending.read_text()) == original
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3  # two attempts, then where it was kept
    assert all(reference in message for message in errors)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for personal in (NAME, PHONE, EMAIL, QUESTION, "ramona", "Ask me about KAP"):
        assert personal.lower() not in logged.lower()

    assert replay_pending(database_url, pending) == 1
    assert not pending.exists()
    assert replay_pending(database_url, pending) == 0
    # A line replayed again (say an interrupted replay left it behind) is not stored twice.
    pending.write_text(original.to_json() + "\n")
    assert replay_pending(database_url, pending) == 0
    assert not pending.exists()

    assert count(database_url, Handoff) == 1
    with session_scope(database_url) as session:
        handoff = get_handoff(session, reference)
        assert handoff.contact_name == NAME and handoff.urgency == "urgent"
        assert [t.text for t in handoff.turns] == [t.text for t in original.transcript]


def test_replay_keeps_what_it_cannot_store_yet(database_url, tmp_path):
    pending = tmp_path / "pending-handoffs.jsonl"
    good, later = draft(), draft(conversation_id="conv-2")
    pending.write_text(good.to_json() + "\n" + '{"reason": "crisis", "trunc\n')
    assert replay_pending(database_url, pending) == 1
    assert pending.read_text() == '{"reason": "crisis", "trunc\n'

    down = f"postgresql://postgres@127.0.0.1:{free_port()}/kapbot"
    assert deliver(later, down, pending=pending, attempts=1) is False
    assert replay_pending(down, pending) == 0
    assert len(pending.read_text().splitlines()) == 2
    assert replay_pending(database_url, pending) == 1
    assert pending.read_text() == '{"reason": "crisis", "trunc\n'
    assert count(database_url, Handoff) == 2


def test_deliver_stores_directly_and_does_not_duplicate_or_lose_on_a_reference_clash(
    database_url, tmp_path
):
    pending = tmp_path / "pending.jsonl"
    first = draft()
    assert deliver(first, database_url, pending=pending) is True
    assert deliver(first, database_url, pending=pending) is True  # the same draft twice
    assert count(database_url, Handoff) == 1

    clash = draft(reference=first.reference, conversation_id="conv-other")
    assert deliver(clash, database_url, pending=pending) is True
    assert clash.reference != first.reference
    assert not pending.exists()
    with session_scope(database_url) as session:
        assert get_handoff(session, clash.reference).conversation_id == "conv-other"
        assert get_handoff(session, first.reference).conversation_id == "conv-1"


# --- Migrations ---------------------------------------------------------------------------------


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    return type_ != "table" or name.startswith("kap_")


def kap_tables(url: str) -> set[str]:
    return {t for t in sa.inspect(get_engine(url)).get_table_names() if t.startswith("kap_")}


def test_migrations_go_down_and_up_and_match_the_models(database_url):
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert current_revision(database_url) == head_revision()
    assert kap_tables(database_url) == expected | {VERSION_TABLE}

    downgrade(database_url)
    assert kap_tables(database_url) <= {VERSION_TABLE}
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert kap_tables(database_url) == expected | {VERSION_TABLE}
    assert current_revision(database_url) == head_revision()

    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": VERSION_TABLE,
                "include_object": _ours,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        assert compare_metadata(context, Base.metadata) == []

    # And the schema works after the round trip.
    store(database_url, draft())
    assert count(database_url, Handoff) == 1
