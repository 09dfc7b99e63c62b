"""A deferred job is dispatched when it is due by the process that deferred it, not at the
next sweep; the sweeper stays the fallback."""

from __future__ import annotations

import asyncio
import types
from datetime import timedelta

import pytest

from core import jobs
from core.clock import FrozenClock
from core.contributions import TaskDef
from core.models import Job
from core.models.events import JobStatus
from core.plugins import hookimpl
from core.runtime import Runtime
from core.tenancy import unscoped

attempts: list[int] = []


async def _deferring(workspace_id: int | None, runtime: Runtime) -> None:
    attempts.append(len(attempts) + 1)
    if len(attempts) == 1:
        raise jobs.RetryLater(0.2, "held by a rate limit")


plugin = types.SimpleNamespace(register_tasks=hookimpl(lambda: [TaskDef("test.defer", _deferring)]))


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    attempts.clear()
    return [("when-due", plugin)]


async def _status(job_id: int) -> str:
    with unscoped():
        return str((await Job.get(id=job_id)).status)


async def test_a_job_held_back_runs_when_due_without_a_sweep(
    app: object, runtime: Runtime, clock: FrozenClock
) -> None:
    job = await jobs.enqueue(runtime, "test.defer", workspace_id=None, dispatch=False)
    assert job is not None
    assert await jobs.run_job(runtime, job.id) == JobStatus.PENDING
    clock.advance(timedelta(seconds=1))  # by the time the timer fires (0.2 s), it is due
    for _ in range(100):
        if await _status(job.id) == JobStatus.DONE:
            break
        await asyncio.sleep(0.05)
    assert attempts == [1, 2]
    assert await _status(job.id) == JobStatus.DONE


async def test_a_job_enqueued_for_later_is_dispatched_then(
    app: object, runtime: Runtime, clock: FrozenClock
) -> None:
    attempts.append(0)  # the task then runs straight through
    job = await jobs.enqueue(
        runtime, "test.defer", workspace_id=None, run_after=clock.now() + timedelta(seconds=0.2)
    )
    assert job is not None
    clock.advance(timedelta(seconds=1))
    for _ in range(100):
        if await _status(job.id) == JobStatus.DONE:
            break
        await asyncio.sleep(0.05)
    assert await _status(job.id) == JobStatus.DONE


async def test_far_off_jobs_are_left_to_the_sweeper(app: object, runtime: Runtime) -> None:
    job = await jobs.enqueue(
        runtime, "test.defer", workspace_id=None, run_after=runtime.now() + timedelta(hours=2)
    )
    assert job is not None
    assert not runtime.services.get("jobs.timers")
