"""When the clinic team is there: the structured `opening_hours` of data/clinic/clinic_profile.yml.

Pure: every function takes the instant it is asked about (inject the clock; never read it here), so a crisis
reply can say truthfully whether someone is watching now or when the team will see a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.yaml_files import read_yaml_mapping

DEFAULT_PROFILE_PATH = Path(__file__).resolve().parent.parent / "data" / "clinic" / "clinic_profile.yml"
DAYS: Tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_NAMES: Dict[str, Tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("el lunes", "el martes", "el miércoles", "el jueves", "el viernes", "el sábado", "el domingo"),
}
_TODAY = {"en": "today", "es": "hoy"}
_TOMORROW = {"en": "tomorrow", "es": "mañana"}
_AT = {"en": "at", "es": "a las"}


class OpeningHoursError(ValueError):
    """`opening_hours` in the clinic profile is missing or malformed."""


@dataclass(frozen=True)
class OpeningHours:
    time_zone: str
    # One (opens, closes) pair per weekday, Monday first; None = closed all day.
    days: Tuple[Optional[Tuple[time, time]], ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def _clock(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError) as exc:
        raise OpeningHoursError(f"opening_hours.{where}: expected a time like 09:00") from exc


def parse_opening_hours(data: Any) -> OpeningHours:
    """`opening_hours: {time_zone: America/Los_Angeles, days: {monday: ["09:00", "18:00"], ...}}`; a day left
    out (or null) is closed."""
    if not isinstance(data, Mapping) or not isinstance(data.get("days"), Mapping):
        raise OpeningHoursError("opening_hours: expected time_zone and days")
    zone = str(data.get("time_zone") or "")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OpeningHoursError(f"opening_hours.time_zone: unknown time zone {zone!r}") from exc
    unknown = [d for d in data["days"] if d not in DAYS]
    if unknown:
        raise OpeningHoursError(f"opening_hours.days: unknown day {unknown[0]!r}")
    days: list[Optional[Tuple[time, time]]] = []
    for day in DAYS:
        span = data["days"].get(day)
        if span is None:
            days.append(None)
            continue
        if not isinstance(span, (list, tuple)) or len(span) != 2:
            raise OpeningHoursError(f"opening_hours.days.{day}: expected [opens, closes]")
        opens, closes = _clock(span[0], f"days.{day}"), _clock(span[1], f"days.{day}")
        if closes <= opens:
            raise OpeningHoursError(f"opening_hours.days.{day}: closes before it opens")
        days.append((opens, closes))
    if not any(days):
        raise OpeningHoursError("opening_hours.days: the clinic must open on at least one day")
    return OpeningHours(time_zone=zone, days=tuple(days))


def load_opening_hours(path: Union[str, Path, None] = None) -> OpeningHours:
    data = read_yaml_mapping(path or DEFAULT_PROFILE_PATH, OpeningHoursError, "clinic profile")
    return parse_opening_hours(data.get("opening_hours"))


def _local(hours: OpeningHours, at: datetime) -> datetime:
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)  # naive instants are UTC, as everywhere in bot/
    return at.astimezone(hours.zone)


def is_open(hours: OpeningHours, at: datetime) -> bool:
    """Whether the clinic is open at the instant `at`."""
    local = _local(hours, at)
    span = hours.days[local.weekday()]
    return span is not None and span[0] <= local.time() < span[1]


def next_opening(hours: OpeningHours, at: datetime) -> datetime:
    """The next instant the clinic opens after `at` (local time of the clinic); `at` itself if it opens then."""
    local = _local(hours, at)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        span = hours.days[day.weekday()]
        if span is None:
            continue
        opens = datetime.combine(day, span[0], tzinfo=hours.zone)
        if opens >= local:
            return opens
    raise OpeningHoursError("opening_hours: no opening within a week")  # parse_opening_hours rules this out


def _clock_words(moment: time) -> str:
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour} {suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d} {suffix}"


def describe_next_opening(hours: OpeningHours, at: datetime, language: str = "en") -> str:
    """When the clinic next opens, in words for a reply: "tomorrow at 9 am", "Monday at 9 am"."""
    language = language if language in DAY_NAMES else "en"
    local = _local(hours, at)
    opens = next_opening(hours, at)
    days_ahead = (opens.date() - local.date()).days
    if days_ahead == 0:
        day = _TODAY[language]
    elif days_ahead == 1:
        day = _TOMORROW[language]
    else:
        day = DAY_NAMES[language][opens.weekday()]
    return f"{day} {_AT[language]} {_clock_words(opens.time())}"


@dataclass(frozen=True)
class StaffAvailability:
    """What a reply may truthfully say about staff: open now, or the words for when they next open."""

    open_now: bool
    next_open: str = ""  # e.g. "Monday at 9 am"; empty while open


def staff_availability(hours: Optional[OpeningHours], at: datetime, language: str = "en") -> StaffAvailability:
    """Open now or not at `at`. Without usable hours we cannot promise anyone is watching: closed, no time."""
    if hours is None:
        return StaffAvailability(open_now=False, next_open="")
    if is_open(hours, at):
        return StaffAvailability(open_now=True)
    return StaffAvailability(open_now=False, next_open=describe_next_opening(hours, at, language))
