"""When the clinic takes screening calls (bot/desk/scheduling.py), read from the environment:
its time zone, working days and hours, the length of a slot, its holidays, and how far ahead and
how soon a visitor may book."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from bot.settings.fields import Settings
from bot.settings.parsing import SettingsError, parse_bounded_int, parse_list

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# "mon" or "monday", in any case.
_DAY_NAMES = {**{day: day for day in WEEKDAYS}, **dict(zip(WEEKDAY_NAMES, WEEKDAYS, strict=True))}


def _timezone(env: dict[str, str]) -> str:
    raw = env.get("CLINIC_TIMEZONE", "").strip() or Settings.clinic_timezone
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"CLINIC_TIMEZONE must be a time zone name from the IANA database, such as "
            f"America/New_York or Europe/London; got {raw!r}"
        ) from None
    return raw


def _days(env: dict[str, str]) -> tuple[str, ...]:
    days = set()
    for name in parse_list(env, "CLINIC_DAYS", list(Settings.clinic_days)):
        if name.lower() not in _DAY_NAMES:
            raise SettingsError(
                f"CLINIC_DAYS must be comma-separated day names such as mon,tue,wed,thu,fri; "
                f"got {name!r}"
            )
        days.add(_DAY_NAMES[name.lower()])
    if not days:
        raise SettingsError(
            f"CLINIC_DAYS must name at least one day, such as mon,tue,wed,thu,fri; "
            f"got {env.get('CLINIC_DAYS')!r}"
        )
    return tuple(sorted(days, key=WEEKDAYS.index))


_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def _hours(env: dict[str, str]) -> tuple[dt.time, dt.time]:
    raw = env.get("CLINIC_HOURS", "").strip()
    if not raw:
        return Settings.clinic_open, Settings.clinic_close
    problem = SettingsError(
        f"CLINIC_HOURS must be an opening and a closing time on the 24-hour clock, such as "
        f"09:00-17:00, the opening one first; got {raw!r}"
    )
    match = _HOURS.match(raw)
    if not match:
        raise problem
    try:
        hour_a, minute_a, hour_b, minute_b = (int(part) for part in match.groups())
        opening, closing = dt.time(hour_a, minute_a), dt.time(hour_b, minute_b)
    except ValueError:
        raise problem from None
    if opening >= closing:
        raise problem
    return opening, closing


def _slot_minutes(env: dict[str, str], opening: dt.time, closing: dt.time) -> int:
    minutes = parse_bounded_int(env, "SLOT_MINUTES", Settings.slot_minutes, 5, 240, "30")
    day = dt.date(2000, 1, 3)
    open_for = dt.datetime.combine(day, closing) - dt.datetime.combine(day, opening)
    if dt.timedelta(minutes=minutes) > open_for:
        raise SettingsError(
            f"SLOT_MINUTES ({minutes}) must fit at least once between the opening and closing "
            f"times of CLINIC_HOURS, such as 30 for 09:00-17:00"
        )
    return minutes


def _dates(env: dict[str, str], name: str) -> tuple[dt.date, ...]:
    dates = set()
    for item in parse_list(env, name, []):
        try:
            if len(item) != 10:
                raise ValueError(item)
            dates.add(dt.date.fromisoformat(item))
        except ValueError:
            raise SettingsError(
                f"{name} must be comma-separated dates written as YYYY-MM-DD, such as "
                f"2026-12-25,2027-01-01; got {item!r}"
            ) from None
    return tuple(sorted(dates))


def read_clinic_calendar(env: dict[str, str]) -> dict:
    """The Settings fields of the clinic's calendar."""
    clinic_open, clinic_close = _hours(env)
    return {
        "clinic_timezone": _timezone(env),
        "clinic_days": _days(env),
        "clinic_open": clinic_open,
        "clinic_close": clinic_close,
        "slot_minutes": _slot_minutes(env, clinic_open, clinic_close),
        "clinic_holidays": _dates(env, "CLINIC_HOLIDAYS"),
        "booking_days_ahead": parse_bounded_int(
            env, "BOOKING_DAYS_AHEAD", Settings.booking_days_ahead, 1, 60, "10"
        ),
        "booking_lead_minutes": parse_bounded_int(
            env, "BOOKING_LEAD_MINUTES", Settings.booking_lead_minutes, 0, 7 * 24 * 60, "60"
        ),
    }
