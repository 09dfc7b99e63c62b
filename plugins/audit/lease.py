"""One reader per Stripe account at a time: a running audit's heartbeat, and who may run.

The job system leases a job for 5 minutes and an audit of a large account takes longer. A
running attempt writes `heartbeat_at` every few seconds and renews its job's lease with the
same beat (`core.jobs.renew_lease`), so the job is not claimed again while it reads; an attempt
that finds a fresh heartbeat anyway — on its own run (a claim that raced the renewal) or on
another run of the same account — steps back with `RetryLater`. A worker that died stops
beating, and its run resumes once the heartbeat is older than `STALE_AFTER` and the job's lease
has run out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from tortoise.expressions import Q

from core.jobs import current_job, renew_lease
from core.runtime import Runtime
from plugins.audit.models import AuditRun, RunStatus

HEARTBEAT_SECONDS = 15.0
STALE_AFTER = timedelta(minutes=2)


def is_fresh(run: AuditRun, now: datetime) -> bool:
    """Is a worker reading for `run` right now (as far as anyone can tell)?"""
    return (
        run.status == RunStatus.RUNNING
        and run.heartbeat_at is not None
        and run.heartbeat_at >= now - STALE_AFTER
    )


async def running_for_account(stripe_account_id: str, now: datetime) -> AuditRun | None:
    """A run of the account (in the current workspace) a live worker is reading for."""
    runs = await AuditRun.filter(
        stripe_account_id=stripe_account_id,
        status=RunStatus.RUNNING,
        heartbeat_at__gte=now - STALE_AFTER,
    ).order_by("id")
    return runs[0] if runs else None


async def active_for_account(stripe_account_id: str, now: datetime) -> AuditRun | None:
    """The run a new audit of the account would duplicate: queued, or running with a live
    worker. (A failed run waiting for its job's retry does not block a new one.)"""
    queued = (
        await AuditRun.filter(stripe_account_id=stripe_account_id, status=RunStatus.QUEUED)
        .order_by("-id")
        .first()
    )
    return queued or await running_for_account(stripe_account_id, now)


async def take(run: AuditRun, now: datetime) -> bool:
    """Mark `run` running for this attempt, unless a live worker already holds it: one
    conditional UPDATE, so of two attempts racing for the same run only one wins."""
    unheld = (
        ~Q(status=RunStatus.RUNNING)
        | Q(heartbeat_at__isnull=True)
        | Q(heartbeat_at__lt=now - STALE_AFTER)
    )
    taken = await AuditRun.filter(Q(id=run.id) & unheld).update(
        status=RunStatus.RUNNING, heartbeat_at=now
    )
    if taken:
        run.status, run.heartbeat_at = RunStatus.RUNNING, now
    return bool(taken)


@contextlib.asynccontextmanager
async def heartbeat(runtime: Runtime, run: AuditRun) -> AsyncIterator[None]:
    """Beat for `run` while the body runs, including while it waits out a 429's Retry-After
    (pages alone would leave long silences)."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await AuditRun.filter(id=run.id).update(heartbeat_at=runtime.now())
            if current_job() is not None:
                await renew_lease(runtime)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        # A beat that failed (a database blip) costs only freshness: never the run's outcome.
        await asyncio.gather(task, return_exceptions=True)
