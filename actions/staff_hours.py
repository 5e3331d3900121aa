"""Whether the clinic team is there now (the clinic profile's opening_hours), for replies that mention staff."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import lru_cache
from typing import Optional

from actions import runtime
from bot.clinic_hours import OpeningHours, OpeningHoursError, StaffAvailability, load_opening_hours, staff_availability

logger = logging.getLogger(__name__)


def current_time() -> datetime:
    """The clock these replies read (tests replace it with a fixed instant; nothing sleeps)."""
    return datetime.now(timezone.utc)


@lru_cache(maxsize=1)
def opening_hours() -> Optional[OpeningHours]:
    try:
        return load_opening_hours(runtime.settings().clinic_profile)
    except OpeningHoursError:
        # Unknown hours: the replies then never claim anyone is watching (bot.clinic_hours.staff_availability).
        logger.error("clinic opening_hours unreadable; crisis replies say a note was sent", exc_info=True)
        return None


def staff_now(language: str = "en") -> StaffAvailability:
    return staff_availability(opening_hours(), current_time(), language)
