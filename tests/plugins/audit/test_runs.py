"""Audit runs end to end: the API starts a run as a job, a killed run resumes exactly."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.api.keys import create_key
from core.models.accounts import StripeAccount
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.audit.models import AuditRun, RunStatus
from plugins.audit.runner import execute_run
from tests.plugins.audit.support import connect


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

    class WorkerDied(Exception):
        pass

    pages = 0

    async def die_after_four(run: AuditRun) -> None:
        nonlocal pages
        pages += 1
        if pages == 4:
            raise WorkerDied

    with workspace_scope(workspace.id):
        account = await StripeAccount.get(workspace_id=workspace.id)
        whole = await AuditRun.create(
            stripe_account_id=account.stripe_account_id, account_ref=account.id
        )
        whole = await execute_run(runtime, whole.id)
        killed = await AuditRun.create(
            stripe_account_id=account.stripe_account_id, account_ref=account.id
        )
        with pytest.raises(ExceptionGroup) as died:
            await execute_run(runtime, killed.id, after_page=die_after_four, checkpoint_every=0)
        assert died.group_contains(WorkerDied)
        halfway = await AuditRun.get(id=killed.id)
        assert halfway.status == RunStatus.FAILED
        assert halfway.checkpoint["streams"] and halfway.progress
        calls_before = halfway.calls
        resumed = await execute_run(runtime, killed.id)
    assert resumed.status == RunStatus.DONE and resumed.attempts == 2
    assert without_calls(resumed.results) == without_calls(whole.results)
    # Resuming re-read at most the pages in flight when it died, not the whole account.
    assert calls_before < resumed.calls < calls_before + whole.calls
