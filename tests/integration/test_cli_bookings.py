"""`kapbot bookings list` and `kapbot bookings cancel`, run as the real console script."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
import sqlalchemy as sa

from bot.db.models import AuditEntry, Booking
from bot.db.session import session_scope
from bot.desk.booking_creation import create_booking
from bot.desk.bookings import get_booking
from bot.desk.handoff_drafts import Contact, HandoffDraft, store_draft
from bot.desk.handoffs import get_handoff
from tests.integration.test_cli_handoffs import kapbot

UTC = dt.timezone.utc
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
DAY = dt.date(2026, 12, 1)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), NEW_YORK).astimezone(UTC)


def seed(url: str) -> dict[str, Booking]:
    slots = {
        "late": at(DAY, 16, 30),
        "early": at(DAY, 9, 0),
        "next_day": at(DAY + dt.timedelta(days=1), 11, 0),
        "cancelled": at(DAY, 10, 0),
    }
    made = {}
    with session_scope(url) as session:
        for name, slot in slots.items():
            made[name] = create_booking(
                session,
                slot_start=slot,
                name=f"Ada {name.title()}",
                phone="+1 555 010 2222",
                email="ada@example.org" if name == "early" else None,
                consent=True,
                conversation_id=f"conv-{name}",
                handoff_reference="KAP-EGBT23" if name == "early" else None,
            )
        get_booking(session, made["cancelled"].reference).status = "cancelled"
    return made


def test_bookings_list_json_in_time_order_with_filters(database_url, tmp_path):
    made = seed(database_url)
    listed = kapbot("bookings", "list", "--json", url=database_url, var_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    order = ["early", "cancelled", "late", "next_day"]
    assert [r["reference"] for r in rows] == [made[name].reference for name in order]
    first = rows[0]
    assert first["slot_start"] == "2026-12-01T14:00:00+00:00"
    assert first["slot_text"] == "Tue 1 Dec, 9:00 am (EST)"
    assert (first["name"], first["phone"], first["email"]) == (
        "Ada Early",
        "+15550102222",
        "ada@example.org",
    )
    assert (first["status"], first["handoff_reference"]) == ("booked", "KAP-EGBT23")
    assert rows[1]["status"] == "cancelled" and rows[2]["email"] is None

    def references(*args: str) -> list[str]:
        result = kapbot("bookings", "list", "--json", *args, url=database_url, var_dir=tmp_path)
        assert result.returncode == 0, result.stderr
        return [r["reference"] for r in json.loads(result.stdout)]

    booked = references("--status", "booked")
    assert booked == [made[name].reference for name in ("early", "late", "next_day")]
    on_day = references("--day", "2026-12-01", "--status", "booked")
    assert on_day == [made["early"].reference, made["late"].reference]
    assert references("--day", "2026-12-02") == [made["next_day"].reference]
    assert references("--day", "2026-12-03") == []


def test_bookings_list_table_has_no_contact_details(database_url, tmp_path):
    made = seed(database_url)
    table = kapbot("bookings", "list", "--day", "2026-12-01", url=database_url, var_dir=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["REFERENCE", "CALL", "(America/New_York)", "STATUS", "HANDOFF"]
    assert len(lines) == 4
    assert lines[1].startswith(made["early"].reference)
    assert "Tue 1 Dec, 9:00 am (EST)" in lines[1] and "KAP-EGBT23" in lines[1]
    assert "Ada" not in table.stdout and "555" not in table.stdout

    empty = kapbot("bookings", "list", "--day", "2030-01-01", url=database_url, var_dir=tmp_path)
    assert empty.returncode == 0 and empty.stdout.strip() == "no bookings"


def test_bookings_cancel_frees_the_slot_and_is_audited(database_url, tmp_path):
    made = seed(database_url)
    reference = made["late"].reference
    cancelled = kapbot("bookings", "cancel", reference.lower(), url=database_url, var_dir=tmp_path)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"cancelled {reference}; its time can be booked again"
    with session_scope(database_url) as session:
        booking = get_booking(session, reference)
        assert booking.status == "cancelled" and booking.cancelled_by.startswith("cli:")
        # The time can be booked again.
        create_booking(
            session,
            slot_start=at(DAY, 16, 30),
            name="Bo Rebook",
            phone="+1 555 010 3333",
            email=None,
            consent=True,
            conversation_id="conv-again",
        )

    again = kapbot("bookings", "cancel", reference, url=database_url, var_dir=tmp_path)
    assert again.returncode == 1
    assert f"error: Booking {reference} is already cancelled." in again.stderr
    unknown = kapbot("bookings", "cancel", "B-NOSUCH22", url=database_url, var_dir=tmp_path)
    assert unknown.returncode == 1 and "error: no booking 'B-NOSUCH22'" in unknown.stderr

    with session_scope(database_url) as session:
        audit = session.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        entries = [(e.action, e.target) for e in audit]
    assert entries == [
        ("booking_cancelled", reference),
        ("booking_cancelled_refused", reference),
    ]


def test_purge_still_works_when_bookings_point_at_purged_handoffs(tmp_path):
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    assert kapbot("db", "upgrade", url=url, var_dir=tmp_path).returncode == 0
    old = HandoffDraft(
        reason="eligibility",
        conversation_id="conv",
        question=None,
        transcript=[],
        contact=Contact("Ada Early", "+15550102222", None, consent=True),
        created_at=dt.datetime.now(UTC) - dt.timedelta(days=60),
    )
    with session_scope(url) as session:
        store_draft(session, old)
        # Purge only takes handoffs resolved long enough ago; open ones are kept.
        handoff = get_handoff(session, old.reference)
        handoff.status, handoff.resolved_by = "resolved", "sam"
        handoff.resolved_at = dt.datetime.now(UTC) - dt.timedelta(days=59)
    made = seed(url)
    with session_scope(url) as session:
        get_booking(session, made["early"].reference).handoff_reference = old.reference

    purged = kapbot("purge", "--older-than", "30", url=url, var_dir=tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert "removed 1 handoff(s)" in purged.stdout
    listed = kapbot("bookings", "list", "--json", url=url, var_dir=tmp_path)
    assert len(json.loads(listed.stdout)) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bookings", "list", "--status", "gone"), "status must be one of booked, cancelled, done"),
        (("bookings", "list", "--day", "01/12/2026"), "Invalid value for '--day'"),
        (("bookings", "cancel"), "name at least one booking"),
    ],
)
def test_bad_input_is_refused_with_exit_code_2(tmp_path, args, message):
    result = kapbot(*args, url=f"sqlite:///{tmp_path / 'kapbot.db'}", var_dir=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_bad_clinic_settings_stop_the_cli_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINIC_TIMEZONE", "Mars/Olympus_Mons")
    result = kapbot("bookings", "list", url=f"sqlite:///{tmp_path / 'k.db'}", var_dir=tmp_path)
    assert result.returncode == 2
    assert "error: configuration: CLINIC_TIMEZONE must be" in result.stderr


def test_bookings_cancel_a_flood_by_address_each_audited_with_the_reason(database_url, tmp_path):
    start = (dt.datetime.now(UTC) + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    with session_scope(database_url) as session:
        flood = [
            create_booking(
                session,
                slot_start=start + dt.timedelta(minutes=30 * n),
                name="Stranger",
                phone=f"555 3{n:02d} 4567",
                email=None,
                consent=True,
                conversation_id=f"script-{n}",
                client_address="203.0.113.7",
            ).reference
            for n in range(4)
        ]
    reason = "booking flood from 203.0.113.7"
    result = kapbot(
        "bookings", "cancel", "--address", "203.0.113.7", "--reason", reason,
        url=database_url, var_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"cancelled {reference}; its time can be booked again" for reference in flood
    ]
    with session_scope(database_url) as session:
        audit = session.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        assert [(e.action, e.target, e.detail) for e in audit] == [
            ("booking_cancelled", reference, reason) for reference in flood
        ]
        assert all(e.actor.startswith("cli:") for e in audit)
