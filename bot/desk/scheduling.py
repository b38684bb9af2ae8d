"""When a screening call can be booked, and which free slot a visitor's words ask for.

Pure functions, no database. Every datetime here is aware: slots are handed out (and stored) in
UTC and shown to people in the clinic's time zone (CLINIC_TIMEZONE), DST included.

Free text such as "next tuesday afternoon" or "Dec 3 at 2pm" is read in two steps: the time of
day ("at 10", "2:30 pm", "morning") by the patterns below, because dateparser ignores parts of
the day and reads "friday at 10" as a date in October; the date that is left ("next tuesday",
"Dec 3", "tomorrow") by dateparser, relative to now in the clinic's time zone.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from bot.desk.aware_times import require_aware
from bot.settings import WEEKDAY_NAMES, WEEKDAYS

UTC = dt.timezone.utc

# Part of the day -> the clinic-local times it covers (start inclusive, end exclusive).
PARTS_OF_DAY: dict[str, tuple[dt.time, dt.time]] = {
    "morning": (dt.time(0, 0), dt.time(12, 0)),
    "afternoon": (dt.time(12, 0), dt.time(17, 0)),
    "evening": (dt.time(17, 0), dt.time(23, 59)),
}
# More than this many days without a working day means the settings leave none (all holidays).
_MAX_SCAN_DAYS = 400
# A date further ahead than this is dateparser misreading something, not a wish.
_MAX_REQUEST_DAYS = 366


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


@dataclass(frozen=True)
class ClinicCalendar:
    """When the clinic takes screening calls. Build it with `from_settings`."""

    timezone: zoneinfo.ZoneInfo
    days: frozenset[int]  # date.weekday() numbers, Monday = 0
    opening: dt.time
    closing: dt.time
    slot_minutes: int = 30
    holidays: frozenset[dt.date] = frozenset()
    days_ahead: int = 10
    lead_minutes: int = 60
    name: str = "the clinic"
    phone: str = ""

    @classmethod
    def from_settings(cls, settings) -> ClinicCalendar:
        return cls(
            timezone=zoneinfo.ZoneInfo(settings.clinic_timezone),
            days=frozenset(WEEKDAYS.index(day) for day in settings.clinic_days),
            opening=settings.clinic_open,
            closing=settings.clinic_close,
            slot_minutes=settings.slot_minutes,
            holidays=frozenset(settings.clinic_holidays),
            days_ahead=settings.booking_days_ahead,
            lead_minutes=settings.booking_lead_minutes,
            name=settings.clinic_name,
            phone=settings.clinic_phone,
        )

    @property
    def slot_length(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.slot_minutes)

    def local(self, moment: dt.datetime) -> dt.datetime:
        """`moment` on the clinic's clock."""
        require_aware(moment, "a time")
        return moment.astimezone(self.timezone)

    def today(self, now: dt.datetime) -> dt.date:
        return self.local(now).date()

    def day_bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The UTC instants where the clinic-local `day` starts and the next one starts."""
        start = dt.datetime.combine(day, dt.time(), self.timezone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.timezone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def slots_on(self, day: dt.date) -> list[dt.datetime]:
        """Every slot start (UTC) of a clinic-local day, ignoring lead time."""
        if not self.is_working_day(day):
            return []
        slots = []
        minute, last = _minutes(self.opening), _minutes(self.closing) - self.slot_minutes
        while minute <= last:
            wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
            start = wall.replace(tzinfo=self.timezone).astimezone(UTC)
            # A wall time that the clock skips when DST starts does not exist: no slot then.
            if start.astimezone(self.timezone).replace(tzinfo=None) == wall:
                slots.append(start)
            minute += self.slot_minutes
        return slots

    def candidate_slots(self, now: dt.datetime) -> list[dt.datetime]:
        """All slot starts (UTC, in order) of the next `days_ahead` working days that still have
        a slot at least `lead_minutes` from `now` (so today counts only if one remains)."""
        require_aware(now, "now")
        earliest = now + dt.timedelta(minutes=self.lead_minutes)
        day = self.today(now)
        slots: list[dt.datetime] = []
        counted = 0
        for _ in range(_MAX_SCAN_DAYS):
            if counted >= self.days_ahead:
                break
            bookable = [start for start in self.slots_on(day) if start >= earliest]
            if bookable:
                slots.extend(bookable)
                counted += 1
            day += dt.timedelta(days=1)
        return slots


def format_time(local: dt.datetime) -> str:
    """'10:30 am', '12:00 pm'."""
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"


def format_slot(slot_utc: dt.datetime, calendar: ClinicCalendar) -> str:
    """A slot as a visitor reads it, on the clinic's clock: 'Tue 1 Dec, 10:30 am (EST)'."""
    local = calendar.local(slot_utc)
    return f"{local:%a} {local.day} {local:%b}, {format_time(local)} ({local.tzname()})"


# --- What the visitor asked for ---------------------------------------------------------------


@dataclass(frozen=True)
class SlotRequest:
    """A wish for a call: a clinic-local date, maybe an exact time or a part of the day."""

    date: dt.date
    timezone: dt.tzinfo  # the clinic's, which `date` and `time` are on
    time: dt.time | None = None
    part_of_day: str | None = None  # a key of PARTS_OF_DAY
    soonest: bool = False  # "as soon as possible": any time will do

    @property
    def window(self) -> tuple[dt.time, dt.time] | None:
        return PARTS_OF_DAY.get(self.part_of_day) if self.part_of_day else None


_WEEKDAY_SHORTHANDS = {"tues": "tuesday", "weds": "wednesday", "thur": "thursday",
                       "thurs": "thursday"}  # fmt: skip
_AM_PM = re.compile(r"\b([ap])\.?\s?m\b\.?")
_SOONEST = re.compile(
    r"\b(?:asap|as soon as possible|earliest|soonest|first available|next available|"
    r"whenever)\b"
)
_PART_OF_DAY = re.compile(
    r"\b(?:(?:in|during) the\s+)?(this\s+)?(morning|afternoon|evening|tonight)s?\b"
)
_NOON = re.compile(r"\b(?:at\s+|around\s+)?(?:noon|midday|lunchtime|lunch time)\b")
# Times, most explicit first; each group: hour, minutes (or None), am/pm (or None).
_TIMES = [
    re.compile(r"\b(?:at|@|around|about|by|from)?\s*(\d{1,2})[:.](\d{2})\s*(am|pm)?\b"),
    re.compile(r"\b(?:at|@|around|about|by|from)?\s*(\d{1,2})()\s*(am|pm)\b"),
    re.compile(r"\b(\d{1,2})()\s*o'?\s?clock()"),
    # A bare number after "at" or a day ("friday 4", "tomorrow 10") is a time, unless it is a
    # date ("the 3rd", "12/3").
    re.compile(
        r"(?:\bat|\baround|\babout|@|(?<=day|row))\s*(\d{1,2})()()\b(?!\s*(?:st|nd|rd|th)\b|[/-]\d)"
    ),
]
# "tuesday" or "tue" -> 1
_WEEKDAY_NUMBERS = {name: number for names in (WEEKDAY_NAMES, WEEKDAYS)
                    for number, name in enumerate(names)}  # fmt: skip
_WEEKDAY = re.compile(rf"\b({'|'.join(_WEEKDAY_NUMBERS)})\b")
# "the 3rd", "tuesday the 3rd": dateparser makes a month of the number.
_ORDINAL_DAY = re.compile(rf"^(?:{_WEEKDAY.pattern}\s+)?(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)$")
# dateparser reads "tuesday" as the coming Tuesday, but not "next tuesday".
_NEXT_THIS = re.compile(rf"\b(?:next|this|coming|this coming)\s+(?={_WEEKDAY.pattern})")
_FILLERS = re.compile(
    r"\b(?:please|maybe|perhaps|how about|what about|is|are|it|can i|could i|could we|can we|"
    r"i'd like|i would like|i want|i'm free|i am free|i can do|book|have|get|a call|call|"
    r"any ?time|sometime|some time|at|on|for|ok|okay|then|works|would work|would be|"
    r"good|fine|great)\b"
)


def _clean(text: str) -> str:
    text = (text or "").lower().replace("’", "'")
    text = _AM_PM.sub(lambda m: f"{m.group(1)}m", text)
    text = re.sub(r"[!?,;]|\.(?!\d)", " ", text)
    for short, full in _WEEKDAY_SHORTHANDS.items():
        text = re.sub(rf"\b{short}\b", full, text)
    return " ".join(text.split())


def _clock_time(
    hour: int, minute: int, meridiem: str | None, calendar: ClinicCalendar
) -> dt.time | None:
    """The time meant: with am/pm as said; without, the reading inside clinic hours (a call
    "at 2" is at 2 pm, "at 10" at 10 am); 24-hour times as they are."""
    if minute > 59 or hour > 23 or (meridiem and not 1 <= hour <= 12):
        return None
    if meridiem:
        return dt.time(hour % 12 + (12 if meridiem == "pm" else 0), minute)
    if hour > 12 or hour == 0:
        return dt.time(hour, minute)
    readings = [dt.time(hour % 12, minute), dt.time(hour % 12 + 12, minute)]
    for reading in readings:
        if calendar.opening <= reading < calendar.closing:
            return reading
    # Outside clinic hours either way: 1-6 o'clock is more likely afternoon than night.
    return readings[1] if hour < 7 else readings[0]


def _take_time(text: str, calendar: ClinicCalendar) -> tuple[dt.time | None, str]:
    noon = _NOON.search(text)
    if noon:
        return dt.time(12, 0), text[: noon.start()] + " " + text[noon.end() :]
    for pattern in _TIMES:
        match = pattern.search(text)
        if match:
            hour, minute, meridiem = match.groups()
            wanted = _clock_time(int(hour), int(minute or 0), meridiem or None, calendar)
            if wanted is not None:
                return wanted, text[: match.start()] + " " + text[match.end() :]
    return None, text


def _parse_date(text: str, local_now: dt.datetime) -> dt.date | None:
    today = local_now.date()
    # dateparser reads "next week" as seven days from now; people mean the week that follows.
    if text == "next week":
        return today + dt.timedelta(days=7 - today.weekday())
    if text == "this week":
        return today
    ordinal = _ORDINAL_DAY.match(text)
    if ordinal:  # that day of this month, or of the next one if it is past
        weekday, day = ordinal.group(1), int(ordinal.group(2))
        year, month = today.year, today.month
        for _ in range(3):
            try:
                candidate = dt.date(year, month, day)
            except ValueError:
                candidate = None
            if candidate and candidate >= today:
                if weekday and candidate.weekday() != _WEEKDAY_NUMBERS[weekday]:
                    return None  # "tuesday the 3rd" when the 3rd is a Thursday
                return candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return None
    settings = {
        "PREFER_DATES_FROM": "future",
        "TIMEZONE": str(local_now.tzinfo),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
    }
    if text.isdigit():  # dateparser takes a lone number for a month
        return None
    import dateparser  # here: it takes a third of a second to import, and only this needs it

    found = dateparser.parse(text, languages=["en"], settings=settings)
    if found is None:
        return None
    # The wall-clock date dateparser read, not its offset: on the eve of a DST change it attaches
    # the old offset, and converting would move "tomorrow" to the day after.
    date = found.replace(tzinfo=None).date()
    # "wednesday 4" must not become some day in April.
    named = _WEEKDAY.search(text)
    if named and date.weekday() != _WEEKDAY_NUMBERS[named.group(1)]:
        return None
    return date


def parse_slot_request(text: str, now: dt.datetime, calendar: ClinicCalendar) -> SlotRequest | None:
    """What a visitor asks for ("next tuesday afternoon", "friday at 10", "tomorrow morning",
    "Dec 3 at 2pm", "monday", "2pm"), or None when no day or time can be read from `text`.

    A time or part of the day without a date means today, or tomorrow once it has passed.
    "next tuesday" is the coming Tuesday."""
    require_aware(now, "now")
    local_now = calendar.local(now)
    rest = _clean(text)
    if not rest:
        return None
    soonest = bool(_SOONEST.search(rest))
    rest = _SOONEST.sub(" ", rest)

    part_of_day, this_part = None, False
    part = _PART_OF_DAY.search(rest)
    if part:
        this_part = bool(part.group(1)) or part.group(2) == "tonight"
        part_of_day = "evening" if part.group(2) == "tonight" else part.group(2)
        rest = rest[: part.start()] + " " + rest[part.end() :]

    wanted_time, rest = _take_time(rest, calendar)
    said_next = bool(re.search(r"\bnext\b", rest))
    rest = _NEXT_THIS.sub("", rest)
    rest = " ".join(_FILLERS.sub(" ", rest).split())

    if rest:
        date = _parse_date(rest, local_now)
        if date is None or not 0 <= (date - local_now.date()).days <= _MAX_REQUEST_DAYS:
            return None
        # Today's weekday with a time ("friday at 10" on a Friday morning) is today while that
        # time is still ahead; a bare "friday" said on a Friday means the next one.
        named = _WEEKDAY.fullmatch(rest)
        if (
            named
            and (wanted_time or part_of_day)
            and not said_next
            and _WEEKDAY_NUMBERS[named.group(1)] == local_now.weekday()
            and (wanted_time is None or wanted_time > local_now.time())
            and (part_of_day is None or PARTS_OF_DAY[part_of_day][1] > local_now.time())
        ):
            date = local_now.date()
    elif wanted_time or part_of_day or soonest:
        date = local_now.date()
        if wanted_time and wanted_time <= local_now.time():
            date += dt.timedelta(days=1)
        elif part_of_day and not this_part and PARTS_OF_DAY[part_of_day][1] <= local_now.time():
            date += dt.timedelta(days=1)
    else:
        return None
    return SlotRequest(date, calendar.timezone, wanted_time, part_of_day, soonest)


def nearest_free_slot(request: SlotRequest, free_slots: list[dt.datetime]) -> dt.datetime | None:
    """The free slot nearest to what was asked: on the day asked if it has one (the exact time
    if free, else the nearest to that time or inside the part of the day), else on the first
    later day that has one, likewise. None if no free slot is on or after the day asked."""
    best_key, best = None, None
    for slot in free_slots:
        require_aware(slot, "a free slot")
        local = slot.astimezone(request.timezone)
        days_later = (local.date() - request.date).days
        if days_later < 0:
            continue
        minute = local.hour * 60 + local.minute
        if request.time is not None:
            off = abs(minute - _minutes(request.time))
        elif request.window is not None:
            start, end = (_minutes(edge) for edge in request.window)
            off = start - minute if minute < start else max(0, minute - end + 1)
        else:
            off = 0
        key = (days_later, off, slot)
        if best_key is None or key < best_key:
            best_key, best = key, slot
    return best
