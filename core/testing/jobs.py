"""Waiting for background work in tests, on either broker."""

from __future__ import annotations

import asyncio

from core import jobs
from core.models.events import Job, JobStatus
from core.runtime import Runtime
from core.tenancy import unscoped


async def drain_jobs(runtime: Runtime, timeout: float = 20.0) -> None:
    """Dispatch and wait until no job is due and unfinished (delayed jobs stay pending)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        now = runtime.now()
        with unscoped():
            due = await Job.filter(
                status__in=[JobStatus.PENDING, JobStatus.RUNNING], run_after__lte=now
            ).values_list("id", "status")
        if not due:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"jobs still unfinished after {timeout}s: {due}")
        if runtime.settings.embedded_broker:
            for job_id, _status in due:
                await jobs.run_job(runtime, job_id)
        else:
            await jobs.dispatch_jobs(runtime, [job_id for job_id, _ in due])
            await asyncio.sleep(0.05)
