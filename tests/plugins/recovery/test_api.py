from __future__ import annotations

from typing import Any

import httpx

from core.api.keys import create_key
from core.clock import FrozenClock
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import handlers
from plugins.recovery.models import Case, CaseStep, RecoverySettings, StepStatus
from tests.plugins.recovery.conftest import enabled_workspace, event, invoice, settle


async def test_enable_disable_and_read_cases_through_the_api(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a", enabled=False)
    other = await enabled_workspace("b")
    key = await create_key(runtime, ws, "write")
    auth = {"Authorization": f"Bearer {key.secret}"}
    response = await client.post("/api/v1/recovery/enable", headers=auth)
    assert response.status_code == 200 and response.json()["enabled"] is True
    with workspace_scope(ws):
        assert (await RecoverySettings.get()).enabled
        mine = event("invoice.payment_failed", invoice(), clock.now())
        await handlers.payment_failed(mine, ws, runtime)
        await settle()
    with workspace_scope(other):
        theirs = event("invoice.payment_failed", invoice("in_9"), clock.now())
        await handlers.payment_failed(theirs, other, runtime)
        await settle()
    listed = (await client.get("/api/v1/recovery/cases?status=open", headers=auth)).json()["data"]
    assert [c["invoice"] for c in listed] == ["in_1"]  # not the other workspace's in_9
    detail = (await client.get(f"/api/v1/recovery/cases/{listed[0]['id']}", headers=auth)).json()
    assert detail["category"] == "funds" and detail["timeline"][0]["status"] == "done"
    assert detail["stripe_retries"] == {"active": False, "next_attempt_at": None}
    assert detail["retries_suspended"] is False and detail["emails_held"] is False
    bad = await client.get("/api/v1/recovery/cases?status=nope", headers=auth)
    assert bad.status_code == 422
    response = await client.post("/api/v1/recovery/disable", headers=auth)
    assert response.json()["enabled"] is False
    spec = (await client.get("/api/v1/openapi.json", headers=auth)).json()
    assert "/recovery/cases" in str(spec["paths"])


async def test_operator_controls_pause_resume_retry_cancel(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    key = await create_key(runtime, ws, "write")
    auth = {"Authorization": f"Bearer {key.secret}"}
    with workspace_scope(ws):
        await handlers.payment_failed(
            event("invoice.payment_failed", invoice(), clock.now()), ws, runtime
        )
        await settle()
        case = await Case.get(invoice_id="in_1")
    base = f"/api/v1/recovery/cases/{case.id}"
    assert (await client.post(f"{base}/pause", headers=auth)).json()["status"] == "paused"
    assert (await client.post(f"{base}/pause", headers=auth)).status_code == 409
    assert (await client.post(f"{base}/retry", headers=auth)).status_code == 409  # paused
    assert (await client.post(f"{base}/resume", headers=auth)).json()["status"] == "open"
    assert (await client.post(f"{base}/retry", headers=auth)).status_code == 200
    await settle()
    with workspace_scope(ws):
        manual = await CaseStep.get(case_id=case.id, index=7)
    # No Stripe account is connected: the retry ran and will try again later.
    assert manual.type == "retry" and manual.attempts == 1
    assert (await client.post(f"{base}/cancel", headers=auth)).json()["status"] == "cancelled"
    with workspace_scope(ws):
        pending = await CaseStep.filter(case_id=case.id, status=StepStatus.PENDING).count()
    assert pending == 0
    read_only = await create_key(runtime, ws, "read")
    response = await client.post(
        f"{base}/pause", headers={"Authorization": f"Bearer {read_only.secret}"}
    )
    assert response.status_code == 403
    assert (await client.post("/api/v1/recovery/cases/999/pause", headers=auth)).status_code == 404
