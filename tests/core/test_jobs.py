from __future__ import annotations

import asyncio
import types
from datetime import timedelta

import pytest

from core import jobs
from core.clock import FrozenClock
from core.contributions import TaskDef
from core.models import Job, Workspace
from core.models.events import JobStatus
from core.plugins import hookimpl
from core.runtime import Runtime
from core.tenancy import current_workspace_id, unscoped

calls: list[tuple[int | None, int | None, str]] = []


async def _record(workspace_id: int | None, runtime: Runtime, note: str) -> None:
    calls.append((workspace_id, current_workspace_id(), note))


async def _flaky(workspace_id: int | None, runtime: Runtime, note: str) -> None:
    job = jobs.current_job()
    assert job is not None and job.name == "test.flaky"
    assert job.attempt == len(calls) + 1 and job.max_attempts == 5
    calls.append((workspace_id, None, note))
    if len(calls) < 3:
        raise RuntimeError("transient")


plugin = types.SimpleNamespace(
    register_tasks=hookimpl(
        lambda: [TaskDef("test.record", _record), TaskDef("test.flaky", _flaky, max_attempts=5)]
    )
)


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    calls.clear()
    return [("jobs-test", plugin)]


async def test_a_task_runs_in_its_workspace_scope(app: object, runtime: Runtime, drain) -> None:
    ws = await Workspace.create(name="A", slug="a")
    await jobs.enqueue(runtime, "test.record", workspace_id=ws.id, payload={"note": "hi"})
    await drain()
    assert calls == [(ws.id, ws.id, "hi")]


async def test_dedupe_key_enqueues_once(app: object, runtime: Runtime, drain) -> None:
    first = await jobs.enqueue(
        runtime, "test.record", workspace_id=None, payload={"note": "a"}, dedupe_key="k"
    )
    second = await jobs.enqueue(
        runtime, "test.record", workspace_id=None, payload={"note": "a"}, dedupe_key="k"
    )
    await drain()
    assert first is not None and second is None
    assert len(calls) == 1


async def test_failures_retry_with_backoff_until_done(
    app: object, runtime: Runtime, clock: FrozenClock, drain
) -> None:
    job = await jobs.enqueue(runtime, "test.flaky", workspace_id=None, payload={"note": "x"})
    assert job is not None
    for _ in range(5):
        await drain()
        clock.advance(timedelta(hours=1))
    with unscoped():
        job = await Job.get(id=job.id)
    assert job.status == JobStatus.DONE
    assert job.attempts == 3
    assert len(calls) == 3


async def test_sweeper_recovers_a_lost_message(
    app: object, runtime: Runtime, clock: FrozenClock
) -> None:
    job = await jobs.enqueue(
        runtime, "test.record", workspace_id=None, payload={"note": "lost"}, dispatch=False
    )
    assert job is not None and calls == []
    clock.advance(timedelta(minutes=1))
    assert await jobs.sweep(runtime) == 1
    if runtime.settings.embedded_broker:
        assert calls == [(None, None, "lost")]


async def test_a_dead_workers_lease_expires_and_the_job_reruns(
    app: object, runtime: Runtime, clock: FrozenClock
) -> None:
    job = await jobs.enqueue(
        runtime, "test.record", workspace_id=None, payload={"note": "z"}, dispatch=False
    )
    assert job is not None
    claimed = await jobs.claim(runtime, job.id)  # a worker claims it, then dies
    assert claimed is not None
    assert await jobs.claim(runtime, job.id) is None  # nobody else may run it meanwhile
    clock.advance(jobs.LEASE + timedelta(seconds=1))
    assert await jobs.run_job(runtime, job.id) == JobStatus.DONE
    assert calls == [(None, None, "z")]


async def test_concurrent_claims_share_one_statement_and_each_job_is_claimed_once(
    app: object, runtime: Runtime
) -> None:
    made = [
        await jobs.enqueue(
            runtime, "test.record", workspace_id=None, payload={"note": n}, dispatch=False
        )
        for n in "abc"
    ]
    ids = [job.id for job in made if job is not None]
    # The same job asked for twice at once (a duplicated broker message) and two others.
    claims = await asyncio.gather(*(jobs.claim(runtime, i) for i in [ids[0], ids[0], *ids[1:]]))
    won = [c for c in claims if c is not None]
    assert sorted(c.id for c in won) == ids
    assert all((c.attempts, c.payload["note"]) == (1, n) for c, n in zip(won, "abc", strict=True))
    with unscoped():
        assert {j.status for j in await Job.filter(id__in=ids)} == {JobStatus.RUNNING}


async def test_concurrent_runs_finish_together_and_record_each_outcome(
    app: object, runtime: Runtime, clock: FrozenClock
) -> None:
    ok = await jobs.enqueue(
        runtime, "test.record", workspace_id=None, payload={"note": "ok"}, dispatch=False
    )
    flaky = await jobs.enqueue(
        runtime, "test.flaky", workspace_id=None, payload={"note": "f"}, dispatch=False
    )
    assert ok is not None and flaky is not None
    outcomes = await asyncio.gather(jobs.run_job(runtime, ok.id), jobs.run_job(runtime, flaky.id))
    assert outcomes == [JobStatus.DONE, JobStatus.PENDING]
    with unscoped():
        done, retry = await Job.get(id=ok.id), await Job.get(id=flaky.id)
    assert (done.status, done.finished_at, done.locked_until) == (JobStatus.DONE, clock.now(), None)
    assert (retry.status, retry.attempts, retry.locked_until) == (JobStatus.PENDING, 1, None)
    assert retry.last_error and retry.run_after > clock.now()


def test_stored_timestamps_read_back_as_aware_utc() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from core.jobs import _utc

    moment = datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC)
    assert _utc("2026-12-07 01:02:03.456789+00:00") == moment  # SQLite, as Tortoise writes it
    assert _utc("2026-12-07T01:02:03.456789") == moment  # naive text is UTC
    east = moment.astimezone(timezone(timedelta(hours=2)))
    assert _utc(east) == moment and _utc(east).tzinfo is UTC  # asyncpg's datetimes
