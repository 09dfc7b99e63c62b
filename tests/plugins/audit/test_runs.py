"""Audit runs end to end: the API starts a run as a job, a killed run resumes exactly, one
reader per account, and the least key that suffices."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from typing import Any

import httpx
import pytest

from core.api.keys import create_key
from core.clock import FrozenClock
from core.jobs import RetryLater
from core.models.accounts import StripeAccount
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.audit import lease
from plugins.audit.lease import STALE_AFTER
from plugins.audit.models import AuditRun, RunStatus
from plugins.audit.permissions import stripe_permissions
from plugins.audit.runner import CONCURRENCY, execute_run
from tests.plugins.audit.support import connect, mint_key


def without_calls(results: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in results.items() if k != "calls"}


async def test_api_starts_lists_and_reads_runs(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any, drain: Any
) -> None:
    _, summary = seeded
    workspace = await connect(runtime, summary.businesses[0], "acme")
    other = await connect(runtime, summary.businesses[1], "borealis")
    key = (await create_key(runtime, workspace.id, "write")).secret
    other_key = (await create_key(runtime, other.id, "read")).secret
    auth = {"Authorization": f"Bearer {key}"}

    started = await client.post("/api/v1/audit/runs", json={"lookback_days": 90}, headers=auth)
    assert started.status_code == 200, started.text
    assert started.json()["status"] in ("queued", "running", "done")
    await drain()
    run = (await client.get(f"/api/v1/audit/runs/{started.json()['id']}", headers=auth)).json()
    assert run["status"] == "done"
    assert run["stripe_account"] == summary.businesses[0].account
    assert run["results"]["failed_invoices"]["count"] > 0
    assert run["calls"] == run["results"]["calls"] > 0

    listed = (await client.get("/api/v1/audit/runs", headers=auth)).json()
    assert [r["id"] for r in listed["data"]] == [run["id"]]
    assert "results" not in listed["data"][0]
    one = (await client.get(f"/api/v1/audit/runs/{run['id']}", headers=auth)).json()
    assert one["results"] == run["results"]

    # Another workspace sees none of it.
    other_auth = {"Authorization": f"Bearer {other_key}"}
    hidden = await client.get(f"/api/v1/audit/runs/{run['id']}", headers=other_auth)
    assert hidden.status_code == 404
    assert (await client.get("/api/v1/audit/runs", headers=other_auth)).json()["data"] == []
    read_only = await client.post("/api/v1/audit/runs", headers=other_auth)
    assert read_only.status_code == 403

    document = (await client.get("/api/v1/openapi.json", headers=auth)).json()
    assert {"post", "get"} <= set(document["paths"]["/audit/runs"])
    assert "get" in document["paths"]["/audit/runs/{id}"]


async def test_bad_lookback_is_refused(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    key = (await create_key(runtime, workspace.id, "write")).secret
    response = await client.post(
        "/api/v1/audit/runs", json={"lookback_days": 0}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 422


async def test_a_killed_run_resumes_without_counting_twice(
    app: Any, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    pages = 0

    async def die_after_four(run: AuditRun) -> None:
        nonlocal pages
        pages += 1
        if pages == 4:
            raise WorkerDied

    with workspace_scope(workspace.id):
        whole = await execute_run(runtime, (await new_run(workspace.id)).id)
        killed = await new_run(workspace.id)
        with pytest.raises(ExceptionGroup) as died:
            # No checkpoint on the way: the failure itself must keep what was read.
            await execute_run(runtime, killed.id, after_page=die_after_four, checkpoint_every=1e9)
        assert died.group_contains(WorkerDied)
        halfway = await AuditRun.get(id=killed.id)
        assert halfway.status == RunStatus.FAILED and "WorkerDied" in halfway.error
        assert halfway.checkpoint["streams"] and halfway.progress
        resumed = await execute_run(runtime, killed.id)
    assert resumed.status == RunStatus.DONE and resumed.attempts == 2
    assert without_calls(resumed.results) == without_calls(whole.results)
    # Every call is counted once: the dead attempt's, and the resume's, which re-read only
    # the pages that were in flight when it died (at most one per concurrent read).
    assert whole.calls <= resumed.calls <= whole.calls + CONCURRENCY
    assert resumed.results["calls"] == resumed.calls


async def test_a_vanished_worker_is_waited_for_then_resumed_and_its_calls_kept(
    app: Any, runtime: Runtime, clock: FrozenClock, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    pages = 0
    snapshot: dict[str, Any] = {}

    async def die_at_eight(run: AuditRun) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            snapshot.update(copy.deepcopy(run.checkpoint))
        if pages == 8:
            raise WorkerDied

    with workspace_scope(workspace.id):
        whole = await execute_run(runtime, (await new_run(workspace.id)).id)
        run = await new_run(workspace.id)
        with pytest.raises(ExceptionGroup):
            await execute_run(runtime, run.id, after_page=die_at_eight, checkpoint_every=0)
        died = await AuditRun.get(id=run.id)
        # What a worker killed outright leaves behind: still "running", its calls counted up
        # to its last page, and a checkpoint from a few pages earlier (written now and then).
        await AuditRun.filter(id=run.id).update(
            status=RunStatus.RUNNING, checkpoint=snapshot, heartbeat_at=runtime.now()
        )
        with pytest.raises(RetryLater, match="another worker"):
            await execute_run(runtime, run.id)  # the heartbeat is fresh: it may still be alive
        clock.advance(STALE_AFTER + timedelta(seconds=1))
        resumed = await execute_run(runtime, run.id)
    assert resumed.status == RunStatus.DONE
    assert without_calls(resumed.results) == without_calls(whole.results)
    # The resume read exactly the pages the old checkpoint lacked, on top of every call the
    # dead worker had counted (not on top of the older count in its checkpoint).
    total = sum(row["pages"] for row in whole.progress.values())
    assert died.calls > snapshot["calls"]
    assert resumed.calls == died.calls + total - pages_in(snapshot)


async def test_one_reader_per_account_and_a_double_submit_returns_the_running_run(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    key = (await create_key(runtime, workspace.id, "write")).secret
    with workspace_scope(workspace.id):
        reading = await new_run(workspace.id)
        await AuditRun.filter(id=reading.id).update(
            status=RunStatus.RUNNING, heartbeat_at=runtime.now()
        )
        waiting = await new_run(workspace.id)  # e.g. created by a race past start_run
        with pytest.raises(RetryLater, match=f"audit #{reading.id} of this Stripe account"):
            await execute_run(runtime, waiting.id)
    answer = await client.post("/api/v1/audit/runs", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200 and answer.json()["status"] == "queued"
    assert answer.json()["id"] == waiting.id  # the queued one: nothing new started
    with workspace_scope(workspace.id):
        await AuditRun.filter(id=waiting.id).delete()
    again = await client.post("/api/v1/audit/runs", headers={"Authorization": f"Bearer {key}"})
    assert (again.json()["id"], again.json()["status"]) == (reading.id, "running")
    with workspace_scope(workspace.id):
        assert await AuditRun.all().count() == 1


async def test_a_read_only_key_with_only_the_required_permissions_runs_the_audit(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any, drain: Any
) -> None:
    sb, summary = seeded
    business = summary.businesses[0]
    required = {}
    for permission in stripe_permissions():
        if permission.required:
            resource, access = permission.key.split(":")
            required[resource] = access
    assert set(required.values()) == {"read"}
    workspace = await connect(
        runtime, business, "acme", key=mint_key(sb, business.account, required)
    )
    key = (await create_key(runtime, workspace.id, "write")).secret
    started = await client.post("/api/v1/audit/runs", headers={"Authorization": f"Bearer {key}"})
    await drain()
    run = (
        await client.get(
            f"/api/v1/audit/runs/{started.json()['id']}", headers={"Authorization": f"Bearer {key}"}
        )
    ).json()
    assert run["status"] == "done", run["error"]
    assert run["results"]["test_clocks_readable"] is False
    assert run["results"]["failed_invoices"]["count"] > 0


async def test_a_livemode_account_is_audited_without_asking_for_test_clocks(
    app: Any, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[1], "acme", livemode=True)
    with workspace_scope(workspace.id):
        run = await execute_run(runtime, (await new_run(workspace.id)).id)
    assert run.results is not None
    assert run.results["test_clocks"] == [] and run.results["test_clocks_readable"]
    assert run.progress["clocks"] == {
        "pages": 0,
        "objects": 0,
        "lists": 1,
        "lists_done": 1,
        "done": True,
    }


class WorkerDied(Exception):
    pass


async def new_run(workspace_id: int) -> AuditRun:
    account = await StripeAccount.get(workspace_id=workspace_id)
    return await AuditRun.create(
        stripe_account_id=account.stripe_account_id, account_ref=account.id
    )


def pages_in(checkpoint: dict[str, Any]) -> int:
    return sum(int(state.get("pages", 0)) for state in checkpoint.get("streams", {}).values())


async def test_the_heartbeat_beats_while_the_attempt_reads(
    app: Any, runtime: Runtime, clock: FrozenClock, seeded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lease, "HEARTBEAT_SECONDS", 0.01)
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    with workspace_scope(workspace.id):
        run = await new_run(workspace.id)
        assert await lease.take(run, runtime.now())
        assert not await lease.take(run, runtime.now())  # held: a second attempt loses
        async with lease.heartbeat(runtime, run):
            clock.advance(timedelta(minutes=10))  # e.g. a long wait on a 429's Retry-After
            for _ in range(100):
                await asyncio.sleep(0.01)
                beat = await AuditRun.get(id=run.id)
                if beat.heartbeat_at == runtime.now():
                    break
        assert beat.heartbeat_at == runtime.now()
        assert lease.is_fresh(beat, runtime.now())
        clock.advance(lease.STALE_AFTER + timedelta(seconds=1))  # the beating stopped
        assert await lease.take(run, runtime.now())
