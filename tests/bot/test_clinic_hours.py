"""Opening hours with fixed clocks: open now or not, and when the clinic next opens (no sleeping)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.clinic_hours import (
    OpeningHoursError,
    describe_next_opening,
    is_open,
    load_opening_hours,
    next_opening,
    parse_opening_hours,
    staff_availability,
)

HOURS = load_opening_hours()  # the shipped profile: Mon-Fri 9-18, Sat 9-13, America/Los_Angeles


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# 2026-12-01 is a Tuesday; Los Angeles is UTC-8 in December.
@pytest.mark.parametrize(
    "moment,open_now",
    [
        (utc(2026, 12, 1, 17, 0), True),  # Tue 9:00 local: opens
        (utc(2026, 12, 1, 16, 59), False),  # Tue 8:59 local
        (utc(2026, 12, 2, 1, 59), True),  # Tue 17:59 local
        (utc(2026, 12, 2, 2, 0), False),  # Tue 18:00 local: closed
        (utc(2026, 12, 5, 20, 0), True),  # Sat 12:00 local
        (utc(2026, 12, 5, 21, 0), False),  # Sat 13:00 local
        (utc(2026, 12, 6, 19, 0), False),  # Sunday
    ],
)
def test_open_or_closed_at_a_fixed_instant(moment, open_now):
    assert is_open(HOURS, moment) is open_now


def test_next_opening_and_its_words():
    saturday_afternoon = utc(2026, 12, 5, 22, 0)  # Sat 14:00 local
    opens = next_opening(HOURS, saturday_afternoon)
    assert (opens.weekday(), opens.hour, str(opens.tzinfo)) == (0, 9, "America/Los_Angeles")
    assert describe_next_opening(HOURS, saturday_afternoon) == "Monday at 9 am"
    assert describe_next_opening(HOURS, saturday_afternoon, "es") == "el lunes a las 9 am"
    tuesday_night = utc(2026, 12, 2, 5, 0)  # Tue 21:00 local
    assert describe_next_opening(HOURS, tuesday_night) == "tomorrow at 9 am"
    early = utc(2026, 12, 1, 14, 0)  # Tue 6:00 local
    assert describe_next_opening(HOURS, early) == "today at 9 am"


def test_daylight_saving_time_is_the_clinics_own():
    # 2026-07-01 (Wednesday): Los Angeles is UTC-7, so 9 am local is 16:00 UTC.
    assert is_open(HOURS, utc(2026, 7, 1, 16, 0)) and not is_open(HOURS, utc(2026, 7, 1, 15, 59))


def test_staff_availability_never_promises_without_hours():
    assert staff_availability(HOURS, utc(2026, 12, 1, 18, 0)).open_now
    closed = staff_availability(HOURS, utc(2026, 12, 6, 19, 0))
    assert (closed.open_now, closed.next_open) == (False, "tomorrow at 9 am")  # Sunday
    unknown = staff_availability(None, utc(2026, 12, 1, 18, 0))
    assert (unknown.open_now, unknown.next_open) == (False, "")


@pytest.mark.parametrize(
    "data,problem",
    [
        (None, "expected time_zone and days"),
        ({"time_zone": "Mars/Olympus", "days": {"monday": ["09:00", "17:00"]}}, "unknown time zone"),
        ({"time_zone": "America/Los_Angeles", "days": {"funday": ["09:00", "17:00"]}}, "unknown day"),
        ({"time_zone": "America/Los_Angeles", "days": {"monday": ["17:00", "09:00"]}}, "closes before it opens"),
        ({"time_zone": "America/Los_Angeles", "days": {"monday": ["nine", "17:00"]}}, "expected a time"),
        ({"time_zone": "America/Los_Angeles", "days": {}}, "at least one day"),
    ],
)
def test_bad_opening_hours_are_clear_errors(data, problem):
    with pytest.raises(OpeningHoursError, match=problem):
        parse_opening_hours(data)
