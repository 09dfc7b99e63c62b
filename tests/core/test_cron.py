"""Cron slots found field by field agree with pycron asked minute by minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pycron
import pytest

from core.cron import previous_slot, slots_in

CRONS = [
    "0 3 1 * *",  # monthly
    "*/15 * * * *",
    "30 2 * * 1",
    "5 4 * * sun",
    "0 9-17 * * 1-5",
    "0 0 1,15 * *",
    "0 12 13 * 5",  # day of month OR day of week (pycron's reading)
    "59 23 * * *",
    "0 0 29 2 *",  # leap day: usually nothing in the window
]
ATS = [
    datetime(2026, 12, 7, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 1, 0, 0, 30, tzinfo=UTC),
    datetime(2028, 3, 1, 12, 34, tzinfo=UTC),
    datetime(2026, 11, 13, 12, 0, tzinfo=UTC),
]


def _minutes(start: datetime, end: datetime) -> list[datetime]:
    minute = start.replace(second=0, microsecond=0)
    if minute < start:
        minute += timedelta(minutes=1)
    out = []
    while minute <= end:
        out.append(minute)
        minute += timedelta(minutes=1)
    return out


@pytest.mark.parametrize("cron", CRONS)
def test_previous_slot_is_the_newest_matching_minute(cron: str) -> None:
    for at in ATS:
        earliest = at - timedelta(days=4)
        matching = [m for m in _minutes(earliest, at) if pycron.is_now(cron, m)]
        assert previous_slot(cron, at, earliest) == (matching[-1] if matching else None)


@pytest.mark.parametrize("cron", CRONS)
def test_slots_in_are_every_matching_minute(cron: str) -> None:
    for at in ATS:
        start = at - timedelta(days=2, seconds=17)
        assert slots_in(cron, start, at) == [
            m for m in _minutes(start, at) if pycron.is_now(cron, m)
        ]


def test_a_monthly_slot_is_found_a_month_back() -> None:
    at = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    earliest = at - timedelta(days=32)
    assert previous_slot("0 3 1 * *", at, earliest) == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    before = datetime(2026, 12, 1, 2, 59, tzinfo=UTC)
    assert previous_slot("0 3 1 * *", before, before - timedelta(days=32)) == (
        datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    )
    assert previous_slot("0 3 1 * *", at, at - timedelta(days=20)) is None
