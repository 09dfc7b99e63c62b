"""Durable jobs: the database row is the truth, the broker only says "look at job N".

A job is claimed by an atomic conditional UPDATE (works the same on SQLite and PostgreSQL), runs
under a lease, and ends done, retried with backoff, or failed after `max_attempts`. The sweeper
re-dispatches jobs whose broker message was lost and jobs whose worker died mid-lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from collections.abc import AsyncIterator, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from tortoise.expressions import F, Q

from core.db import Batcher
from core.db_units import Sql, Unit, run_unit
from core.events.normalize import StripeEvent, normalized
from core.models.events import Job, JobStatus
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# A dispatched job not picked up within this long is presumed lost by the broker.
DISPATCH_GRACE = timedelta(seconds=30)
HANDLER_PREFIX = "handler:"


class Uninterpretable(Exception):
    """Raised by a handler that cannot read the event it was given; the job is not retried."""


class RetryLater(Exception):
    """Raised by a task to be retried after `delay` seconds without counting as a failure."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay}s")
        self.delay = delay


@dataclass(frozen=True)
class JobInfo:
    """The job a task or handler is running in: lets it tell its last attempt."""

    id: int
    name: str
    attempt: int
    max_attempts: int

    @property
    def last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


_current_job: ContextVar[JobInfo | None] = ContextVar("secondloop_job", default=None)


def current_job() -> JobInfo | None:
    """The running job, inside a task or a Stripe event handler; None elsewhere."""
    return _current_job.get()


async def renew_lease(runtime: Runtime) -> bool:
    """Extend the running job's lease by `LEASE` from now; False when it is no longer ours.

    A job that may run longer than `LEASE` (a long read of Stripe) calls this, or holds
    `keep_lease`, so that no other worker claims it meanwhile. The attempt number tells this
    attempt from a later claim of the same job: once the lease ran out and someone else took
    the job, renewing fails, and the caller should stop."""
    job = current_job()
    if job is None:
        raise RuntimeError("renew_lease() is for code running inside a job")
    with unscoped():
        renewed = await Job.filter(
            id=job.id, status=JobStatus.RUNNING, attempts=job.attempt
        ).update(locked_until=runtime.now() + LEASE)
    return bool(renewed)


@contextlib.asynccontextmanager
async def keep_lease(runtime: Runtime, every: float | None = None) -> AsyncIterator[None]:
    """Renew the running job's lease every `every` seconds (a third of `LEASE` by default)
    while the body runs. A renewal that fails is logged; the body is not interrupted (its
    side effects carry idempotency keys, so a second runner is safe, only wasteful)."""
    interval = every if every is not None else LEASE.total_seconds() / 3
    job = current_job()

    async def renew() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                if not await renew_lease(runtime):
                    log.warning("job %s lost its lease; another worker may run it", job)
                    return
            except Exception:  # the database is away for a moment: try again next time
                log.exception("could not renew the lease of job %s", job)

    renewer = asyncio.create_task(renew(), name="secondloop-keep-lease")
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer


def backoff(attempts: int) -> timedelta:
    """Exponential backoff: 10 s, 20 s, 40 s ... capped at one hour."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


async def enqueue(
    runtime: Runtime,
    name: str,
    *,
    workspace_id: int | None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int | None = None,
    dispatch: bool = True,
) -> Job | None:
    """Record a job for task `name`; returns None when `dedupe_key` was already enqueued."""
    if name not in runtime.tasks and not name.startswith(HANDLER_PREFIX):
        raise ValueError(f"unknown task {name!r}")
    task = runtime.tasks.get(name)
    with unscoped():
        if dedupe_key and await Job.filter(dedupe_key=dedupe_key).exists():
            return None
        job = await Job.create(
            workspace_id=workspace_id,
            name=name,
            payload=payload or {},
            dedupe_key=dedupe_key,
            run_after=run_after or runtime.now(),
            max_attempts=max_attempts or (task.max_attempts if task else 8),
            created_at=runtime.now(),
        )
    if dispatch and job.run_after <= runtime.now():
        await dispatch_jobs(runtime, [job.id])
    elif dispatch:
        dispatch_when_due(runtime, [job.id], job.run_after)
    return job


async def dispatch_jobs(runtime: Runtime, job_ids: Iterable[int]) -> None:
    """Send job ids to the broker. Losing a message is harmless: the sweeper finds the row."""
    ids = list(job_ids)
    if not ids:
        return
    with unscoped():
        await Job.filter(id__in=ids).update(dispatched_at=runtime.now())
    if runtime.broker is not None:
        from core.broker import send_jobs  # core.broker imports this module

        await send_jobs(runtime.broker, ids)


# A job due within this long is dispatched by a timer in the process that deferred it, on time;
# later ones, and any whose process is gone by then, are the sweeper's (every few seconds).
TIMER_HORIZON = timedelta(minutes=15)
_TIMERS = "jobs.timers"


def dispatch_when_due(runtime: Runtime, job_ids: list[int], run_after: datetime) -> None:
    """Dispatch `job_ids` at `run_after` from this process (best effort, no row changes).

    A retry after 10 s or an email held for a rate limit then runs when it is due, not at the
    next sweep. Nothing depends on the timer: the rows still say what is due."""
    delay = (run_after - runtime.now()).total_seconds()
    if not job_ids or delay > TIMER_HORIZON.total_seconds():
        return
    timers: set[asyncio.TimerHandle] = runtime.services.setdefault(_TIMERS, set())
    tasks: set[asyncio.Task[None]] = runtime.services.setdefault(_TIMERS + ".tasks", set())

    async def dispatch() -> None:
        try:
            await dispatch_jobs(runtime, job_ids)
        except Exception:  # the sweeper will find them
            log.warning("could not dispatch jobs %s when due", job_ids, exc_info=True)

    def fire() -> None:
        timers.discard(handle)
        task = asyncio.create_task(dispatch(), name="secondloop-dispatch-when-due")
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    # A hair late rather than early: a claim before `run_after` would find nothing due.
    handle = asyncio.get_running_loop().call_later(max(delay, 0.0) + 0.05, fire)
    timers.add(handle)


def cancel_timers(runtime: Runtime) -> None:
    """At shutdown: drop this process's pending dispatch timers (the rows keep the work)."""
    for handle in runtime.services.pop(_TIMERS, set()):
        handle.cancel()
    for task in runtime.services.pop(_TIMERS + ".tasks", set()):
        task.cancel()


@dataclass
class Claimed:
    """A job this worker holds the lease on, as read by the claim."""

    id: int
    name: str
    workspace_id: int | None
    event_id: int | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    dedupe_key: str | None
    last_error: str
    event: StripeEvent | None = None  # a handler job's event, read with the claim


async def claim(runtime: Runtime, job_id: int) -> Claimed | None:
    """Take the lease on a due job (or one whose lease expired); None when it is not ours.

    Concurrent claims in this process share one `UPDATE ... WHERE id IN (...) AND <runnable>
    RETURNING ...` (and one read of their events): the condition keeps it atomic per row."""
    batcher = runtime.services.get(_CLAIMS)
    if batcher is None:
        batcher = runtime.services[_CLAIMS] = Batcher(partial(_claim_many, runtime))
    found: Claimed | None = await batcher.submit(job_id)
    return found


_CLAIMS, _FINISHES = "jobs.claims", "jobs.finishes"
_CLAIMED_COLUMNS = (
    "id, name, workspace_id, event_id, payload, attempts, max_attempts, dedupe_key, last_error"
)


async def _claim_many(runtime: Runtime, ids: list[int]) -> list[Claimed | None]:
    unit = partial(_claim_unit, runtime.now(), list(dict.fromkeys(ids)))
    claimed = await run_unit(unit, autocommit_on_postgres=True)
    return [claimed.pop(job_id, None) for job_id in ids]  # delivered twice: the first wins


def _claim_unit(now: datetime, ids: list[int], sql: Sql) -> Unit[dict[int, Claimed]]:
    """The conditional UPDATE that takes the leases, then the claimed handler jobs' events:
    on PostgreSQL one statement (the UPDATE in a CTE, joined to the events)."""
    # Marks in the order they appear in the text (SQLite's `?` are positional).
    lease, *in_ids, due, expired = sql.marks(3 + len(ids))
    update = (
        f"UPDATE core_job SET status = 'running', locked_until = {lease}, "  # noqa: S608
        f"attempts = attempts + 1 WHERE id IN ({', '.join(in_ids)}) AND ("
        f"(status = 'pending' AND run_after <= {due}) OR "
        f"(status = 'running' AND locked_until < {expired})) RETURNING {_CLAIMED_COLUMNS}"
    )
    params = [now + LEASE, *ids, now, now]
    if sql.postgres:
        rows = yield (
            f"WITH claimed AS ({update}) SELECT claimed.*, {_EVENT_COLUMNS_AS} "  # noqa: S608
            "FROM claimed LEFT JOIN core_event e ON e.id = claimed.event_id",
            params,
        )
        claimed = {int(r["id"]): _claimed(r) for r in rows}
        for row in rows:
            if row["e_id"] is not None:
                claimed[int(row["id"])].event = _event(row)
        return claimed
    rows = yield update, params
    claimed = {int(r["id"]): _claimed(r) for r in rows}
    jobs = [job for job in claimed.values() if job.event_id is not None]
    if jobs:
        events = list({job.event_id for job in jobs})
        found = yield (
            f"SELECT {_EVENT_COLUMNS_AS} FROM core_event e "  # noqa: S608
            f"WHERE e.id IN ({', '.join(sql.marks(len(events)))})",
            events,
        )
        by_id = {int(row["e_id"]): _event(row) for row in found}
        for job in jobs:
            job.event = by_id.get(job.event_id)  # type: ignore[arg-type]
    return claimed


_EVENT_COLUMNS_AS = ", ".join(
    f"e.{column} AS e_{column}"
    for column in (
        "id", "stripe_event_id", "type", "stripe_account_id", "api_version", "created", "payload"
    )
)  # fmt: skip


def _claimed(row: dict[str, Any]) -> Claimed:
    return Claimed(
        id=int(row["id"]),
        name=str(row["name"]),
        workspace_id=row["workspace_id"],
        event_id=row["event_id"],
        payload=_json(row["payload"]) or {},
        attempts=int(row["attempts"]),
        max_attempts=int(row["max_attempts"]),
        dedupe_key=row["dedupe_key"],
        last_error=str(row["last_error"] or ""),
    )


def _event(row: dict[str, Any]) -> StripeEvent:
    return normalized(
        int(row["e_id"]),
        row["e_stripe_event_id"],
        row["e_type"],
        row["e_stripe_account_id"],
        row["e_api_version"],
        _utc(row["e_created"]),
        _json(row["e_payload"]),
    )


def _utc(value: datetime | str) -> datetime:
    """A stored timestamp as an aware UTC datetime: SQLite gives ISO text, asyncpg a datetime.
    (Tortoise's own conversion costs 12 µs a value, more than the rest of the event's.)"""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


async def run_job(runtime: Runtime, job_id: int) -> str:
    """Claim and run one job; returns its resulting status (or `not-claimed`)."""
    job = await claim(runtime, job_id)
    if job is None:
        return "not-claimed"
    token = _current_job.set(JobInfo(job.id, job.name, job.attempts, job.max_attempts))
    try:
        return await _run_claimed(runtime, job)
    finally:
        _current_job.reset(token)


async def _run_claimed(runtime: Runtime, job: Claimed) -> str:
    try:
        if job.name.startswith(HANDLER_PREFIX):
            await _run_handler(runtime, job)
        else:
            await _run_task(runtime, job)
    except Uninterpretable as exc:
        await _finish(runtime, job, JobStatus.SKIPPED, f"uninterpretable: {exc}", unreadable=True)
        return JobStatus.SKIPPED
    except RetryLater as exc:
        run_after = runtime.now() + timedelta(seconds=exc.delay)
        with unscoped():
            await Job.filter(id=job.id).update(
                status=JobStatus.PENDING,
                run_after=run_after,
                attempts=F("attempts") - 1,
                locked_until=None,
                last_error=str(exc),
            )
        dispatch_when_due(runtime, [job.id], run_after)
        return JobStatus.PENDING
    except Exception as exc:
        error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        log.warning("job %s (%s) attempt %s failed: %s", job.id, job.name, job.attempts, error)
        if job.attempts >= job.max_attempts:
            await _finish(runtime, job, JobStatus.FAILED, error=error)
            return JobStatus.FAILED
        run_after = runtime.now() + backoff(job.attempts)
        with unscoped():
            await Job.filter(id=job.id).update(
                status=JobStatus.PENDING, run_after=run_after, locked_until=None, last_error=error
            )
        dispatch_when_due(runtime, [job.id], run_after)
        return JobStatus.PENDING
    await _finish(runtime, job, JobStatus.DONE)
    return JobStatus.DONE


async def _run_handler(runtime: Runtime, job: Claimed) -> None:
    handler = runtime.handlers.get(job.name.removeprefix(HANDLER_PREFIX))
    if handler is None:
        raise Uninterpretable(f"no handler {job.name!r} is loaded")
    if job.event is None:
        raise Uninterpretable("the event is gone")
    if job.workspace_id is None:
        raise Uninterpretable("event has no workspace")
    with workspace_scope(job.workspace_id):
        await handler.func(event=job.event, workspace_id=job.workspace_id, runtime=runtime)


async def _run_task(runtime: Runtime, job: Claimed) -> None:
    task = runtime.tasks.get(job.name)
    if task is None:
        raise RuntimeError(f"no task {job.name!r} is loaded in this process")
    if job.workspace_id is None:
        with unscoped():
            await task.func(workspace_id=None, runtime=runtime, **job.payload)
    else:
        with workspace_scope(job.workspace_id):
            await task.func(workspace_id=job.workspace_id, runtime=runtime, **job.payload)


@dataclass(frozen=True)
class _Finish:
    job: Claimed
    status: JobStatus
    error: str
    unreadable: bool  # mark the event uninterpretable


async def _finish(
    runtime: Runtime, job: Claimed, status: JobStatus, error: str = "", unreadable: bool = False
) -> None:
    """Record the job's end and settle its event. Concurrent finishes in this process share
    one transaction (`_finish_many`)."""
    batcher = runtime.services.get(_FINISHES)
    if batcher is None:
        batcher = runtime.services[_FINISHES] = Batcher(partial(_finish_many, runtime))
    await batcher.submit(_Finish(job, status, error, unreadable))
    if (metrics := runtime.services.get("metrics")) is not None:  # core.metrics, when installed
        metrics.job_outcome(job.name, status)


async def _finish_many(runtime: Runtime, items: list[_Finish]) -> list[None]:
    await run_unit(partial(_finish_unit, runtime.now(), items), autocommit_on_postgres=True)
    return [None] * len(items)


def _finish_unit(now: datetime, items: list[_Finish], sql: Sql) -> Unit[None]:
    """End the jobs and close their schedule runs, then settle their events. On PostgreSQL the
    statements commit one by one (`autocommit_on_postgres`), so the settling, last, sees jobs
    of the same event that another worker ended at the same moment."""
    ended: dict[tuple[str, str], list[int]] = {}  # (status, last_error) -> job ids
    for item in items:
        ended.setdefault((item.status.value, item.error or item.job.last_error), []).append(
            item.job.id
        )
    for (status, error), ids in ended.items():
        new, finished, last_error, *in_ids = sql.marks(3 + len(ids))
        yield (
            f"UPDATE core_job SET status = {new}, finished_at = {finished}, "  # noqa: S608
            f"locked_until = NULL, last_error = {last_error} WHERE id IN ({', '.join(in_ids)})",
            [status, now, error, *ids],
        )
    unreadable = list({i.job.event_id for i in items if i.unreadable and i.job.event_id})
    if unreadable:
        yield (
            "UPDATE core_event SET status = 'uninterpretable' "  # noqa: S608
            f"WHERE id IN ({', '.join(sql.marks(len(unreadable)))})",
            unreadable,
        )
    for item in items:
        if (item.job.dedupe_key or "").startswith("schedule:"):  # only these have a run
            status_mark, finished, outcome, job = sql.marks(4)
            yield (
                f"UPDATE core_schedule_run SET status = {status_mark}, "  # noqa: S608
                f"finished_at = {finished}, outcome = {outcome} WHERE job_id = {job}",
                [
                    "done" if item.status == JobStatus.DONE else "failed",
                    now,
                    item.error,
                    item.job.id,
                ],
            )
    events = list({item.job.event_id for item in items if item.job.event_id is not None})
    if events:
        yield _settle_sql(sql, len(events)), events


def _settle_sql(sql: Sql, count: int) -> str:
    """An event is processed when all its jobs are done; failed when any gave up; one that a
    handler could not read stays uninterpretable. One statement for many events."""
    return (
        "UPDATE core_event SET status = CASE WHEN EXISTS (SELECT 1 FROM core_job j "  # noqa: S608
        "WHERE j.event_id = core_event.id AND j.status = 'failed') "
        "THEN 'failed' ELSE 'processed' END "
        f"WHERE id IN ({', '.join(sql.marks(count))}) "
        "AND status <> 'uninterpretable' AND NOT EXISTS (SELECT 1 FROM core_job j "
        "WHERE j.event_id = core_event.id AND j.status IN ('pending', 'running'))"
    )


async def sweep(runtime: Runtime, limit: int = 500) -> int:
    """Re-dispatch due jobs whose message was lost or whose worker died. Returns how many."""
    now = runtime.now()
    lost = Q(status=JobStatus.PENDING, run_after__lte=now) & (
        Q(dispatched_at__isnull=True)
        | Q(dispatched_at__lt=now - DISPATCH_GRACE)
        | Q(dispatched_at__lt=F("run_after"))
    )
    dead = Q(status=JobStatus.RUNNING, locked_until__lt=now)
    with unscoped():
        ids: list[int] = list(
            await Job.filter(lost | dead)
            .order_by("run_after")
            .limit(limit)
            .values_list("id", flat=True)  # type: ignore[arg-type]
        )
    await dispatch_jobs(runtime, ids)
    return len(ids)
