"""Cron slots found field by field rather than minute by minute.

pycron answers one question, "does this minute match?". Walking a month back one minute at a
time to find a monthly schedule's last slot costs some 46,000 of those questions; asking first
whether the day can match at all (the cron with its minute and hour set to `*`), then the
hour, skips every day and hour that cannot, with pycron's own reading of each field.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pycron

MINUTE = timedelta(minutes=1)


def _coarser(cron: str) -> tuple[str, str]:
    _, hour, *day = cron.split(" ")  # pycron splits on single spaces too
    return " ".join(["*", "*", *day]), " ".join(["*", hour, *day])


def previous_slot(cron: str, at: datetime, earliest: datetime) -> datetime | None:
    """The newest minute at or before `at` (and not before `earliest`) that `cron` matches."""
    any_minute_of_day, any_minute_of_hour = _coarser(cron)
    minute = at.replace(second=0, microsecond=0)
    while minute >= earliest:
        if not pycron.is_now(any_minute_of_day, minute):
            minute = minute.replace(hour=0, minute=0) - MINUTE  # the day before, 23:59
        elif not pycron.is_now(any_minute_of_hour, minute):
            minute = minute.replace(minute=0) - MINUTE  # the hour before, :59
        elif pycron.is_now(cron, minute):
            return minute
        else:
            minute -= MINUTE
    return None


def slots_in(cron: str, start: datetime, end: datetime) -> list[datetime]:
    """Every minute in [start, end] that `cron` matches, oldest first."""
    any_minute_of_day, any_minute_of_hour = _coarser(cron)
    minute = start.replace(second=0, microsecond=0)
    if minute < start:
        minute += MINUTE
    found = []
    while minute <= end:
        if not pycron.is_now(any_minute_of_day, minute):
            minute = minute.replace(hour=0, minute=0) + timedelta(days=1)
        elif not pycron.is_now(any_minute_of_hour, minute):
            minute = minute.replace(minute=0) + timedelta(hours=1)
        else:
            if pycron.is_now(cron, minute):
                found.append(minute)
            minute += MINUTE
    return found
