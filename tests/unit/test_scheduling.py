"""When calls can be booked and what a visitor's words ask for (bot/desk/scheduling.py): fixed `now`
values, the clinic's own time zone, DST changes and holidays."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from bot.desk.scheduling import (
    ClinicCalendar,
    SlotRequest,
    format_slot,
    nearest_free_slot,
    parse_slot_request,
)
from bot.settings import settings_from_env

UTC = dt.timezone.utc
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
LONDON = zoneinfo.ZoneInfo("Europe/London")


def calendar(**env: str) -> ClinicCalendar:
    return ClinicCalendar.from_settings(settings_from_env(env))


def ny(*args: int) -> dt.datetime:
    """A clinic-local (New York) time, as an aware UTC datetime."""
    return dt.datetime(*args, tzinfo=NEW_YORK).astimezone(UTC)


# Monday 23 November 2026; Thanksgiving is Thursday 26 November.
MONDAY_8AM = ny(2026, 11, 23, 8, 0)


# --- The calendar -----------------------------------------------------------------------------


def test_the_calendar_comes_from_the_settings():
    clinic = calendar(
        CLINIC_NAME="Lakeside Clinic",
        CLINIC_TIMEZONE="Europe/London",
        CLINIC_DAYS="tue,thu",
        CLINIC_HOURS="10:00-12:00",
        SLOT_MINUTES="45",
        CLINIC_HOLIDAYS="2026-12-24",
        BOOKING_DAYS_AHEAD="3",
        BOOKING_LEAD_MINUTES="0",
        CLINIC_PHONE="020 7946 0000",
    )
    assert clinic.timezone == LONDON
    assert clinic.days == {1, 3}
    assert (clinic.opening, clinic.closing) == (dt.time(10), dt.time(12))
    assert clinic.slot_length == dt.timedelta(minutes=45)
    assert clinic.holidays == {dt.date(2026, 12, 24)}
    assert (clinic.days_ahead, clinic.lead_minutes) == (3, 0)
    assert (clinic.name, clinic.phone) == ("Lakeside Clinic", "020 7946 0000")


def test_candidate_slots_cover_the_next_ten_working_days_in_utc():
    slots = calendar().candidate_slots(MONDAY_8AM)
    assert all(slot.tzinfo == UTC for slot in slots)
    assert slots == sorted(slots)
    assert len(slots) == 10 * 16  # 9:00 to 16:30, every 30 minutes
    assert slots[0] == ny(2026, 11, 23, 9, 0) == dt.datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert slots[15] == ny(2026, 11, 23, 16, 30)  # the last call ends at closing time
    assert slots[-1] == ny(2026, 12, 4, 16, 30)  # Friday of the next week
    days = {slot.astimezone(NEW_YORK).date() for slot in slots}
    assert all(day.weekday() < 5 for day in days)


def test_lead_time_and_today_counting_only_while_a_slot_remains():
    clinic = calendar()
    slots = clinic.candidate_slots(ny(2026, 11, 23, 10, 5))
    assert slots[0] == ny(2026, 11, 23, 11, 30)  # not sooner than 60 minutes from now
    assert slots[-1] == ny(2026, 12, 4, 16, 30)

    late = clinic.candidate_slots(ny(2026, 11, 23, 15, 31))
    assert late[0] == ny(2026, 11, 24, 9, 0)  # 16:30 is less than an hour away
    assert late[-1] == ny(2026, 12, 7, 16, 30)  # so today does not count: ten days from Tuesday
    assert len(late) == 160

    eager = calendar(BOOKING_LEAD_MINUTES="0").candidate_slots(ny(2026, 11, 23, 16, 30))
    assert eager[0] == ny(2026, 11, 23, 16, 30)


def test_a_weekend_now_starts_on_monday():
    slots = calendar(BOOKING_DAYS_AHEAD="1").candidate_slots(ny(2026, 11, 21, 11, 0))
    assert slots[0] == ny(2026, 11, 23, 9, 0) and slots[-1] == ny(2026, 11, 23, 16, 30)


def test_holidays_are_skipped_and_the_window_still_has_ten_working_days():
    clinic = calendar(CLINIC_HOLIDAYS="2026-11-26,2026-11-27")
    slots = clinic.candidate_slots(MONDAY_8AM)
    days = sorted({slot.astimezone(NEW_YORK).date() for slot in slots})
    assert dt.date(2026, 11, 26) not in days and dt.date(2026, 11, 27) not in days
    assert len(days) == 10
    assert days[-1] == dt.date(2026, 12, 8)
    assert not clinic.is_working_day(dt.date(2026, 11, 26))
    assert clinic.slots_on(dt.date(2026, 11, 26)) == []


def test_slots_follow_the_clinic_clock_across_the_autumn_dst_change():
    # New York leaves daylight time on Sunday 1 November 2026.
    clinic = calendar(BOOKING_DAYS_AHEAD="2")
    slots = clinic.candidate_slots(ny(2026, 10, 30, 7, 0))
    assert slots[0] == dt.datetime(2026, 10, 30, 13, 0, tzinfo=UTC)  # 9:00 EDT
    monday = [s for s in slots if s.astimezone(NEW_YORK).date() == dt.date(2026, 11, 2)]
    assert monday[0] == dt.datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 9:00 EST
    assert len(monday) == 16
    assert format_slot(slots[0], clinic) == "Fri 30 Oct, 9:00 am (EDT)"
    assert format_slot(monday[0], clinic) == "Mon 2 Nov, 9:00 am (EST)"


def test_a_wall_time_skipped_by_the_spring_dst_change_is_no_slot():
    # London jumps from 01:00 GMT to 02:00 BST on Sunday 29 March 2026.
    clinic = calendar(
        CLINIC_TIMEZONE="Europe/London", CLINIC_DAYS="sun", CLINIC_HOURS="00:00-03:00"
    )
    slots = clinic.slots_on(dt.date(2026, 3, 29))
    assert [s.astimezone(LONDON).strftime("%H:%M %Z") for s in slots] == [
        "00:00 GMT",
        "00:30 GMT",
        "02:00 BST",
        "02:30 BST",
    ]
    assert slots[2] == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_day_bounds_are_the_clinic_days_in_utc():
    start, end = calendar().day_bounds(dt.date(2026, 11, 1))  # 25 hours long
    assert start == dt.datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert end == dt.datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


def test_format_slot_shows_the_clinic_clock():
    clinic = calendar()
    assert format_slot(dt.datetime(2026, 12, 1, 15, 30, tzinfo=UTC), clinic) == (
        "Tue 1 Dec, 10:30 am (EST)"
    )
    assert format_slot(ny(2026, 12, 1, 12, 0), clinic) == "Tue 1 Dec, 12:00 pm (EST)"
    assert format_slot(ny(2026, 7, 14, 16, 30), clinic) == "Tue 14 Jul, 4:30 pm (EDT)"


def test_naive_datetimes_are_refused():
    clinic = calendar()
    with pytest.raises(ValueError, match="aware"):
        clinic.candidate_slots(dt.datetime(2026, 11, 23, 8, 0))
    with pytest.raises(ValueError, match="aware"):
        format_slot(dt.datetime(2026, 11, 23, 8, 0), clinic)
    with pytest.raises(ValueError, match="aware"):
        parse_slot_request("friday", dt.datetime(2026, 11, 23, 8, 0), clinic)


# --- What the visitor asks for ----------------------------------------------------------------

MONDAY_3PM = ny(2026, 11, 23, 15, 0)
D = dt.date
T = dt.time


@pytest.mark.parametrize(
    ("text", "date", "time", "part"),
    [
        ("next tuesday afternoon", D(2026, 11, 24), None, "afternoon"),
        ("friday at 10", D(2026, 11, 27), T(10, 0), None),  # 10 am: the clinic-hours reading
        ("Friday at 2", D(2026, 11, 27), T(14, 0), None),  # 2 pm, likewise
        ("tomorrow morning", D(2026, 11, 24), None, "morning"),
        ("Dec 3 at 2pm", D(2026, 12, 3), T(14, 0), None),
        ("monday", D(2026, 11, 30), None, None),  # today is Monday: the next one
        ("Wednesday", D(2026, 11, 25), None, None),
        ("wed at 11 a.m.", D(2026, 11, 25), T(11, 0), None),
        ("Thurs morning please", D(2026, 11, 26), None, "morning"),
        ("how about thursday at 3:30?", D(2026, 11, 26), T(15, 30), None),
        ("friday 3pm", D(2026, 11, 27), T(15, 0), None),
        ("wednesday 4", D(2026, 11, 25), T(16, 0), None),
        ("tomorrow at 14:00", D(2026, 11, 24), T(14, 0), None),
        ("noon on wednesday", D(2026, 11, 25), T(12, 0), None),
        ("12/1 at 9", D(2026, 12, 1), T(9, 0), None),
        ("the 3rd", D(2026, 12, 3), None, None),
        ("Thursday the 3rd at 1", D(2026, 12, 3), T(13, 0), None),
        ("in 2 days", D(2026, 11, 25), None, None),
        ("day after tomorrow at 11", D(2026, 11, 25), T(11, 0), None),
        ("I'd like Friday afternoon, please", D(2026, 11, 27), None, "afternoon"),
        ("next week", D(2026, 11, 30), None, None),
        ("this afternoon", D(2026, 11, 23), None, "afternoon"),
        ("4:30pm", D(2026, 11, 23), T(16, 30), None),  # later today
        ("2pm", D(2026, 11, 24), T(14, 0), None),  # already past today: tomorrow
        ("in the morning", D(2026, 11, 24), None, "morning"),
        ("as soon as possible", D(2026, 11, 23), None, None),
    ],
)
def test_parse_slot_request(text, date, time, part):
    request = parse_slot_request(text, MONDAY_3PM, calendar())
    soonest = text == "as soon as possible"
    assert request == SlotRequest(date, NEW_YORK, time, part, soonest)


@pytest.mark.parametrize(
    "text", ["", "   ", "yes", "thanks", "blah blah", "3", "someday", "Tuesday the 3rd at 1"]
)
def test_what_is_not_a_day_or_time_is_none(text):
    assert parse_slot_request(text, MONDAY_3PM, calendar()) is None


def test_relative_days_are_counted_on_the_clinic_clock():
    # 03:00 UTC on Tuesday is still Monday evening in New York.
    now = dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    assert parse_slot_request("tomorrow", now, calendar()).date == D(2026, 11, 24)
    london = calendar(CLINIC_TIMEZONE="Europe/London")
    assert parse_slot_request("tomorrow", now, london).date == D(2026, 11, 25)


def test_a_request_has_a_part_of_day_window():
    assert SlotRequest(D(2026, 11, 24), NEW_YORK, part_of_day="afternoon").window == (
        T(12, 0),
        T(17, 0),
    )
    assert SlotRequest(D(2026, 11, 24), NEW_YORK).window is None


# --- The nearest free slot --------------------------------------------------------------------


def free_on(*days_and_times: tuple[int, int, int]) -> list[dt.datetime]:
    return [ny(2026, 11, day, hour, minute) for day, hour, minute in days_and_times]


FREE = free_on(
    (24, 9, 0), (24, 9, 30), (24, 13, 0), (24, 16, 30),
    (25, 10, 0), (25, 14, 0),
    (27, 9, 0), (27, 11, 0), (27, 15, 30),
)  # fmt: skip


def nearest(text: str, free=FREE) -> dt.datetime | None:
    return nearest_free_slot(parse_slot_request(text, MONDAY_3PM, calendar()), free)


def test_the_exact_time_when_it_is_free():
    assert nearest("tuesday at 1pm") == ny(2026, 11, 24, 13, 0)


def test_the_nearest_time_on_the_same_day_when_it_is_taken():
    assert nearest("tuesday at 10") == ny(2026, 11, 24, 9, 30)
    assert nearest("tuesday at 3pm") == ny(2026, 11, 24, 16, 30)
    assert nearest("friday at 10") == ny(2026, 11, 27, 9, 0)  # 9:00 and 11:00 tie: the earlier


def test_a_part_of_the_day():
    assert nearest("tuesday afternoon") == ny(2026, 11, 24, 13, 0)
    assert nearest("tuesday morning") == ny(2026, 11, 24, 9, 0)
    assert nearest("wednesday evening") == ny(2026, 11, 25, 14, 0)  # the latest that day
    assert nearest("friday afternoon") == ny(2026, 11, 27, 15, 30)


def test_the_same_day_is_preferred_to_the_time():
    # Wednesday morning is full, but Wednesday has a call in the afternoon.
    assert nearest("wednesday at 9", free_on((25, 14, 0), (27, 9, 0))) == ny(2026, 11, 25, 14, 0)


def test_a_day_without_free_slots_moves_to_the_next_day_that_has_one():
    assert nearest("thursday at 11") == ny(2026, 11, 27, 11, 0)  # Thanksgiving: nothing free
    assert nearest("thursday") == ny(2026, 11, 27, 9, 0)
    assert nearest("as soon as possible") == ny(2026, 11, 24, 9, 0)


def test_no_free_slot_on_or_after_the_day_asked():
    assert nearest("dec 15") is None
    assert nearest("tuesday", []) is None


def test_tomorrow_on_the_eve_of_a_dst_change_is_the_next_day():
    # 23:30 on Saturday 13 March 2027 in New York; clocks go forward at 2 am on the 14th.
    eve = dt.datetime(2027, 3, 13, 23, 30, tzinfo=NEW_YORK).astimezone(dt.timezone.utc)
    assert parse_slot_request("tomorrow", eve, calendar()).date == D(2027, 3, 14)


def test_next_week_is_the_week_that_follows_not_seven_days_on():
    thursday_noon = dt.datetime(2026, 11, 26, 12, 0, tzinfo=NEW_YORK).astimezone(dt.timezone.utc)
    assert parse_slot_request("next week", thursday_noon, calendar()).date == D(2026, 11, 30)


@pytest.mark.parametrize(
    ("hour", "text", "date"),
    [
        (8, "friday at 10", D(2026, 11, 27)),  # still ahead today
        (11, "friday at 10", D(2026, 12, 4)),  # passed: next Friday
        (8, "next friday at 10", D(2026, 12, 4)),
        (8, "friday", D(2026, 12, 4)),  # a bare weekday said that day: the next one
    ],
)
def test_todays_weekday_with_a_time_still_ahead_is_today(hour, text, date):
    friday = dt.datetime(2026, 11, 27, hour, 0, tzinfo=NEW_YORK).astimezone(dt.timezone.utc)
    assert parse_slot_request(text, friday, calendar()).date == date
