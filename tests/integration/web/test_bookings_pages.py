"""Screening-call bookings on the web app: the staff console's /staff/bookings pages and the
visitor's calendar link /calendar/<token>.ics, on SQLite and the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from bot.db.models import Booking, Handoff, utc_now
from bot.db.session import session_scope
from bot.desk.booking_creation import create_booking
from bot.desk.bookings import get_booking
from bot.desk.scheduling import ClinicCalendar
from bot.desk.staff_accounts import create_user
from bot.web import create_app
from tests.integration.web.test_staff_console import (
    ELIGIBILITY,
    PASSWORD,
    audit_rows,
    csrf_token,
    flashes,
    post_form,
    seed_handoffs,
    sign_in,
    text_of,
)

UTC = dt.timezone.utc
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
DAY = dt.date(2026, 12, 1)  # a Tuesday
VISITORS = {
    "morning": ("Jordan Example", "+15550101234", "jordan@example.org"),
    "afternoon": ("Sam Sample", "+15550105678", None),
    "cancelled": ("Casey Cancel", "+15550109999", None),
    "next_day": ("Nina Nextday", "+15550102222", None),
}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), NEW_YORK).astimezone(UTC)


def book(url: str, slot: dt.datetime, name: str, phone: str, email=None, handoff=None) -> Booking:
    with session_scope(url) as session:
        return create_booking(
            session,
            slot_start=slot,
            name=name,
            phone=phone,
            email=email,
            consent=True,
            # One upcoming call per conversation: each its own.
            conversation_id=f"conv-{phone}",
            handoff_reference=handoff,
        )


@pytest.fixture
def settings(database_url, tmp_path):
    from bot.settings import settings_from_env

    return settings_from_env(
        {
            "KAPBOT_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": database_url,
            "CLINIC_NAME": "Lakeside Clinic",
        }
    )


@pytest.fixture
def bookings(database_url) -> dict[str, Booking]:
    seed_handoffs(database_url)
    made = {
        "morning": book(database_url, at(DAY, 10, 30), *VISITORS["morning"], handoff=ELIGIBILITY),
        "afternoon": book(database_url, at(DAY, 14, 0), *VISITORS["afternoon"]),
        "cancelled": book(database_url, at(DAY, 9, 0), *VISITORS["cancelled"]),
        "next_day": book(database_url, at(DAY + dt.timedelta(days=1), 9, 0), *VISITORS["next_day"]),
    }
    with session_scope(database_url) as session:
        cancelled = get_booking(session, made["cancelled"].reference)
        cancelled.status, cancelled.cancelled_by = "cancelled", "visitor"
    return made


@pytest.fixture
def app(settings, database_url, bookings):
    with session_scope(database_url) as session:
        create_user(session, "alice", PASSWORD, "staff")
    return create_app(settings, {"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def day_path(day: dt.date = DAY) -> str:
    return f"/staff/bookings?day={day.isoformat()}"


def listed(response) -> list[str]:
    return re.findall(r'<tr class="booking \w+" id="booking-(B-[A-Z0-9]+)">', text_of(response))


def row(response, reference: str) -> str:
    body = text_of(response)
    return re.search(rf'id="booking-{reference}">(.*?)</tr>', body, re.S).group(1)


# --- Staff console ----------------------------------------------------------------------------


def test_the_booking_pages_are_staff_only(app, client, bookings):
    rules = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
    mine = [
        "staff.booking_list",
        "staff.cancel_booking",
        "staff.booking_done",
        "staff.bookings_calendar",
    ]
    # Under /staff, so test_every_staff_route_refuses_anonymous_requests covers them too.
    assert all(rules[endpoint].startswith("/staff/") for endpoint in mine)
    reference = bookings["morning"].reference
    for path in ("/staff/bookings", day_path(), "/staff/bookings.ics?day=2026-12-01"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/staff/login")
    token = csrf_token(client)
    for action in ("cancel", "done"):
        response = client.post(f"/staff/bookings/{reference}/{action}", data={"csrf_token": token})
        assert response.status_code == 401
    assert "Jordan" not in text_of(client.get("/staff/bookings"))


def test_a_day_lists_its_calls_in_time_order_with_contact_details(client, bookings, database_url):
    sign_in(client, "alice")
    page = client.get(day_path())
    assert page.status_code == 200
    order = ["cancelled", "morning", "afternoon"]
    assert listed(page) == [bookings[name].reference for name in order]
    morning = row(page, bookings["morning"].reference)
    assert "Tue 1 Dec, 10:30 am (EST)" in morning
    for value in VISITORS["morning"]:
        assert value in morning
    assert f'<a href="/staff/handoffs/{ELIGIBILITY}">{ELIGIBILITY}</a>' in morning
    assert "Mark done</button>" in morning and "Cancel call</button>" in morning
    cancelled = row(page, bookings["cancelled"].reference)
    assert "cancelled by visitor" in cancelled and "<button" not in cancelled
    body = text_of(page)
    assert "Nina Nextday" not in body
    assert 'href="/staff/bookings?day=2026-11-30">Previous day' in body
    assert 'href="/staff/bookings?day=2026-12-02">Next day' in body
    assert "times in America/New_York" in body
    assert 'href="/staff/bookings"' in body  # the navigation link
    assert ("alice", "bookings_listed", None, "day=2026-12-01") in audit_rows(database_url)

    empty = client.get(day_path(dt.date(2026, 12, 5)))
    assert listed(empty) == [] and "No calls are booked on this day." in text_of(empty)


def test_the_list_opens_on_today_and_upcoming_shows_calls_still_to_come(client, database_url):
    clinic = ClinicCalendar.from_settings(client.application.config["KAPBOT_SETTINGS"])
    today = clinic.today(utc_now())
    tomorrow = today + dt.timedelta(days=1)
    today_call = book(database_url, at(today, 23, 30), "Tess Today", "+15550103333")
    later_call = book(database_url, at(tomorrow, 12, 0), "Lee Later", "+15550104444")
    past_call = book(database_url, at(today - dt.timedelta(days=3), 9), "Pat Past", "+15550105555")
    called_off = book(database_url, at(tomorrow, 13, 0), "Cal Off", "+15550106666")
    with session_scope(database_url) as session:
        get_booking(session, called_off.reference).status = "cancelled"

    sign_in(client, "alice")
    page = client.get("/staff/bookings")
    assert page.status_code == 200
    assert listed(page) == [today_call.reference]
    assert f'name="day" type="date" value="{today.isoformat()}"' in text_of(page)

    upcoming = client.get("/staff/bookings?view=upcoming")
    assert upcoming.status_code == 200
    references = listed(upcoming)
    assert later_call.reference in references
    assert past_call.reference not in references and called_off.reference not in references
    assert ("alice", "bookings_listed", None, "upcoming") in audit_rows(database_url)


@pytest.mark.parametrize("day", ["2026-02-30", "12/01/2026", "tomorrow"])
def test_a_bad_day_gets_a_clear_message(client, day):
    sign_in(client, "alice")
    page = client.get(f"/staff/bookings?day={day}")
    assert page.status_code == 400
    assert "'Day' must be a date written as YYYY-MM-DD" in text_of(page)
    assert listed(page) == []
    export = client.get(f"/staff/bookings.ics?day={day}")
    assert export.status_code == 400


def test_cancel_and_mark_done_are_csrf_protected_audited_and_refused_twice(
    client, bookings, database_url
):
    sign_in(client, "alice")
    morning, afternoon = bookings["morning"].reference, bookings["afternoon"].reference

    assert client.post(f"/staff/bookings/{morning}/cancel").status_code == 400  # no token
    assert (
        client.post(f"/staff/bookings/{morning}/cancel", data={"csrf_token": "x"}).status_code
        == 400
    )

    response = post_form(client, f"/staff/bookings/{morning}/cancel", day_path())
    assert response.status_code == 302 and response.location == day_path()
    assert f"Booking {morning} is cancelled; its time can be booked again." in flashes(
        client.get(day_path())
    )
    post_form(client, f"/staff/bookings/{morning}/cancel", day_path())
    assert f"Booking {morning} is already cancelled." in flashes(client.get(day_path()))

    post_form(client, f"/staff/bookings/{afternoon}/done", day_path())
    page = client.get(day_path())
    assert f"Booking {afternoon} is marked as done." in flashes(page)
    assert "<button" not in row(page, afternoon)
    post_form(client, f"/staff/bookings/{afternoon}/cancel", day_path())
    assert f"Booking {afternoon} has already taken place." in flashes(client.get(day_path()))

    with session_scope(database_url) as session:
        cancelled = get_booking(session, morning)
        assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", "alice")
        assert get_booking(session, afternoon).status == "done"
    rows = [r for r in audit_rows(database_url) if r[1].startswith("booking_")]
    assert rows == [
        ("alice", "booking_cancelled", morning, "cancelled on the bookings page"),
        ("alice", "booking_cancelled_refused", morning, f"Booking {morning} is already cancelled."),
        ("alice", "booking_done", afternoon, None),
        (
            "alice",
            "booking_cancelled_refused",
            afternoon,
            f"Booking {afternoon} has already taken place.",
        ),
    ]
    recorded = repr(audit_rows(database_url))
    for personal in (*VISITORS["morning"][:2], *VISITORS["afternoon"][:2]):
        assert personal not in recorded

    assert post_form(client, "/staff/bookings/B-NOSUCH22/done", day_path()).status_code == 404


def test_the_days_calendar_download_for_staff(client, bookings, database_url):
    sign_in(client, "alice")
    response = client.get("/staff/bookings.ics?day=2026-12-01")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="screening-calls-2026-12-01.ics"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    events = Calendar.from_ical(response.get_data()).walk("VEVENT")
    assert [e.decoded("dtstart") for e in events] == [at(DAY, 10, 30), at(DAY, 14, 0)]
    assert [str(e["summary"]) for e in events] == [
        "Screening call: Jordan Example",
        "Screening call: Sam Sample",
    ]  # not the cancelled call, nor the next day's
    assert ("alice", "bookings_exported", None, "day=2026-12-01") in audit_rows(database_url)


def test_the_handoff_page_shows_its_booked_calls(client, bookings):
    sign_in(client, "alice")
    page = text_of(client.get(f"/staff/handoffs/{ELIGIBILITY}"))
    section = re.search(r'<ul id="handoff-bookings">(.*?)</ul>', page, re.S).group(1)
    assert 'href="/staff/bookings?day=2026-12-01">Tue 1 Dec, 10:30 am (EST)</a>' in section
    assert f"{bookings['morning'].reference}, booked" in section
    assert "handoff-bookings" not in text_of(client.get("/staff/handoffs/KAP-CRSS33"))


def test_a_purged_handoff_is_shown_without_a_link(client, bookings, database_url):
    # As a purge removes it once resolved (bot/conversations/retention.py); its transcript goes with
    # it.
    with session_scope(database_url) as session:
        session.execute(sa.delete(Handoff).where(Handoff.reference == ELIGIBILITY))
    sign_in(client, "alice")
    morning = row(client.get(day_path()), bookings["morning"].reference)
    assert f"{ELIGIBILITY} (removed)" in morning and "/staff/handoffs/" not in morning


# --- The visitor's calendar link --------------------------------------------------------------


def test_the_calendar_link_needs_no_sign_in_and_holds_only_the_call(client, bookings):
    booking = bookings["morning"]
    response = client.get(f"/calendar/{booking.calendar_token}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="screening-call-{booking.reference}.ics"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers
    body = response.get_data()
    for personal in VISITORS["morning"]:
        assert personal.encode() not in body
    (event,) = Calendar.from_ical(body).walk("VEVENT")
    assert event.decoded("dtstart") == at(DAY, 10, 30)
    assert str(event["summary"]) == "Screening call with Lakeside Clinic"


def test_unknown_and_cancelled_calendar_links_are_404(client, bookings, database_url):
    assert client.get("/calendar/no-such-token.ics").status_code == 404
    assert client.get(f"/calendar/{bookings['cancelled'].calendar_token}.ics").status_code == 404
    assert client.get(f"/calendar/{bookings['morning'].calendar_token}").status_code == 404
    with session_scope(database_url) as session:
        get_booking(session, bookings["afternoon"].reference).status = "done"
    done = client.get(f"/calendar/{bookings['afternoon'].calendar_token}.ics")
    assert done.status_code == 200
