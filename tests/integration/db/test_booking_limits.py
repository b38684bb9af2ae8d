"""Booking limits on real databases: one upcoming call per phone number and per conversation,
a daily cap per client address, and staff cancelling a flood in one go, audited with a reason."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from bot.db.models import AuditEntry, utc_now
from bot.db.session import session_scope
from bot.desk.booking_creation import AlreadyBooked, TooManyBookings, create_booking
from bot.desk.bookings import BookingError, cancel_for_clinic, get_booking, list_bookings

ADDRESS = "203.0.113.7"


def future_slot(n: int) -> dt.datetime:
    start = (utc_now() + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    return start + dt.timedelta(minutes=30 * n)


def book(url: str, n: int, *, phone: str | None = None, conversation: str | None = None, **extra):
    with session_scope(url) as session:
        return create_booking(
            session,
            slot_start=future_slot(n),
            name="Ramona Quill",
            phone=phone or f"555 2{n:02d} 1234",
            email=None,
            consent=True,
            conversation_id=conversation or f"conv-{n}",
            **extra,
        ).reference


def test_a_phone_number_or_a_conversation_with_an_upcoming_call_cannot_book_another(database_url):
    first = book(database_url, 0, phone="555 201 0000", conversation="conv-a")
    with pytest.raises(AlreadyBooked) as same_phone:
        book(database_url, 1, phone="(555) 201-0000", conversation="conv-b")
    with pytest.raises(AlreadyBooked) as same_conversation:
        book(database_url, 2, phone="555 202 0000", conversation="conv-a")
    assert same_phone.value.reference == same_conversation.value.reference == first
    assert first in str(same_phone.value) and "change or cancel" in str(same_phone.value)

    with session_scope(database_url) as session:
        cancel_for_clinic(session, [first], by="alice", reason="visitor asked by phone")
    # Once the first is cancelled, the number and the conversation can book again.
    assert book(database_url, 3, phone="555 201 0000", conversation="conv-a")


def test_an_address_books_at_most_its_daily_share(database_url):
    cap = {"client_address": ADDRESS, "limit_per_address": 3}
    booked = [book(database_url, n, **cap) for n in range(3)]
    with pytest.raises(TooManyBookings, match="call the clinic"):
        book(database_url, 3, **cap)
    # Cancelling does not give the address its share back; another address books freely.
    with session_scope(database_url) as session:
        cancel_for_clinic(session, booked[:1], by="alice", reason="test")
    with pytest.raises(TooManyBookings):
        book(database_url, 4, **cap)
    assert book(database_url, 5, client_address="198.51.100.4", limit_per_address=3)
    with session_scope(database_url) as session:
        stored = list_bookings(session, client_address=ADDRESS)
        assert sorted(b.reference for b in stored) == sorted(booked)


def test_staff_cancel_a_flood_in_one_action_each_audited_with_the_reason(database_url):
    flood = [book(database_url, n, client_address=ADDRESS) for n in range(5)]
    with session_scope(database_url) as session:
        with pytest.raises(BookingError, match="Say why"):
            cancel_for_clinic(session, flood, by="alice", reason="   ")
        result = cancel_for_clinic(
            session, [*flood, flood[0].lower(), "B-NOSUCH22"], by="alice", reason="booking flood"
        )
    assert result.cancelled == flood
    assert result.refused == {"B-NOSUCH22": "no booking 'B-NOSUCH22'"}
    with session_scope(database_url) as session:
        assert {get_booking(session, r).status for r in flood} == {"cancelled"}
        entries = session.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        assert [(e.actor, e.action, e.target, e.detail) for e in entries] == [
            ("alice", "booking_cancelled", reference, "booking flood") for reference in flood
        ]
        again = cancel_for_clinic(session, flood[:1], by="bob", reason="twice")
    assert again.cancelled == [] and "already cancelled" in again.refused[flood[0]]
