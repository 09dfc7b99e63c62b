"""Where every schedule stands: its last run and outcome, and whether it missed its window.

A schedule is late when the newest slot it should have run in has no run and the grace period
after that slot is over — the scheduler is down, or every scheduler process is stuck. Slots
missed in the last day are counted too, so an outage that is over still shows. Slots from
before any scheduler first ran here are not counted against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request

from core.contributions import ApiRoute, Schedule
from core.cron import previous_slot, slots_in
from core.models.schedules import ScheduleRun
from core.runtime import Runtime
from core.scheduler import current_slot
from core.tenancy import unscoped

# The scheduler ticks every second; a slot not started a minute after it began was missed.
GRACE = timedelta(seconds=60)
# A cron schedule's last firing is looked for this far back (a monthly schedule fits).
CRON_LOOKBACK = timedelta(days=32)
# Missed slots are counted over this window, at most this many slots.
RECENT = timedelta(days=1)
MAX_SLOTS = 1440


def expected_slot(schedule: Schedule, now: datetime) -> datetime | None:
    """The newest slot at or before `now` the schedule should have run in."""
    if schedule.every:
        return current_slot(schedule, now)
    if not schedule.cron:
        return None
    return previous_slot(schedule.cron, now, now - CRON_LOOKBACK)


def slots_between(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """The slots in [start, end], oldest first, at most MAX_SLOTS (the newest kept)."""
    if schedule.every:
        first = start.timestamp() + (-start.timestamp()) % schedule.every
        count = (
            int((end.timestamp() - first) // schedule.every) + 1 if first <= end.timestamp() else 0
        )
        skip = max(0, count - MAX_SLOTS)
        return [
            datetime.fromtimestamp(first + i * schedule.every, start.tzinfo)
            for i in range(skip, count)
        ]
    if not schedule.cron:
        return []
    return slots_in(schedule.cron, start, end)[-MAX_SLOTS:]


@dataclass(frozen=True)
class ScheduleState:
    schedule: Schedule
    last: ScheduleRun | None
    expected: datetime | None
    late: bool
    missed_recently: int = 0

    @property
    def health(self) -> str:
        """late (missing now), failed (the last run failed), missed (slots missed in the last
        day, running again now), waiting (nothing was due yet) or ok."""
        if self.late:
            return "late"
        if self.last is not None and self.last.status == "failed":
            return "failed"
        if self.missed_recently:
            return "missed"
        return "waiting" if self.last is None else "ok"

    def to_json(self) -> dict[str, Any]:
        last = self.last
        return {
            "name": self.schedule.name,
            "task": self.schedule.task,
            "cron": self.schedule.cron,
            "every_seconds": self.schedule.every,
            "description": self.schedule.description,
            "health": self.health,
            "late": self.late,
            "missed_last_day": self.missed_recently,
            "expected_slot": self.expected,
            "last_run": None
            if last is None
            else {
                "slot": last.slot,
                "status": last.status,
                "started_at": last.started_at,
                "finished_at": last.finished_at,
                "outcome": last.outcome or None,
            },
        }


async def schedule_states(runtime: Runtime, now: datetime | None = None) -> list[ScheduleState]:
    """One state per registered schedule, by name."""
    now = now or runtime.now()
    with unscoped():
        first = await ScheduleRun.all().order_by("started_at").first()
        latest = {
            name: await ScheduleRun.filter(name=name).order_by("-slot").first()
            for name in runtime.schedules
        }
    states = []
    for name in sorted(runtime.schedules):
        schedule = runtime.schedules[name]
        last = latest[name]
        # The newest slot that should have started by now, its grace minute included.
        expected = expected_slot(schedule, now - GRACE)
        since = first.started_at if first else None
        late = (
            expected is not None
            and since is not None
            and expected >= since - GRACE
            and (last is None or last.slot < expected)
        )
        missed = 0
        if since is not None:
            window = slots_between(schedule, max(since - GRACE, now - RECENT), now - GRACE)
            if window:
                with unscoped():
                    ran = set(
                        await ScheduleRun.filter(
                            name=name, slot__gte=window[0], slot__lte=window[-1]
                        ).values_list("slot", flat=True)
                    )
                missed = sum(1 for slot in window if slot not in ran)
        states.append(ScheduleState(schedule, last, expected, late, missed))
    return states


async def _list(request: Request, workspace_id: int) -> dict[str, Any]:
    runtime: Runtime = request.state.runtime
    states = await schedule_states(runtime)
    return {"object": "list", "data": [s.to_json() for s in states]}


def api_routes() -> list[ApiRoute]:
    return [
        ApiRoute(
            "/schedules",
            _list,
            name="schedules-list",
            operation={
                "summary": "Every schedule's last run and whether it missed its window",
                "tags": ["operations"],
                "responses": {"200": {"description": "One entry per schedule, by name"}},
            },
        )
    ]
