"""The staff console against floods, on SQLite and the real PostgreSQL: paging and filters reach
every handoff (the list used to stop at 500), and a booking flood is cancelled in one action,
each cancellation audited with the reason."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from bot.db.models import Handoff, utc_now
from bot.db.session import session_scope
from bot.desk.booking_creation import create_booking
from bot.desk.bookings import get_booking, list_bookings
from bot.desk.staff_accounts import create_user
from bot.settings import settings_from_env
from bot.web import create_app
from tests.integration.web.test_staff_console import (
    PASSWORD,
    audit_rows,
    flashes,
    post_form,
    sign_in,
    text_of,
)

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FLOOD_ADDRESS = "203.0.113.7"


@pytest.fixture
def app(database_url, tmp_path):
    settings = settings_from_env(
        {"KAPBOT_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url}
    )
    with session_scope(database_url) as session:
        create_user(session, "alice", PASSWORD, "staff")
    return create_app(settings, {"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def seed_flood(url: str, count: int) -> None:
    """`count` urgent crisis handoffs from one address, the oldest not marked possible flood."""
    rows = [
        {
            "reference": f"KAP-F{n:05d}",
            "created_at": T0 + dt.timedelta(seconds=n),
            "reason": "crisis",
            "urgency": "urgent",
            "status": "open",
            "conversation_id": f"flood-{n}",
            "contact_consent": False,
            "client_address": FLOOD_ADDRESS,
            "possible_flood": n >= 5,
        }
        for n in range(count)
    ]
    with session_scope(url) as session:
        session.execute(sa.insert(Handoff), rows)


def references(response) -> list[str]:
    return re.findall(r'href="/staff/handoffs/(KAP-[A-Z0-9]+)"', text_of(response))


def test_paging_reaches_a_handoff_the_500_row_list_never_showed(client, database_url):
    seed_flood(database_url, 540)
    with session_scope(database_url) as session:
        session.add(
            Handoff(
                reference="KAP-REAL22",
                created_at=T0 - dt.timedelta(days=1),  # older than the whole flood
                reason="unanswered",
                urgency="normal",
                status="open",
                conversation_id="real-visitor",
            )
        )
    sign_in(client, "alice")

    first = client.get("/staff/handoffs")
    assert first.status_code == 200
    assert "Page 1 of 11 (541 handoffs)" in text_of(first)
    # Those not marked possible flood come first, however old: a real visitor is not buried.
    assert references(first)[:6] == [*(f"KAP-F{n:05d}" for n in (4, 3, 2, 1, 0)), "KAP-REAL22"]
    assert f"{FLOOD_ADDRESS}: 535 handoff(s), 535 open" in text_of(first)

    oldest_flood = "KAP-F00005"  # the last of all in the list's order
    seen, page = [], 1
    while True:
        response = client.get(f"/staff/handoffs?page={page}")
        seen += references(response)
        if 'rel="next"' not in text_of(response):
            break
        page += 1
    assert page == 11 and len(seen) == len(set(seen)) == 541 and seen[-1] == oldest_flood

    flood_only = client.get("/staff/handoffs?flood=yes&urgency=urgent&status=open&page=11")
    assert len(references(flood_only)) == 35 and references(flood_only)[-1] == oldest_flood
    assert "Page 11 of 11 (535 handoffs)" in text_of(flood_only)
    # The paging links keep the filters.
    page_ten = re.search(r'rel="prev" href="([^"]+)"', text_of(flood_only)).group(1)
    assert "flood=yes" in page_ten and "urgency=urgent" in page_ten and "page=10" in page_ten
    not_flood = client.get(
        "/staff/handoffs?flood=no&reason=unanswered&from=2026-03-01&to=2026-03-01"
    )
    assert references(not_flood) == ["KAP-REAL22"]
    bad = client.get("/staff/handoffs?page=0&flood=maybe&urgency=high")
    assert bad.status_code == 400
    for problem in ("'Page' must be", "'Possible flood' must be yes or no", "Urgency must be"):
        assert problem in text_of(bad)


def book_flood(url: str, count: int) -> list[str]:
    start = (utc_now() + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    made = []
    with session_scope(url) as session:
        for n in range(count):
            booking = create_booking(
                session,
                slot_start=start + dt.timedelta(minutes=30 * n),
                name=f"Stranger {n}",
                phone=f"555 3{n:02d} 4567",
                email=None,
                consent=True,
                conversation_id=f"script-{n}",
                client_address=FLOOD_ADDRESS,
            )
            made.append(booking.reference)
        create_booking(
            session,
            slot_start=start - dt.timedelta(hours=1),
            name="Real Visitor",
            phone="555 999 1234",
            email=None,
            consent=True,
            conversation_id="real",
            client_address="198.51.100.4",
        )
    return made


def test_staff_cancel_a_booking_flood_in_one_action_with_a_reason(client, database_url):
    flood = book_flood(database_url, 6)
    sign_in(client, "alice")
    page = f"/staff/bookings?address={FLOOD_ADDRESS}"
    listed = client.get(page)
    boxes = re.findall(r'name="reference" value="(B-[A-Z0-9]+)"[^>]* checked', text_of(listed))
    assert sorted(boxes) == sorted(flood)  # the address's calls, all selected

    without_reason = post_form(client, "/staff/bookings/cancel", page, reference=flood)
    assert without_reason.status_code == 302
    assert any("Say why" in f for f in flashes(client.get(page)))

    done = post_form(
        client,
        "/staff/bookings/cancel",
        page,
        reference=flood,
        reason="booking flood from one address",
        address=FLOOD_ADDRESS,
    )
    assert done.status_code == 302 and done.location == page
    assert any(f"Cancelled 6 calls: {', '.join(flood)}" in f for f in flashes(client.get(page)))
    with session_scope(database_url) as session:
        assert {get_booking(session, r).status for r in flood} == {"cancelled"}
    cancelled = [r for r in audit_rows(database_url) if r[1] == "booking_cancelled"]
    assert cancelled == [
        ("alice", "booking_cancelled", reference, "booking flood from one address")
        for reference in flood
    ]
    # The real visitor's call is untouched.
    with session_scope(database_url) as session:
        assert [b.name for b in list_bookings(session, status="booked")] == ["Real Visitor"]
