"""A long job keeps its lease: renewed, nobody else claims it; lost, renewing says so."""

from __future__ import annotations

import asyncio
import types
from datetime import timedelta
from typing import Any

import pytest

from core import jobs
from core.clock import FrozenClock
from core.contributions import TaskDef
from core.models import Job
from core.models.events import JobStatus
from core.plugins import hookimpl
from core.runtime import Runtime
from core.tenancy import unscoped

seen: list[Any] = []


async def _long_read(workspace_id: int | None, runtime: Runtime, mode: str) -> None:
    clock = runtime.clock
    assert isinstance(clock, FrozenClock)
    job = jobs.current_job()
    assert job is not None
    if mode == "renew":
        clock.advance(jobs.LEASE - timedelta(seconds=10))
        seen.append(await jobs.renew_lease(runtime))
        clock.advance(timedelta(seconds=20))  # past the first lease, inside the renewed one
        seen.append(await jobs.claim(runtime, job.id))  # another worker tries
    elif mode == "stolen":
        clock.advance(jobs.LEASE + timedelta(seconds=1))
        seen.append(await jobs.claim(runtime, job.id))  # the lease ran out: someone takes it
        seen.append(await jobs.renew_lease(runtime))
    elif mode == "keep":
        async with jobs.keep_lease(runtime, every=0.01):
            clock.advance(jobs.LEASE - timedelta(seconds=10))
            await asyncio.sleep(0.1)  # the renewer runs meanwhile
        with unscoped():
            seen.append((await Job.get(id=job.id)).locked_until)


plugin = types.SimpleNamespace(register_tasks=hookimpl(lambda: [TaskDef("test.long", _long_read)]))


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    seen.clear()
    return [("lease-test", plugin)]


async def _run(runtime: Runtime, mode: str) -> str:
    job = await jobs.enqueue(
        runtime, "test.long", workspace_id=None, payload={"mode": mode}, dispatch=False
    )
    assert job is not None
    return await jobs.run_job(runtime, job.id)


async def test_a_renewed_lease_keeps_other_workers_out(app: object, runtime: Runtime) -> None:
    assert await _run(runtime, "renew") == JobStatus.DONE
    assert seen == [True, None]


async def test_renewing_a_lease_someone_else_took_fails(app: object, runtime: Runtime) -> None:
    await _run(runtime, "stolen")
    taken, renewed = seen
    assert taken is not None and taken.attempts == 2
    assert renewed is False


async def test_keep_lease_renews_while_the_body_runs(
    app: object, runtime: Runtime, clock: FrozenClock
) -> None:
    assert await _run(runtime, "keep") == JobStatus.DONE
    assert seen == [clock.now() + jobs.LEASE]


async def test_renew_lease_outside_a_job_is_a_mistake(app: object, runtime: Runtime) -> None:
    with pytest.raises(RuntimeError, match="inside a job"):
        await jobs.renew_lease(runtime)
