"""The scheduler: turns plugin schedules into jobs, one per slot, and runs the sweeper.

Many scheduler processes may run at once: the unique (schedule, slot) row decides which one
enqueues a slot, and a slot whose previous run is still going is recorded as skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

import pycron
from tortoise.exceptions import IntegrityError

from core import jobs
from core.contributions import Schedule
from core.models.events import Job, JobStatus
from core.models.schedules import ScheduleRun
from core.runtime import Runtime
from core.tenancy import unscoped

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0


def current_slot(schedule: Schedule, now: datetime) -> datetime | None:
    """The slot `now` falls in, or None when a cron schedule is not due this minute."""
    if schedule.every:
        epoch = now.timestamp()
        return datetime.fromtimestamp(epoch - epoch % schedule.every, now.tzinfo)
    if schedule.cron:
        minute = now.replace(second=0, microsecond=0)
        return minute if pycron.is_now(schedule.cron, minute) else None
    raise ValueError(f"schedule {schedule.name!r} has neither cron nor every")


async def fire_due(runtime: Runtime, now: datetime | None = None) -> list[str]:
    """Enqueue every schedule whose slot has no run yet; returns the names enqueued."""
    now = now or runtime.now()
    fired = []
    for schedule in runtime.schedules.values():
        slot = current_slot(schedule, now)
        if slot is None:
            continue
        if await _start_slot(runtime, schedule, slot, now):
            fired.append(schedule.name)
    return fired


async def _start_slot(runtime: Runtime, schedule: Schedule, slot: datetime, now: datetime) -> bool:
    with unscoped():
        if await ScheduleRun.filter(name=schedule.name, slot=slot).exists():
            return False
        busy = await ScheduleRun.filter(name=schedule.name, status="running").first()
        if busy and busy.job_id:
            job = await Job.get_or_none(id=busy.job_id)
            still_running = job is not None and job.status in (JobStatus.PENDING, JobStatus.RUNNING)
        else:
            still_running = False
        try:
            run = await ScheduleRun.create(
                name=schedule.name,
                slot=slot,
                started_at=now,
                status="skipped" if still_running else "running",
                outcome="previous run still going" if still_running else "",
            )
        except IntegrityError:
            return False  # another scheduler process took this slot
    if still_running:
        return False
    job = await jobs.enqueue(
        runtime,
        schedule.task,
        workspace_id=None,
        dedupe_key=f"schedule:{schedule.name}:{slot.isoformat()}",
        dispatch=False,
    )
    if job is None:
        return False
    # Link the run to its job before dispatch, so the job's outcome lands on the run.
    with unscoped():
        await ScheduleRun.filter(id=run.id).update(job_id=job.id)
    await jobs.dispatch_jobs(runtime, [job.id])
    return True


class SchedulerLoop:
    """Runs `fire_due` every tick and the sweeper every `settings.sweep_interval` seconds."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="secondloop-scheduler")

    async def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, timeout)

    async def _loop(self) -> None:
        last_sweep = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                await fire_due(self.runtime)
                if loop.time() - last_sweep >= self.runtime.settings.sweep_interval:
                    last_sweep = loop.time()
                    await jobs.sweep(self.runtime)
            except Exception:
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), TICK_SECONDS)
